"""What a question asks for: its answer type, its key terms, and the period it is about."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_RELATIVE = re.compile(
    r"\b(?P<what>today|tonight|yesterday|this (?:past )?weekend|"
    r"(?:this|last|past|previous) (?:few )?(?:week|month|year|days)|"
    r"this morning|earlier this (?:week|month|year)|recently|so far this year)\b",
    re.I,
)
_MONTH_YEAR = re.compile(
    rf"\b(?:in|during|of|since)\s+(?P<month>{_MONTH_RE})\.?\s+(?P<year>(?:19|20)\d\d)\b", re.I
)
_DAY = re.compile(
    rf"\b(?P<month>{_MONTH_RE})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b",
    re.I,
)
_YEAR = re.compile(
    r"\b(?:in|during)\s+(?P<year>(?:19|20)\d\d)\b(?!\s*(?:season|election|olympics|census))", re.I
)

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
class Period:
    """A closed range of document dates, as ISO strings (either end may be open)."""

    since: str | None
    until: str | None
    phrase: str
    relative: bool = False  # resolved against the asking time ("this week")


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    wh: str
    period: Period | None


def answer_type(question: str) -> str:
    for name, pattern in _WH:
        if pattern.search(question):
            return name
    return "other"


def _iso(d: date) -> str:
    return d.isoformat()


def relative_period(phrase: str, asked: date) -> Period:
    """Resolve 'this week', 'yesterday' and the like against the day the question was asked.

    News questions say "this week" of the days just before they are asked, so a week is
    the seven days up to the asking day, not the calendar week.
    """
    p = phrase.lower()
    if p in ("today", "tonight", "this morning"):
        start = asked - timedelta(days=1)
    elif p == "yesterday":
        start = asked - timedelta(days=2)
    elif "weekend" in p:
        start = asked - timedelta(days=4)
    elif p.startswith(("last", "previous")) and "week" in p:
        start = asked - timedelta(days=14)
    elif "week" in p or "days" in p:
        start = asked - timedelta(days=8)
    elif p.startswith(("last", "previous")) and "month" in p:
        start = asked - timedelta(days=62)
    elif "month" in p or p == "recently":
        start = asked - timedelta(days=35)
    elif p.startswith(("last", "previous")) and "year" in p:
        last_year = asked.year - 1
        return Period(_iso(date(last_year, 1, 1)), _iso(date(last_year, 12, 31)), phrase, True)
    else:  # this year, so far this year
        start = date(asked.year, 1, 1)
    return Period(_iso(start), _iso(asked), phrase, True)


def explicit_period(question: str) -> Period | None:
    """A period written out in the question: 'on April 20, 2016', 'in April 2016', 'in 2023'."""
    if m := _DAY.search(question):
        try:
            d = date(int(m["year"]), _MONTHS[m["month"].lower()], int(m["day"]))
        except ValueError:
            return None
        return Period(_iso(d - timedelta(days=1)), _iso(d + timedelta(days=1)), m.group())
    if m := _MONTH_YEAR.search(question):
        year, month = int(m["year"]), _MONTHS[m["month"].lower()]
        last = calendar.monthrange(year, month)[1]
        return Period(_iso(date(year, month, 1)), _iso(date(year, month, last)), m.group())
    if m := _YEAR.search(question):
        year = int(m["year"])
        return Period(f"{year}-01-01", f"{year}-12-31", m.group())
    return None


def analyse(question: str, asked_at: datetime | date | None = None) -> QuestionInfo:
    """The answer type and the period of a question asked at ``asked_at`` (None: no
    relative period can be resolved, explicit ones still are)."""
    period = explicit_period(question)
    if period is None and asked_at is not None:
        asked = asked_at.date() if isinstance(asked_at, datetime) else asked_at
        if m := _RELATIVE.search(question):
            period = relative_period(m.group("what"), asked)
    return QuestionInfo(question, answer_type(question), period)
