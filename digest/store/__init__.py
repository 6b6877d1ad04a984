"""Queries, one module per area; the rest of the pipeline never writes SQL of its own."""
