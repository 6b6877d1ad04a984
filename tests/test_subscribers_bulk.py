"""The import's fast paths: COPY with ids from the sequence, keyed lookups, the HMAC shortcut."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from sqlalchemy import func, select

from digest.core.app import App
from subscribers import ops
from subscribers.importer import import_file
from subscribers.models import Consent, Membership, MembershipTopic, Subscriber
from subscribers.store import recipients
from subscribers.suppression import AddressHasher, suppress
from tests.conftest import NOW


def test_hashes_are_standard_hmac_sha256() -> None:
    hasher = AddressHasher(["new-key", "old-key"])
    derived = [
        hmac.new(s.encode(), b"digest.suppression.v1", hashlib.sha256).digest()
        for s in ("new-key", "old-key")
    ]
    for key in ("a@example.com", "reader.7+n@xn--bcher-kva.example", ""):
        want = [hmac.digest(k, key.encode(), "sha256").hex() for k in derived]
        assert hasher.all_hashes(key) == want
        assert hasher.hash(key) == want[0]


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("email,name,topics\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_batches_keep_ids_topics_and_later_inserts_in_step(app: App, tmp_path: Path) -> None:
    hasher = AddressHasher(["k"])
    with app.engine.begin() as conn:
        ops.add(conn, "known@example.com", "weekly", now=NOW, topics=["transit"])
        suppress(conn, "blocked@example.com", reason="asked", source="cli", now=NOW, hasher=hasher)
    first = [f"p{i}@example.com,P {i},{'transit;housing' if i % 2 else ''}" for i in range(7)]
    first += ["blocked@example.com,B,", "known@example.com,Known,housing"]
    summary = import_file(
        app.engine, _write(tmp_path / "a.csv", first), "weekly", now=NOW, hasher=hasher,
        batch_size=3,
    )  # fmt: skip
    assert (summary.added, summary.updated, summary.rejected_total) == (7, 1, 1)
    # A second import across batches: topics change for some, the rest is unchanged.
    second = [f"p{i}@example.com,P {i},{'housing' if i < 3 else ''}" for i in range(7)]
    summary = import_file(
        app.engine, _write(tmp_path / "b.csv", second), "weekly", now=NOW, hasher=hasher,
        batch_size=2,
    )  # fmt: skip
    assert (summary.added, summary.updated, summary.unchanged) == (0, 3, 4)
    with app.engine.begin() as conn:
        # An ordinary insert after the copied rows takes a fresh id (the sequence moved on).
        later = ops.add(conn, "later@example.com", "weekly", now=NOW)
        people = dict(conn.execute(select(Subscriber.email, Subscriber.id)).all())
        assert later.subscriber_id == max(people.values())
        assert len(set(people.values())) == len(people) == 9
        memberships = conn.execute(select(func.count()).select_from(Membership)).scalar_one()
        consents = conn.execute(select(func.count()).select_from(Consent)).scalar_one()
        assert memberships == 9 and consents >= 9
        topics = conn.execute(select(func.count()).select_from(MembershipTopic)).scalar_one()
    by_email = {r.email: r.topics for r in recipients(app.engine, "weekly", batch=1)}
    assert by_email["p0@example.com"] == ("housing",)
    assert by_email["p1@example.com"] == ("housing",)
    assert by_email["p3@example.com"] == ("housing", "transit")
    assert by_email["p4@example.com"] == ()
    assert by_email["known@example.com"] == ("housing",)
    assert "blocked@example.com" not in by_email
    assert topics == sum(len(t) for t in by_email.values())


def test_recipient_pages_never_split_a_members_topics(app: App) -> None:
    with app.engine.begin() as conn:
        for i in range(5):
            ops.add(conn, f"r{i}@example.com", "weekly", now=NOW, topics=["housing", "transit"])
    for size in (1, 2, 3, 10):
        got = list(recipients(app.engine, "weekly", batch=size))
        assert [r.email for r in got] == [f"r{i}@example.com" for i in range(5)]
        assert {r.topics for r in got} == {("housing", "transit")}
