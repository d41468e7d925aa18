"""Candidate answer sentences and the features a small learned ranker scores them by.

The features are shared by the answer engine and the script that fits the ranker's
weights (`bench/train_ranker.py`), so training and serving can never drift apart. Rows are
built by feature name (:data:`FEATURES` is the one order), and the ranker file records the
names it was fitted on (:mod:`retrieval.answer.ranker` checks them on load).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from retrieval.answer.phrases import FUNCTION, QUANTITY, WH_HEAD, stem, tokens
from retrieval.answer.question import WH_TYPES, QuestionInfo
from retrieval.dates import DATE_WORDS, day_number
from retrieval.search.lexical import Lexical
from retrieval.search.retriever import Hit

_CAPS = re.compile(r"\b[A-Z][\w'’.-]*")
_NUMBER = re.compile(r"\d[\d,.]*")
_PRONOUN_START = re.compile(r"^(?:He|She|It|They|This|That|These|Those|His|Her|Its|Their)\b")

NEAR_COS = 0.15  # candidates within this cosine of the best one are "about as close"
STALE_DAYS = 30.0  # days between the newest story and the question before recency fades

#: Sentence vectors by row (``Retriever.sentence_vectors``): what candidates need of the store.
SentenceVectors = Callable[[Sequence[int]], np.ndarray]


@dataclass(frozen=True, eq=False)
class Candidate:
    """One sentence of a retrieved chunk, with its vector and its context's vector
    (the unit mean of the sentence and its neighbours in the chunk)."""

    hit: Hit
    row: int  # row in the index's sentence vectors
    index_in_chunk: int
    start: int  # span in hit.text
    end: int
    vector: np.ndarray
    context: np.ndarray

    @property
    def text(self) -> str:
        return self.hit.text[self.start : self.end]

    @property
    def window(self) -> str:
        """The sentence with its neighbours in the chunk."""
        spans = self.hit.sentences
        lo, hi = max(0, self.index_in_chunk - 1), min(len(spans), self.index_in_chunk + 2)
        return self.hit.text[spans[lo][0] : spans[hi - 1][1]]


def candidates(hits: Sequence[Hit], sentence_vectors: SentenceVectors) -> list[Candidate]:
    """Every sentence of the hits, each sentence of a document only once (its best hit)."""
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        rows = range(hit.first_row, hit.first_row + len(hit.sentences))
        vectors = sentence_vectors(list(rows))
        for j, (a, b) in enumerate(hit.sentences):
            key = (hit.doc_id, hit.chunk_start + a)
            if key in seen:
                continue
            seen.add(key)
            ctx = vectors[max(0, j - 1) : j + 2].mean(axis=0)
            ctx = ctx / (np.linalg.norm(ctx) or 1.0)
            out.append(Candidate(hit, rows[j], j, a, b, vectors[j], ctx))
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
    "question_words", "head_match", "quantity_number", "soft_overlap", "soft_overlap_gap",
    "term_density", "term_spread", "novel_after",
)  # fmt: skip


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, 1/2 for the next, ... (ties share the better rank)."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(1, len(values) + 1)
    return 1.0 / ranks


def _window(terms: Sequence[str], wanted: set[str]) -> int:
    """Length of the shortest run of ``terms`` holding every term of ``wanted`` that occurs
    in them (0 when none does)."""
    need = len(wanted.intersection(terms))
    if not need:
        return 0
    best, have, lo = len(terms), 0, 0
    counts: dict[str, int] = {}
    for hi, t in enumerate(terms):
        if t in wanted:
            counts[t] = counts.get(t, 0) + 1
            have += counts[t] == 1
        while have == need:
            best = min(best, hi - lo + 1)
            if terms[lo] in wanted:
                counts[terms[lo]] -= 1
                have -= counts[terms[lo]] == 0
            lo += 1
    return best


def _is_content(word: str) -> bool:
    """A word that says what a text is about (lower-cased): no function word, no scrap."""
    return word not in FUNCTION and len(word) > 2


def _content_stems(text: str) -> set[str]:
    return {stem(t.lower) for t in tokens(text) if _is_content(t.lower)}


def freshness(asked: date | None, newest: int | None) -> float:
    """How far the recency prior applies: fully to news of the moment (the newest candidate
    story at most STALE_DAYS older than the question), fading by e every STALE_DAYS beyond.
    Asked of an archive years later, a question wants the story that answers it, not the
    archive's last word on the subject; an unknown asking day counts as the moment."""
    if asked is None or newest is None:
        return 1.0
    stale = day_number(asked) - newest
    return math.exp(-max(stale - STALE_DAYS, 0.0) / STALE_DAYS)


