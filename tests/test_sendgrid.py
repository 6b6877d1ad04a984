"""The sendgrid provider, via the official client, against a local imitation of v3 mail send."""

from __future__ import annotations

import html
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from digest.core.errors import SendError
from digest.core.models import Delivery
from digest.pipeline import send
from tests.fakes.sendgrid_api import FakeSendGrid, Faults
from tests.send_support import (
    API_KEY,
    add_articles,
    add_readers,
    make_app,
    running_fake,
    sendgrid_settings,
)


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with running_fake() as server:
        yield server


def _ledger(app: Any) -> dict[str, int]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(Delivery.status, Delivery.id)).all()
    out: dict[str, int] = {}
    for status, _ in rows:
        out[status] = out.get(status, 0) + 1
    return out


def _fill(template: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        template = template.replace(key, value)
    return template


def test_one_request_carries_every_reader_with_ids_headers_and_slots(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 7)
    report = send(app, "weekly")
    assert report.counts == {"sent": 7}
    assert len(fake.requests) == 1
    assert set(fake.accepted) == set(emails) and set(fake.accepted.values()) == {1}
    body = fake.requests[0]
    assert body["categories"] == ["weekly"]
    assert body["custom_args"] == {"digest_edition_id": str(report.edition.id)}
    with app.engine.connect() as conn:
        ledger = dict(conn.execute(select(Delivery.id, Delivery.subscriber_id)).all())
        message_ids = set(conn.execute(select(Delivery.provider_message_id)).scalars())
    assert len(message_ids) == 1 and None not in message_ids
    seen = set()
    for p in body["personalizations"]:
        delivery_id = int(p["custom_args"]["digest_delivery_id"])
        assert delivery_id in ledger
        seen.add(delivery_id)
        url = p["headers"]["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert p["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # What the reader gets once SendGrid substitutes: their own link and name.
        text = _fill(body["content"][0]["value"], p["substitutions"])
        page = _fill(body["content"][1]["value"], p["substitutions"])
        assert url in text and html.escape(url) in page
        first = p["to"][0]["name"].split()[0]
        assert first in text
        assert "[[dg." not in text and "[[dg." not in page
        _, list_name, _ = app.signer.read_unsubscribe(url.rsplit("/", 1)[1])
        assert list_name == "weekly"
    assert seen == set(ledger)
    app.close()


def test_400_naming_a_personalization_rejects_that_reader_and_sends_the_rest(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 5)
    fake.reject_emails = {emails[2], emails[4]}
    report = send(app, "weekly")
    assert report.counts == {"sent": 3, "rejected": 2}
    assert set(fake.accepted) == set(emails) - fake.reject_emails
    with app.engine.connect() as conn:
        errors = set(
            conn.execute(select(Delivery.error).where(Delivery.status == "rejected")).scalars()
        )
    assert errors == {"Does not contain a valid address."}
    app.close()


def test_faults_on_a_fifth_of_requests_still_deliver_everyone_exactly_once(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    fake.faults = Faults(rate_429=0.05, rate_500=0.05, rate_503=0.05, rate_slow=0.05, seed=7)
    fake.rng.seed(7)
    app = make_app(db_url, config_file, **sendgrid_settings(fake, **{"send.batch_size": 10}))
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 300)
    report = send(app, "weekly")
    assert report.counts == {"sent": 300}
    assert set(fake.accepted) == set(emails)
    assert set(fake.accepted.values()) == {1}
    injected = {k: v for k, v in fake.statuses.items() if k != 202}
    assert set(injected) == {429, 500, 503}  # every kind of answered fault happened
    assert report.summary.counts["retried"] == sum(injected.values())
    app.close()


@pytest.mark.parametrize("problem", ["bad key", "unverified sender"])
def test_401_and_403_stop_the_send_and_mark_nothing_sent(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid, problem: str
) -> None:
    if problem == "bad key":
        settings = sendgrid_settings(fake, **{"sendgrid.api_key": "SG.wrong"})
        expected = "401"
    else:
        settings = sendgrid_settings(fake)
        fake.verified_senders = {"someone-else@news.example.com"}
        expected = "verified Sender Identity"
    app = make_app(db_url, config_file, **settings)
    add_articles(app, tmp_path / "arts")
    add_readers(app, 4)
    with pytest.raises(SendError, match=expected):
        send(app, "weekly")
    assert not fake.accepted
    assert _ledger(app) == {"pending": 4}
    with app.engine.connect() as conn:
        assert set(conn.execute(select(Delivery.attempts)).scalars()) == {0}
    app.close()


def test_413_splits_the_request_until_it_fits(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 40)
    fake.max_bytes = 25_000  # about ten readers' worth
    report = send(app, "weekly")
    assert report.counts == {"sent": 40}
    assert fake.statuses[413] >= 1
    assert len(fake.requests) > 1
    assert sorted(fake.accepted) == sorted(emails)
    app.close()


def _post(server: FakeSendGrid, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{server.url}/v3/mail/send",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "personalizations": [{"to": [{"email": f"r{i}@example.com"}]} for i in range(n)],
        "from": {"email": "news@example.com"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hi"}],
        **extra,
    }


def test_the_fake_enforces_documented_rules(fake: FakeSendGrid) -> None:
    assert _post(fake, _body(1000))[0] == 202
    status, answer = _post(fake, _body(1001))
    assert status == 400 and answer["errors"][0]["field"] == "personalizations"
    status, answer = _post(fake, _body(1, custom_args="x"))
    assert status == 400 and answer["errors"][0]["field"] == "custom_args"
    status, answer = _post(
        fake,
        _body(
            1,
            content=[
                {"type": "text/html", "value": "<p>Hi</p>"},
                {"type": "text/plain", "value": "Hi"},
            ],
        ),
    )
    assert status == 400 and "text/plain must be first" in answer["errors"][0]["message"]
    status, answer = _post(fake, _body(1, personalizations=[{"to": [{"email": "not-an-address"}]}]))
    assert status == 400 and answer["errors"][0]["field"].startswith("personalizations.0.to")


def test_one_off_messages_go_through_sendgrid_without_list_headers(
    db_url: str, config_file: Path, fake: FakeSendGrid
) -> None:
    """A sign-up confirmation is not list mail: no List-Id, no List-Unsubscribe."""
    from digest.sending.oneoff import send_one_off

    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    text = "To confirm, open https://news.example.com/confirm/t"
    send_one_off(app, ["nia@example.org"], "Please confirm", text, folder="confirm")
    [body] = fake.requests
    assert body["categories"] == ["confirm"] and "headers" not in body
    [p] = body["personalizations"]
    assert p["to"] == [{"email": "nia@example.org"}] and "headers" not in p
    assert "https://news.example.com/confirm/t" in body["content"][0]["value"]
    assert fake.accepted == {"nia@example.org": 1}


def test_threads_of_one_worker_never_share_a_batch(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    settings = sendgrid_settings(fake, **{"send.batch_size": 10, "send.concurrency": 4})
    app = make_app(db_url, config_file, **settings)
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 300)
    report = send(app, "weekly")
    assert report.counts == {"sent": 300}
    assert sorted(fake.accepted) == sorted(emails)
    assert set(fake.accepted.values()) == {1}
    app.close()


def test_personalizations_written_as_text_match_the_dicts_encoded() -> None:
    from dataclasses import replace

    from digest.email.message import PreparedEdition, Recipient
    from digest.sending.providers.sendgrid import personalization, personalizations_json

    edition = PreparedEdition(
        edition_id=3,
        newsletter="weekly",
        number=1,
        subject="S",
        from_name="W",
        from_email="weekly@news.example.com",
        reply_to=None,
        list_id="W <weekly.news.example.com>",
        rendered=None,  # type: ignore[arg-type]
    )
    readers = [
        Recipient(1, 10, "a@example.com", "Ann Lee", "https://n.example/u/x1"),
        Recipient(2, 11, "b@example.com", "", "https://n.example/u/x2"),
        Recipient(3, 12, "c@example.com", "  ", "https://n.example/u/x3", "https://p/3"),
        Recipient(4, 13, "é@exämple.com", 'Zoë "Z" <b>, & ; co\n', "https://n/u/?a=1&b=<2>"),
        Recipient(5, 14, "d@example.com", "\u2028\x00 Bob\t", 'https://n/u/\\"x'),
        Recipient(6, 15, "o'neil@example.com", "Pat", "https://n.example/u/x6"),
        Recipient(7, 16, "e@example.com", "Al", "https://n/u/x7", "https://p/?a>b"),
    ]
    for copy in (edition, replace(edition, transactional=True)):
        expected = json.dumps([personalization(copy, r) for r in readers])
        assert personalizations_json(copy, readers) == expected
        assert json.loads(personalizations_json(copy, readers[:1])) == [
            personalization(copy, readers[0])
        ]
    assert personalizations_json(edition, []) == "[]"


def test_fake_counts_custom_args_and_substitutions_bytes_exactly() -> None:
    from tests.fakes.sendgrid_api import Problem

    fake = FakeSendGrid(validate_schema=False, keep_bodies=False)

    def body(args: dict[str, str], subs: dict[str, str]) -> dict[str, Any]:
        return {
            "personalizations": [
                {"to": [{"email": "a@example.com"}], "custom_args": args, "substitutions": subs}
            ],
            "from": {"email": "w@example.com"},
            "subject": "s",
            "content": [{"type": "text/plain", "value": "x"}],
        }

    # {"k": "…"} is 9 bytes around the value: 9,990 bytes in all is under the limit.
    fake.check(body({"k": "v" * 9981}, {}))
    for args in ({"k": "v" * 9991}, {"k": "\u00e9" * 1700}, {"k": "\U0001f600" * 900}):
        with pytest.raises(Problem, match="Custom args"):
            fake.check(body(args, {}))
    fake.check(body({}, {"k": "\u00e9" * 4999}))  # 1 + 9,998 bytes
    with pytest.raises(Problem, match="10000 bytes"):
        fake.check(body({}, {"k": "\u00e9" * 5000}))
    with pytest.raises(Problem, match="must be strings"):
        fake.check(body({"k": 1}, {}))  # type: ignore[dict-item]
