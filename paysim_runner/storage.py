"""Sweep storage (docs/runner.md#output-layout): zstd Parquet per batch and table, manifest.json, resume scan.

Layout under ``<output_dir>/<sweep>/``::

    manifest.json
    ticks/batch=00000/part.parquet
    transactions/batch=00000/part.parquet
    events/batch=00000/part.parquet      # scenario events and central-bank loans (often empty)
    runs/batch=00000/part.parquet
    batches/batch=00000.json             # written last: the batch's files, rows and sha256

The driver alone writes (tasks return their tables). Every file is written to a hidden temporary
name in its final folder and then renamed (``os.replace`` is atomic on POSIX), so a reader or a
killed writer never sees a partial file. A batch is complete when its record exists and every file
it names has the recorded size and sha256: a truncated or bit-flipped file makes the batch
incomplete, so a resume recomputes it (docs/runner.md#integrity).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from paysim_runner.sweep.plan import SweepPlan

#: Write order within a batch; its record (under ``RECORDS``) follows and marks it complete.
TABLES = ("ticks", "transactions", "events", "runs")
RECORDS = "batches"
PART_FILE = "part.parquet"
MANIFEST = "manifest.json"
COMPRESSION = "zstd"
_TMP_SUFFIX = ".tmp"

#: Config keys that only say *where/how* to run, not *what*: they may change between a sweep and
#: its resumption without changing a single output row.
EXECUTION_KEYS = frozenset({"executor", "ray", "output_dir", "progress", "report"})


# --- paths -----------------------------------------------------------------------------------------

def batch_name(batch: int) -> str:
    return f"batch={batch:05d}"


def batch_file(sweep_dir: Path, table: str, batch: int) -> Path:
    return sweep_dir / table / batch_name(batch) / PART_FILE


def batch_record_file(sweep_dir: Path, batch: int) -> Path:
    return sweep_dir / RECORDS / f"{batch_name(batch)}.json"


def read_batch_record(path: Path) -> dict[str, Any] | None:
    """A batch record, or None when it is missing or not a record (a torn or edited file)."""
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and isinstance(record.get("batch"), int) and isinstance(record.get("files"), dict)
    return record if ok else None


def damaged_files(sweep_dir: Path, record: Mapping[str, Any]) -> list[str]:
    """The files of a batch record that are missing or differ from it in size or sha256, each as
    "PATH (why)"; empty when the batch is intact."""
    damaged = []
    for table, entry in record["files"].items():
        path = batch_file(sweep_dir, table, record["batch"])
        try:
            data = path.read_bytes()
        except OSError:
            damaged.append(f"{path} (missing)")
            continue
        if len(data) != entry.get("bytes"):
            damaged.append(f"{path} ({len(data)} bytes, recorded {entry.get('bytes')})")
        elif hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            damaged.append(f"{path} (sha256 differs from its batch record)")
    return damaged


def completed_batches(sweep_dir: Path, *, verify: bool = True) -> set[int]:
    """Batches whose record exists and (``verify``) whose files all match it."""
    done: set[int] = set()
    for path in (sweep_dir / RECORDS).glob("batch=*.json"):
        record = read_batch_record(path)
        named_right = record is not None and path.name == f"{batch_name(record['batch'])}.json"
        if record is not None and named_right and (not verify or not damaged_files(sweep_dir, record)):
            done.add(record["batch"])
    return done


def write_batch(sweep_dir: Path, batch: int, tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Write a batch's tables (in ``TABLES`` order) and then its record, each atomically; return
    the record. Called by the driver only, so one process writes a sweep's files."""
    files: dict[str, Any] = {}
    for table in TABLES:
        if table not in tables:
            continue
        buffer = io.BytesIO()
        pq.write_table(tables[table], buffer, compression=COMPRESSION)
        data = buffer.getvalue()
        atomic_write_bytes(batch_file(sweep_dir, table, batch), data)
        files[table] = {"rows": tables[table].num_rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    record = {"batch": batch, "files": files}
    write_json_atomic(record, batch_record_file(sweep_dir, batch))
    return record


def remove_stale_temp_files(sweep_dir: Path) -> list[Path]:
    """Delete temporaries left by a killed writer (a SIGKILL skips every cleanup handler)."""
    removed = []
    if sweep_dir.is_dir():
        for path in sweep_dir.rglob(f".*{_TMP_SUFFIX}"):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# --- atomic writes ---------------------------------------------------------------------------------

#: Mode of every file the runner and the report write, whatever the umask: results are shared data.
FILE_MODE = 0o644


def _temp_path(path: Path) -> Path:
    return path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}"


