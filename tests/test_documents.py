"""Tests for retrieval.documents: format detection, the four parsers and corpus loading."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest

from retrieval.dates import normalize_date
from retrieval.errors import ConfigError, UnreadableFileError
from retrieval.ingest.documents import (
    Document,
    Related,
    detect_format,
    load_corpus,
    parse_file,
    split_category,
)

DATA = Path(__file__).resolve().parent / "data"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
THECONTEXT = "thecontext/news/2016"
INDEX = f"{THECONTEXT}/04/20/index.md"
EVENT_0420 = (
    f"{THECONTEXT}/04/20/nato-reopens-informal-talks-with-russia-for-the-first-time-in-nearly"
    "-two-years-according-to-the-secretary-general-of-nato-jens-stoltenberg.md"
)
EVENT_0408 = (
    f"{THECONTEXT}/04/8/nato-announces-it-will-hold-a-meeting-of-the-natoarussia-council-at-the"
    "-ambassadorial-level-at-nato-headquarters-in-brussels-in-the-next-t.md"
)
EVENT_0415 = (
    f"{THECONTEXT}/04/15/polish-foreign-minister-witold-waszczykowski-during-a-visit-to-slovakia"
    "-for-talks-on-the-future-of-nato-says-russia-is-more-dangerous-than.md"
)
EVENT_1026 = (
    f"{THECONTEXT}/10/26/russia-withdraws-a-request-to-refuel-three-of-its-warships-including"
    "-the-flagship-of-the-russian-navy-admiral-kuznetsov-en-route-to-s.md"
)
EVENT_1121 = (
    f"{THECONTEXT}/11/21/russia-deploys-its-s-400-missile-system-in-kaliningrad-an-exclave"
    "-between-poland-and-lithuania-in-response-to-nato-expansion-near-its-bo.md"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """shared/data, which CI puts beside the repository clone."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the shared data must sit beside the repository")
    return path


@pytest.fixture(scope="session")
def samples(shared_data: Path) -> Path:
    return shared_data / "corpus-samples"


def one(samples: Path, rel: str) -> Document:
    """Parse a sample file that holds exactly one document."""
    path = next(samples.glob(rel)) if "*" in rel else samples / rel
    docs = parse_file(path, path.relative_to(samples).as_posix())
    assert len(docs) == 1
    return docs[0]


def by_id(docs: tuple[Document, ...] | list[Document]) -> dict[str, Document]:
    return {d.doc_id: d for d in docs}


# --- event pages -----------------------------------------------------------------------


def test_event_000_fields(samples: Path) -> None:
    """000 is an event page: date, headline, body, source link without the cover image."""
    doc = one(samples, "000_*.txt")
    assert doc.doc_id == doc.path == "000_a226b7d7bdfc010b.txt"
    assert doc.kind == "event"
    assert doc.date == "2016-04-20"
    assert doc.title.startswith("NATO reopens informal talks with Russia for the first time")
    assert doc.title.endswith("today's meeting did not change that.\"")
    assert doc.category is None
    assert doc.urls == (
        "http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks-after-two-years/",
    )
    assert doc.text == (
        f"{doc.title}\n\nNATO has reopened informal talks with Russia for the first time in "
        "nearly two years. Diplomats met for over 90 minutes to discuss Ukraine and the"
    )
    assert doc.contexts == ()


def test_event_000_related_are_metadata(samples: Path) -> None:
    """Related items are parsed with their contexts and kept out of the text."""
    doc = one(samples, "000_*.txt")
    assert len(doc.related) == 5
    first = doc.related[0]
    assert first.title.startswith("Russia deploys its S-400 missile system in Kaliningrad")
    assert first.url.startswith("/news/2016/11/21/russia-deploys-its-s-400")
    assert first.contexts == ("NATO", "NATO-Russia relations", "Russia")
    assert doc.related[4].title.startswith("Russia announces it will deploy state-of-the art")
    assert "S-400" not in doc.text and "Kuril" not in doc.text and "_Context" not in doc.text


