"""Candidate answer phrases of a sentence and their feature rows, for the span scorer.

A candidate is a run of one to :data:`MAX_WORDS` words inside one clause (a comma may sit
inside it; a semicolon, colon, bracket, quote mark or dash ends it) that neither starts
with a word that opens a clause or a predicate ("and", "was", "which", "in") nor ends
with one that needs a word after it ("the", "of", "his"). Its features (:data:`FEATURES`)
say what kind of phrase it is (a name, a number, a date, a common noun phrase), how it
sits against the words the sentence shares with the question (before or after them, how
far; in its own clause; after or before a run of them; beside a rare one: a name, a
number, a long word; on the side of them the question puts its wh-word), what comes just
before and after it (which function or cue word), its role (an apposition of the
question's words, alone in brackets, quotes or its clause, beside a verb, a whole name),
how it fits the noun a "what/which X" asks about, and how much of it the question
already says.
`retrieval.answer.span` weighs them with one weight vector per answer type ("how many"
favours numbers, "who" names), fitted by `bench/train_span.py`.

The rows are computed on arrays (per-word codes and running sums), not per candidate:
a sentence's hundred-odd candidates cost well under a millisecond.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.dates import DATE_PHRASE

MAX_WORDS = 6


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DETERMINERS = _words("the a an this that these those its his her their our my your each every")
PREPOSITIONS = _words(
    "of in on at by for with from to into onto over under about after before during since "
    "through between among against within without upon via per than as like near across "
    "toward towards behind beyond along around until despite"
)
CONJUNCTIONS = _words("and or but nor yet so because although though while whereas if")
AUXILIARIES = _words(
    "is are was were be been being am has have had having do does did will would can could "
    "may might shall should must"
)
PRONOUNS = _words(
    "he she it they we i you him them us me who whom which whose what where when why how "
    "there here itself himself herself themselves"
)
OTHER_FUNCTION = _words(
    "not no also only just very too even still then thus however meanwhile moreover "
    "furthermore instead later earlier according"
)
FUNCTION = DETERMINERS | PREPOSITIONS | CONJUNCTIONS | AUXILIARIES | PRONOUNS | OTHER_FUNCTION
_BAD_START = (PREPOSITIONS | CONJUNCTIONS | AUXILIARIES | PRONOUNS | OTHER_FUNCTION) - _words(
    "about over"
)
_BAD_END = DETERMINERS | PREPOSITIONS | CONJUNCTIONS | AUXILIARIES | _words("not no very")
_COPULA = _words("is are was were be been being called named known became become becomes")
_CLAUSE_BREAK = re.compile(r"[;:()\[\]\"“”—–!?]|\s-\s")
_NUMBER_DASHES = ("–", "—", "-")
_TOKEN = re.compile(
    r"[$€£]?\d[\d,.]*\d%?|[$€£]?\d%?|(?:[A-Za-z]\.){2,}|\w[\w'’&-]*(?:\.\w+)*"
)  # numbers (with $ and %), initialisms (U.S.), words
_NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion trillion dozen half first second third"
)
WH_HEAD = re.compile(
    r"\b(?:what|which|how)\s+(?:(?:is|are|was|were)\s+)?(?:the\s+|a\s+|an\s+)?"
    r"(?:(?:kind|type|sort|form|part|piece|group|name)s?\s+of\s+)?(?:the\s+|a\s+|an\s+)?(\w+)",
    re.I,
)
# Questions whose answer is a quantity although they do not ask "how many".
QUANTITY = re.compile(
    r"\bhow (?:heavy|strong|big|large|tall|long|far|old|much|high|deep|fast|powerful)\b|"
    r"\b(?:what|which) (?:magnitude|vote|score|percentage|age|price|amount|size|margin)\b|"
    r"\bwhat(?:'s| is| was)? (?:the )?(?:\w+ )?(?:toll|tally)\b",  # "what is the death toll"
    re.I,
)
# A question with no wh-word that names a toll, a tally, a magnitude or casualties ("death
# toll ecuador earthquake", "magnitude of the ecuador earthquake") asks for a number all
# the same.
_TOLL = re.compile(r"\b(?:toll|tally|magnitude|casualties)\b", re.I)
_WHICH = re.compile(r"\bwhich\b", re.I)


def asks_quantity(wh: str, question: str) -> bool:
    """Whether the answer is a quantity: "how many", "how heavy", "what magnitude", or a
    keyword question about a toll or a magnitude."""
    return (
        wh == "how_many"
        or QUANTITY.search(question) is not None
        or (
            wh in ("other", "what")
            and _TOLL.search(question) is not None
            and _WHICH.search(question) is None  # "which ... was struck by a 7.4 magnitude"
        )
    )


WH_GROUPS = ("how_many", "when", "who", "where", "what", "what_is", "what_do", "what_type",
             "which", "how", "other")  # fmt: skip
# "What" split by the word after it: "what is X" asks for a thing named or defined,
# "what did X do" for an object or an act, "what kind of" for a common noun phrase, and
# "what company" (the rest) most often for a name.
_WHAT_NEXT = re.compile(r"\bwhat\s+(\w+)", re.I)
_WHAT_IS = _words("is are was were")
_WHAT_DO = _words(
    "did does do can has have had will may would should could might must happens happened "
    "makes causes"
)
_WHAT_TYPE = _words("type types kind kinds sort sorts form forms")

KINDS = ("digit", "numword", "func", "cap", "capfirst", "word")
_BEFORE = ("start", "punct", "of", "in", "by", "as", "to", "for", "prep", "det", "copula",
           "func", "cap", "word")  # fmt: skip
_AFTER = ("end", "comma", "punct", "of", "prep", "aux", "func", "cap", "word")
_DIST_BINS = ("1", "2", "3", "4-5", "6-9", "far")
_BIN_OF = np.array([5, 0, 1, 2, 3, 3, 4, 4, 4, 4] + [5] * 90)  # distance (1-99) -> bin
# The word just before and just after a phrase, when it is a function word or a cue
# ("called", "named", "include"): "called a Lama", "such as the Rhine".
CUES = tuple(sorted(FUNCTION | _COPULA | _words("include includes including such e.g")))
FEATURES = (
    "bias",
    *(f"len={n}" for n in range(1, MAX_WORDS + 1)),
    *(f"has_{k}" for k in KINDS),
    *(f"first_{k}" for k in KINDS),
    *(f"last_{k}" for k in KINDS),
    "left3", "right3", "prev_anchor_qpos", "next_anchor_qpos", "prev_anchor_qlast",
    "next_anchor_qfirst", "has_verb", "first_verb", "last_verb", "verb_share", "has_q",
    *(f"before_dist={b}" for b in _DIST_BINS), *(f"after_dist={b}" for b in _DIST_BINS),
    "name_like", "func_share", "starts_det", "has_of", "has_comma", "date", "whole_date",
    "typed_same", "typed_inside", "typed_overlap", "typed_none", "last_ing_ed", "last_ly",
    "last_s", "has_wh_head", "last_wh_head", "q_share", "all_q", "no_q", "no_anchor", "near",
    "anchor_before", "anchor_after", "between", "anchors_within5", "share_before",
    "proximity", "prev_in_q", "next_in_q", "prev_wh_head",
    *(f"before_{c}" for c in _BEFORE),
    *(f"after_{c}" for c in _AFTER),
    "clause_anchors", "clause_share", "clause_none", "left_run", "right_run",
    "left_run_share", "right_run_share", "rare_near", "rare_left3", "rare_right3",
    "next_wh_head", "year_like", "head_year", "head_name", "head_number", "appos_before",
    "appos_after", "in_brackets", "in_quotes", "whole_clause", "verb_anchor_before",
    "verb_anchor_after", "prev_verb", "next_verb", "whole_name", "q_called", "position",
    "order_agree", "aux_share_before", "noaux_share_before", "prev_anchor_qbefore",
    "next_anchor_qafter", "prev_anchor_whnear", "next_anchor_whnear",
    *(f"prev={w}" for w in CUES),
    *(f"next={w}" for w in CUES),
)  # fmt: skip
_AT = {name: i for i, name in enumerate(FEATURES)}
_CUE_AT = {w: i for i, w in enumerate(CUES)}


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    lower: str


def tokens(sentence: str) -> list[Token]:
    return [
        Token(m.start(), m.end(), m.group(), m.group().lower()) for m in _TOKEN.finditer(sentence)
    ]


def wh_group(wh: str, question: str) -> str:
    """The answer type, with "which" told apart from "what" (a which-question names a
    choice among things, most often a name), "what" split by the word after it (see
    :data:`WH_GROUPS`) and quantities ("how heavy", "what magnitude") counted with "how
    many"."""
    if asks_quantity(wh, question):
        return "how_many"
    if wh == "what" and _WHICH.search(question):
        return "which"
    if wh == "what":
        after = _WHAT_NEXT.search(question)
        word = after.group(1).lower() if after else ""
        if word in _WHAT_IS:
            return "what_is"
        if word in _WHAT_DO or word.endswith("ed"):
            return "what_do"
        if word in _WHAT_TYPE:
            return "what_type"
        return "what"
    return wh if wh in WH_GROUPS else "other"


