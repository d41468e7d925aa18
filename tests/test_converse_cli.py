"""Conversations at the command line: `ask --after`, `ask --explain`, `chat`, and the
bot's console (no token), which behaves like a DM; in-process, on the default corpus."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.console import run_console
from retrieval.answer.qa import QA
from retrieval.cli.main import main
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FIRST = "When did NATO announce the council meeting?"
FOLLOW = "Where will it be held?"
UNDERSTOOD = "Where will the council meeting be held?"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, default_index: Settings) -> Settings:
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    monkeypatch.setenv("NEWSQA_CORPUS_DIR", str(REPO / "corpus"))
    return default_index


def test_ask_after_explains_how_the_context_was_used(env: Settings) -> None:
    """`ask --after Q1 Q2 --explain` answers Q2 as the second turn and says which turn
    supplied what; the same question alone says it had no context."""
    code, out = run("ask", "--after", FIRST, FOLLOW, "--explain", "--date", "2016-04-15")
    assert code == 0
    assert out.startswith(f"-# Taken as: {UNDERSTOOD}\n> ")
    assert "Brussels" in out.split("--- context ---")[0]
    context = out.split("--- context ---")[1]
    assert f"turn 2: follow-up\nunderstood as: {UNDERSTOOD}\n" in context
    assert "from turn 1: subject = the council meeting" in context
    assert "from turn 1: stories = " in context
    assert "--- explain (" in out
    code, alone = run("ask", FOLLOW, "--explain", "--date", "2016-04-15")
    assert code == 0 and "Taken as" not in alone
    assert "--- context ---\nturn 1: question\nfirst turn: no context\n" in alone


def test_ask_after_json_has_the_context_field(env: Settings) -> None:
    """With --json the answer carries a "context" object: the turn, the question as
    understood, and what each earlier turn supplied."""
    code, out = run("ask", "--after", FIRST, FOLLOW, "--json")
    assert code == 0
    row = json.loads(out)
    assert row["question"] == FOLLOW
    assert "Brussels" in row["answer"]
    ctx = row["context"]
    assert ctx["turn"] == 2 and ctx["kind"] == "follow-up" and ctx["understood"] == UNDERSTOOD
    assert {"turn": 1, "what": "subject", "value": "the council meeting"} in ctx["used"]
    code, out = run("ask", "--after", FIRST, "link?", "--json")
    row = json.loads(out)
    assert row["context"]["kind"] == "sources" and row["sources"]


def test_chat_is_one_conversation_until_new(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chat` reads turns from standard input: a follow-up uses the last turn, /new forgets
    it, /explain shows how the context was used."""
    lines = [FIRST, "/explain", FOLLOW, "/new", FOLLOW, ""]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out = run("chat")
    assert code == 0
    assert out.count(f"-# Taken as: {UNDERSTOOD}") == 1
    assert "(explain on)" in out and "(new conversation)" in out
    assert "-- from turn 1: subject = the council meeting" in out
    after_new = out.split("(new conversation)")[1]
    assert "Taken as" not in after_new and "-- turn 1: question" in after_new


def test_console_behaves_like_a_dm(default_index: Settings, model) -> None:  # type: ignore[no-untyped-def]
    """The console (no token) keeps one conversation: a follow-up and "source?" use it."""
    qa = QA.open(default_index, encoder=model)
    out = io.StringIO()
    assert run_console(qa, io.StringIO(f"{FIRST}\n{FOLLOW}\nsource?\n"), out) == 0
    replies = out.getvalue().split("\n\n")
    assert replies[1].startswith(f"-# Taken as: {UNDERSTOOD}\n> ")
    assert replies[2].startswith("Sources of that answer:\n• ")


def test_batch_lines_sharing_a_conversation_follow_on(env: Settings, tmp_path: Path) -> None:
    """In `ask --questions`, lines with the same `conversation` are one conversation in
    file order (each sees the answers before it); lines without one stand alone; a bad
    `conversation` value is that line's error and the run goes on."""
    rows = [
        {"id": "a1", "question": FIRST, "conversation": "a"},
        {"id": "b1", "question": FOLLOW, "conversation": "b"},
        {"id": "solo", "question": FOLLOW},
        {"id": "a2", "question": FOLLOW, "conversation": "a"},
        {"id": "bad", "question": FOLLOW, "conversation": ["a"]},
        {"id": "a3", "question": "source?", "conversation": "a"},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out = run("ask", "--questions", str(path), "--json", "--date", "2016-04-15")
    assert code == 1  # the bad line
    got = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert list(got) == [r["id"] for r in rows]
    assert got["a1"]["context"] == {
        "turn": 1, "kind": "question", "understood": FIRST, "switched": False, "used": [],
    }  # fmt: skip
    a2 = got["a2"]
    assert a2["question"] == FOLLOW and a2["conversation"] == "a" and a2["line"] == 4
    assert a2["context"]["turn"] == 2 and a2["context"]["understood"] == UNDERSTOOD
    assert {"turn": 1, "what": "subject", "value": "the council meeting"} in a2["context"]["used"]
    assert "Brussels" in a2["answer"]
    # The same words first in their own conversation, or alone, have no context.
    assert got["b1"]["context"]["turn"] == 1 and got["b1"]["context"]["used"] == []
    assert "context" not in got["solo"] and got["solo"]["answer"] == got["b1"]["answer"]
    assert got["bad"]["error"] == "'conversation' must be a string, got a list"
    assert got["a3"]["context"]["kind"] == "sources" and got["a3"]["context"]["turn"] == 3
    assert got["a3"]["sources"] == a2["sources"]