def test_event_001_category_prefix_and_padded_date(samples: Path) -> None:
    """001: "NATO-Russia relations: ..." gives a category; 2016-04-8 becomes 2016-04-08."""
    doc = one(samples, "001_*.txt")
    assert doc.date == "2016-04-08"
    assert doc.category == "NATO-Russia relations"
    assert doc.title.startswith("NATO announces it will hold a meeting of the NATO-Russia Council")
    assert doc.text == doc.title  # the page has no body
    assert doc.urls == (
        "http://www.rferl.org/content/nato-russia-council-to-meet-after-2-years/27662612.html",
    )
    assert len(doc.related) == 10
    assert doc.related[3].title.startswith("Poland-Russia relations: NATO-Russia relations: Polish")
    assert doc.related[5].contexts == ("NATO", "Russia")
    assert doc.related[9].url.startswith("/news/2016/07/8/2016-warsaw-summit")


@pytest.mark.parametrize(
    ("rel", "date", "url", "title_start", "body", "n_related"),
    [
        (
            EVENT_0415,
            "2016-04-15",
            "http://www.theguardian.com/world/2016/apr/15/russia-more-dangerous-isis-polish-"
            "foreign-minister-witold-waszczykowski",
            "Polish Foreign Minister Witold Waszczykowski, during a visit to Slovakia",
            "Witold Waszczykowski describes Russian activity as an ‘existential threat to Europe’"
            " during a debate on the future of Nato",
            10,
        ),
        (
            EVENT_0420,
            "2016-04-20",
            "http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks-after-two-years/",
            "NATO reopens informal talks with Russia",
            "NATO has reopened informal talks with Russia for the first time in nearly two years."
            " Diplomats met for over 90 minutes to discuss Ukraine and the",
            10,
        ),
        (
            EVENT_0408,
            "2016-04-08",
            "http://www.rferl.org/content/nato-russia-council-to-meet-after-2-years/27662612.html",
            "NATO announces it will hold a meeting of the NATO-Russia Council",
            None,
            10,
        ),
        (
            EVENT_1026,
            "2016-10-26",
            "http://www.bbc.co.uk/news/world-europe-37779204",
            "Russia withdraws a request to refuel three of its warships, including the flagship "
            'of the Russian Navy, "Admiral Kuznetsov", en route to Syria',
            "Russia withdraws a request for Syria-bound warships to refuel in Spain, following "
            "concern among Nato allies.",
            10,
        ),
        (
            EVENT_1121,
            "2016-11-21",
            "http://news.trust.org/item/20161121202905-pka21",
            "Russia deploys its S-400 missile system in Kaliningrad",
            None,
            10,
        ),
    ],
)
def test_thecontext_event_pages(
    samples: Path,
    rel: str,
    date: str,
    url: str,
    title_start: str,
    body: str | None,
    n_related: int,
) -> None:
    """Each thecontext event page: date, the one real source (no cover image), headline, body."""
    doc = one(samples, rel)
    assert (doc.doc_id, doc.kind, doc.date, doc.category) == (rel, "event", date, None)
    assert doc.urls == (url,)
    assert doc.title.startswith(title_start)
    if body is None:
        assert doc.text == doc.title
    else:
        assert doc.text == f"{doc.title}\n\n{body}"
    assert len(doc.related) == n_related
    assert all(r.url.startswith("/news/") and r.contexts for r in doc.related)


def test_event_page_own_context_and_body_lines() -> None:
    """A page's own _Context:_ line goes to contexts; body lines join into one paragraph."""
    doc = parse_file(
        DATA / "corpus/events/2023/09/4/port-velna-opens-the-kestrel-bridge.md", "kb.md"
    )[0]
    assert doc.contexts == ("Port Velna", "Kestrel Bridge", "Amber River")
    assert doc.category == "Port Velna transport"
    assert doc.date == "2023-09-04"
    assert doc.urls == ("https://herald.example.org/2023/09/04/kestrel-bridge",)
    assert doc.related == (
        Related(
            "Port Velna approves funding for a second tram depot.",
            "/news/2023/06/12/port-velna-approves-funding-for-a-second-tram-depot.md",
            ("Port Velna", "trams"),
        ),
    )
    assert doc.text.endswith(
        "\n\nThe Kestrel Bridge cost 310 million euros and carries two tram lines and a cycle "
        "path. Mayor Ilse Brandt cut the ribbon at nine in the morning."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("The mayor opens the new bridge.", "The mayor opens the new bridge."),
        ("The mayor opens the new", "The mayor opens the new bridge."),
        (
            "The mayor opens the new bridge. It cost 3 million euros.",
            "The mayor opens the new bridge. It cost 3 million euros.",
        ),
        (
            "Crowds cheered as the ribbon was cut.",
            "The mayor opens the new bridge.\n\nCrowds cheered as the ribbon was cut.",
        ),
    ],
)
def test_event_body_repeating_headline_is_not_duplicated(
    tmp_path: Path, body: str, expected: str
) -> None:
    """A body that repeats (part of) the headline is dropped; one that extends it replaces it."""
    page = tmp_path / "page.md"
    page.write_text(f"### [2020-1-2](/x)\n\n# The mayor opens the new bridge.\n\n{body}\n")
    doc = parse_file(page)[0]
    assert doc.text == expected
    assert doc.date == "2020-01-02"


