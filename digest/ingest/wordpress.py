"""The `wordpress` source: posts from a site's REST API, tag and category names resolved."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.core.errors import IngestError
from digest.ingest.htmltext import html_to_text
from digest.ingest.records import ParsedArticle, make_article

if TYPE_CHECKING:
    from digest.ingest.fetch import Fetcher

PER_PAGE = 50
MAX_PAGES = 10  # the newest 500 posts are plenty for a digest; older ones were seen before


def posts_url(site: str, page: int) -> str:
    """The API address of one page of posts, with terms and authors embedded."""
    return f"{site.rstrip('/')}/wp-json/wp/v2/posts?per_page={PER_PAGE}&page={page}&_embed=1"


def read_wordpress(
    fetcher: Fetcher, site: str, source: str
) -> tuple[list[ParsedArticle], list[str]]:
    """The site's recent posts as articles, page by page, and per-post problems."""
    articles: list[ParsedArticle] = []
    problems: list[str] = []
    for page in range(1, MAX_PAGES + 1):
        url = posts_url(site, page)
        try:
            fetched = fetcher.fetch(url)
        except IngestError as exc:
            # WordPress answers 400 for a page past the last; only the first page must exist.
            if page > 1 and "HTTP 400" in str(exc):
                break
            raise
        try:
            posts = json.loads(fetched.content or b"[]")
        except ValueError as exc:
            raise IngestError(
                f"{url}: not JSON ({exc})", hint="is this a WordPress site with the REST API on?"
            ) from None
        if not isinstance(posts, list):
            raise IngestError(f"{url}: expected a list of posts, got {type(posts).__name__}")
        for post in posts:
            try:
                articles.append(post_article(post, source))
            except (IngestError, KeyError, TypeError, ValueError) as exc:
                problems.append(f"{url}: post {post.get('id', '?')}: {exc}")
        if len(posts) < PER_PAGE:
            break
    return articles, problems


def post_article(post: dict[str, Any], source: str) -> ParsedArticle:
    """One post as an article: rendered content as text, embedded terms as tags."""
    text = html_to_text(_rendered(post.get("content")))
    if not text.strip():
        text = html_to_text(_rendered(post.get("excerpt")))
    title = html_to_text(_rendered(post.get("title")))
    if not text.strip() and not title.strip():
        raise IngestError("has neither a title nor any text")
    embedded = post.get("_embedded") or {}
    tags = [
        term["name"]
        for group in embedded.get("wp:term") or []
        for term in group or []
        if isinstance(term, dict) and term.get("taxonomy") in {"post_tag", "category"}
    ]
    authors = embedded.get("author") or []
    author = authors[0].get("name") if authors and isinstance(authors[0], dict) else None
    link = post.get("link") or None
    guid = _rendered(post.get("guid")) or link or f"wp:{post['id']}"
    return make_article(
        guid=guid,
        title=title or None,
        text=text or title,
        source=source,
        url=link,
        author=author,
        published=_gmt(post.get("date_gmt")),
        tags=[t for t in tags if t and t.lower() != "uncategorized"],
    )


def _rendered(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("rendered") or "")
    return str(value or "")


def _gmt(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
