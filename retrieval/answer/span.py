"""The answer span: the words of a quoted sentence that answer the question, shown in bold.

Two pickers. :func:`answer_span` (the bold span) scores every candidate phrase of the
sentence (`retrieval.answer.phrases`: runs of up to six words that do not start or end on
a function word) with a scorer (linear, plus a small hidden layer) fitted on the
benchmarks' dev questions (`bench/train_span.py`, weights in ``span.json``), so that "What
did the authority approve?" marks "a floating solar farm" as readily as "Who ...?" marks a name.

:func:`typed_span` only proposes phrases of the kind the question asks for (a name for
"who", a number for "how many", a date for "when", a place for "where", a name for
"which"/"what") that the question does not already contain; of several, the one nearest
the words the sentence shares with the question wins: in "said NATO chief Jens
Stoltenberg, who will chair the talks with Moscow's envoy to NATO, Alexander Grushko",
asked "Who is Moscow's envoy?", Grushko sits beside "envoy" and Stoltenberg does not. Its
None means "this sentence holds no answer of the asked kind", which the engine's quote
rules rely on; the scorer also reads it as a feature.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from retrieval.answer import phrases
from retrieval.answer.question import QuestionInfo
from retrieval.answer.reader import Reader
from retrieval.dates import DATE_PHRASE
from retrieval.errors import ConfigError


def _word_set(words: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", words))


_NOT_NAMES = _word_set(
    "A An The This That These Those It Its He She His Her They Their We Our I In On At By "
    "For From But And Or If As After Before When While According Mr Mrs Ms Dr Meanwhile "
    "However Also So Yet Then There Here What Who Which Where Why How Some Many"
)
_CONNECTORS = _word_set("of de the von van al bin da di del la le")
_NAME = re.compile(r"[A-Z0-9][\w'’.&-]*")
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|hundreds|thousand|thousands|dozen|dozens|million|millions"
)
NUMBER_PHRASE = re.compile(
    r"(?<![\w.])(?:(?:about|nearly|almost|more than|over|some|up to|at least|around) )?"
    r"(?:[$€£]\s?)?(?:\d[\d,.]*\d|\d)(?:-\w+|bn|m|k)?"
    r"(?:\s?(?:%|percent|per cent|million|billion|thousand|trillion|bn))?"
    r"(?:\s+(?:votes?\s+)?to\s+\d[\d,.]*)?"
    rf"|\b(?:(?:{_NUMBER_WORDS})(?:[\s-]+(?:{_NUMBER_WORDS}))*)\b",
    re.I,
)
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|near|from|to|into|across|outside|inside)\s+(?:the\s+)?$", re.I
)
_WORD = re.compile(r"\w+")
_BY_BEFORE = re.compile(r"\bby\s+$", re.I)
_REACH = 10  # words within which a question word counts as near
_ABBREVIATION = re.compile(r"\([A-Z]{2,6}\)")
_COUNTED_REACH = 3  # words after a number within which what the question counts may stand
_QUESTION_STOP = _word_set(
    "a an the of in on at to for by with from and or is are was were be been did do does "
    "what which who whom whose when where why how many much has have had that this it its "
    "name s"
)


def _stem(word: str) -> str:
    return phrases.lemma_stem(word.lower())


def _names(sentence: str) -> list[tuple[int, int]]:
    """Runs of capitalised words (with "of", "de" ... inside), trimmed of function words."""
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[\w'’.&-]+", sentence)]
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not _NAME.fullmatch(tokens[i][2]) or tokens[i][2].isdigit():
            i += 1
            continue
        j = i
        while j + 1 < len(tokens):
            nxt = tokens[j + 1][2]
            gap = sentence[tokens[j][1] : tokens[j + 1][0]]
            if gap.strip():  # punctuation between words ends a name
                break
            if _NAME.fullmatch(nxt) and not nxt.isdigit():
                j += 1
            elif (
                nxt.lower() in _CONNECTORS
                and j + 2 < len(tokens)
                and _NAME.fullmatch(tokens[j + 2][2])
                and not sentence[tokens[j + 1][1] : tokens[j + 2][0]].strip()
            ):
                j += 2
            else:
                break
        words = tokens[i : j + 1]
        while words and words[0][2].rstrip(".") in _NOT_NAMES:
            words = words[1:]
        while words and (words[-1][2].lower() in _CONNECTORS or words[-1][2] in _NOT_NAMES):
            words = words[:-1]
        if words:
            last = words[-1][2]
            full_stop = last.endswith(".") and last.count(".") == 1 and len(last) > 3
            out.append((words[0][0], words[-1][1] - full_stop))
        i = j + 1
    return out


_TITLES = _word_set(
    "president vice minister prime foreign defence defense deputy secretary general "
    "secretary-general chief king queen prince princess pope senator governor mayor chancellor "
    "speaker judge leader commander director chairman chairwoman ceo sir lord envoy ambassador "
    "spokesman spokeswoman coach captain head gen gen. col. sgt. rep. sen. house"
)


def after_titles(sentence: str, start: int, end: int) -> int:
    """Where a person's name starts inside "NATO Secretary-General Jens Stoltenberg"."""
    cut = start
    for m in re.finditer(r"[\w'’.&-]+", sentence[start:end]):
        if m.group().lower() in _TITLES:
            cut = start + m.end()
    rest = sentence[cut:end]
    if cut == start or not rest.strip() or rest.strip()[0].islower():
        return start  # no name after the titles ("President of the United States")
    return cut + len(rest) - len(rest.lstrip())


