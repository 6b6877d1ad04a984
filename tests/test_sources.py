"""Sources end to end: intervals to scheduler jobs, the sources and extract commands, WordPress."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from digest.cli import cli
from digest.core.app import App, create_app
from digest.core.errors import ConfigError
from digest.core.models import Article, ArticleTag
from digest.ingest.sourceconf import add_source, remove_source
from digest.schedule import scheduler
from digest.settings.loading import load_settings
from digest.store.sources import source_health
from tests.conftest import FIXTURES, NEWSLETTER_TOML, NOW, SHARED
from tests.localserver import Answer, serve

QUICK = "[ingest]\nallow_private = true\npoliteness_delay = 0\nbackoff = 0\ntimeout = 2\n"


def _app(tmp_path: Path, db_url: str, extra: str) -> App:
    path = tmp_path / "digest.toml"
    path.write_text(NEWSLETTER_TOML + extra, encoding="utf-8")
    return create_app(load_settings(path, overrides={"database_url": db_url}), clock=lambda: NOW)


def test_interval_becomes_an_ingest_job_that_runs(tmp_path: Path, db_url: str) -> None:
    with serve() as srv:
        srv.routes = {"/feed.xml": Answer((FIXTURES / "feeds" / "atom10.xml").read_bytes())}
        extra = QUICK + (
            f"[sources.atom]\nkind = 'feed'\nlocation = '{srv.url}/feed.xml'\ninterval = '30m'\n"
            f"[sources.manual]\nkind = 'feed'\nlocation = '{srv.url}/feed.xml'\n"
            f"[sources.off]\nkind = 'feed'\nlocation = '{srv.url}/x'\ninterval = '1h'\n"
            "enabled = false\n"
        )
        app = _app(tmp_path, db_url, extra)
        try:
            assert app.settings.sources["atom"].interval is not None
            assert app.settings.sources["atom"].interval.total_seconds() == 1800
            specs = {s.id: s for s in scheduler.job_specs(app)}
            assert "ingest:atom" in specs
            assert "ingest:manual" not in specs and "ingest:off" not in specs
            assert specs["ingest:atom"].trigger.interval.total_seconds() == 1800  # type: ignore[attr-defined]
            stored = {job_id for job_id, _, _ in scheduler.stored_jobs(app)}
            assert "ingest:atom" in stored
            scheduler._RUNNING["app"] = app
            try:
                scheduler.run_job("ingest", "atom")
            finally:
                scheduler._RUNNING.pop("app", None)
            with app.engine.connect() as conn:
                titles = conn.execute(select(Article.title)).scalars().all()
                health = source_health(conn, "atom")
            assert titles == ["Bike lanes double in the old town"]
            assert health is not None and health.last_success_at == NOW
            assert health.last_counts["new"] == 1
        finally:
            app.close()


@pytest.mark.parametrize("bad", ["5s", "soon"])
def test_bad_interval_is_a_config_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        NEWSLETTER_TOML + f"[sources.x]\nkind = 'feed'\nlocation = 'https://a.example/f'\n"
        f"interval = '{bad}'\n"
    )
    with pytest.raises(ConfigError, match=r"sources\.x\.interval"):
        load_settings(path)


def test_add_and_remove_source_keep_the_rest_of_the_file() -> None:
    text = (
        "# my config\n[sources.a]\nlocation = 'x'\n\n[newsletters.n]\ntitle = 'N'\ntags = ['t']\n"
    )
    added = add_source(text, "feed-1", {"kind": "feed", "location": "https://e.example/f",
                                        "tags": ["city"], "interval": "30m"})  # fmt: skip
    data = tomllib.loads(added)
    assert data["sources"]["feed-1"]["interval"] == "30m"
    assert added.startswith("# my config\n")
    with pytest.raises(ConfigError, match="already exists"):
        add_source(added, "feed-1", {"kind": "feed", "location": "https://e.example/f"})
    with pytest.raises(ConfigError, match="interval"):
        add_source(text, "b", {"kind": "feed", "location": "u", "interval": "often"})
    removed = remove_source(added, "a")
    assert set(tomllib.loads(removed)["sources"]) == {"feed-1"}
    assert tomllib.loads(removed)["newsletters"]["n"]["title"] == "N"
    with pytest.raises(ConfigError, match="no source named"):
        remove_source(removed, "a")


def test_sources_commands(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(NEWSLETTER_TOML + QUICK, encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    with serve() as srv:
        srv.routes = {
            "/feed.xml": Answer((FIXTURES / "feeds" / "rss20.xml").read_bytes()),
            "/gone": Answer(b"", 404),
        }
        r = runner.invoke(cli, [*base, "sources", "add", "climate", f"{srv.url}/feed.xml",
                                "--tag", "city", "--interval", "2h"])  # fmt: skip
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli, [*base, "sources", "add", "gone", f"{srv.url}/gone"])
        assert r.exit_code == 0, r.output
        settings = load_settings(config)
        assert settings.sources["climate"].location == f"{srv.url}/feed.xml"  # a URL, not a path

        r = runner.invoke(cli, [*base, "sources", "check"])
        assert r.exit_code == 1
        assert "HTTP 404" in r.output and "climate" in r.output

        r = runner.invoke(cli, [*base, "ingest"])
        assert r.exit_code == 1  # one source failed; the other was still stored
        r = runner.invoke(cli, [*base, "sources", "list", "--json"])
        rows = {row["name"]: row for row in json.loads(r.output)}
        assert rows["climate"]["last_counts"]["new"] == 3 and rows["climate"]["last_success"]
        assert rows["gone"]["consecutive_failures"] == 1 and "404" in rows["gone"]["last_error"]
        r = runner.invoke(cli, [*base, "sources", "list"])
        assert r.exit_code == 0 and "climate" in r.output

        r = runner.invoke(cli, [*base, "sources", "remove", "gone"])
        assert r.exit_code == 0
        assert set(load_settings(config).sources) == {"climate"}
        r = runner.invoke(cli, [*base, "sources", "remove", "gone"])
        assert r.exit_code == 1 and "no source named 'gone'" in r.output

    app = create_app(load_settings(config))
    with app.engine.connect() as conn:
        tags = set(conn.execute(select(ArticleTag.tag)).scalars())
        first_id = conn.execute(select(Article.id).order_by(Article.id)).scalars().first()
    app.close()
    assert {"city", "climate", "urban planning"} <= tags
    r = runner.invoke(cli, [*base, "articles", "show", str(first_id), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["reading_minutes"] == 1
    r = runner.invoke(cli, [*base, "articles", "show", str(first_id)])
    assert r.exit_code == 0 and "min read" in r.output and "city" in r.output
    r = runner.invoke(cli, [*base, "articles", "show", "9999"])
    assert r.exit_code == 1 and "no article with id 9999" in r.output


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared/seeds is absent")
def test_extract_prints_what_would_be_stored(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        NEWSLETTER_TOML + "[ingest.keywords]\nmicrosoft = ['Microsoft']\n", encoding="utf-8"
    )
    [archive] = (SHARED / "seeds").glob("000_*.txt")
    r = CliRunner().invoke(cli, ["--config", str(config), "extract", str(archive), "--json"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert len(rows) == 21
    assert set(rows[0]) == {
        "title", "url", "author", "published", "published_guessed", "outlet", "language",
        "tags", "text",
    }  # fmt: skip
    assert all("openai" in row["tags"] for row in rows)
    assert any("microsoft" in row["tags"] for row in rows)
    app = create_app(load_settings(config))
    with app.engine.connect() as conn:
        assert conn.execute(select(Article.id)).first() is None  # nothing stored
    app.close()


def _post(n: int) -> dict[str, object]:
    return {
        "id": n,
        "link": f"https://wp.example/{n}/",
        "guid": {"rendered": f"https://wp.example/?p={n}"},
        "date_gmt": "2026-11-20T10:00:00",
        "title": {"rendered": f"Post &#8220;{n}&#8221; about trams"},
        "content": {"rendered": f"<p>Body of post {n}, with enough words to count.</p>"},
        "excerpt": {"rendered": "<p>Excerpt.</p>"},
        "_embedded": {
            "author": [{"name": "Wanda Press"}],
            "wp:term": [
                [{"taxonomy": "category", "name": "Uncategorized"}],
                [{"taxonomy": "post_tag", "name": "Transit"}],
            ],
        },
    }


def test_wordpress_source_paginates_and_resolves_terms(app: App, tmp_path: Path) -> None:
    from digest.ingest.service import ingest_sources

    first = json.dumps([_post(n) for n in range(50)]).encode()
    second = json.dumps([_post(n) for n in range(50, 53)]).encode()

    def posts(handler: object) -> Answer:
        page = "page=2" in getattr(handler, "path", "")
        return Answer(second if page else first, headers={"Content-Type": "application/json"})

    with serve() as srv:
        srv.routes = {"/wp-json/wp/v2/posts": posts}
        path = tmp_path / "wp.toml"
        path.write_text(NEWSLETTER_TOML + QUICK + f"[sources.wp]\nkind = 'wordpress'\n"
                        f"location = '{srv.url}'\n")  # fmt: skip
        settings = load_settings(path, overrides={"database_url": app.settings.db_url})
        [report] = ingest_sources(app.engine, settings, NOW)
    assert report.ok and report.counts["new"] == 53
    with app.engine.connect() as conn:
        row = conn.execute(
            select(Article.title, Article.author, Article.url).where(
                Article.guid == "https://wp.example/?p=3"
            )
        ).one()
        tags = set(conn.execute(select(ArticleTag.tag)).scalars())
    assert row == ("Post “3” about trams", "Wanda Press", "https://wp.example/3/")
    assert tags == {"transit"}
