"""The reply formatter as a pure function over constructed answers."""

from __future__ import annotations

import re

import pytest

from retrieval.answer.engine import Answer, Source
from retrieval.answer.render import (
    NOT_FOUND,
    THANKS_REPLY,
    ZWSP,
    confidence_label,
    escape_markdown,
    format_answer,
    format_help,
    small_talk,
    wants_help,
)

QUOTE = "NATO has reopened informal talks with Russia for the first time in nearly two years."
EURONEWS = Source(
    doc_id="000",
    title="NATO reopens informal talks with Russia",
    date="2016-04-20",
    url="http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks/",
)

# A mention Discord would act on: @everyone/@here, or <@id>, <@!id>, <@&id> without a ZWSP.
LIVE_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")
# A masked link: [label](<target>)
MASKED_LINK = re.compile(r"(?<!\\)\[(?P<label>(?:\\.|[^\\\]\n])*)\]\(<(?P<url>[^<>\s]*)>\)")


def make(text: str | None = QUOTE, **kw: object) -> Answer:
    fields: dict[str, object] = {
        "question": "When did NATO reopen talks with Russia?",
        "text": text,
        "sources": (EURONEWS,),
        "confidence": 0.82,
        "abstained": text is None,
    }
    fields.update(kw)
    return Answer(**fields)  # type: ignore[arg-type]


def unescape(text: str) -> str:
    """What Discord displays for escaped text (backslash escapes and ZWSP removed)."""
    return re.sub(r"\\(.)", r"\1", text).replace(ZWSP, "")


def test_answer_is_quoted_with_masked_source_link_and_confidence() -> None:
    """A plain answer: quoted text, one masked link with title and date, a confidence hint."""
    out = format_answer(make())
    lines = out.splitlines()
    assert lines[0] == "> " + QUOTE
    link = MASKED_LINK.search(out)
    assert link is not None
    assert unescape(link["label"]) == "NATO reopens informal talks with Russia — 2016-04-20"
    assert link["url"] == EURONEWS.url
    assert lines[-1] == "confidence: high"


@pytest.mark.parametrize(("value", "label"), [(0.95, "high"), (0.5, "medium"), (0.1, "low")])
def test_confidence_labels(value: float, label: str) -> None:
    """Confidence maps to a word, and that word is what the reply shows."""
    assert confidence_label(value) == label
    assert format_answer(make(confidence=value)).endswith(f"confidence: {label}")


def test_answer_date_is_shown_unless_its_source_shows_it() -> None:
    """For "when" questions the answer's date appears once, in the hint or the source line."""
    assert format_answer(make(date="2016-04-20")).endswith("confidence: high")
    undated = Source("d", "Undated story", None, "https://example.com/u")
    out = format_answer(make(date="2016-04-21", sources=(undated,)))
    assert out.endswith("confidence: high · date: 2016-04-21")


def test_span_is_bold() -> None:
    """The answer span inside the quote is wrapped in bold, the rest is not."""
    start = QUOTE.index("for the first time")
    out = format_answer(make(span=(start, start + len("for the first time in nearly two years"))))
    assert out.startswith(
        "> NATO has reopened informal talks with Russia **for the first time in nearly two years**."
    )
    assert out.count("**") == 2


def test_markdown_in_corpus_text_and_title_is_escaped() -> None:
    """Markdown characters from the corpus render literally, in the quote and in titles."""
    text = "A *starred* _under_ ~~struck~~ `code` ||spoiler|| # [x](http://evil) > quote"
    title = "Title with [brackets] and *stars* and `ticks`"
    out = format_answer(make(text, sources=(Source("d", title, "2020-01-01", "https://a.b/c"),)))
    quote = out.splitlines()[0]
    assert quote.startswith("> ")
    body = re.sub(r"<https?://[^>]*>", "", quote[2:])  # auto-links keep their <...>
    # Every Markdown character in the body is preceded by a backslash.
    for ch in "*_~`|#[]()>":
        for i, c in enumerate(body):
            if c == ch:
                assert body[i - 1] == "\\", (ch, body)
    # The evil link is not a masked link anymore.
    assert all(m["url"] == "https://a.b/c" for m in MASKED_LINK.finditer(out))
    links = list(MASKED_LINK.finditer(out))
    assert len(links) == 1
    # Brackets in a title cannot end the link label early; stars are escaped.
    assert "[" not in links[0]["label"] and "]" not in links[0]["label"]
    assert "\\*stars\\*" in links[0]["label"]


def test_bare_urls_in_text_do_not_embed() -> None:
    """A URL inside corpus text is wrapped in <...> so Discord shows no preview."""
    out = format_answer(make("See https://example.com/a_b for more."))
    assert "<https://example.com/a_b>" in out


def test_list_markers_at_line_start_are_escaped() -> None:
    """Corpus lines starting with '-', '-#' or '1.' do not become lists or small text."""
    out = format_answer(make("- first\n-# small\n1. numbered"))
    assert out.splitlines()[:3] == ["> \\- first", "> \\-\\# small", "> 1\\. numbered"]


@pytest.mark.parametrize(
    "evil", ["@everyone look", "@here now", "<@123456789>", "<@!42>", "<@&987>"]
)
def test_mentions_are_neutralised(evil: str) -> None:
    """Mentions in corpus text or titles are broken with a zero-width space."""
    answer = make(f"Text {evil} here.", sources=(Source("d", f"Title {evil}", None, None),))
    out = format_answer(answer)
    assert not LIVE_MENTION.search(out), out
    assert ZWSP in out
    assert unescape(out).count(evil.split()[0]) == 2  # still readable, twice