@pytest.mark.parametrize(
    ("headline", "category", "title"),
    [
        ("NATO-Russia relations: NATO announces a meeting.", "NATO-Russia relations", "NATO an"),
        (
            "War in Afghanistan (2015-present): The death toll rises.",
            "War in Afghanistan (2015-present)",
            "The de",
        ),
        ("Syrian civil war:Russia arms Syria.", "Syrian civil war", "Russia"),
        (
            "U.S. presidential election, 2016: Voters go to the polls.",
            "U.S. presidential election, 2016",
            "Voters",
        ),
        (
            "Poland-Russia relations: NATO-Russia relations: Poland warns.",
            "Poland-Russia relations",
            "Poland",
        ),
        ("Police say the cause is clear: a gas leak destroyed the building.", None, "Police"),
        ("The minister told reporters: The talks failed.", None, "The mi"),
        ('Stoltenberg said: "We are not afraid of dialogue."', None, "Stolte"),
        ("At 10:30 a.m. the bridge opened.", None, "At 10:"),
        ("The army has two goals: Winning the war and keeping the peace.", None, "The ar"),
        ("One thing is certain. Officials agree: The dam will hold.", None, "One th"),
        ("No colon in this headline.", None, "No col"),
    ],
)
def test_split_category(headline: str, category: str | None, title: str) -> None:
    """Only a short noun phrase at the very start is a category; sentence colons stay."""
    got_category, got_title = split_category(headline)
    assert got_category == category
    assert got_title.startswith(title)
    if category is None:
        assert got_title == headline


# --- day index -------------------------------------------------------------------------


def test_day_index_events(samples: Path) -> None:
    """The day index gives one event per ### link with its category, contexts and summary."""
    docs = parse_file(samples / INDEX, INDEX)
    assert len(docs) == 29
    assert len({d.doc_id for d in docs}) == 29
    assert all(d.date == "2016-04-20" and d.kind == "event" and d.path == INDEX for d in docs)
    assert all(d.doc_id.startswith(f"{INDEX}#") and len(d.urls) == 1 for d in docs)
    kabul = docs[0]
    assert kabul.doc_id == (
        f"{INDEX}#the-death-toll-from-yesterday-s-taliban-attack-on-the-national-directorate-of"
        "-security-in-kabul-rises-to-64-with-347-others-wounded-accord"
    )
    assert kabul.title.startswith("The death toll from yesterday's Taliban attack")
    assert kabul.category == "War in Afghanistan (2015-present)"
    assert kabul.contexts == (
        "Kabul",
        "Afghan Interior Ministry",
        "Taliban",
        "April 2016 Kabul attack",
        "War in Afghanistan (2015-present)",
        "National Directorate of Security",
    )
    assert kabul.text == kabul.title
    assert kabul.urls[0].startswith("/news/2016/04/20/the-death-toll-from-yesterday")