#: The question words, terms like any other to the lexical index (not stop words there).
QUESTION_WORDS = "who whom whose what which when where why how many much"

#: What :func:`presence` says of a candidate, in order: calibration inputs of the
#: confidence (`ranker.calibration_inputs`), not ranker features: they say whether the
#: best sentence answers at all, not which sentence is best.
PRESENCE = ("head_missing", "rarest_missing")


def presence(info: QuestionInfo, cand: Candidate, lexical: Lexical) -> np.ndarray:
    """Whether the sentence with its neighbours lacks what the question names, in the
    order of :data:`PRESENCE`, each 1.0 or 0.0:

    - ``head_missing``: the noun a "what X" or "which X" question asks about (not a
      quantity; not a function word, as "did" in "What did ...") is not there. An answer
      often names the thing without the word ("Which company filed for bankruptcy?"
      against "Peabody Energy files for bankruptcy"), so this input mostly corrects the
      term overlap of such answers;
    - ``rarest_missing``: the question's rarest term (highest idf; question words aside,
      which a small corpus may never use) is not there: the
      sentence is on the story, not on the detail asked ("Who resigned as Ukraine's prime
      minister?" against a Kyrgyz prime minister's resignation).
    """
    window = cand.window
    head = WH_HEAD.search(info.text)
    word = head.group(1).lower() if head else ""
    # "What did ...", "What U.S. state ...": the word after "what" is no noun, and such a
    # word is never among a text's content stems, so it would always count as missing.
    head_gone = (
        _is_content(word) and info.wh != "how_many" and stem(word) not in _content_stems(window)
    )
    asking = set(lexical.terms(QUESTION_WORDS))
    terms = [t for t in dict.fromkeys(lexical.terms(info.text)) if t not in asking]
    rarest = max(terms, key=lexical.idf) if terms else None  # the first of equals
    rarest_gone = rarest is not None and rarest not in set(lexical.terms(window))
    return np.array([float(head_gone), float(rarest_gone)])


