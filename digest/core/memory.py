"""Asking the C allocator to keep the memory a send frees, for the next batch to reuse.

Each batch of a send builds and drops a few megabytes (a provider request of about a
megabyte, the strings it is made of). By default glibc hands the top of its heap back to
the operating system as soon as it is freed, and the next batch then faults the same pages
in again, one page fault for every 4 KiB: 105,000 faults for 100,000 readers on SQLite,
more than half the CPU time the send spent in the kernel (docs/sending.md, "Throughput,
measured").
"""

from __future__ import annotations

import sys

_M_TOP_PAD = -2  # glibc's mallopt parameter: extra memory kept at the top of the heap


def keep_freed_memory(megabytes: int = 16) -> bool:
    """Keep up to `megabytes` of freed heap in the process; False where that cannot be asked.

    Only glibc (Linux) has the knob; elsewhere nothing changes. Peak memory stays the same:
    the kept pages are the ones the next batch would take again.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # loaded only by a send

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_TOP_PAD, megabytes << 20))