def _candidates(wh: str, sentence: str) -> list[tuple[int, int]]:
    if wh == "quantity":
        return [(m.start(), m.end()) for m in NUMBER_PHRASE.finditer(sentence) if m.group()]
    if wh == "when":
        return [(m.start(), m.end()) for m in DATE_PHRASE.finditer(sentence)]
    if wh in ("who", "where", "what", "other"):
        return _names(sentence)
    return []


def is_abbreviation(sentence: str, start: int, end: int) -> bool:
    """Whether the phrase is an abbreviation alone in parentheses: "(AP)", "(TVR)"."""
    return _ABBREVIATION.fullmatch(sentence[max(0, start - 1) : end + 1]) is not None


def could_be_person(sentence: str, start: int, end: int) -> bool:
    """False for a name that cannot be the person a "who" asks for: "(AP)", "(TVR)" (a
    wire service or an abbreviation), or one capitalised word that only starts the
    sentence ("QUITO, Ecuador (AP) ...", "Voters in Peru go to the polls ...": a word
    that starts the sentence and is followed by a lower-case word other than a name's
    particle, as in "Francisco de Orellana")."""
    if is_abbreviation(sentence, start, end):
        return False
    first = next((i for i, ch in enumerate(sentence) if ch.isalnum()), 0)
    if start > first:
        return True
    words = sentence[start:end].split()
    return len(words) > 1 and not (words[1][:1].islower() and not phrases.is_particle(words[1]))


_CLAUSE_MARK = re.compile(r"[,;:]\s*$")


def _clause_starts(sentence: str, words: Sequence[re.Match[str]]) -> set[int]:
    """Which of ``words`` start a new clause: "and", "or", "but", or one after a comma,
    semicolon or colon."""
    gaps_from = [0, *(m.end() for m in words[:-1])]
    return {
        i
        for i, (m, gap_from) in enumerate(zip(words, gaps_from, strict=True))
        if m.group().lower() in ("and", "or", "but")
        or _CLAUSE_MARK.search(sentence, gap_from, m.start())
    }


