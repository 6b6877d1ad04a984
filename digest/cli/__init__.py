"""The `digest` command: thin commands over library functions; errors become one line here.

`root` holds the group and its global options; each command module registers on it when imported.
"""

from __future__ import annotations

# Each command module registers its commands on `cli` when imported.
from digest.cli import (  # noqa: F401
    articles,
    config_cmd,
    db_cmd,
    demo_cmd,
    preview_cmd,
    schedule_cmd,
    send_cmd,
    sources_cmd,
    stories_cmd,
    subscribers_cmd,
    templates_cmd,
    web_cmd,
)
from digest.cli.root import State, cli, main

__all__ = ["State", "cli", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
