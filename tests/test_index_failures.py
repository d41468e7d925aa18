"""Bad index states and failing disks: an index path that is a file, a binary or folder
CURRENT, a full or read-only disk while indexing, Discord unreachable at startup and a
batch date at the edge of the calendar each end in one line, never a traceback, and
leave the published version as it was."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.cli.main import main
from retrieval.encoder.base import Encoder
from retrieval.errors import IndexWriteError
from retrieval.index.build import build_index
from retrieval.settings import Settings
from retrieval.store.faiss import current_version, load_index

REPO = Path(__file__).resolve().parents[1]
MODEL_CACHE = REPO / "var" / "models"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", *argv], out=out)
    return code, out.getvalue()


def one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], err
    return lines[0]


@pytest.fixture()
def index_copy(tmp_path: Path, default_index: Settings) -> Settings:
    """A private copy of the default index (tests break it)."""
    shutil.copytree(default_index.index_dir, tmp_path / "index")
    return replace(default_index, index_dir=tmp_path / "index")


def test_index_path_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Searching or indexing at a path that is a file: one line, exit 1."""
    afile = tmp_path / "index"
    afile.write_text("not an index")
    assert run("search", "--index", str(afile), "NATO")[0] == 1
    one_line_error(capsys, str(afile), "is a file")
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(afile))
    assert run("index", "--corpus", str(REPO / "corpus"), "--no-progress")[0] == 1
    one_line_error(capsys, str(afile), "not a folder")
    assert afile.read_text() == "not an index"


def test_binary_current_is_refused_then_repaired_by_a_build(
    index_copy: Settings, model: Encoder, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CURRENT holding binary junk is refused in one line; `index` publishes over it."""
    pointer = index_copy.index_dir / "CURRENT"
    pointer.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert run("search", "--index", str(index_copy.index_dir), "NATO")[0] == 1
    one_line_error(capsys, "CURRENT does not name a version")
    pointer.write_bytes(b"../../etc")
    assert run("search", "--index", str(index_copy.index_dir), "NATO")[0] == 1
    one_line_error(capsys, "CURRENT does not name a version")
    report = build_index(index_copy, encoder=model)
    assert current_version(index_copy.index_dir) == report.version
    assert len(load_index(index_copy.index_dir).docs) == 5 + 9  # with the Related items


def test_current_that_is_a_folder(
    index_copy: Settings, model: Encoder, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder named CURRENT: search and index each say so in one line; the build leaves
    no half-written version behind."""
    pointer = index_copy.index_dir / "CURRENT"
    pointer.unlink()
    pointer.mkdir()
    assert run("search", "--index", str(index_copy.index_dir), "NATO")[0] == 1
    one_line_error(capsys, "CURRENT is a folder")
    before = sorted(p.name for p in (index_copy.index_dir / "versions").iterdir())
    with pytest.raises(IndexWriteError, match="CURRENT is a folder") as err:
        build_index(index_copy, encoder=model, full=True)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in (index_copy.index_dir / "versions").iterdir()) == before


def test_versions_that_is_a_file(index_copy: Settings, model: Encoder) -> None:
    """A file where the versions folder should be: one line naming it; CURRENT unchanged."""
    before = current_version(index_copy.index_dir)
    versions = index_copy.index_dir / "versions"
    shutil.rmtree(versions)
    versions.write_text("in the way")
    with pytest.raises(IndexWriteError, match="versions") as err:
        build_index(index_copy, encoder=model, full=True)
    assert "\n" not in str(err.value)
    assert current_version(index_copy.index_dir) == before
    assert versions.read_text() == "in the way"


@contextlib.contextmanager
def file_size_limit() -> Iterator[None]:
    """Writes past 4 KiB fail with EFBIG, as on a full disk (SIGXFSZ ignored so the write
    returns an error instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def test_full_disk_while_publishing_keeps_the_last_version(
    index_copy: Settings, model: Encoder
) -> None:
    """A write that fails midway through a build: one-line IndexWriteError, no
    versions/*.tmp left, CURRENT unchanged and still loadable."""
    versions = index_copy.index_dir / "versions"
    before = current_version(index_copy.index_dir)
    names = sorted(p.name for p in versions.iterdir())
    with pytest.raises(IndexWriteError, match="cannot write the index") as err, file_size_limit():
        build_index(index_copy, encoder=model, full=True)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in versions.iterdir()) == names
    assert not list(index_copy.index_dir.glob("CURRENT.*"))
    assert current_version(index_copy.index_dir) == before
    assert len(load_index(index_copy.index_dir).docs) == 5 + 9  # with the Related items


def _can_mount() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
        capture_output=True,
    )  # fmt: skip
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs unshare and a tmpfs mount")
def test_full_and_read_only_disks_from_the_command_line(tmp_path: Path) -> None:
    """`index` on a real full tmpfs and on a read-only one: exit 1, one line, no *.tmp."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "DISCORD_"))}
    env |= {
        "PYTHONPATH": str(REPO), "NEWSQA_MODEL_CACHE": str(MODEL_CACHE),
        "NEWSQA_INDEX_DIR": str(mnt / "index"), "NEWSQA_CORPUS_DIR": str(REPO / "corpus"),
    }  # fmt: skip
    index = f"{sys.executable} -m retrieval --env-file /nonexistent index --no-progress"
    script = f"""
        set -u
        mount -t tmpfs -o size=24k tmpfs {mnt} || exit 99
        {index} 2> {tmp_path}/full.err; echo "full=$?"
        ls -A {mnt}/index/versions
        umount {mnt}; mount -t tmpfs -o size=64m tmpfs {mnt}
        {index} > /dev/null 2>&1; echo "first=$?"
        mount -o remount,ro {mnt}
        {index} --full 2> {tmp_path}/ro.err; echo "ro=$?"
        cat {mnt}/index/CURRENT
    """
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    out = done.stdout.split()
    assert out[0] == "full=1", done.stdout + done.stderr
    assert out[1] == "first=0", done.stdout + done.stderr  # no version, no *.tmp listed
    assert out[2] == "ro=1" and len(out) == 4
    for name, why in (("full", "No space left on device"), ("ro", "Read-only file system")):
        err = (tmp_path / f"{name}.err").read_text()
        assert "Traceback" not in err
        [line] = [x for x in err.splitlines() if x.startswith("error:")]
        assert "cannot write the index" in line and why in line, err


def test_discord_unreachable_at_startup(default_index: Settings) -> None:
    """With nothing listening at the Discord API address the bot exits 1 with one line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "DISCORD_"))}
    env |= {
        "PYTHONPATH": str(REPO), "NEWSQA_MODEL_CACHE": str(MODEL_CACHE),
        "NEWSQA_INDEX_DIR": str(default_index.index_dir), "NEWSQA_WATCH_SECONDS": "0",
        "DISCORD_TOKEN": "x" * 59, "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"cannot reach Discord at http://127.0.0.1:{port}" in errors[0]


def test_batch_dates_at_the_edges_of_the_calendar(
    tmp_path: Path, default_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'yesterday', 'this week' and 'last year' asked on 0001-01-01 or 9999-12-31 are
    answered (or abstained on), not an OverflowError."""
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(default_index.index_dir))
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": f"{day}-{n}", "question": q, "date": day}
        for day in ("0001-01-01", "0001-01-02", "9999-12-31")
        for n, q in enumerate([
            "What did NATO say yesterday?", "Who met Russia this week?",
            "What happened last year?", "What happened last month?",
        ])
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = run("ask", "--questions", str(path), "--json")
    got = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(got) == len(rows)
    assert all("error" not in g for g in got)
