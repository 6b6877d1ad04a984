"""Keyword tag rules: a tag for every article whose title or text names one of its words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from digest.ingest.records import ParsedArticle


class KeywordTagger:
    """Rules such as openai = ["OpenAI", "ChatGPT"]: whole words, any case, title and body."""

    def __init__(self, rules: Mapping[str, Sequence[str]], min_count: int = 1) -> None:
        self.min_count = min_count
        self._rules = {
            tag.lower(): re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE
            )
            for tag, words in rules.items()
            if words
        }

    def tags(self, art: ParsedArticle) -> list[str]:
        """The rule tags this article earns."""
        return self.tags_for(art.title, art.text)

    def tags_for(self, title: str, text: str) -> list[str]:
        """The rule tags a title and text earn, counting mentions in both."""
        out = []
        for tag, pattern in self._rules.items():
            hits = len(pattern.findall(title)) + len(pattern.findall(text))
            if hits >= self.min_count:
                out.append(tag)
        return out
