"""digest: newsletter digests from tagged articles.

The package is a library first: every stage of the flow (ingest, select, summarise, render,
send) is a function that can be called and tested alone; the CLI only wires them together.
"""

__version__ = "0.1.0"
