"""Batch mode (`ask --questions`): every line of the file gets exactly one output line, a
bad line an error object naming its line, and the exit status says whether any failed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from retrieval.answer.evaluate import read_questions
from retrieval.cli.main import main
from retrieval.errors import ConfigError
from retrieval.settings import Settings

GOOD = "When did NATO reopen talks with Russia?"

# (line, what the error must say); each is followed in the file by a good line.
BAD = [
    ('{"id": "j", "question": "x"', "not valid JSON"),
    ('["a list", "of strings"]', "expected a JSON object, got a list"),
    ('{"id": "q1", "question": null}', "'question' must be a string, got null"),
    ('{"id": "q2", "question": ["When", "did"]}', "'question' must be a string, got a list"),
    ('{"id": "q3"}', "'question' must be a string, got nothing"),
    ('{"id": null, "question": "When?"}', "'id' must be a string, got null"),
    ('{"id": ["x"], "question": "When?"}', "'id' must be a string, got a list"),
    ('{"id": "d1", "question": "When?", "date": "April 21, 2016"}', "YYYY-MM-DD"),
    ('{"id": "d2", "question": "When?", "date": "2016-02-30"}', "no such day"),
    ('{"id": "d3", "question": "When?", "date": 20160421}', "YYYY-MM-DD"),
    ('{"id": "d4", "question": "When?", "date": "10000-01-01"}', "YYYY-MM-DD"),
]


def _run(path: Path) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent", "ask", "--questions", str(path), "--json"], out=out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, default_index: Settings) -> Settings:
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    return default_index


def test_every_bad_line_is_reported_and_the_run_goes_on(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Malformed lines, non-ISO or impossible dates, non-string questions and ids each get
    an error object with their line number; the good line after each is still answered;
    the exit status is 1."""
    lines: list[bytes] = []
    for i, (bad, _) in enumerate(BAD):
        lines.append(bad.encode())
        lines.append(json.dumps({"id": f"ok{i}", "question": GOOD, "date": "2016-04-21"}).encode())
    lines.append(b'{"id": "u", "question": "caf\xe9?"}')  # Latin-1, not UTF-8
    lines.append(json.dumps({"id": "last", "question": GOOD}).encode())
    path = tmp_path / "q.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    code, rows = _run(path)
    assert code == 1
    assert "12 of 24 lines" in capsys.readouterr().err
    assert [r["line"] for r in rows] == list(range(1, 25))
    for i, (_, reason) in enumerate(BAD):
        bad, good = rows[2 * i], rows[2 * i + 1]
        assert bad["answer"] is None and reason in str(bad["error"]), bad
        assert "\n" not in str(bad["error"])
        assert good["id"] == f"ok{i}" and "error" not in good
        assert good["answer"] and good["sources"][0]["date"] == "2016-04-20"  # type: ignore[index]
    assert rows[6]["id"] == "q2" and rows[10]["id"] is None
    assert "not valid UTF-8" in str(rows[22]["error"])
    assert rows[23]["id"] == "last" and rows[23]["answer"]


def test_duplicate_ids_and_line_separators(env: Settings, tmp_path: Path) -> None:
    """A repeated id is an error naming the first line; a U+2028 inside a question is
    text, not a line end; a file with no failure exits 0."""
    path = tmp_path / "q.jsonl"
    first = {"id": "a", "question": "When did NATO\u2028reopen talks with Russia?"}
    path.write_text(
        json.dumps(first, ensure_ascii=False) + "\n"
        + json.dumps({"id": "b", "question": GOOD, "date": "2016-04-21"}) + "\n"
    )  # fmt: skip
    code, rows = _run(path)
    assert code == 0 and [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["answer"] and "error" not in rows[0]
    with path.open("a") as f:
        f.write(json.dumps({"id": "a", "question": GOOD}) + "\n")
    code, rows = _run(path)
    assert code == 1 and len(rows) == 3
    assert rows[2]["id"] == "a" and rows[2]["error"] == "duplicate id 'a' (first on line 1)"


def test_eval_reader_splits_on_newlines_only_and_names_bad_lines(tmp_path: Path) -> None:
    """The eval reader keeps U+2028/U+0085 inside a question, reads a string `answers` as one
    answer, and names the file and line of a bad one."""
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "x", "question": "a\u2028b\u0085c", "answers": "2015"}) + "\n"
    )
    [q] = read_questions(path)
    assert q.question == "a\u2028b\u0085c" and q.answers == ("2015",)
    with path.open("a") as f:
        f.write('{"id": "y", "question": null}\n')
    with pytest.raises(ConfigError, match=r"q\.jsonl:2: 'question' must be a string, got null"):
        list(read_questions(path))
