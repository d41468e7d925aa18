"""Questions files: JSONL with one ``{id, question[, date, answers, doc_id, conversation]}``
per line (lines sharing a ``conversation`` value are one conversation, in file order).

Lines are split on "\\n" only (a U+2028 inside a JSON string is text, not a line end) and
parsed one at a time, so that batch mode can report a bad line and go on with the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.dates import parse_day
from retrieval.errors import ConfigError, NewsQAError
from retrieval.ingest.textnorm import valid_text


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    doc_id: str | None = None
    date: str | None = None  # when the question was asked, YYYY-MM-DD
    conversation: str | None = None  # lines sharing it are one conversation, in file order


class BadLineError(NewsQAError):
    """A line of a questions file cannot be used; ``str(err)`` is the one-line reason and
    ``qid`` the line's id when it could be read."""

    def __init__(self, reason: str, qid: str | None = None, question: str | None = None):
        super().__init__(reason)
        self.qid = qid
        self.question = question


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages ("null", "a list", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def question_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-blank line; text is None when it is not UTF-8."""
    try:
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):  # binary files split on b"\n" only
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield n, None
                    continue
                if line.strip():
                    yield n, line
    except OSError as exc:
        raise ConfigError(f"cannot read questions file {path}: {exc.strerror or exc}") from None


def parse_question(line: str | None, n: int) -> Question:
    """One line as a Question; raises BadLineError with the reason when it is unusable."""
    if line is None:
        raise BadLineError("the line is not valid UTF-8")
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadLineError("not valid JSON (nested too deeply)") from None
    if not isinstance(row, dict):
        raise BadLineError(f"expected a JSON object, got {kind(row)}")
    # A "\ud800" escape is valid JSON but not text: it could not even be printed back.
    row = {k: valid_text(v) if isinstance(v, str) else v for k, v in row.items()}
    qid = row.get("id", str(n))
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str):
        raise BadLineError(f"'id' must be a string, got {kind(qid)}")
    question = row.get("question")
    if not isinstance(question, str):
        got = "nothing" if "question" not in row else kind(question)
        raise BadLineError(f"'question' must be a string, got {got}", qid)
    date = row.get("date")
    if date is not None:
        date = _day(date, qid, question)
    answers = row.get("answers")
    if answers is None:
        answers = []
    elif isinstance(answers, str):  # one answer, not a sequence of characters
        answers = [answers]
    if not isinstance(answers, list) or not all(
        isinstance(a, str | int | float) and not isinstance(a, bool) for a in answers
    ):
        raise BadLineError(
            f"'answers' must be a list of strings, got {kind(answers)}", qid, question
        )
    doc_id = row.get("doc_id")
    if doc_id is not None and not isinstance(doc_id, str):
        raise BadLineError(f"'doc_id' must be a string, got {kind(doc_id)}", qid, question)
    conversation = row.get("conversation")
    if isinstance(conversation, int) and not isinstance(conversation, bool):
        conversation = str(conversation)
    if conversation is not None and not isinstance(conversation, str):
        raise BadLineError(
            f"'conversation' must be a string, got {kind(conversation)}", qid, question
        )
    return Question(qid, question, tuple(str(a) for a in answers), doc_id, date, conversation)


def _day(value: Any, qid: str, question: str) -> str:
    """A batch line's date as YYYY-MM-DD (a time of day after it is allowed)."""
    message = f"'date' must be a date as YYYY-MM-DD, got {json.dumps(value)[:40]}"
    try:
        return parse_day(value).isoformat()
    except ValueError as exc:  # 2016-02-30, 2016-13-01 are "no such day"
        tail = " (no such day)" if str(exc).endswith("(no such day)") else ""
        raise BadLineError(message + tail, qid, question) from None


def read_questions(path: Path) -> Iterator[Question]:
    """Every question of a file; the first bad line raises a ConfigError naming it (a
    benchmark scored without some of its questions would mislead)."""
    for n, line in question_lines(path):
        try:
            yield parse_question(line, n)
        except BadLineError as exc:
            raise ConfigError(f"{path}:{n}: {exc}") from None
