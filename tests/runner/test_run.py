"""The task body of every executor as plain functions: run_one against the engine's own figures,
run_batch's files, liquidity bounds, and atomic writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from paysim_runner import _core, storage
from paysim_runner.config import load_config
from paysim_runner.driver import run_sweep
from paysim_runner.run import BatchContext, liquidity_bounds, log_table, run_batch, run_one, with_liquidity
from paysim_runner.sweep import build_plan
from tests.helpers import REPO
from tests.helpers.runner import file_bytes, hydra_config, small_sweep


def _plan(tmp_path: Path, *extra: str):
    return build_plan(small_sweep(tmp_path, *extra))


def test_run_one_reports_the_engines_own_metrics_and_logs(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    cell, run = plan.cells[1], plan.runs[4]
    assert run.cell_id == cell.cell_id == 1
    out = run_one(plan.engine_configs[1], run, cell, sweep=plan.name)

    reference = _core.Orchestrator.new({**plan.engine_configs[1], "rng_seed": run.seed})
    reference.run()
    expected = reference.metrics()
    for name in _core.METRIC_NAMES:
        if name == "engine_seconds":
            assert out.row[name] > 0
        elif name == "engine_version":
            assert out.row[name] == expected[name] == _core.ENGINE_VERSION
        else:
            assert out.row[name] == expected[name], name
    assert {k: out.row[k] for k in ("run_id", "sweep", "cell_id", "cell", "lsm_mode", "policy", "seed", "rep")} == {
        "run_id": run.run_id, "sweep": "lsm_vs_fifo", "cell_id": 1, "cell": "lsm_mode=t2,policy=fifo",
        "lsm_mode": "t2", "policy": "fifo", "seed": run.seed, "rep": run.rep,
    }

    ids = reference.get_agent_ids()
    tick_log = reference.tick_log()
    ticks = out.ticks
    assert ticks.column_names[:3] == ["run_id", "cell_id", "rep"]
    assert ticks.num_rows == len(tick_log["tick"]) == 100 * len(ids)
    assert ticks["bank"].to_pylist() == [ids[i] for i in tick_log["bank"]]
    for name in ("tick", "balance", "queue2_value", "cost_delay"):
        assert np.array_equal(ticks[name].to_numpy(), tick_log[name])

    tx_log = reference.transaction_log()
    tx = out.transactions
    assert tx.num_rows == len(tx_log["tx_id"])
    assert tx["sender"].to_pylist() == [ids[i] for i in tx_log["sender"]]
    assert tx["status"].to_pylist() == [_core.STATUS_NAMES[c] for c in tx_log["status"]]
    via = [None if c == 0 else _core.SETTLED_VIA_NAMES[c] for c in tx_log["settled_via"]]
    assert tx["settled_via"].to_pylist() == via
    assert tx["settle_tick"].to_pylist() == [None if t == -1 else t for t in tx_log["settle_tick"]]
    assert tx["drop_reason"].null_count == int(np.sum(tx_log["drop_reason"] == 0))
    # the row's counts agree with its own transaction log
    settled = tx.filter(pc.equal(tx["status"], "settled"))
    assert settled.num_rows == out.row["n_settled"]
    assert pc.sum(settled["amount"]).as_py() == out.row["value_settled"]


def test_run_one_can_skip_logs(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    out = run_one(plan.engine_configs[0], plan.runs[0], plan.cells[0], sweep=plan.name, ticks=False, transactions=False)
    assert out.ticks is None
    assert out.transactions is None
    assert out.row["n_payments"] > 0


@pytest.mark.parametrize(("override", "logged_per_day"), [
    ("+scenario.tick_log.at=day_end", 1),
    ("+scenario.tick_log.every=30", 4),  # ticks 29, 59, 89 and the day's last, 99
    ("+sweep.fixed.tick_log.every=30", 4),
])
def test_a_sampled_tick_log_writes_fewer_ticks_rows_and_the_same_transactions(
    tmp_path: Path, override: str, logged_per_day: int
) -> None:
    """docs/semantics.md#tick-log-sampling through the runner: set in the scenario (or a sweep), the
    `ticks` Parquet table has rows only at the logged ticks; per-day flows, the transactions table and
    every metric are those of the full log."""
    full_plan, plan = _plan(tmp_path), _plan(tmp_path, override)
    full_dir, sampled_dir = tmp_path / "full", tmp_path / "sampled"
    runs = plan.batches()[0]
    storage.write_batch(full_dir, 0, run_batch(BatchContext.from_plan(full_plan), 0, runs).tables)
    storage.write_batch(sampled_dir, 0, run_batch(BatchContext.from_plan(plan), 0, runs).tables)
    read = {d: {t: pq.read_table(storage.batch_file(d, t, 0)) for t in storage.TABLES} for d in (full_dir, sampled_dir)}
    full, sampled = read[full_dir], read[sampled_dir]
    n_banks = len(plan.engine_configs[0]["agent_configs"])
    assert full["ticks"].num_rows == len(runs) * 100 * n_banks
    assert sampled["ticks"].num_rows == len(runs) * logged_per_day * n_banks
    assert sampled["transactions"].equals(full["transactions"])
    assert sampled["runs"].drop_columns(["engine_seconds"]).equals(full["runs"].drop_columns(["engine_seconds"]))
    flows = ["value_sent", "value_received", "settled_rtgs", "settled_queue", "settled_bilateral",
             "settled_multilateral", "settled_eod_borrowing"]

    def per_run_bank(t: pa.Table) -> pa.Table:
        sums = t.group_by(["run_id", "bank"]).aggregate([(c, "sum") for c in flows])
        return sums.sort_by([("run_id", "ascending"), ("bank", "ascending")])

    assert per_run_bank(sampled["ticks"]).equals(per_run_bank(full["ticks"]))
    cost = pc.sum(sampled["ticks"]["cost_delay"]).as_py()
    assert cost == pytest.approx(pc.sum(full["ticks"]["cost_delay"]).as_py(), rel=1e-9)


@pytest.mark.parametrize("scenario", ["two_bank", "ten_bank", "fifty_bank_core_periphery", "gridlock_ring"])
@pytest.mark.parametrize("policy", ["deadline", "splitting"])
def test_per_bank_liquidity_bounds_are_the_engines_whatever_the_policy(scenario: str, policy: str) -> None:
    """The bounds of the replay (Fifo, no LSM) are the engine's own per-bank bounds of the cell's
    run under its real policy and LSM: they depend on the payment stream only."""
    cfg = hydra_config(f"scenario={scenario}", "seeds=2", f"policy={policy}")
    if scenario != "gridlock_ring":  # its payments are scheduled, with no arrival_config to edit
        cfg["sweep"]["fixed"] = {"agents.*.arrival_config.divisible": True}  # splitting really splits
    plan = build_plan(cfg)
    for run in plan.runs:
        config = {**plan.engine_configs[0], "rng_seed": run.seed}
        lower, upper = liquidity_bounds(config)
        orch = _core.Orchestrator.new(config)
        orch.run()
        own = orch.liquidity_bounds()
        assert list(lower) == list(upper) == orch.get_agent_ids()
        assert (list(lower.values()), list(upper.values())) == (own["lower"], own["upper"])
        m = orch.metrics()
        assert sum(lower.values()) == m["liquidity_lower_bound"]
        assert sum(upper.values()) == m["liquidity_upper_bound"]
        assert all(0 <= lower[b] <= upper[b] for b in lower)


def test_liquidity_fraction_spans_the_leinonen_soramaki_bounds(tmp_path: Path) -> None:
    """At the upper bound nothing waits; at the lower bound the EOD multilateral LSM settles all."""
    plan = build_plan(hydra_config("+sweep=liquidity_delay", "seeds=2", "sweep.axes.liquidity_fraction=[0.0,1.0]"))
    by_label = {c.label: c for c in plan.cells}

    def metrics(label: str, rep: int) -> dict[str, Any]:
        cell = by_label[label]
        run = next(r for r in plan.runs if r.cell_id == cell.cell_id and r.rep == rep)
        return run_one(plan.engine_configs[cell.cell_id], run, cell, sweep=plan.name,
                       liquidity_fraction=plan.liquidity_fractions[cell.cell_id], ticks=False,
                       transactions=False).row

    for rep in range(2):
        top = metrics("liquidity_fraction=1.0,lsm_mode=none", rep)
        assert top["delay_indicator"] == 0.0
        assert top["settlement_rate"] == 1.0
        bottom = metrics("liquidity_fraction=0.0,lsm_mode=t2", rep)
        assert bottom["settlement_rate"] == 1.0
        assert bottom["delay_indicator"] > 0
        gross = metrics("liquidity_fraction=0.0,lsm_mode=none", rep)
        assert gross["delay_indicator"] >= bottom["delay_indicator"]


def test_with_liquidity_opens_banks_between_their_bounds(tmp_path: Path) -> None:
    config = {**_plan(tmp_path).engine_configs[0], "rng_seed": 11}
    lower, upper = liquidity_bounds(config)
    half = with_liquidity(config, 0.5)
    for agent in half["agent_configs"]:
        assert agent["credit_limit"] == 0
        assert lower[agent["id"]] <= agent["opening_balance"] <= upper[agent["id"]]
        assert agent["opening_balance"] == lower[agent["id"]] + round(0.5 * (upper[agent["id"]] - lower[agent["id"]]))
    assert config["agent_configs"][0]["credit_limit"] == 100000  # the input is untouched


def test_run_batch_returns_its_tables_and_write_batch_records_them(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    sweep_dir = tmp_path / "out"
    ctx = BatchContext.from_plan(plan)
    runs = plan.batches()[1]
    result = run_batch(ctx, 1, runs)
    assert result.summary["batch"] == 1
    assert result.summary["runs"] == len(runs) == 2
    assert set(result.summary) == {"batch", "runs", "engine_seconds", "wall_seconds"}
    assert list(result.tables) == list(storage.TABLES)
    assert not sweep_dir.exists()  # a task writes nothing
    record = storage.write_batch(sweep_dir, 1, result.tables)
    for table in storage.TABLES:
        path = storage.batch_file(sweep_dir, table, 1)
        assert record["files"][table] == {
            "rows": pq.read_metadata(path).num_rows,
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    assert storage.read_batch_record(storage.batch_record_file(sweep_dir, 1)) == record
    assert storage.completed_batches(sweep_dir) == {1}
    runs_table = pq.read_table(storage.batch_file(sweep_dir, "runs", 1))
    assert runs_table.column("run_id").to_pylist() == [r.run_id for r in runs]
    assert runs_table.schema.field("cell_id").type == pa.int32()
    assert runs_table.schema.field("seed").type == pa.int64()
    assert runs_table.schema.field("settlement_rate").type == pa.float64()
    # one type for schema_version everywhere: an int, as metrics() and manifest.versions.schema give it
    assert runs_table.schema.field("schema_version").type == pa.int64()
    assert runs_table.column("schema_version").to_pylist() == [_core.SCHEMA_VERSION] * 2
    assert isinstance(_core.Orchestrator.new(plan.engine_configs[0]).metrics()["schema_version"], int)
    assert storage.versions()["schema"] == _core.SCHEMA_VERSION
    metadata = pq.ParquetFile(storage.batch_file(sweep_dir, "runs", 1)).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"

    # a batch run again gives the same bytes (engine_seconds, a wall-time measure, aside)
    before = {t: storage.batch_file(sweep_dir, t, 1).read_bytes() for t in ("ticks", "transactions")}
    first = runs_table.drop_columns(["engine_seconds"])
    storage.write_batch(sweep_dir, 1, run_batch(ctx, 1, runs).tables)
    assert before == {t: storage.batch_file(sweep_dir, t, 1).read_bytes() for t in ("ticks", "transactions")}
    assert pq.read_table(storage.batch_file(sweep_dir, "runs", 1)).drop_columns(["engine_seconds"]).equals(first)
    assert not [p for p in sweep_dir.rglob("*") if p.name.startswith(".")]


def test_a_task_carries_only_its_own_cells(tmp_path: Path) -> None:
    """Each Ray task gets the engine dicts of its batch's cells, not the whole grid's, and gives
    the same tables as with the full context."""
    plan = _plan(tmp_path, "sweep.axes.policy=[fifo,deadline,liquidity_aware]", "seeds=2", "batch_size=3")
    full = BatchContext.from_plan(plan)
    for batch, runs in plan.batches().items():
        own = full.for_runs(runs)
        cells = {r.cell_id for r in runs}
        assert set(own.cells) == set(own.engine_configs) == set(own.liquidity_fractions) == cells
        assert len(cells) < len(plan.cells)
        storage.write_batch(tmp_path / "own", batch, run_batch(own, batch, runs).tables)
        storage.write_batch(tmp_path / "full", batch, run_batch(full, batch, runs).tables)
    for table in ("ticks", "transactions"):
        assert file_bytes(tmp_path / "full", table) == file_bytes(tmp_path / "own", table)


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "runs" / "batch=00000" / "part.parquet"

    def half_write(table: pa.Table, where: Any, **kwargs: object) -> None:
        where.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(storage.pq, "write_table", half_write)
    with pytest.raises(KeyboardInterrupt):
        storage.write_parquet_atomic(pa.table({"x": [1]}), target)
    assert list(target.parent.iterdir()) == []


def test_every_output_file_is_0644_and_fsynced_through_one_helper(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet, manifest, report.md, CSVs and PNGs: the same mode whatever the umask, each file
    fsynced before the rename that publishes it."""
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", spy)
    old_umask = os.umask(0o077)
    try:
        result = run_sweep(small_sweep(tmp_path), executor="inline", console=Console(quiet=True))
    finally:
        os.umask(old_umask)
    files = [p for p in result.sweep_dir.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".json", ".parquet", ".md", ".html", ".csv", ".png", ".lock"}
    assert set(result.report.files) <= set(files)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o644" for p in files}
    # every data file was fsynced under its temporary name, which was then renamed to the final one
    # (sweep.lock holds only the driver's pid while it runs)
    published = {Path(s).parent / Path(s).name[1:].rsplit(".", 2)[0] for s in synced}
    assert published >= {p for p in files if p.suffix != ".lock"}


