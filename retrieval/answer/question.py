"""What a question asks for: its answer type and the period it is about (see `retrieval.dates`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from retrieval.dates import Period, find_period

_PERSONS = (
    "person|man|woman|singer|actor|actress|president|leader|player|company|team|artist|"
    "rapper|star|celebrity|politician|official|author|musician|athlete|candidate"
)
_PLACES = (
    "country|city|state|nation|region|island|continent|place|county|province|territory|"
    "town|ocean|sea|river|lake|mountain|desert|airport"
)
_WH = (
    ("how_many", re.compile(
        r"\bhow (?:many|much|long|old|far|big|large|tall|often)\b"
        r"|\bwhat (?:percent|percentage|number|amount)\b|\bnumber of\b", re.I)),
    ("when", re.compile(
        r"\bwhen\b|\bwhat (?:year|date|day|month|time)\b|\bwhich (?:year|date|day|month)\b",
        re.I)),
    ("who", re.compile(
        rf"\bwho(?:m|se)?\b|\bwhich (?:{_PERSONS})\b|\bwhat is (?:his|her|their) name\b", re.I)),
    ("where", re.compile(
        rf"\bwhere\b|\b(?:which|what) (?:{_PLACES})\b", re.I)),
    ("why", re.compile(r"\bwhy\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
    ("what", re.compile(r"\bwhat\b|\bwhich\b|_{3,}", re.I)),
)  # fmt: skip
WH_TYPES = (*(name for name, _ in _WH), "other")


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    wh: str
    period: Period | None
    asked: date | None  # the day it was asked (None: unknown)


# Chat spellings of a question's first word ("wat happend in ecuador", "hw many died"),
# and of "happened" anywhere: read as the words they stand for, so that the question gets
# its answer type and its words match the corpus.
_FIRST_WORD = {
    "wat": "what", "wht": "what", "waht": "what", "whta": "what", "wats": "what's",
    "whats": "what's", "wher": "where", "whre": "where", "wheres": "where's",
    "whos": "who's", "wen": "when", "hw": "how", "hwo": "how",
}  # fmt: skip
_LEADING = re.compile(r"^(\W*)([A-Za-z]+)\b")
_HAPPENED = re.compile(r"\b(?:happend|happned|hapened|hapend)\b", re.I)


def respelled(question: str) -> str:
    """``question`` with chat spellings of its question words written out."""
    m = _LEADING.match(question)
    if m and m.group(2).lower() in _FIRST_WORD:
        question = m.group(1) + _FIRST_WORD[m.group(2).lower()] + question[m.end() :]
    return _HAPPENED.sub("happened", question)


def answer_type(question: str) -> str:
    for name, pattern in _WH:
        if pattern.search(question):
            return name
    return "other"


def analyse(question: str, asked_at: datetime | date | None = None) -> QuestionInfo:
    """The answer type and the period of a question asked at ``asked_at`` (None: no
    relative period can be resolved, explicit ones still are)."""
    asked = asked_at.date() if isinstance(asked_at, datetime) else asked_at
    return QuestionInfo(question, answer_type(question), find_period(question, asked), asked)
