"""The Ray executor: join or start Ray, run each batch as a remote ``run_batch`` task, shut down.

Everything Ray-specific lives here, so the driver (paysim_runner.driver) sees the same interface
from this backend and from the inline one: a description for the user, an iterator of batch
results in completion order, and ``close``. Ray is imported late: the inline executor, the
report and the API never pay its import.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from paysim_runner.config import ConfigError
from paysim_runner.run import BatchContext, BatchResult, BatchResults, RunFailed, run_batch
from paysim_runner.sweep.grid import RunSpec

#: Seconds to wait for a TCP connection to a cluster's GCS before giving up. Ray itself retries an
#: unreachable address for minutes; a closed port should be reported at once.
PROBE_TIMEOUT = 5.0

#: Seconds between looks at the running tasks: a finished batch shows in the progress bar at most
#: this late, and Ctrl-C is noticed within it.
POLL_SECONDS = 0.25

#: Retries of a batch whose worker or node died, before the sweep stops with WorkerLost.
MAX_RETRIES = 3


class RayBackend:
    """A joined Ray. ``owned``: this process started the connection and must end it."""

    def __init__(self, address: str | None, num_cpus: int) -> None:
        self.owned, self.description = connect_ray(address, num_cpus)
        #: Tasks submitted whose result has not been yielded yet (at most ``max_in_flight``).
        self.in_flight = 0

    @staticmethod
    def max_in_flight() -> int:
        """Twice the cluster's CPUs (at least 2): enough to keep every CPU busy while the driver
        writes, few enough that results cannot pile up in the object store or the driver."""
        import ray

        return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]

    def run_batches(self, ctx: BatchContext, todo: Mapping[int, Sequence[RunSpec]]) -> BatchResults:
        """Submit one task per batch (each with only its own cells) and yield each batch's tables,
        through Ray's object store, as it completes. Leaving early, by an error or Ctrl-C, cancels
        every task still running; a run that raised surfaces as the worker's own :class:`RunFailed`."""
        import ray

        remote = _remote_run_batch()
        queue = sorted(todo.items())
        # Each fetched result is yielded (written by the driver) and then dropped.
        limit = self.max_in_flight()
        pending: dict[Any, int] = {}
        try:
            while queue or pending:
                while queue and len(pending) < limit:
                    batch, runs = queue.pop(0)
                    pending[remote.remote(ctx.for_runs(runs), batch, runs)] = batch
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_SECONDS)
                for ref in ready:
                    result = _result(ref, pending.pop(ref))
                    self.in_flight = len(pending) + 1  # the one being handed over counts until it is written
                    yield result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Shut Ray down if this backend started it (stopping the workers first: a live one could
        still leave a temporary file behind); a reused Ray is left running."""
        if self.owned:
            import ray

            ray.shutdown()
            self.owned = False


class WorkerLost(RunFailed):
    """A batch's worker or node died more often than the task's retries allow."""


def _result(ref: Any, batch: int) -> BatchResult:
    import ray

    lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OutOfMemoryError)
    try:
        result: BatchResult = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, RunFailed):
            raise exc.cause from None
        raise
    except lost as exc:
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = type(exc).__name__
        raise WorkerLost(f"batch {batch}: its worker died {MAX_RETRIES + 1} times ({kind}: {what})") from None
    return result


def _remote_run_batch() -> Any:
    import ray

    # max_retries: a worker that dies (OOM, node loss) is retried; the driver writes each batch once.
    return ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(run_batch)


def connect_ray(address: str | None, num_cpus: int) -> tuple[bool, str]:
    """Join Ray: the already-initialised instance, a cluster (address / RAY_ADDRESS, incl. "auto"),
    or a new embedded local one. Returns (whether this call started the connection and should end
    it, a one-line description for the user)."""
    import ray

    if ray.is_initialized():
        return False, "Ray: reusing this process's Ray"
    source = "ray.address" if address else "ray.address (from RAY_ADDRESS)"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        probe_ray_address(address, source)
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
        except ConnectionError as exc:
            hint = "" if os.environ.get("RAY_AUTH_MODE") else (
                "; a cluster with token authentication (the default of `ray start`) needs RAY_AUTH_MODE=token"
            )
            raise ConfigError(source, f"cannot connect to Ray at {address!r} ({exc}){hint}") from None
        cpus = ray.cluster_resources().get("CPU", 0)  # type: ignore[no-untyped-call]  # unannotated in ray
        return True, f"Ray: connected to cluster {address} ({cpus:g} CPUs)"
    # "local": always a new embedded instance, never a stray `ray start` cluster on this machine.
    logging.getLogger(_AUTH_LOGGER).addFilter(_quiet_auth_default)
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    return True, f"Ray: embedded local instance ({num_cpus} CPUs)"


#: The Ray module that announces its token-authentication default at every ``ray.init``.
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def _quiet_auth_default(record: logging.LogRecord) -> bool:
    """Drop Ray's notice that a new local instance uses token authentication, its default since
    2.59: the embedded instance listens on loopback for this process alone, which ends it, so there
    is nothing for the user to act on. Every other message passes, the warning that authentication
    is *disabled* included."""
    return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


def probe_ray_address(address: str, source: str = "ray.address", timeout: float = PROBE_TIMEOUT) -> None:
    """Fail fast, with one line naming ``source``, when nothing listens at a HOST:PORT address.

    ``auto`` is left to Ray (it reads the address of the cluster `ray start` last started here and
    fails at once when there is none).
    """
    if address in ("auto", "local"):
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(source, f"{address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConfigError(
            source, f"cannot reach Ray at {address!r} ({reason}); is the cluster running (`ray start --head`)?"
        ) from None
