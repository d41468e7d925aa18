"""Approximate FAISS indexes for large versions, and searching them with a row filter.

Below ``NEWSQA_ANN_MIN_CHUNKS`` chunks a version keeps an exact inner-product index. From
there on, exact search costs more than the rest of an answer, and the version gets an
inverted file with 8-bit scalar quantisation (``ivf-sq8``), chosen over HNSW by
``bench/scale.py`` on 384-d vectors drawn around real ones (2 cores): at 1M chunks its
recall@10 against exact search was 0.991 (64 lists visited) where HNSW (M=32, efSearch
512) fell to 0.949, at a quarter of HNSW's memory (~400 bytes per chunk), and date
filters cost it no recall; it builds about 2x slower. Its scores are approximate, so
candidates are rescored exactly with the version's float vectors, which are kept anyway
for the answer stage.

A date filter is a boolean row mask. When it leaves few rows, those rows are scored
exactly (cheaper than any index walk, and exact); otherwise the inverted lists are
searched with the mask as a FAISS selector, visiting more lists the fewer rows pass, so
a filtered search finds as many candidates as an unfiltered one.
"""

from __future__ import annotations

import math

import faiss
import numpy as np

ANN_TYPE = "ivf-sq8"
# Lists visited per query (of ~4 sqrt(n)). bench/scale.py, on the held-out half of its
# dev questions, with 32 and 64 taking turns per question: at 1M chunks 64 lists gave
# recall@10 0.991 at p50 1.7 ms and 32 gave 0.986 at 1.1 ms, but at 100k 32 fell to 0.963
# (64: 0.981). The search is a few percent of an answer's time, so recall wins. Rescoring
# depth hardly matters: 30 to 200 candidates gave the same recall.
NPROBE = 64
EXACT_ROWS = 50_000  # a filter leaving at most this many rows is searched exactly
HNSW_EF = 256  # for versions written with the earlier HNSW type
_TRAIN_PER_LIST = 40  # k-means wants ~40 points per centroid
_TRAIN_ITERATIONS = 10  # k-means rounds: training is most of the build; 10 loses no recall


def n_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: ~4 sqrt(n), with enough points to train each."""
    return max(1, min(int(4 * math.sqrt(n)), n // _TRAIN_PER_LIST))


def make_ann_index(vectors: np.ndarray, index_type: str) -> faiss.Index:
    """The approximate index of ``index_type`` over ``vectors`` (unit rows; inner product)."""
    n, dim = vectors.shape
    index: faiss.Index
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF
        if n:
            index.add(vectors)
        return index
    if index_type != ANN_TYPE:
        raise ValueError(f"unknown index type {index_type!r}")
    index = faiss.index_factory(dim, f"IVF{n_lists(n)},SQ8", faiss.METRIC_INNER_PRODUCT)
    if n:
        # A fixed sample keeps builds of the same vectors identical.
        rng = np.random.default_rng(0)
        take = min(n, _TRAIN_PER_LIST * n_lists(n))
        sample = vectors if take == n else vectors[np.sort(rng.choice(n, take, replace=False))]
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = _TRAIN_ITERATIONS
        ivf.cp.min_points_per_centroid = 1  # the sample is sized here; no warning about it
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.add(vectors)
    return index


def search_ann(
    faiss_index: faiss.Index,
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    allowed: np.ndarray | None,
    exact_rows: int = EXACT_ROWS,
    nprobe: int = NPROBE,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row with exact scores; ids of -1 pad short rows.

    ``allowed`` (one flag per row) limits the search; if it leaves at most ``exact_rows``
    rows, they are scored exactly. ``nprobe`` is the lists visited without a filter.
    """
    if allowed is not None:
        rows = np.flatnonzero(allowed)
        if len(rows) <= max(exact_rows, k):
            return _exact(vectors, rows, queries, k)
    # Rescoring reorders 8-bit scores; a margin keeps the true top-k among the fetched.
    fetch = min(len(vectors), max(2 * k, k + 50))
    # The selector reads ``bits`` during the search: it must outlive the call.
    bits = None if allowed is None else np.packbits(allowed.astype(bool), bitorder="little")
    _, ids = faiss_index.search(
        queries, fetch, params=_params(faiss_index, fetch, allowed, bits, nprobe)
    )
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for r, row in enumerate(ids):
        found = row[row >= 0]
        exact = vectors[found] @ queries[r]
        best = np.argsort(-exact, kind="stable")[:k]
        scores[r, : len(best)], out[r, : len(best)] = exact[best], found[best]
    return scores, out


def search_flat(
    faiss_index: faiss.Index, queries: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact search of a flat index, with ``allowed`` as a FAISS selector."""
    if allowed is None:
        return faiss_index.search(queries, k)
    # The selector reads ``bits`` during the search: it must outlive the call.
    bits = np.packbits(allowed.astype(bool), bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    return faiss_index.search(queries, k, params=params)


def _exact(
    vectors: np.ndarray, rows: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    if len(rows) == 0:
        return scores, out
    subset = vectors[rows]
    for r, q in enumerate(queries):
        s = subset @ q
        top = np.argsort(-s, kind="stable")[:k]
        scores[r, : len(top)], out[r, : len(top)] = s[top], rows[top]
    return scores, out


def _params(
    faiss_index: faiss.Index,
    fetch: int,
    allowed: np.ndarray | None,
    bits: np.ndarray | None,
    nprobe: int,
) -> faiss.SearchParameters:
    selector = None
    if allowed is not None and bits is not None:
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    fraction = 1.0 if allowed is None else max(float(allowed.mean()), 1e-9)
    if isinstance(faiss_index, faiss.IndexHNSW):
        hnsw = faiss.SearchParametersHNSW  # type: ignore[attr-defined]
        return hnsw(efSearch=max(HNSW_EF, fetch), sel=selector)
    nlist = faiss.extract_index_ivf(faiss_index).nlist
    # The fewer rows pass the filter, the more lists hold the same number of candidates.
    lists = min(nlist, math.ceil(nprobe / fraction))
    return faiss.SearchParametersIVF(nprobe=lists, sel=selector)  # type: ignore[call-arg]
