"""The shared seed pages read as plain-text articles (deeper cleaning comes with ingestion)."""

from __future__ import annotations

import pytest

from digest.ingest.files import parse_text_file
from tests.conftest import SHARED

SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"{SEEDS} is absent (../shared not beside the repo)"
)


@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_single_article_seed_gives_one_article(prefix: str) -> None:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    art = parse_text_file(path, "seeds")
    assert art.title.strip()
    assert art.word_count > 300
    assert art.content_hash
