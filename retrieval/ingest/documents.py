"""Reading a corpus folder into documents: the entry point of corpus ingestion.

Formats are detected from content, never from the file name: Markdown event pages in the
style of the Wikipedia Current Events Portal (one event per page, or a day index holding
many; parsed in :mod:`.events`), raw article texts with web boilerplate (cleaned in
:mod:`.articles`), and JSONL with one document per line (parsed here).

Document ids: an event page or an article is its corpus-relative posix path; an event on a
day index is ``f"{path}#{slug}"`` (the slug of the event's own page, else its number);
a JSONL record keeps its ``id`` (else ``f"{path}:{line}"``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from retrieval.dates import normalize_date
from retrieval.errors import ConfigError, UnreadableFileError
from retrieval.ingest.articles import parse_article
from retrieval.ingest.events import (
    markdown_format,
    parse_day_index,
    parse_event_page,
    split_category,
)
from retrieval.ingest.records import Corpus, Document, Related, SkippedFile
from retrieval.ingest.related import add_related_events, link_events, merge_day_items
from retrieval.ingest.textnorm import short_title, valid_text

__all__ = [
    "Corpus",
    "Document",
    "Related",
    "SkippedFile",
    "corpus_files",
    "detect_format",
    "ignored",
    "load_corpus",
    "parse_article",
    "parse_day_index",
    "parse_event_page",
    "parse_file",
    "parse_jsonl",
    "read_text",
    "split_category",
]

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """Read a UTF-8 text file; raise UnreadableFileError with a short reason if unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"unreadable: {exc.strerror or exc}") from None
    if b"\0" in data:
        raise UnreadableFileError("binary (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"invalid UTF-8 at byte {exc.start}") from None
    if not text.strip():
        raise UnreadableFileError("empty or whitespace only")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(text: str, name: str = "") -> str:
    """Return ``"jsonl"``, ``"day_index"``, ``"event"`` or ``"article"`` for a file's text.

    JSONL: the first non-empty line is a JSON object (or starts like one and the file is
    named ``.jsonl``, or the second line is one), so a bad first line cannot hide the rest.
    """
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "article"
    if lines[0].startswith("{") and (
        _json_object(lines[0])
        or name.lower().endswith((".jsonl", ".ndjson"))
        or (len(lines) > 1 and _json_object(lines[1]))
    ):
        return "jsonl"
    return markdown_format(lines, text) or "article"


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def parse_jsonl(text: str, rel: str) -> tuple[list[Document], list[SkippedFile]]:
    """Parse JSON lines; a bad line is logged and returned as skipped, the rest still load.

    The text is kept as given (offsets into it stay valid); a missing title becomes the
    text's first words, a missing id ``f"{rel}:{line}"``, an unparseable date None.
    """
    docs: list[Document] = []
    skipped: list[SkippedFile] = []
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be in a string
        if not line.strip():
            continue
        doc = _jsonl_record(line, rel, n)
        if isinstance(doc, str):
            log.warning("skipped %s line %d: %s", rel, n, doc)
            skipped.append(SkippedFile(rel, f"line {n}: {doc}"))
        else:
            docs.append(doc)
    return docs, skipped


def _jsonl_record(line: str, rel: str, n: int) -> Document | str:
    """One JSONL line as a Document, or the reason it cannot be one."""
    try:
        obj = json.loads(line)
    except ValueError:
        return "invalid JSON"
    if not isinstance(obj, dict):
        return "not a JSON object"
    clean = {k: valid_text(v) if isinstance(v, str) else v for k, v in obj.items()}
    if clean != obj:
        log.warning("%s:%d: replaced lone surrogates (\\ud800-\\udfff escapes) by U+FFFD", rel, n)
        obj = clean
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        return "no text"
    raw_id, title, url = obj.get("id"), obj.get("title"), obj.get("url")
    has_id = isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id).strip()
    title = " ".join(title.split()) if isinstance(title, str) else ""
    date = normalize_date(obj.get("date"))
    _warn_ignored(obj, rel, n, has_id=bool(has_id), date=date)
    return Document(
        doc_id=str(raw_id).strip() if has_id else f"{rel}:{n}",
        title=title or short_title(body),
        text=body,
        date=date,
        urls=(url.strip(),) if isinstance(url, str) and url.strip() else (),
        path=rel,
        kind="jsonl",
    )


