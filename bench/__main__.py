"""`make bench`: run every benchmark and print its figures next to the targets."""

from __future__ import annotations

from bench import render, send


def main() -> None:
    """Run the benchmarks in turn."""
    render.main()
    send.main([])


if __name__ == "__main__":
    main()
