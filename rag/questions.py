"""Reading a question: its type (which template answers it), whether it asks yes or no, what a comparison
compares, and whether it describes an emergency. Rules, not a model: they are cheap, explainable, and
measured against the types of the gold set (see tests/test_questions.py)."""

from __future__ import annotations

import re

TYPES = ("yes_no", "comparison", "diagnosis", "treatment", "cause", "prognosis", "epidemiology", "symptoms",
         "definition", "other")

_AUX = frozenset("""is are was were can could does do did should will would has have had may might must shall
    isn't aren't doesn't don't can't won't shouldn't""".split())
_WH = frozenset("what which who whom whose how why when where".split())
_OPENERS = frozenset("if when under in after for during with without while once since".split())
_QUESTION_AUX = frozenset("does do did can could should will would".split())

# Checked in this order: the first that matches names the type.
_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("comparison", re.compile(r"\b(difference|differ|differs|distinguish|tell (them )?apart|versus|vs\.?|compared?|"
                              r"comparison|same as|better than)\b", re.I)),
    ("epidemiology", re.compile(r"\b(how common|incidence|prevalence|how many|how often|how frequent|"
                                r"what percentage|proportion of|rate of)\b", re.I)),
    ("prognosis", re.compile(r"\b(prognosis|survival|survive|life expectancy|outlook|how long .*live|recover|"
                             r"recovery|recurrence|come back|long[- ]term outcome|die of|mortality)\b", re.I)),
    ("diagnosis", re.compile(r"\b(diagnos\w*|test\w*|confirm\w*|scan|mri|ct|emg|biopsy|criteria|work[- ]?up|"
                             r"rule out|detect\w*|screen\w*)\b", re.I)),
    ("treatment", re.compile(r"\b(treat\w*|therapy|therapies|drug\w*|medication\w*|medicine\w*|meds|first[- ]line|"
                             r"manage\w*|dose\w*|dosing|antibiotic\w*|antidote|prevent\w*|surgery|tablet\w*|"
                             r"take|taking|prescri\w*|give|given|start)\b", re.I)),
    ("cause", re.compile(r"\b(cause[sd]?|causing|why|trigger\w*|gene\w*|genetic|inherit\w*|risk factors?|"
                         r"due to|leads? to)\b", re.I)),
    ("symptoms", re.compile(r"\b(symptoms?|signs?|feel like|present\w*|look like|features?|complain\w*)\b", re.I)),
    ("definition", re.compile(r"^\s*(what('s| is| are)|define|definition|meaning of|explain)\b", re.I)),
]

_EMERGENCY = re.compile(
    r"\b(chest pain|crushing (chest )?pain|heart attack (now|right now)|can'?t breathe|cannot breathe|"
    r"not breathing|barely breathing|stopped breathing|choking|unconscious|unresponsive|collapsed|"
    r"overdos\w*|took too many|swallowed (a )?(bottle|lot)|suicid\w*|kill (my|him|her)self|end my life|"
    r"self[- ]harm|want to die|face (is )?(droop\w*|drooping)|droopy face|slurred speech|sudden weakness|"
    r"stroke (now|right now|happening)|having a stroke|anaphyla\w*|throat (is )?(closing|swelling)|"
    r"seizure (won'?t stop|lasting|for more than)|fitting for|severe bleeding|bleeding badly|"
    r"lips? (are |is )?(blue|swelling))\b",
    re.I,
)

URGENT_LINE = ("If this is happening now, seek care now: call your local emergency number (such as 911, 999 "
               "or 112) or go to the nearest emergency department. Do not wait for an online answer.")


def is_yes_no(question: str) -> bool:
    """A question expecting "yes" or "no": it opens with an auxiliary verb, or does so after an opening
    clause ("If the protein is normal, does that rule out GBS?", "My sister is a carrier - does she…"),
    or it ends in "right?"."""
    q = question.strip().lower()
    words = re.findall(r"[a-z']+", q)
    if not words or words[0] in _WH:
        return False
    if words[0] in _AUX or re.search(r"\b(right|correct|true)\s*\?\s*$", q):
        return True
    for clause in re.split(r"[,;:.!?\u2013\u2014]|\s-\s|\bso\b", q)[1:]:
        w = re.findall(r"[a-z']+", clause)
        if w and w[0] in _AUX:
            return True
    if words[0] in _OPENERS and q.rstrip().endswith("?"):
        # "Under the Awaji criteria do fasciculations count…?": the first verb after the opener decides.
        for w in words[1:]:
            if w in _WH:
                return False
            if w in _QUESTION_AUX:
                return True
    return False


def question_type(question: str) -> str:
    if is_yes_no(question) and not _TYPE_RULES[0][1].search(question):
        return "yes_no"
    for name, pattern in _TYPE_RULES:
        if pattern.search(question):
            return name
    return "other"


_PARTS = [
    re.compile(r"\bbetween (?P<a>.+?) and (?P<b>.+?)(\?|$| in | when )", re.I),
    re.compile(r"^(?:what(?:'s| is)? the difference,? )?(?P<a>.+?)\s+(?:vs\.?|versus|compared (?:with|to)|or)\s+"
               r"(?P<b>.+?)(?:\s*[-:,?]|$)", re.I),
    re.compile(r"\bis (?P<a>.+?) the same as (?P<b>.+?)(\?|$)", re.I),
    re.compile(r"\bhow (?:does|do|is|are) (?P<a>.+?) differ from (?P<b>.+?)(\?|$)", re.I),
]
_LEAD = re.compile(r"^(what is the difference|what's the difference|difference|how do you tell|how to tell|"
                   r"what are the differences|compare)\b[^a-z]*", re.I)


def comparison_parts(question: str) -> tuple[str, str] | None:
    """The two things a comparison question compares, as written ("Duchenne", "Becker muscular dystrophy")."""
    q = _LEAD.sub("", question.strip())
    for pattern in _PARTS:
        m = pattern.search(q)
        if m:
            a, b = m.group("a").strip(" ,.?"), m.group("b").strip(" ,.?")
            if a and b and a.lower() != b.lower() and len(a.split()) <= 8 and len(b.split()) <= 8:
                return a, b
    return None


def is_emergency(question: str) -> bool:
    return bool(_EMERGENCY.search(question))