def _warn_ignored(obj: dict[str, object], rel: str, n: int, *, has_id: bool,
                  date: str | None) -> None:  # fmt: skip
    """Warn, naming file and line, about each field present but unusable (the record is
    still read without it)."""
    wrong = [
        f"{key!r} is {_kind(obj[key])}"
        for key, ok in (("title", str), ("url", str), ("date", str))
        if obj.get(key) is not None and not isinstance(obj[key], ok)
    ]
    if obj.get("id") is not None and not has_id:
        wrong.append(f"'id' is {_kind(obj['id'])}")
    raw_date = obj.get("date")
    if isinstance(raw_date, str) and raw_date.strip() and date is None:
        wrong.append(f"'date' {raw_date[:40]!r} is not a date")
    if wrong:
        log.warning("%s:%d: ignored %s", rel, n, "; ".join(wrong))


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string"
    return "a list" if isinstance(value, list) else "an object"


def _parse(text: str, rel: str) -> tuple[list[Document], list[SkippedFile]]:
    fmt = detect_format(text, rel)
    if fmt == "jsonl":
        return parse_jsonl(text, rel)
    parser = {"event": parse_event_page, "day_index": parse_day_index}.get(fmt, parse_article)
    return parser(text, rel), []


def parse_file(path: Path, rel: str | None = None) -> list[Document]:
    """Parse one file of any format; ``rel`` (default: the file name) is its corpus path.

    Raises UnreadableFileError for a file that cannot be read; bad JSONL lines are only
    logged and left out.
    """
    return _parse(read_text(path), rel or path.name)[0]


def load_corpus(root: Path, link_base: str = "") -> Corpus:
    """Read every file under ``root`` (or the one file ``root``), in sorted path order.

    Hidden files and folders and README files are not looked at. A file or line that
    cannot be used is logged, recorded in ``Corpus.skipped`` and never raises; of two
    documents with the same id the first is kept. A day-index item is merged into the event
    page it links to, Related items of event pages follow as events of their own, and
    events without a web link get one (``link_base`` resolves the corpus's relative links;
    see :mod:`.related`).
    """
    if not root.exists():
        raise ConfigError(f"corpus path {root} does not exist")
    docs: list[Document] = []
    skipped: list[SkippedFile] = []
    first_seen: dict[str, str] = {}
    files = 0
    for path, rel in corpus_files(root):
        files += 1
        if not _utf8_name(rel):
            # os.walk hands back undecodable bytes as surrogates, which cannot be stored
            # in the index (UTF-8 JSON) or logged safely: skip the file by a printable name.
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            log.warning("skipped %s: file name is not valid UTF-8", shown)
            skipped.append(SkippedFile(shown, "file name is not valid UTF-8"))
            continue
        try:
            found, bad = _parse(read_text(path), rel)
        except UnreadableFileError as exc:
            found, bad = [], [SkippedFile(rel, str(exc))]
            log.warning("skipped %s: %s", rel, exc)
        except Exception as exc:  # a parser bug must not stop the whole corpus
            found, bad = [], [SkippedFile(rel, f"could not parse: {type(exc).__name__}")]
            log.warning("skipped %s: could not parse", rel, exc_info=True)
        if not found and not bad:
            bad = [SkippedFile(rel, "no documents found")]
            log.warning("skipped %s: no documents found", rel)
        skipped.extend(bad)
        for doc in found:
            if doc.doc_id in first_seen:
                reason = f"duplicate id {doc.doc_id!r}, kept the one in {first_seen[doc.doc_id]}"
                log.warning("skipped a document in %s: %s", rel, reason)
                skipped.append(SkippedFile(rel, reason))
                continue
            first_seen[doc.doc_id] = rel
            docs.append(doc)
    docs = link_events(add_related_events(merge_day_items(docs)), link_base)
    log.info("loaded %d documents from %d files, %d skipped", len(docs), files, len(skipped))
    return Corpus(tuple(docs), tuple(skipped), files)


def _utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ignored(name: str) -> bool:
    """Is a file or folder name one the corpus never reads? Hidden ones (editors keep
    their swap files there) and README files (notes about the corpus, not news)."""
    return name.startswith(".") or name.split(".")[0].upper() == "README"


def corpus_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, posix path relative to root)`` for the files to read, sorted: the
    one walk of the corpus, shared by the reader and the watcher."""
    if root.is_file():
        yield root, root.name
        return
    found: list[tuple[list[str], Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if ignored(name):
                continue
            path = Path(folder, name)
            found.append((list(path.relative_to(root).parts), path))
    for parts, path in sorted(found):
        yield path, "/".join(parts)
