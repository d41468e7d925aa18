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
        for start, end in _whole(chunk, offsets):
            # Trim whitespace so spans are tight and adjacent sentences never overlap.
            while start < end and chunk[start].isspace():
                start += 1
            while end > start and chunk[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((base + start, base + end))
    return spans


def _whole(line: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Bling Fire's spans, in order and without overlap, widened so that no character is
    lost: it drops some (a control character or a BOM at the start of a line), which
    would then be in no sentence and no chunk."""
    spans: list[tuple[int, int]] = []
    done = 0  # everything before this is in a span (or is whitespace)
    for start, end in sorted(offsets):
        start, end = max(start, done), min(end, len(line))
        if end <= start:
            continue
        if line[done:start].strip():  # left out before this sentence: it joins this one
            start = done
        spans.append((start, end))
        done = end
    if line[done:].strip():  # left out at the end: it joins the last sentence
        spans[-1:] = [(spans[-1][0] if spans else done, len(line))]
    return spans
