"""The demo edition scored by SpamAssassin, local rules only (no network tests).

Needs Debian's `spamassassin` (.ci/run installs it); skips with the reason where it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from digest.demo import run_demo

SPAMASSASSIN = shutil.which("spamassassin")
pytestmark = pytest.mark.skipif(
    SPAMASSASSIN is None,
    reason="SpamAssassin is not installed (apt-get install spamassassin; .ci/run does it)",
)


def score(eml: Path, prefs: Path) -> tuple[float, list[str]]:
    """SpamAssassin's score and the rules that fired, with local tests only."""
    assert SPAMASSASSIN is not None
    out = subprocess.run(
        [
            SPAMASSASSIN,
            "--local",
            "--test-mode",
            "--prefspath",
            str(prefs),
            # No Bayes database: the score must not drift with what earlier runs learned.
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
        ],
        input=eml.read_bytes(),
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    status = re.search(
        r"^X-Spam-Status: \w+, score=(-?[\d.]+).*?tests=(.*?) (?:autolearn|version)=",
        out,
        re.S | re.M,
    )
    assert status, out[:2000]
    rules = [r.strip() for r in status.group(2).replace("\n", "").split(",") if r.strip()]
    return float(status.group(1)), rules


def test_demo_edition_scores_below_two(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "home")
    eml = sorted(demo.outbox.glob("*.eml"))[0]
    points, rules = score(eml, tmp_path / "user_prefs")
    print(f"SpamAssassin score {points} (threshold 5.0), rules: {', '.join(rules) or 'none'}")
    assert points < 2.0, f"score {points}: {rules}"
    # Our own headers are what keep it clean: no rule about missing or forged ones fires.
    assert not [r for r in rules if r.startswith(("MISSING_", "INVALID_", "FORGED_"))]
