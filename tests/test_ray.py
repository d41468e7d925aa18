"""Embedding on Ray (``index --ray``) against a local Ray started here: same index as a
local build, nothing of Ray imported without the flag, one-line errors."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.qa import QA
from retrieval.cli.main import main
from retrieval.errors import IndexMissingError
from retrieval.index.build import build_index
from retrieval.settings import Settings
from retrieval.store.factory import open_store

REPO = Path(__file__).resolve().parents[1]
MODEL_CACHE = REPO / "var" / "models"  # as in conftest: exported ONNX files kept between runs
CORPUS = REPO / "tests" / "data" / "corpus"
# Questions the small corpus answers (not abstentions), so that equal answers mean something.
QUESTIONS = ("How long is the Kestrel Bridge?", "How many farms did the heavy rain flood?")


def _index(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", "index", "--no-progress", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSQA_MODEL_CACHE", str(MODEL_CACHE))
    monkeypatch.delenv("NEWSQA_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("NEWSQA_STORE", raising=False)


def test_index_without_ray_flag_imports_nothing_of_ray(tmp_path: Path) -> None:
    """A local build leaves ``ray`` out of sys.modules (checked in a fresh interpreter)."""
    code = (
        "import sys; from retrieval.cli.main import main; "
        f"rc = main(['--env-file', '/nonexistent/.env', 'index', '--no-progress', "
        f"'--corpus', {str(CORPUS)!r}, '--index', {str(tmp_path / 'idx')!r}]); "
        "print(rc, sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    env = {"PYTHONPATH": str(REPO), "NEWSQA_MODEL_CACHE": str(MODEL_CACHE), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr[-2000:]


def test_unreachable_ray_address_is_one_line(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ray address nobody listens on fails at once with one line, writing no index."""
    code, _ = _index(["--corpus", str(CORPUS), "--index", str(tmp_path / "idx"), "--ray",
                      "127.0.0.1:9"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "cannot reach the Ray cluster at '127.0.0.1:9'" in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "Ray" in line]) == 1
    with pytest.raises(IndexMissingError):
        open_store(Settings(index_dir=tmp_path / "idx")).load()


def _start_local_ray(ray, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Start a 2-CPU local Ray, once more if one of its processes missed Ray's 30 s startup
    windows (it does on a machine busy with other builds); the GCS port's window is set
    longer."""
    monkeypatch.setenv("RAY_gcs_server_port_wait_time_s", "120")
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            return
        except Exception as exc:
            if attempt == 2 or "timed out" not in str(exc).lower():
                raise
            ray.shutdown()


def test_ray_build_equals_local_build(
    env: None, tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Embedding on a local 2-CPU Ray writes the vectors and manifest of a local build,
    and the two indexes give the same answers."""
    ray = pytest.importorskip("ray")
    before = signal.getsignal(signal.SIGTERM)  # ray.init installs its own handler
    try:
        _start_local_ray(ray, monkeypatch)
        code, text = _index(["--corpus", str(CORPUS), "--index", str(tmp_path / "ray"), "--ray"])
    finally:
        ray.shutdown()
        signal.signal(signal.SIGTERM, before)
    assert code == 0, text
    local = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "local", model_cache=MODEL_CACHE)
    build_index(local, encoder=model)
    a = open_store(local).load()
    b = open_store(Settings(index_dir=tmp_path / "ray", model_cache=MODEL_CACHE)).load()
    ma, mb = a.manifest, b.manifest
    assert ma.chunks == mb.chunks > 5
    skip = {"created_at", "version", "files"}
    assert {k: v for k, v in vars(ma).items() if k not in skip} == {
        k: v for k, v in vars(mb).items() if k not in skip
    }
    assert [c.text for c in a.all_chunks()] == [c.text for c in b.all_chunks()]
    rows = list(range(ma.chunks))
    va, vb = a.chunk_vectors(rows), b.chunk_vectors(rows)
    assert np.abs(va - vb).max() < 1e-4
    n_sent = sum(len(c.sentences) for c in a.all_chunks())
    sa = a.sentence_vectors_at(list(range(n_sent)))
    sb = b.sentence_vectors_at(list(range(n_sent)))
    assert sa.shape == sb.shape and np.abs(sa - sb).max() < 1e-4
    qa_local, qa_ray = QA.open(local), QA.open(replace(local, index_dir=tmp_path / "ray"))
    for question in QUESTIONS:
        x, y = qa_local.answer(question), qa_ray.answer(question)
        assert x.text and (x.text, x.sources) == (y.text, y.sources), question


def test_ray_missing_says_install_the_extra(tmp_path: Path) -> None:
    """Without Ray installed, ``index --ray`` fails with one line naming newsqa[ray]."""
    code = (
        "import sys; sys.modules['ray'] = None; from retrieval.cli.main import main; "
        f"sys.exit(main(['--env-file', '/nonexistent/.env', 'index', '--no-progress', "
        f"'--corpus', {str(CORPUS)!r}, '--index', {str(tmp_path / 'idx')!r}, '--ray']))"
    )
    env = {"PYTHONPATH": str(REPO), "NEWSQA_MODEL_CACHE": str(MODEL_CACHE), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "install newsqa[ray]" in done.stderr.strip().splitlines()[-1]
