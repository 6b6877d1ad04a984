"""Feeds and pages as the real world sends them: wide encodings, compression, JSON Feed,
sitemaps, tag counts, links that are not web pages, missing dates, outlets, empty feeds.

Each quirk has a fixture of its own in tests/fixtures/quirks/ (ours, made for these tests).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.core.app import App
from digest.core.errors import IngestError
from digest.ingest import sniff
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import Fetcher
from digest.ingest.service import read_source
from digest.settings import IngestSettings
from tests.conftest import FIXTURES, NOW

QUIRKS = FIXTURES / "quirks"
TITLES = ["King tide expected on Saturday morning", "Sea wall study goes to council"]


def read(name: str, kind: str = "auto"):  # type: ignore[no-untyped-def]
    with Fetcher(IngestSettings()) as fetcher:
        return read_source(kind, str(QUIRKS / name), "quirks", fetcher, NOW)


@pytest.mark.parametrize(
    "name",
    [
        "utf16le-bom.xml", "utf16be-bom.xml", "utf16le-nobom.xml", "utf16be-nobom.xml",
        "utf32le-bom.xml", "utf32be-nobom.xml", "feed.xml.gz", "feed.xml.z", "feed.deflate",
    ],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["auto", "feed"])
def test_wide_encodings_and_compressed_feeds_read_as_the_feed_they_hold(
    name: str, kind: str
) -> None:
    got = read(name, kind)
    assert [a.title for a in got.articles] == TITLES
    assert got.problems == [] and got.entries == 2
    assert got.articles[0].url == "https://tides.example/king-tide"
    assert got.articles[0].text.startswith("The harbour gauge is forecast to reach 3.05 metres")
    assert got.articles[0].language == "en" and "climate" in got.articles[0].tags


def test_a_utf16_page_is_a_page_not_garbage(tmp_path: Path) -> None:
    page = (QUIRKS / "no-date.html").read_text(encoding="utf-8")
    path = tmp_path / "wide.htm"
    path.write_bytes(
        b"\xff\xfe" + page.replace("<head>", '<head><meta charset="utf-16">').encode("utf-16-le")
    )
    got = read(str(path))
    assert [a.title for a in got.articles] == ["Harbour wall repairs begin"]
    assert got.articles[0].text.startswith("Crews began repairing")


def test_unix_compress_and_binary_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"compress\.Z: a Unix compress \(\.Z\) file") as exc:
        read("compress.Z")
    assert exc.value.hint and "gzip -d" in exc.value.hint
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(IngestError, match="binary data, not a feed or a web page"):
        read(str(tmp_path / "blob.bin"))


def test_a_compression_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "bomb.xml.gz").write_bytes(gzip.compress(b"<rss>" + b" " * 5_000_000))
    with (
        Fetcher(IngestSettings(max_bytes=1_000_000)) as fetcher,
        pytest.raises(IngestError, match="unpacks to more than the 1000000-byte cap"),
    ):
        read_source("auto", str(tmp_path / "bomb.xml.gz"), "b", fetcher, NOW)


def test_json_feed_items_are_articles_and_bad_items_are_named() -> None:
    got = read("feed.json")
    first, second = got.articles
    assert first.guid == "tech-41" and first.url == "https://tech.portalder.example/2026/permit-api"
    assert first.title == "City opens its building-permit API"
    assert first.text.startswith("Port Alder has opened a public API") and "\n\n" in first.text
    assert first.author == "Sam Kiprono" and first.tags == ("open-source", "housing")
    assert (
        first.published is not None and first.published.isoformat() == "2026-11-21T10:00:00+00:00"
    )
    assert first.language == "en"
    assert second.url == "https://other.example/ferry-app" and second.author == "Lee Ward"
    assert second.language == "en-GB" and second.published is not None
    assert got.entries == 4
    assert [p.split(": ", 1)[1] for p in got.problems] == [
        "item 3: has neither a title nor any text", "item 4: is not an object",
    ]  # fmt: skip
    assert all("feed.json" in p for p in got.problems)


def test_a_sitemap_is_refused_with_what_to_do_instead() -> None:
    for kind in ("auto", "feed", "page"):
        with pytest.raises(IngestError, match=r"sitemap\.xml: a sitemap") as exc:
            read("sitemap.xml", kind)
        assert exc.value.hint and "feed" in exc.value.hint


def test_tag_pages_counts_are_not_part_of_the_tag() -> None:
    (art,) = read("tag-counts.html").articles
    assert {"congress", "senate"} <= set(art.tags)
    assert not any("(" in t for t in art.tags)


def test_links_that_are_not_web_pages_are_not_urls() -> None:
    selfish = read("atom-self-only.xml").articles
    assert selfish[0].url is None and selfish[0].guid.startswith("urn:uuid:")
    # A relative alternate link in a local file has no base to resolve against: no URL.
    assert selfish[1].url is None
    based = parse_feed(
        (QUIRKS / "atom-self-only.xml").read_bytes(), "https://harbour.example/feed", "h"
    )
    assert based.articles[0].url is None
    assert based.articles[1].url == "https://harbour.example/notices/berth-2"
    guids = read("rss-guids.xml").articles
    assert guids[0].guid == "e1" and guids[0].url is None
    assert guids[1].url == "https://notices.example/library-holiday"


def test_a_page_without_a_date_is_undated_not_new_year(tmp_path: Path) -> None:
    (art,) = read("no-date.html").articles
    assert art.published is None  # stored as first seen (published_guessed)
    assert art.outlet == "Quay Courier"
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "extract", str(QUIRKS / "no-date.html")]
    )
    assert result.exit_code == 0, result.output
    assert "published: none found: the time digest first sees it will be used" in result.output
    assert "outlet: Quay Courier" in result.output
    as_json = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "extract", "--json", str(QUIRKS / "no-date.html")]
    )
    row = json.loads(as_json.stdout.splitlines()[-1])
    assert row["published"] is None and row["published_guessed"] is True


def test_an_empty_feed_says_zero_entries(tmp_path: Path) -> None:
    got = read("empty.xml")
    assert got.articles == [] and got.entries == 0
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "extract", str(QUIRKS / "empty.xml")]
    )
    assert result.exit_code == 0 and "the feed has 0 entries" in result.output
    config = tmp_path / "digest.toml"
    config.write_text(f"[sources.quiet]\nkind = 'feed'\nlocation = '{QUIRKS / 'empty.xml'}'\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "--home", str(tmp_path), "ingest"])
    assert result.exit_code == 0, result.output
    assert "quiet: the feed has 0 entries" in result.output


def test_wide_encoding_detection() -> None:
    assert sniff.wide_encoding("<rss>".encode("utf-16-le")) == "utf-16-le"
    assert sniff.wide_encoding(b"\xef\xbb\xbf<rss>") is None
    assert sniff.wide_encoding(b"<rss>") is None
    assert (
        sniff.kind_of(b'{"version": "https://jsonfeed.org/version/1", "items": []}') == "json-feed"
    )
    assert sniff.kind_of(b"x marks the spot") == "page"
    assert sniff.unpack(b"x^ plain text that starts like zlib", "t", 1000).startswith(b"x^")


def test_library_logs_stay_out_of_the_way_without_verbose(tmp_path: Path) -> None:
    CliRunner().invoke(cli, ["--home", str(tmp_path), "extract", str(QUIRKS / "no-date.html")])
    assert logging.getLogger("trafilatura").getEffectiveLevel() > logging.CRITICAL
    assert logging.getLogger("htmldate").getEffectiveLevel() > logging.CRITICAL
    CliRunner().invoke(
        cli, ["--verbose", "--home", str(tmp_path), "extract", str(QUIRKS / "no-date.html")]
    )
    assert logging.getLogger("trafilatura").getEffectiveLevel() == logging.DEBUG
    logging.getLogger("trafilatura").setLevel(logging.NOTSET)


def test_two_hundred_sources_at_once_good_slow_hanging_and_broken(app: App, tmp_path: Path) -> None:
    """Sources are read concurrently; every good feed is stored, every bad one reported."""
    import threading
    import time

    from digest.ingest.service import ingest_sources
    from digest.settings.loading import load_settings
    from tests.conftest import NEWSLETTER_TOML
    from tests.localserver import Answer, serve

    body = (FIXTURES / "feeds" / "rss20.xml").read_bytes()
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most at once

    def counted(delay: float, status: int = 200):  # type: ignore[no-untyped-def]
        def answer(_handler: object) -> Answer:
            with lock:
                in_flight[0] += 1
                in_flight[1] = max(in_flight)
            time.sleep(delay)
            with lock:
                in_flight[0] -= 1
            return Answer(body if status == 200 else b"oops", status)

        return answer

    kinds = ["good"] * 160 + ["slow"] * 20 + ["hang"] * 10 + ["broken"] * 10
    with serve() as srv:
        extra = (
            "[ingest]\nallow_private = true\npoliteness_delay = 0\nbackoff = 0\n"
            "timeout = 2\nretries = 0\nconcurrency = 8\n"
        )
        for i, kind in enumerate(kinds):
            delay = {"good": 0.05, "slow": 1.0, "hang": 4.0, "broken": 0.0}[kind]
            srv.routes[f"/{i}.xml"] = counted(delay, 500 if kind == "broken" else 200)
            extra += f"[sources.{kind}{i}]\nkind = 'feed'\nlocation = '{srv.url}/{i}.xml'\n"
        path = tmp_path / "many.toml"
        path.write_text(NEWSLETTER_TOML + extra, encoding="utf-8")
        settings = load_settings(path, overrides={"database_url": app.settings.db_url})
        done: list[str] = []
        start = time.monotonic()
        reports = ingest_sources(app.engine, settings, NOW, on_done=lambda r: done.append(r.source))
        elapsed = time.monotonic() - start
    assert [r.source for r in reports] == [f"{k}{i}" for i, k in enumerate(kinds)]
    assert sorted(done) == sorted(r.source for r in reports)
    by_kind: dict[str, list] = {}  # type: ignore[type-arg]
    for r in reports:
        by_kind.setdefault(r.source.rstrip("0123456789"), []).append(r)
    assert all(r.ok for r in by_kind["good"] + by_kind["slow"])
    assert all("timed out" in r.errors[0] for r in by_kind["hang"])
    assert all("HTTP 500" in r.errors[0] for r in by_kind["broken"])
    # The same three articles in every good feed: stored once, then seen as unchanged.
    assert sum(r.counts["new"] for r in reports) == 3
    assert in_flight[1] >= 4, f"at most {in_flight[1]} requests at once: not concurrent"
    # One at a time, the slow and hanging feeds alone would take over 20 s.
    assert elapsed < 20, f"{elapsed:.1f} s"


def test_a_folder_of_pages_from_three_sites_is_three_outlets(app: App) -> None:
    """The folder is the source; each page's own site is its outlet, shown to readers."""
    from digest.ingest.service import ingest_path
    from digest.pipeline import prepare_draft

    report = ingest_path(app.engine, QUIRKS / "outlets", NOW, source="clippings", tags=("transit",))
    assert report.ok and report.counts["new"] == 3
    draft = prepare_draft(app, "weekly", NOW)
    (story,) = draft.content.stories
    assert story.sources == 3  # ranked as told by three outlets, not one folder
    # The lead and the other outlets with a page to link to ("Alder Tech Notes" has none).
    outlets = {story.source, *(link.source for link in story.also)}
    assert outlets == {"Harbour Line Daily", "gazette.portalder.example"}
    assert "clippings" not in outlets
