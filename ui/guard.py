"""What stands between the network and Gradio: an ASGI middleware that refuses the routes this app does not
use (uploads, files, proxy, streams, monitoring), caps the size of a request body, and slows password
guessing by refusing logins from an address after too many failures.

Gradio has no switch for any of these, and each is an opening on an exposed server: anonymous uploads were
stored and served back, a 20 MB question held a worker for half a minute, and the login could be tried
without limit. The limits come from rag.config.Settings.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque

# No component of the chat uploads, streams or serves a file, so these routes are closed, under the root and
# under Gradio's /gradio_api prefix.
CLOSED = ("upload", "upload_progress", "file=", "file/", "proxy=", "stream/", "process_recording", "monitoring",
          "vibe-edit", "undo-vibe-edit", "vibe-code", "run-history", "runs", "dev/reload", "mcp")
_CLOSED_PATHS = tuple(f"{prefix}/{route}" for prefix in ("", "/gradio_api") for route in CLOSED)
LOGIN_PATHS = ("/login", "/login/")
BODY_METHODS = {"POST", "PUT", "PATCH"}


def is_closed(path: str) -> bool:
    return any(path == p.rstrip("/=") or path.startswith(p) for p in _CLOSED_PATHS)


async def _reply(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class LoginLimiter:
    """Failed logins per client address in a sliding window; past `attempts` the address must wait."""

    def __init__(self, attempts: int, window: float, clock=time.monotonic):
        self.attempts, self.window, self.clock = attempts, window, clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, who: str) -> deque[float]:
        times, cutoff = self.failures[who], self.clock() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def wait(self, who: str) -> float:
        """Seconds `who` must wait before the next try; 0 when a try is allowed."""
        times = self._recent(who)
        if len(times) < self.attempts:
            return 0.0
        return max(1.0, times[0] + self.window - self.clock())

    def failed(self, who: str) -> None:
        self._recent(who).append(self.clock())

    def succeeded(self, who: str) -> None:
        self.failures.pop(who, None)


class Guard:
    """ASGI middleware; see the module docstring. `max_body` in bytes."""

    def __init__(self, app, max_body: int, login_attempts: int = 5, login_window: float = 300.0,
                 logins: LoginLimiter | None = None):
        self.app = app
        self.max_body = max_body
        # Shared with the JSON API (ui/api.py) when given: a wrong password counts the same on either door.
        self.logins = logins or LoginLimiter(login_attempts, login_window)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if is_closed(path):
            return await _reply(send, 404, "Not found: this server accepts no uploads and serves no files.")
        if method in BODY_METHODS:
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                return await _reply(send, 413, f"Request too large: the limit is {self.max_body:,} bytes.")
            if length is None:  # chunked: read it here, within the limit, and hand it on whole
                body, more = b"", True
                while more:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > self.max_body:
                        return await _reply(send, 413, f"Request too large: the limit is {self.max_body:,} bytes.")
                receive = _replay(body, receive)
        if method == "POST" and path in LOGIN_PATHS:
            return await self._login(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _login(self, scope, receive, send):
        who = (scope.get("client") or ("unknown", 0))[0]
        wait = self.logins.wait(who)
        if wait:
            return await _reply(send, 429, f"Too many failed logins; try again in {wait:.0f} s.",
                                [(b"retry-after", str(int(wait)).encode())])
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status in (400, 401, 403):
            self.logins.failed(who)
        elif 200 <= status < 300:
            self.logins.succeeded(who)


def _replay(body: bytes, receive):
    """A receive callable that gives the already-read body once, then defers to the server's."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Busy(RuntimeError):
    """More answers in flight than `concurrency` running plus `queue_size` waiting; the message is for users."""


class Gate:
    """At most `concurrency` answers computed at once and `queue_size` more waiting, for the page and the
    JSON API together: both share two cores, so one limit (rag.config.Settings) has to hold for their sum.
    Gradio's queue keeps the page's own requests in line; this is what also counts the API's."""

    def __init__(self, concurrency: int, queue_size: int):
        self.concurrency, self.queue_size = concurrency, queue_size
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.in_flight = 0

    def run(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) when a slot is free; Busy at once when the queue is full."""
        with self._lock:
            if self.in_flight >= self.concurrency + self.queue_size:
                raise Busy(f"The server is busy ({self.concurrency} answers running and {self.queue_size} "
                           "waiting); try again in a few seconds.")
            self.in_flight += 1
        try:
            with self._slots:
                return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1
