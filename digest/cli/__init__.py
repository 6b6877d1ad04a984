"""The `digest` command: thin commands over library functions; errors become one line here.

`root` holds the group and its global options; each command module registers its commands on
it when imported, and `root` imports a module only when one of its commands runs.
"""

from __future__ import annotations

from digest.cli.root import State, cli, main

__all__ = ["State", "cli", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
