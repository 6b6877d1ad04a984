"""Subscriber operations on SQLite and PostgreSQL: statuses, consent, topics, suppression."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from digest.core.app import App
from subscribers import ops
from subscribers.addresses import InvalidAddress, clean_name, parse_address
from subscribers.errors import Refused, Suppressed, UnknownTopic
from subscribers.models import Consent, Membership, Status, Subscriber, Suppression
from subscribers.queries import counts, list_members
from subscribers.store import active_ids, recipient_ids, recipients
from subscribers.suppression import AddressHasher, is_suppressed, suppress, unsuppress
from tests.conftest import NOW

TAGS = ["transit", "housing"]


def test_case_variants_are_one_subscriber_and_local_part_is_kept(app: App) -> None:
    with app.engine.begin() as conn:
        first = ops.add(conn, " Ann.Lee+News@EXAMPLE.com ", "weekly", now=NOW, name="Ann")
        again = ops.add(conn, "ann.lee+news@example.COM", "weekly", now=NOW)
        assert first.subscriber_id == again.subscriber_id and not again.changed
        row = conn.execute(select(Subscriber.email, Subscriber.email_key)).one()
    assert row.email == "Ann.Lee+News@example.com"
    assert row.email_key == "ann.lee+news@example.com"


def test_idn_domain_is_ascii_encoded() -> None:
    address = parse_address("zoë@bücher.example")
    assert address.domain == "xn--bcher-kva.example"
    assert address.email.startswith("zoë@")


def test_fast_path_agrees_with_email_validator() -> None:
    from email_validator import EmailNotValidError, validate_email

    samples = [
        "a@b.co", "first.last@example.org", "x+y@sub.example.com", "a..b@example.com",
        ".a@example.com", "a.@example.com", "a@-example.com", "a@example-.com", "a@example.c",
        "a@example.123", "postmaster@example.com", "a@xn--bcher-kva.example", "a@ab--cd.com",
        "a@example.invalid", "a@x.test", "a@localhost", "a" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com", "a_b-c@ex-ample.com", "A@EXAMPLE.COM",
    ]  # fmt: skip
    for raw in samples:
        try:
            v = validate_email(raw, check_deliverability=False)
            expected: str | None = f"{v.local_part}@{v.ascii_domain}"
        except EmailNotValidError:
            expected = None
        try:
            got: str | None = parse_address(raw).email
        except InvalidAddress:
            got = None
        if expected is None:
            assert got is None, raw
        else:
            assert got is not None and got.lower() == expected.lower(), raw


def test_names_never_carry_control_characters() -> None:
    assert clean_name("Ann\r\nBcc: evil@example.com\x00") == "Ann Bcc: evil@example.com"
    assert clean_name("نور 🚀") == "نور 🚀"


def test_double_opt_in(app: App) -> None:
    with app.engine.begin() as conn:
        result = ops.subscribe_pending(
            conn, "ann@example.com", "weekly", now=NOW, ip="203.0.113.9", consent_text="form v1"
        )
        assert result.needs_confirmation and result.status == "pending"
        assert result.subscriber_id is not None
        assert not active_ids(conn, "weekly", [result.subscriber_id])
        assert ops.confirm(conn, result.subscriber_id, "weekly", now=NOW, ip="203.0.113.9")
        assert ops.confirm(conn, result.subscriber_id, "weekly", now=NOW)  # idempotent
        consents = conn.execute(select(Consent.method, Consent.ip).order_by(Consent.id)).all()
        assert [c.method for c in consents] == ["form", "confirm"]
        assert consents[0].ip == "203.0.113.9"
        again = ops.subscribe_pending(conn, "ann@example.com", "weekly", now=NOW)
        assert again.status == "active" and not again.needs_confirmation


def test_unsubscribe_is_idempotent_and_never_undone_by_add(app: App) -> None:
    with app.engine.begin() as conn:
        sub = ops.add(conn, "bo@example.com", "weekly", now=NOW).subscriber_id
        assert sub is not None
        assert ops.unsubscribe(conn, sub, "weekly", source="link", now=NOW, edition_id=7)
        assert not ops.unsubscribe(conn, sub, "weekly", source="link", now=NOW)
        m = conn.execute(select(Membership.__table__)).one()
        assert (m.status, m.status_source, m.status_edition_id) == ("unsubscribed", "link", 7)
        with pytest.raises(Refused):
            ops.add(conn, "bo@example.com", "weekly", now=NOW)
        with pytest.raises(Refused):
            ops.resubscribe(conn, sub, "weekly", consent_text="  ", now=NOW)
        assert ops.resubscribe(conn, sub, "weekly", consent_text="asked by email", now=NOW)
        assert conn.execute(select(Membership.status)).scalar_one() == "active"
        assert conn.execute(select(func.count()).select_from(Consent)).scalar_one() == 2


def _planned(app: App, topics: list[str] | None = None) -> list[int]:
    """The subscriber ids a send would plan for the list."""
    with app.engine.connect() as conn:
        return sorted(conn.execute(recipient_ids("weekly", topics)).scalars())


def test_topics_filter_recipients(app: App) -> None:
    with app.engine.begin() as conn:
        a = ops.add(conn, "a@example.com", "weekly", now=NOW).subscriber_id
        b = ops.add(conn, "b@example.com", "weekly", now=NOW).subscriber_id
        assert a is not None and b is not None
        assert ops.set_topics(conn, a, "weekly", ["Transit"], now=NOW, allowed=TAGS) == ["transit"]
        with pytest.raises(UnknownTopic):
            ops.set_topics(conn, b, "weekly", ["sports"], now=NOW, allowed=TAGS)
    everyone = list(recipients(app.engine, "weekly"))
    assert [r.topics for r in everyone] == [("transit",), ()]
    housing = list(recipients(app.engine, "weekly", topics=["housing"]))
    assert [r.subscriber_id for r in housing] == [b]
    transit = list(recipients(app.engine, "weekly", topics=["transit"], batch=1))
    assert [r.subscriber_id for r in transit] == [a, b]
    # A send plans from the same choice made inside the database.
    assert _planned(app) == [a, b]
    assert _planned(app, ["housing"]) == [b]
    assert _planned(app, ["transit"]) == [a, b]


def test_suppression_wins_over_status(app: App) -> None:
    hasher = AddressHasher(["k1"])
    with app.engine.begin() as conn:
        ops.add(conn, "c@example.com", "weekly", now=NOW)
        ops.add(conn, "d@spam.example", "weekly", now=NOW)
        ops.add(conn, "e@example.com", "weekly", now=NOW)
        assert suppress(conn, "C@Example.com", reason="asked", source="cli", now=NOW, hasher=hasher)
        assert not suppress(conn, "c@example.com", reason="", source="cli", now=NOW, hasher=hasher)
        assert suppress(conn, "@spam.example", reason="trap", source="cli", now=NOW)
        assert is_suppressed(conn, "x@SPAM.example")
    assert [r.email for r in recipients(app.engine, "weekly")] == ["e@example.com"]
    assert _planned(app) == [r.subscriber_id for r in recipients(app.engine, "weekly")]
    with app.engine.begin() as conn:
        with pytest.raises(Suppressed):
            ops.add(conn, "c@example.com", "other", now=NOW, hasher=hasher)
        assert ops.subscribe_pending(conn, "z@spam.example", "weekly", now=NOW).status == (
            "suppressed"
        )
        assert unsuppress(conn, "spam.example")
        assert not unsuppress(conn, "spam.example")
    assert len(list(recipients(app.engine, "weekly"))) == 2


def test_bounce_and_complaint(app: App) -> None:
    hasher = AddressHasher(["k1"])
    with app.engine.begin() as conn:
        ops.add(conn, "f@example.com", "weekly", now=NOW)
        ops.add(conn, "f@example.com", "other", now=NOW)
        ops.add(conn, "g@example.com", "weekly", now=NOW)
        assert ops.mark_bounced(conn, "F@example.com", now=NOW, list_name="weekly") == 1
        assert ops.mark_complained(conn, "g@example.com", now=NOW, hasher=hasher) == 1
        assert ops.mark_complained(conn, "g@example.com", now=NOW, hasher=hasher) == 0
        assert ops.mark_bounced(conn, "nobody@example.com", now=NOW) == 0
        assert is_suppressed(conn, "g@example.com", hasher=hasher)
        assert counts(conn) == {
            "other": {"active": 1},
            "weekly": {"bounced": 1, "complained": 1},
        }


def test_forget_keeps_only_a_keyed_hash(app: App) -> None:
    hasher = AddressHasher(["new-key", "old-key"])
    with app.engine.begin() as conn:
        ops.add(conn, "Hana@example.com", "weekly", now=NOW, name="Hana", consent_text="fair")
        assert ops.forget(conn, "hana@example.com", now=NOW, hasher=hasher)
        assert ops.find_subscriber(conn, "hana@example.com") is None
        people = conn.execute(select(Subscriber.email, Subscriber.name)).all()
        assert all("hana" not in (p.email + p.name).lower() for p in people)
        entries = conn.execute(select(Suppression.email_key, Suppression.address_hash)).all()
        assert entries == [(None, hasher.hash("hana@example.com"))]
        assert conn.execute(select(func.count()).select_from(Consent)).scalar_one() == 0
        assert is_suppressed(conn, "HANA@example.com", hasher=hasher)
        # After a key rotation, the old hash still matches.
        rotated = AddressHasher(["newer-key", "new-key"])
        assert is_suppressed(conn, "hana@example.com", hasher=rotated)
        with pytest.raises(Suppressed):
            ops.add(conn, "hana@example.com", "weekly", now=NOW, hasher=rotated)
    assert "new-key" not in repr(hasher)


def test_list_members_filters_and_pages(app: App) -> None:
    with app.engine.begin() as conn:
        for i in range(5):
            ops.add(conn, f"p{i}@example.com", "weekly", now=NOW, topics=["housing"] if i else [])
        ops.unsubscribe(conn, 1, "weekly", source="cli", now=NOW)
        page1 = list_members(conn, list_name="weekly", per_page=2)
        page3 = list_members(conn, list_name="weekly", per_page=2, page=3)
        assert [r.email for r in page1 + page3] == [
            "p0@example.com", "p1@example.com", "p4@example.com"
        ]  # fmt: skip
        assert len(list_members(conn, status="unsubscribed")) == 1
        assert len(list_members(conn, topic="housing")) == 4


def test_show_has_memberships_and_consent(app: App) -> None:
    with app.engine.begin() as conn:
        ops.add(conn, "i@example.com", "weekly", now=NOW, consent_text="signed at desk")
        view = ops.show(conn, "I@example.com")
    assert view.memberships[0].status == "active"
    assert view.memberships[0].consents[0]["text"] == "signed at desk"
    assert not view.suppressed


def test_status_is_one_of_the_known_ones() -> None:
    assert {s.value for s in Status} == {
        "pending", "active", "unsubscribed", "bounced", "complained"
    }  # fmt: skip


def test_migration_backfills_keys_of_existing_subscribers(db_url: str) -> None:
    from sqlalchemy import text

    from digest.core.db import create_db_engine, upgrade

    engine = create_db_engine(db_url)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO subscribers (email, name, attributes, created_at, updated_at) "
                    "VALUES ('Old.Reader@Example.com', 'Old', '{}', :t, :t)"
                ),
                {"t": NOW.replace(tzinfo=None)},
            )
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(select(Subscriber.email_key, Subscriber.domain)).one()
        assert tuple(row) == ("old.reader@example.com", "example.com")
    finally:
        engine.dispose()


def test_every_status_change_is_kept_in_the_history(app: App) -> None:
    from datetime import timedelta

    from subscribers.views import show

    hour = timedelta(hours=1)
    with app.engine.begin() as conn:
        res = ops.subscribe_pending(conn, "hist@example.com", "weekly", now=NOW, ip="192.0.2.7")
        assert res.subscriber_id is not None
        sub = res.subscriber_id
        assert ops.confirm(conn, sub, "weekly", now=NOW + hour)
        ops.unsubscribe(conn, sub, "weekly", source="one-click", now=NOW + 2 * hour, edition_id=9)
        ops.resubscribe(conn, sub, "weekly", consent_text="asked again", now=NOW + 3 * hour)
        [member] = show(conn, "hist@example.com").memberships
    steps = [(h["status"], h["source"], h["edition_id"]) for h in member.history]
    assert steps == [
        ("pending", "form", None),
        ("active", "confirm", None),
        ("unsubscribed", "one-click", 9),
        ("active", "cli", None),
    ]
    assert [h["at"] for h in member.history] == sorted(h["at"] for h in member.history)
