"""Citation markers: the trailing numbers ("… motor neurons 1", "… in blood 1, 3") that tie a bullet to
entries of the article's reference list.

The hard part is what is *not* a marker: "85%", "ICD-11", "1-2 per 100,000", "3-5 years", "type 1".
A marker block must be separated from the text by whitespace, consist only of small integers joined by
commas, and must not follow a word that takes a number ("type", "stage", "grade", …).
"""

from __future__ import annotations

import re

MAX_MARKER = 30

_BLOCK = re.compile(r"^(?P<text>.*?\S)\s+(?P<block>\d{1,2}(?:\s*,\s*\d{1,2})*)\s*$", re.DOTALL)
_TIME_UNITS = frozenset({"day", "week", "month", "year"})
# Words after which a bare number is part of the sentence ("type 1", "stage 3", "day 5").
_NUMBER_TAKERS = frozenset(
    """type types stage stages grade grades class phase level step tier chapter part group category
    day week month year version trisomy chromosome factor ckd nyha icd hba1c covid sars cov section
    zone score lead module gen generation cycle dose visit figure table number no nr""".split()
)


def split_markers(line: str, max_marker: int = MAX_MARKER) -> tuple[str, list[int]]:
    """Return the line without its trailing marker block, and the markers (empty when there are none)."""
    m = _BLOCK.match(line.rstrip())
    if not m:
        return line.strip(), []
    text, block = m.group("text"), m.group("block")
    numbers = [int(n) for n in re.split(r"\s*,\s*", block)]
    if any(n < 1 or n > max_marker for n in numbers):
        return line.strip(), []
    tail = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)[-2:]]
    if tail and tail[-1] in _NUMBER_TAKERS:
        # "on day 5" wants its number; "twice a day 1" and "per year 2" are rates followed by a marker.
        is_rate = tail[-1] in _TIME_UNITS and len(tail) == 2 and tail[0] in {"a", "an", "per", "each", "every"}
        if not is_rate:
            return line.strip(), []
    # A text that itself ends with a hyphen, slash or an operator wants the number ("1-", "x/").
    if text[-1] in "-/+=<>(":
        return line.strip(), []
    return text.strip(), sorted(dict.fromkeys(numbers), key=numbers.index)
