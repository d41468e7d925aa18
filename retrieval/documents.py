"""Reading a corpus folder into documents.

Formats are detected from content, never from the file name: Markdown event pages in the
style of the Wikipedia Current Events Portal (one event per page, or a day index holding
many), raw article texts with web boilerplate, and JSONL with one document per line.

Document ids: an event page or an article is its corpus-relative posix path; an event on a
day index is ``f"{path}#{slug}"`` (the slug of the event's own page, else its number);
a JSONL record keeps its ``id`` (else ``f"{path}:{line}"``).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from .errors import ConfigError, NewsQAError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Related:
    """A link from an event page to a related event, with its ``_Context:_`` tags."""

    title: str
    url: str
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """One news document: an event, an article, or one JSONL record."""

    doc_id: str
    title: str
    text: str
    date: str | None = None  # ISO YYYY-MM-DD
    urls: tuple[str, ...] = ()  # source links, first one is the main link
    path: str = ""  # corpus-relative path of the file it came from
    kind: str = "article"  # "event", "article" or "jsonl"
    category: str | None = None  # e.g. "NATO-Russia relations" from a headline prefix
    contexts: tuple[str, ...] = ()  # the event's own _Context:_ tags
    related: tuple[Related, ...] = field(default=())

    @property
    def url(self) -> str | None:
        return self.urls[0] if self.urls else None

    @property
    def content_hash(self) -> str:
        """A hash of everything that goes into the index, to detect changed documents."""
        h = hashlib.sha256()
        for part in (self.doc_id, self.title, self.date or "", "\n".join(self.urls), self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    files: int


class UnreadableFileError(NewsQAError):
    """A corpus file is binary, not UTF-8, empty or unreadable; ``str(err)`` is the reason."""


_MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?(?![a-z])"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MDY_DATE = re.compile(_MONTH + r"\s+(\d{1,2}),?\s+(\d{4})(?!\d)")
_DMY_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+" + _MONTH + r",?\s+(\d{4})(?!\d)")

# Markdown event pages and day indexes.
_EVENT_DATE = re.compile(r"^###\s+\[(\d{4}-\d{1,2}-\d{1,2})\]\(")
_INDEX_DATE = re.compile(r"^##\s+\[(\d{4}-\d{1,2}-\d{1,2})\]\(")
_INDEX_EVENT = re.compile(r"^###\s+\[(.+)\]\(([^)\s]+)\)\s*$")
_INDEX_HEADER = re.compile(r"^#####\s+(.+)$")
_HEADLINE = re.compile(r"^#\s+(\S.*)$")
_CONTEXT = re.compile(r"^_Context:\s*(.*?)_?\s*$")
_LINK_ITEM = re.compile(r"^\d+[.)]\s*\[(.*)\]\(([^)\s]*)\)\s*(?:_Context:\s*(.*?)_)?\s*$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_IMAGE_TITLE = re.compile(r"^(?:cover\s+)?(?:image|photo|picture|thumbnail)$", re.I)
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".bmp")
# "Category: headline": a short noun phrase, then a capitalised statement.
_CATEGORY = re.compile(r"^([^:]{2,60}):(?:\s+(?=[A-Z0-9\"“‘'])|(?=[A-Z]))")
_VERBS_AND_PRONOUNS = (
    "say says said tell tells told report reports reported announce announces announced "
    "confirm confirms confirmed deny denies denied warn warns warned claim claims claimed "
    "add adds added state states stated is are was were be been will would can could has "
    "have had do does did according that this these those i we you he she they it"
)
_NOT_CATEGORY_WORDS = frozenset(_VERBS_AND_PRONOUNS.split())

# Web boilerplate in raw articles.
_MENU = re.compile(r"^(?:\d+[.)]\s*)?skip to\b", re.I)
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$")
_PROXIED_URL = re.compile(r"^https?://[^/]+/(https?)/(.+)$")
_CREDIT_START = re.compile(r"^(?:photo\s+credit|image|photo|picture|photograph|credit)s?\s*:", re.I)
_CREDIT_END = re.compile(r"\s[-–—|]\s+(?:\S+\s+){0,4}(?:photo|image|picture|photograph)s?$", re.I)
_FOLLOW = re.compile(
    r"^(?:follow us\b|subscribe (?:to|for|now)\b|sign up (?:for|to)\b|share this\b"
    r"|click here\b|advertisement$|mời quý độc giả|.*\btheo dõi\b.*\btrên$)",
    re.I,
)
_RELATED_MARK = re.compile(
    r"^(?:related(?: (?:stories|articles|news|content|coverage))?|read more|see also"
    r"|more on this(?: topic)?|you may also like)\s*:?$",
    re.I,
)
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{1,40}\s[-–—]\s+[^.!?]{1,60}$")
_BYLINE = re.compile(r"^[Bb]y\s+[A-Z]")
_SPEECH = re.compile(r"\b(?:said|says|told|tells|added|adds|asked)\b", re.I)
_TERMINAL = (".", "!", "?", '"', "”", "'", "’", ")", "…", ":")


def normalize_date(value: object) -> str | None:
    """Return the first date found in ``value`` as ISO ``YYYY-MM-DD``, or None.

    Understands ``2016-04-8``, ``2016/04/08``, ``April 20, 2016`` and ``20 April 2016``.
    """
    if not isinstance(value, str):
        return None
    for pattern, order in ((_ISO_DATE, "ymd"), (_MDY_DATE, "mdy"), (_DMY_DATE, "dmy")):
        for m in pattern.finditer(value):
            parts = dict(zip(order, m.groups(), strict=True))
            month = parts["m"]
            month_no = int(month) if month.isdigit() else _MONTHS.index(month[:3].lower()) + 1
            try:
                return date(int(parts["y"]), month_no, int(parts["d"])).isoformat()
            except ValueError:
                continue
    return None


def split_category(headline: str) -> tuple[str | None, str]:
    """Split ``"Category: statement"`` into ``(category, statement)``.

    A category is a short noun phrase at the very start (at most 8 words, no sentence
    punctuation, no reporting verb) followed by a capitalised statement; an ordinary colon
    inside a sentence is left alone. Repeated prefixes are all dropped, the first is kept.
    """
    category: str | None = None
    rest = headline.strip()
    for _ in range(3):
        m = _CATEGORY.match(rest)
        if not m or not _looks_like_category(m.group(1).strip()):
            break
        category = category or m.group(1).strip()
        rest = rest[m.end() :].strip()
    return category, rest


def _looks_like_category(prefix: str) -> bool:
    words = prefix.split()
    if not 1 <= len(words) <= 8 or not (prefix[0].isupper() or prefix[0].isdigit()):
        return False
    if re.search(r"[.!?;\"“”]", re.sub(r"(?:[A-Z]\.)+", "", prefix)):  # "U.S." is fine
        return False
    return not any(w.lower().strip(",()") in _NOT_CATEGORY_WORDS for w in words)


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
    head = lines[:8]
    if any(_INDEX_DATE.match(ln) for ln in head) and any(_INDEX_EVENT.match(ln) for ln in lines):
        return "day_index"
    has_date = any(_EVENT_DATE.match(ln) for ln in head)
    if any(_HEADLINE.match(ln) for ln in head) and (has_date or "### Source" in text):
        return "event"
    return "article"


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _md(text: str) -> str:
    """Plain text from a Markdown fragment: entities decoded, links to their text, wiki quotes."""
    text = _MD_LINK.sub(r"\1", html.unescape(text)).replace("''", '"')
    return " ".join(text.split())


def _url(raw: str) -> str:
    """Decode entities and unwrap proxied links (``https://proxy/https/host/path``)."""
    url = html.unescape(raw.strip())
    m = _PROXIED_URL.match(url)
    return f"{m.group(1)}://{m.group(2)}" if m else url


def _is_image_link(title: str, url: str) -> bool:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return bool(_IMAGE_TITLE.match(title.strip())) or path.endswith(_IMAGE_EXT)


def _split_contexts(raw: str) -> tuple[str, ...]:
    """Split ``a, b, c`` tags; a bare year joins the tag before it (``election, 2016``)."""
    tags: list[str] = []
    for part in (_md(p) for p in raw.split(",")):
        if re.fullmatch(r"\d{4}", part) and tags:
            tags[-1] = f"{tags[-1]}, {part}"
        elif part:
            tags.append(part)
    return tuple(tags)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _compose(title: str, paragraphs: list[str]) -> str:
    """Headline then body; drop a paragraph that only repeats (part of) the headline."""
    out, head = [title], f" {_norm(title)} "
    for i, para in enumerate(p for p in paragraphs if _norm(p)):
        norm = f" {_norm(para)} "
        if norm in head:
            continue
        if i == 0 and head in norm:
            out = []  # the body restates the headline in full and goes on
        out.append(para)
    return "\n\n".join(out)


def _short_title(text: str, max_words: int = 12) -> str:
    """The first sentence if short, else the first words and an ellipsis."""
    words = text.split()
    for i, word in enumerate(words[:max_words]):
        if word.endswith((".", "!", "?")) and i >= 2:
            return " ".join(words[: i + 1])
    return " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")


