"""The reader: the packaged MiniLM fine-tuned to point at the answer inside a sentence.

The question and the sentence are read together ("[CLS] question [SEP] sentence [SEP]");
a start and an end score per word piece come out, and a candidate phrase of the span
picker scores the start score of its first piece plus the end score of its last. The
weights are fitted by `bench/train_reader.py` on the benchmarks' dev questions: the same
sentences and candidates the span scorer learns from, and for each question a sentence of
its gold document that does not answer, whose candidates it learns to score below "no
answer here" (the [CLS] piece's score), so that a sentence on the story that lacks the
detail asked scores low. They are stored in ``reader.npz`` beside this module as the
change from the packaged model (its transformer layers, int8 per row) plus the scoring
head, so the file is a fraction of the model's size.

Querying runs the graph in onnxruntime, like the encoder: the first use exports it once,
with torch (:func:`retrieval.encoder.onnx_export.export_reader`), into the model cache,
under a key of ``reader.npz`` itself, so new weights get a new graph.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from retrieval.settings import Settings

log = logging.getLogger(__name__)

READER_PATH = Path(__file__).with_name("reader.npz")
MAX_TOKENS = 256  # the model's window, question and sentence together


def pair_encoding(tokenizer: Any, question: str, sentence: str) -> Any:
    """The word pieces of the question and the sentence read together (a `tokenizers`
    Encoding), cut to the window by dropping from the longer of the two."""
    return tokenizer.encode(question, sentence)


def candidate_tokens(
    encoding: Any, spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """For each character span of the sentence, its first and last word piece; a span the
    window cut off points at the first piece ([CLS]), which no answer starts on."""
    pieces = [i for i, s in enumerate(encoding.sequence_ids) if s == 1]
    offsets = encoding.offsets
    starts = np.zeros(len(spans), dtype=np.int64)
    ends = np.zeros(len(spans), dtype=np.int64)
    for k, (a, b) in enumerate(spans):
        first = next((i for i in pieces if offsets[i][1] > a), None)
        last = next((i for i in reversed(pieces) if offsets[i][0] < b), None)
        if first is not None and last is not None and first <= last:
            starts[k], ends[k] = first, last
    return starts, ends


def weights_key(path: Path) -> str:
    """The first 12 hex digits of the weights file's sha256: the name of its graph."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a weights file, checked for the keys every file has."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays["meta"]))
        if meta.get("format") != 1 or "head.weight" not in arrays:
            raise ValueError("not a reader weights file of format 1")
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the reader weights {path}: {exc}") from None
    return arrays


class Reader:
    """Scores of a sentence's candidate phrases as answers to a question."""

    def __init__(self, model_dir: Path, onnx_path: Path) -> None:
        from retrieval.encoder.onnx import model_tokenizer, session

        self.tokenizer = model_tokenizer(model_dir, MAX_TOKENS)
        self.session = session(onnx_path)
        # The last pairs read: an answer reads its best sentences, then the quoted one
        # again for the bold span.
        self._read = lru_cache(maxsize=16)(self._read_pair)

    @classmethod
    def load(cls, model: str, cache_root: Path, weights: Path = READER_PATH) -> Reader:
        """The reader of ``weights`` for the packaged ``model``, exported first if missing."""
        from retrieval.encoder.base import resolve_model
        from retrieval.encoder.onnx import cache_dir

        read_weights(weights)  # a clear message for a bad file before any export
        model_dir = Path(resolve_model(model))
        folder = cache_dir(model, cache_root) / f"reader-{weights_key(weights)}"
        path = folder / "int8.onnx"
        if not (path.is_file() and (folder / "int8.json").is_file()):
            from retrieval.encoder.onnx_export import export_reader

            log.info("exporting the reader to ONNX in %s, once", folder)
            export_reader(model_dir, weights, folder)
        return cls(model_dir, path)

    def scores(self, question: str, sentence: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """One score per character span of ``sentence``: higher, more likely the answer."""
        if not spans:
            return np.zeros(0)
        e, logits = self._read(question, sentence)
        starts, ends = candidate_tokens(e, spans)
        return logits[starts, 0] + logits[ends, 1]

    def _read_pair(self, question: str, sentence: str) -> tuple[Any, np.ndarray]:
        """The pair's encoding and its start and end score per word piece."""
        e = pair_encoding(self.tokenizer, question, sentence)
        feed = {
            "input_ids": np.array([e.ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(e.ids)), dtype=np.int64),
            "token_type_ids": np.array([e.type_ids], dtype=np.int64),
        }
        logits = np.asarray(self.session.run(None, feed)[0][0], dtype=float)
        logits.flags.writeable = False
        return e, logits

    def best(
        self, question: str, sentences: Sequence[tuple[str, Sequence[tuple[int, int]]]]
    ) -> np.ndarray:
        """For each (sentence, candidate spans), the score of its best candidate as an
        answer to the question (-inf for a sentence without candidates). Each sentence is
        read alone: a padded batch is no faster here, and int8 activations are scaled per
        batch, so a sentence would score by the company it is read in."""
        return np.array([
            float(self.scores(question, s, spans).max()) if spans else -np.inf
            for s, spans in sentences
        ])  # fmt: skip


@cache
def shipped_reader(model: str, cache_root: Path) -> Reader:
    """The reader of ``reader.npz`` for ``model``, loaded once per process."""
    return Reader.load(model, cache_root)


def load_reader(settings: Settings) -> Reader | None:
    """The reader the settings ask for: None when ``NEWSQA_READER=off`` or for a model
    other than the packaged one (the reader is fine-tuned from it)."""
    from retrieval.encoder.base import is_packaged

    if settings.reader == "off" or not is_packaged(settings.model):
        return None
    return shipped_reader(settings.model, settings.model_cache)
