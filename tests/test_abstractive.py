"""The optional abstractive summariser against a local server imitating chat completions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr

from digest.settings import Settings, SummariesSettings
from digest.store.articles import ArticleRecord
from digest.stories.abstractive import ChatSummarizer, make_summarizer
from digest.stories.assemble import StoryGroup, story_summary
from tests.conftest import NOW

TEXT = (
    "The city council approved the riverside tram line on Tuesday. The line will link the "
    "station with the harbour. Construction starts in spring."
)


class FakeChat(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions like the real API; `mode` says how."""

    mode = "ok"
    calls: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.calls.append({"path": self.path, "auth": self.headers["Authorization"], **body})
        if FakeChat.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        reply = {"choices": [{"message": {"role": "assistant", "content": " Trams  approved. "}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeChat.calls = []
    FakeChat.mode = "ok"
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def story() -> StoryGroup:
    art = ArticleRecord(1, "Tram approved", TEXT, "https://x/1", None, "Gazette",
                        NOW - timedelta(hours=1), 25, ("transit",))  # fmt: skip
    return StoryGroup((art,), 1.0)


def test_model_summary_is_cached_by_content(server: str, tmp_path: Path) -> None:
    settings = SummariesSettings(
        method="abstractive", url=server, model="small", api_key=SecretStr("k-123")
    )
    summarize = ChatSummarizer(settings, tmp_path / "cache")
    assert summarize(story(), 2, None) == "Trams approved."
    assert summarize(story(), 2, None) == "Trams approved."
    assert len(FakeChat.calls) == 1
    call = FakeChat.calls[0]
    assert call["path"] == "/v1/chat/completions" and call["model"] == "small"
    assert call["auth"] == "Bearer k-123"


def test_any_failure_falls_back_to_the_extractive_summary(server: str, tmp_path: Path) -> None:
    FakeChat.mode = "error"
    settings = SummariesSettings(method="abstractive", url=server, model="small", timeout=2)
    summarize = ChatSummarizer(settings, tmp_path / "cache")
    assert summarize(story(), 2, None) == story_summary(story(), 2, None)
    unset = ChatSummarizer(SummariesSettings(method="abstractive"), tmp_path / "c2")
    assert unset(story(), 2, None) == story_summary(story(), 2, None)
    assert not list((tmp_path / "cache").glob("*"))


def test_extractive_is_the_default(tmp_path: Path) -> None:
    assert make_summarizer(Settings(home=tmp_path)) is story_summary
