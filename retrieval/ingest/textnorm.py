"""Text helpers shared by the corpus parsers: links, comparison keys, short titles.

Dates are read by :func:`retrieval.dates.normalize_date`.
"""

from __future__ import annotations

import html
import re

_PROXIED_URL = re.compile(r"^https?://[^/]+/(https?)/(.+)$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with lone surrogates (from a JSON ``"\\ud800"`` escape, or bytes that were
    not UTF-8 on a terminal) replaced by U+FFFD: they cannot be encoded, tokenised or
    stored."""
    return _SURROGATE.sub("\ufffd", text)


def clean_url(raw: str) -> str:
    """Decode entities and unwrap proxied links (``https://proxy/https/host/path``)."""
    url = html.unescape(raw.strip())
    m = _PROXIED_URL.match(url)
    return f"{m.group(1)}://{m.group(2)}" if m else url


def comparable(text: str) -> str:
    """A key to compare text by: casefolded, punctuation and spacing ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def short_title(text: str, max_words: int = 12) -> str:
    """The first sentence if short, else the first words and an ellipsis."""
    words = text.split()
    for i, word in enumerate(words[:max_words]):
        if word.endswith((".", "!", "?")) and i >= 2:
            return " ".join(words[: i + 1])
    return " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")