def typed_span(info: QuestionInfo, sentence: str) -> tuple[int, int] | None:
    """The name, number, date or place of ``sentence`` that answers the question, or None
    when the sentence holds none of the kind asked for (the engine relies on this None:
    such a sentence holds no answer of that kind)."""
    wh = "quantity" if phrases.asks_quantity(info.wh, info.text) else info.wh
    q_words = [w for w in _WORD.findall(info.text.lower()) if w not in _QUESTION_STOP]
    q_all = {w.lower() for w in _WORD.findall(info.text)}
    q_stems = {_stem(w) for w in q_words if len(w) > 2}
    matches = list(_WORD.finditer(sentence))
    words_at = [m.start() for m in matches]
    anchors = [
        i for i, m in enumerate(matches) if len(m.group()) > 2 and _stem(m.group()) in q_stems
    ]
    first = next((i for i, ch in enumerate(sentence) if ch.isalnum()), 0)
    breaks = _clause_starts(sentence, matches) if wh == "quantity" else set()
    best: tuple[float, tuple[int, int]] | None = None
    for start, end in _candidates(wh, sentence):
        # "sworn in by X": X is the agent, not the answer, unless the question asks "by".
        agent = _BY_BEFORE.search(sentence[:start]) is not None and " by" not in info.text
        if wh == "who":
            start = after_titles(sentence, start, end)
        found = sentence[start:end]
        words = [w.lower() for w in _WORD.findall(found)]
        if not words or all(w in q_all or _stem(w) in q_stems for w in words):
            continue
        if start <= first and " " not in found and wh not in ("quantity", "when"):
            continue  # a capital that only starts the sentence
        if wh == "who" and not could_be_person(sentence, start, end):
            continue
        lo = bisect_left(words_at, start)
        hi = bisect_left(words_at, end)
        # Closeness to the question's words: each shared word within reach counts, more the
        # nearer it is (an answer sits beside what the question asks about).
        score = sum(
            max(0.0, 1 - max(lo - a, a - hi + 1) / _REACH) for a in anchors if not lo <= a < hi
        )
        score -= 1.0 * agent
        if wh == "quantity":
            # What a count counts follows it: "Thirteen are killed", "20 civilians".
            # ... in the same clause ("60 people and injures 300 others": "injures" does
            # not count the 60).
            clause_end = next((k for k in range(hi, len(words_at)) if k in breaks), len(words_at))
            score += 1.0 * any(hi <= a < min(hi + _COUNTED_REACH, clause_end) for a in anchors)
        score -= 0.5 * sum(w in q_all for w in words) / len(words)  # mostly the question's own
        if wh == "who" and len(words) >= 2:
            score += 0.1
        if wh == "where" and _PLACE_BEFORE.search(sentence[:start]):
            score += 0.3
        if best is None or score > best[0]:
            best = (score, (start, end))
    return best[1] if best else None


_HOW_MANY = re.compile(r"\bhow many\b", re.I)
_MONEY_ASKED = re.compile(
    r"[$€£]|\b(?:dollars?|euros?|pounds?|yuan|yen|rupees?|money|cost|price|worth)\b", re.I
)
_MONEY = re.compile(r"(?:\w+ )*[$€£]", re.I)  # "$50 billion", "about $3"
_MONEY_AFTER = re.compile(r"\s*(?:dollars?|euros?|pounds?|yuan|yen|rupees?|francs?)\b", re.I)
# Counts without a figure: "several types", "only a few", "none of the treaties",
# "half of Kenyans", "twice a year".
_VAGUE_COUNT = re.compile(
    r"\b(?:several|a few|none|half|once|twice|thrice|a couple|a handful|a single|dozens)\b",
    re.I,
)


def holds_count(question: str, text: str) -> bool:
    """False when ``question`` asks "how many" and ``text`` holds no count: no figure or
    number word other than a date or year (unless the question's own noun follows it:
    "2000 guests") or a sum of money (unless money is asked about), and no count without a
    figure ("several", "half", "twice"). "How many copies did Lemonade sell?" is not
    answered by "the best selling album of 2016", nor "How many submarines?" by "a $50
    billion contract". True for any other question."""
    if not _HOW_MANY.search(question) or _VAGUE_COUNT.search(text):
        return True
    q_stems = {_stem(w) for w in _WORD.findall(question.lower()) if w not in _QUESTION_STOP}
    dates = [m.span() for m in DATE_PHRASE.finditer(text)]
    money_asked = _MONEY_ASKED.search(question) is not None
    for m in NUMBER_PHRASE.finditer(text):
        start, end = m.span()
        if start == end:
            continue
        after = _WORD.findall(text, end, end + 40)[:3]
        counted = any(w.islower() and _stem(w) in q_stems for w in after)
        if not counted and any(a <= start and end <= b for a, b in dates):
            continue
        if not money_asked and (_MONEY.match(m.group()) or _MONEY_AFTER.match(text, end)):
            continue
        return True
    return False


