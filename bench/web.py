"""Load on loopback: one-click unsubscribe and the SendGrid webhook under concurrent requests.

The server runs in its own process (uvicorn, SQLite in a temp dir); an async client sends a
bounded number of requests with bounded concurrency and a time limit. Afterwards the database is
checked: every unsubscribe and every event stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from digest.core.app import create_app
from digest.settings.loading import load_settings
from subscribers.models import Membership
from subscribers.store import add_subscriber

SUBSCRIBERS = 3000
WEBHOOK_REQUESTS = 300
EVENTS_PER_REQUEST = 100
CONCURRENCY = 32
TIME_LIMIT = 120.0  # seconds per phase, whatever happens
TOML = """
base_url = "http://127.0.0.1"
secret_key = "bench-secret"
[newsletters.weekly]
title = "Weekly"
tags = ["news"]
"""


def _settings(home: Path, port: int, public_key: str):  # type: ignore[no-untyped-def]
    cfg = home / "digest.toml"
    cfg.write_text(TOML, encoding="utf-8")
    return load_settings(
        cfg,
        overrides={
            "home": str(home),
            "base_url": f"http://127.0.0.1:{port}",
            "web.sendgrid_webhook_public_key": public_key,
        },
    )


def _serve(home: str, port: int, public_key: str) -> None:
    import uvicorn

    from digest.web.server import create_web_app

    app = create_app(_settings(Path(home), port, public_key))
    uvicorn.run(create_web_app(app), host="127.0.0.1", port=port, log_level="warning")


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


async def _run(requests: list[tuple[str, dict[str, str], bytes]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = list(reversed(requests))
    deadline = time.perf_counter() + TIME_LIMIT

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while queue and time.perf_counter() < deadline:
            url, headers, body = queue.pop()
            start = time.perf_counter()
            try:
                r = await client.post(url, headers=headers, content=body)
                failures += r.status_code != 200
            except httpx.TransportError:
                failures += 1
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies, failures


def main() -> None:
    """Run both phases and print requests/s, p99 and the exactly-once checks."""
    import os

    print(f"web load (loopback; load average before: {os.getloadavg()[0]:.1f})")
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        app = create_app(_settings(home, port, public))
        now = datetime.now(UTC)
        with app.engine.begin() as conn:
            ids = [
                add_subscriber(conn, f"r{i}@example.com", "weekly", now)[0]
                for i in range(SUBSCRIBERS)
            ]
        base = f"http://127.0.0.1:{port}"
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(str(home), port, public), daemon=True
        )
        server.start()
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            unsub = [
                (f"{base}/u/{app.signer.unsubscribe_token(i, 'weekly', 1)}", form,
                 b"List-Unsubscribe=One-Click")
                for i in ids
            ]  # fmt: skip
            elapsed, lat, failed = asyncio.run(_run(unsub))
            with app.engine.connect() as conn:
                left = conn.execute(
                    select(func.count()).where(Membership.status == "unsubscribed")
                ).scalar()
            print(
                f"one-click unsubscribe: {len(lat)} requests, {CONCURRENCY} concurrent: "
                f"{len(lat) / elapsed:,.0f} req/s, p99 {_p99(lat) * 1000:.1f} ms, "
                f"{failed} failed; unsubscribed {left}/{SUBSCRIBERS}"
            )
            hooks = []
            for r in range(WEBHOOK_REQUESTS):
                events = [
                    {"email": f"r{(r * EVENTS_PER_REQUEST + e) % SUBSCRIBERS}@example.com",
                     "event": "delivered", "sg_event_id": f"e{r}-{e}",
                     "timestamp": int(time.time())}
                    for e in range(EVENTS_PER_REQUEST)
                ]  # fmt: skip
                body = json.dumps(events).encode()
                stamp = str(int(time.time()))
                sig = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
                    "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                }
                hooks.append((f"{base}/hooks/sendgrid", headers, body))
            hooks += hooks[:50]  # replays: must store nothing
            elapsed, lat, failed = asyncio.run(_run(hooks))
            from digest.web.models import ProviderEvent

            with app.engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(ProviderEvent)).scalar()
            print(
                f"webhook: {len(lat)} requests of {EVENTS_PER_REQUEST} events, {CONCURRENCY} "
                f"concurrent: {len(lat) / elapsed:,.0f} req/s "
                f"({len(lat) * EVENTS_PER_REQUEST / elapsed:,.0f} events/s), "
                f"p99 {_p99(lat) * 1000:.1f} ms, {failed} failed; stored {stored}/"
                f"{WEBHOOK_REQUESTS * EVENTS_PER_REQUEST} (50 replayed requests stored nothing)"
            )
        finally:
            server.terminate()
            server.join(10)
            app.close()


if __name__ == "__main__":
    main()
