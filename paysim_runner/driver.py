"""The driver of a sweep: validate, decide the output folder, run the missing batches on an
executor, follow them with a progress bar, report, and say what was written (docs/runner.md).

Two executors run the batches, both calling the same :func:`paysim_runner.run.run_batch`, which
returns the batch's tables; the driver alone writes them (:func:`paysim_runner.storage.write_batch`),
so both executors give the same bytes (the wall-clock ``engine_seconds`` column aside) and no
worker needs to see ``output_dir``:

- ``"ray"`` (the default): one Ray task per batch (paysim_runner.ray_backend), on an embedded
  local Ray or a cluster;
- ``"inline"``: the batches one after another in this process, with no Ray at all, as Mesa's
  ``batch_run`` runs inline with one process. For tests, debugging (a breakpoint in a run just
  works) and machines where starting Ray costs more than the sweep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from paysim_runner import storage
from paysim_runner.config import CONF_DIR, ConfigError
from paysim_runner.run import BatchContext, BatchResult, BatchResults, run_batch
from paysim_runner.sweep.grid import RunSpec
from paysim_runner.sweep.plan import SweepPlan, build_plan
from paysim_runner.sweep.resources import check_memory
from paysim_runner.sweep.spec import Executor
from paysim_runner.sweep_lock import LOCK_FILE, SweepLock

#: The git checkout the manifest's ``git_commit`` / ``git_dirty`` describe: the code that runs.
PACKAGE_DIR = Path(__file__).resolve().parent


# --- validation and the output folder -------------------------------------------------------------

def prepare(config: Mapping[str, Any], conf_dir: Path = CONF_DIR, command: Mapping[str, Any] | None = None,
            ) -> tuple[SweepPlan, Path, dict[str, Any]]:
    """Validate everything and decide the output folder; writes nothing (ConfigError on any problem).
    ``command`` is how the sweep was started (the manifest's ``command``; None from Python)."""
    plan = build_plan(config, conf_dir)
    check_memory(plan)
    sweep_dir = results_folder(config, plan.name)
    check_output_dir(sweep_dir)
    manifest = storage.build_manifest(plan, config, PACKAGE_DIR, command)
    check_folder_holds(sweep_dir, manifest)
    return plan, sweep_dir, manifest


def results_folder(config: Mapping[str, Any], name: str) -> Path:
    """``<output_dir>/<sweep.folder>`` if the user named it, else ``<output_dir>/<name>-<config id>``:
    a sweep of another scenario or seed count gets its own folder instead of a "different sweep"
    refusal, and the same command finds its folder again to resume."""
    folder = _named_folder(config) or f"{name}-{storage.config_id(config)}"
    return Path(str(config["output_dir"])).expanduser().resolve() / folder


def _named_folder(config: Mapping[str, Any]) -> str | None:
    folder = (config.get("sweep") or {}).get("folder")
    return str(folder) if folder else None


def link_latest(sweep_dir: Path, name: str) -> None:
    """Point ``<output_dir>/<name>`` at ``sweep_dir`` (a relative symlink, replaced atomically), so
    ``paysim report results/<name>`` reads the latest such sweep. A real file or folder of that name
    (one named by ``sweep.folder``, or a sweep of an older paysim) is left alone."""
    link = sweep_dir.parent / name
    if link == sweep_dir or (link.exists() and not link.is_symlink()):
        return
    temp = link.with_name(f".{name}.link-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    temp.symlink_to(sweep_dir.name, target_is_directory=True)
    os.replace(temp, link)


def check_folder_holds(sweep_dir: Path, manifest: Mapping[str, Any]) -> None:
    """The sweep folder must be new, empty, or hold this very sweep (ConfigError otherwise)."""
    old = storage.read_manifest(sweep_dir / storage.MANIFEST)
    if old is not None:
        diffs = storage.fingerprint_differences(old, manifest) if old else ["manifest.json unreadable"]
        if diffs:
            raise ConfigError(
                "output_dir",
                f"{sweep_dir} holds a different sweep (differs in {', '.join(diffs[:5])}); "
                "use another output_dir or sweep.folder, or delete that folder",
            )
    elif sweep_dir.exists() and any(p.name != LOCK_FILE for p in sweep_dir.iterdir()):
        raise ConfigError("output_dir", f"{sweep_dir} exists, is not empty and has no manifest.json")


def check_output_dir(sweep_dir: Path) -> None:
    """The sweep folder, or the deepest part of its path that exists, must be a writable directory.

    Checked before Ray starts, so a typo costs no start-up; ``create_output_dir`` still turns any
    later OSError into the same one-line error.
    """
    existing = sweep_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError("output_dir", f"{existing} is not a directory")
    try:  # an unnamed file (O_TMPFILE where available), gone when closed: nothing is left behind
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError("output_dir", f"cannot write in {existing} ({exc.strerror or exc})") from None


def create_output_dir(sweep_dir: Path, manifest: Mapping[str, Any], latest: str | None = None) -> None:
    """Create the sweep folder, sweep away a killed writer's temporaries, write manifest.json and
    point the link ``latest`` (if given) at the folder."""
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        storage.remove_stale_temp_files(sweep_dir)
        storage.write_json_atomic(manifest, sweep_dir / storage.MANIFEST)
        if latest is not None:
            link_latest(sweep_dir, latest)
    except OSError as exc:
        where = exc.filename or sweep_dir
        raise ConfigError("output_dir", f"cannot write {where} ({exc.strerror or exc})") from None


# --- executors -------------------------------------------------------------------------------------

class Backend(Protocol):
    """What the driver needs of an executor (paysim_runner.ray_backend.RayBackend, InlineBackend)."""

    description: str

    def run_batches(self, ctx: BatchContext, todo: Mapping[int, Sequence[RunSpec]]) -> BatchResults: ...

    def close(self) -> None: ...


class InlineBackend:
    """The batches in batch order, in this process: no Ray, no workers, nothing to shut down."""

    description = "inline: batches run one after another in this process (no Ray)"

    def run_batches(self, ctx: BatchContext, todo: Mapping[int, Sequence[RunSpec]]) -> BatchResults:
        for batch, runs in sorted(todo.items()):
            yield run_batch(ctx, batch, runs)

    def close(self) -> None:
        pass


def open_backend(executor: Executor, config: Mapping[str, Any]) -> Backend:
    """Start the executor; for Ray this joins or starts it (a ConfigError if unreachable)."""
    if executor == "inline":
        return InlineBackend()
    from paysim_runner.ray_backend import RayBackend

    ray_cfg = config.get("ray") or {}
    return RayBackend(ray_cfg.get("address"), int(ray_cfg.get("num_cpus", 2)))


# --- the sweep -------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    sweep_dir: Path
    total_runs: int
    skipped_runs: int
    executed_runs: int
    wall_seconds: float
    engine_seconds: float
    ray_start_seconds: float = 0.0
    run_seconds: float = 0.0
    report: Any = None
    report_error: str | None = None
    written: list[Path] = field(default_factory=list)


@dataclass
class ExecTiming:
    engine_seconds: float = 0.0  # sum of the runs' own engine_seconds
    ray_start_seconds: float = 0.0  # joining or starting Ray (0 inline)
    run_seconds: float = 0.0  # first submission to last batch written


def run_sweep(
    config: Mapping[str, Any],
    *,
    conf_dir: Path = CONF_DIR,
    console: Console | None = None,
    executor: Executor | None = None,
    command: Mapping[str, Any] | None = None,
) -> SweepResult:
    """The main job: validate, start the executor, write the manifest, run missing batches, report.

    ``executor`` overrides the config's ``executor`` key ("ray" unless set) and is recorded in the
    manifest like it; it says how the sweep runs, not what, so a sweep started on one executor
    resumes on the other. ``command`` (the Hydra app's command line, overrides and config groups)
    goes into the manifest for the report; a resume records its own. Nothing is created on disk
    until the sweep is valid and Ray (if used) is reachable, so a bad config or an unreachable
    cluster leaves no half-made output folder behind.
    """
    if executor is not None:
        config = {**config, "executor": executor}
    console = console or Console()
    started = time.perf_counter()
    plan, sweep_dir, manifest = prepare(config, conf_dir, command)
    todo = missing_batches(plan, sweep_dir)
    total = len(plan.runs)
    skipped = total - sum(len(runs) for runs in todo.values())
    timing = ExecTiming()
    backend: Backend | None = None
    chosen: Executor = config.get("executor") or "ray"
    if todo:
        start = time.perf_counter()
        backend = open_backend(chosen, config)
        timing.ray_start_seconds = time.perf_counter() - start
    lock: SweepLock | None = None
    try:
        lock = SweepLock(sweep_dir)  # before any clean-up: another driver's temporaries are not stale
        check_folder_holds(sweep_dir, manifest)  # the folder may have changed hands before we held it
        todo = missing_batches(plan, sweep_dir)
        skipped = total - sum(len(runs) for runs in todo.values())
        create_output_dir(sweep_dir, manifest, latest=None if _named_folder(config) else plan.name)
        _announce(console, plan, sweep_dir, skipped)
        if backend is not None:
            console.print(backend.description, highlight=False)
            _execute(plan, sweep_dir, todo, skipped, backend, bool(config.get("progress", True)), console, timing)
    except BaseException:
        if backend is not None:  # stop the workers first: a live one could still leave a temporary file behind
            backend.close()
            backend = None
        if lock is not None:  # only the holder may clean: unheld, the temporaries are another driver's
            storage.remove_stale_temp_files(sweep_dir)
            lock.release()
        raise
    finally:
        if backend is not None:
            backend.close()
    try:
        wall = time.perf_counter() - started
        result = SweepResult(
            sweep_dir, total, skipped, total - skipped, wall, timing.engine_seconds, timing.ray_start_seconds,
            timing.run_seconds,
        )
        if todo:
            _print_timing(console, chosen, total - skipped, wall, timing)
        if config.get("report", True):  # the report writes into the folder too: still under the lock
            result.report = _report(sweep_dir, console, result)
        result.written = _print_written(sweep_dir, result.report, console)
    finally:
        lock.release()
    return result


def _announce(console: Console, plan: SweepPlan, sweep_dir: Path, skipped: int) -> None:
    """One line: what the sweep is, where it goes, and how much a resume skips."""
    console.print(
        f"[bold]{plan.name}[/]: {len(plan.cells)} cells x {plan.replications} seeds = {len(plan.runs)} runs "
        f"in {len(plan.batches())} batches -> {escape(str(sweep_dir))}"
        + (f" (resuming: {skipped} runs already done)" if skipped else ""),
        soft_wrap=True,
    )


def missing_batches(plan: SweepPlan, sweep_dir: Path) -> dict[int, list[RunSpec]]:
    """The batches of ``plan`` whose runs file is not in ``sweep_dir`` yet (all of them for a new
    sweep): a resumed sweep runs only these."""
    done = storage.completed_batches(sweep_dir) if sweep_dir.is_dir() else set()
    return {b: runs for b, runs in plan.batches().items() if b not in done}


def _execute(
    plan: SweepPlan,
    sweep_dir: Path,
    todo: dict[int, list[RunSpec]],
    skipped: int,
    backend: Backend,
    show_progress: bool,
    console: Console,
    timing: ExecTiming,
) -> None:
    """Run the missing batches on ``backend`` and follow them with a progress bar."""
    start = time.perf_counter()
    ctx = BatchContext.from_plan(plan)
    try:
        results_in_order = contextlib.closing(backend.run_batches(ctx, todo))
        with _progress_bar(console, show_progress) as progress, results_in_order as results:
            task = progress.add_task(plan.name, total=len(plan.runs), completed=skipped)
            for result in results:
                _write(plan, sweep_dir, result)
                timing.engine_seconds += result.summary["engine_seconds"]
                progress.advance(task, result.summary["runs"])
    except KeyboardInterrupt:
        done = len(storage.completed_batches(sweep_dir))
        console.print(
            f"[yellow]interrupted[/]: {done} of {len(plan.batches())} batches complete in "
            f"{escape(str(sweep_dir))}; run the same command again to resume"
        )
        raise
    timing.run_seconds = time.perf_counter() - start


def _write(plan: SweepPlan, sweep_dir: Path, result: BatchResult) -> None:
    """Write one batch; a full disk (or any OSError) is one line saying what is safe, not a traceback.
    The atomic writer has already removed its temporary file, so the folder holds complete batches."""
    try:
        storage.write_batch(sweep_dir, result.summary["batch"], result.tables)
    except OSError as exc:
        done = len(storage.completed_batches(sweep_dir))
        raise ConfigError(
            "output_dir", f"cannot write {exc.filename or sweep_dir} ({exc.strerror or exc}); {done} of "
            f"{len(plan.batches())} batches complete, free space and run the same command again to resume",
        ) from None


def _progress_bar(console: Console, show: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
        transient=False,
    )


def _print_timing(console: Console, executor: Executor, runs: int, wall: float, timing: ExecTiming) -> None:
    """One line of where the time went (benchmarks/runner.py parses the Ray form)."""
    phases = (
        f"Ray start-up {timing.ray_start_seconds:.1f} s, runs {timing.run_seconds:.1f} s" if executor == "ray"
        else f"inline, runs {timing.run_seconds:.1f} s"
    )
    console.print(
        f"ran {runs} runs in {wall:.1f} s wall ({phases}); engine time {timing.engine_seconds:.1f} s "
        f"({100 * timing.engine_seconds / wall:.0f}% of wall)",
        soft_wrap=True,
    )


# --- after the runs --------------------------------------------------------------------------------

def _report(sweep_dir: Path, console: Console, result: SweepResult) -> Any:
    """The DuckDB report (paysim_runner.report), imported late so the runner works without it.

    A failing report must not hide that the runs are complete and where they are, so its error is
    recorded on ``result`` (the CLI exits non-zero) and the written paths are still printed.
    """
    try:
        from paysim_runner.report import build_report
    except ImportError as exc:
        result.report_error = f"report unavailable: {exc}"
        console.print(f"[yellow]{result.report_error}[/]", soft_wrap=True)
        return None
    try:
        return build_report(sweep_dir, console)
    except Exception as exc:
        result.report_error = f"report failed: {type(exc).__name__}: {exc}"
        console.print(f"[red]{result.report_error}[/] (rebuild it with `paysim report {sweep_dir}`)", soft_wrap=True)
        return None


def _print_written(sweep_dir: Path, report: Any, console: Console) -> list[Path]:
    written = [sweep_dir / storage.MANIFEST]
    console.print("[bold]written:[/]")
    console.print(f"  {sweep_dir / storage.MANIFEST}", soft_wrap=True)
    for table, count in storage.list_outputs(sweep_dir).items():
        if count:
            console.print(f"  {sweep_dir / table}/batch=*/{storage.PART_FILE}  ({count} files)", soft_wrap=True)
            written.append(sweep_dir / table)
    for path in getattr(report, "files", None) or []:
        console.print(f"  {path}", soft_wrap=True)
        written.append(Path(path))
    return written


def install_sigterm_handler() -> None:
    """Treat SIGTERM like Ctrl-C so a terminated driver cancels its tasks and cleans up."""

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)
