"""Text helpers shared by the corpus parsers: dates, links, comparison keys, short titles."""

from __future__ import annotations

import html
import re
from datetime import date

_MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?(?![a-z])"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MDY_DATE = re.compile(_MONTH + r"\s+(\d{1,2}),?\s+(\d{4})(?!\d)")
_DMY_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+" + _MONTH + r",?\s+(\d{4})(?!\d)")
_PROXIED_URL = re.compile(r"^https?://[^/]+/(https?)/(.+)$")


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