@dataclass(frozen=True)
class Hidden:
    """A hidden layer added to the linear score: ``tanh(rows @ w + bias[type]) @ out``,
    so that features can weigh each other (a name counts for more beside a rare word of
    the question than at the end of the sentence)."""

    w: np.ndarray  # features x units (float32, as bias and out)
    bias: dict[str, np.ndarray]  # answer type -> units
    out: np.ndarray  # units


@dataclass(frozen=True)
class SpanScorer:
    """A score of candidate phrases (rows of `phrases.FEATURES`): one linear weight vector
    per answer type, plus an optional hidden layer, fitted by `bench/train_span.py` so
    that, of a sentence's candidates, one that holds the answer scores highest. A weights
    file without a hidden layer (the older format) scores linearly."""

    weights: dict[str, np.ndarray]  # answer type (phrases.WH_GROUPS) -> weights
    verbs: frozenset[str]  # words taken for verbs (see phrases.is_verb)
    hidden: Hidden | None = None

    def score(self, rows: np.ndarray, group: str) -> np.ndarray:
        """The score of each row (candidate) for a question of answer type ``group``."""
        z = rows @ self.weights[group]
        if self.hidden is not None:
            # Only the sentence's non-zero columns, in float32, with einsum's own loop: a
            # threaded BLAS product of this small size waits for its threads to wake and
            # tripled the time of a span on this shared machine.
            h = self.hidden
            used = np.flatnonzero(rows.any(axis=0))
            product = np.einsum("ij,jk->ik", rows[:, used].astype(np.float32), h.w[used])
            z = z + np.tanh(product + h.bias[group]) @ h.out
        return z

    @classmethod
    def load(cls, path: Path) -> SpanScorer:
        try:
            data = json.loads(path.read_text())
            names, max_words = data["features"], int(data["max_words"])
            weights = {g: np.array(data["weights"][g], dtype=float) for g in phrases.WH_GROUPS}
            verbs = frozenset(str(w) for w in data["verbs"])
            layer = data.get("hidden")
            hidden = None
            if layer is not None:
                hidden = Hidden(
                    np.array(layer["w"], dtype=np.float32),
                    {g: np.array(layer["bias"][g], dtype=np.float32) for g in phrases.WH_GROUPS},
                    np.array(layer["out"], dtype=np.float32),
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"cannot read span weights {path}: {exc}") from exc
        if names != list(phrases.FEATURES) or max_words != phrases.MAX_WORDS:
            raise ConfigError(f"{path} was fitted on other features; run bench/train_span.py")
        if any(w.shape != (len(names),) for w in weights.values()):
            raise ConfigError(f"{path} has weights of the wrong length")
        if hidden is not None:
            units = hidden.out.shape
            if (
                hidden.w.shape != (len(names), *units)
                or len(units) != 1
                or any(b.shape != units for b in hidden.bias.values())
            ):
                raise ConfigError(f"{path} has a hidden layer of the wrong shape")
        return cls(weights, verbs, hidden)

    def save(self, path: Path, note: dict[str, object]) -> None:
        def rounded(a: np.ndarray) -> object:
            return np.round(a.astype(float), 5).tolist()

        data: dict[str, object] = {
            **note,
            "features": list(phrases.FEATURES),
            "max_words": phrases.MAX_WORDS,
            "weights": {g: rounded(w) for g, w in self.weights.items()},
            "verbs": sorted(self.verbs),
        }
        if self.hidden is not None:
            h = self.hidden
            data["hidden"] = {
                "w": rounded(h.w),
                "bias": {g: rounded(b) for g, b in h.bias.items()},
                "out": rounded(h.out),
            }
        path.write_text(json.dumps(data) + "\n")


