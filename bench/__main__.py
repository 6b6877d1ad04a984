"""`make bench`: run every benchmark and print its figures next to the targets."""

from __future__ import annotations

from bench import (
    commands,
    draft,
    extraction,
    ingest,
    render,
    send,
    stories,
    subscribers,
    summaries,
    web,
)


def main() -> None:
    """Run the benchmarks in turn."""
    commands.main()
    render.main()
    extraction.main()
    summaries.main()
    stories.main()
    draft.main()
    web.main()
    ingest.main()
    subscribers.main()
    send.main(["--million"])  # the 1,000,000-reader figures too


if __name__ == "__main__":
    main()
