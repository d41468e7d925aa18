"""Pooling shared by the encoder backends: unit vectors and sentence spans of a passage.

The model's own pooling is the mean of the token embeddings under the attention mask,
followed by L2 normalisation (the packaged model's ``1_Pooling`` and ``2_Normalize``).
A sentence of a passage gets the same treatment restricted to the tokens inside its
character span, so one model pass over a chunk gives the chunk and all its sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def unit_rows(m: np.ndarray) -> np.ndarray:
    """Every row scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def pool_spans(
    tokens: np.ndarray,
    offsets: np.ndarray,
    mask: np.ndarray,
    spans: Sequence[tuple[int, int]],
) -> tuple[np.ndarray, list[tuple[int, tuple[int, int]]]]:
    """One unit vector per character span: the mean of the contextual token vectors that
    overlap it.

    ``tokens`` is ``n x d``, ``offsets`` ``n x 2`` character offsets into the passage and
    ``mask`` the attention mask; special tokens (empty offsets) and padding are never part
    of a sentence. Spans with no token (cut off by the model's window) are returned as
    ``(position, span)`` so the caller can embed them on their own; their rows are zero.
    """
    out = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    lost: list[tuple[int, tuple[int, int]]] = []
    if len(spans) == 0:
        return out, lost
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = (ends > starts) & mask.astype(bool)
    for j, (a, b) in enumerate(spans):
        inside = real & (starts < b) & (ends > a)
        if inside.any():
            out[j] = unit(tokens[inside].mean(axis=0))
        else:
            lost.append((j, (a, b)))
    return out, lost