def parse_event_page(text: str, rel: str) -> list[Document]:
    """Parse a Markdown page holding one event: date, headline, body, sources, related."""
    day: str | None = None
    headline = ""
    paragraphs: list[list[str]] = [[]]
    urls: list[str] = []
    related: list[Related] = []
    contexts: tuple[str, ...] = ()
    section = "body"
    for line in (ln.strip() for ln in text.split("\n")):
        if (m := _EVENT_DATE.match(line)) and day is None:
            day = normalize_date(m.group(1))
        elif (m := _HEADLINE.match(line)) and not headline:
            headline = _md(m.group(1))
        elif line.startswith("#"):
            section = line.strip("#: ").lower().rstrip("s")  # "source", "related", ...
        elif section == "body" and (m := _CONTEXT.match(line)):
            contexts = _split_contexts(m.group(1))
        elif section in ("source", "related") and (m := _LINK_ITEM.match(line)):
            title, url = _md(m.group(1)), _url(m.group(2))
            if section == "related":
                related.append(Related(title, url, _split_contexts(m.group(3) or "")))
            elif not _is_image_link(m.group(1), url) and url not in urls:
                urls.append(url)
        elif section == "body" and headline:
            if line:
                paragraphs[-1].append(_md(line))
            elif paragraphs[-1]:
                paragraphs.append([])
    if not headline:
        return []
    category, title = split_category(headline)
    body = [" ".join(p) for p in paragraphs if p]
    text_, rels = _compose(title, body), tuple(related)
    return [Document(rel, title, text_, day, tuple(urls), rel, "event", category, contexts, rels)]


