"""The answer ranker: a small network that scores candidate sentences, and the
calibration that turns the best score into the answer's confidence.

The weights live in ``ranker.json`` beside this module, written by
`bench/train_ranker.py` together with the feature names and order they were fitted on;
loading refuses a file whose names or order differ from :data:`features.FEATURES`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from retrieval.answer.features import FEATURES, PRESENCE
from retrieval.errors import ConfigError

_CALIBRATION_FEATURES = [
    FEATURES.index(n)
    for n in ("s_cos", "overlap", "c_cos", "chunk_overlap", "coverage", "ctx_overlap")
]
_C_COS = FEATURES.index("c_cos")

#: What the confidence is a logistic function of (see :func:`calibration_inputs`); the
#: ranker file records them, and loading refuses a file fitted on others.
CALIBRATION_INPUTS = (
    "top", "margin", "s_cos", "overlap", "c_cos", "chunk_overlap", "coverage",
    "ctx_overlap", "top_share", "best_passage_cos", *PRESENCE,
)  # fmt: skip


def calibration_inputs(scores: np.ndarray, features: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The inputs of the confidence, in the order of :data:`CALIBRATION_INPUTS`: the top
    score and its margin over the next, the top sentence's match features (similarity,
    term overlap of the sentence, its neighbours and its passage), the top sentence's
    share of the softmax over all candidates, and the best passage similarity of any
    candidate, and ``missing``: what the top sentence and its neighbours lack of what
    the question names (`features.presence` of the top candidate). All are on scales that
    do not depend on the corpus: cosines, shares of the question's terms, score
    differences within one question, and yes/no checks."""
    order = np.argsort(-scores)
    top = float(scores[order[0]])
    margin = top - float(scores[order[1]]) if len(scores) > 1 else 5.0
    share = 1.0 / float(np.exp(scores - top).sum())
    return np.array([
        top, min(margin, 5.0), *features[order[0], _CALIBRATION_FEATURES], share,
        float(features[:, _C_COS].max()), *missing,
    ])  # fmt: skip


def check_features(names: object, path: Path) -> None:
    """Raise ConfigError unless ``names`` are exactly FEATURES, in the same order."""
    if names == list(FEATURES):
        return
    if not isinstance(names, list):
        raise ConfigError(f"{path} names no features; run bench/train_ranker.py")
    wanted = set(FEATURES)
    missing, extra = wanted - set(names), set(names) - wanted
    if missing or extra:
        detail = f"missing {sorted(missing)}, unknown {sorted(extra)}"
    else:
        at = next(i for i, (a, b) in enumerate(zip(names, FEATURES, strict=True)) if a != b)
        detail = f"order differs at position {at} ({names[at]!r}, expected {FEATURES[at]!r})"
    raise ConfigError(f"{path} was fitted on other features ({detail}); run bench/train_ranker.py")


@dataclass(frozen=True)
class Reading:
    """How the quote is chosen when the reader reads the best sentences: its score's
    weight, and the neighbour margin on the scores with it added."""

    weight: float
    neighbour_margin: float


