"""Sending figures: the sendgrid provider against the local fake, ledger included; naive ratio;
peak memory at 1,000,000 subscribers; SMTP messages per second over one connection.

    python -m bench.send [--n 100000] [--million] [--postgres URL]

The fake SendGrid runs in its own process (as the real API would), checking the schema on
the envelope and two personalizations per request and every documented rule on all of them.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import resource
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.postgres import LOCAL, server_url
from digest.core.app import App, create_app
from digest.editions.lifecycle import transition
from digest.email.message import Recipient, compose
from digest.email.prepare import prepare
from digest.email.render import render_edition
from digest.pipeline import prepare_draft, send
from digest.settings.loading import load_settings

ROOT = Path(__file__).resolve().parent.parent
TOML = """
base_url = "https://news.example.com"
secret_key = "bench-secret"
[sender]
name = "Bench Weekly"
email = "weekly@news.example.com"
postal_address = "1 Sample Street"
[newsletters.weekly]
title = "Bench Weekly"
tags = ["transit", "housing"]
"""


@contextmanager
def fake_sendgrid() -> Iterator[str]:
    """The fake in a child process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sendgrid_api", "--sample-schema"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait()


def stats(url: str) -> dict[str, Any]:
    """What the fake accepted."""
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=10) as r:
        return dict(json.loads(r.read()))


def fill(app: App, n: int) -> None:
    """n subscribers on the list and a 20-story edition, approved; streamed in chunks."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from digest.ingest.service import ingest_path
    from subscribers.models import Membership, Subscriber

    now = app.clock()
    folder = Path(tempfile.mkdtemp())
    for i in range(20):
        day = (now - timedelta(days=1)).date().isoformat()
        (folder / f"{i}.md").write_text(
            f'---\ntitle: "Story {i} about the city"\ndate: "{day}"\n'
            f'tags: [{"transit" if i % 2 else "housing"}]\nurl: "https://x.example/{i}"\n---\n'
            + "The council decided something about the city. It took a while. "
            * 8,
            encoding="utf-8",
        )
    ingest_path(app.engine, folder, now)
    chunk = 10_000
    for start in range(0, n, chunk):
        with app.engine.begin() as conn:
            rows = [
                {
                    "email": f"reader{i}@example.com",
                    "email_key": f"reader{i}@example.com",
                    "domain": "example.com",
                    "name": f"Reader {i}",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(n, start + chunk))
            ]
            conn.execute(insert(Subscriber), rows)
            ids = conn.execute(
                select(Subscriber.id).order_by(Subscriber.id.desc()).limit(len(rows))
            ).scalars()
            conn.execute(
                insert(Membership),
                [
                    {
                        "subscriber_id": i,
                        "list_name": "weekly",
                        "status": "active",
                        "created_at": now,
                        "status_changed_at": now,
                    }
                    for i in ids
                ],
            )
    if app.engine.dialect.name == "postgresql":
        # A list that has been around has statistics (autovacuum); one loaded a moment ago
        # does not, and PostgreSQL would plan for empty tables.
        with app.engine.begin() as conn:
            conn.execute(text("ANALYZE subscribers, memberships"))
    edition = prepare_draft(app, "weekly", now)
    with app.engine.begin() as conn:
        transition(conn, edition.id, "approve", "bench", now)


def make(home: Path, db_url: str, url: str, **more: Any) -> App:
    """An app on db_url with the sendgrid provider pointed at the fake."""
    config = home / "digest.toml"
    home.mkdir(parents=True, exist_ok=True)
    config.write_text(TOML, encoding="utf-8")
    overrides = {
        "home": str(home),
        "database_url": db_url,
        "provider": "sendgrid",
        "sendgrid.host": url,
        "sendgrid.api_key": "SG.test-key",
        "send.concurrency": 2,
        **more,
    }
    return create_app(load_settings(config, overrides=overrides))


@contextmanager
def first_request_cpu() -> Iterator[list[float]]:
    """This process's CPU time at the send's first provider request, once it is made."""
    from digest.sending.providers import sendgrid

    post = sendgrid.SendgridMailer._post
    at: list[float] = []

    def first(self: Any, edition: Any, items: str) -> str:
        if not at:
            at.append(time.process_time())
        return post(self, edition, items)

    sendgrid.SendgridMailer._post = first  # type: ignore[method-assign]
    try:
        yield at
    finally:
        sendgrid.SendgridMailer._post = post  # type: ignore[method-assign]


def end_to_end(db_url: str, n: int, label: str, concurrency: int = 1) -> float:
    """Plan + send n recipients with `concurrency` threads; prints and returns recipients/s.

    One thread is the default setting; more overlap the provider's latency at some CPU cost.
    The CPU per reader is given from the first request on (what a send costs once started:
    the issue's measure) and with planning and rendering the edition before it.
    """
    label = f"{label}, send.concurrency = {concurrency}"
    with fake_sendgrid() as url:
        app = make(Path(tempfile.mkdtemp()), db_url, url, **{"send.concurrency": concurrency})
        fill(app, n)
        started = time.perf_counter()
        cpu = time.process_time()  # this process only: the fake's CPU is its own
        with first_request_cpu() as first:
            report = send(app, "weekly")
        end = time.process_time()
        elapsed = time.perf_counter() - started
        got = stats(url)
        app.close()
    rate = n / elapsed
    assert report.counts == {"sent": n}, report.counts
    assert got["recipients"] == n and got["max_per_recipient"] == 1, got
    print(
        f"  {label}: {n:,} recipients in {elapsed:.2f}s end to end (plan + render + send + "
        f"ledger) = {rate:,.0f} recipients/s (target ≥ 20,000); "
        f"{n / (end - first[0]):,.0f} recipients per CPU-second in digest from the first "
        f"request on (target ≥ 40,000), {n / (end - cpu):,.0f} with planning and rendering "
        f"({end - cpu:.2f} CPU-s in all); {got['accepted']:,} accepted once each by the fake"
    )
    return rate


def _child_env(home: Path, db_url: str, fake: str) -> dict[str, str]:
    """The environment of a `digest` child that uses `home` (set up by make) and the fake."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")},
        "DIGEST_CONFIG": str(home / "digest.toml"),
        "DIGEST_HOME": str(home),
        "DIGEST_DATABASE_URL": db_url,
        "DIGEST_PROVIDER": "sendgrid",
        "DIGEST_SENDGRID__HOST": fake,
        "DIGEST_SENDGRID__API_KEY": "SG.test-key",
    }