SPAN_PATH = Path(__file__).with_name("span.json")


@cache
def shipped_scorer() -> SpanScorer:
    """The scorer in ``span.json`` beside this module, read once."""
    return SpanScorer.load(SPAN_PATH)


def span_phrases(info: QuestionInfo, sentence: str, verbs: frozenset[str]) -> phrases.Phrases:
    """The candidate phrases of ``sentence`` and their feature rows."""
    return phrases.phrases(info.text, sentence, typed_span(info, sentence), verbs)


# A yes/no question starts with an auxiliary ("did X resign?", "is NATO going back to
# ...?"); but "is there any X?" asks for an X, "X or Y?" for one of them, and a repeated
# auxiliary ("Was was the plan ...?") is a garbled "what".
_YES_NO = re.compile(r"\s*(?:did|does|do|is|are|was|were|has|have|had)\s+(?!there\b)", re.I)
_YES_NO_NOT = re.compile(r"\bor\b|^\s*(did|does|do|is|are|was|were|has|have|had)\s+\1\b", re.I)


# How much the reader's score counts beside the span scorer's: of 1/2, 1, 2 and 4, the
# best on cross-validation of both benchmarks (`bench/train_reader.py`).
READER_WEIGHT = 2.0


def candidate_spans(
    info: QuestionInfo, sentence: str, scorer: SpanScorer | None = None
) -> list[tuple[int, int]]:
    """The candidate phrases of ``sentence`` that the span picker weighs for the question,
    but those made of the question's own words: what the reader scores a sentence by."""
    found = span_phrases(info, sentence, (scorer or shipped_scorer()).verbs)
    return [found.span(k) for k in range(len(found.rows)) if found.rows[k, ALL_Q] == 0]


def answer_span(
    info: QuestionInfo, sentence: str, scorer: SpanScorer | None = None,
    reader: Reader | None = None,
) -> tuple[int, int] | None:  # fmt: skip
    """The phrase of ``sentence`` (at most `phrases.MAX_WORDS` words) that answers the
    question, or None when every candidate is made of the question's own words. Each
    candidate scores the span scorer's score plus, with a ``reader``, its score weighted
    by READER_WEIGHT. For "who" the pick is among the person's names that the typed
    picker sees, when it sees one; for "how many" the phrase is the typed number or one
    that holds it."""
    found = _picked_span(info, sentence, scorer or shipped_scorer(), reader)
    if found is None or phrases.asks_quantity(info.wh, info.text):
        return found  # a count is marked without its article: "a $50 billion" reads badly
    return with_article(sentence, found[0]), found[1]


def _picked_span(
    info: QuestionInfo, sentence: str, scorer: SpanScorer, reader: Reader | None
) -> tuple[int, int] | None:
    if info.wh == "other" and _YES_NO.match(info.text) and not _YES_NO_NOT.search(info.text):
        return None  # "did yatsenyuk resign?": the quote says yes or no, no phrase of it
    if (who := identity_span(info.text, sentence, scorer.verbs)) is not None:
        return who
    group = phrases.wh_group(info.wh, info.text)
    typed = typed_span(info, sentence)
    found = phrases.phrases(info.text, sentence, typed, scorer.verbs)
    scores = scorer.score(found.rows, group)
    spans = [found.span(k) for k in range(len(scores))]
    if reader is not None:
        scores = scores + READER_WEIGHT * reader.scores(info.text, sentence, spans)
    scores[found.rows[:, ALL_Q] > 0] = -np.inf
    if group == "where":  # "(AP)" in a wire dateline is no place
        scores[[is_abbreviation(sentence, *span) for span in spans]] = -np.inf
    picked = choose(group, sentence, found.rows, spans, scores, typed)
    if picked is None:
        return typed if group in TYPED_FALLBACK else None
    if group == "how_many":
        start, end = _count_only(sentence, picked, typed, scorer.verbs)
        return start, _with_counted(info, sentence, end)
    if group in NAMES_ONLY and typed is not None:
        return _loser(info, sentence) or _without_asked_place(info, sentence, picked)
    if reader is not None:
        return picked[0], whole_name_end(sentence, picked[1])
    return picked


