"""Tests for retrieval.ingest.related: Related items as events, merged duplicates, links."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import ConfigError
from retrieval.ingest.documents import Document, load_corpus
from retrieval.ingest.related import link_date, link_events, merge_day_items, portal_url
from retrieval.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "data" / "corpus-samples"
WCEP = REPO.parent / "shared" / "data" / "wcep"
PORTAL = "https://en.wikipedia.org/wiki/Portal:Current_events/"


def by_id(docs: tuple[Document, ...]) -> dict[str, Document]:
    return {d.doc_id: d for d in docs}


@pytest.mark.parametrize(
    ("link", "iso"),
    [
        ("/news/2016/04/8/nato-announces.md", "2016-04-08"),
        ("/news/2017/03/18/estonia.md", "2017-03-18"),
        ("news/2016/13/40/bad-day.md", None),
        ("/news/index.md", None),
    ],
)
def test_link_date(link: str, iso: str | None) -> None:
    """The date of a Related link comes from its year/month/day folders."""
    assert link_date(link) == iso


def test_portal_url_is_the_day_page() -> None:
    """The Portal page name spells the month and leaves the day unpadded."""
    assert portal_url("2016-04-08") == f"{PORTAL}2016_April_8"
    assert portal_url("2017-11-21") == f"{PORTAL}2017_November_21"


def test_default_corpus_related_items_become_dated_events() -> None:
    """Every Related headline of the default corpus is an event dated by its link, with
    its tags, a Portal link and the headline (category split off) as its text."""
    docs = load_corpus(REPO / "corpus").documents
    assert len(docs) == 5 + 9
    estonia = by_id(docs)[
        "news/2017/03/18/estonia-united-kingdom-relations-eight-hundred-british-army-troops-"
        "arrive-in-estonia-as-part-of-nato-s-enhanced-forward-presence-to-deter.md"
    ]
    assert estonia.kind == "event" and estonia.date == "2017-03-18"
    assert estonia.category == "Estonia-United Kingdom relations"
    assert estonia.text == estonia.title
    assert estonia.title.startswith("Eight hundred British Army troops arrive in Estonia")
    assert estonia.contexts == ("NATO", "Russia")
    assert estonia.urls == (f"{PORTAL}2017_March_18",)
    assert estonia.path == "001_4b6828a6805741db.txt"
    # Items already in the corpus are not added again: the 2016-04-08 meeting announcement
    # is file 001 and the 2016-04-20 talks file 000 (both listed as Related of the other).
    days = [d.date for d in docs]
    assert days.count("2016-04-08") == 1 and days.count("2016-04-20") == 2  # 000 and 004
    # Listed by both pages under different slugs, the S-400 deployment is one event.
    assert days.count("2016-11-21") == 1
    # Web sources are kept as they are.
    assert by_id(docs)["000_a226b7d7bdfc010b.txt"].urls[0].startswith("http://www.euronews.com/")


def test_related_items_merge_into_pages_and_index_items() -> None:
    """In the samples a Related link naming a page in the corpus adds no event (its tags
    join the page), and one whose headline is a day-index item of that day adds none."""
    corpus = load_corpus(SAMPLES)
    docs = by_id(corpus.documents)
    page = "thecontext/news/2016/11/21/russia-deploys-its-s-400-missile-system-in-kaliningrad"
    page += "-an-exclave-between-poland-and-lithuania-in-response-to-nato-expansion-near-its-bo.md"
    assert page in docs
    assert not any(d.startswith("news/2016/11/21/") for d in docs)
    assert "NATO-Russia relations" in docs[page].contexts
    # 2016-04-20: the talks are file 000, a page and a day-index item; none is added.
    added = [d for d in corpus.documents if d.doc_id.startswith("news/")]
    assert added and not any(d.date == "2016-04-20" for d in added)
    assert len({d.doc_id for d in corpus.documents}) == len(corpus.documents)


def test_wcep_related_events_have_no_relative_links() -> None:
    """On the WCEP sample every event has a web link; Related items from after April 2016
    are dated by their link, so questions asked earlier never see them."""
    docs = load_corpus(WCEP).documents
    assert all(d.url and d.url.startswith(("http://", "https://")) for d in docs)
    overdose = [d for d in docs if "Prince died of an overdose of fentanyl" in d.text]
    assert [d.date for d in overdose] == ["2016-06-02"]
    index_item = next(d for d in docs if d.doc_id.startswith("news/2016/04/10/index.md#"))
    assert index_item.urls == (f"{PORTAL}2016_April_10",)


def test_wcep_day_items_merge_into_the_pages_they_link() -> None:
    """A day-index item whose link names an event page is that page's event: one
    document, the page's id and web sources first, with the item's extra paragraph."""
    docs = load_corpus(WCEP).documents
    toll = [d for d in docs if d.title.startswith("The death toll from Saturday night's")]
    assert len(toll) == 1
    assert "#" not in toll[0].doc_id and toll[0].url.startswith("http://www.abc.net.au/")
    pfizer = next(d for d in docs if d.title.startswith("Pfizer Inc. decides to terminate"))
    assert "a person familiar with the matter said" in pfizer.text  # from the day index
    assert not any(d.doc_id.startswith("news/2016/04/5/index.md#pfizer") for d in docs)


def test_merging_a_day_item_keeps_one_copy_of_each_paragraph() -> None:
    """Paragraphs the page already has (word for word, or nearly) are not added again;
    an item linking a page that is not in the corpus stays as it is."""
    cost = "The tower is to cost roughly $1bn ({}) and open for the Expo in 2020."
    page = Document("news/2016/04/10/tower.md", "Tower", "Tower\n\n" + cost.format("GBP710m"),
                    "2016-04-10", ("https://src.example/t",), "news/2016/04/10/tower.md",
                    "event", contexts=("Dubai",))  # fmt: skip
    item = Document("news/2016/04/10/index.md#tower", "Tower",
                    "Tower\n\n" + cost.format("PS710m") + "\n\nDevelopers name no architect.",
                    "2016-04-10", ("/news/2016/04/10/tower.md",), "news/2016/04/10/index.md",
                    "event", contexts=("Burj Khalifa",))  # fmt: skip
    other = Document("news/2016/04/10/index.md#other", "Other", "Other", "2016-04-10",
                     ("/news/2016/04/10/other.md",), "news/2016/04/10/index.md",
                     "event")  # fmt: skip
    merged = merge_day_items([page, item, other])
    assert [d.doc_id for d in merged] == [page.doc_id, other.doc_id]
    assert merged[0].text == page.text + "\n\nDevelopers name no architect."
    assert merged[0].urls == page.urls and merged[0].contexts == ("Dubai", "Burj Khalifa")


def test_link_base_resolves_relative_links() -> None:
    """With a base URL, an event's relative link joins it, and an article without a source
    links its file under it; web sources stay first."""
    base = "https://mirror.example/pages/"
    docs = [
        Document("i#a", "A", "A", "2016-04-10", ("/news/2016/04/10/a.md",), "i", "event"),
        Document("p", "B", "B", "2016-04-10", ("https://src.example/b", "/x.md"), "p", "event"),
        Document("q", "C", "C", None, (), "q", "event"),
        Document("r", "D", "D", "2016-04-11", (), "r", "article"),
    ]
    linked = link_events(docs, base)
    assert linked[0].urls == ("https://mirror.example/pages/news/2016/04/10/a.md",)
    assert linked[1].urls == ("https://src.example/b",)
    assert linked[2].urls == ()  # an event without date or link has nothing to link
    assert linked[3].urls == ("https://mirror.example/pages/r",)  # an article: its own file
    assert link_events(docs)[0].urls == (f"{PORTAL}2016_April_10",)
    assert link_events(docs)[3].urls == ()


def test_link_base_setting_must_be_a_web_url() -> None:
    """NEWSQA_EVENT_LINK_BASE takes an http(s) URL; anything else is one clear error."""
    env = {"NEWSQA_EVENT_LINK_BASE": "https://mirror.example/"}
    assert load_settings(env, env_file=None).event_link_base == "https://mirror.example/"
    with pytest.raises(ConfigError, match="NEWSQA_EVENT_LINK_BASE must be an http"):
        load_settings({"NEWSQA_EVENT_LINK_BASE": "/srv/pages"}, env_file=None)
