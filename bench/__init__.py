"""Benchmarks: each module has a `main()` that prints its figures (targets from DESIGN.md)."""
