"""The send asks glibc to keep freed memory: a batch's megabytes are not faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from digest.core.memory import keep_freed_memory

# Builds and drops a request-sized body many times, as a send does per batch; prints the
# minor page faults it took.
_CHURN = """
import resource, sys
from digest.core.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
parts = [str(i) * 300 for i in range(3000)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    body = ", ".join(p + "," for p in parts).encode()
    del body
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_kept_memory_is_reused_instead_of_faulted_in_again() -> None:
    assert keep_freed_memory() is True
    plain, kept = _faults("plain"), _faults("keep")
    # 50 rounds of about 2 MB: plainly hundreds of faults each; kept, nearly none.
    assert plain > 5000, plain
    assert kept < plain / 10, (kept, plain)