@dataclass(frozen=True)
class Ranker:
    """Scores candidate sentences with small two-layer networks, trained listwise so
    that the answer-bearing sentence of a question scores highest; the score is the mean
    of several such networks trained from different seeds (one network's choice among
    near-equal sentences moves with its seed, the mean's much less). A logistic
    calibration of the top score (and its margin over the next) gives the confidence."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # networks x hidden x features
    b1: np.ndarray  # networks x hidden
    w2: np.ndarray  # networks x hidden
    b2: np.ndarray  # networks
    calibration: tuple[float, ...] = (1.0,) + (0.0,) * len(CALIBRATION_INPUTS)  # weights, bias
    threshold: float = 0.5  # abstain below this confidence
    neighbour_margin: float = 1.0  # score gap within which an adjacent sentence is quoted too
    # How much the reader's best-answer score of a sentence adds to its score (0: the
    # reader is not asked); see `engine.read`.
    reader_weight: float = 0.0
    # The reader's weight and the neighbour margin fitted with it: what `reading` sets. The
    # confidence stays the ranker's own: neither refitting it on the scores with the
    # reader's added nor gating it by the reader's score served better (README).
    with_reader: Reading | None = None

    def reading(self) -> Ranker:
        """This ranker as used with the reader, or itself if the file has no such fit."""
        r = self.with_reader
        if r is None:
            return self
        return replace(
            self, neighbour_margin=r.neighbour_margin, reader_weight=r.weight, with_reader=None
        )

    def scores(self, features: np.ndarray) -> np.ndarray:
        x = (features - self.mean) / self.scale
        h = np.maximum(np.einsum("cf,nhf->nch", x, self.w1) + self.b1[:, None, :], 0.0)
        return (np.einsum("nch,nh->nc", h, self.w2) + self.b2[:, None]).mean(axis=0)

    @classmethod
    def stack(cls, rankers: list[Ranker]) -> Ranker:
        """One ranker averaging the networks of ``rankers`` (same features and scaling;
        calibration, threshold and margin are the first one's)."""
        first = rankers[0]
        return replace(
            first,
            w1=np.concatenate([r.w1 for r in rankers]),
            b1=np.concatenate([r.b1 for r in rankers]),
            w2=np.concatenate([r.w2 for r in rankers]),
            b2=np.concatenate([r.b2 for r in rankers]),
        )

    def confidence(self, scores: np.ndarray, features: np.ndarray, missing: np.ndarray) -> float:
        """Calibrated probability that the corpus answers the question (the answer is then
        the top-scored sentence).

        The ranker's scores only order one question's sentences; whether the best of them
        answers at all also depends on how well it matches the question, so the calibration
        sees the top score, margin and softmax share together with the best sentence's
        similarity, term overlap and passage similarity. It is fitted on questions asked of
        a corpus that holds their answer and of corpora that do not (another corpus, or
        the same one with every passage holding the answer taken out), so questions whose
        answer the corpus lacks fall below the threshold. ``missing`` is
        `features.presence` of the top-scored candidate.
        """
        if len(scores) == 0:
            return 0.0
        return self.calibrated(calibration_inputs(scores, features, missing))

    def calibrated(self, inputs: np.ndarray) -> float:
        """The confidence for calibration ``inputs`` (:func:`calibration_inputs`)."""
        z = float(np.dot(self.calibration[:-1], inputs))
        return float(1.0 / (1.0 + math.exp(-(z + self.calibration[-1]))))

    def save(self, path: Path, extra: dict[str, object] | None = None) -> None:
        data = {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "w1": self.w1.tolist(),
            "b1": self.b1.tolist(),
            "w2": self.w2.tolist(),
            "b2": self.b2.tolist(),
            "networks": len(self.b2),
            "calibration": list(self.calibration),
            "calibration_inputs": list(CALIBRATION_INPUTS),
            "threshold": self.threshold,
            "neighbour_margin": self.neighbour_margin,
            "with_reader": (
                None
                if self.with_reader is None
                else {
                    "weight": self.with_reader.weight,
                    "neighbour_margin": self.with_reader.neighbour_margin,
                }
            ),
            **(extra or {}),
        }
        path.write_text(json.dumps(data) + "\n")

    @classmethod
    def load(cls, path: Path) -> Ranker:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the ranker file {path}: {exc}") from None
        check_features(data.get("features"), path)
        if data.get("calibration_inputs") != list(CALIBRATION_INPUTS):
            raise ConfigError(
                f"{path} was calibrated on other inputs than {list(CALIBRATION_INPUTS)}; "
                "run bench/train_ranker.py"
            )
        f32 = np.float32
        try:
            arrays = {
                k: np.asarray(data[k], f32) for k in ("mean", "scale", "w1", "b1", "w2", "b2")
            }
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"{path} holds no readable networks ({exc}); run bench/train_ranker.py"
            ) from None
        _check_shapes(arrays, data.get("networks"), path)
        reading = None
        if (r := data.get("with_reader")) is not None:
            try:
                reading = Reading(float(r["weight"]), float(r["neighbour_margin"]))
            except (KeyError, ValueError, TypeError) as exc:
                raise ConfigError(f"{path}: unreadable 'with_reader' ({exc!r})") from None
        return cls(
            arrays["mean"], arrays["scale"], arrays["w1"], arrays["b1"], arrays["w2"], arrays["b2"],
            tuple(data["calibration"]), float(data["threshold"]),
            float(data.get("neighbour_margin", 1.0)), with_reader=reading,
        )  # fmt: skip


def _check_shapes(arrays: dict[str, np.ndarray], networks: object, path: Path) -> None:
    """Raise ConfigError unless the arrays hold ``networks`` networks over FEATURES."""
    w1 = arrays["w1"]
    n = len(FEATURES)
    wanted: dict[str, tuple[int, ...]] = {"mean": (n,), "scale": (n,)}
    if w1.ndim == 3:
        wanted |= {"w1": (w1.shape[0], w1.shape[1], n), "b1": w1.shape[:2], "w2": w1.shape[:2],
                   "b2": w1.shape[:1]}  # fmt: skip
    wrong = [k for k, shape in wanted.items() if arrays[k].shape != shape]
    if w1.ndim != 3 or wrong or networks != w1.shape[0] or not w1.shape[0]:
        shapes = ", ".join(f"{k} {list(a.shape)}" for k, a in arrays.items())
        raise ConfigError(
            f"{path} does not hold {networks!r} networks over {n} features ({shapes}); "
            "run bench/train_ranker.py"
        )


RANKER_PATH = Path(__file__).with_name("ranker.json")
