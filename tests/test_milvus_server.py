"""Two bot replicas sharing one index in a Milvus server (`milvus-lite server` on 127.0.0.1).

Skipped only when the `milvus` extra (pymilvus, milvus-lite) is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from bot.answering import APOLOGY, reply
from retrieval.answer.qa import QA
from retrieval.answer.render import format_answer
from retrieval.encoder.base import Encoder
from retrieval.errors import StoreUnreachableError
from retrieval.index.build import build_index
from retrieval.index.watch import IndexWatcher
from retrieval.settings import Settings
from tests.test_reindex import NEW_ID, NEW_QUESTION, NEW_STORY, OLD_QUESTIONS

REPO = Path(__file__).resolve().parents[1]
MILVUS_LITE = Path(sys.executable).parent / "milvus-lite"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Milvus Lite gRPC server on 127.0.0.1, stopped after the test."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(MILVUS_LITE), "server", "--data-dir", str(tmp_path / "milvus"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"milvus-lite server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _bot(env: dict[str, str], questions: Path) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))}
    with open(questions) as stdin:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "--env-file", os.devnull],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=base | env, cwd=REPO, text=True,
        )  # fmt: skip


def test_two_bot_processes_share_one_milvus_index(
    server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path, model: Encoder
) -> None:
    """Two `python -m bot` consoles on one Milvus server answer alike, as the engine does;
    a new version published there is picked up by a watching replica; when the server
    dies, a replica apologises at once and its watcher keeps the loaded version."""
    server, milvus = server
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = replace(Settings(), corpus_dir=corpus, index_dir=tmp_path / "none", store=server)
    build_index(settings, encoder=model)

    env = {"NEWSQA_STORE": server, "NEWSQA_INDEX_DIR": str(tmp_path / "none"),
           "NEWSQA_CORPUS_DIR": str(tmp_path / "no-corpus")}  # fmt: skip
    questions = tmp_path / "questions.txt"
    questions.write_text("".join(q + "\n" for q in OLD_QUESTIONS))
    replicas = [_bot(env, questions), _bot(env, questions)]  # both run at once
    outputs = []
    for proc in replicas:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        outputs.append(out)
    assert not (tmp_path / "none").exists()  # served from Milvus, not from a folder

    qa = QA.open(settings, encoder=model)
    now = datetime.now(UTC)
    expected = "".join(format_answer(qa.answer(q, asked_at=now)) + "\n\n" for q in OLD_QUESTIONS)
    assert outputs[0] == outputs[1] == expected
    assert "Grushko" in expected

    (corpus / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    report = build_index(settings, encoder=model)
    assert report.added == 1
    assert IndexWatcher(qa).poll() and qa.version == report.version
    assert "violet" in (qa.answer(NEW_QUESTION).text or "")

    milvus.kill()
    milvus.wait()
    started = time.monotonic()
    sent = reply(qa, NEW_QUESTION)
    assert sent.failed and sent.text == APOLOGY and time.monotonic() - started < 15
    with pytest.raises(StoreUnreachableError, match=r"cannot reach Milvus at http://127\.0\.0\.1"):
        qa.answer(NEW_QUESTION)
    assert not IndexWatcher(qa).poll() and qa.version == report.version