def test_day_index_summaries_and_entities(samples: Path) -> None:
    """Summaries follow the headline; HTML entities are decoded; page chrome is not an event."""
    docs = parse_file(samples / INDEX, INDEX)
    nato = next(d for d in docs if d.category == "NATO-Russia relations")
    assert nato.title.startswith("NATO reopens informal talks with Russia")
    assert nato.text == (
        f"{nato.title}\n\nNATO has reopened informal talks with Russia for the first time in "
        "nearly two years. Diplomats met for over 90 minutes to discuss Ukraine and the"
    )
    quake = next(d for d in docs if d.category == "Earthquake")
    assert "Ecuador's worst earthquake in decades" in quake.text
    breivik = next(d for d in docs if d.category == "Anders Behring Breivik")
    assert breivik.text.endswith('alleging "inhuman or degrading treatment".')
    duterte = next(d for d in docs if d.category == "Philippine presidential election, 2016")
    assert duterte.contexts == (
        "Rodrigo Duterte",
        "rape",
        "Philippine presidential election, 2016",
        "PDP-Laban",
        "renege",
    )
    joined = "\n".join(d.text for d in docs)
    assert "Formats" not in joined and "Previous Day" not in joined and "_Context" not in joined
    assert docs[-1].category == "2016 Macedonian protests"


def test_day_index_of_test_corpus() -> None:
    """The hand-written day index: three events, categories, optional summary and contexts."""
    rel = "events/2023/10/02/index.md"
    docs = parse_file(DATA / "corpus" / rel, rel)
    assert [d.category for d in docs] == ["Orchard Valley floods", "Chess", "Space exploration"]
    floods, chess, space = docs
    assert floods.doc_id == f"{rel}#heavy-rain-floods-40-farms-in-orchard-valley"
    assert floods.contexts == ("Orchard Valley", "floods", "regional council")
    assert floods.text.endswith(
        "\n\nThe council says the shelters at Lindholm school can host 600 people."
    )
    assert (
        chess.text
        == chess.title
        == ("Nadia Okafor wins the Saltmarsh Open chess tournament with 8 points from 9 games.")
    )
    assert chess.contexts == ()
    assert space.text.endswith("first signal at 14:05 local time.")


# --- raw articles ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["002", "003", "004"])
def test_raw_article_cleaned_text(samples: Path, name: str) -> None:
    """Each raw sample's cleaned text equals its hand-checked fixture, paragraph by paragraph."""
    doc = one(samples, f"{name}_*.txt")
    expected = (DATA / "expected" / f"{name}_article.txt").read_text(encoding="utf-8")
    assert doc.kind == "article"
    assert doc.text == expected.rstrip("\n")


def test_article_002_boilerplate(samples: Path) -> None:
    """002: repeated title, dateline and the "- AA photo" caption are gone; sentences stay."""
    doc = one(samples, "002_*.txt")
    assert doc.title == "NATO set for first formal talks with Russia for two years"
    assert doc.text.count("NATO set for first formal talks") == 1
    assert "Agence France-Presse" not in doc.text and "AA photo" not in doc.text
    assert "Stoltenberg speaks at Atlantic Council" not in doc.text
    assert '"The date has been mutually agreed," a NATO spokeswoman told AFP' in doc.text
    assert doc.text.endswith("to bring about a ceasefire and fresh peace talks.")
    assert doc.date is None  # "April 12" in the body is not a byline
    assert doc.urls == ()


def test_article_003_teasers_and_follow_line(samples: Path) -> None:
    """003: the VOV follow line and the repeated "Related" teasers are cut."""
    doc = one(samples, "003_*.txt")
    assert doc.title == "NATO and Russia to meet, but grievances remain"
    assert "VOV.VN" not in doc.text and "Related" not in doc.text
    assert "Afghan forces" not in doc.text and "Turkey air defense" not in doc.text
    assert doc.text.endswith("the meeting is a sign of willingness to improve relations.")
    assert '"We are not afraid of dialogue," said NATO Secretary-General' in doc.text
    assert len(doc.text.split("\n\n")) == 6


def test_article_004_menu_byline_link_and_credits(samples: Path) -> None:
    """004: menu, byline (its date kept), short link (kept as url), caption and credit go."""
    doc = one(samples, "004_*.txt")
    assert doc.title == "NATO and Russia: 'Profound disagreements'"
    assert doc.date == "2016-04-20"
    assert doc.urls == ("https://p.dw.com/p/1IZ8K",)
    for gone in ("Skip to", "Lewis Sanders", "p.dw.com", "picture-alliance", "A map showing"):
        assert gone not in doc.text
    assert "NATO chief Jens Stoltenberg\n" not in doc.text
    assert doc.text.split("\n\n")[1].startswith("After the first NATO-Russia Council meeting")
    assert "\n\nRussia 'against arms race'\n\n" in doc.text  # a subheading inside the text
    assert doc.text.endswith("said the US military's Europe Command (EUCOM).")