_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


def stem(word: str) -> str:
    """A crude stem, enough to match "turns" with "turn" and "elected" with "election"."""
    bare = _SUFFIX.sub("", word)
    return (bare if len(bare) >= 3 else word)[:5]


# Verbs whose forms share no crude stem ("won" and "wins", "died" and "dies"), each form by
# its plain one: a question asks "who won" of a headline that says "wins".
_VERB_FORMS = {
    form: plain
    for plain, forms in (
        ("win", "won wins winning"),
        ("die", "died dies dying"),
        ("lie", "lay lies lying"),
        ("hold", "held holds"),
        ("lead", "led leads"),
        ("meet", "met meets"),
        ("begin", "began begun begins"),
        ("take", "took taken takes"),
        ("give", "gave given gives"),
        ("make", "made makes"),
        ("say", "said says"),
        ("tell", "told tells"),
        ("sell", "sold sells"),
        ("buy", "bought buys"),
        ("fight", "fought fights"),
        ("strike", "struck strikes"),
        ("leave", "left leaves"),
        ("lose", "lost loses losing"),
        ("choose", "chose chosen chooses"),
        ("run", "ran runs running"),
        ("rise", "rose risen rises rising"),
        ("fall", "fell fallen falls"),
        ("speak", "spoke spoken speaks"),
        ("write", "wrote written writes"),
        ("build", "built builds"),
        ("send", "sent sends"),
        ("spend", "spent spends"),
        ("find", "found finds"),
        ("bring", "brought brings"),
        ("think", "thought thinks"),
        ("catch", "caught catches"),
        ("fly", "flew flown flies"),
        ("draw", "drew drawn draws"),
        ("grow", "grew grown grows"),
        ("know", "knew known knows"),
        ("see", "saw seen sees"),
        ("go", "went gone goes"),
        ("come", "came comes"),
        ("become", "became becomes"),
        ("pay", "paid pays"),
        ("shoot", "shot shoots"),
        ("steal", "stole stolen steals"),
        ("flee", "fled flees"),
        ("seek", "sought seeks"),
        ("teach", "taught teaches"),
        ("swear", "swore sworn swears"),
        ("hang", "hung hangs"),
        ("sink", "sank sunk sinks"),
        ("freeze", "froze frozen"),
        ("forbid", "forbade forbidden"),
        ("bear", "bore born borne bears"),
        ("drive", "drove driven drives"),
        ("ride", "rode ridden rides"),
        ("break", "broke broken breaks"),
        ("wear", "wore worn wears"),
        ("eat", "ate eaten eats"),
        ("feel", "felt feels"),
        ("keep", "kept keeps"),
        ("sleep", "slept sleeps"),
        ("sit", "sat sits"),
        ("stand", "stood stands"),
        ("understand", "understood"),
        ("hear", "heard hears"),
    )
    for form in forms.split()
}


