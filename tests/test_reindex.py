"""Reindexing a live corpus: incremental builds embed only what changed, a crashed or
concurrent reindex never damages the published index, and long-lived readers swap in a
new version between questions."""

from __future__ import annotations

import _thread
import contextlib
import io
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.qa import QA
from retrieval.cli.main import main
from retrieval.encoder.base import Encoder
from retrieval.index.build import BuildReport, build_index
from retrieval.index.watch import CorpusWatcher, IndexWatcher, snapshot
from retrieval.settings import Settings
from retrieval.store.faiss import current_version, load_index

REPO = Path(__file__).resolve().parents[1]

NEW_ID = "900_quillmere.txt"
NEW_STORY = """Quillmere harbour council votes to paint the lighthouse violet

QUILLMERE - Harbour Gazette
May 3, 2016

The harbour council of Quillmere voted on Tuesday to repaint the town's old lighthouse in \
violet, ending a two-year dispute among fishermen, shopkeepers and the tourism board. Council \
chair Odile Varnhagen said the vote passed by seven votes to two.

The lighthouse, built in 1887, has been white since it was first lit. Supporters of the change \
said a violet tower would be easier to spot from the sea in fog and would draw visitors to the \
harbour. Opponents argued that the cost, estimated at 48,000 euros, should instead go to \
repairing the breakwater.

Work on the lighthouse is due to begin in June and should take about six weeks. The paint will \
be supplied by a family firm from the neighbouring village of Sterrow, which won the tender \
ahead of three larger companies.

The tourism board said it expects the number of summer visitors to rise by a fifth once the \
work is finished. Fishermen's association secretary Baptiste Ormond said his members had \
accepted the decision but would watch closely whether the breakwater repairs were delayed again.

The council also approved a new timetable for the harbour ferry to the islands of Pell and \
Vorrin, which will run every ninety minutes from the first of July, and agreed to extend the \
opening hours of the fish market on Saturdays.
"""
NEW_QUESTION = "What colour will the Quillmere lighthouse be painted?"
OLD_QUESTIONS = ("When did NATO reopen talks with Russia?", "Who is Moscow's envoy to NATO?")