def startup(n: int = 2000, previewed: bool = False, runs: int = 3) -> None:
    """CPU and peak memory of `digest send` from process start to its first request; with
    `previewed`, after the edition was prepared once (as a preview, an approval on the command
    line, the desk or a test send does), so its rendering is in HOME/cache. The lowest and the
    median of `runs` sends of a fresh copy of the same database (noise only adds)."""
    from digest.email.prepare import prepare
    from digest.store import editions

    with fake_sendgrid() as url:
        home = Path(tempfile.mkdtemp())
        db = home / "digest.db"
        app = make(home, f"sqlite:///{db}", url)
        fill(app, n)
        if previewed:
            with app.engine.connect() as conn:
                edition = editions.get_edition(conn, "weekly")
            assert edition is not None
            prepare(app, edition)
        app.close()
        pristine = db.read_bytes()
        out = home / "startup.txt"
        env = {**_child_env(home, f"sqlite:///{db}", url), "BENCH_OUT": str(out)}
        figures = []
        for _ in range(runs):
            db.write_bytes(pristine)
            for extra in (home / "digest.db-wal", home / "digest.db-shm"):
                extra.unlink(missing_ok=True)
            if not previewed:  # what the run before kept would make this one warm
                shutil.rmtree(home / "cache", ignore_errors=True)
            subprocess.run(
                [sys.executable, "-c", _CHILD, "send", "weekly"], cwd=ROOT, env=env,
                capture_output=True, check=True,
            )  # fmt: skip
            _, _, first, peak = (float(x) for x in out.read_text().split())
            figures.append((first, peak))
    cpus, rss = sorted(c for c, _ in figures), max(r for _, r in figures)
    when = "after a preview or approval" if previewed else "nothing rendered before"
    print(
        f"  start-up of `digest send` (process start to first request; {when}): lowest "
        f"{cpus[0]:.2f}, median {cpus[len(cpus) // 2]:.2f} CPU-s of {runs} runs, peak RSS "
        f"{rss:.0f} MB (targets < 0.5 s, < 80 MB)"
    )