@dataclass
class _IndexItem:
    title: str
    url: str
    category: str | None
    summary: list[str] = field(default_factory=list)
    contexts: tuple[str, ...] = ()


def parse_day_index(text: str, rel: str) -> list[Document]:
    """Parse a day index page: one document per ``### [headline](link)`` event."""
    day: str | None = None
    category: str | None = None
    items: list[_IndexItem] = []
    current: _IndexItem | None = None
    for line in (ln.strip() for ln in text.split("\n")):
        if (m := _INDEX_DATE.match(line)) and day is None:
            day = normalize_date(m.group(1))
        elif m := _INDEX_HEADER.match(line):
            category, current = _md(m.group(1)), None
        elif m := _INDEX_EVENT.match(line):
            current = _IndexItem(_md(m.group(1)), _url(m.group(2)), category)
            items.append(current)
        elif not line or line.startswith("#") or current is None:
            current = None
        elif m := _CONTEXT.match(line):
            current.contexts = _split_contexts(m.group(1))
        else:
            current.summary.append(_md(line))
    docs: list[Document] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        slug = PurePosixPath(item.url.split("?", 1)[0]).stem if item.url else ""
        slug = slug if slug and slug not in seen else str(n)
        seen.add(slug)
        text_, urls = _compose(item.title, [" ".join(item.summary)]), (item.url,)
        doc_id, cat = f"{rel}#{slug}", item.category
        docs.append(
            Document(doc_id, item.title, text_, day, urls, rel, "event", cat, item.contexts)
        )
    return docs


def parse_article(text: str, rel: str) -> list[Document]:
    """Parse raw article text: the first line is the title, the rest is cleaned of boilerplate.

    Dropped: "Skip to ..." menus, repeats of the title and of the line before, lone URL
    lines (kept as the document's links, proxies unwrapped), photo credits and the caption
    before an ``Image:`` credit, follow/subscribe lines, datelines and bylines above the
    first sentence (a byline's date becomes the document's date), a "Related" block whose
    teasers repeat, and short unpunctuated lines left dangling at the end (captions).
    """
    lines = [html.unescape(ln).strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if not (_MENU.match(ln) and len(ln.split()) <= 8)]
    first = next((i for i, ln in enumerate(lines) if ln), None)
    if first is None:
        return []
    title = " ".join(lines[first].split())
    start = first + 1
    if len(title.split()) > 20:  # no headline: the text starts straight away
        title, start = _short_title(title), first
    kept, day, urls = _clean_article_lines(_cut_teasers(lines[start:]), title)
    body = [p.strip() for p in re.split(r"\n{2,}", "\n".join(kept)) if p.strip()]
    full = "\n\n".join([title, *body]) if start > first else "\n\n".join(body)
    return [Document(rel, title, full, day, tuple(urls), rel, "article")]


