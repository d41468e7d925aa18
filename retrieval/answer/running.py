"""Running stories: for a toll or a count that grows ("the latest death toll", "how many
have died"), the newest report up to the day the question is asked wins over an earlier
one that matches the question's words as well or better."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from retrieval.answer.features import FEATURES, Candidate
from retrieval.answer.question import QuestionInfo
from retrieval.answer.span import NUMBER_PHRASE

_LATEST = re.compile(r"\b(?:latest|so far|now|currently|still|rises?|rising|risen)\b", re.I)
_TALLY = re.compile(
    r"\b(?:toll|how many|number of|tally|count|killed|dead|died|deaths?|injured|missing)\b",
    re.I,
)
_OVERLAP = FEATURES.index("overlap")
# Ranker-score gap within which a newer report may take over; "latest" lifts the limit.
MARGIN = 2.0
SAME_STORY = 0.5  # of the best sentence's question-term overlap, at least


def is_running(info: QuestionInfo) -> bool:
    """Whether the question asks for a count that later reports may update."""
    return bool(_TALLY.search(info.text)) and (
        info.wh == "how_many" or bool(_LATEST.search(info.text))
    )


def newest_report(
    info: QuestionInfo, cands: Sequence[Candidate], scores: np.ndarray, features: np.ndarray,
    best: int,
) -> int | None:  # fmt: skip
    """A candidate from a newer report of the same story than ``best`` that gives a number,
    or None. Candidates are already limited to reports dated up to the asking day."""
    if not is_running(info) or cands[best].hit.date is None:
        return None
    margin = np.inf if _LATEST.search(info.text) else MARGIN
    floor = SAME_STORY * float(features[best, _OVERLAP])
    newer = [
        i
        for i, c in enumerate(cands)
        if c.hit.date is not None
        and c.hit.date > (cands[best].hit.date or "")
        and features[i, _OVERLAP] >= floor
        and scores[best] - scores[i] <= margin
        and NUMBER_PHRASE.search(c.text) is not None
    ]
    if not newer:
        return None
    return max(newer, key=lambda i: (cands[i].hit.date or "", float(scores[i])))
