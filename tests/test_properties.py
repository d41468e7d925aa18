"""Properties over arbitrary Unicode (Hypothesis): the chunker and the sentence splitter
always end, keep every chunk within its token limit and cover the text; the reply renderer
never goes over Discord's 2,000 characters and never lets corpus text or a URL turn into
live Markdown or a mention."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from retrieval.answer.engine import Answer, Source
from retrieval.answer.render import DISCORD_LIMIT, escape_markdown, format_answer, format_source
from retrieval.ingest.chunking import chunk_document
from retrieval.ingest.documents import Document
from retrieval.ingest.sentences import sentence_spans
from retrieval.ingest.tokenizer import load_encoding

ENC = load_encoding()

# Any character a UTF-8 file can hold (no lone surrogates), weighted towards the ones that
# trouble text code: spaces and line separators, CJK and Thai, combining marks, emoji.
_TRICKY = "  \n\n\t\r\u2028\u2029\u0085\u200b\u00a0.!?。…*_~`|>#[]()<@&:/\\-中文ไทย\u0301😀"
CHARS = st.characters(blacklist_categories=("Cs",))
TEXT = st.text(st.one_of(CHARS, st.sampled_from(_TRICKY)), max_size=600)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: the old chunker looped forever on some input."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@FAST
@given(text=TEXT)
@example(text="\x080")  # Bling Fire drops a control character opening a line
def test_sentence_spans_are_tight_ordered_and_cover_the_text(text: str) -> None:
    """Spans lie inside the text, in order, without overlap or outer whitespace, and
    every non-space character is in one."""
    with time_limit(10):
        spans = sentence_spans(text)
    covered: set[int] = set()
    last = 0
    for a, b in spans:
        assert last <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        covered.update(range(a, b))
        last = b
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@FAST
@given(text=TEXT, max_tokens=st.integers(8, 64), overlap=st.integers(0, 16))
@example(text="0 0:\x810\U00010000", max_tokens=8, overlap=5)  # a chunk that did not move on
@example(text=":0\x1f:0\U00010000", max_tokens=8, overlap=0)  # a separator worth a token
@example(text="0\n0:0\x81\u2028Ø", max_tokens=8, overlap=5)  # overlap + next piece too big
def test_chunks_stay_within_the_limit_and_cover_the_text(
    text: str, max_tokens: int, overlap: int
) -> None:
    """Every chunk is a verbatim slice of at most ``max_tokens`` tokens, chunks move
    forward, and together they hold every non-space character."""
    with time_limit(10):
        chunks = chunk_document(Document("d", "T", text), ENC, max_tokens, overlap)
    covered: set[int] = set()
    for prev, c in zip([None, *chunks], chunks, strict=False):
        assert c.text == text[c.start : c.end]
        assert c.n_tokens <= max_tokens
        assert len(ENC.encode_ordinary(c.text)) <= max_tokens, c.text
        if prev is not None:
            assert c.start > prev.start and c.end > prev.end
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


# --- the reply renderer --------------------------------------------------------------

_SPECIAL = set("*_~`|[]")


def live_markdown(rendered: str, *, whole_lines: bool = False) -> list[str]:
    """Markdown characters in ``rendered`` that Discord would act on: any of ``*_~`|[]``
    not escaped by a backslash (inside ``<http...>`` autolinks nothing is Markdown), and,
    for ``whole_lines``, a heading, quote or list marker opening a line."""
    live: list[str] = []
    for line in rendered.split("\n"):
        if whole_lines and re.match(r"(?:>+|#+|-#|[-+*]|\d+\.)\s", line):
            live.append(line[:3])
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "<" and line.startswith(("<http://", "<https://"), i):
                end = line.find(">", i)
                assert end > 0, line
                i = end + 1
                continue
            if ch in _SPECIAL:
                live.append(ch)
            i += 1
    return live


def mentions(rendered: str) -> list[str]:
    """@everyone, @here, and user, role and channel mentions (``<@id>``, ``<@&id>``, ``<#id>``)."""
    return re.findall(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>", rendered)


@FAST
@given(text=TEXT)
def test_escaped_corpus_text_has_no_live_markdown_or_mention(text: str) -> None:
    """Whatever the corpus says, escaped it is shown literally and mentions nobody."""
    shown = escape_markdown(text.replace("\n", " "))
    assert live_markdown(shown) == []
    assert mentions(shown) == []


URLS = st.one_of(
    st.none(),
    TEXT,
    st.builds(
        lambda host, rest: f"https://{host}/{rest}",
        st.from_regex(r"[a-z]{1,8}\.[a-z]{2,3}", fullmatch=True),
        TEXT,
    ),
)


@FAST
@given(title=TEXT, url=URLS, date=st.one_of(st.none(), TEXT))
def test_a_source_line_is_one_line_without_live_markdown(
    title: str, url: str | None, date: str | None
) -> None:
    """A source renders as one line: a masked link to a checked URL, or plain text."""
    shown = format_source(Source("d1", title, date, url))
    assert "\n" not in shown and "\r" not in shown
    assert mentions(shown) == []
    if shown.startswith("[") and "](<" in shown:
        label, _, target = shown[1:].rpartition("](<")
        assert target.endswith(">)") and not re.search(r"\s", target)
        assert live_markdown(label) == []
    else:
        assert live_markdown(shown) == []


_OUR_LINES = ("> ", "**", "• ", "Sources:", "Closest sources:", "confidence:", "I couldn't")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(TEXT, st.text(CHARS, min_size=1500, max_size=4000)),
    span=st.tuples(st.integers(0, 4000), st.integers(0, 4000)),
    sources=st.lists(st.tuples(TEXT, URLS), max_size=12),
    date=st.one_of(st.none(), TEXT),
    kind=st.sampled_from(["when", "who", ""]),
    abstained=st.booleans(),
)
@example(text="Talks resumed.", span=(0, 5), sources=[("T", None)], date="2016\n# Big",
         kind="when", abstained=False)  # fmt: skip
def test_reply_is_never_over_2000_characters_nor_mentions_anyone(
    text: str,
    span: tuple[int, int],
    sources: list[tuple[str, str | None]],
    date: str | None,
    kind: str,
    abstained: bool,
) -> None:
    """Any quote, span, sources and date: at most 2,000 characters, no mention, and no
    line that corpus text starts."""
    a, b = sorted(span)
    answer = Answer(
        question="q", text=None if abstained else text,
        sources=tuple(Source(f"d{i}", t, date, u) for i, (t, u) in enumerate(sources)),
        confidence=0.5, abstained=abstained, span=(a, b) if b <= len(text) else None,
        date=date, answer_type=kind,
    )  # fmt: skip
    reply = format_answer(answer)
    assert 0 < len(reply) <= DISCORD_LIMIT
    assert mentions(reply) == []
    # Every line is one the renderer starts: corpus text never opens a heading or a list.
    for line in reply.split("\n"):
        assert line.startswith(_OUR_LINES), line


@pytest.mark.parametrize("limit", [50, 200, 2000])
def test_reply_of_a_giant_quote_fits_every_limit(limit: int) -> None:
    """A quote and sources far over the limit are cut to fit it exactly."""
    src = tuple(Source(f"d{i}", "T" * 300, "2016-04-20", f"https://e.org/{i}") for i in range(20))
    answer = Answer("q", "word " * 2000, src, 0.9, False, span=(10, 20))
    assert len(format_answer(answer, limit=limit)) <= limit