def featurize(
    info: QuestionInfo,
    qvec: np.ndarray,
    lexical: Lexical,
    cands: Sequence[Candidate],
) -> np.ndarray:
    """One row of features per candidate, columns in the order of FEATURES.

    Each feature is computed as a named column; the matrix is assembled from the names, so
    adding or moving a feature cannot shift the others.
    """
    if not cands:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    lex = lexical
    n = len(cands)
    q_terms = list(dict.fromkeys(lex.terms(info.text)))
    q_idf = {t: lex.idf(t) for t in q_terms}
    q_weight = sum(q_idf.values()) or 1.0
    q_bigrams = set(itertools.pairwise(q_terms))
    q_caps, q_numbers = _caps(info.text), _numbers(info.text)

    def overlap(terms: set[str]) -> float:
        return sum(w for t, w in q_idf.items() if t in terms) / q_weight

    def column(values: Sequence[float] | np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    col: dict[str, np.ndarray] = {}
    s_cos = np.stack([c.vector for c in cands]) @ qvec
    texts = [c.text for c in cands]
    term_lists = [lex.terms(t) for t in texts]
    term_sets = [set(t) for t in term_lists]
    overlaps = np.array([overlap(t) for t in term_sets], dtype=np.float32)
    col["s_cos"] = column(s_cos)
    col["s_cos_gap"] = column(s_cos - float(s_cos.max()))
    col["s_cos_rank"] = column(_ranks(s_cos))
    col["c_cos"] = column([c.hit.dense for c in cands])
    col["c_rank_inv"] = column([1.0 / c.hit.rank for c in cands])
    max_bm25 = max(c.hit.lexical for c in cands) or 1.0
    col["c_bm25_rel"] = column([c.hit.lexical / max_bm25 for c in cands])
    col["overlap"] = column(overlaps)
    col["overlap_gap"] = column(overlaps - float(overlaps.max()))
    col["overlap_rank"] = column(_ranks(overlaps + 1e-3 * s_cos))
    col["coverage"] = column([len(t & set(q_terms)) / max(1, len(q_terms)) for t in term_sets])
    col["bigrams"] = column(
        [len(set(itertools.pairwise(t)) & q_bigrams) / max(1, len(q_bigrams)) for t in term_lists]
    )
    # Context: the sentence with its neighbours in the same chunk.
    col["ctx_overlap"] = column([overlap(set(lex.terms(c.window))) for c in cands])
    col["ctx_cos"] = column([float(c.context @ qvec) for c in cands])
    chunk_feats: dict[int, tuple[float, float]] = {}
    for c in cands:
        if c.hit.position not in chunk_feats:
            title_terms = set(lex.terms(c.hit.title))
            chunk_feats[c.hit.position] = (
                overlap(title_terms),
                overlap(set(lex.terms(c.hit.text)) | title_terms),
            )
    col["title_overlap"] = column([chunk_feats[c.hit.position][0] for c in cands])
    col["chunk_overlap"] = column([chunk_feats[c.hit.position][1] for c in cands])
    doc_best: dict[str, float] = {}
    for i, c in enumerate(cands):
        doc_best[c.hit.doc_id] = max(doc_best.get(c.hit.doc_id, -1.0), float(s_cos[i]))
    doc_chunks: dict[str, set[int]] = {}
    for c in cands:
        doc_chunks.setdefault(c.hit.doc_id, set()).add(c.hit.position)
    col["doc_best_cos"] = column([doc_best[c.hit.doc_id] for c in cands])
    col["doc_hits"] = column([min(len(doc_chunks[c.hit.doc_id]), 5) / 5 for c in cands])

    wh = {w: float(info.wh == w) for w in WH_TYPES}
    what = wh["what"] + wh["other"]
    caps = np.zeros(n)
    for i, text in enumerate(texts):
        first_word = text.split()[0].lower().strip(".'’\"“") if text.split() else ""
        caps[i] = min(len(_caps(text) - q_caps - {first_word}), 5) / 5
    novel_number = column([float(bool(_numbers(t) - q_numbers)) for t in texts])
    # A dated news story answers "when" with its date, wherever the sentence is silent.
    has_date = column(
        [float(bool(DATE_WORDS.search(c.text)) or (info.wh == "when" and bool(c.hit.date)))
         for c in cands]
    )  # fmt: skip
    col["novel_caps"], col["novel_number"], col["has_date"] = caps, novel_number, has_date
    col["novel_terms"] = column([len(t - set(q_terms)) / max(1, len(t)) for t in term_sets])
    for w in WH_TYPES:
        col[f"wh_{w}"] = np.full(n, wh[w])
    col["who_caps"], col["where_caps"], col["what_caps"] = (
        wh["who"] * caps,
        wh["where"] * caps,
        what * caps,
    )
    col["when_date"] = wh["when"] * has_date
    col["howmany_number"], col["what_number"] = wh["how_many"] * novel_number, what * novel_number

    n_words = np.array([len(t.split()) for t in texts])
    col["log_words"] = column(np.log1p(n_words) / 4)
    col["short"] = column(n_words < 6)
    col["pronoun_start"] = column([bool(_PRONOUN_START.match(t)) for t in texts])
    col["doc_first"] = column([c.hit.chunk_start == 0 and c.index_in_chunk == 0 for c in cands])
    col["chunk_first"] = column([c.index_in_chunk == 0 for c in cands])
    period = info.period
    col["in_period"] = column([
        period is not None and c.hit.date is not None
        and (period.since is None or c.hit.date >= period.since)
        and (period.until is None or c.hit.date <= period.until)
        for c in cands
    ])  # fmt: skip
    col["undated"] = column([c.hit.date is None for c in cands])
    # Age counts from the newest candidate story (not from the asking time), so that an
    # archive of old news is not penalised as a whole.
    # Only candidates about as close to the question as the best count: a newer story on
    # another subject (a Related headline from a year later) must not age the answer.
    near = float(s_cos.max()) - NEAR_COS
    dated = [day_number(c.hit.date) for c, s in zip(cands, s_cos, strict=True)
             if c.hit.date and s >= near]  # fmt: skip
    newest = max(dated) if dated else None
    fresh = freshness(info.asked, newest)
    col["log_days_older"] = column([
        fresh * math.log1p(max(newest - day_number(c.hit.date), 0)) / 8
        if c.hit.date is not None and newest is not None else 0.0
        for c in cands
    ])  # fmt: skip
    col["top_doc"] = column([c.hit.doc_id == cands[0].hit.doc_id for c in cands])
    col["s_cos_x_overlap"] = column(s_cos.astype(np.float32) * overlaps)
    col["question_words"] = np.full(n, math.log1p(len(info.text.split())) / 4)
    _answer_kind_columns(col, info, texts)
    # Where the question's terms sit in the sentence: close together (the sentence says
    # what the question says), and how much follows the last of them (where answers sit).
    q_set = set(q_terms)
    windows = [_window(t, q_set) for t in term_lists]
    col["term_density"] = column(
        [
            len(q_set.intersection(t)) / w if w else 0.0
            for t, w in zip(term_lists, windows, strict=True)
        ]
    )
    col["term_spread"] = column(
        [w / max(1, len(t)) for t, w in zip(term_lists, windows, strict=True)]
    )
    after = []
    for terms in term_lists:
        at = [k for k, t in enumerate(terms) if t in q_set]
        after.append(min(sum(t not in q_set for t in terms[at[-1] + 1 :]), 10) / 10 if at else 0.0)
    col["novel_after"] = column(after)
    missing = set(FEATURES) ^ set(col)
    assert not missing, f"features computed and declared differ: {sorted(missing)}"
    return np.column_stack([col[name] for name in FEATURES]).astype(np.float32)


def _answer_kind_columns(col: dict[str, np.ndarray], info: QuestionInfo, texts: list[str]) -> None:
    """Checks that learn nothing from any corpus: the noun the question asks about ("what
    team", "which year") named in the sentence, a number new to the question when it asks
    for a quantity, and the share of the question's content words present in a loose form
    (a five-letter stem, so that "elected" meets "election") with its gap to the best."""
    head = WH_HEAD.search(info.text)
    head_stem = stem(head.group(1).lower()) if head else None
    quantity = info.wh == "how_many" or QUANTITY.search(info.text) is not None
    q_numbers = _numbers(info.text)
    q_stems = _content_stems(info.text)
    stems = [_content_stems(t) for t in texts]
    col["head_match"] = np.array([head_stem is not None and head_stem in s for s in stems], float)
    col["quantity_number"] = np.array(
        [quantity and bool(_numbers(t) - q_numbers) for t in texts], float
    )
    soft = np.array([len(s & q_stems) / max(1, len(q_stems)) for s in stems])
    col["soft_overlap"] = soft
    col["soft_overlap_gap"] = soft - soft.max()
