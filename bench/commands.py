"""Start-up of everyday commands: the CPU seconds of a whole `digest` process.

    python -m bench.commands [--runs 5]

Each command runs in a fresh process (as a user types it); the figures are the median and
the lowest of the runs, since a shared machine adds noise only upwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.send import TOML

# The installed `digest` script, as a user runs it.
DIGEST = str(Path(sys.executable).parent / "digest")


def _cost(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """CPU seconds of one `digest ARGS` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [DIGEST, *args],
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    """Print each command's start-up next to its target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp())
    (work / "digest.toml").write_text(TOML, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env |= {"DIGEST_CONFIG": str(work / "digest.toml"), "DIGEST_HOME": str(work / "home")}
    _cost(
        ["subscribers", "add", "first@example.com", "--list", "weekly"], env, work
    )  # makes the db
    print("command start-up (a whole process, fresh each time):")
    commands = [
        ("digest --help", ["--help"], 0.3),
        ("digest --version", ["--version"], 0.3),
        ("digest subscribers add", None, 0.5),
    ]
    for label, command, target in commands:
        cpus = []
        for i in range(args.runs):
            typed = command or ["subscribers", "add", f"reader{i}@example.com", "--list", "weekly"]
            cpus.append(_cost(typed, env, work))
        print(
            f"  {label}: median {statistics.median(cpus):.2f} CPU-s, lowest {min(cpus):.2f} "
            f"over {args.runs} runs (target < {target} s)"
        )


if __name__ == "__main__":
    main()
