"""CSV import: every kind of bad input is reported by line, nothing is lost or re-subscribed."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.core.app import App
from subscribers import ops
from subscribers.errors import ImportFileError
from subscribers.importer import ImportInterrupted, ImportSummary, import_file, read_report
from subscribers.models import Consent, Membership, MembershipTopic, Status, Subscriber
from subscribers.suppression import AddressHasher, suppress
from tests.conftest import NOW

HASHER = AddressHasher(["test-key"])


def run(app: App, path: Path, **kw: object) -> tuple[ImportSummary, list[tuple[int, str, str]]]:
    report = path.with_suffix(".report.csv")
    summary = import_file(
        app.engine,
        path,
        "weekly",
        now=NOW,
        hasher=HASHER,
        report_path=report,
        **kw,  # type: ignore[arg-type]
    )
    return summary, list(read_report(report))


def members(app: App) -> dict[str, str]:
    with app.engine.connect() as conn:
        return dict(
            conn.execute(  # type: ignore[arg-type]
                select(Subscriber.email, Membership.status).join(
                    Membership, Membership.subscriber_id == Subscriber.id
                )
            ).all()
        )


def test_import_rules_and_idempotence(app: App, tmp_path: Path) -> None:
    with app.engine.begin() as conn:
        left = ops.add(conn, "left@example.com", "weekly", now=NOW).subscriber_id
        assert left is not None
        ops.unsubscribe(conn, left, "weekly", source="link", now=NOW)
        ops.add(conn, "bounced@example.com", "weekly", now=NOW)
        ops.mark_bounced(conn, "bounced@example.com", now=NOW)
        suppress(conn, "blocked@example.com", reason="x", source="cli", now=NOW, hasher=HASHER)
        ops.add(conn, "known@example.com", "other", now=NOW, name="Known")
    path = tmp_path / "people.csv"
    path.write_text(
        "Email,Name,Topics,City\n"
        "ann+news@example.com,Ann,transit,Oslo\n"
        "not-an-address,Bob,,\n"
        "ANN+news@Example.com,Ann again,,\n"
        "left@example.com,Left,,\n"
        "bounced@example.com,Bounced,,\n"
        "blocked@example.com,Blocked,,\n"
        "\n"
        "known@example.com,Known,,Bergen\n"
        "cy@bücher.example,Cy 🚀,,\n"
        'dee@example.com,"Dee\r\nBcc: x@example.com",transit;housing,\n',
        encoding="utf-8",
    )
    summary, report = run(app, path, allowed_topics=["transit", "housing"])
    assert (summary.added, summary.updated, summary.unchanged) == (4, 0, 0)
    assert [(line, reason.split(":")[0]) for line, _, reason in report] == [
        (3, "invalid address"),
        (4, "duplicate of line 2"),
        (5, "previously unsubscribed"),
        (6, "previously bounced"),
        (7, "suppressed"),
    ]
    assert summary.rejected["duplicate in file"] == 1 and summary.blank_lines == 1
    state = members(app)
    assert state["left@example.com"] == "unsubscribed"
    assert state["bounced@example.com"] == "bounced"
    assert state["ann+news@example.com"] == "active"
    assert state["cy@xn--bcher-kva.example"] == "active"
    with app.engine.connect() as conn:
        dee = conn.execute(select(Subscriber.name).where(Subscriber.email == "dee@example.com"))
        assert dee.scalar_one() == "Dee Bcc: x@example.com"
        known = conn.execute(
            select(Subscriber.attributes).where(Subscriber.email_key == "known@example.com")
        )
        assert known.scalar_one() == {"city": "Bergen"}
        assert conn.execute(select(func.count()).select_from(MembershipTopic)).scalar_one() == 3
        consents = conn.execute(select(func.count()).select_from(Consent)).scalar_one()
    # The same file again changes nothing.
    again, report2 = run(app, path, allowed_topics=["transit", "housing"])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert len(report2) == len(report)
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Consent)).scalar_one() == consents


def test_pending_import_then_active_import_upgrades(app: App, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("email\nann@example.com\n")
    first, _ = run(app, path, status=Status.PENDING)
    assert first.added == 1 and members(app) == {"ann@example.com": "pending"}
    second, _ = run(app, path)
    assert second.updated == 1 and members(app) == {"ann@example.com": "active"}


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16", b""), ("utf-16-le", b""),
     ("latin-1", b"")],
)  # fmt: skip
def test_encodings(app: App, tmp_path: Path, encoding: str, bom: bytes) -> None:
    path = tmp_path / "enc.csv"
    path.write_bytes(bom + "email;name\njose@example.com;José Müller\n".encode(encoding))
    summary, report = run(app, path)
    assert summary.added == 1 and report == [] and summary.delimiter == ";"
    with app.engine.connect() as conn:
        assert conn.execute(select(Subscriber.name)).scalar_one() == "José Müller"


def test_mixed_encodings_in_one_file(app: App, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"email,name\n" + "a@example.com,Zoë\n".encode() + "b@example.com,Zoë\n".encode("latin-1")
    )
    summary, _ = run(app, path)
    assert summary.added == 2 and summary.latin1_lines == 1
    with app.engine.connect() as conn:
        assert set(conn.execute(select(Subscriber.name)).scalars()) == {"Zoë"}


def test_broken_quoting_costs_one_row(app: App, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    lines = ["email,name", 'a@example.com,"Ann', *(f"u{i}@example.com,U{i}" for i in range(30))]
    path.write_text("\n".join(lines) + "\n")
    summary, report = run(app, path)
    assert summary.added == 30
    assert [(line, reason[:17]) for line, _, reason in report] == [(2, "unbalanced quote ")]


def test_quoted_newline_inside_a_field_is_one_row(app: App, tmp_path: Path) -> None:
    path = tmp_path / "nl.csv"
    path.write_text('email,name,note\na@example.com,Ann,"two\nlines"\nb@example.com,Bo,\n')
    summary, report = run(app, path)
    assert summary.added == 2 and report == []


def test_ten_megabyte_line_is_reported_and_skipped(app: App, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w") as fh:
        fh.write("email,name\na@example.com,A\n")
        fh.write("b@example.com," + "x" * 10_000_000 + "\n")
        fh.write("c@example.com,C\n")
    summary, report = run(app, path)
    assert summary.added == 2
    assert report[0][0] == 3 and "longer than" in report[0][2]


def test_no_email_column_names_the_file(app: App, tmp_path: Path) -> None:
    path = tmp_path / "noemail.csv"
    path.write_text("name,city\nAnn,Oslo\n")
    with pytest.raises(ImportFileError) as info:
        run(app, path)
    assert "noemail.csv" in info.value.message and "'name'" in info.value.message


@pytest.mark.parametrize("content", ["", "email,name\n", "\n\n\n", "email\n\n\n"])
def test_empty_and_header_only_files(app: App, tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    summary, report = run(app, path)
    assert (summary.added, summary.rejected_total, report) == (0, 0, [])


def test_nul_and_control_characters_in_attributes(app: App, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"email,name,company\na@example.com,A\x00nn,Acme\x00\rInc\n")
    summary, _ = run(app, path)
    assert summary.added == 1
    with app.engine.connect() as conn:
        row = conn.execute(select(Subscriber.name, Subscriber.attributes)).one()
    assert row.name == "A nn" and row.attributes == {"company": "Acme Inc"}


def test_dry_run_writes_nothing(app: App, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("email\na@example.com\nb@example.com\na@example.com\n")
    summary, report = run(app, path, dry_run=True)
    assert summary.added == 2 and len(report) == 1
    assert members(app) == {}


def test_interrupt_keeps_committed_batches_and_report_in_step(app: App, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("email\n" + "".join(f"u{i}@example.com\nbad{i}\n" for i in range(250)))
    calls = 0

    def stop(_summary: ImportSummary) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    report = tmp_path / "r.csv"
    with pytest.raises(ImportInterrupted) as info:
        import_file(
            app.engine, path, "weekly", now=NOW, report_path=report, batch_size=100, progress=stop
        )
    done = info.value.summary
    assert len(members(app)) == done.added == 100
    assert len(list(read_report(report))) == done.rejected_total == 100
    # Running it again finishes the job without touching what was done.
    summary = import_file(app.engine, path, "weekly", now=NOW, report_path=report, batch_size=100)
    assert (summary.added, summary.unchanged, summary.rejected_total) == (150, 100, 250)