@contextmanager
def atomic_writer(path: Path, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """A binary file handle whose content appears at ``path`` only if the block completes.

    The data goes to a hidden temporary file in the same folder, is flushed and fsynced, gets
    ``mode`` (0644 unless told), and is renamed over ``path`` (atomic on POSIX): a reader sees the
    old file or the new one, never a partial one. On any exception (Ctrl-C included) the temporary
    file is deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, "xb") as fh:
            os.fchmod(fh.fileno(), mode)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, mode) as fh:
        fh.write(data)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` as zstd Parquet at ``path`` atomically."""
    with atomic_writer(path) as fh:
        pq.write_table(table, fh, compression=COMPRESSION)


def write_json_atomic(obj: Any, path: Path) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


# --- engine log columns -> tidy Arrow columns ------------------------------------------------------

def bank_names(codes: np.ndarray, bank_ids: Sequence[str]) -> pa.Array:
    """Integer bank indexes (engine logs) -> bank id strings."""
    return pa.array(list(bank_ids), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def code_names(codes: np.ndarray, names: Sequence[str], *, none_code: int | None = None) -> pa.Array:
    """uint8 category codes -> strings; ``none_code`` (e.g. 0 = "not settled") becomes null."""
    labels = [None if i == none_code else name for i, name in enumerate(names)]
    return pa.array(labels, pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def minus_one_as_null(values: np.ndarray) -> pa.Array:
    """Tick and parent columns use -1 for "never"/"none"; in Parquet that is a null."""
    values = np.asarray(values)
    return pa.array(values, mask=values == -1)


#: Log columns holding a bank's index into ``get_agent_ids()``; stored as the bank id.
BANK_COLUMNS = frozenset({"bank", "sender", "receiver"})


def transaction_columns(log: Mapping[str, np.ndarray], bank_ids: Sequence[str]) -> dict[str, pa.Array]:
    """The engine's ``transaction_log()`` as tidy columns: bank ids, status/means/reason names (null
    where not applicable: the empty name) and null for -1 ticks and parents. The Parquet
    ``transactions`` table and the REST API's transaction pages both read this way. Which columns
    are codes or nullable comes from the engine (``_core.CODES``, ``_core.SCHEMAS``)."""
    from paysim_runner import _core
    from paysim_runner.schema import nullable_fields

    nullable = nullable_fields("transaction_log")
    columns: dict[str, pa.Array] = {}
    for name, values in log.items():
        if name in BANK_COLUMNS:
            columns[name] = bank_names(values, bank_ids)
        elif name in _core.CODES:
            names = _core.CODES[name]
            columns[name] = code_names(values, names, none_code=names.index("") if "" in names else None)
        elif name in nullable:
            columns[name] = minus_one_as_null(values)
        else:
            columns[name] = pa.array(values)
    return columns


#: Event-log columns holding a bank's index, or -1 for none (a surge on every bank, an injection).
EVENT_BANK_COLUMNS = frozenset({"bank", "counterparty"})


def event_columns(log: Mapping[str, np.ndarray], bank_ids: Sequence[str]) -> dict[str, pa.Array]:
    """The engine's ``event_log()`` as tidy columns: bank ids (null for none), event-type names,
    null for the -1 of nullable columns (``_core.SCHEMAS["event_log"]``, ``_core.CODES``)."""
    from paysim_runner import _core
    from paysim_runner.schema import nullable_fields

    nullable = nullable_fields("event_log")
    ids = pa.array(list(bank_ids), pa.string())
    columns: dict[str, pa.Array] = {}
    for name, values in log.items():
        if name in EVENT_BANK_COLUMNS:
            codes = np.asarray(values, dtype=np.int64)
            columns[name] = ids.take(pa.array(codes, mask=codes == -1))
        elif name in _core.CODES:
            columns[name] = code_names(values, _core.CODES[name])
        elif name in nullable:
            columns[name] = minus_one_as_null(values)
        else:
            columns[name] = pa.array(values)
    return columns


# --- manifest --------------------------------------------------------------------------------------

def versions() -> dict[str, str | int]:
    """Versions of everything that can change a number in the outputs."""
    import duckdb
    import ray

    from paysim_runner import _core

    return {
        "paysim": package_version(),
        "engine": str(_core.ENGINE_VERSION),
        "schema": int(_core.SCHEMA_VERSION),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "pyarrow": pa.__version__,
        "duckdb": duckdb.__version__,
    }


def package_version() -> str:
    try:
        return metadata.version("paysim-runner")
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(repo: Path, *args: str) -> str | None:
    """stdout of ``git -C repo args``, or None outside a git checkout (or without git)."""
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(repo: Path) -> str | None:
    """HEAD of the repo the runner runs from, or None outside a git checkout."""
    out = _git(repo, "rev-parse", "HEAD")
    return (out or "").strip() or None


def git_dirty(repo: Path) -> bool | None:
    """Whether tracked files differ from HEAD (then git_commit alone does not pin the code); None
    outside a git checkout."""
    out = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out.strip())


def build_manifest(plan: SweepPlan, config: Mapping[str, Any], repo: Path,
                   command: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """manifest.json (keys: docs/runner.md#manifest): what was run, with which code, and every run's seed.
    ``command`` says how it was started (None from Python); it is not part of the plan's fingerprint,
    so a resume under another spelling of the same sweep is still a resume."""
    return {
        "sweep": plan.name,
        "created_by": f"paysim_runner {package_version()}",
        "git_commit": git_commit(repo),
        "git_dirty": git_dirty(repo),
        "versions": versions(),
        "root_seed": plan.root_seed,
        "replications": plan.replications,
        "grid_axes": plan.grid_columns,
        "axes": {a.column: list(a.values) for a in plan.axes},
        "axis_keys": {a.column: a.key for a in plan.axes},
        "compare": plan.compare,
        "batch_size": plan.batch_size,
        "cells": [
            {"cell_id": c.cell_id, "cell": c.label, "params": c.params,
             "engine_config_sha256": plan.engine_config_sha256(c.cell_id)}
            for c in plan.cells
        ],
        "policy_files": plan.policy_files,
        "input_files": input_file_hashes(plan),
        "plots": plan.plots,
        "runs": [
            {"run_id": r.run_id, "cell_id": r.cell_id, "rep": r.rep, "seed": r.seed, "batch": r.batch}
            for r in plan.runs
        ],
        "config": dict(config),
        "command": dict(command) if command is not None else None,
    }


def input_file_hashes(plan: SweepPlan) -> dict[str, str]:
    """{absolute path: sha256} of every data file the cells read (``scheduled_payments_file``): the
    engine config names a file, not its rows, so an edited CSV would otherwise resume silently."""
    paths = sorted({str(e["scheduled_payments_file"]) for e in plan.engine_configs.values()
                    if e.get("scheduled_payments_file")})
    return {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in paths}


def plan_fingerprint(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest parts that decide the output rows; a resume must match them exactly."""
    keys = ("sweep", "root_seed", "replications", "grid_axes", "axes", "compare", "cells", "policy_files", "runs")
    out = {k: manifest.get(k) for k in keys}
    out["input_files"] = manifest.get("input_files") or {}  # absent before input hashes were recorded
    vers = manifest.get("versions") or {}
    out["engine"] = (vers.get("engine"), vers.get("schema"))
    out["config"] = what_is_run(manifest.get("config") or {})
    return out


def what_is_run(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config without the keys that change how or where a sweep runs, not its rows: the
    EXECUTION_KEYS, which figures to draw (``sweep.plot``) and the folder's name (``sweep.folder``)."""
    out = {k: v for k, v in config.items() if k not in EXECUTION_KEYS}
    sweep = out.get("sweep")
    if isinstance(sweep, Mapping):
        out["sweep"] = {k: v for k, v in sweep.items() if k not in ("plot", "folder")}
    return out


def config_id(config: Mapping[str, Any]) -> str:
    """8 hex digits of the sha256 of :func:`what_is_run` as canonical JSON: names the results
    folder, so the same command finds its folder again (resume) and another scenario, seed count or
    override gets a folder of its own. Data files and policy files are checked by content instead
    (the manifest), so editing one is refused, not silently given a new folder."""
    canonical = json.dumps(what_is_run(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def fingerprint_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two sweeps, most specific first: the cells whose engine config changed
    (say, an edited conf/policy file), then other keys."""
    a, b = plan_fingerprint(old), plan_fingerprint(new)
    diffs: list[str] = []
    old_cells = {c.get("cell_id"): c for c in a["cells"] or [] if isinstance(c, Mapping)}
    for cell in b["cells"] or []:
        before = old_cells.get(cell["cell_id"])
        if before is not None and before.get("cell") == cell["cell"] and before != cell:
            diffs.append(f"the engine config of cell {cell['cell']}")
    pa_, pb = a["policy_files"], b["policy_files"]
    by_file = isinstance(pa_, Mapping) and isinstance(pb, Mapping)
    if by_file:
        diffs += [f"conf/policy/{n}.yaml" for n in sorted(set(pa_) | set(pb)) if pa_.get(n) != pb.get(n)]
    ia, ib = a["input_files"], b["input_files"]
    if isinstance(ia, Mapping) and isinstance(ib, Mapping):
        diffs += [f"the contents of {f}" for f in sorted(set(ia) | set(ib)) if ia.get(f) != ib.get(f)]
    specific = bool(diffs)
    diffs += [
        k for k in a
        if k not in ("config", "input_files") and a[k] != b[k] and not (k == "cells" and specific)
        and not (k == "policy_files" and by_file)
    ]
    ca, cb = a["config"], b["config"]
    diffs += [f"config.{k}" for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)]
    return diffs


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``; None if there is none, and ``{}`` if it cannot be read or is not a
    JSON object (a damaged manifest matches no sweep)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def list_outputs(sweep_dir: Path, tables: Iterable[str] = TABLES) -> dict[str, int]:
    """Parquet file count per table folder, for the closing summary."""
    return {t: len(list((sweep_dir / t).glob(f"batch=*/{PART_FILE}"))) for t in tables}