def is_verb_form(word: str) -> bool:
    """Whether ``word`` is a form of a verb whose forms share no stem ("rises", "rose")."""
    return word in _VERB_FORMS


def lemma_stem(word: str) -> str:
    """:func:`stem` of a verb's plain form where its forms share no stem ("won" -> "win")."""
    return stem(_VERB_FORMS.get(word, word))


# Head nouns ("what company", "which river") whose answer is most often a name, and those
# whose answer is a number.
_NAME_HEADS = frozenset(
    stem(w)
    for w in _words(
        "person man woman company team organization organisation city country state nation "
        "group band school university college church king queen president leader party "
        "newspaper station network river mountain town village county province region island "
        "author writer player club agency army empire dynasty building street language"
    )
)
_NUMBER_HEADS = frozenset(
    stem(w)
    for w in _words(
        "number amount percentage percent year decade century age score price total size"
    )
)
_YEAR = re.compile(r"1\d{3}|20\d\d")
_CALLED_Q = re.compile(r"\b(?:called|named|known as|referred to|nickname|term)\b", re.I)
_CALLED_PREV = _words("called named as termed dubbed")
_PARTICLE = re.compile(
    r"(?:al|el|bin|ibn|de|da|di|du|van|von|der|den|le|la|del|della|dos|das|y)(?:-[A-Z][\w'’-]*)?"
)
_WH_WORDS = _words("what which who whom whose when where why how")


