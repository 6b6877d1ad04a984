"""Who is working: a name per run that says which machine and process it is, and whether it lives.

A lease names its holder this way, so a process on the same machine can tell at once that a
holder has died (its process is gone, or the process id now belongs to a later process) and
take over without waiting for the lease to run out. A holder on another machine is only known
dead when its lease expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _started(pid: int) -> str:
    """When process `pid` started, in clock ticks since boot (Linux); '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


_SELF_STARTED = _started(os.getpid())


def worker_id() -> str:
    """A name for one run: host, process id, process start time, run."""
    return f"{socket.gethostname()}:{os.getpid()}:{_SELF_STARTED}:{uuid.uuid4().hex[:8]}"


# Runs going on in this process, so a restart within one process can tell its own dead runs.
_ACTIVE: set[str] = set()


def mark_active(worker: str) -> None:
    """Count `worker` as running in this process (is_dead says False for it) until mark_done."""
    _ACTIVE.add(worker)


def mark_done(worker: str) -> None:
    """`worker` has stopped: from now on is_dead says True for it."""
    _ACTIVE.discard(worker)


@contextmanager
def active(worker: str) -> Iterator[None]:
    """Count `worker` as running in this process meanwhile."""
    mark_active(worker)
    try:
        yield
    finally:
        mark_done(worker)


def is_dead(worker: str) -> bool:
    """True when `worker` ran on this machine and is certainly gone (no need to wait a lease)."""
    host, pid_text, *rest = [*worker.split(":"), ""]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its lease can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return worker not in _ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # The process id is taken; by the same process only if it started when the worker's did
    # (names without a start time, from before it was recorded, are taken at their word).
    started = rest[0] if len(rest) > 2 else ""
    return bool(started) and _started(pid) not in ("", started)
