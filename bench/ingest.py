"""Ingestion throughput and memory: feed entries and article pages from local files.

Each case runs in a fresh interpreter, and memory is sampled from /proc rather than taken from
`getrusage`: Linux carries a parent's peak RSS across fork and exec, so a case started by a large
`make bench` process would otherwise report the parent's figure. Targets (issue 11): 10,000
feed entries under 20 s, 1,000 article pages under 60 s, peak memory bounded by the largest
source rather than the total (compare 10 and 20 feeds of 1,000 entries).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from digest.core.app import create_app
from digest.ingest.service import ingest_sources
from digest.settings import Settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "extraction"
WORDS = [
    "council",
    "transit",
    "housing",
    "climate",
    "river",
    "tram",
    "harbour",
    "budget",
    "school",
    "library",
    "market",
    "park",
    "street",
    "bridge",
    "ferry",
    "station",
    "museum",
    "hospital",
    "election",
    "festival",
]


def write_feed(path: Path, index: int, entries: int) -> None:
    """An RSS 2.0 file with `entries` distinct items of about 150 words each."""
    items = []
    for n in range(entries):
        words = " ".join(WORDS[(n * 7 + i * 3 + index) % len(WORDS)] for i in range(150))
        items.append(
            f"<item><title>Feed {index} entry {n} on {WORDS[n % len(WORDS)]}</title>"
            f"<link>https://feed{index}.example/{n}</link><guid>f{index}-{n}</guid>"
            f"<pubDate>Fri, 20 Nov 2026 09:30:00 +0000</pubDate><category>city</category>"
            f"<description><![CDATA[<p>Entry {n} of feed {index}. {words}.</p>]]></description>"
            "</item>"
        )
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
        f"<link>https://feed{index}.example/</link><description>b</description>"
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )


def write_pages(folder: Path, count: int) -> None:
    """`count` article pages cycled from the labelled set, each under its own canonical URL."""
    sources = sorted((EVAL / "pages").glob("*.html.gz"))
    raw = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sources]
    for n in range(count):
        page = raw[n % len(raw)].replace(
            "<head>", f'<head><link rel="canonical" href="https://bench.example/{n}">', 1
        )
        (folder / f"page{n:04d}.html").write_text(page, encoding="utf-8")


@contextmanager
def latency_server(feeds: dict[str, bytes], latency: float) -> Iterator[int]:
    """A threaded HTTP server on every loopback address that answers each feed after
    `latency` seconds; 127.0.0.N are distinct hosts to digest, as 200 sites would be."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency)
            body = feeds.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()


def run_http_case(n_feeds: int, entries: int, latency: float) -> dict[str, float]:
    """`n_feeds` feeds of `entries` entries, each on its own host, each answering late."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        feeds = {}
        for i in range(n_feeds):
            write_feed(root / "f.xml", i, entries)
            feeds[f"/feed{i}.xml"] = (root / "f.xml").read_bytes()
        with latency_server(feeds, latency) as port:
            sources = {
                f"feed{i}": {
                    "kind": "feed",
                    "location": f"http://127.0.0.{i % 250 + 1}:{port}/feed{i}.xml",
                }
                for i in range(n_feeds)
            }
            settings = Settings.model_validate(
                {"home": str(root / "home"), "sources": sources, "ingest": {"allow_private": True}}
            )
            return measure(settings)


def measure(settings: Settings) -> dict[str, float]:
    """Ingest `settings`' sources into a fresh database: time, CPU, items, errors, memory."""
    app = create_app(settings, clock=lambda: NOW)
    app.engine  # noqa: B018  (create and migrate the database before timing)
    start, cpu = time.perf_counter(), time.process_time()
    with MemorySampler() as memory:
        reports = ingest_sources(app.engine, settings, NOW)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    app.close()
    stored = sum(r.counts["new"] + r.counts["duplicate"] + r.counts["unchanged"] for r in reports)
    errors = sum(len(r.errors) for r in reports)
    return {
        "seconds": seconds, "cpu": cpu, "items": stored, "errors": errors,
        "peak_mb": memory.peak_total_mb, "main_mb": status_kb(os.getpid(), "VmHWM") / 1024,
        "rss_sum_mb": memory.peak_rss_sum_mb,
    }  # fmt: skip


def status_kb(pid: int, field: str, table: str = "status") -> int:
    """One `kB` field of /proc/PID/status (or another table), or 0 once the process has gone."""
    try:
        for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the forkserver and its parse workers)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


class MemorySampler:
    """Samples the memory of this process and all its children together every 50 ms.

    Summed RSS counts the pages the forkserver's workers share with it once per process, so the
    total is taken as proportional set size (each shared page split among its sharers): what the
    machine actually gives the run. The summed RSS is kept beside it for comparison.
    """

    def __init__(self) -> None:
        self.peak_total_mb = 0.0
        self.peak_rss_sum_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        pids = [me, *descendants(me)]
        pss = sum(status_kb(pid, "Pss", "smaps_rollup") for pid in pids)
        rss = sum(status_kb(pid, "VmRSS") for pid in pids)
        self.peak_total_mb = max(self.peak_total_mb, pss / 1024)
        self.peak_rss_sum_mb = max(self.peak_rss_sum_mb, rss / 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def run_case(case: str) -> dict[str, float]:
    """Build the inputs for `case`, ingest them into a fresh SQLite database, and measure."""
    if case == "http200":
        return run_http_case(200, 50, 0.3)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources: dict[str, dict[str, object]] = {}
        if case.startswith("feeds"):
            n_feeds = int(case.removeprefix("feeds"))
            for i in range(n_feeds):
                write_feed(root / f"feed{i}.xml", i, 1000)
                sources[f"feed{i}"] = {"kind": "feed", "location": str(root / f"feed{i}.xml")}
        else:
            (root / "pages").mkdir()
            write_pages(root / "pages", 1000)
            sources["pages"] = {"kind": "folder", "location": str(root / "pages")}
        return measure(Settings.model_validate({"home": str(root / "home"), "sources": sources}))


def main() -> None:
    """Run each case in its own process and print the figures."""
    cases = [("feeds10", "10,000 feed entries (10 feeds)", 20.0),
             ("feeds20", "20,000 feed entries (20 feeds)", 40.0),
             ("http200", "200 feeds x 50 over HTTP, 300 ms each", 10.0)]  # fmt: skip
    if (EVAL / "pages").is_dir():
        cases.append(("pages", "1,000 article pages (one folder)", 60.0))
    print(
        "ingestion (each case in a fresh process; cpu = its CPU s; main MB = its peak RSS;\n"
        "  all MB = peak PSS of it and its parse workers together, RSS summed in brackets; "
        "target < 250 MB;\n  one at a time the HTTP case would wait 60 s on latency alone)"
    )
    print(
        f"  {'case':<36} {'seconds':>8} {'cpu':>6} {'target':>7} {'items':>6} {'errors':>6} "
        f"{'main MB':>8} {'all MB':>7}"
    )
    for case, label, target in cases:
        out = subprocess.run(
            [sys.executable, "-m", "bench.ingest", case],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        fig = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  {label:<36} {fig['seconds']:8.1f} {fig['cpu']:6.1f} {target:7.0f} "
            f"{fig['items']:6.0f} {fig['errors']:6.0f} {fig['main_mb']:8.0f} "
            f"{fig['peak_mb']:7.0f} ({fig['rss_sum_mb']:.0f})"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(run_case(sys.argv[1])))
    else:
        main()