_ARTICLE_BEFORE = re.compile(r"\b(?:the|a|an)\s+$", re.I)


def with_article(sentence: str, start: int) -> int:
    """Where a phrase starts with the article right before it: the whole noun phrase, "the
    European Community" rather than "European Community", but not before a person's title
    ("Prime Minister Temir Sariyev") or a sum of money."""
    title = _WORD.match(sentence, start)
    money = sentence[start : start + 1] in ("$", "€", "£")
    if money or (title is not None and title.group().lower() in _TITLES):
        return start
    found = _ARTICLE_BEFORE.search(sentence, max(0, start - 5), start)
    return found.start() if found else start


_NAME_AFTER = re.compile(r" [A-Z][\w'’&-]*")


def whole_name_end(sentence: str, end: int) -> int:
    """The end of a span widened over the capitalised words right after it, so that a
    name is not cut ("Ostravia" -> "Ostravia Air" in "A hijacked Ostravia Air flight"):
    the reader sometimes ends an answer on a name's first word."""
    while end and sentence[end - 1].isalnum() and (m := _NAME_AFTER.match(sentence, end)):
        end = m.end()
    return end


_LOST_Q = re.compile(r"\b(?:lost|lose|loses|losing)\b", re.I)
_BEAT = re.compile(
    r"\b(?:beat|beats|defeat|defeats|defeated|overcame|overcomes|edged|edges|thrashed|"
    r"thrashes|routed|routs)\b(?!\s+by\b)",
    re.I,
)
_PASSIVE = re.compile(r"\b(?:is|are|was|were|been|being|be)\s+$", re.I)


def _loser(info: QuestionInfo, sentence: str) -> tuple[int, int] | None:
    """For "who lost ...?" of "X beat Y", Y: the first name after the verb (None where
    the question asks no loser or the sentence has no such verb, or says "lost" itself)."""
    if not _LOST_Q.search(info.text) or _LOST_Q.search(sentence):
        return None
    verb = _BEAT.search(sentence)
    if verb is None or _PASSIVE.search(sentence[: verb.start()]):
        return None
    q_all = {w.lower() for w in _WORD.findall(info.text)}
    for start, end in _names(sentence):
        words = [w.lower() for w in _WORD.findall(sentence[start:end])]
        if start >= verb.end() and not all(w in q_all for w in words):
            return after_titles(sentence, start, end), end
    return None


def _without_asked_place(
    info: QuestionInfo, sentence: str, picked: tuple[int, int]
) -> tuple[int, int]:
    """A person's name without the title and the place of it ("of X") that the question
    already gives ("who resigned in Kyrgyzstan?": "Temir Sariyev", not "Prime Minister of
    Kyrgyzstan Temir Sariyev"; "Arseniy Yatsenyuk", not "Ukraine Arseniy Yatsenyuk"),
    where at least two capitalised words remain."""
    q_all = {w.lower() for w in _WORD.findall(info.text)}
    words = list(re.finditer(r"[\w'’.&-]+", sentence[picked[0] : picked[1]]))
    before = sentence[: picked[0]].split()
    prev = before[-1].lower() if before else ""
    k, asked = 0, False
    while k < len(words):
        w = words[k].group()
        low = w.lower()
        if low in q_all and w[:1].isupper() and low not in _TITLES and prev == "of":
            asked = True  # the place of a title: "Prime Minister of Kyrgyzstan"
        elif not (low in _TITLES or low in _CONNECTORS):
            break
        k, prev = k + 1, low
    rest = words[k:]
    if (
        not asked
        or len(rest) < 2
        or rest[0].group().lower() in q_all  # the place goes on: "of Super Bowl V"
        or not all(m.group()[:1].isupper() for m in rest)
    ):
        return picked
    return picked[0] + rest[0].start(), picked[1]