def test_no_answer_lists_closest_sources() -> None:
    """An abstention says so briefly and lists the closest sources, without a quote."""
    other = Source("001", "Another story", "2016-05-01", "https://example.org/x")
    out = format_answer(make(None, sources=(EURONEWS, other), confidence=0.1))
    lines = out.splitlines()
    assert lines[0] == NOT_FOUND
    assert lines[1] == "Closest sources:"
    assert len(MASKED_LINK.findall(out)) == 2
    assert ">" not in lines[0] and "confidence" not in out


def test_duplicate_sources_are_listed_once() -> None:
    """Several passages of one story produce one source line, in first-seen order."""
    other = Source("001", "Another story", "2016-05-01", "https://example.org/x")
    out = format_answer(make(None, sources=(EURONEWS, other, EURONEWS, other)))
    assert [m["url"] for m in MASKED_LINK.finditer(out)] == [EURONEWS.url, other.url]


def test_no_answer_without_sources() -> None:
    """An abstention with nothing close is just the one sentence."""
    assert format_answer(make(None, sources=())) == NOT_FOUND


def test_source_without_url_shows_title_and_date() -> None:
    """A source without a url (or a non-http one) is shown as title and date, not a link."""
    answer = make(
        sources=(
            Source("a", "Plain story", "2016-04-20", None),
            Source("b", "Script story", None, "javascript:alert(1)"),
        )
    )
    out = format_answer(answer)
    assert "• Plain story — 2016-04-20" in out.splitlines()
    assert "• Script story" in out.splitlines()
    assert "](" not in out


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://example.com/a)b",
        "https://example.com/a>b<c",
        "https://example.com/x?q=(1",
    ],
)
def test_urls_with_parentheses_or_angle_brackets_stay_one_link(url: str) -> None:
    """Characters that would end a masked link early are percent-encoded in the target."""
    out = format_answer(make(sources=(Source("d", "Story", "2016-04-20", url),)))
    links = list(MASKED_LINK.finditer(out))
    assert len(links) == 1
    target = links[0]["url"]
    assert not set("()<>") & set(target)
    decoded = target.replace("%28", "(").replace("%29", ")").replace("%3C", "<").replace("%3E", ">")
    assert decoded == url


def test_huge_answer_is_cut_at_a_word_boundary() -> None:
    """A quote far over the limit is shortened at a word with an ellipsis, source kept."""
    words = [f"word{i}" for i in range(5000)]
    out = format_answer(make(" ".join(words)))
    assert len(out) <= 2000
    quote = out.splitlines()[0]
    assert quote.endswith("…")
    last = quote[2:-1].split()[-1]
    assert last in words  # a whole word, not a fragment
    assert MASKED_LINK.search(out) is not None
    assert out.endswith("confidence: high")


def test_extra_sources_are_dropped_before_the_quote_is_cut() -> None:
    """With many long sources, sources go first; the quote survives whole."""
    many = tuple(
        Source(str(i), "Long title " * 15, "2016-04-20", f"https://example.com/{'x' * 150}/{i}")
        for i in range(40)
    )
    out = format_answer(make(sources=many))
    assert len(out) <= 2000
    assert out.splitlines()[0] == "> " + QUOTE
    assert 1 <= len(MASKED_LINK.findall(out)) < 40


def test_span_stays_visible_when_quote_is_cut() -> None:
    """When the answer span lies past the cut, the window slides so the bold span shows."""
    filler = " ".join(["filler"] * 600)
    text = f"{filler} the answer is here. {filler}"
    start = text.index("the answer is here")
    out = format_answer(make(text, span=(start, start + len("the answer is here"))))
    assert len(out) <= 2000
    assert "**the answer is here**" in out
    assert out.startswith("> …")


@pytest.mark.parametrize("limit", [40, 100, 300, 2000])
def test_never_exceeds_limit_with_huge_everything(limit: int) -> None:
    """Huge text, huge titles, huge urls and many mentions: output stays within the limit."""
    text = ("@everyone *bold* " * 2000) + "x" * 10000
    src = Source("d", "T" * 5000, "2016-04-20", "https://e.com/" + ")" * 3000)
    for answer in (make(text, sources=(src,) * 30, span=(5, 20000)), make(None, sources=(src,))):
        out = format_answer(answer, limit=limit)
        assert 0 < len(out) <= limit
        assert not LIVE_MENTION.search(out)


def test_escape_markdown_round_trips_to_the_original_text() -> None:
    """Escaped text displays as the original characters."""
    raw = r"a\b *c* _d_ ~e~ `f` |g| >h #i [j](k) @everyone"
    assert unescape(escape_markdown(raw)) == raw


def test_help_explains_mention_and_slash_command() -> None:
    """The help text names both ways to ask and fits in one message."""
    text = format_help()
    assert "/ask" in text and "Mention" in text
    assert len(text) <= 2000


def test_help_requests_are_told_from_questions() -> None:
    """A bare mention, help, ? or /help (any case, any spacing) asks for help; a question
    that mentions help does not."""
    for text in ("", "  ", "help", " HELP ", "?", "/help"):
        assert wants_help(text), text
    for text in ("help me find the NATO story", "who needs help?", "??"):
        assert not wants_help(text), text


def test_greetings_and_thanks_get_a_line_and_questions_do_not() -> None:
    """ "hi", "Thanks!", "ok thank you 👍" are small talk; a question, "more" or "why?" is
    not."""
    assert small_talk("hi") and "Ask me" in (small_talk(" Hello there! ") or "")
    for text in ("thanks", "Thanks!", "thank you very much.", "ok thank you 👍", "cool", "ty"):
        assert small_talk(text) == THANKS_REPLY, text
    for text in ("more", "why?", "Who is hi?", "thanks to whom did NATO meet?", "okay, when?"):
        assert small_talk(text) is None, text
