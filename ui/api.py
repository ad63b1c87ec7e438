"""The JSON HTTP API served beside the chat page by the same `rag serve` process, for other systems:

- `POST /api/ask`: one question; the answer as `rag ask --json` prints it (`Answer.to_json`, the one
  serialiser, so the CLI and the API can never drift apart).
- `POST /api/chat`: a question in a conversation. Without `conversation_id` a new conversation starts; the
  reply carries its `conversation_id`, and sending it back reads the next question as a follow-up, exactly
  as the chat page does (`Pipeline.ask` with a `Conversation`).
- `GET /api/health`: the index answered from (generation, counts, model) and the load.
- `GET /api/openapi.json`: the OpenAPI description (no docs page: it would load scripts from a CDN, and
  this server works offline).

The page's limits hold here too: the request-size cap and failed-login limit of ui/guard.py, the same
password (HTTP Basic, `RAG_USER` / `RAG_PASSWORD`), and one Gate for the page and the API together so
`concurrency` and `queue_size` bound their sum.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from rag.conversation import Conversation
from rag.pipeline import Pipeline, QuestionError
from rag.store import IndexProblem
from ui.guard import Busy, Gate, LoginLimiter

log = logging.getLogger("rag.api")
FAILED = "This question could not be answered because of a problem on the server (it has been logged)."
MAX_CONVERSATIONS = 1000  # kept in memory, least recently used dropped first


class AskRequest(BaseModel):
    question: str = Field(..., description="The clinical question, as a user would type it.",
                          examples=["How is myasthenia gravis diagnosed?"])
    audience: Literal["clinician", "patient"] = Field("clinician", description="The wording of the answer.")
    retriever: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retrieval mode.")


class ChatRequest(AskRequest):
    conversation_id: str | None = Field(None, description="From an earlier /api/chat reply; omit to start a "
                                                          "new conversation.")


ANSWER_DOC = ("The answer as `rag ask --json` prints it: answer, direct, verdict, type, urgent, evidence, points, "
              "citations, sources, passages, hits, abstained, abstain_reason, notices, timings_ms (README, "
              "'The rag command').")


class Conversations:
    """Conversation state by id, for API clients; bounded so that clients cannot fill the memory."""

    def __init__(self, pipeline: Pipeline, limit: int = MAX_CONVERSATIONS):
        self.pipeline, self.limit = pipeline, limit
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cid: str | None) -> tuple[str, Conversation]:
        with self._lock:
            if cid is None:
                cid = uuid.uuid4().hex
                self._items[cid] = self.pipeline.new_conversation()
                while len(self._items) > self.limit:
                    self._items.popitem(last=False)
            elif cid not in self._items:
                raise HTTPException(404, "Unknown conversation_id (it may have expired); omit it to start a new "
                                         "conversation.")
            self._items.move_to_end(cid)
            return cid, self._items[cid]


def build_api(pipeline: Pipeline, gate: Gate, auth: tuple[str, str] | None, logins: LoginLimiter) -> FastAPI:
    api = FastAPI(title="medcite-rag API", version="1", docs_url=None, redoc_url=None,
                  description="Cited answers to clinical questions from the article library, offline. "
                              "Not medical advice: every answer carries the disclaimer. With RAG_PASSWORD set, "
                              "every call but this description needs HTTP Basic authentication.")
    conversations = Conversations(pipeline)

    def check_auth(request: Request) -> None:
        """HTTP Basic against the chat's user and password; failures count toward the login limit."""
        if auth is None:
            return
        who = request.client.host if request.client else "unknown"
        wait = logins.wait(who)
        if wait:
            raise HTTPException(429, f"Too many failed logins; try again in {wait:.0f} s.",
                                headers={"Retry-After": str(int(wait))})
        header = request.headers.get("authorization", "")
        user = password = ""
        if header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                pass
        if header and secrets.compare_digest(user.encode(), auth[0].encode()) \
                and secrets.compare_digest(password.encode(), auth[1].encode()):
            logins.succeeded(who)
            return
        if header:
            logins.failed(who)
        raise HTTPException(401, "Authentication required: HTTP Basic with the chat's user and password.",
                            headers={"WWW-Authenticate": 'Basic realm="medcite-rag"'})

    async def answer(question: str, audience: str, mode: str, conversation: Conversation | None) -> dict:
        try:
            result = await run_in_threadpool(gate.run, pipeline.ask, question, audience=audience, mode=mode,
                                             conversation=conversation)
        except QuestionError as exc:
            raise HTTPException(400, str(exc)) from None
        except Busy as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
        except IndexProblem as exc:
            log.error("index problem: %s", exc)
            raise HTTPException(503, "The library's index cannot be read right now; the administrator has to "
                                     "rebuild it (the server log says how).") from None
        except Exception:
            log.exception("API question %r failed", question[:200])
            raise HTTPException(500, FAILED) from None
        return result.to_json()

    @api.post("/ask", dependencies=[Depends(check_auth)], summary="Answer one question",
              response_description=ANSWER_DOC)
    async def ask(body: AskRequest) -> dict[str, Any]:
        return await answer(body.question, body.audience, body.retriever, None)

    @api.post("/chat", dependencies=[Depends(check_auth)], summary="Answer a question in a conversation",
              response_description=ANSWER_DOC + " Plus `conversation_id`, to send with the next question.")
    async def chat(body: ChatRequest) -> dict[str, Any]:
        cid, conversation = conversations.get(body.conversation_id)
        return {**await answer(body.question, body.audience, body.retriever, conversation), "conversation_id": cid}

    @api.get("/health", dependencies=[Depends(check_auth)], summary="The index answered from, and the load")
    async def health() -> dict[str, Any]:
        info = pipeline.info()
        return {"status": "degraded" if info.get("fallback") else "ok", **info,
                "answers_in_flight": gate.in_flight, "concurrency": gate.concurrency, "queue_size": gate.queue_size}

    return api