# "Who is X?", "who's X", "who was X?" (X the rest of the question).
WHO_IS = re.compile(r"^\s*who(?:'s|\s+is|\s+was)\s+(?P<name>[^?]+?)\s*\??\s*$", re.I)
_DESCRIPTOR_WORDS = 6
_TOKEN = re.compile(r"[\w'’.&-]+")
_APPOSITIVE = re.compile(r",\s+(?P<np>(?:a|an|the)\s+[^,;()]+?)\s*(?:[,;(]|$|\.\s*$)", re.I)


def _in_name(word: str) -> bool:
    """A word of a person's name: capitalised or a particle, no title, no possessive."""
    capital = word[:1].isupper() or phrases.is_particle(word)
    return capital and word.lower() not in _TITLES and not re.search(r"['’]s?$", word)


def identity_span(question: str, sentence: str, verbs: frozenset[str]) -> tuple[int, int] | None:
    """For "Who is X?" (X a name) where the sentence names X: what the sentence says X
    is, the words before the name in its noun phrase ("Former slave Harriet Tubman",
    "Kenya's Deputy President William Ruto") or else an apposition after it ("Xulhaz
    Mannan, a Bangladeshi employee of a U.S. charity"); None when it has neither."""
    m = WHO_IS.match(question)
    name = m.group("name").split() if m else []
    if not name or len(name) > 4 or not all(_in_name(w) for w in name):
        return None  # no name: "Who was the inventor of ...?", "Who is Russia's Deputy ...?"
    last = name[-1].strip(".,'’")
    at = re.search(rf"\b{re.escape(last)}\b", sentence, re.I)
    if at is None:
        return None
    first = at.start()  # the name's first word: capitalised words just before its last
    for w in reversed(list(_TOKEN.finditer(sentence, 0, at.start()))):
        if sentence[w.end() : first].strip() or not w.group()[:1].isupper():
            break
        if w.group().lower() in _TITLES:
            break
        first = w.start()
    words: list[re.Match[str]] = []
    for w in reversed(list(_TOKEN.finditer(sentence, 0, first))):
        between = sentence[w.end() : (words[-1].start() if words else first)]
        low = w.group().lower()
        lower = w.group()[:1].islower()
        # a verb ends the noun phrase: "appoints Volodmyr Groysman" (a plural noun before
        # a name is rare, a verb's "s" common)
        verb = lower and (phrases.is_verb(low, verbs) or (low.endswith("s") and low[-2:] != "ss"))
        if between.strip() or low in phrases.FUNCTION or verb:
            break
        words.append(w)
    words = words[:_DESCRIPTOR_WORDS]
    if words:
        return words[-1].start(), words[0].end()
    after = _APPOSITIVE.match(sentence, at.end())
    if after and len(after.group("np").split()) <= _DESCRIPTOR_WORDS + 2:
        return after.start("np"), after.end("np")
    return None


_CLAUSE_WORD = re.compile(r"\b(?:and|or|but|that|which|who)\b", re.I)


def _count_only(
    sentence: str,
    picked: tuple[int, int],
    typed: tuple[int, int] | None,
    verbs: frozenset[str] = frozenset(),
) -> tuple[int, int]:
    """A count's span without the clause or the verb before the typed number ("the search
    is over and that all 13 people" -> "all 13 people", "explosions kill at least 34
    people" -> "at least 34 people"; ``verbs`` as for `phrases.is_verb`, past forms aside:
    "an estimated $200,000")."""
    if typed is None or not (picked[0] <= typed[0] and typed[1] <= picked[1]):
        return picked
    cut = None
    for m in _CLAUSE_WORD.finditer(sentence, picked[0], typed[0]):
        cut = m.end()
    for m in _WORD.finditer(sentence, cut or picked[0], typed[0]):
        verb = phrases.is_verb(m.group(), verbs) or phrases.is_verb_form(m.group())
        if verb and not m.group().endswith("ed"):
            cut = m.end()
    if cut is None or NUMBER_PHRASE.search(sentence, picked[0], cut):
        # a count before the clause word may be the one asked for, or make a range with
        # the typed one ("three or four", "500 and 2,000"): the span stays whole
        return picked
    for word in _WORD.finditer(sentence, cut, typed[0]):
        if word.group().lower() not in _LEADING_PREPOSITIONS:
            return word.start(), picked[1]
    return typed[0], picked[1]