def test_article_of_test_corpus() -> None:
    """The hand-written article: every kind of boilerplate dropped, facts and date kept."""
    doc = parse_file(DATA / "corpus/articles/tolvik-glacier.txt", "articles/tolvik-glacier.txt")[0]
    assert doc.date == "2023-09-12"
    assert doc.urls == ("https://news.example.org/p/7Q2x",)
    assert doc.text == (
        "Tolvik Glacier lost 41 metres in one summer, survey finds\n\n"
        "A survey team from the Northfjord Institute found that the front of the Tolvik Glacier"
        " retreated 41 metres between June and September 2023, the largest summer loss since"
        " records began in 1961.\n\n"
        "Lead researcher Arne Solberg said the team used three drones and a network of 18 GPS"
        " stakes to map the ice.\n"
        '"The glacier is thinning from the top as well as melting at the front," Solberg said.'
        "\n\nThe institute will publish its full report in March 2024."
    )


def test_article_keeps_related_heading_without_teasers(tmp_path: Path) -> None:
    """A "Related" line followed by ordinary, unrepeated text is not a teaser block."""
    path = tmp_path / "a.txt"
    path.write_text(
        "Council votes on budget\n\nThe council met on Monday and voted on the budget for the "
        "coming year after a long debate.\n\nRelated\n\nThe vote followed months of talks "
        "between the parties about the new school buildings.\n"
    )
    doc = parse_file(path)[0]
    assert doc.text.endswith("\n\nRelated\n\nThe vote followed months of talks between the "
                             "parties about the new school buildings.")  # fmt: skip
    assert doc.date is None


def test_article_keeps_a_final_quote_without_full_stop(tmp_path: Path) -> None:
    """Only a caption-like last line goes: a short closing quote with "said" stays."""
    path = tmp_path / "a.txt"
    body = "The harbour reopened on Monday after repairs that took the whole of the winter."
    path.write_text(f'Harbour reopens\n\n{body}\n\n"We are glad," the mayor said\n')
    assert parse_file(path)[0].text.endswith('\n\n"We are glad," the mayor said')
    path.write_text(f"Harbour reopens\n\n{body}\n\nA view of the harbour at dawn\n")
    assert parse_file(path)[0].text == f"Harbour reopens\n\n{body}"


def test_article_body_date_is_not_the_document_date(tmp_path: Path) -> None:
    """Dates in sentences are not taken; only a byline above the first sentence counts."""
    path = tmp_path / "a.txt"
    path.write_text(
        "Harbour reopens\n\nThe harbour reopened on March 3, 2020 after repairs that took the "
        "whole winter, the port authority said.\n"
    )
    assert parse_file(path)[0].date is None
    path.write_text("Harbour reopens\n\nBy Jo Lind\n3 March 2020\n\nThe harbour reopened today.\n")
    doc = parse_file(path)[0]
    assert doc.date == "2020-03-03"
    assert doc.text == "Harbour reopens\n\nThe harbour reopened today."


# --- format detection and dates --------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("000_a226b7d7bdfc010b.txt", "event"),
        ("001_4b6828a6805741db.txt", "event"),
        ("002_bcb0abd9351ddb20.txt", "article"),
        ("003_8b785c81000277d8.txt", "article"),
        ("004_51b4c8b96a223870.txt", "article"),
        (INDEX, "day_index"),
        (EVENT_0408, "event"),
    ],
)
def test_detect_format_of_samples(samples: Path, rel: str, fmt: str) -> None:
    """The format comes from content: two .txt files are Markdown event pages."""
    text = (samples / rel).read_text(encoding="utf-8")
    assert detect_format(text, rel) == fmt


def test_detect_format_jsonl_by_content() -> None:
    """JSONL is recognised without the extension, and by extension despite a bad first line."""
    line = json.dumps({"id": "a", "text": "x"})
    assert detect_format(line + "\n" + line, "notes.txt") == "jsonl"
    assert detect_format("{not json\n" + line, "feed.jsonl") == "jsonl"
    assert detect_format("{not json}\nplain text", "a.txt") == "article"
    assert detect_format("# Heading\n\nSome text.", "a.md") == "article"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2016-04-8", "2016-04-08"),
        ("2016/4/20", "2016-04-20"),
        ("2020-01-03T10:00:00Z", "2020-01-03"),
        ("April 20, 2016", "2016-04-20"),
        ("Lewis Sanders IVApril 20, 2016", "2016-04-20"),
        ("20 Sept. 2016", "2016-09-20"),
        ("2016-02-30", None),
        ("sometime in 2016", None),
        (None, None),
        (20160420, None),
    ],
)
def test_normalize_date(raw: object, iso: str | None) -> None:
    """Dates become zero-padded ISO; impossible or missing dates become None."""
    assert normalize_date(raw) == iso