def is_particle(word: str) -> bool:
    """Whether ``word`` is a lower-case particle a name may hold ("de", "al-Turabi")."""
    return bool(_PARTICLE.fullmatch(word))


def _kind(t: Token, first: bool) -> int:
    if t.text[0] in "$€£" or t.text[0].isdigit():
        return 0
    if t.lower in _NUMBER_WORDS:
        return 1
    if t.lower in FUNCTION:
        return 2
    if t.text[0].isupper():
        return 4 if first else 3
    return 5


def _before(t: Token | None, gap: str) -> int:
    if t is None:
        return 0
    if gap.strip():
        return 1
    w = t.lower
    if w in PREPOSITIONS:
        return _BEFORE.index(w) if w in ("of", "in", "by", "as", "to", "for") else 8
    if w in DETERMINERS:
        return 9
    if w in _COPULA:
        return 10
    if w in FUNCTION:
        return 11
    return 12 if t.text[0].isupper() else 13


def _after(t: Token | None, gap: str) -> int:
    if t is None:
        return 0
    if gap.strip():
        return 1 if "," in gap else 2
    w = t.lower
    if w == "of":
        return 3
    if w in PREPOSITIONS:
        return 4
    if w in AUXILIARIES:
        return 5
    if w in FUNCTION:
        return 6
    return 7 if t.text[0].isupper() or t.text[0].isdigit() else 8


@dataclass(frozen=True)
class Phrases:
    """A sentence's tokens, its candidates (token ranges [starts, ends)) and their rows."""

    tokens: list[Token]
    starts: np.ndarray
    ends: np.ndarray
    rows: np.ndarray  # candidates x FEATURES

    def span(self, k: int) -> tuple[int, int]:
        return self.tokens[int(self.starts[k])].start, self.tokens[int(self.ends[k]) - 1].end


def _ranges(sentence: str, toks: list[Token]) -> tuple[list[int], list[int], list[bool]]:
    """Candidate token ranges, and for each gap before token k whether it holds a comma."""
    clause, comma = 0, [False] * len(toks)
    clauses = [0] * len(toks)
    for k in range(1, len(toks)):
        gap = sentence[toks[k - 1].end : toks[k].start]
        # A dash between two figures joins them: a score or a range ("49–15", "1677–1683").
        joined = (
            gap in _NUMBER_DASHES and toks[k - 1].text[-1:].isdigit() and toks[k].text[:1].isdigit()
        )
        clause += not joined and _CLAUSE_BREAK.search(gap) is not None
        clauses[k] = clause
        comma[k] = "," in gap
    starts, ends = [], []
    for i, first in enumerate(toks):
        if first.lower in _BAD_START:
            continue
        for j in range(i + 1, min(i + MAX_WORDS, len(toks)) + 1):
            if clauses[j - 1] != clauses[i]:
                break
            if toks[j - 1].lower not in _BAD_END:
                starts.append(i)
                ends.append(j)
    return starts, ends, comma


def is_verb(word: str, verbs: frozenset[str]) -> bool:
    """A lower-case word that is most often a verb: one seen mostly after a pronoun or
    modal (``verbs``, counted on corpus text by `bench/train_span.py`), or a past form."""
    return word in verbs or (word.endswith("ed") and len(word) > 4 and word[0].isalpha())


def _runs(anchor: np.ndarray, func: np.ndarray, order: range) -> np.ndarray:
    """For each token, the question's words in the run that reaches it when the tokens are
    read in ``order`` (up to two function words may sit between them)."""
    out = np.zeros(len(anchor))
    count, gap = 0, 0
    for k in order:
        if anchor[k]:
            count, gap = count + 1, 0
        elif func[k] and gap < 2:
            gap += 1
        else:
            count, gap = 0, 0
        out[k] = count
    return out