# Prepositions left before a count once the verb is cut ("participate in two debates"),
# but not those that qualify it ("about 40", "over 90").
_LEADING_PREPOSITIONS = phrases.PREPOSITIONS - {"about", "over", "under", "around", "near"}


def choose(
    group: str, sentence: str, rows: np.ndarray, spans: Sequence[tuple[int, int]],
    scores: np.ndarray, typed: tuple[int, int] | None,
) -> tuple[int, int] | None:  # fmt: skip
    """The candidate of ``spans`` (rows of `phrases.FEATURES`) the ``scores`` pick, as the
    bold span is chosen (`bench/train_span.py` scores the same choice), or None when none
    may be picked (the typed pick stands in for the types in TYPED_FALLBACK). For "who",
    where the sentence has a name of the asked kind, the pick is among the sentence's
    names (a comma inside makes two); for "how many", among phrases holding the number
    the typed picker found."""
    scores = scores.copy()
    if group in NAMES_ONLY and typed is not None:
        scores[(rows[:, NAME_LIKE] == 0) | (rows[:, HAS_COMMA] > 0)] = -np.inf
        for k in np.flatnonzero(np.isfinite(scores)):
            if not could_be_person(sentence, *spans[int(k)]):
                scores[k] = -np.inf
    elif group in TYPED_WITHIN and typed is not None:
        scores[rows[:, TYPED_FROM:TYPED_END].sum(axis=1) == 0] = -np.inf
    if not len(scores) or not np.isfinite(scores.max()):
        return None
    start, end = spans[int(np.argmax(scores))]
    if group in NAMES_ONLY and typed is not None:
        cut = after_titles(sentence, start, end)  # the name without its titles ...
        own = {spans[k] for k in range(len(spans)) if rows[k, ALL_Q] == 0}
        if cut > start and (cut, end) not in own:
            # ... unless the name is the question's own ("Who is Jens Stoltenberg?"): then
            # the titles are what is asked ("NATO Secretary-General").
            return start, start + len(sentence[start:cut].rstrip())
        return cut, end
    return start, end


def _with_counted(info: QuestionInfo, sentence: str, end: int) -> int:
    """The end of a count widened over the noun right after it when the question counts
    that noun ("sentenced to six" -> "sentenced to six years" for "how many years")."""
    after = _WORD.match(sentence, end + 1) if sentence[end : end + 1] == " " else None
    if after is None:
        return end
    q_stems = {_stem(w) for w in _WORD.findall(info.text.lower()) if w not in _QUESTION_STOP}
    return after.end() if _stem(after.group()) in q_stems else end


ALL_Q = phrases.FEATURES.index("all_q")
NAME_LIKE = phrases.FEATURES.index("name_like")
HAS_COMMA = phrases.FEATURES.index("has_comma")  # no one name: "NATO, Alexander Grushko"
# Answer types whose span is a name when the typed picker finds one: the scorer alone
# lost names on the news sets (WCEP dev 67.6% of hits, typed pick first 73.0%); choosing
# among names keeps them and gets the benchmarks' "who" right more often than the typed
# pick (see README).
NAMES_ONLY = frozenset({"who"})
# Answer types whose span must hold the typed pick when there is one: the scorer
# knows no "at least 31" or "over 90" and would mark another number nearby.
TYPED_WITHIN = frozenset({"how_many"})
TYPED_FROM = phrases.FEATURES.index("typed_same")
TYPED_END = phrases.FEATURES.index("typed_inside") + 1
# Answer types whose span is the typed pick when the scorer may pick no phrase.
TYPED_FALLBACK = NAMES_ONLY | TYPED_WITHIN
