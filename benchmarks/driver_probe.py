"""``python benchmarks/driver_probe.py <overrides>``: ``python -m paysim_runner <overrides>`` in this
process, printing at exit one line of the driver's own figures, for benchmarks/runner.py:

    driver probe: peak_rss_kib=N write_seconds=S bytes=B rows=R

``peak_rss_kib`` is ``getrusage(RUSAGE_SELF).ru_maxrss``: the peak resident memory of this process
alone, the driver, exact (the kernel's high-water mark, read after the sweep). Not
``RUSAGE_CHILDREN``, which reports the largest of the processes the driver waited for, and an
embedded Ray's GCS, raylet and workers are children of the driver; and not sampling
``/proc/<pid>/status`` from outside, which misses whatever happens between the last sample and exit.

``write_seconds``, ``bytes`` and ``rows`` add up every ``storage.write_batch`` call (the driver is the
only writer): seconds in it, and the Parquet bytes and rows of the records it returns.
"""

from __future__ import annotations

import atexit
import resource
import runpy
import sys
import time
from typing import Any

from paysim_runner import storage

_totals = {"write_seconds": 0.0, "bytes": 0, "rows": 0}
_write_batch = storage.write_batch


def _timed_write_batch(*args: Any, **kwargs: Any) -> dict[str, Any]:
    start = time.perf_counter()
    record = _write_batch(*args, **kwargs)
    _totals["write_seconds"] += time.perf_counter() - start
    for file in record["files"].values():
        _totals["bytes"] += file["bytes"]
        _totals["rows"] += file["rows"]
    return record


def _print_probe() -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        f"driver probe: peak_rss_kib={peak} write_seconds={_totals['write_seconds']:.4f} "
        f"bytes={_totals['bytes']} rows={_totals['rows']}",
        file=sys.stderr, flush=True,
    )


if __name__ == "__main__":
    storage.write_batch = _timed_write_batch  # the driver calls storage.write_batch by attribute
    atexit.register(_print_probe)
    runpy.run_module("paysim_runner", run_name="__main__", alter_sys=True)
