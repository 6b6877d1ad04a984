"""Feeds: every RSS and Atom version, feed quirks, and fetching over a local HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.core.app import App
from digest.core.errors import IngestError
from digest.core.models import Article
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import Fetcher
from digest.ingest.service import ingest_sources
from digest.settings import IngestSettings, Settings
from digest.settings.loading import load_settings
from digest.store.sources import source_health
from tests.conftest import FIXTURES, NEWSLETTER_TOML, NOW
from tests.localserver import Answer, serve

FEEDS = FIXTURES / "feeds"
QUICK = {"allow_private": True, "politeness_delay": 0, "backoff": 0, "timeout": 0.5, "retries": 1}


def _feed(name: str, base: str = "https://climate.example/feed.xml") -> list:  # type: ignore[type-arg]
    return parse_feed((FEEDS / name).read_bytes(), base, "test").articles


@pytest.mark.parametrize(
    ("name", "title", "url"),
    [
        ("rss091.xml", "Night buses return to the river line", "http://transit.example/night-buses"),
        ("rss092.xml", "Ferry timetable gains an early crossing", "http://ferry.example/early-crossing"),
        ("rss10.xml", "Council votes on a rent cap for student flats", "http://housing.example/rent-cap"),
        ("atom03.xml", "A new maintainer joins the tram-timetable library", "http://oss.example/maintainer"),
        ("atom10.xml", "Bike lanes double in the old town", "https://atom.example/blog/bike-lanes"),
    ],
)  # fmt: skip
def test_each_feed_version(name: str, title: str, url: str) -> None:
    [art] = _feed(name)
    assert art.title == title
    assert art.url == url
    assert art.word_count > 8


def test_rss10_and_atom_metadata() -> None:
    [rdf] = _feed("rss10.xml")
    assert rdf.published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert rdf.tags == ("housing",)
    assert rdf.author == "Mira Novak"
    [old] = _feed("rss091.xml")
    assert old.language == "en"
    [atom] = _feed("atom10.xml")
    assert atom.published == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert atom.tags == ("transit", "cycling")
    assert atom.text.startswith("The old town gets twice the bike lanes")  # content, not summary


def test_rss20_quirks() -> None:
    arts = _feed("rss20.xml")
    assert [a.guid for a in arts] == [
        "climate-001", "https://climate.example/posts/undated", "climate-dup",
    ]  # fmt: skip
    first = arts[0]
    assert first.title == "Trees & shade: the cool streets plan"
    assert first.url == "https://climate.example/posts/cool-streets"
    assert first.tags == ("climate", "urban planning")
    assert "4,000 trees on its hottest streets — the ones" in first.text
    assert "Café owners on Main Street" in first.text
    assert "Short summary" not in first.text
    for junk in ("alert", "color:red", "ads.example", "pixel"):
        assert junk not in first.text
    assert arts[1].published is None
    assert arts[2].title == "Duplicate guid, first"


def test_not_a_feed_names_the_location() -> None:
    with pytest.raises(IngestError, match=r"https://x\.example/feed: not an RSS or Atom feed"):
        parse_feed((FEEDS / "not_xml.txt").read_bytes(), "https://x.example/feed", "x")


def test_truncated_feed_keeps_what_it_can_and_says_so() -> None:
    result = parse_feed((FEEDS / "truncated.xml").read_bytes(), "https://x.example/f", "x")
    assert result.articles[0].guid == "climate-001"
    assert result.problems and "malformed feed" in result.problems[0]
    assert "https://x.example/f" in result.problems[0]


def test_empty_feed_is_fine() -> None:
    result = parse_feed((FEEDS / "empty.xml").read_bytes(), "https://x.example/f", "x")
    assert result.articles == [] and result.problems == []


def _settings(app: App, tmp_path: Path, extra: str) -> Settings:
    path = tmp_path / "sources.toml"
    path.write_text(NEWSLETTER_TOML + extra, encoding="utf-8")
    return load_settings(path, overrides={"database_url": app.settings.db_url})


def test_sources_over_http_errors_isolated_and_conditional_get(app: App, tmp_path: Path) -> None:
    body = (FEEDS / "rss20.xml").read_bytes()

    def feed(handler: object) -> Answer:
        if getattr(handler, "headers", {}).get("If-None-Match") == '"v1"':
            return Answer(b"", 304)
        return Answer(body, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    with serve() as srv:
        srv.routes = {
            "/feed.xml": feed,
            "/broken": Answer(b"oops", 500),
            "/words": Answer((FEEDS / "not_xml.txt").read_bytes()),
            "/slow": Answer(body, delay=1.5),
            "/loop": Answer(b"", 302, {"Location": "/loop"}),
            "/huge": Answer(b"<rss>" + b" " * 10_000_000 + b"</rss>"),
            "/moved": Answer(b"", 301, {"Location": "/feed.xml"}),
        }
        names = ["good", "broken", "words", "slow", "loop", "huge", "moved"]
        paths = ["/feed.xml", "/broken", "/words", "/slow", "/loop", "/huge", "/moved"]
        extra = "[ingest]\n" + "".join(
            f"{k} = {v!r}\n".replace("True", "true") for k, v in QUICK.items()
        )
        extra += "max_bytes = 1000000\n[ingest.keywords]\ntrees = ['tree', 'trees']\n"
        for name, path in zip(names, paths, strict=True):
            extra += (
                f"[sources.{name}]\nkind = 'feed'\nlocation = '{srv.url}{path}'\ntags = ['city']\n"
            )
        settings = _settings(app, tmp_path, extra)
        reports = {r.source: r for r in ingest_sources(app.engine, settings, NOW)}

        # The same feed twice (once through a redirect), read at once: whichever is stored
        # first has three new articles, the other finds them unchanged.
        pair = [reports["good"], reports["moved"]]
        assert all(r.ok for r in pair)
        assert sorted((r.counts["new"], r.counts["unchanged"]) for r in pair) == [(0, 3), (3, 0)]
        assert (
            "HTTP 500" in reports["broken"].errors[0] and "/broken" in reports["broken"].errors[0]
        )
        assert srv.hits("/broken") == 2  # retried once
        assert "not an RSS or Atom feed" in reports["words"].errors[0]
        assert "timed out" in reports["slow"].errors[0]
        assert "redirect loop" in reports["loop"].errors[0]
        assert "cap" in reports["huge"].errors[0]

        with app.engine.connect() as conn:
            rows = conn.execute(select(Article.guid, Article.published_guessed)).all()
            good = source_health(conn, "good")
            broken = source_health(conn, "broken")
        assert {g for g, _ in rows} == {
            "climate-001", "https://climate.example/posts/undated", "climate-dup",
        }  # fmt: skip
        assert dict(rows)["https://climate.example/posts/undated"] is True
        assert good is not None and good.etag == '"v1"' and good.consecutive_failures == 0
        assert broken is not None and broken.consecutive_failures == 1 and broken.last_error

        again = {r.source: r for r in ingest_sources(app.engine, settings, NOW, ["good", "broken"])}
        assert again["good"].not_modified and sum(again["good"].counts.values()) == 0
        assert srv.requests[-1][1].get("If-None-Match") or any(
            h.get("If-None-Match") == '"v1"' for p, h in srv.requests if p == "/feed.xml"
        )
        with app.engine.connect() as conn:
            broken = source_health(conn, "broken")
            assert len(conn.execute(select(Article.id)).all()) == 3
        assert broken is not None and broken.consecutive_failures == 2


def test_articles_get_source_and_keyword_tags(app: App, tmp_path: Path) -> None:
    with serve() as srv:
        srv.routes = {"/f": Answer((FEEDS / "rss20.xml").read_bytes())}
        extra = "[ingest]\nallow_private = true\npoliteness_delay = 0\n"
        extra += "[ingest.keywords]\nshade = ['SHADE']\n"
        extra += f"[sources.f]\nkind = 'feed'\nlocation = '{srv.url}/f'\ntags = ['City']\n"
        ingest_sources(app.engine, _settings(app, tmp_path, extra), NOW)
    from digest.store.articles import articles_since

    with app.engine.connect() as conn:
        arts = {a.title: a for a in articles_since(conn, datetime(2000, 1, 1, tzinfo=UTC))}
    assert arts["Trees & shade: the cool streets plan"].tags == (
        "city", "climate", "shade", "urban planning",
    )  # fmt: skip
    assert "shade" not in arts["An entry without a date"].tags


def test_private_addresses_refused_unless_allowed() -> None:
    with (
        Fetcher(IngestSettings(politeness_delay=0)) as fetcher,
        pytest.raises(IngestError, match=r"non-public address 127\.0\.0\.1"),
    ):
        fetcher.fetch("http://127.0.0.1:9/feed")
    with (
        Fetcher(IngestSettings()) as fetcher,
        pytest.raises(IngestError, match="unsupported URL scheme"),
    ):
        fetcher.fetch("ftp://example.com/feed")  # not a path, not http


def test_retries_back_off_and_hosts_are_asked_politely() -> None:
    slept: list[float] = []
    clock = iter(float(n) / 10 for n in range(1000))
    settings = IngestSettings(
        allow_private=True, retries=2, backoff=0.5, politeness_delay=2.0, timeout=2
    )
    with serve() as srv:
        srv.routes = {"/down": Answer(b"", 503), "/ok": Answer(b"fine")}
        with Fetcher(settings, sleep=slept.append, monotonic=lambda: next(clock)) as fetcher:
            with pytest.raises(IngestError, match=r"HTTP 503 .*after 3 attempt"):
                fetcher.fetch(f"{srv.url}/down")
            assert fetcher.fetch(f"{srv.url}/ok").content == b"fine"
        assert srv.hits("/down") == 3
        user_agents = {h.get("User-Agent") for _, h in srv.requests}
    assert user_agents == {settings.user_agent}
    backoffs = [s for s in slept if s in (0.5, 1.0)]
    assert backoffs == [0.5, 1.0]  # doubled each time
    assert any(1.5 < s <= 2.0 for s in slept if s not in (0.5, 1.0))  # politeness waits


def test_local_files_and_file_urls(tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_bytes((FEEDS / "atom10.xml").read_bytes())
    with Fetcher(IngestSettings(max_bytes=1000)) as fetcher:
        assert fetcher.fetch(feed.as_uri()).content == feed.read_bytes()
        big = tmp_path / "big.xml"
        big.write_bytes(b"x" * 2000)
        with pytest.raises(IngestError, match="over the 1000-byte cap"):
            fetcher.fetch(str(big))
        with pytest.raises(IngestError, match="cannot be read"):
            fetcher.fetch(str(tmp_path / "missing.xml"))
