"""Dates in one place: parsing, normalising, periods and day numbers.

Documents carry ISO dates (``YYYY-MM-DD``) found in their metadata or text
(:func:`normalize_date`). A question may name a period, written out ("on April 20, 2016",
"in April 2016", "in 2023") or relative to the time it was asked ("this week",
"yesterday"); :func:`find_period` resolves it to a closed range of days. Search filters
on day numbers (:func:`day_number`). Days given on the command line and in question files
are ISO dates (:func:`parse_day`).

The parsing is hand-written rather than left to a general date parser: news text writes
dates in three ways, and questions name periods in a dozen fixed phrases, which these
patterns cover exactly and in microseconds (README, "How it works", has the comparison).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_ABBREVIATIONS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9,
    "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Month number by lower-case name or abbreviation ("april", "apr", "sept").
MONTHS: dict[str, int] = {name.lower(): i for i, name in enumerate(MONTH_NAMES, 1)}
MONTHS.update({name.lower(): n for name, n in _ABBREVIATIONS.items()})

# Longest first, so that an alternation never stops at a shorter name inside a longer one.
_ANY_MONTH = "|".join(
    sorted([*MONTH_NAMES, *_ABBREVIATIONS], key=len, reverse=True)
)  # January|...|Sept|Jan|...
_FULL_MONTH = "|".join(MONTH_NAMES)
_YEAR_WORD = r"(?:1[5-9]|20)\d\d"  # a year a news story would name

# Dates written in text, in the three ways news text writes them.
_MONTH_TOKEN = rf"({_ANY_MONTH})\.?(?![a-z])"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # the form days are given in
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MDY_DATE = re.compile(_MONTH_TOKEN + r"\s+(\d{1,2}),?\s+(\d{4})(?!\d)")
_DMY_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+" + _MONTH_TOKEN + r",?\s+(\d{4})(?!\d)")

#: Does a sentence speak of a date (a month, a weekday, "yesterday", a year)?
DATE_WORDS = re.compile(
    rf"\b(?:{_ANY_MONTH}|{'|'.join(WEEKDAY_NAMES)}|yesterday|today)\b|\b{_YEAR_WORD}\b"
)
#: A date phrase to point at in an answer: "April 20, 2016", "April 2016", "April", "2016".
DATE_PHRASE = re.compile(
    rf"\b(?:(?:{_FULL_MONTH})(?:\s+\d{{1,2}})?(?:,?\s+\d{{4}})?|{_YEAR_WORD})\b"
)

# Periods named in questions (case-insensitive).
_RELATIVE = re.compile(
    r"\b(?P<what>today|tonight|yesterday|this (?:past )?weekend|"
    r"(?:this|last|past|previous) (?:few )?(?:week|month|year|days)|"
    r"this morning|earlier this (?:week|month|year)|recently|so far this year)\b",
    re.I,
)
_QUESTION_YEAR = r"(?:19|20)\d\d"
_MONTH_YEAR = re.compile(
    rf"\b(?:in|during|of|since)\s+(?P<month>{_ANY_MONTH})\.?\s+(?P<year>{_QUESTION_YEAR})\b",
    re.I,
)
_DAY = re.compile(
    rf"\b(?P<month>{_ANY_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<year>{_QUESTION_YEAR})\b",
    re.I,
)
_YEAR = re.compile(
    rf"\b(?:in|during)\s+(?P<year>{_QUESTION_YEAR})\b"
    r"(?!\s*(?:season|election|olympics|census))",
    re.I,
)


@dataclass(frozen=True)
class Period:
    """A closed range of document dates, as ISO strings (either end may be open)."""

    since: str | None
    until: str | None
    phrase: str
    relative: bool = False  # resolved against the asking time ("this week")


def normalize_date(value: object) -> str | None:
    """Return the first date found in ``value`` as ISO ``YYYY-MM-DD``, or None.

    Understands ``2016-04-8``, ``2016/04/08``, ``April 20, 2016`` and ``20 April 2016``.
    """
    if not isinstance(value, str):
        return None
    for pattern, order in ((_ISO_DATE, "ymd"), (_MDY_DATE, "mdy"), (_DMY_DATE, "dmy")):
        for m in pattern.finditer(value):
            parts = dict(zip(order, m.groups(), strict=True))
            month = parts["m"]
            month_no = int(month) if month.isdigit() else MONTHS[month.lower()]
            try:
                return date(int(parts["y"]), month_no, int(parts["d"])).isoformat()
            except ValueError:
                continue
    return None


def parse_day(value: object) -> date:
    """A day given as ``YYYY-MM-DD`` (a time of day after it is ignored); ValueError with
    a one-line message otherwise, ending in "(no such day)" for 2016-02-30 and the like."""
    message = f"expected a date as YYYY-MM-DD, got {value!r}"
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        raise ValueError(message)
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise ValueError(message + " (no such day)") from None


def asked_on(day: date) -> datetime:
    """The time a question dated ``day`` counts as asked: the end of that day, UTC."""
    return datetime.combine(day, time(23, 59), UTC)


def day_number(day: str | date | None) -> int:
    """A date (ISO string or ``date``) as an ordinal day number, 0 for undated: the form
    periods and ages are computed on."""
    if day is None or day == "":
        return 0
    return (date.fromisoformat(day) if isinstance(day, str) else day).toordinal()


def period_days(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """A period's ends (ISO strings, None for open) as day numbers."""
    return (
        day_number(since) if since is not None else None,
        day_number(until) if until is not None else None,
    )