def naive(db_url: str, sample: int, n: int, fast_rate: float) -> None:
    """Render and inline per recipient, one request per recipient; extrapolated to n."""
    with fake_sendgrid() as url:
        app = make(Path(tempfile.mkdtemp()), db_url, url)
        fill(app, sample)
        with app.engine.connect() as conn:
            from digest.store.editions import open_edition

            edition = open_edition(conn, "weekly")
        assert edition is not None
        prepared = prepare(app, edition)
        from python_http_client.exceptions import HTTPError  # type: ignore[import-untyped]  # noqa: F401
        from sendgrid import SendGridAPIClient

        client = SendGridAPIClient(api_key="SG.test-key", host=url)
        context = {
            "description": "",
            "postal_address": "1 Sample Street",
            "sender_name": "Bench",
            "base_url": "https://news.example.com",
            "view_url": "https://news.example.com/archive/weekly/1",
        }
        started = time.perf_counter()
        for i in range(sample):
            rendered = render_edition(app.templates, edition.content, context)  # per recipient
            r = Recipient(i, i, f"reader{i}@example.com", f"Reader {i}", "https://n.example/u/x")
            values = r.slot_values()
            body = {
                "personalizations": [{"to": [{"email": r.email}]}],
                "from": {"email": prepared.from_email},
                "subject": prepared.subject,
                "content": [
                    {"type": "text/plain", "value": rendered.text.fill(values)},
                    {"type": "text/html", "value": rendered.html.fill(values, html.escape)},
                ],
            }
            client.client.mail.send.post(request_body=body, timeout=30)
        per = (time.perf_counter() - started) / sample
        app.close()
    print(
        f"  naive (render + inline + one request per recipient), {sample} sampled: "
        f"{per * 1000:.1f} ms each → {n:,} would take {per * n / 60:.1f} min "
        f"({1 / per:,.0f}/s); batched is {fast_rate * per:,.0f}× faster"
    )


