"""Reading a question in the light of the turns before it: text only, no search.

A question is one of:
- a request about the last answer: "more", "source?", "why?", "who said that?";
- a follow-up that leans on an earlier turn: a pronoun ("he", "it", "there", "its"), a
  demonstrative at the end ("when was that?"), an ellipsis ("and when?", "what about
  Russia?"), a definite noun phrase that names what the last turn was about ("who
  chaired the talks?" after a question about talks), or a bare question that names
  nothing new ("how many people died?", "what was the cause?", "how many vehicles?" after
  a quote about vehicles);
- a complete question, answered as if asked alone (a new topic, or a first turn).

:func:`classify` says which, :func:`subjects` lists what a turn was about (its named
entities, most salient first), and :func:`rewrite` writes a follow-up out in full with
an antecedent. Everything here is regular expressions over short strings: microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# -- requests about the last answer ---------------------------------------------------

_PLEASE = r"(?:\s*,?\s*(?:please|pls|thanks))?"
_END = _PLEASE + r"\s*[.!?]*\s*$"
_REQUESTS = (
    ("more", re.compile(
        r"^(?:(?:ok(?:ay)?|and|so|yes)\s*,?\s*)?(?:(?:tell|give|show) (?:me|us) |say |i want |"
        r"any |some )?(?:some |a (?:bit|little) )?(?:more|else)(?: (?:details?|info(?:rmation)?"
        r"|context))?(?: (?:about|on) (?:that|it|this|them|the story))?" + _END
        + r"|^(?:go on|continue|keep going|elaborate|what else|anything else|details)" + _END,
        re.I)),
    ("sources", re.compile(
        r"^(?:(?:and|ok(?:ay)?|so)\s*,?\s*)?(?:(?:what|which|where)(?:'s| is| are|'re)? "
        r"(?:the |your |its |that )?|(?:give|show|send) (?:me |us )?(?:the |your )?|"
        r"(?:the |your |any )?)(?:sources?|links?|urls?|citations?|references?|articles?)"
        r"(?: for (?:that|this|it))?" + _END
        + r"|^(?:where (?:is|was) (?:that|this|it) from|where did (?:you|that|this|it) "
        r"(?:get|read|find|come from)(?: (?:that|this|it))?(?: from)?|says who\b.*source)"
        + _END,
        re.I)),
    ("who_said", re.compile(
        r"^(?:(?:and|but|so)\s*,?\s*)?(?:who (?:said|says|stated|told|wrote)"
        r"(?: (?:that|this|it|so))?|who claimed (?:that|this|so)|says who|according to whom|"
        r"who is (?:that|this) from)"
        + _END,
        re.I)),
    ("why", re.compile(
        r"^(?:(?:and|but|so)\s*,?\s*)?(?:why(?: (?:is|was|did|does) (?:that|this|it)"
        r"(?: (?:so|happen|the case))?| so| not)?|how come|for what reason|what for)" + _END,
        re.I)),
)  # fmt: skip

# -- follow-ups -----------------------------------------------------------------------

# Pronouns that point back at something named earlier, with the form a name takes in
# their place ("his designs" -> "Tesla's designs", "there" -> "in Warsaw").
_PRONOUN = re.compile(
    r"\b(?P<p>he|she|it|they|him|them|his|its|their|theirs|hers|there|her)\b", re.I
)
_POSSESSIVE = frozenset({"his", "its", "their", "theirs", "hers"})
PERSON_PRONOUNS = frozenset({"he", "she", "him", "his", "her", "hers"})
# "there" that introduces existence ("are there", "there is") points at nothing.
_EXISTENTIAL_THERE = re.compile(
    r"\bthere(?:'s|\s+(?:is|are|was|were|be|been|being|will|would|have|has|had|must|might|"
    r"could|should|may|can|remain|exist|seem))\b|\b(?:is|are|was|were|be|been)\s+there\b"
    r"(?!\s*[?.!]*$)",
    re.I,
)
# "it" standing for nothing: "it is said that", "it takes", "is it true".
_DUMMY_IT = re.compile(
    r"\bit\s+(?:is|was|will be|would be|has been)\s+(?:said|believed|thought|reported|"
    r"estimated|likely|possible|true|important|necessary)\b",
    re.I,
)
_OWN = re.compile(r"\s+own\b", re.I)
# A demonstrative that stands for the last answer: "when was that?", "who did this?".
_DEMONSTRATIVE = re.compile(r"\b(?P<p>that|this)\s*[.!?]*\s*$", re.I)
_ELLIPSIS_WH = re.compile(
    r"^(?:(?:and|but|so|ok(?:ay)?)\s*,?\s*)?(?P<wh>when|where|who|whom|why|how|how many|"
    r"how much|how long|how old|what year|what time|what date|which year|which day|which)"
    r"(?:\s+(?:then|exactly|again))?\s*[.!?]*\s*$",
    re.I,
)
# Words that open a question of its own: "and did the president resign?" is no "and X?".
_ASKING = (
    r"(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|may|might|"
    r"what|who|whom|whose|when|where|why|which|how)\b"
)
_WHAT_ABOUT = re.compile(
    r"^(?:(?:and|but|so|ok(?:ay)?)\s*,?\s*)?(?:what|how) about\s+(?P<x>.+?)\s*[.!?]*\s*$"
    r"|^(?:and|but)\s+(?!" + _ASKING + r")(?P<y>(?:the\s+)?[A-Z][\w'’&.-]*(?:\s+[A-Z][\w'’&.-]*)"
    r"{0,3})\s*[.!?]*\s*$",
    re.I,
)
_AND_START = re.compile(r"^(?:and|but|also|so)\b\s*,?\s*", re.I)
# The question words a follow-up by ellipsis replaces.
_LEADING_WH = re.compile(
    r"^(?:and\s+|but\s+)?(?:how (?:many|much|long|old|far|often)(?:\s+\w+)?|"
    r"(?:what|which)(?:\s+(?:year|date|day|month|time|kind of|type of|sort of)\b|"
    r"\s+(?!(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could)\b)\w+)?|"
    r"when|where|who|whom|whose|why|how)\s+",
    re.I,
)
_WHAT_HAPPENED = re.compile(r"(?:what|so what)\s+(?:has\s+|had\s+)?happen(?:ed|s)\s", re.I)
# Events that "it" stands for: "where will it be held?" names the meeting, not NATO.
_EVENT_VERB = re.compile(
    r"\b(?:be held|held|take place|took place|taking place|happen|happened|start|started|"
    r"begin|began|end|ended|over|last|lasted|scheduled|postponed|cancel+ed|attend|attended)\b",
    re.I,
)

# Words that ask about any news story without naming one: a question made of these alone
# ("How many people died?", "Who was arrested?") is about the story of the last turn.
_BARE_WORDS = frozenset(
    """people person persons man men woman women child children died die dies dead death
    deaths toll killed kill kills killing injured injuries injury wounded hurt victim
    victims casualties missing arrested arrest charged happened happen happens happening
    number total exactly latest now far today yesterday cause caused reason responsible
    blamed behind claimed responsibility else next result outcome won win winner lost
    affected evacuated displaced rescued survivors survived damage say said announce
    announced react reacted reaction respond responded response why""".split()  # noqa: SIM905
)

# -- names ----------------------------------------------------------------------------

_NAME = re.compile(
    r"[A-Z0-9][\w'’&.-]*(?:(?:\s+(?:of|de|the|and|von|van|al|bin|upon|du|la|le)\s+|[\s-]+)"
    r"(?:[A-Z0-9][\w'’&.-]*))*"
)
_DEFINITE = re.compile(r"\bthe\s+(?P<np>(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)", re.I)
_NOT_NAMES = frozenset(
    """a an the this that these those it its he she his her they them their we our i you
    in on at by for from but and or if as after before when while where who whom whose what
    which why how whats what's is are was were do does did has have had will would can could
    should may might according mr mrs ms dr there here than then also only during since
    until about into over under between among because so very many much most more""".split()  # noqa: SIM905
)
_STOP_TAIL = frozenset(
    """the a an of in on at to for from with by about and or is are was were be been did do
    does has have had that this it its""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[\w'’]+")


def _words(text: str) -> list[str]:
    return [w.lower().strip("'’") for w in _WORD.findall(text)]


def _clean_name(name: str) -> str:
    name = name.strip(" .,;:!?-'’")
    name = re.sub(r"['’]s$", "", name)
    words = name.split()
    while words and words[0].lower() in _NOT_NAMES:
        words = words[1:]
    while words and words[-1].lower() in _STOP_TAIL:
        words = words[:-1]
    return " ".join(words)


def names(text: str) -> list[str]:
    """Named entities of ``text`` by capitalisation, in order: "Super Bowl 50", "NATO".

    A capital that only starts the sentence ("Which", "Because") is not a name; numbers
    alone are not either (they are kept inside a name: "Super Bowl 50").
    """
    out: list[str] = []
    for m in _NAME.finditer(text):
        name = _clean_name(m.group())
        if not name or not any(ch.isalpha() for ch in name) or not name[0].isupper():
            continue
        if name.lower() in _NOT_NAMES:
            continue
        if name not in out:
            out.append(name)
    return out


def _definites(text: str) -> list[str]:
    """Definite noun phrases in lower case ("the council meeting"), as candidates for "it"."""
    out = []
    for m in _DEFINITE.finditer(text):
        np_words = m.group("np").split()
        while np_words and np_words[-1].lower() in _STOP_TAIL | _NOT_NAMES:
            np_words = np_words[:-1]
        if np_words:
            out.append("the " + " ".join(np_words))
    return out


@dataclass(frozen=True)
class Reading:
    """How a question relates to the turns before it.

    ``kind``: "question" (complete), "pronoun", "ellipsis", "about" ("what about X?"),
    "definite" (a noun phrase of the last turn), or a request: "more", "sources", "why",
    "who_said"; "bare" is a question that names nothing ("how many people died?").
    ``pronoun`` is the word to replace, ``focus`` the new name of "what about
    X?", ``wh`` the question word of an ellipsis, ``own_names`` the names the question
    carries itself.
    """

    kind: str
    pronoun: str | None = None
    span: tuple[int, int] | None = None
    focus: str | None = None
    wh: str | None = None
    own_names: tuple[str, ...] = ()

    @property
    def request(self) -> bool:
        return self.kind in ("more", "sources", "why", "who_said")

    @property
    def follow_up(self) -> bool:
        return self.kind in ("pronoun", "ellipsis", "about", "definite", "bare")


def _referring_pronoun(question: str) -> re.Match[str] | None:
    blocked: list[tuple[int, int]] = []
    for pattern in (_EXISTENTIAL_THERE, _DUMMY_IT):
        blocked.extend(m.span() for m in pattern.finditer(question))
    for m in _PRONOUN.finditer(question):
        if any(a <= m.start() < b for a, b in blocked):
            continue
        if m.group("p").lower() in _POSSESSIVE | {"her"} and _OWN.match(question, m.end()):
            continue  # "approved as its own certification": the question's own subject
        return m
    return None


def classify(question: str, last_words: frozenset[str] = frozenset()) -> Reading:
    """How ``question`` leans on earlier turns (see :class:`Reading`). ``last_words`` are
    the lower-case words of the last turn's question and quote, for definite phrases."""
    q = " ".join(question.split())
    for kind, pattern in _REQUESTS:
        if pattern.match(q):
            return Reading(kind)
    own = tuple(names(_AND_START.sub("", q)))
    if m := _ELLIPSIS_WH.match(q):
        return Reading("ellipsis", wh=m.group("wh").lower())
    if m := _WHAT_ABOUT.match(q):
        focus = _clean_name(m.group("x") or m.group("y") or "")
        if focus:
            return Reading("about", focus=focus, own_names=own)
    if m := _referring_pronoun(q):
        return Reading("pronoun", pronoun=m.group("p"), span=m.span("p"), own_names=own)
    if m := _DEMONSTRATIVE.search(q):
        return Reading("pronoun", pronoun=m.group("p"), span=m.span("p"), own_names=own)
    if not own and last_words:
        for np in _definites(q):
            if np.split()[-1].lower() in last_words:
                return Reading("definite", focus=np)
    if not own and last_words and _bare(q, last_words):
        return Reading("bare")
    return Reading("question", own_names=own)


def _bare(question: str, last_words: frozenset[str]) -> bool:
    """Whether ``question`` names nothing new: every word a question word, a function
    word, one that asks about any news story (``_BARE_WORDS``) or one of the last turn's
    (``last_words``: "how many vehicles?" after a quote about vehicles)."""
    words = _content(_words(_LEADING_WH.sub("", question, count=1)))
    said = {_norm(w) for w in last_words}
    return bool(words) and all(w in _BARE or w in said for w in words)


def _norm(word: str) -> str:
    """A word compared loosely: lower case, a plural or possessive "s" dropped."""
    w = word.lower().strip("'’")
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


_BARE = frozenset(_norm(w) for w in _BARE_WORDS)


def _content(words: Sequence[str]) -> list[str]:
    return [_norm(w) for w in words if w.lower() not in _STOP_TAIL | _NOT_NAMES]


_SUBJECT_TITLE_WORDS = 5  # longer titles are headlines


def _title_runs(question: str, title: str) -> list[str]:
    """Stretches of the question made of the title's words ("the oil crisis" for a story
    titled "1973 oil crisis"): the topic of a story titled by its subject."""
    title_words = set(_content(re.findall(r"[^\W_]+", title)))
    if not title_words or len(title_words) > _SUBJECT_TITLE_WORDS:
        return []  # a headline, not the name of a subject
    out: list[str] = []
    tokens = list(re.finditer(r"[^\W_]+(?:['’]s)?", question))
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and _norm(tokens[j].group()) in title_words:
            j += 1
        if j > i:
            run = question[tokens[i].start() : tokens[j - 1].end()]
            run = re.sub(r"['’]s$", "", run)
            before = question[: tokens[i].start()].split()
            if before and before[-1].lower() == "the" and not run[:1].isupper():
                run = "the " + run
            if _content(run.split()):
                out.append(run)
            i = j
        else:
            i += 1
    return out


def named_by(title: str, name: str) -> bool:
    """Whether every content word of ``name`` is in ``title`` (the story is about it)."""
    title_words = set(_content(re.findall(r"[^\W_]+", title)))
    words = _content(re.findall(r"[^\W_]+", name))
    return bool(words) and all(w in title_words for w in words)


def subjects(question: str, title: str = "", quote: str = "") -> list[str]:
    """What a turn was about, most salient first: its names ("Super Bowl 50", "NATO")
    and the stretches of it that the answering story's title repeats ("civil
    disobedience"), ranked by how much of each the title holds and how much of the title
    each covers (a story is about what its title names), then by the quote, then by
    their order in the question (the subject comes early)."""
    title_words = set(_content(re.findall(r"[^\W_]+", title)))
    quote_words = {_norm(w) for w in re.findall(r"[^\W_]+", quote)}
    found = names(question)
    first = question.split()[0] if question.split() else ""
    # A capital that starts the question is a name only if the title has it, or it is
    # written in capitals ("NATO"): "Rather than the fuel, ..." names nothing.
    found = [
        n for n in found
        if not (question.startswith(n) and " " not in n and n == first.strip(",.?!")
                and _norm(n) not in title_words and not n.isupper())
    ]  # fmt: skip
    for run in _title_runs(question, title):
        if run not in found:
            found.append(run)

    def salience(item: tuple[int, str]) -> tuple[float, float, int]:
        i, name = item
        words = _content(re.findall(r"[^\W_]+", name)) or [_norm(name)]
        held = sum(w in title_words for w in words) / len(words)
        covers = len(set(words) & title_words) / len(title_words) if title_words else 0.0
        quoted = sum(w in quote_words for w in words) / len(words)
        return (-(held + covers), -quoted, i)

    return [name for _, name in sorted(enumerate(found), key=salience)]


def _possessive(name: str) -> str:
    return name + ("'" if name.endswith("s") else "'s")


def _case(text: str, at_start: bool) -> str:
    return text[:1].upper() + text[1:] if at_start else text


def rewrite(question: str, reading: Reading, antecedent: str, previous: str = "") -> str:
    """``question`` written out in full with ``antecedent`` (a name or a noun phrase);
    ``previous`` is the earlier question as understood, for ellipses."""
    q = " ".join(question.split())
    if reading.kind == "pronoun" and reading.span is not None:
        start, end = reading.span
        word = q[start:end].lower()
        following = q[end:].lstrip()
        if word in _POSSESSIVE or (word == "her" and following[:1].isalpha()):
            new = _possessive(antecedent)
        elif word == "there":
            new = "in " + antecedent
        elif word in ("that", "this"):
            new = antecedent
        else:
            new = antecedent
        return q[:start] + _case(new, start == 0) + q[end:]
    if reading.kind == "ellipsis" and previous:
        rest = _LEADING_WH.sub("", previous, count=1)
        wh = reading.wh or ""
        if _WHAT_HAPPENED.match(previous):  # "What happened to Will Smith?", "where?"
            return _case(f"{wh} did it happen {rest}", True)
        return _case(f"{wh} {rest}" if rest != previous else f"{wh}: {previous}", True)
    if reading.kind == "about" and previous and reading.focus:
        if antecedent and antecedent in previous:
            return previous.replace(antecedent, reading.focus, 1)
        return f"{previous.rstrip('?. ')} ({reading.focus})?"
    if (reading.kind == "definite" and reading.focus) or reading.kind == "bare":
        return f"{q.rstrip('?. ')} ({antecedent})?" if antecedent else q
    return q


# A name is a person's where the text gives it a title or has it speak: "President Dilma
# Rousseff", "Rousseff said".
_TITLES = (
    r"(?:President|Prime\s+Minister|Minister|Chancellor|King|Queen|Prince|Princess|Pope|"
    r"Senator|Governor|Mayor|General|Secretary|Mr|Mrs|Ms|Dr|Judge|Sir|Lady|Lord|Chief|"
    r"leader|chairman|chairwoman|spokesman|spokeswoman|actor|actress|singer|musician|"
    r"player|coach|striker|boxer|golfer|jockey|rapper|author|director)\.?"
)
_SPEAKS = r"(?:said|says|told|tells|added|announced|denied|,\s+who)\b"


def is_person(name: str, text: str) -> bool:
    """Whether ``text`` shows ``name`` to be a person's: a title before it ("President
    Dilma Rousseff") or a verb of speech after it ("Rousseff said")."""
    if m := re.match(rf"{_TITLES}\s+", name):
        # A title and a full name: "President Dilma Rousseff", not "General Conference".
        return len(re.findall(r"\b[A-Z]", name[m.end() :])) >= 2
    n, last = re.escape(name), re.escape(name.split()[-1])
    titled = rf"\b{_TITLES}\s+(?:[A-Z][\w'’.-]*\s+){{0,3}}{n}\b"
    speaks = rf"\b{last}\s+{_SPEAKS}"
    return re.search(titled, text) is not None or re.search(speaks, text) is not None


# What places own, persons not ("Genghis Khan's army" is a person's).
_BODIES = r"(?:house|chamber|parliament|congress|senate|capital|economy|coast|border)\b"


def is_thing(name: str, text: str) -> bool:
    """Whether ``text`` shows ``name`` to be no person: written in capitals ("NATO"), a
    place ("in Brazil") or the owner of a body ("Brazil's lower house")."""
    n = re.escape(name)
    return (
        name.isupper()
        or re.search(rf"\b(?:in|at|into|across)\s+(?:the\s+)?{n}\b(?!['’])", text) is not None
        or re.search(rf"\b{n}['’]s\s+(?:lower\s+|upper\s+)?{_BODIES}", text, re.I) is not None
    )


def pick_antecedent(
    reading: Reading, question: str, candidates: Sequence[str], previous: str, said: str = ""
) -> str | None:
    """What the follow-up's pronoun stands for: an event ("where will it be held?") is the
    earlier question's definite noun phrase; "he" or "she" the most salient name that
    ``said`` (the last turn's question and answer) shows to be a person's ("her" after a
    question on Brazil's vote on Rousseff), else, when every name is a thing's, the first
    person ``said`` names, or None; otherwise the most salient name."""
    pronoun = (reading.pronoun or "").lower()
    if pronoun in ("it", "that", "this") and _EVENT_VERB.search(question):
        events = [np for np in _definites(previous) if np.split()[-1] not in _NOT_NAMES]
        if events:
            return events[0]
    if pronoun in PERSON_PRONOUNS:
        people = [c for c in candidates if is_person(c, said)]
        if not people and all(is_thing(c, said) for c in candidates):
            named = [n for part in re.split(r"(?<=[.!?])\s+", said) for n in names(part)]
            people = [n for n in named if is_person(n, said)]
            if not people:
                return None  # "he" is no "Brussels": the stories alone carry the context
        if people:
            return people[0]
    return candidates[0] if candidates else None
