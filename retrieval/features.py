"""Candidate answer sentences and the features a small learned ranker scores them by.

The features are shared by the answer engine and the script that fits the ranker's
weights (`bench/train_ranker.py`), so training and serving can never drift apart.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from .question import WH_TYPES, QuestionInfo
from .search import Hit, Retriever

_CAPS = re.compile(r"\b[A-Z][\w'’.-]*")
_NUMBER = re.compile(r"\d[\d,.]*")
_DATE_WORDS = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday|yesterday|today)\b|\b(?:1[5-9]|20)\d\d\b"
)
_PRONOUN_START = re.compile(r"^(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their)\b")


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk."""

    hit: Hit
    row: int  # row in the index's sentence vectors
    index_in_chunk: int
    start: int  # span in hit.text
    end: int

    @property
    def text(self) -> str:
        return self.hit.text[self.start : self.end]


def candidates(retriever: Retriever, hits: list[Hit]) -> list[Candidate]:
    """Every sentence of the hits, each sentence of a document only once (its best hit)."""
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    index = retriever.index
    for hit in hits:
        chunk = index.chunks[hit.position]
        for j, (row, (a, b)) in enumerate(
            zip(index.sentence_rows(hit.position), chunk.sentences, strict=True)
        ):
            key = (hit.doc_id, chunk.start + a)
            if key in seen:
                continue
            seen.add(key)
            out.append(Candidate(hit, row, j, a, b))
    return out


def _caps(text: str) -> set[str]:
    return {m.group().strip(".'’").lower() for m in _CAPS.finditer(text)}


def _numbers(text: str) -> set[str]:
    return {m.group().strip(".,") for m in _NUMBER.finditer(text)}


FEATURES = (
    "s_cos", "s_cos_gap", "c_cos", "c_rank_inv", "c_bm25_rel", "overlap", "overlap_gap",
    "bigrams", "title_overlap", "chunk_overlap", "novel_caps", "novel_number", "has_date",
    *(f"wh_{w}" for w in WH_TYPES),
    "who_caps", "where_caps", "what_caps", "when_date", "howmany_number", "what_number",
    "log_words", "short", "pronoun_start", "doc_first", "chunk_first", "in_period",
    "undated", "log_days_before", "after_asked", "top_doc", "s_cos_x_overlap",
)  # fmt: skip


def featurize(
    info: QuestionInfo,
    qvec: np.ndarray,
    retriever: Retriever,
    cands: list[Candidate],
    asked: date | None,
) -> np.ndarray:
    """One row of features per candidate, in the order of FEATURES."""
    lex = retriever.lexical
    q_terms = list(dict.fromkeys(lex.terms(info.text)))
    q_weight = sum(lex.idf(t) for t in q_terms) or 1.0
    q_bigrams = set(zip(q_terms, q_terms[1:], strict=False))
    q_caps = _caps(info.text)
    q_numbers = _numbers(info.text)
    index = retriever.index
    s_cos = index.sentence_vectors[[c.row for c in cands]] @ qvec if cands else np.zeros(0)
    max_bm25 = max((c.hit.lexical for c in cands), default=0.0) or 1.0
    top_doc = cands[0].hit.doc_id if cands else ""
    wh = [float(info.wh == w) for w in WH_TYPES]
    rows = []
    overlaps = []
    chunk_cache: dict[int, tuple[float, float]] = {}
    for c in cands:
        terms = lex.terms(c.text)
        tset = set(terms)
        overlaps.append(sum(lex.idf(t) for t in q_terms if t in tset) / q_weight)
    best_cos = float(s_cos.max()) if len(s_cos) else 0.0
    best_overlap = max(overlaps, default=0.0)
    for i, c in enumerate(cands):
        text = c.text
        hit = c.hit
        if hit.position not in chunk_cache:
            title_terms = set(lex.terms(hit.title))
            chunk_terms = set(lex.terms(hit.text)) | title_terms
            chunk_cache[hit.position] = (
                sum(lex.idf(t) for t in q_terms if t in title_terms) / q_weight,
                sum(lex.idf(t) for t in q_terms if t in chunk_terms) / q_weight,
            )
        title_overlap, chunk_overlap = chunk_cache[hit.position]
        terms = lex.terms(text)
        bigrams = set(zip(terms, terms[1:], strict=False))
        novel_caps = len(_caps(text) - q_caps - {text.split()[0].lower().strip(".'’")})
        novel_number = float(bool(_numbers(text) - q_numbers))
        has_date = float(bool(_DATE_WORDS.search(text)))
        caps = min(novel_caps, 5) / 5
        n_words = len(text.split())
        period = info.period
        in_period = float(
            period is not None and hit.date is not None
            and (period.since is None or hit.date >= period.since)
            and (period.until is None or hit.date <= period.until)
        )  # fmt: skip
        days = None
        if asked is not None and hit.date is not None:
            days = (asked - date.fromisoformat(hit.date)).days
        rows.append([
            float(s_cos[i]), float(s_cos[i]) - best_cos, hit.dense, 1.0 / hit.rank,
            hit.lexical / max_bm25, overlaps[i], overlaps[i] - best_overlap,
            len(bigrams & q_bigrams) / max(1, len(q_bigrams)), title_overlap, chunk_overlap,
            caps, novel_number, has_date, *wh,
            wh[2] * caps, wh[3] * caps, (wh[6] + wh[7]) * caps, wh[1] * has_date,
            wh[0] * novel_number, (wh[6] + wh[7]) * novel_number,
            math.log1p(n_words) / 4, float(n_words < 6), float(bool(_PRONOUN_START.match(text))),
            float(index.chunks[hit.position].start == 0 and c.index_in_chunk == 0),
            float(c.index_in_chunk == 0), in_period, float(hit.date is None),
            math.log1p(max(days, 0)) / 8 if days is not None else 0.0,
            float(days is not None and days < 0), float(hit.doc_id == top_doc),
            float(s_cos[i]) * overlaps[i],
        ])  # fmt: skip
    return np.asarray(rows, dtype=np.float32).reshape(len(cands), len(FEATURES))


@dataclass(frozen=True)
class Ranker:
    """A logistic model over standardised features: P(sentence holds the answer)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.0  # calibrated abstain threshold on the probability

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path, extra: dict[str, object] | None = None) -> None:
        data = {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            **(extra or {}),
        }
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Ranker:
        data = json.loads(path.read_text())
        if data["features"] != list(FEATURES):
            raise ValueError(f"{path} was fitted on other features; run bench/train_ranker.py")
        return cls(
            np.asarray(data["mean"], np.float32),
            np.asarray(data["scale"], np.float32),
            np.asarray(data["coef"], np.float32),
            float(data["intercept"]),
            float(data.get("threshold", 0.0)),
        )


RANKER_PATH = Path(__file__).with_name("ranker.json")