def million(n: int) -> None:
    """Peak RSS of a process that plans and sends n recipients on SQLite."""
    code = (
        "import resource, tempfile; from pathlib import Path; import bench.send as b\n"
        f"b.end_to_end_rss({n})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    print(out.stdout.rstrip())


def end_to_end_rss(n: int) -> None:
    """Run in a child: fill (in chunks), then send; print peak RSS of the send alone."""
    with fake_sendgrid() as url:
        home = Path(tempfile.mkdtemp())
        app = make(home, f"sqlite:///{home / 'digest.db'}", url)
        fill(app, n)
        app.close()
    # A fresh child for the send itself, so filling the database does not count.
    code = (
        "import resource, sys, time\nimport bench.send as b\nfrom pathlib import Path\n"
        f"home = Path({str(home)!r})\n"
        "with b.fake_sendgrid() as url:\n"
        "    app = b.make(home, f'sqlite:///{home / \"digest.db\"}', url)\n"
        "    t = time.perf_counter(); r = b.send(app, 'weekly'); e = time.perf_counter() - t\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        f"    print(f'  {n:,} recipients: peak RSS {{peak:.0f}} MB (target < 250 MB), '\n"
        f"          f'{{r.counts}} in {{e:.1f}}s = {{{n} / e:,.0f}}/s')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    print(out.stdout.rstrip())


def smtp_rate(count: int = 300) -> None:
    """Messages per second over one reused connection to a local aiosmtpd."""
    from aiosmtpd.controller import Controller

    class Sink:
        n = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Sink.n += 1
            return "250 OK"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    home = Path(tempfile.mkdtemp())
    app = make(home, f"sqlite:///{home / 'digest.db'}", "http://unused")
    fill(app, 1)
    with app.engine.connect() as conn:
        from digest.store.editions import open_edition

        edition = open_edition(conn, "weekly")
    assert edition is not None
    prepared = prepare(app, edition)
    recipients = [
        Recipient(i, i, f"reader{i}@example.com", f"Reader {i}", "https://n.example/u/x")
        for i in range(count)
    ]
    conn_smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    for r in recipients:
        conn_smtp.send_message(compose(prepared, r, app.clock()), to_addrs=[r.email])
    elapsed = time.perf_counter() - started
    conn_smtp.quit()
    controller.stop()
    app.close()
    print(
        f"  smtp: {count:,} messages over one connection to local aiosmtpd in {elapsed:.2f}s = "
        f"{count / elapsed:,.0f} messages/s (compose + SMTP; aiosmtpd, in the same process, "
        "reads DATA line by line and bounds this figure)"
    )


# `digest ARGS` in a child that writes to BENCH_OUT as it exits: its CPU seconds, its pid, and
# at its first provider request (the end of its start-up) its CPU seconds and peak RSS in MB.
_CHILD = """
import atexit, os, resource, sys
from digest.sending.providers import sendgrid
post = sendgrid.SendgridMailer._post
first = []
def cpu():
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime
def peak():
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    return int(hwm) / 1024
def at_first(self, edition, items):
    first.extend((cpu(), peak()))
    sendgrid.SendgridMailer._post = post
    return post(self, edition, items)
sendgrid.SendgridMailer._post = at_first
def report():
    start, mb = first or (cpu(), peak())
    with open(os.environ["BENCH_OUT"], "w") as out:
        out.write(f"{cpu()} {os.getpid()} {start} {mb}")
atexit.register(report)
from digest.cli import main
sys.argv = ["digest", *sys.argv[1:]]
main()
"""


def through_cli(db_url: str, n: int) -> None:
    """`digest send` in a child process, as an operator runs it: CPU per reader after its
    first request (what it costs once started) and the CPU it spent before that."""
    with fake_sendgrid() as url:
        home = Path(tempfile.mkdtemp())
        app = make(home, db_url, url)
        fill(app, n)
        app.close()
        out = home / "cpu.txt"
        env = {**_child_env(home, db_url, url), "BENCH_OUT": str(out)}
        subprocess.run(
            [sys.executable, "-c", _CHILD, "send", "weekly"], cwd=ROOT, env=env,
            capture_output=True, check=True,
        )  # fmt: skip
        got = stats(url)
    assert got["recipients"] == n and got["max_per_recipient"] == 1, got
    total, _, first, _ = (float(x) for x in out.read_text().split())
    print(
        f"  SQLite through `digest send` (a child process): {n / (total - first):,.0f} readers "
        f"per CPU-second after its first request (target ≥ 40,000); {first:.2f} CPU-s before "
        f"it (planning {n:,} readers and rendering the edition included), {total:.2f} in all"
    )


def _workers(base: str, n: int, joiners: int) -> tuple[list[float], list[int], list[float]]:
    """Send n readers with `digest send` and `joiners` `--worker` processes on PostgreSQL.

    Returns each process's CPU seconds, the readers it sent (by the pid in claimed_by) and
    its CPU seconds before its first request (its start-up).
    """
    url, drop = postgres_url(base)
    try:
        with fake_sendgrid() as fake:
            home = Path(tempfile.mkdtemp())
            app = make(home, url, fake)
            fill(app, n)
            env = _child_env(home, url, fake)  # the default settings: one thread each
            outs = [home / f"cpu{i}.txt" for i in range(1 + joiners)]
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", _CHILD, "send", "weekly"],
                    cwd=ROOT,
                    env={**env, "BENCH_OUT": str(outs[0])},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            ]
            # The others join once the send has started (the edition is `sending`).
            while joiners:
                with app.engine.connect() as conn:
                    started = conn.execute(
                        text("SELECT count(*) FROM editions WHERE status = 'sending'")
                    ).scalar()
                if started:
                    break
                time.sleep(0.01)
            for i in range(1, 1 + joiners):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _CHILD, "send", "weekly", "--worker"],
                        cwd=ROOT,
                        env={**env, "BENCH_OUT": str(outs[i])},
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for proc in procs:
                proc.wait()
            got = stats(fake)
            assert got["recipients"] == n and got["max_per_recipient"] == 1, got
            with app.engine.connect() as conn:
                sent_by: dict[str, int] = dict(
                    conn.execute(
                        text(
                            "SELECT split_part(claimed_by, ':', 2), count(*) FROM deliveries "
                            "WHERE status = 'sent' GROUP BY 1"
                        )
                    ).all()
                )
            app.close()
        cpus, shares, starts = [], [], []
        for out in outs:
            cpu, pid, start, _ = out.read_text().split()
            cpus.append(float(cpu))
            shares.append(int(sent_by.get(pid, 0)))
            starts.append(float(start))
        return cpus, shares, starts
    finally:
        drop()


def two_workers(base: str, n: int = 200_000) -> None:
    """Does a second `--worker` add throughput? Its share, and CPU per reader against one."""
    [alone], _, [ready] = _workers(base, n, 0)
    cpus, shares, starts = _workers(base, n, 1)
    split = " / ".join(f"{s / n:.0%}" for s in shares)
    # The second process's own start-up is a fixed cost, whatever the list's size.
    joined = sum(cpus) - starts[1]
    print(
        f"  PostgreSQL, {n:,} readers: one `digest send` {alone:.2f} CPU-s "
        f"({n / (alone - ready):,.0f} readers per CPU-second after its first request, "
        f"{ready:.2f} CPU-s before it); with a `--worker` "
        f"beside it the shares are {split} (target 40-60% each) and together "
        f"{sum(cpus):.2f} CPU-s, {sum(cpus) / alone - 1:+.0%} CPU per reader against one "
        f"worker (target within 10%); {joined / alone - 1:+.0%} leaving out the second "
        f"process's start-up ({starts[1]:.2f} CPU-s)"
    )


def postgres_url(base: str) -> tuple[str, Any]:
    """A fresh schema on the server at `base`; returns its URL and a cleanup."""
    from digest.core.db import normalise_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{normalise_url(base)}{sep}options=-csearch_path%3D{schema}", drop


def main(argv: list[str] | None = None) -> None:
    """Print every sending figure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument(
        "--million",
        action="store_true",
        help="also 1,000,000 readers: peak RSS on SQLite, the rate on PostgreSQL",
    )
    parser.add_argument("--postgres", default=None, help="default: see bench.postgres")
    args = parser.parse_args(argv)
    args.postgres = args.postgres or server_url()
    print("send (sendgrid provider → local fake SendGrid in another process):")
    home = Path(tempfile.mkdtemp())
    end_to_end(f"sqlite:///{home / 'digest.db'}", args.n, "SQLite")
    home = Path(tempfile.mkdtemp())
    rate = end_to_end(f"sqlite:///{home / 'digest.db'}", args.n, "SQLite", 2)
    through_cli(f"sqlite:///{Path(tempfile.mkdtemp()) / 'digest.db'}", args.n)
    if args.postgres:
        url, drop = postgres_url(args.postgres)
        try:
            end_to_end(url, args.n, "PostgreSQL")
        finally:
            drop()
        url, drop = postgres_url(args.postgres)
        try:
            end_to_end(url, args.n, "PostgreSQL", 2)
        finally:
            drop()
        two_workers(args.postgres)
    else:
        print(f"  PostgreSQL: skipped (no server at {LOCAL}; set DIGEST_BENCH_POSTGRES_URL)")
    startup()
    startup(previewed=True)
    naive(f"sqlite:///{Path(tempfile.mkdtemp()) / 'digest.db'}", 100, args.n, rate)
    smtp_rate()
    if args.million:
        million(1_000_000)
        if args.postgres:
            two_workers(args.postgres, 1_000_000)  # the second process's start-up amortised
            # The ledger is planned in steps while the workers send (digest.sending.planning).
            url, drop = postgres_url(args.postgres)
            try:
                end_to_end(url, 1_000_000, "PostgreSQL, 1,000,000")
            finally:
                drop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (this process's peak RSS: {peak:.0f} MB)")


if __name__ == "__main__":
    main()
