"""Batch evaluation against gold answers, through the very `Pipeline.ask` the chat uses.

Every metric is computed only over the questions that carry the field it needs; when no question does,
the metric is None (null in metrics.json), never a guess. Retrieval is scored at article level: a question
counts as found at k when any gold article is among the first k distinct articles retrieved.

Yes/no questions (gold `decision` yes or no; `maybe` is not scored) are read two ways. `yes_no_accuracy`
takes the answer's side from its verdict or, failing that, from a direct line opening "Yes"/"No", and counts
a question without a side as wrong. The verdict metrics read only `Answer.verdict` ("Yes", "No",
"It depends" or None; None when abstaining): `verdict_coverage` is the share of the questions answered
with Yes or No, `verdict_precision` the share of those that match gold, `wrong_verdict_rate` the share of
all the questions answered with the opposite of gold (so coverage x (1 - precision) = wrong rate).

`top_chunk_token_f1` scores the text of the first retrieved chunk (hits[0]) against `gold_answer` the way
`token_f1` scores the composed answer, over the same questions: what returning the best passage verbatim
would score, so the composer's added value is token_f1 minus it. `best_chunk_token_f1` takes the best of
all retrieved chunks per question: an oracle bound on quoting a single retrieved passage. Both read the
hits whether or not the answer abstained.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.documents import Answer
from rag.conversation import Conversation
from rag.gold import Conversation as GoldConversation
from rag.gold import GoldQuestion, fact_in
from rag.pipeline import Pipeline
from rag.text import normalise

KS = (1, 3, 5, 10)


@dataclass
class Result:
    """One question run through the pipeline, with what is needed to score and report it."""

    id: str
    question: str
    type: str | None
    answerable: bool
    gold_article_ids: list[str]
    key_facts: list[str] | None
    gold_answer: str | None
    decision: str | None
    ranked_articles: list[str]
    cited_articles: list[str]
    abstained: bool
    answer_text: str
    answer_body: str
    latency_ms: float
    citations_checked: int = 0
    citations_supported: int = 0
    facts_found: list[str] = field(default_factory=list)
    polarity: str | None = None
    verdict: str | None = None  # Answer.verdict: "Yes", "No", "It depends"; None when abstaining or none
    top_chunk_f1: float | None = None  # token F1 of hits[0]'s chunk text against gold_answer
    best_chunk_f1: float | None = None  # the best token F1 among all retrieved chunks' texts
    conversation: str | None = None
    turn: int = 0
    # What the answer quotes, for a person reading the report: {"source", "article_id", "quote"} per
    # distinct quoted passage, in the answer's order.
    cited: list[dict] = field(default_factory=list)


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 1]); None for no values."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return round(v[lo] + (v[hi] - v[lo]) * (k - lo), 2)


def polarity(answer: Answer) -> str | None:
    """yes / no read from how the answer opens; None when it takes no side."""
    if answer.abstained:
        return None
    if answer.verdict in ("Yes", "No"):
        return answer.verdict.lower()
    first = normalise(answer.direct).split()[:1]
    if first == ["yes"]:
        return "yes"
    if first == ["no"]:
        return "no"
    return None


def verdict_of(answer: Answer) -> str | None:
    """The verdict the answer opens with ("Yes", "No", "It depends"); None when it abstains or has none."""
    return None if answer.abstained else answer.verdict


def token_f1(pred: str, gold: str) -> float:
    p, g = normalise(pred).split(), normalise(gold).split()
    if not p or not g:
        return 0.0
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def chunk_token_f1(answer: Answer, gold: str) -> tuple[float, float]:
    """(top, best): token F1 against `gold` of the first retrieved chunk's text, and the highest over every
    retrieved chunk; (0, 0) when nothing was retrieved."""
    scores = [token_f1(h.chunk.text, gold) for h in answer.hits]
    return (scores[0], max(scores)) if scores else (0.0, 0.0)


def rouge_l(pred: str, gold: str) -> float:
    """ROUGE-L F1 on normalised tokens (longest common subsequence)."""
    p, g = normalise(pred).split(), normalise(gold).split()
    if not p or not g:
        return 0.0
    prev = [0] * (len(g) + 1)
    for a in p:
        cur = [0] * (len(g) + 1)
        for j, b in enumerate(g, start=1):
            cur[j] = prev[j - 1] + 1 if a == b else max(prev[j], cur[j - 1])
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(g)
    return 2 * precision * recall / (precision + recall)


def check_citations(pipeline: Pipeline, answer: Answer) -> tuple[int, int]:
    """(markers checked, markers whose cited chunk really contains the sentence they follow)."""
    if not answer.citations:
        return 0, 0
    chunks = pipeline.store.chunks(list({c.chunk_id for c in answer.citations}))
    sentences = [answer.direct] + [p.text for p in answer.points]
    supported = 0
    for c in answer.citations:
        chunk = chunks.get(c.chunk_id)
        sentence = sentences[c.sentence] if c.sentence < len(sentences) else ""
        if chunk is not None and chunk.text[c.start : c.end] == c.quote and normalise(sentence) in normalise(chunk.text):
            supported += 1
    return len(answer.citations), supported


def cited_passages(answer: Answer) -> list[dict]:
    seen, out = set(), []
    for c in sorted(answer.citations, key=lambda c: c.marker):
        if (c.chunk_id, c.start, c.end) not in seen:
            seen.add((c.chunk_id, c.start, c.end))
            out.append({"source": c.source, "article_id": c.article_id, "quote": c.quote})
    return out


def run_question(pipeline: Pipeline, question: str, mode: str, *, qid: str,
                 gold_ids: list[str], key_facts: list[str] | None, answerable: bool, qtype: str | None = None,
                 gold_answer: str | None = None, decision: str | None = None,
                 conversation: Conversation | None = None) -> tuple[Result, Answer]:
    answer = pipeline.ask(question, mode=mode, conversation=conversation)
    body = answer.body if not answer.abstained else ""
    nbody = normalise(body)
    checked, supported = check_citations(pipeline, answer)
    cited = list(dict.fromkeys(s.article_id for s in answer.sources))
    top_f1, best_f1 = chunk_token_f1(answer, gold_answer) if gold_answer else (None, None)
    result = Result(
        id=qid, question=question, type=qtype, answerable=answerable, gold_article_ids=gold_ids,
        key_facts=key_facts, gold_answer=gold_answer, decision=decision,
        ranked_articles=answer.ranked_articles[:10], cited_articles=cited, abstained=answer.abstained,
        answer_text=answer.text, answer_body=body, latency_ms=answer.timings_ms.get("total", 0.0),
        citations_checked=checked, citations_supported=supported,
        facts_found=[f for f in (key_facts or []) if fact_in(f, nbody)], polarity=polarity(answer),
        verdict=verdict_of(answer), top_chunk_f1=top_f1, best_chunk_f1=best_f1, cited=cited_passages(answer),
    )
    return result, answer


def run_gold(pipeline: Pipeline, gold: list[GoldQuestion], mode: str = "hybrid",
             progress: Callable[[], None] | None = None) -> list[Result]:
    out = []
    for q in gold:
        result, _ = run_question(pipeline, q.question, mode, qid=q.id, gold_ids=q.gold_article_ids,
                                 key_facts=q.key_facts, answerable=q.answerable, qtype=q.type,
                                 gold_answer=q.gold_answer, decision=q.decision)
        out.append(result)
        if progress:
            progress()
    return out


FOLLOWUP_STRATEGIES = ("rewrite", "alone", "concatenate")


def run_conversations(pipeline: Pipeline, conversations: list[GoldConversation], mode: str = "hybrid",
                      progress: Callable[[], None] | None = None, strategy: str = "rewrite") -> list[Result]:
    """Each conversation through the chat's own `ask`. `rewrite` is what the chat does (follow-ups read
    in the light of the conversation); `alone` and `concatenate` are the naive baselines: each turn as
    typed, or every question so far joined into one query."""
    out = []
    for conv in conversations:
        state = pipeline.new_conversation() if strategy == "rewrite" else None
        history: list[str] = []
        for i, turn in enumerate(conv.turns):
            asked = " ".join(history + [turn.question]) if strategy == "concatenate" else turn.question
            history.append(turn.question)
            result, _ = run_question(pipeline, asked, mode, qid=f"{conv.id}#{i + 1}",
                                     gold_ids=turn.gold_article_ids, key_facts=turn.key_facts,
                                     answerable=turn.answerable, conversation=state)
            result.question = turn.question
            result.conversation, result.turn = conv.id, i + 1
            out.append(result)
            if progress:
                progress()
    return out


# -- metrics ---------------------------------------------------------------------------------------------
def first_gold_rank(r: Result) -> int | None:
    for i, aid in enumerate(r.ranked_articles[:10], start=1):
        if aid in r.gold_article_ids:
            return i
    return None


def retrieval_metrics(results: list[Result]) -> dict:
    rs = [r for r in results if r.answerable and r.gold_article_ids]
    out: dict = {f"recall@{k}": None for k in KS} | {"mrr@10": None, "ndcg@10": None}
    if not rs:
        return out
    ranks = [first_gold_rank(r) for r in rs]
    for k in KS:
        out[f"recall@{k}"] = _mean([1.0 if rank is not None and rank <= k else 0.0 for rank in ranks])
    out["mrr@10"] = _mean([1.0 / rank if rank else 0.0 for rank in ranks])
    ndcgs = []
    for r in rs:
        dcg = sum(1.0 / math.log2(i + 1) for i, a in enumerate(r.ranked_articles[:10], start=1) if a in r.gold_article_ids)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(set(r.gold_article_ids)), 10) + 1))
        ndcgs.append(dcg / ideal if ideal else 0.0)
    out["ndcg@10"] = _mean(ndcgs)
    return out


def verdict_metrics(results: list[Result]) -> dict:
    """Over the questions whose gold decision is yes or no: the share answered with a Yes/No verdict, the
    share of those verdicts that match gold, and the share of all answered with the opposite of gold."""
    rs = [r for r in results if r.decision in ("yes", "no")]
    covered = [r for r in rs if r.verdict in ("Yes", "No")]
    return {
        "verdict_coverage": _mean([1.0 if r.verdict in ("Yes", "No") else 0.0 for r in rs]),
        "verdict_precision": _mean([1.0 if r.verdict.lower() == r.decision else 0.0 for r in covered]),
        "wrong_verdict_rate": _mean([1.0 if r.verdict in ("Yes", "No") and r.verdict.lower() != r.decision
                                     else 0.0 for r in rs]),
    }


def answer_metrics(results: list[Result]) -> dict:
    with_facts = [r for r in results if r.answerable and r.key_facts]
    with_gold = [r for r in results if r.answerable and r.gold_answer]
    with_decision = [r for r in results if r.decision in ("yes", "no")]
    facts_total = sum(len(r.key_facts or []) for r in with_facts)
    return {
        "key_fact_recall": round(sum(len(r.facts_found) for r in with_facts) / facts_total, 4) if facts_total else None,
        "token_f1": _mean([token_f1(r.answer_body, r.gold_answer or "") for r in with_gold]),
        "top_chunk_token_f1": _mean([r.top_chunk_f1 or 0.0 for r in with_gold]),
        "best_chunk_token_f1": _mean([r.best_chunk_f1 or 0.0 for r in with_gold]),
        "rouge_l": _mean([rouge_l(r.answer_body, r.gold_answer or "") for r in with_gold]),
        "yes_no_accuracy": _mean([1.0 if r.polarity == r.decision else 0.0 for r in with_decision]),
    } | verdict_metrics(results)


def citation_metrics(results: list[Result]) -> dict:
    checked = sum(r.citations_checked for r in results)
    answerable = [r for r in results if r.answerable and r.gold_article_ids]
    return {
        "precision": round(sum(r.citations_supported for r in results) / checked, 4) if checked else None,
        "source_recall": _mean([1.0 if set(r.cited_articles) & set(r.gold_article_ids) else 0.0 for r in answerable]),
    }


def abstention_metrics(results: list[Result]) -> dict:
    pos = [r for r in results if not r.answerable]
    neg = [r for r in results if r.answerable]
    tp = sum(r.abstained for r in pos)
    fp = sum(r.abstained for r in neg)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / len(pos) if pos else None
    f1 = (2 * precision * recall / (precision + recall) if precision and recall else 0.0) \
        if precision is not None and recall is not None else None
    return {
        "precision": round(precision, 4) if precision is not None else None,
        "recall": round(recall, 4) if recall is not None else None,
        "f1": round(f1, 4) if f1 is not None else None,
        "false_abstention_rate": round(fp / len(neg), 4) if neg else None,
    }


def block_metrics(results: list[Result]) -> dict:
    return {
        "retrieval": retrieval_metrics(results),
        "answer": answer_metrics(results),
        "citations": citation_metrics(results),
        "abstention": abstention_metrics(results),
    }


def followup_metrics(turns: list[Result]) -> dict:
    first = [t for t in turns if t.turn == 1]
    later = [t for t in turns if t.turn > 1]
    later_facts = [t for t in later if t.answerable and t.key_facts]
    total = sum(len(t.key_facts or []) for t in later_facts)
    return {
        "recall@5_first_turn": retrieval_metrics(first)["recall@5"],
        "recall@5_followup": retrieval_metrics(later)["recall@5"],
        "key_fact_recall_followup": round(sum(len(t.facts_found) for t in later_facts) / total, 4) if total else None,
    }


def metrics(results: list[Result], turns: list[Result] | None = None) -> dict:
    out = block_metrics(results)
    out["followups"] = followup_metrics(turns) if turns else {
        "recall@5_first_turn": None, "recall@5_followup": None, "key_fact_recall_followup": None}
    latencies = [r.latency_ms for r in results]
    out["latency_ms"] = {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)}
    out["n_questions"] = len(results)
    out["n_conversations"] = len({t.conversation for t in turns}) if turns else 0
    types = sorted({r.type or "unknown" for r in results})
    out["by_type"] = {t: block_metrics([r for r in results if (r.type or "unknown") == t]) for t in types}
    for t in types:
        subset = [r.latency_ms for r in results if (r.type or "unknown") == t]
        out["by_type"][t]["latency_ms"] = {"p50": percentile(subset, 0.5), "p95": percentile(subset, 0.95)}
        out["by_type"][t]["n_questions"] = len(subset)
    return out


__all__ = ["Result", "run_gold", "run_conversations", "metrics", "KS", "token_f1", "rouge_l", "polarity",
           "verdict_of", "chunk_token_f1", "verdict_metrics"]
