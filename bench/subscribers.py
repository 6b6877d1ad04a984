"""Import 1,000,000 generated subscribers, then stream the list's recipients; print figures.

The file has 5% invalid addresses, 2% duplicates and 1% suppressed addresses. Each step runs
in a child process so its peak RSS is its own. PostgreSQL runs too where a server is found
(see bench.postgres).
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.postgres import server_url

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROWS = int(os.environ.get("DIGEST_BENCH_SUBSCRIBERS", "1000000"))
KEY = "bench-secret-key"
CITIES = ["Oslo", "Kraków", "Zürich", "Lyon", "São Paulo", "Dublin"]
TOPICS = ["transit", "housing", "", "", "transit;housing"]


def generate(path: Path, rows: int, seed: int = 7) -> list[str]:
    """Write the CSV; returns the addresses to suppress beforehand (1% of rows)."""
    rnd = random.Random(seed)
    suppressed: list[str] = []
    recent: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email,name,city,topics\n")
        for i in range(rows):
            roll = rnd.random()
            if roll < 0.05:
                email = f"broken{i}.example.com"  # no @: invalid
            elif roll < 0.07 and recent:
                email = rnd.choice(recent).upper()  # a case variant of an earlier row
            else:
                email = f"reader.{i}+n@mail{i % 97}.example.com"
                if roll < 0.08:
                    suppressed.append(email)
                recent.append(email)
                if len(recent) > 1000:
                    recent.pop(0)
            fh.write(f"{email},Reader {i},{rnd.choice(CITIES)},{rnd.choice(TOPICS)}\n")
    return suppressed


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_import(url: str, csv_path: str, suppress_path: str) -> None:
    """(child) Suppress 1%, then import the file; prints one line of figures."""
    from sqlalchemy import func, select

    from digest.core.db import open_database
    from subscribers.importer import import_file
    from subscribers.models import Membership
    from subscribers.suppression import AddressHasher, suppress

    engine = open_database(url)
    hasher = AddressHasher([KEY])
    with engine.begin() as conn:
        for email in Path(suppress_path).read_text().split():
            suppress(conn, email, reason="bench", source="bench", now=NOW, hasher=hasher)
    report = Path(csv_path).with_suffix(".rejected.csv")
    start, cpu = time.perf_counter(), time.process_time()
    summary = import_file(
        engine, Path(csv_path), "weekly", now=NOW, hasher=hasher, report_path=report
    )
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    with engine.connect() as conn:
        members = conn.execute(select(func.count()).select_from(Membership)).scalar_one()
    engine.dispose()
    rows = summary.last_line - 1
    print(
        f"import {rows:,} rows: {took:.1f} s, {rows / took:,.0f} rows/s (CPU {cpu:.1f} s), "
        f"peak RSS {_rss_mb():.0f} MB; added {summary.added:,}, "
        f"rejected {summary.rejected_total:,} ({dict(summary.rejected)}); members {members:,}"
    )


def child_recipients(url: str) -> None:
    """(child) Stream every recipient of the list; prints one line of figures."""
    from digest.core.db import open_database
    from subscribers.store import recipients

    engine = open_database(url)
    start = time.perf_counter()
    n = sum(1 for _ in recipients(engine, "weekly"))
    took = time.perf_counter() - start
    engine.dispose()
    print(f"recipients: {n:,} streamed in {took:.1f} s, peak RSS {_rss_mb():.0f} MB")


def _child(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "bench.subscribers", *args], check=True)


def _pg_schema(url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    from digest.core.db import normalise_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return schema, f"{normalise_url(url)}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    from digest.core.db import normalise_url

    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    """Generate the file, then import and stream on SQLite (and PostgreSQL if configured)."""
    print("subscribers (targets: import < 60 s SQLite / < 90 s PostgreSQL, RSS < 300 MB; "
          "recipients < 10 s, RSS < 150 MB)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "subscribers.csv"
        start = time.perf_counter()
        suppressed = generate(csv_path, ROWS)
        (folder / "suppress.txt").write_text("\n".join(suppressed))
        size = csv_path.stat().st_size / 1e6
        print(f"generated {ROWS:,} rows ({size:.0f} MB) in {time.perf_counter() - start:.1f} s")
        print("SQLite:")
        url = f"sqlite:///{folder / 'bench.db'}"
        _child("import", url, str(csv_path), str(folder / "suppress.txt"))
        _child("recipients", url)
        pg = server_url()
        if pg:
            print("PostgreSQL:")
            schema, pg_url = _pg_schema(pg)
            try:
                _child("import", pg_url, str(csv_path), str(folder / "suppress.txt"))
                _child("recipients", pg_url)
            finally:
                _drop_schema(pg, schema)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "import":
        child_import(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "recipients":
        child_recipients(sys.argv[2])
    else:
        main()