def test_stale_temporaries_are_swept(tmp_path: Path) -> None:
    folder = tmp_path / "ticks" / "batch=00003"
    folder.mkdir(parents=True)
    stale = folder / ".part.parquet.123-abc.tmp"
    stale.write_bytes(b"junk")
    keep = folder / "part.parquet"
    keep.write_bytes(b"data")
    assert storage.remove_stale_temp_files(tmp_path) == [stale]
    assert sorted(os.listdir(folder)) == ["part.parquet"]


def test_a_batch_converts_its_logs_once_as_each_run_alone_would(tmp_path: Path) -> None:
    """log_table joins runs' numpy logs before converting (docs/performance.md#runner); the rows
    are those of each run converted alone, in run order, also when the runs' banks differ (their
    bank indexes are shifted into one id list) and for events naming a bank or none (-1)."""
    stress = (REPO / "conf" / "scenario" / "ten_bank.yaml").read_text() + (
        "events:\n  - {type: outage, bank: BANK_3, start_tick: 10, end_tick: 60}\n"
        "  - {type: transfer, to: BANK_5, amount: 9000, tick: 8}\n"
        "  - {type: arrival_surge, start_tick: 20, end_tick: 30, factor: 2.5}\n"
    )
    (tmp_path / "stress.yaml").write_text(stress)
    plan = build_plan(hydra_config("scenario=two_bank", "seeds=2", f"output_dir={tmp_path}"))
    engines = [load_config(tmp_path / "stress.yaml").to_rust_dict(), plan.engine_configs[0]]
    outputs = [run_one(engine, run, plan.cells[0], sweep=plan.name) for engine in engines for run in plan.runs]
    assert outputs[0].bank_ids != outputs[-1].bank_ids
    for table in ("ticks", "transactions", "events"):
        joined = log_table(table, outputs)
        alone = pa.concat_tables([log_table(table, [o]) for o in outputs])
        assert joined is not None
        assert joined.equals(alone), table
        assert joined.num_rows > 0, table
    assert log_table("events", outputs)["counterparty"].null_count > 0  # the transfer from nobody
