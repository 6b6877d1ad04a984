"""Selection rules, sentence splitting, summaries, story grouping, ranking and the edition."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from digest.core.sentences import split_sentences
from digest.editions.build import build_edition
from digest.editions.content import EditionContent
from digest.settings import NewsletterSettings, StoriesSettings
from digest.store.articles import ArticleRecord
from digest.stories.assemble import Changes, Edit, lead_order, make_stories, story_summary
from digest.stories.grouping import Item, group
from digest.stories.select import History, select_articles, window_start
from digest.stories.summarize import Document, is_chrome, summarize, summarize_documents
from tests.conftest import NOW

NL = NewsletterSettings(title="Weekly", tags=["transit", "housing"], window_days=7, max_stories=5)
ST = StoriesSettings()

TRAM = (
    "The city council approved the riverside tram line on Tuesday after a four-hour debate. "
    "The 12-kilometre line will link the central station with the northern harbour district. "
    "Construction is expected to start next spring and cost 480 million euros. "
    "Mayor Anna Kowalska called the vote a turning point for public transport in Gdansk. "
    "Opposition councillors said the budget was unrealistic."
)
TRAM_2 = (
    "Gdansk councillors voted for the riverside tram line linking the central station and the "
    "harbour district. The line, 12 kilometres long, will cost 480 million euros, the council "
    "said. Mayor Anna Kowalska said construction would begin in spring."
)
# A third report of the tram vote in other words: close to the story as a whole, not to either
# report alone (mean cosine below the threshold, cosine to the story's centroid above it).
TRAM_3 = (
    "Construction of the riverside tram to the harbour could begin next spring. Supporters at "
    "the town hall argued that the line would ease traffic around the central station; "
    "opposition councillors questioned its budget after the debate. A referendum was ruled "
    "out, and the mayor promised regular reports on costs."
)
RENT = (
    "Rents in Warsaw rose 9 percent in the third quarter, the national statistics office said. "
    "Studio flats saw the steepest increases as students returned to the capital. "
    "Landlords blamed higher energy bills and mortgage rates for the rises."
)


def art(
    i: int,
    hours: float,
    text: str,
    title: str = "",
    tags: tuple[str, ...] = ("transit",),
    source: str = "Src",
    words: int | None = None,
) -> ArticleRecord:
    return ArticleRecord(
        id=i,
        title=title or f"Story {i}",
        text=text,
        url=f"https://x.example/{i}",
        author=None,
        source=source,
        published_at=NOW - timedelta(hours=hours),
        word_count=words if words is not None else len(text.split()),
        tags=tags,
    )


# --- selection ---------------------------------------------------------------------------


def test_select_all_exclude_min_words_and_sources() -> None:
    nl = NL.model_copy(
        update={
            "tags_all": ["city"],
            "tags_exclude": ["opinion"],
            "min_words": 20,
            "sources_deny": ["Spam Daily"],
        }
    )
    pool = [
        art(1, 1, TRAM, tags=("transit", "city")),
        art(2, 1, TRAM, tags=("transit",)),  # lacks the `all` tag
        art(3, 1, TRAM, tags=("transit", "city", "opinion")),  # excluded tag
        art(4, 1, "Too short to matter.", tags=("transit", "city")),  # under min_words
        art(5, 1, TRAM, tags=("housing", "city"), source="Spam Daily"),  # denied source
        art(6, 2, RENT, tags=("housing", "city"), source="Stats"),
    ]
    assert [a.id for a in select_articles(pool, nl, NOW)] == [1, 6]
    only = nl.model_copy(update={"sources_allow": ["Stats"]})
    assert [a.id for a in select_articles(pool, only, NOW)] == [6]


def test_window_counts_from_when_an_article_was_first_seen() -> None:
    day = timedelta(days=1)
    pool = [
        art(1, 24, TRAM),
        art(2, 24 * 8, TRAM),  # dated and seen 8 days ago: stale
        replace(art(3, 24 * 8, TRAM), first_seen=NOW - 2 * day),  # 6 days late, seen recently
        replace(art(4, 24 * 12, TRAM), first_seen=NOW - 2 * day),  # a new source's old archive
        replace(art(5, 24 * 3, TRAM), first_seen=NOW - 8 * day),  # seen too long ago
    ]
    assert [a.id for a in select_articles(pool, NL, NOW)] == [1, 3]
    assert window_start(NL, NOW) <= min(a.published_at for a in pool[:4])


def test_an_article_is_new_until_an_edition_carried_it_or_had_it_to_choose() -> None:
    """What the last edition to reach readers drew at 12:00 is settled; what came after is not."""
    drawn = NOW - timedelta(hours=48)
    history = History(carried=frozenset({1}), drawn_at=drawn)
    late = replace(art(3, 60, TRAM), first_seen=drawn + timedelta(hours=5))  # dated before
    pool = [
        replace(art(1, 50, TRAM), first_seen=drawn - timedelta(hours=1)),  # carried
        replace(art(2, 52, TRAM), first_seen=drawn - timedelta(hours=1)),  # left out then
        late,  # a lagging feed: dated before the draw, first seen after it
        replace(art(4, 10, TRAM), first_seen=NOW - timedelta(hours=9)),  # plainly new
        replace(art(5, 47, TRAM), first_seen=drawn - timedelta(hours=3)),  # dated after the draw
    ]
    assert [a.id for a in select_articles(pool, NL, NOW, history)] == [4, 5, 3]


# --- sentences and summaries -------------------------------------------------------------


def test_sentences_survive_abbreviations_initials_decimals_quotes_and_bullets() -> None:
    text = (
        'Dr. Reyes met J. K. Rowling at 3.5 p.m. in the U.S. capital. She said: "It works." '
        "Then she left!\n\n• First point\n• Second point. With two sentences."
    )
    assert split_sentences(text) == [
        "Dr. Reyes met J. K. Rowling at 3.5 p.m. in the U.S. capital.",
        'She said: "It works."',
        "Then she left!",
        "First point",
        "Second point.",
        "With two sentences.",
    ]


def test_chrome_and_questions_to_the_reader_are_never_summary_material() -> None:
    assert is_chrome("What do you think? Let us know in the comments below.")
    assert is_chrome("Do you agree with your council's decision?")
    assert is_chrome("Subscribe to our newsletter for more stories like this one.")
    assert is_chrome("Home » World » Europe")
    assert not is_chrome("The council approved the line on Tuesday after a long debate.")


def test_summary_is_whole_sentences_within_budget_and_deterministic() -> None:
    text = TRAM + " What do you think? Tell us in the comments below."
    summary = summarize(text, "Council approves riverside tram line", sentences=2)
    parts = split_sentences(summary)
    assert len(parts) == 2 and all(p in split_sentences(TRAM) for p in parts)
    assert "comments" not in summary
    assert summarize(text, "Council approves riverside tram line", 2) == summary
    short = summarize(TRAM, sentences=5, max_words=30)
    assert len(short.split()) <= 30 and short.endswith(".")
    assert summarize("") == ""


def test_summary_skips_a_sentence_repeated_as_a_caption() -> None:
    first = (
        "Homes near an upmarket supermarket cost 12 percent more than others nearby, a study found."
    )
    text = f"{first} {first} Budget stores had the opposite effect on prices. Sales rose."
    picked = summarize_documents([Document(text)], sentences=2)
    assert picked == [first, "Budget stores had the opposite effect on prices."]


def test_multi_source_summary_draws_on_all_articles_without_repeating() -> None:
    docs = [Document(TRAM, "Council approves tram"), Document(TRAM_2, "Tram line voted", 0.8)]
    picked = summarize_documents(docs, sentences=4)
    assert len(picked) == len(set(picked))
    assert any(p in TRAM_2 for p in picked) or len(picked) == 4


# --- grouping ------------------------------------------------------------------------------


def test_same_event_groups_and_different_events_stay_apart() -> None:
    items = [
        Item("Council approves riverside tram line", TRAM),
        Item("Rents in Warsaw up 9 percent", RENT),
        Item("Gdansk votes for harbour tram", TRAM_2),
    ]
    assert group(items) == [[0, 2], [1]]
    assert group([]) == []
    assert group([Item("", "")]) == [[0]]


def test_time_proximity_keeps_far_apart_reports_apart() -> None:
    close = [Item("Tram line approved", TRAM, NOW), Item("Tram vote", TRAM_2, NOW)]
    assert group(close, time_scale_days=1) == [[0, 1]]
    far = [close[0], replace(close[1], published=NOW + timedelta(days=60))]
    assert group(far, time_scale_days=1) == [[0], [1]]


def test_an_article_left_alone_joins_the_story_whose_centroid_is_close() -> None:
    items = [
        Item("Council approves riverside tram line", TRAM, NOW),
        Item("Gdansk votes for harbour tram", TRAM_2, NOW),
        Item("Rents in Warsaw up 9 percent", RENT, NOW),
        Item("Harbour tram gets the go-ahead", TRAM_3, NOW),
    ]
    assert group(items, attach_threshold=0) == [[0, 1], [2], [3]]  # first pass alone
    assert group(items) == [[0, 1, 3], [2]]
    # Far apart in time, the second pass is held back like the first.
    late = replace(items[3], published=NOW + timedelta(days=60))
    assert group([*items[:3], late]) == [[0, 1], [2], [3]]
    # With no story of two or more articles there is no centroid to join.
    assert group(items[2:]) == [[0], [1]]


def test_headline_only_items_use_the_headline_threshold() -> None:
    items = [
        Item("ECB unlikely to end sterilisation of SMP purchases - traders"),
        Item("ECB unlikely to end sterilization of SMP purchases: traders"),
        Item("Apple unveils a new watch"),
    ]
    assert group(items) == [[0, 1], [2]]


# --- stories, ranking and the edition -----------------------------------------------------


def test_lead_is_the_most_complete_then_the_earliest() -> None:
    a = art(1, 5, TRAM_2, words=100)
    b = art(2, 4, TRAM, words=300)
    c = art(3, 9, TRAM, words=300)
    assert [x.id for x in lead_order([a, b, c])] == [3, 2, 1]


def test_stories_rank_by_sources_recency_weight_and_pins() -> None:
    arts = [
        art(1, 30, TRAM, "Council approves riverside tram line", source="Gazette"),
        art(2, 29, TRAM_2, "Gdansk votes for harbour tram", source="Herald"),
        art(3, 1, RENT, "Warsaw rents up 9 percent", ("housing",), source="Stats"),
    ]
    stories = make_stories(arts, NL, ST, NOW)
    assert [sorted(a.id for a in s.articles) for s in stories] == [[1, 2], [3]]
    assert stories[0].sources == ["Gazette", "Herald"]
    weighted = NL.model_copy(update={"source_weights": {"Stats": 3.0}})
    assert [s.key for s in make_stories(arts, weighted, ST, NOW)] == [3, 1]
    assert [s.key for s in make_stories(arts, NL, ST, NOW, pinned=[3])] == [3, 1]
    assert make_stories(list(reversed(arts)), NL, ST, NOW) == stories


def test_edition_from_stories_has_sections_also_links_and_editor_text() -> None:
    arts = [
        art(1, 30, TRAM, "Council approves riverside tram line", source="Gazette"),
        art(2, 29, TRAM_2, "Gdansk votes for harbour tram", source="Herald"),
        art(3, 1, RENT, "Warsaw rents up 9 percent", ("housing",), source="Stats"),
    ]
    groups = make_stories(arts, NL, ST, NOW)
    ed = build_edition("weekly", NL, arts, 3, NOW, stories=groups)
    assert [s.tag for s in ed.sections] == ["transit", "housing"]
    tram = ed.sections[0].stories[0]
    assert tram.headline == "Council approves riverside tram line"
    assert [link.source for link in tram.also] == ["Herald"]
    assert tram.sources == 2 and tram.article_ids == [1, 2]
    assert split_sentences(tram.summary)[0] in TRAM + " " + TRAM_2
    assert ed.subject == "Weekly #3: Council approves riverside tram line"
    assert EditionContent.from_json(ed.to_json()) == ed

    changes = Changes((Edit(key=2, summary="Edited by hand."), Edit(key=3, removed=True)))
    edited = build_edition("weekly", NL, arts, 3, NOW, stories=changes.apply(groups), edits=changes)
    assert [s.summary for s in edited.stories] == ["Edited by hand."]
    capped = build_edition(
        "weekly", NL.model_copy(update={"max_stories": 1}), arts, 3, NOW, stories=groups
    )
    assert len(capped.stories) == 1


def test_story_summary_respects_the_word_budget() -> None:
    arts = [art(1, 1, TRAM), art(2, 1, TRAM_2)]
    [story] = make_stories(arts, NL, ST, NOW)
    text = story_summary(story, sentences=5, max_words=40)
    assert 0 < len(text.split()) <= 40
