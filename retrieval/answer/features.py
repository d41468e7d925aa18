"""Candidate answer sentences and the features a small learned ranker scores them by.

The features are shared by the answer engine and the script that fits the ranker's
weights (`bench/train_ranker.py`), so training and serving can never drift apart.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from retrieval.answer.question import WH_TYPES, QuestionInfo
from retrieval.search.retriever import Hit, Retriever

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
    "s_cos", "s_cos_gap", "s_cos_rank", "c_cos", "c_rank_inv", "c_bm25_rel", "overlap",
    "overlap_gap", "overlap_rank", "coverage", "bigrams", "ctx_overlap", "ctx_cos",
    "title_overlap", "chunk_overlap", "doc_best_cos", "doc_hits", "novel_caps",
    "novel_number", "has_date", "novel_terms", *(f"wh_{w}" for w in WH_TYPES),
    "who_caps", "where_caps", "what_caps", "when_date", "howmany_number", "what_number",
    "log_words", "short", "pronoun_start", "doc_first", "chunk_first", "in_period",
    "undated", "log_days_older", "top_doc", "s_cos_x_overlap",
    "question_words",
)  # fmt: skip


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, 1/2 for the next, ... (ties share the better rank)."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(1, len(values) + 1)
    return 1.0 / ranks


def featurize(
    info: QuestionInfo,
    qvec: np.ndarray,
    retriever: Retriever,
    cands: list[Candidate],
) -> np.ndarray:
    """One row of features per candidate, in the order of FEATURES."""
    if not cands:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    lex = retriever.lexical
    index = retriever.index
    q_terms = list(dict.fromkeys(lex.terms(info.text)))
    q_idf = {t: lex.idf(t) for t in q_terms}
    q_weight = sum(q_idf.values()) or 1.0
    q_bigrams = set(itertools.pairwise(q_terms))
    q_caps, q_numbers = _caps(info.text), _numbers(info.text)

    def overlap(terms: set[str]) -> float:
        return sum(w for t, w in q_idf.items() if t in terms) / q_weight

    s_cos = index.sentence_vectors[[c.row for c in cands]] @ qvec
    term_lists = [lex.terms(c.text) for c in cands]
    term_sets = [set(t) for t in term_lists]
    overlaps = np.array([overlap(t) for t in term_sets], dtype=np.float32)
    coverage = np.array([len(t & set(q_terms)) / max(1, len(q_terms)) for t in term_sets])

    # Context: the sentence with its neighbours in the same chunk.
    ctx_overlap, ctx_cos = np.zeros(len(cands)), np.zeros(len(cands))
    chunk_feats: dict[int, tuple[float, float]] = {}
    for i, c in enumerate(cands):
        pos = c.hit.position
        rows = index.sentence_rows(pos)
        chunk = index.chunks[pos]
        lo, hi = max(0, c.index_in_chunk - 1), min(len(rows), c.index_in_chunk + 2)
        window = chunk.text[chunk.sentences[lo][0] : chunk.sentences[hi - 1][1]]
        ctx_overlap[i] = overlap(set(lex.terms(window)))
        ctx_vec = index.sentence_vectors[rows.start + lo : rows.start + hi].mean(axis=0)
        ctx_cos[i] = float(ctx_vec @ qvec / (np.linalg.norm(ctx_vec) or 1.0))
        if pos not in chunk_feats:
            title_terms = set(lex.terms(c.hit.title))
            chunk_feats[pos] = (
                overlap(title_terms),
                overlap(set(lex.terms(chunk.text)) | title_terms),
            )
    doc_best: dict[str, float] = {}
    doc_hits: dict[str, int] = {}
    for i, c in enumerate(cands):
        doc_best[c.hit.doc_id] = max(doc_best.get(c.hit.doc_id, -1.0), float(s_cos[i]))
    for pos in {c.hit.position for c in cands}:
        d = index.chunks[pos].doc_id
        doc_hits[d] = doc_hits.get(d, 0) + 1

    # Age counts from the newest candidate story (not from the asking time), so that an
    # archive of old news is not penalised as a whole.
    dated = [date.fromisoformat(c.hit.date).toordinal() for c in cands if c.hit.date]
    newest = max(dated) if dated else None
    best_cos, best_overlap = float(s_cos.max()), float(overlaps.max())
    cos_rank, overlap_rank = _ranks(s_cos), _ranks(overlaps + 1e-3 * s_cos)
    max_bm25 = max(c.hit.lexical for c in cands) or 1.0
    top_doc = cands[0].hit.doc_id
    wh = {w: float(info.wh == w) for w in WH_TYPES}
    what = wh["what"] + wh["other"]
    q_words = math.log1p(len(info.text.split())) / 4
    rows_out = []
    for i, c in enumerate(cands):
        text, hit = c.text, c.hit
        title_overlap, chunk_overlap = chunk_feats[hit.position]
        bigrams = set(itertools.pairwise(term_lists[i]))
        first_word = text.split()[0].lower().strip(".'’\"“") if text.split() else ""
        caps = min(len(_caps(text) - q_caps - {first_word}), 5) / 5
        novel_number = float(bool(_numbers(text) - q_numbers))
        # A dated news story answers "when" with its date, wherever the sentence is silent.
        has_date = float(bool(_DATE_WORDS.search(text)) or (info.wh == "when" and bool(hit.date)))
        novel_terms = len(term_sets[i] - set(q_terms)) / max(1, len(term_sets[i]))
        n_words = len(text.split())
        period = info.period
        in_period = float(
            period is not None and hit.date is not None
            and (period.since is None or hit.date >= period.since)
            and (period.until is None or hit.date <= period.until)
        )  # fmt: skip
        days = None
        if hit.date is not None and newest is not None:
            days = newest - date.fromisoformat(hit.date).toordinal()
        rows_out.append([
            float(s_cos[i]), float(s_cos[i]) - best_cos, cos_rank[i], hit.dense, 1.0 / hit.rank,
            hit.lexical / max_bm25, overlaps[i], overlaps[i] - best_overlap, overlap_rank[i],
            coverage[i], len(bigrams & q_bigrams) / max(1, len(q_bigrams)), ctx_overlap[i],
            ctx_cos[i], title_overlap, chunk_overlap, doc_best[hit.doc_id],
            min(doc_hits[hit.doc_id], 5) / 5, caps, novel_number, has_date, novel_terms,
            *wh.values(),
            wh["who"] * caps, wh["where"] * caps, what * caps, wh["when"] * has_date,
            wh["how_many"] * novel_number, what * novel_number,
            math.log1p(n_words) / 4, float(n_words < 6), float(bool(_PRONOUN_START.match(text))),
            float(index.chunks[hit.position].start == 0 and c.index_in_chunk == 0),
            float(c.index_in_chunk == 0), in_period, float(hit.date is None),
            math.log1p(max(days, 0)) / 8 if days is not None else 0.0,
            float(hit.doc_id == top_doc),
            float(s_cos[i]) * float(overlaps[i]), q_words,
        ])  # fmt: skip
    return np.asarray(rows_out, dtype=np.float32)


_CALIBRATION_FEATURES = [
    FEATURES.index(n) for n in ("s_cos", "overlap", "c_cos", "chunk_overlap", "coverage")
]


def calibration_inputs(scores: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Top score, its margin over the next, and the top sentence's match features."""
    order = np.argsort(-scores)
    top = float(scores[order[0]])
    margin = top - float(scores[order[1]]) if len(scores) > 1 else 5.0
    return np.array([top, min(margin, 5.0), *features[order[0], _CALIBRATION_FEATURES]])


