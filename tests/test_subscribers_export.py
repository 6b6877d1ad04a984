"""Export safe from formula injection, and link tokens that refuse every tampering."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from digest.core.app import App
from subscribers import ops
from subscribers.export import export_list, safe_cell
from subscribers.tokens import InvalidToken, LinkSigner
from tests.conftest import NOW


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_are_neutralised(start: str) -> None:
    assert safe_cell(f'{start}HYPERLINK("http://evil")').startswith("'")
    assert safe_cell("Ann") == "Ann" and safe_cell("") == ""


def test_export_csv_and_jsonl(app: App) -> None:
    with app.engine.begin() as conn:
        ops.add(conn, "a@example.com", "weekly", now=NOW, name="=cmd|' /C calc'!A0",
                consent_text="+fair", topics=["transit"])  # fmt: skip
        sub = ops.add(conn, "b@example.com", "weekly", now=NOW, name="@Bo").subscriber_id
        assert sub is not None
        ops.unsubscribe(conn, sub, "weekly", source="link", now=NOW)
        ops.add(conn, "c@example.com", "other", now=NOW)
        out = io.StringIO()
        assert export_list(conn, "weekly", out) == 2
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert rows[0]["name"] == "'=cmd|' /C calc'!A0"
        assert rows[0]["consent_text"] == "'+fair" and rows[0]["topics"] == "transit"
        assert rows[1]["name"] == "'@Bo" and rows[1]["status"] == "unsubscribed"
        assert all(not cell.startswith(("=", "+", "@")) for r in rows for cell in r.values())
        lines = io.StringIO()
        assert export_list(conn, "weekly", lines, fmt="jsonl", status="active") == 1
        record = json.loads(lines.getvalue())
    assert record["name"] == "=cmd|' /C calc'!A0"  # JSON is data, not a spreadsheet
    assert record["topics"] == ["transit"] and record["consent_method"] == "cli"


def test_tokens_round_trip_and_rotation() -> None:
    old = LinkSigner(["old"])
    new = LinkSigner(["new", "old"])
    assert new.read_unsubscribe(old.unsubscribe_token(5, "weekly", 9)) == (5, "weekly", 9)
    assert new.read_preferences(new.preferences_token(5, "weekly")) == (5, "weekly")
    assert new.read_confirm(new.confirm_token(5, "weekly"), timedelta(days=1)) == (5, "weekly")
    assert "new" not in repr(new)


def test_tampered_truncated_wrong_key_and_cross_purpose_tokens_are_refused() -> None:
    signer = LinkSigner(["k"])
    token = signer.unsubscribe_token(5, "weekly", 9)
    payload, _, sig = token.rpartition(".")
    other = signer.unsubscribe_token(6, "weekly", 9).rpartition(".")[0]
    bad = [
        token[:-3],
        token[:10],
        payload + "." + sig[::-1],
        other + "." + sig,  # another id with this signature
        LinkSigner(["wrong"]).unsubscribe_token(5, "weekly", 9),
        "",
        "not a token",
    ]
    messages = set()
    for candidate in bad:
        with pytest.raises(InvalidToken) as info:
            signer.read_unsubscribe(candidate)
        messages.add(str(info.value))
    assert messages == {"invalid or expired link"}  # says nothing about which part failed
    for candidate in bad:
        with pytest.raises(InvalidToken):
            signer.read_preferences(candidate)
    # An edition's unsubscribe token also opens the preferences page (both let the reader
    # leave); nothing else crosses purposes.
    assert signer.read_preferences(token) == (5, "weekly")
    with pytest.raises(InvalidToken):
        signer.read_unsubscribe(signer.preferences_token(5, "weekly"))
    with pytest.raises(InvalidToken):
        signer.read_preferences(signer.confirm_token(5, "weekly"))
    with pytest.raises(InvalidToken):
        signer.read_confirm(token, timedelta(days=1))


def test_confirm_tokens_expire() -> None:
    signer = LinkSigner(["k"])
    stale = URLSafeTimedSerializer(["k"], salt="digest.confirm", signer_kwargs={
        "digest_method": __import__("hashlib").sha256})  # fmt: skip
    token = stale.dumps([5, "weekly"])
    assert signer.read_confirm(token, timedelta(hours=1)) == (5, "weekly")
    with pytest.raises(InvalidToken):
        signer.read_confirm(token, timedelta(seconds=-1))