# --- JSONL -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "count"), [("rtqa", 5008), ("squad", 48)])
def test_eval_corpora_load(shared_data: Path, name: str, count: int) -> None:
    """Both eval corpora load whole, ids and texts unchanged, dates ISO, in well under 1 s."""
    path = shared_data / "eval" / name / "corpus.jsonl"
    start = time.perf_counter()
    corpus = load_corpus(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert (corpus.files, len(corpus.documents), corpus.skipped) == (1, count, ())
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert [d.doc_id for d in corpus.documents] == [r["id"] for r in raw]
    assert [d.text for d in corpus.documents] == [r["text"] for r in raw]
    assert [d.url for d in corpus.documents] == [r["url"] for r in raw]
    assert all(d.kind == "jsonl" and d.path == "corpus.jsonl" and d.title for d in corpus.documents)
    if name == "rtqa":
        assert all(d.date is not None and ISO.match(d.date) for d in corpus.documents)
        assert [d.date for d in corpus.documents] == [r["date"] for r in raw]
    else:
        assert all(d.date is None for d in corpus.documents)
        assert [d.title for d in corpus.documents] == [r["title"] for r in raw]


def test_rtqa_title_is_the_first_words(shared_data: Path) -> None:
    """Without a title, a JSONL record is titled with the first words of its text."""
    corpus = load_corpus(shared_data / "eval" / "rtqa" / "corpus.jsonl")
    doc = by_id(corpus.documents)["rtqa-703ab8669b73"]
    assert doc.title == (
        "Pro-Iranian demonstrators -- mostly from a coalition of predominantly Shiite militias -- …"
    )
    assert doc.date == "2020-01-03"


def test_jsonl_missing_fields_and_bad_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad lines are skipped with their line number and a warning; the rest of the file loads."""
    lines = [
        json.dumps({"id": "a", "title": "A", "url": "https://a.example", "date": "2021-3-4",
                    "text": "First story."}),
        "{broken json",
        json.dumps({"id": "b", "title": "No text here"}),
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"text": "Short one.", "date": "not a date"}),
        json.dumps({"id": 7, "text": "   "}),
        json.dumps({"id": 8, "text": "Numeric id story with a fairly long first sentence here."}),
    ]  # fmt: skip
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="retrieval.ingest.documents"):
        corpus = load_corpus(tmp_path)
    docs = by_id(corpus.documents)
    assert list(docs) == ["a", "feed.jsonl:6", "8"]
    assert docs["a"].date == "2021-03-04" and docs["a"].urls == ("https://a.example",)
    assert docs["feed.jsonl:6"].title == "Short one." and docs["feed.jsonl:6"].date is None
    assert docs["8"].title == "Numeric id story with a fairly long first sentence here."
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        ("feed.jsonl", "line 2: invalid JSON"),
        ("feed.jsonl", "line 3: no text"),
        ("feed.jsonl", "line 5: not a JSON object"),
        ("feed.jsonl", "line 7: no text"),
    ]
    assert "feed.jsonl line 2" in caplog.text and "feed.jsonl line 7" in caplog.text


def test_jsonl_line_separator_inside_a_string(tmp_path: Path) -> None:
    """A raw U+2028 inside a JSON string does not split the record."""
    record = json.dumps({"id": "x", "text": "one\u2028two"}, ensure_ascii=False)
    (tmp_path / "f.jsonl").write_text(record + "\n", encoding="utf-8")
    assert parse_file(tmp_path / "f.jsonl")[0].text == "one\u2028two"


# --- loading a corpus ------------------------------------------------------------------


def test_load_sample_corpus(samples: Path) -> None:
    """The samples folder: 11 files, 38 documents in sorted path order, nothing skipped
    (the day index's 2016-04-20 item is merged into the page it links), then the 18 Related
    items that are not already among them."""
    corpus = load_corpus(samples)
    assert corpus.files == 11 and corpus.skipped == ()
    assert len(corpus.documents) == 5 + 28 + 5 + 18
    assert not any(d.doc_id.startswith(f"{INDEX}#nato-reopens") for d in corpus.documents)
    paths = list(dict.fromkeys(d.path for d in corpus.documents[:38]))
    assert paths[:5] == [
        "000_a226b7d7bdfc010b.txt",
        "001_4b6828a6805741db.txt",
        "002_bcb0abd9351ddb20.txt",
        "003_8b785c81000277d8.txt",
        "004_51b4c8b96a223870.txt",
    ]
    assert paths[5:] == [EVENT_0415, INDEX, EVENT_0420, EVENT_0408, EVENT_1026, EVENT_1121]
    assert len(by_id(corpus.documents)) == 56
    assert all(d.kind == "event" and d.text == d.title for d in corpus.documents[38:])


def test_load_test_corpus() -> None:
    """The committed test corpus loads to the 9 documents its README describes."""
    corpus = load_corpus(DATA / "corpus")
    assert corpus.files == 4 and corpus.skipped == ()
    docs = by_id(corpus.documents)
    assert list(docs) == [
        "articles/tolvik-glacier.txt",
        "events/2023/09/4/port-velna-opens-the-kestrel-bridge.md",
        "events/2023/10/02/index.md#heavy-rain-floods-40-farms-in-orchard-valley",
        "events/2023/10/02/index.md#nadia-okafor-wins-the-saltmarsh-open",
        "events/2023/10/02/index.md#the-ardent-2-weather-satellite-launches",
        "brief-library",
        "brief-marathon",
        "feeds/briefs.jsonl:3",
        "news/2023/06/12/port-velna-approves-funding-for-a-second-tram-depot.md",
    ]
    assert not any("Test corpus" in d.text for d in corpus.documents)  # README skipped
    assert docs["brief-library"].title == "Oskaby library reopens"
    assert "85,000 books" in docs["brief-library"].text
    assert docs["brief-marathon"].date == "2023-05-21"
    assert docs["brief-marathon"].title.startswith("Runner Tomas Eklund won")
    assert docs["feeds/briefs.jsonl:3"].urls == () and docs["feeds/briefs.jsonl:3"].date is None
    bridge = docs["events/2023/09/4/port-velna-opens-the-kestrel-bridge.md"]
    assert "310 million euros" in bridge.text


def test_bad_files_are_skipped_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Binary, invalid UTF-8, empty, blank and unreadable files are skipped with reasons."""
    (tmp_path / "a_good.txt").write_text("Good title\n\nA real sentence about the harbour.\n")
    (tmp_path / "b_binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "c_latin1.txt").write_bytes("Café au lait\n\nCrème brûlée.".encode("latin-1"))
    (tmp_path / "d_empty.txt").write_bytes(b"")
    (tmp_path / "e_blank.md").write_text("  \n\n\t\n")
    (tmp_path / "f_dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "g.jsonl").write_text(json.dumps({"id": "g", "text": "Fine."}) + "\n")
    (tmp_path / ".hidden.txt").write_text("Hidden\n\nNot read.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with caplog.at_level(logging.WARNING, logger="retrieval.ingest.documents"):
        corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["a_good.txt", "g"]
    assert corpus.files == 7
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert reasons == {
        "b_binary.txt": "binary (NUL bytes)",
        "c_latin1.txt": "invalid UTF-8 at byte 3",
        "d_empty.txt": "empty or whitespace only",
        "e_blank.md": "empty or whitespace only",
        "f_dangling": "unreadable: No such file or directory",
    }
    for name in reasons:
        assert name in caplog.text


def test_parse_file_raises_for_unreadable(tmp_path: Path) -> None:
    """Parsing one bad file directly raises UnreadableFileError with the reason."""
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01")
    with pytest.raises(UnreadableFileError, match="binary"):
        parse_file(path)


def test_duplicate_ids_keep_the_first(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """On an id collision the first document in path order stays; the other is recorded."""
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "same", "text": "First."}) + "\n")
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"id": "same", "text": "Second."}) + "\n"
        + json.dumps({"id": "other", "text": "Third."}) + "\n"
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="retrieval.ingest.documents"):
        corpus = load_corpus(tmp_path)
    assert [(d.doc_id, d.text) for d in corpus.documents] == [
        ("same", "First."),
        ("other", "Third."),
    ]
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        ("b.jsonl", "duplicate id 'same', kept the one in a.jsonl")
    ]
    assert "duplicate id 'same'" in caplog.text


