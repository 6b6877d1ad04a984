"""An optional abstractive summariser: any OpenAI-compatible chat-completions endpoint.

Off by default. It sits behind the same call as the extractive summary and falls back to it on
any failure (no URL, timeout, HTTP error, odd reply), so a draft is never lost to the model.
Replies are cached on disk by a hash of the model and the prompt: rebuilding a draft asks
again only for stories whose articles changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path

from digest.settings import Settings, SummariesSettings
from digest.stories.assemble import StoryGroup, story_summary

log = logging.getLogger(__name__)

Summarizer = Callable[[StoryGroup, int, "int | None"], str]

_INSTRUCTIONS = (
    "You write the summary of one news story for an email newsletter. Use only facts from the "
    "articles given. Write {sentences} plain sentences{words}, neutral, no questions to the "
    "reader, no headline, no lists."
)


def prompt(story: StoryGroup, sentences: int, max_words: int | None) -> list[dict[str, str]]:
    """The chat messages for one story: instructions, then the articles (lead first)."""
    words = f", at most {max_words} words in all" if max_words else ""
    body = "\n\n".join(
        f"Article {i + 1} ({a.source}): {a.title}\n{a.text[:6000]}"
        for i, a in enumerate(story.articles[:5])
    )
    return [
        {"role": "system", "content": _INSTRUCTIONS.format(sentences=sentences, words=words)},
        {"role": "user", "content": body},
    ]


class ChatSummarizer:
    """Summaries from a chat-completions endpoint, cached, with the extractive fall-back."""

    def __init__(self, settings: SummariesSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir

    def __call__(self, story: StoryGroup, sentences: int, max_words: int | None) -> str:
        """The model's summary, or the extractive one when anything goes wrong."""
        messages = prompt(story, sentences, max_words)
        key = hashlib.sha256(
            json.dumps([self.settings.model, messages], sort_keys=True).encode("utf-8")
        ).hexdigest()
        cached = self.cache_dir / f"{key}.txt"
        if cached.is_file():
            return cached.read_text(encoding="utf-8")
        try:
            text = self._ask(messages)
        except Exception as exc:  # any failure means: the extractive summary, and say so
            log.warning(
                "abstractive summary failed (%s); using the extractive one", type(exc).__name__
            )
            return story_summary(story, sentences, max_words)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_text(text, encoding="utf-8")
        return text

    def _ask(self, messages: list[dict[str, str]]) -> str:
        s = self.settings
        if not s.url or not s.model:
            raise ValueError("summaries.url and summaries.model must be set")
        headers = {"Content-Type": "application/json"}
        if s.api_key is not None:
            headers["Authorization"] = f"Bearer {s.api_key.get_secret_value()}"
        request = urllib.request.Request(
            s.url.rstrip("/") + "/chat/completions",
            data=json.dumps({"model": s.model, "messages": messages, "temperature": 0}).encode(),
            headers=headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=s.timeout) as response:
            reply = json.loads(response.read().decode("utf-8"))
        text = " ".join(str(reply["choices"][0]["message"]["content"]).split())
        if not text:
            raise ValueError("empty reply")
        return text


def make_summarizer(settings: Settings) -> Summarizer:
    """The configured summariser: extractive unless `summaries.method` is abstractive."""
    if settings.summaries.method == "abstractive":
        return ChatSummarizer(settings.summaries, settings.home / "cache" / "summaries")
    return story_summary