@dataclass(frozen=True)
class Ranker:
    """Scores candidate sentences with a small two-layer network, trained listwise so
    that the answer-bearing sentence of a question scores highest; a logistic calibration
    of the top score (and its margin over the next) gives the answer's confidence."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # hidden x features
    b1: np.ndarray
    w2: np.ndarray  # hidden
    b2: float
    calibration: tuple[float, ...] = (1.0,) + (0.0,) * 7  # see calibration_inputs
    threshold: float = 0.5  # abstain below this confidence
    neighbour_margin: float = 1.0  # score gap within which an adjacent sentence is quoted too

    def scores(self, features: np.ndarray) -> np.ndarray:
        h = np.maximum(((features - self.mean) / self.scale) @ self.w1.T + self.b1, 0.0)
        return h @ self.w2 + self.b2

    def confidence(self, scores: np.ndarray, features: np.ndarray) -> float:
        """Calibrated probability that the top-scored sentence holds the answer.

        The ranker's scores only order one question's sentences; whether the best of them
        answers at all also depends on how well it matches the question, so the calibration
        sees the top score and margin together with the best sentence's similarity, term
        overlap and passage similarity. Out-of-corpus questions fall below the threshold.
        """
        if len(scores) == 0:
            return 0.0
        z = float(np.dot(self.calibration[:-1], calibration_inputs(scores, features)))
        return float(1.0 / (1.0 + math.exp(-(z + self.calibration[-1]))))

    def save(self, path: Path, extra: dict[str, object] | None = None) -> None:
        data = {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "w1": self.w1.tolist(),
            "b1": self.b1.tolist(),
            "w2": self.w2.tolist(),
            "b2": self.b2,
            "calibration": list(self.calibration),
            "threshold": self.threshold,
            "neighbour_margin": self.neighbour_margin,
            **(extra or {}),
        }
        path.write_text(json.dumps(data) + "\n")

    @classmethod
    def load(cls, path: Path) -> Ranker:
        data = json.loads(path.read_text())
        if data.get("features") != list(FEATURES):
            raise ValueError(f"{path} was fitted on other features; run bench/train_ranker.py")
        f32 = np.float32
        return cls(
            np.asarray(data["mean"], f32), np.asarray(data["scale"], f32),
            np.asarray(data["w1"], f32), np.asarray(data["b1"], f32),
            np.asarray(data["w2"], f32), float(data["b2"]),
            tuple(data["calibration"]), float(data["threshold"]),
            float(data.get("neighbour_margin", 1.0)),
        )  # fmt: skip


RANKER_PATH = Path(__file__).with_name("ranker.json")