@pytest.fixture()
def base(tmp_path: Path, model: Encoder) -> Settings:
    """A copy of the bundled corpus in tmp_path, indexed."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = replace(Settings(), corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, encoder=model)
    return settings


def open_qa(settings: Settings, model: Encoder) -> QA:
    return QA.open(settings, encoder=model)


def top_doc(qa: QA, question: str) -> str:
    return qa.search(question, 3)[0].doc_id


def doc_chunks(settings: Settings, doc_id: str) -> int:
    return sum(1 for c in load_index(settings.index_dir).chunks if c.doc_id == doc_id)


def vectors_by_chunk(settings: Settings) -> dict[str, np.ndarray]:
    index = load_index(settings.index_dir)
    return {c.chunk_id: index.vectors[i] for i, c in enumerate(index.chunks)}


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent/.env", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, base: Settings) -> Settings:
    for name in ("NEWSQA_CHUNK_TOKENS", "NEWSQA_CHUNK_OVERLAP", "NEWSQA_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(base.index_dir))
    monkeypatch.setenv("NEWSQA_CORPUS_DIR", str(base.corpus_dir))
    return base


# --- incremental builds --------------------------------------------------------------


def test_add_edit_delete_embed_only_the_changed_document(base: Settings, model: Encoder) -> None:
    """Adding, editing and deleting a file each show in search, and only its chunks are embedded."""
    assert top_doc(open_qa(base, model), NEW_QUESTION) != NEW_ID
    before = vectors_by_chunk(base)

    (base.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    added = build_index(base, encoder=model)
    assert (added.added, added.changed, added.removed, added.unchanged) == (1, 0, 0, 14)
    assert added.chunks_embedded == doc_chunks(base, NEW_ID) >= 2
    assert not added.full and added.reason == "incremental"
    qa = open_qa(base, model)
    assert top_doc(qa, NEW_QUESTION) == NEW_ID
    assert "violet" in qa.answer(NEW_QUESTION).text
    after = vectors_by_chunk(base)
    assert before.keys() < after.keys()
    for chunk_id, vector in before.items():  # unchanged chunks keep their very vectors
        assert np.array_equal(after[chunk_id], vector)

    (base.corpus_dir / NEW_ID).write_text(NEW_STORY.replace("violet", "saffron"), encoding="utf-8")
    edited = build_index(base, encoder=model)
    assert (edited.added, edited.changed, edited.removed, edited.unchanged) == (0, 1, 0, 14)
    assert edited.chunks_embedded == doc_chunks(base, NEW_ID)
    hits = open_qa(base, model).search(NEW_QUESTION, 3)
    assert hits[0].doc_id == NEW_ID
    assert "saffron" in hits[0].text and not any("violet" in h.text for h in hits)

    (base.corpus_dir / NEW_ID).unlink()
    deleted = build_index(base, encoder=model)
    assert (deleted.added, deleted.changed, deleted.removed, deleted.unchanged) == (0, 0, 1, 14)
    assert deleted.chunks_embedded == 0 and doc_chunks(base, NEW_ID) == 0
    qa = open_qa(base, model)
    assert all(h.doc_id != NEW_ID for h in qa.search(NEW_QUESTION, 10))
    assert NEW_ID not in qa.retriever.index.docs
    assert vectors_by_chunk(base).keys() == before.keys()


def test_settings_change_forces_a_full_rebuild_with_the_reason(
    base: Settings, model: Encoder
) -> None:
    """Changing chunk size or model name re-embeds everything and says what changed."""
    resized = build_index(replace(base, chunk_tokens=120, chunk_overlap=30), encoder=model)
    assert resized.full and resized.chunks_embedded == resized.chunks
    assert "chunk_tokens 180 -> 120" in resized.reason
    assert "chunk_overlap 40 -> 30" in resized.reason
    assert load_index(base.index_dir).manifest.chunk_tokens == 120

    renamed = replace(base, model="sentence-transformers/all-MiniLM-L6-v2", chunk_tokens=120,
                      chunk_overlap=30)  # fmt: skip
    report = build_index(renamed, encoder=model)
    assert report.full and report.chunks_embedded == report.chunks
    assert report.reason.startswith("settings changed since the last build: ")
    assert "model 'all-MiniLM-L6-v2' -> 'sentence-transformers/all-MiniLM-L6-v2'" in report.reason
    assert "chunk" not in report.reason
    again = build_index(renamed, encoder=model)
    assert not again.full and again.chunks_embedded == 0


def test_cli_json_counts_and_full_rebuild_message(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`index --json` is one object of counts; a chunk-size change prints why it is full."""
    (cli_env.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    code, out = run_cli("index", "--json")
    assert code == 0
    [line] = out.splitlines()
    report = json.loads(line)
    assert {"added", "changed", "removed", "unchanged", "chunks_embedded", "seconds"} <= set(report)
    counts = (report["added"], report["changed"], report["removed"], report["unchanged"])
    assert counts == (1, 0, 0, 14)
    assert report["chunks_embedded"] == doc_chunks(cli_env, NEW_ID)
    assert 0 < report["seconds"] < 60
    assert report["version"] == current_version(cli_env.index_dir)

    monkeypatch.setenv("NEWSQA_CHUNK_TOKENS", "120")
    code, out = run_cli("index", "--no-progress")
    assert code == 0
    assert "full rebuild (settings changed since the last build: chunk_tokens 180 -> 120)" in out
    assert "15 added" in out  # 6 files, 9 Related items
    assert any("full rebuild: settings changed" in r.message for r in caplog.records)
    code, out = run_cli("index", "--full", "--no-progress")
    assert code == 0 and "full rebuild requested: 15 added" in out


# --- concurrent writers --------------------------------------------------------------


def test_second_reindex_is_refused_while_one_runs(
    base: Settings, model: Encoder, capsys: pytest.CaptureFixture[str]
) -> None:
    """While a reindex holds the index, `index` exits 1 with one line; the first completes."""
    (base.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    embedding, go_on = threading.Event(), threading.Event()

    def slow_model() -> Encoder:
        embedding.set()  # called with the writer lock held, when embedding starts
        assert go_on.wait(30)
        return model

    reports: list[BuildReport] = []
    first = threading.Thread(
        target=lambda: reports.append(build_index(base, encoder_loader=slow_model))
    )
    first.start()
    try:
        assert embedding.wait(30)
        code, out = run_cli(
            "index", "--corpus", str(base.corpus_dir), "--index", str(base.index_dir)
        )
    finally:
        go_on.set()
        first.join(30)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and out == ""
    assert err[-1] == (
        f"error: another process is writing the index at {base.index_dir}; try again when it ends"
    )
    [report] = reports
    assert report.added == 1
    assert load_index(base.index_dir).manifest.version == report.version
    assert not [p for p in (base.index_dir / "versions").iterdir() if p.name.endswith(".tmp")]
    assert top_doc(open_qa(base, model), NEW_QUESTION) == NEW_ID


# --- crashes -------------------------------------------------------------------------

# Runs `python -m retrieval` main() in a fresh interpreter that SIGKILLs itself at a chosen
# point of publishing: deterministic crash points without a hook in the library.
CRASHING_CHILD = r"""
import os, signal, sys
import retrieval.store.faiss as index
from retrieval.cli.main import main

point, argv = sys.argv[1], sys.argv[2:]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
write_file, rename = index._write_file, os.replace

def half_written(path, data):
    if path.name == "index.faiss":  # vectors.npy is already written
        write_file(path, data[: len(data) // 2])
        die()
    write_file(path, data)

def switch(src, dst):
    if str(dst).endswith("CURRENT") and point == "before-switch":
        die()
    rename(src, dst)
    if str(dst).endswith("CURRENT"):
        die()

if point == "writing-files":
    index._write_file = half_written
else:
    os.replace = switch
sys.exit(main(argv))
"""


@dataclass
class Crash:
    name: str
    settings: Settings
    extra_docs: int
    proc: subprocess.Popen[str] | None = None
    saw: str = ""


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}


def _spawn(crash: Crash) -> subprocess.Popen[str]:
    s = crash.settings
    argv = ["--env-file", "/nonexistent/.env", "index", "--no-progress",
            "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]  # fmt: skip
    if crash.name.startswith("killed-"):
        cmd = [sys.executable, "-m", "retrieval", *argv]
    else:
        cmd = [sys.executable, "-c", CRASHING_CHILD, crash.name, *argv]
    return subprocess.Popen(cmd, cwd=REPO, env=_child_env(), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def _kill_during_embedding(crash: Crash, old_version: str | None) -> None:
    """SIGKILL a moment after the child logs that its model is loaded (it then embeds)."""
    assert crash.proc is not None and crash.proc.stderr is not None
    for line in crash.proc.stderr:
        if "loaded model" in line:
            time.sleep(0.3)
            crash.proc.send_signal(signal.SIGKILL)
            versions = crash.settings.index_dir / "versions"
            publishing = [p for p in versions.iterdir() if p.name != old_version]
            crash.saw = "publishing" if publishing else "embedding"
            break
    crash.proc.stderr.read()


def _kill_when_a_version_is_being_written(crash: Crash) -> None:
    """SIGKILL as soon as a .tmp version folder shows (a race: it may also land later)."""
    assert crash.proc is not None and crash.proc.stderr is not None
    threading.Thread(target=crash.proc.stderr.read, daemon=True).start()
    versions = crash.settings.index_dir / "versions"
    while crash.proc.poll() is None:
        if any(p.name.endswith(".tmp") for p in versions.iterdir()):
            crash.proc.send_signal(signal.SIGKILL)
            crash.saw = "tmp folder"
            break
        time.sleep(0.0005)


def _rtqa_lines(shared: Path, start: int, n: int) -> str:
    with open(shared / "data/eval/rtqa/corpus.jsonl", encoding="utf-8") as f:
        return "".join(itertools.islice(f, start, start + n))


def test_sigkill_at_any_point_leaves_the_previous_index_serving(
    tmp_path: Path, model: Encoder, shared: Path
) -> None:
    """A real `index` process killed at five points: the old index answers exactly as before
    (or, killed after the switch, the new one does), and the next reindex completes and
    clears what the crash left."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "rtqa.jsonl").write_text(_rtqa_lines(shared, 0, 20), encoding="utf-8")
    origin = replace(Settings(), corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(origin, encoder=model)
    old_version = current_version(origin.index_dir)
    qa = open_qa(origin, model)
    baseline = {
        q: [(h.chunk_id, round(h.score, 5)) for h in qa.search(q, 5)] for q in OLD_QUESTIONS
    }
    answers = {q: qa.answer(q).text for q in OLD_QUESTIONS}

    crashes = []
    points = {"killed-while-embedding": 400, "killed-at-tmp-folder": 1, "writing-files": 1,
              "before-switch": 1, "after-switch": 1}  # fmt: skip
    for name, extra in points.items():
        settings = replace(origin, corpus_dir=tmp_path / name / "corpus",
                           index_dir=tmp_path / name / "index")  # fmt: skip
        shutil.copytree(origin.corpus_dir, settings.corpus_dir)
        shutil.copytree(origin.index_dir, settings.index_dir)
        (settings.corpus_dir / "more.jsonl").write_text(_rtqa_lines(shared, 20, extra), "utf-8")
        crashes.append(Crash(name, settings, extra))
    watchers = []
    for crash in crashes:  # all at once: each pays the interpreter's start-up, in parallel
        crash.proc = _spawn(crash)
        if crash.name == "killed-while-embedding":
            watchers.append(
                threading.Thread(target=_kill_during_embedding, args=(crash, old_version))
            )
        elif crash.name == "killed-at-tmp-folder":
            watchers.append(threading.Thread(target=_kill_when_a_version_is_being_written,
                                             args=(crash,)))  # fmt: skip
        else:
            watchers.append(threading.Thread(target=crash.proc.communicate))
        watchers[-1].start()
    for thread, crash in zip(watchers, crashes, strict=True):
        thread.join(120)
        assert crash.proc is not None
        code = crash.proc.wait(120)
        if crash.name == "killed-at-tmp-folder":  # a race the child may win by finishing
            assert code in (0, -signal.SIGKILL)
        else:
            assert code == -signal.SIGKILL, crash.name

    for crash in crashes:
        s = crash.settings
        switched = current_version(s.index_dir) != old_version
        if crash.name == "after-switch":
            assert switched
        elif crash.name != "killed-at-tmp-folder":  # that one may land after the switch
            assert not switched, crash.name
        left = sorted(p.name for p in (s.index_dir / "versions").iterdir())
        if crash.name == "killed-while-embedding":
            assert crash.saw == "embedding", "embedding ended within 0.3 s: add documents"
            assert left == [old_version]
        if crash.name == "writing-files":
            assert any(n.endswith(".tmp") for n in left)  # the half-written version
        if crash.name == "before-switch":  # a finished version nobody points to
            assert len(left) == 2 and list(s.index_dir.glob("CURRENT.*.tmp"))
        debris = set(left) - {old_version, current_version(s.index_dir)}

        qa = open_qa(s, model)  # loads and answers: as before, unless the switch happened
        if not switched:
            for q in OLD_QUESTIONS:
                assert [(h.chunk_id, round(h.score, 5)) for h in qa.search(q, 5)] == baseline[q]
                assert qa.answer(q).text == answers[q]
        assert len(qa.retriever.index.docs) == 34 + (crash.extra_docs if switched else 0)

        report = build_index(s, encoder=model)  # the next reindex completes
        assert report.added == (0 if switched else crash.extra_docs), crash.name
        assert report.unchanged == 34 + (crash.extra_docs if switched else 0)
        current = current_version(s.index_dir)
        left = sorted(p.name for p in (s.index_dir / "versions").iterdir())
        assert current in left and len(left) <= 2 and not debris & set(left)
        assert not list(s.index_dir.glob("CURRENT.*.tmp"))
        assert len(load_index(s.index_dir).docs) == 34 + crash.extra_docs


# --- live swaps ----------------------------------------------------------------------


def test_stream_of_questions_swaps_to_a_new_version_without_failures(
    base: Settings, model: Encoder
) -> None:
    """Four threads ask nonstop while a new version is published and the watcher swaps it in:
    no call fails, and every question asked after the swap sees the new document."""
    qa = open_qa(base, model)
    old_version = qa.version
    stop = threading.Event()
    calls: list[tuple[float, float, str]] = []  # (started, ended, top document)
    failures: list[BaseException] = []

    def ask(n: int) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                qa.answer(OLD_QUESTIONS[n % 2])
                top = qa.search(NEW_QUESTION, 3)[0].doc_id
            except BaseException as exc:  # any failure at all is what this test looks for
                failures.append(exc)
                return
            calls.append((started, time.monotonic(), top))

    swaps: list[str] = []
    watcher = IndexWatcher(qa, interval=0.05, on_reload=swaps.append).start()
    askers = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in askers:
        t.start()
    try:
        time.sleep(0.5)
        publish_started = time.monotonic()
        (base.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
        report = build_index(base, encoder=model)
        deadline = time.monotonic() + 20
        while qa.version != report.version and time.monotonic() < deadline:
            time.sleep(0.01)
        swapped_at = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in askers:
            t.join(30)
        watcher.stop()
    assert not watcher.running
    assert failures == []
    assert qa.version == report.version != old_version and swaps == [report.version]
    before = [top for started, ended, top in calls if ended < publish_started]
    after = [top for started, ended, top in calls if started > swapped_at]
    assert before and NEW_ID not in before
    assert after and set(after) == {NEW_ID}


def test_watcher_survives_a_broken_version_and_recovers(
    base: Settings, model: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    """A pointer to a missing version is logged once and the old one keeps answering; the
    next good version is swapped in."""
    qa = open_qa(base, model)
    good = qa.version
    pointer = base.index_dir / "CURRENT"
    watcher = IndexWatcher(qa, interval=0.05)
    assert watcher.poll() is False
    pointer.write_text("no-such-version\n")
    with caplog.at_level(logging.ERROR, logger="retrieval.index.watch"):
        assert watcher.poll() is False and watcher.poll() is False
    errors = [r for r in caplog.records if r.name == "retrieval.index.watch"]
    assert len(errors) == 1 and "no-such-version" in errors[0].getMessage()
    assert qa.version == good and qa.search(OLD_QUESTIONS[0], 1)

    pointer.write_text(good + "\n")
    (base.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    report = build_index(base, encoder=model)
    with watcher:
        deadline = time.monotonic() + 20
        while qa.version != report.version and time.monotonic() < deadline:
            time.sleep(0.01)
    assert qa.version == report.version
    assert top_doc(qa, NEW_QUESTION) == NEW_ID


# --- watching the corpus -------------------------------------------------------------


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture()
def corpus_watcher(
    base: Settings, model: Encoder
) -> Iterator[tuple[CorpusWatcher, list[BuildReport]]]:
    reports: list[BuildReport] = []
    watcher = CorpusWatcher(
        base, interval=0.1, debounce=0.5, encoder=model, on_build=reports.append
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    yield watcher, reports
    stop.set()
    thread.join(30)
    assert not thread.is_alive()


def test_corpus_watcher_rebuilds_once_per_burst_of_changes(
    base: Settings, corpus_watcher: tuple[CorpusWatcher, list[BuildReport]]
) -> None:
    """Files written together give one incremental build; a deletion gives another."""
    watcher, reports = corpus_watcher
    _wait_for(lambda: len(reports) == 1)  # the build at start finds nothing to do
    assert (reports[0].unchanged, reports[0].chunks_embedded) == (14, 0)

    (base.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    time.sleep(0.1)  # well within the debounce: both files make one build
    (base.corpus_dir / "901_copy.txt").write_text(
        NEW_STORY.replace("Quillmere", "Ostrava"), "utf-8"
    )
    (base.corpus_dir / ".901_copy.txt.swp").write_text("editor junk")  # ignored
    _wait_for(lambda: len(reports) == 2)
    assert (reports[1].added, reports[1].unchanged) == (2, 14)
    assert ".901_copy.txt.swp" not in snapshot(base.corpus_dir)

    (base.corpus_dir / "901_copy.txt").unlink()
    _wait_for(lambda: len(reports) == 3)
    assert (reports[2].removed, reports[2].chunks_embedded) == (1, 0)
    time.sleep(0.5)
    assert len(reports) == 3 == watcher.builds  # nothing changed since: no more builds
    assert load_index(base.index_dir).manifest.version == reports[2].version


def test_corpus_watcher_ignores_files_the_reader_ignores(
    base: Settings, corpus_watcher: tuple[CorpusWatcher, list[BuildReport]]
) -> None:
    """A README, a hidden file or a hidden folder changing starts no build; a story does."""
    watcher, reports = corpus_watcher
    _wait_for(lambda: len(reports) == 1)
    before = snapshot(base.corpus_dir)
    (base.corpus_dir / "README.md").write_text("# About this corpus\n", encoding="utf-8")
    (base.corpus_dir / "notes").mkdir()
    (base.corpus_dir / "notes" / "readme.txt").write_text("where the files come from")
    (base.corpus_dir / ".git").mkdir()
    (base.corpus_dir / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (base.corpus_dir / ".draft.txt").write_text(NEW_STORY, encoding="utf-8")
    assert snapshot(base.corpus_dir) == before
    time.sleep(1.0)  # ten polls and two debounce periods
    assert len(reports) == 1 == watcher.builds

    (base.corpus_dir / "notes" / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
    _wait_for(lambda: len(reports) == 2)
    assert (reports[1].added, reports[1].unchanged) == (1, reports[0].unchanged)


class _Output(io.StringIO):
    """What the CLI prints, readable from another thread while it runs."""

    def lines(self) -> list[str]:
        return self.getvalue().splitlines()


def test_cli_watch_prints_a_line_per_build_and_stops_on_sigterm_and_ctrl_c(
    cli_env: Settings,
) -> None:
    """`index --watch` prints one line per build; SIGTERM and Ctrl-C both end it with 0."""
    out = _Output()

    def drive() -> None:
        try:
            _wait_for(lambda: len(out.lines()) == 1)
            (cli_env.corpus_dir / NEW_ID).write_text(NEW_STORY, encoding="utf-8")
            _wait_for(lambda: len(out.lines()) == 2)
        finally:
            # Only while --watch has its handler in: the default one would end pytest.
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive)
    driver.start()
    code = main(
        ["--env-file", "/nonexistent/.env", "index", "--watch", "--interval", "0.2"], out=out
    )
    driver.join(30)
    assert code == 0
    first, second = out.lines()
    assert "incremental: 0 added, 0 changed, 0 removed, 14 unchanged documents" in first
    assert f"version {current_version(cli_env.index_dir)}: incremental: 1 added" in second
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    out = _Output()
    returned = threading.Event()
    presses: list[str] = []

    def ctrl_c() -> None:
        # Press Ctrl-C once the first build is reported, again should one be lost (never
        # hang the suite); after 30 s stop the watcher with SIGTERM so that the test fails.
        # Press anyway after a time-out: the assertions on the output say what went wrong.
        with contextlib.suppress(AssertionError):
            _wait_for(lambda: len(out.lines()) >= 1)
        for _ in range(6):
            presses.append("ctrl-c")
            _thread.interrupt_main()
            if returned.wait(5):
                return
        presses.append("sigterm")
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:  # --watch's own
            os.kill(os.getpid(), signal.SIGTERM)

    # Ctrl-C as at a terminal: a runner that starts the suite in the background may have
    # it ignored (SIG_IGN is inherited, and Python then installs no handler of its own).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    driver = threading.Thread(target=ctrl_c)
    driver.start()
    try:
        code = main(["--env-file", "/nonexistent/.env", "index", "--watch", "--json"], out=out)
    finally:
        returned.set()
        signal.signal(signal.SIGINT, previous)
    driver.join(30)
    assert "sigterm" not in presses, presses
    assert code == 0
    [line] = out.lines()
    assert json.loads(line)["unchanged"] == 15