def phrases(
    question: str,
    sentence: str,
    typed: tuple[int, int] | None = None,
    verbs: frozenset[str] = frozenset(),
) -> Phrases:
    """The candidate phrases of ``sentence`` with their feature rows; ``typed`` is the
    span the typed picker chose (a name, number or date of the asked kind), if any;
    ``verbs`` the words taken for verbs (see :func:`is_verb`)."""
    toks = tokens(sentence)
    n = len(toks)
    s_list, e_list, comma = _ranges(sentence, toks)
    starts, ends = np.array(s_list, dtype=np.intp), np.array(e_list, dtype=np.intp)
    rows = np.zeros((len(starts), len(FEATURES)))
    if not len(starts):
        return Phrases(toks, starts, ends, rows)
    q_toks = tokens(question)
    q_words = {t.lower for t in q_toks}
    q_stems = {lemma_stem(w) for w in q_words if w not in FUNCTION and len(w) > 2}
    # Where each content word stands in the question (0 first, 1 last): the words either
    # side of the answer in the sentence tend to be the question's last words (what the
    # question asks about) or the words right after its wh-word.
    q_order = [lemma_stem(t.lower) for t in q_toks if t.lower not in FUNCTION and len(t.lower) > 2]
    q_pos = {w: k / max(1, len(q_order) - 1) for k, w in enumerate(q_order)}
    # Which side of the wh-word each question word stands on, and how far from it; and
    # whether an auxiliary follows the wh-word ("What did X invent?": the answer is an
    # object, after the question's words in a statement) or not ("Who invented X?").
    wh_at = next((k for k, t in enumerate(q_toks) if t.lower in _WH_WORDS), len(q_toks))
    q_side: dict[str, int] = {}
    for k, t in enumerate(q_toks):
        if t.lower not in FUNCTION and len(t.lower) > 2:
            q_side.setdefault(lemma_stem(t.lower), k - wh_at)
    after_wh = [t.lower for t in q_toks[wh_at + 1 : wh_at + 3]]
    wh_aux = bool(after_wh) and (
        after_wh[0] in AUXILIARIES
        or (len(after_wh) > 1 and after_wh[0] not in FUNCTION and after_wh[1] in AUXILIARIES)
    )
    head_match = WH_HEAD.search(question)
    head = lemma_stem(head_match.group(1).lower()) if head_match else None

    def running(flags: list[bool] | np.ndarray) -> np.ndarray:
        """Count of flags among tokens [i, j) is out[j] - out[i]."""
        return np.concatenate(([0], np.cumsum(np.asarray(flags, dtype=float))))

    def count(flags: list[bool] | np.ndarray) -> np.ndarray:
        c = running(flags)
        return c[ends] - c[starts]

    kinds = np.array([_kind(t, k == 0) for k, t in enumerate(toks)])
    verb = np.array([is_verb(t.lower, verbs) and t.text[0].islower() for t in toks])
    n_verb = count(verb)
    rows[:, _AT["has_verb"]] = n_verb > 0
    rows[:, _AT["verb_share"]] = n_verb / (ends - starts)
    rows[:, _AT["first_verb"]] = verb[starts]
    rows[:, _AT["last_verb"]] = verb[ends - 1]
    in_q = [t.lower in q_words or lemma_stem(t.lower) in q_stems for t in toks]
    anchor = np.array([len(t.lower) > 2 and lemma_stem(t.lower) in q_stems for t in toks])
    lengths = ends - starts
    m = np.arange(len(starts))
    rows[:, _AT["bias"]] = 1
    rows[m, _AT["len=1"] + lengths - 1] = 1
    for k, name in enumerate(KINDS):
        rows[:, _AT[f"has_{name}"]] = count(kinds == k) > 0
    rows[m, _AT["first_digit"] + kinds[starts]] = 1
    rows[m, _AT["last_digit"] + kinds[ends - 1]] = 1
    n_func = count(kinds == 2)
    # A name may hold lower-case particles ("Francisco de Orellana", "Hassan al-Turabi")
    # but neither start nor end on a bare one.
    particle = np.array([is_particle(t.text) for t in toks])
    bare = particle & np.array(["-" not in t.text for t in toks])
    not_name = count(~np.isin(kinds, (0, 2, 3, 4)) & ~particle)
    rows[:, _AT["name_like"]] = (
        (not_name == 0)
        & (kinds[starts] != 2)
        & (kinds[ends - 1] != 2)
        & ~bare[starts]
        & ~bare[ends - 1]
    )
    rows[:, _AT["func_share"]] = n_func / lengths
    rows[:, _AT["starts_det"]] = [toks[i].lower in DETERMINERS for i in s_list]
    rows[:, _AT["has_of"]] = count([t.lower == "of" for t in toks]) > 0
    c_comma = running(comma)
    rows[:, _AT["has_comma"]] = (c_comma[ends] - c_comma[starts + 1]) > 0
    in_date = np.zeros(n, dtype=bool)
    for d in DATE_PHRASE.finditer(sentence):
        in_date |= np.array([t.start < d.end() and d.start() < t.end for t in toks])
    dated = count(in_date)
    rows[:, _AT["date"]] = dated > 0
    rows[:, _AT["whole_date"]] = dated == lengths
    char_start = np.array([t.start for t in toks])[starts]
    char_end = np.array([t.end for t in toks])[ends - 1]
    if typed is None:
        rows[:, _AT["typed_none"]] = 1
    else:
        same = (char_start == typed[0]) & (char_end == typed[1])
        inside = (char_start <= typed[0]) & (typed[1] <= char_end) & ~same
        overlap = (char_start < typed[1]) & (typed[0] < char_end) & ~same & ~inside
        rows[:, _AT["typed_same"]] = same
        rows[:, _AT["typed_inside"]] = inside
        rows[:, _AT["typed_overlap"]] = overlap
    last = [toks[j - 1].lower for j in e_list]
    rows[:, _AT["last_ing_ed"]] = [w.endswith(("ing", "ed")) for w in last]
    rows[:, _AT["last_ly"]] = [w.endswith("ly") for w in last]
    rows[:, _AT["last_s"]] = [w.endswith("s") and not w.endswith("ss") for w in last]
    year_like = count([bool(_YEAR.fullmatch(t.text)) for t in toks]) > 0
    rows[:, _AT["year_like"]] = year_like
    if head is not None:
        is_head = np.array([lemma_stem(t.lower) == head for t in toks])
        rows[:, _AT["has_wh_head"]] = count(is_head) > 0
        rows[:, _AT["last_wh_head"]] = is_head[ends - 1]
        rows[:, _AT["prev_wh_head"]] = [i > 0 and bool(is_head[i - 1]) for i in s_list]
        rows[:, _AT["next_wh_head"]] = np.append(is_head, False)[ends]
        rows[:, _AT["head_year"]] = year_like & (head == "year")
        rows[:, _AT["head_name"]] = rows[:, _AT["name_like"]] * (head in _NAME_HEADS)
        rows[:, _AT["head_number"]] = (count(kinds <= 1) > 0) & (head in _NUMBER_HEADS)
    # The question's own words: an answer is what the question does not say yet.
    n_q = count(in_q)
    content = lengths - n_func
    content_q = count(np.array(in_q) & (kinds != 2))
    rows[:, _AT["q_share"]] = n_q / lengths
    rows[:, _AT["all_q"]] = (content > 0) & (content_q == content)
    rows[:, _AT["no_q"]] = content_q == 0
    rows[:, _AT["has_q"]] = content_q > 0
    gaps = ["", *(sentence[toks[k - 1].end : toks[k].start] for k in range(1, n)), ""]
    # Where it sits against the question's words (anchors) in the sentence.
    where = np.flatnonzero(anchor)
    if not len(where):
        rows[:, _AT["no_anchor"]] = 1
    else:
        # distance in words from the phrase to each anchor outside it (0 inside)
        before = starts[:, None] - where[None, :]  # > 0: anchor before the phrase
        after = where[None, :] - ends[:, None] + 1  # > 0: anchor after the phrase
        dist = np.where(before > 0, before, np.where(after > 0, after, 0))
        outside = dist > 0
        near = np.where(outside, dist, 99).min(axis=1)
        rows[:, _AT["near"]] = np.where(near < 99, 1 / (1 + near), 0)
        nb = np.where(before > 0, before, 99).min(axis=1)
        na = np.where(after > 0, after, 99).min(axis=1)
        rows[:, _AT["anchor_before"]] = np.where(nb < 99, 1 / nb, 0)
        rows[:, _AT["anchor_after"]] = np.where(na < 99, 1 / na, 0)
        rows[:, _AT["between"]] = (nb <= 3) & (na <= 3)
        c_anchor = running(anchor)
        rows[:, _AT["left3"]] = (c_anchor[starts] - c_anchor[np.maximum(starts - 3, 0)]) / 3
        rows[:, _AT["right3"]] = (c_anchor[np.minimum(ends + 3, n)] - c_anchor[ends]) / 3
        pos = np.array([q_pos.get(lemma_stem(t.lower), 0.0) for t in toks])
        prev_anchor = np.maximum.accumulate(np.where(anchor, np.arange(n), -1))
        close_before = (starts > 0) & (nb <= 3)
        at_before = prev_anchor[np.maximum(starts - 1, 0)]
        qpos_before = np.where(close_before, pos[at_before], 0)
        rows[:, _AT["prev_anchor_qpos"]] = qpos_before
        rows[:, _AT["prev_anchor_qlast"]] = close_before & (qpos_before == 1)
        next_anchor = np.minimum.accumulate(np.where(anchor, np.arange(n), n)[::-1])[::-1]
        close_after = (ends < n) & (na <= 3)
        at_after = next_anchor[np.minimum(ends, n - 1)]
        qpos_after = np.where(close_after, pos[np.minimum(at_after, n - 1)], 1)
        rows[:, _AT["next_anchor_qpos"]] = np.where(close_after, 1 - qpos_after, 0)
        rows[:, _AT["next_anchor_qfirst"]] = close_after & (qpos_after == 0)
        rows[m, _AT["before_dist=1"] + _BIN_OF[np.minimum(nb, 99)]] = 1
        rows[m, _AT["after_dist=1"] + _BIN_OF[np.minimum(na, 99)]] = 1
        rows[:, _AT["anchors_within5"]] = np.minimum(3, (outside & (dist <= 5)).sum(1)) / 3
        n_before = (before > 0).sum(1)
        n_out = outside.sum(1)
        rows[:, _AT["share_before"]] = n_before / np.maximum(n_out, 1)
        rows[:, _AT["aux_share_before"]] = wh_aux * rows[:, _AT["share_before"]]
        rows[:, _AT["noaux_share_before"]] = (not wh_aux) * rows[:, _AT["share_before"]]
        side = np.array([q_side.get(lemma_stem(t.lower), 0) for t in toks])
        side_at = side[where][None, :]
        agree = ((before > 0) & (side_at < 0)) | ((after > 0) & (side_at > 0))
        rows[:, _AT["order_agree"]] = agree.sum(1) / np.maximum(n_out, 1)
        side_before = np.where(close_before, side[at_before], 0)
        side_after = np.where(close_after, side[np.minimum(at_after, n - 1)], 0)
        rows[:, _AT["prev_anchor_qbefore"]] = side_before < 0
        rows[:, _AT["next_anchor_qafter"]] = side_after > 0
        rows[:, _AT["prev_anchor_whnear"]] = np.where(
            side_before != 0, 1 / np.maximum(1, np.abs(side_before)), 0
        )
        rows[:, _AT["next_anchor_whnear"]] = np.where(
            side_after != 0, 1 / np.maximum(1, np.abs(side_after)), 0
        )
        closeness = np.where(outside, np.maximum(0, 1 - dist / 10), 0).sum(1)
        rows[:, _AT["proximity"]] = closeness / len(where)
        # The question's words in the phrase's own clause (between commas): the answer
        # tends to sit in the clause that restates the question.
        seg = np.concatenate(([0], np.cumsum([comma[k] or bool(_CLAUSE_BREAK.search(gaps[k]))
                                              for k in range(1, n)])))  # fmt: skip
        same = (seg[where][None, :] >= seg[starts][:, None]) & (
            seg[where][None, :] <= seg[ends - 1][:, None]
        )
        in_clause = (same & outside).sum(1)
        # Runs of the question's words (function words between them allowed) that end
        # just before the phrase or start just after it: "ABC sold its recording division
        # to [MCA Inc.]" restates the question up to the answer.
        func = kinds == 2
        left_run = np.concatenate([[0.0], _runs(anchor, func, range(n))])  # ending at k-1
        right_run = np.append(_runs(anchor, func, range(n - 1, -1, -1)), 0.0)  # from k
        n_stems = max(1, len(q_stems))
        rows[:, _AT["left_run"]] = np.minimum(4, left_run[starts]) / 4
        rows[:, _AT["right_run"]] = np.minimum(4, right_run[ends]) / 4
        rows[:, _AT["left_run_share"]] = np.minimum(1, left_run[starts] / n_stems)
        rows[:, _AT["right_run_share"]] = np.minimum(1, right_run[ends] / n_stems)
        # Rare anchors (names, numbers, long words) say more than common ones.
        rare = anchor & (np.isin(kinds, (0, 3)) | np.array([len(t.lower) >= 8 for t in toks]))
        rare_at = rare[where]
        if rare_at.any():
            rare_dist = np.where(outside & rare_at[None, :], dist, 99).min(axis=1)
            rows[:, _AT["rare_near"]] = np.where(rare_dist < 99, 1 / (1 + rare_dist), 0)
            c_rare = running(rare)
            rows[:, _AT["rare_left3"]] = c_rare[starts] - c_rare[np.maximum(starts - 3, 0)] > 0
            rows[:, _AT["rare_right3"]] = c_rare[np.minimum(ends + 3, n)] - c_rare[ends] > 0
        rows[:, _AT["clause_anchors"]] = np.minimum(3, in_clause) / 3
        rows[:, _AT["clause_share"]] = in_clause / len(where)
        rows[:, _AT["clause_none"]] = in_clause == 0
    # The phrase's role: an apposition beside the question's words ("Alfred S. Brown, a
    # Western Union superintendent"), a bracket or quote of its own, the object or subject
    # of a verb, a verb of the question's close by, a name as a whole.
    anchor_x = np.append(anchor, [False, False])
    after_det = np.array([t.lower in DETERMINERS for t in toks] + [False])
    comma_before = np.array(["," in g for g in gaps])
    rows[:, _AT["appos_before"]] = (
        (starts > 0)
        & comma_before[starts]
        & (anchor_x[starts - 1] | ((starts > 1) & anchor_x[np.maximum(starts - 2, 0)]))
    )
    rows[:, _AT["appos_after"]] = comma_before[ends] & (
        anchor_x[ends] | (after_det[ends] & anchor_x[ends + 1])
    )
    rows[:, _AT["in_brackets"]] = [
        "(" in gaps[i] and ")" in gaps[j] for i, j in zip(s_list, e_list, strict=True)
    ]
    quote = np.array([any(q in g for q in '"“”') for g in gaps])
    rows[:, _AT["in_quotes"]] = quote[starts] & quote[ends]
    verb_x = np.append(verb, False)
    rows[:, _AT["prev_verb"]] = (starts > 0) & verb_x[starts - 1]
    rows[:, _AT["next_verb"]] = verb_x[ends]
    c_va = running(anchor & verb)
    rows[:, _AT["verb_anchor_before"]] = c_va[starts] - c_va[np.maximum(starts - 3, 0)] > 0
    rows[:, _AT["verb_anchor_after"]] = c_va[np.minimum(ends + 3, n)] - c_va[ends] > 0
    cap_x = np.append(np.isin(kinds, (3, 4)), False)
    rows[:, _AT["whole_name"]] = (
        rows[:, _AT["name_like"]].astype(bool) & ~((starts > 0) & cap_x[starts - 1]) & ~cap_x[ends]
    )
    if _CALLED_Q.search(question):
        rows[:, _AT["q_called"]] = [i > 0 and toks[i - 1].lower in _CALLED_PREV for i in s_list]
    rows[:, _AT["position"]] = starts / max(1, n - 1)
    # What comes just before and just after.
    in_q_arr = np.array([*in_q, False])
    rows[:, _AT["prev_in_q"]] = (starts > 0) & in_q_arr[starts - 1]
    rows[:, _AT["next_in_q"]] = in_q_arr[ends]
    before_code = np.array([_before(toks[i - 1] if i else None, gaps[i]) for i in range(n)])
    after_code = np.array([_after(toks[j] if j < n else None, gaps[j]) for j in range(n + 1)])
    cue = np.array([_CUE_AT.get(t.lower, -1) for t in toks] + [-1])
    has_prev = (starts > 0) & (cue[starts - 1] >= 0)
    rows[m[has_prev], _AT[f"prev={CUES[0]}"] + cue[starts - 1][has_prev]] = 1
    has_next = cue[ends] >= 0
    rows[m[has_next], _AT[f"next={CUES[0]}"] + cue[ends][has_next]] = 1
    rows[m, _AT["before_start"] + before_code[starts]] = 1
    rows[m, _AT["after_end"] + after_code[ends]] = 1
    rows[:, _AT["whole_clause"]] = (before_code[starts] <= 1) & (after_code[ends] <= 2)
    return Phrases(toks, starts, ends, rows)
