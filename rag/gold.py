"""Gold questions and conversations: loading them, and checking them against a corpus.

The schema (one JSON object a line) is documented in the README. Only `id`, `question` and
`gold_article_ids` are required, so a user can bring a small gold file of their own; the shipped gold set
fills every field and is held to the stricter checks (`strict=True`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents import Article
from rag.corpus import load_corpus
from rag.ingest.jsonl import jsonl_text_lines
from rag.text import normalise

TYPES = ("yes_no", "definition", "comparison", "diagnosis", "treatment", "cause", "prognosis",
         "epidemiology", "symptoms", "other")
DECISIONS = ("yes", "no", "maybe")


class GoldError(ValueError):
    """A gold file that cannot be used at all (unreadable line, empty file); names the line."""


@dataclass
class GoldQuestion:
    id: str
    question: str
    gold_article_ids: list[str]
    gold_answer: str | None = None
    key_facts: list[str] | None = None
    type: str | None = None
    answerable: bool = True
    decision: str | None = None
    line: int = 0


@dataclass
class Turn:
    question: str
    gold_article_ids: list[str]
    key_facts: list[str] | None = None
    answerable: bool = True


@dataclass
class Conversation:
    id: str
    turns: list[Turn]
    line: int = 0


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise GoldError(f"gold file not found: {path}")
    rows = []
    # Split on "\n" only: JSON strings may hold U+2028/U+2029/U+0085 raw, and splitlines() splits there.
    for n, line in enumerate(jsonl_text_lines(path.read_text(encoding="utf-8-sig")), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise GoldError(f"{path}:{n}: each line must be a JSON object")
        rows.append((n, obj))
    if not rows:
        raise GoldError(f"{path} is empty: expected one JSON object a line")
    return rows


def _str_list(value: object, where: str, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GoldError(f"{where}: '{name}' must be a list of strings")
    return value


def load_gold(path: Path) -> list[GoldQuestion]:
    out = []
    for n, obj in _read_jsonl(Path(path)):
        where = f"{path}:{n}"
        for key in ("id", "question", "gold_article_ids"):
            if key not in obj:
                raise GoldError(f"{where}: missing required field '{key}'")
        if not isinstance(obj["question"], str):
            raise GoldError(f"{where}: 'question' must be a string")
        kf = obj.get("key_facts")
        decision = obj.get("decision")
        if decision is not None and decision not in DECISIONS:
            raise GoldError(f"{where}: 'decision' must be one of {', '.join(DECISIONS)}")
        qtype = obj.get("type")
        if qtype is not None and qtype not in TYPES:
            raise GoldError(f"{where}: 'type' must be one of {', '.join(TYPES)}")
        answerable = obj.get("answerable", True)
        if not isinstance(answerable, bool):
            raise GoldError(f"{where}: 'answerable' must be true or false")
        out.append(GoldQuestion(
            id=str(obj["id"]), question=obj["question"],
            gold_article_ids=_str_list(obj["gold_article_ids"], where, "gold_article_ids"),
            gold_answer=obj.get("gold_answer"),
            key_facts=_str_list(kf, where, "key_facts") if kf is not None else None,
            type=qtype, answerable=answerable, decision=decision, line=n,
        ))
    return out


def load_conversations(path: Path) -> list[Conversation]:
    out = []
    for n, obj in _read_jsonl(Path(path)):
        where = f"{path}:{n}"
        if "id" not in obj or not isinstance(obj.get("turns"), list) or not obj["turns"]:
            raise GoldError(f"{where}: a conversation needs 'id' and a non-empty list 'turns'")
        turns = []
        for i, t in enumerate(obj["turns"], start=1):
            if not isinstance(t, dict) or "question" not in t or "gold_article_ids" not in t:
                raise GoldError(f"{where}: turn {i} needs 'question' and 'gold_article_ids'")
            kf = t.get("key_facts")
            turns.append(Turn(t["question"], _str_list(t["gold_article_ids"], where, "gold_article_ids"),
                              _str_list(kf, where, "key_facts") if kf is not None else None,
                              bool(t.get("answerable", True))))
        out.append(Conversation(str(obj["id"]), turns, n))
    return out


def article_text(article: Article) -> str:
    """Everything a key fact may be quoted from, normalised."""
    parts = [article.title, article.answer] + [u.text for s in article.sections for u in s.units]
    return normalise(" ".join(parts))


def fact_in(fact: str, normalised_text: str) -> bool:
    f = normalise(fact)
    return bool(f) and f" {f} " in f" {normalised_text} "


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(corpus: Path, gold_path: Path, conversations_path: Path | None = None, strict: bool = False) -> Report:
    """Check a gold file (and conversations) against the corpus. Problems are collected, not raised, so
    one run lists them all; an unreadable file still raises GoldError."""
    report = Report()
    articles, skipped = load_corpus(Path(corpus))
    by_id = {a.id: a for a in articles}
    texts = {a.id: article_text(a) for a in articles}
    for s in skipped:
        report.problems.append(f"corpus: {s.path} does not parse: {s.reason}")
    if strict:
        for a in articles:
            if not a.references:
                report.problems.append(f"corpus: {a.id} has no reference list")
            if not a.markers:
                report.problems.append(f"corpus: {a.id} has no citation marker")

    gold = load_gold(Path(gold_path))

    def check_item(where: str, ids: list[str], facts: list[str] | None, answerable: bool) -> None:
        for aid in ids:
            if aid not in by_id:
                report.problems.append(f"{where}: gold article '{aid}' is not in the corpus")
        if answerable and not ids:
            report.problems.append(f"{where}: answerable but no gold_article_ids")
        if not answerable and ids:
            report.problems.append(f"{where}: unanswerable questions must have empty gold_article_ids")
        for fact in facts or []:
            if ids and not any(fact_in(fact, texts.get(aid, "")) for aid in ids):
                report.problems.append(f"{where}: key fact '{fact}' is not found in {', '.join(ids)}")

    seen: Counter = Counter(q.id for q in gold)
    for dup in [k for k, v in seen.items() if v > 1]:
        report.problems.append(f"{gold_path}: id '{dup}' is used {seen[dup]} times")
    for q in gold:
        where = f"{gold_path}:{q.line} ({q.id})"
        check_item(where, q.gold_article_ids, q.key_facts, q.answerable)
        if strict:
            missing = [k for k in ("gold_answer", "key_facts", "type") if getattr(q, k) in (None, "")]
            if missing:
                report.problems.append(f"{where}: missing {', '.join(missing)}")
            if q.answerable and q.key_facts is not None and not 2 <= len(q.key_facts) <= 5:
                report.problems.append(f"{where}: answerable questions need 2 to 5 key facts")
            if q.type == "yes_no" and q.decision not in ("yes", "no"):
                report.problems.append(f"{where}: yes_no questions need decision yes or no")
            if q.type != "yes_no" and q.decision is not None:
                report.problems.append(f"{where}: only yes_no questions carry a decision")
    report.counts = {
        "articles": len(articles),
        "questions": len(gold),
        "unanswerable": sum(not q.answerable for q in gold),
        "yes_no": sum(q.type == "yes_no" for q in gold),
        "multi_article": sum(len(q.gold_article_ids) > 1 for q in gold),
        "by_type": dict(Counter(q.type or "unknown" for q in gold)),
    }
    if conversations_path is not None:
        convs = load_conversations(Path(conversations_path))
        for c in convs:
            if strict and not 3 <= len(c.turns) <= 5:
                report.problems.append(f"{conversations_path}:{c.line} ({c.id}): needs 3 to 5 turns")
            for i, t in enumerate(c.turns, start=1):
                check_item(f"{conversations_path}:{c.line} ({c.id}) turn {i}", t.gold_article_ids, t.key_facts,
                           t.answerable)
        report.counts["conversations"] = len(convs)
        report.counts["turns"] = sum(len(c.turns) for c in convs)
    return report
