"""Which PostgreSQL the benchmarks use: the one named in the environment, else the usual local
server (as `make test` does) when it answers; None prints a skip line instead."""

from __future__ import annotations

import os

LOCAL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str | None:
    """DIGEST_BENCH_POSTGRES_URL or DIGEST_TEST_POSTGRES_URL, else LOCAL if it answers."""
    chosen = os.environ.get("DIGEST_BENCH_POSTGRES_URL") or os.environ.get(
        "DIGEST_TEST_POSTGRES_URL"
    )
    if chosen:
        return chosen
    from sqlalchemy import create_engine

    from digest.core.db import normalise_url

    engine = create_engine(normalise_url(LOCAL), connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return LOCAL
    except Exception:  # no local server: the PostgreSQL figures are skipped, saying so
        return None
    finally:
        engine.dispose()