def test_single_file_root_and_missing_root(samples: Path, tmp_path: Path) -> None:
    """A file can be the whole corpus; a missing corpus path is a configuration error."""
    corpus = load_corpus(samples / "001_4b6828a6805741db.txt")
    assert corpus.files == 1
    assert corpus.documents[0].doc_id == "001_4b6828a6805741db.txt"
    assert len(corpus.documents) == 1 + 10  # its Related items
    with pytest.raises(ConfigError, match="does not exist"):
        load_corpus(tmp_path / "missing")


def test_file_without_documents_is_recorded(tmp_path: Path) -> None:
    """A readable file that yields no document (only a menu) is listed as skipped."""
    (tmp_path / "menu.txt").write_text("1. Skip to content\n  2. Skip to main menu\n")
    (tmp_path / "bad.jsonl").write_text("{oops\n{also bad\n")
    corpus = load_corpus(tmp_path)
    assert corpus.documents == ()
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        ("bad.jsonl", "line 1: invalid JSON"),
        ("bad.jsonl", "line 2: invalid JSON"),
        ("menu.txt", "no documents found"),
    ]


def test_source_chatter_is_left_out_of_event_text(tmp_path: Path) -> None:
    """An author credit before a wire dateline, a "Read more at site." tail, a share line,
    a site's tagline and a live blog's header pasted with a source's excerpt are not part of
    the event's text; a dateline is."""
    page = tmp_path / "vote.md"
    page.write_text(
        "### [2023-05-02](/news/2023/05/2/index.md)\n\n"
        "# Parliament votes to dissolve itself.\n\n"
        "By Ann Lee and Bo Ma VELNA (Reuters) - Parliament voted 301-95 on Tuesday to "
        "dissolve itself, calling an election for June.\n\n"
        "Share this on WhatsApp\n\n"
        "The speaker said the vote was final.. Read more at straitstimes.com.\n\n"
        "### Source:\n\n1. [Reuters](https://reuters.example/vote)\n"
    )
    [doc] = parse_file(page, "vote.md")
    assert doc.text == (
        "Parliament votes to dissolve itself.\n\n"
        "VELNA (Reuters) - Parliament voted 301-95 on Tuesday to dissolve itself, calling an "
        "election for June.\n\nThe speaker said the vote was final."
    )
    day = tmp_path / "index.md"
    day.write_text(
        "## [2023-05-02](/news/2023/05/2/index.md)\n\n"
        "### [Parliament votes to dissolve itself.](https://reuters.example/vote)\n"
        "By Cy Orr OSLO (AP) — Lawmakers voted to dissolve parliament. Read more at example.com.\n"
        "### [A flood hits Velna.](https://velna.example/flood)\n"
        "News - Your daily dose of information: European and International latest breaking "
        "news, economic news and more. Stay up to date with Euronews.\n"
        "### [A storm hits Harwick.](https://harwick.example/storm)\n"
        "Get the latest international news and world events. See videos at News.example\n"
        "### [Two die in floods.](https://velna.example/floods)\n"
        "VELNA - Two people were killed after floods swept their car away, hours after a wal "
        "- Velna breaking news | Velna news today | Velnafm.example\n"
        "### [A second quake hits Velna.](https://velna.example/quake)\n"
        "VELNA (AP) — The latest on the earthquakes in Velna (all times local): 1:30 p.m. "
        "Officials say 180 people are in shelters.\n"
    )
    vote, flood, storm, floods, quake = parse_file(day, "index.md")
    assert quake.text.endswith("\n\nVELNA (AP) — Officials say 180 people are in shelters.")
    assert vote.text.endswith("\n\nOSLO (AP) — Lawmakers voted to dissolve parliament.")
    assert (flood.text, storm.text) == ("A flood hits Velna.", "A storm hits Harwick.")
    assert floods.text.endswith("hours after a wal …")
