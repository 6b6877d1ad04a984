"""Small things a person or a machine notices about the web app: the icon, 405s, the Atom
feed's required elements, and the OpenAPI description of the machine-facing routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from digest.core.app import App
from digest.editions.lifecycle import transition
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from digest.web.server import create_web_app
from digest.web.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.conftest import NOW, write_article

ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def test_favicon_is_served_and_linked(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
    assert '<link rel="icon" href="/favicon.svg"' in client.get("/archive").text


def test_a_wrong_method_says_which_are_allowed(client: TestClient) -> None:
    page = client.delete("/archive", headers={"accept": "text/html"})
    assert page.status_code == 405 and page.headers["allow"] == "GET"
    api = client.put("/u/token", headers={"accept": "application/json"})
    assert api.status_code == 405 and set(api.headers["allow"].split(", ")) == {"GET", "POST"}


def test_the_atom_feed_has_an_author_and_full_entries(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    write_article(
        tmp_path / "a", "tram.md", title="Trams <approved>", date="-1d", tags=["transit"],
        body="The council approved two tram lines along the harbour front.",
        url="https://x.example/tram",
    )  # fmt: skip
    ingest_path(app.engine, tmp_path / "a", NOW)
    draft = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        transition(conn, draft.id, "approve", "t", NOW)
    send(app, "weekly", actor="test")
    feed = etree.fromstring(client.get("/archive/weekly/feed.atom").content)
    assert feed.findtext("a:author/a:name", namespaces=ATOM) == "Example Weekly"
    [entry] = feed.findall("a:entry", ATOM)
    for child in ("title", "id", "updated", "published", "summary", "content"):
        assert entry.find(f"a:{child}", ATOM) is not None, child
    content = entry.find("a:content", ATOM)
    assert content is not None and content.get("type") == "html"
    # The HTML is escaped once inside the XML: parsed, it is markup with the headline escaped.
    assert '<a href="https://x.example/tram">Trams &lt;approved&gt;</a>' in (content.text or "")
    assert "two tram lines" in (content.text or "")


def test_openapi_describes_the_bodies_and_signature_headers(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    hook = spec["paths"]["/hooks/sendgrid"]["post"]
    headers = {p["name"] for p in hook["parameters"] if p["in"] == "header"}
    assert headers == {SIGNATURE_HEADER, TIMESTAMP_HEADER}
    events = hook["requestBody"]["content"]["application/json"]["schema"]
    assert events["type"] == "array" and "sg_event_id" in events["items"]["required"]
    assert {"400", "403", "413"} <= set(hook["responses"])
    click = spec["paths"]["/u/{token}"]["post"]["requestBody"]["content"]
    assert set(click) == {"application/x-www-form-urlencoded", "multipart/form-data"}
