"""`make bench`: run every benchmark and print its figures next to the targets."""

from __future__ import annotations

from bench import draft, render, stories, summaries


def main() -> None:
    """Run the benchmarks in turn."""
    render.main()
    summaries.main()
    stories.main()
    draft.main()


if __name__ == "__main__":
    main()
