"""Dates: periods named in questions, day numbers, and the days the CLI and files take."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retrieval.dates import (
    DATE_PHRASE,
    DATE_WORDS,
    MONTHS,
    Period,
    asked_on,
    day_number,
    find_period,
    parse_day,
    period_days,
    relative_period,
)

ASKED = date(2016, 4, 22)  # a Friday


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What happened in April 2016?", "2016-04-01", "2016-04-30"),
        ("Who resigned during Feb. 2020?", "2020-02-01", "2020-02-29"),  # a leap year
        ("What did NATO say on April 20, 2016?", "2016-04-19", "2016-04-21"),
        ("what happened on sept 3rd, 2019", "2019-09-02", "2019-09-04"),
        ("Who won the vote in 2023?", "2023-01-01", "2023-12-31"),
    ],
)
def test_explicit_periods(question: str, since: str, until: str) -> None:
    """A period written out in a question is the same whatever the asking day."""
    for asked in (None, ASKED):
        period = find_period(question, asked)
        assert period is not None and (period.since, period.until) == (since, until)
        assert not period.relative


@pytest.mark.parametrize(
    ("question", "since"),
    [
        ("What happened yesterday?", "2016-04-20"),
        ("Who spoke today?", "2016-04-21"),
        ("What did Congress pass this week?", "2016-04-14"),
        ("Who was fired last week?", "2016-04-08"),
        ("What happened this past weekend?", "2016-04-18"),
        ("What was announced this month?", "2016-03-18"),
        ("What changed last month?", "2016-02-20"),
        ("What has happened so far this year?", "2016-01-01"),
    ],
)
def test_relative_periods_end_on_the_asking_day(question: str, since: str) -> None:
    """'yesterday', 'this week' and the like run from a few days back up to the asking day."""
    period = find_period(question, ASKED)
    assert period == Period(since, "2016-04-22", period.phrase if period else "", True)
    assert find_period(question, None) is None  # cannot be resolved without a day


def test_last_year_is_the_calendar_year_before() -> None:
    period = relative_period("last year", ASKED)
    assert (period.since, period.until) == ("2015-01-01", "2015-12-31")


def test_written_out_period_wins_over_relative_one() -> None:
    period = find_period("What happened yesterday, April 20, 2016?", date(2020, 1, 1))
    assert period is not None and (period.since, period.until) == ("2016-04-19", "2016-04-21")


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2016 election?",  # a year that names an event, not a period
        "What happened on February 30, 2016?",  # no such day
        "Which team won in 2016 season play?",
        "How many people live in Mayotte?",
    ],
)
def test_no_period(question: str) -> None:
    assert find_period(question, ASKED) is None


@pytest.mark.parametrize(
    "phrase", ["yesterday", "this week", "last week", "last month", "last year", "this year"]
)
def test_relative_periods_on_the_first_day_there_is(phrase: str) -> None:
    """Asked on 0001-01-01 a relative period stops at that day instead of overflowing."""
    period = relative_period(phrase, date.min)
    assert period.since == "0001-01-01" and period.until is not None


def test_day_numbers() -> None:
    """Day numbers order like dates, from a string or a date, 0 for undated."""
    assert day_number("2016-04-20") == date(2016, 4, 20).toordinal()
    assert day_number(date(2016, 4, 21)) - day_number("2016-04-20") == 1
    assert day_number(None) == 0 and day_number("") == 0
    assert period_days("2016-04-01", None) == (date(2016, 4, 1).toordinal(), None)
    assert period_days(None, None) == (None, None)


def test_parse_day() -> None:
    assert parse_day("2016-04-20") == date(2016, 4, 20)
    assert parse_day("2016-04-20T10:30") == date(2016, 4, 20)
    for bad in ("20 April 2016", "20160420", "", "yesterday", None, 20160420):
        with pytest.raises(ValueError, match="expected a date as YYYY-MM-DD") as info:
            parse_day(bad)
        assert "no such day" not in str(info.value)
    with pytest.raises(ValueError, match=r"got '2016-02-30' \(no such day\)"):
        parse_day("2016-02-30")


def test_asked_on_is_the_end_of_the_day_in_utc() -> None:
    assert asked_on(date(2016, 4, 20)) == datetime(2016, 4, 20, 23, 59, tzinfo=UTC)


def test_month_names_and_date_patterns() -> None:
    """Every spelling of a month maps to its number; the text patterns find dates."""
    assert MONTHS["sept"] == MONTHS["sep"] == MONTHS["september"] == 9
    assert len(set(MONTHS.values())) == 12
    assert DATE_WORDS.search("The vote is on Tuesday.")
    assert DATE_WORDS.search("It rose in 1998.")
    assert not DATE_WORDS.search("The Mayor spoke to 300 people.")
    found = [m.group() for m in DATE_PHRASE.finditer("Talks began April 20, 2016 and in 2017.")]
    assert found == ["April 20, 2016", "2017"]