def _days_before(day: date, days: int) -> date:
    """``day`` less ``days`` days, no earlier than the first day there is."""
    return date.fromordinal(max(day.toordinal() - days, 1))


def relative_period(phrase: str, asked: date) -> Period:
    """Resolve 'this week', 'yesterday' and the like against the day the question was asked.

    News questions say "this week" of the days just before they are asked, so a week is
    the seven days up to the asking day, not the calendar week.
    """
    p = phrase.lower()
    if p in ("today", "tonight", "this morning"):
        start = _days_before(asked, 1)
    elif p == "yesterday":
        start = _days_before(asked, 2)
    elif "weekend" in p:
        start = _days_before(asked, 4)
    elif p.startswith(("last", "previous")) and "week" in p:
        start = _days_before(asked, 14)
    elif "week" in p or "days" in p:
        start = _days_before(asked, 8)
    elif p.startswith(("last", "previous")) and "month" in p:
        start = _days_before(asked, 62)
    elif "month" in p or p == "recently":
        start = _days_before(asked, 35)
    elif p.startswith(("last", "previous")) and "year" in p:
        if asked.year == date.min.year:  # no year before the first
            return Period(date.min.isoformat(), date.min.isoformat(), phrase, True)
        last_year = asked.year - 1
        return Period(date(last_year, 1, 1).isoformat(), date(last_year, 12, 31).isoformat(),
                      phrase, True)  # fmt: skip
    else:  # this year, so far this year
        start = date(asked.year, 1, 1)
    return Period(start.isoformat(), asked.isoformat(), phrase, True)


def explicit_period(question: str) -> Period | None:
    """A period written out in the question: 'on April 20, 2016', 'in April 2016', 'in 2023'."""
    if m := _DAY.search(question):
        try:
            d = date(int(m["year"]), MONTHS[m["month"].lower()], int(m["day"]))
        except ValueError:
            return None
        return Period(
            (d - timedelta(days=1)).isoformat(), (d + timedelta(days=1)).isoformat(), m.group()
        )
    if m := _MONTH_YEAR.search(question):
        year, month = int(m["year"]), MONTHS[m["month"].lower()]
        last = calendar.monthrange(year, month)[1]
        return Period(date(year, month, 1).isoformat(), date(year, month, last).isoformat(),
                      m.group())  # fmt: skip
    if m := _YEAR.search(question):
        year = int(m["year"])
        return Period(f"{year}-01-01", f"{year}-12-31", m.group())
    return None


def find_period(question: str, asked: date | None) -> Period | None:
    """The period a question is about: one written out, else a relative one resolved
    against the day it was ``asked`` (None: relative periods are not resolved)."""
    period = explicit_period(question)
    if period is None and asked is not None and (m := _RELATIVE.search(question)):
        period = relative_period(m.group("what"), asked)
    return period
