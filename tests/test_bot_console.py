"""`python -m bot` without DISCORD_TOKEN: the local console, as a newcomer runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from retrieval.answer.qa import QA
from retrieval.answer.render import format_answer
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["When did NATO reopen informal talks with Russia?", "Who is Moscow's envoy to NATO?"]


def run_bot(env: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull],
        input=stdin,
        env=base | env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_builds_a_missing_index_and_answers_like_the_bot(
    tmp_path: Path,
    model,
) -> None:
    """No token, no index: the index is built, each line answered with the bot's text, exit 0."""
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    env = {"NEWSQA_CORPUS_DIR": str(tmp_path / "corpus"), "NEWSQA_INDEX_DIR": str(tmp_path / "ix")}
    stdin = f"{QUESTIONS[0]}\n\n🤔\n{QUESTIONS[1]}"  # a blank line, a bad one, no final newline
    done = run_bot(env, stdin)
    assert done.returncode == 0, done.stderr
    assert "building it from" in done.stderr
    assert "DISCORD_TOKEN" not in done.stdout or "console" in done.stdout

    settings = replace(Settings(), corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "ix")
    qa = QA.open(settings, encoder=model)
    now = datetime.now(UTC)
    expected = [
        format_answer(qa.answer(QUESTIONS[0], asked_at=now)),
        "Please ask a question in words: I found nothing to search for.",
        format_answer(qa.answer(QUESTIONS[1], asked_at=now)),
    ]
    assert done.stdout == "".join(text + "\n\n" for text in expected)
    assert "Grushko" in expected[2] and "euronews" in expected[0]


def test_missing_corpus_and_index_is_one_line_error(tmp_path: Path) -> None:
    """Nothing to answer from: one error line naming the problem, exit 1, no traceback."""
    env = {"NEWSQA_CORPUS_DIR": str(tmp_path / "nope"), "NEWSQA_INDEX_DIR": str(tmp_path / "ix")}
    done = run_bot(env, "hello\n")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert str(tmp_path / "nope") in errors[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCORD_COOLDOWN_SECONDS", "soon"), ("DISCORD_API_BASE", "ftp://x")],
)
def test_bad_setting_is_reported_before_loading_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    """A malformed variable stops the start with one line naming it, exit 2."""
    monkeypatch.setenv(name, value)
    assert main(["--env-file", os.devnull]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert name in err
