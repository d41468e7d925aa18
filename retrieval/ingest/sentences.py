"""Sentence boundaries as character spans, so that every quote is a verbatim slice."""

from __future__ import annotations

import re

import blingfire

_LINE = re.compile(r"[^\n]+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``.

    Line breaks always end a sentence (headlines, list items and paragraphs have no final
    full stop); inside a line, Bling Fire's sentence breaker finds the boundaries.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        chunk = line.group()
        if not chunk.strip():
            continue
        base = line.start()
        _, offsets = blingfire.text_to_sentences_and_offsets(chunk)
        for start, end in offsets:
            # Trim whitespace so spans are tight and adjacent sentences never overlap.
            while start < end and chunk[start].isspace():
                start += 1
            while end > start and chunk[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((base + start, base + end))
    return spans
