"""Keeping an index fresh while things run: reload new versions, reindex changed corpora.

:class:`IndexWatcher` is for long-lived readers (the bot): a daemon thread that polls the
index's CURRENT pointer and swaps a newly published version into a :class:`~.qa.QA`.
:class:`CorpusWatcher` is for ``python -m retrieval index --watch``: it polls the corpus
folder and runs an incremental build, with the model kept loaded, when files change.

Both poll: a stat of a few thousand files, or a read of a one-line file, every second or
two costs next to nothing and needs no platform-specific notification API.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from retrieval.answer.qa import QA
from retrieval.encoder.base import Encoder
from retrieval.encoder.factory import load_encoder
from retrieval.errors import IndexLockedError, NewsQAError
from retrieval.index.build import BuildReport, build_index
from retrieval.ingest.documents import corpus_files
from retrieval.settings import Settings

log = logging.getLogger(__name__)


class IndexWatcher:
    """Reload ``qa`` whenever a new index version is published.

    ``IndexWatcher(qa, interval=2.0).start()`` starts a daemon thread; ``stop()`` ends it.
    Questions in flight during a swap finish on the version they started with (see
    :meth:`QA.reload`). A version that fails to load is logged once and retried at every
    poll, and the loaded version keeps serving meanwhile.
    """

    def __init__(
        self,
        qa: QA,
        interval: float = 2.0,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.qa = qa
        self.interval = interval
        self._on_reload = on_reload
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: str | None = None  # the published version that last failed to load

    def start(self) -> IndexWatcher:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)
        self._thread.start()
        log.info(
            "watching %s for new index versions every %.1fs",
            self.qa.store.location,
            self.interval,
        )
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> IndexWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def poll(self) -> bool:
        """Check the pointer once; swap the new version in if there is one. Never raises."""
        published: str | None = None
        try:
            published = self.qa.store.current_version()
            if published is None or published == self.qa.version:
                return False
            swapped = self.qa.reload()
        # A watcher that dies leaves the bot answering from a stale index forever, so any
        # failure (a half-deleted folder, a full disk, a bug) is logged and retried.
        except Exception as exc:
            if published != self._failed:
                log.error("cannot load index version %s, still serving %s: %s",
                          published, self.qa.version, exc)  # fmt: skip
                self._failed = published
            return False
        self._failed = None
        if swapped and self._on_reload is not None:
            try:
                self._on_reload(self.qa.version)
            except Exception:
                log.exception("on_reload callback failed")
        return swapped

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()


Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Size and modification time of every corpus file, by path relative to ``root``.

    The files are those the corpus reader reads (:func:`corpus_files`), so a change to
    a README or an editor's swap file starts no build.
    """
    found: Snapshot = {}
    if not root.exists():
        return found
    for path, rel in corpus_files(root):
        try:
            st = path.stat()
        except FileNotFoundError:  # deleted between listing and stat
            continue
        found[rel] = (st.st_size, st.st_mtime_ns)
    return found


class CorpusWatcher:
    """Rebuild the index incrementally whenever the corpus folder changes.

    Polls every ``interval`` seconds; a change is built once the folder has stayed the same
    for ``debounce`` seconds, so a copy of many files gives one build, not one per file.
    The model is loaded on the first build that needs it and kept for the next ones.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        interval: float = 2.0,
        debounce: float = 1.0,
        encoder: Encoder | None = None,
        on_build: Callable[[BuildReport], None] | None = None,
    ) -> None:
        if interval <= 0 or debounce < 0:
            raise ValueError("interval must be positive and debounce not negative")
        self.settings = settings
        self.interval = interval
        self.debounce = debounce
        self.encoder = encoder
        self._on_build = on_build
        self.builds = 0

    def _encoder(self) -> Encoder:
        if self.encoder is None:
            self.encoder = load_encoder(self.settings)
        return self.encoder

    def _build(self) -> None:
        report = build_index(self.settings, encoder=self.encoder, encoder_loader=self._encoder)
        self.builds += 1
        if self._on_build is not None:
            self._on_build(report)

    def run(self, stop: threading.Event) -> None:
        """Build once now, then after every change, until ``stop`` is set.

        A build that fails is logged; it is retried at the next poll if another process
        held the index, otherwise when the corpus changes again.
        """
        root = self.settings.corpus_dir
        log.info("watching %s every %.1fs", root, self.interval)
        built: Snapshot | None = None  # the corpus as the index was last built from it
        failed: Snapshot | None = None  # the corpus as a build last failed on it
        while not stop.is_set():
            seen = snapshot(root)
            if seen != built and seen != failed:
                seen = self._settle(seen, stop)
                if stop.is_set():
                    break
                try:
                    self._build()
                    built, failed = seen, None
                except IndexLockedError as exc:
                    log.warning("%s; retrying in %.1fs", exc, self.interval)
                except NewsQAError as exc:
                    log.error("reindex failed: %s", exc)
                    failed = seen
            stop.wait(self.interval)

    def _settle(self, seen: Snapshot, stop: threading.Event) -> Snapshot:
        """Wait until the folder has not changed for ``debounce`` seconds."""
        step = max(0.05, min(self.debounce, self.interval) / 2)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < self.debounce and not stop.wait(step):
            now = snapshot(self.settings.corpus_dir)
            if now != seen:
                seen, quiet_since = now, time.monotonic()
        return seen