def _cut_teasers(lines: list[str]) -> list[str]:
    """Cut from a lone "Related" line on when the teasers after it repeat themselves."""
    for i, line in enumerate(lines):
        if _RELATED_MARK.match(line):
            rest = [_norm(ln) for ln in lines[i + 1 :] if ln]
            if len(rest) != len(set(rest)):
                return lines[:i]
    return lines


def _is_sentence(line: str) -> bool:
    words = len(line.split())
    return words >= 20 or (words >= 10 and line.endswith(_TERMINAL))


def _is_credit(line: str) -> bool:
    words = len(line.split())
    if _CREDIT_START.match(line) and words <= 12:
        return True
    return bool(_CREDIT_END.search(line)) and words <= 25 and not line.endswith(".")


def _is_byline(line: str) -> bool:
    """A dateline, an author line or an author-and-date line (checked above the first sentence)."""
    if len(line.split()) > 12 or line.endswith((".", "!", "?")):
        return False
    return bool(
        _DATELINE.match(line)
        or normalize_date(line)
        or (_BYLINE.match(line) and len(line.split()) <= 6)
    )


def _is_dangling(line: str) -> bool:
    return len(line.split()) <= 12 and not line.endswith(_TERMINAL)


def _clean_article_lines(lines: list[str], title: str) -> tuple[list[str], str | None, list[str]]:
    """Drop boilerplate lines; return the kept lines ("" between paragraphs), date and URLs."""
    following = [""] * len(lines)  # the next non-empty line after each line
    for i in range(len(lines) - 2, -1, -1):
        following[i] = lines[i + 1] or following[i + 1]
    kept: list[str] = []
    urls: list[str] = []
    day: str | None = None
    in_top = True
    previous = _norm(title)
    for line, nxt in zip(lines, following, strict=True):
        if not line:
            kept.append("")
            continue
        norm, in_top = _norm(line), in_top and not _is_sentence(line)
        repeat = norm in (previous, _norm(title))
        previous = norm
        if _URL_LINE.match(line):
            url = _url(line)
            urls += [] if url in urls else [url]
        elif in_top and _is_byline(line):
            day = day or normalize_date(line)
        elif not (repeat or _is_credit(line) or _FOLLOW.match(line)) and not (
            _CREDIT_START.match(nxt) and _is_dangling(line)  # a caption above its credit
        ):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    if kept and _is_dangling(kept[-1]) and not _SPEECH.search(kept[-1]):
        kept.pop()  # a caption or heading left at the end with no text after it
    return kept, day, urls


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
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        return "no text"
    raw_id, title, url = obj.get("id"), obj.get("title"), obj.get("url")
    has_id = isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id).strip()
    title = " ".join(title.split()) if isinstance(title, str) else ""
    return Document(
        doc_id=str(raw_id).strip() if has_id else f"{rel}:{n}",
        title=title or _short_title(body),
        text=body,
        date=normalize_date(obj.get("date")),
        urls=(url.strip(),) if isinstance(url, str) and url.strip() else (),
        path=rel,
        kind="jsonl",
    )


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


def load_corpus(root: Path) -> Corpus:
    """Read every file under ``root`` (or the one file ``root``), in sorted path order.

    Hidden files and folders and README files are not looked at. A file or line that
    cannot be used is logged, recorded in ``Corpus.skipped`` and never raises; of two
    documents with the same id the first is kept.
    """
    if not root.exists():
        raise ConfigError(f"corpus path {root} does not exist")
    docs: list[Document] = []
    skipped: list[SkippedFile] = []
    first_seen: dict[str, str] = {}
    files = 0
    for path, rel in _corpus_files(root):
        files += 1
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
    log.info("loaded %d documents from %d files, %d skipped", len(docs), files, len(skipped))
    return Corpus(tuple(docs), tuple(skipped), files)


def _corpus_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, posix path relative to root)`` for the files to read, sorted."""
    if root.is_file():
        yield root, root.name
        return
    found: list[tuple[list[str], Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith(".") or name.split(".")[0].upper() == "README":
                continue
            path = Path(folder, name)
            found.append((list(path.relative_to(root).parts), path))
    for parts, path in sorted(found):
        yield path, "/".join(parts)
