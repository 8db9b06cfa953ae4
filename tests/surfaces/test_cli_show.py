"""``paysim show RESULTS_DIR RUN_ID`` (issue 14): one run's figures, and its banks' intraday balance
and queue curves drawn into a PNG with the same bytes every time. The real console script over a
real sweep."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.surfaces import assert_one_line_error, ok_json, two_banks

Run = Callable[..., subprocess.CompletedProcess[str]]

#: The PNG's size in pixels: paysim_runner.cli.show's 9 x 8 inches at 100 dpi.
SIZE = (900, 800)
BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)  # the first two banks' colours (tab10)


def _colours(path: Path) -> set[tuple[int, ...]]:
    with Image.open(path) as image:
        assert image.size == SIZE
        return {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 20) or [] if isinstance(rgb, tuple)}


def test_show_prints_the_runs_row_and_writes_its_curves(paysim: Run, sweep_dir: Path) -> None:
    (row,) = ok_json(paysim("sql", sweep_dir, "SELECT * FROM runs WHERE run_id = 'c0001-r0002'", "--json"))
    shown = ok_json(paysim("show", sweep_dir, "c0001-r0002", "--json"))
    assert shown["run"] == row
    banks = shown["banks"]
    assert [b["bank"] for b in banks] == sorted(["BANK_A", "BANK_B"], key=lambda b: -next(
        x["liquidity_used"] for x in banks if x["bank"] == b))  # largest users of liquidity first
    assert sum(b["liquidity_used"] for b in banks) == row["liquidity_used"]  # the run's figure, bank by bank
    assert all(b["opening_balance"] == 30_000 for b in banks)  # the scenario's opening balance, recovered
    png = sweep_dir / "show_c0001-r0002.png"
    assert shown["png"] == str(png)
    colours = _colours(png)
    assert BLUE in colours  # both banks' curves are drawn
    assert ORANGE in colours
    first = png.read_bytes()
    text = paysim("show", sweep_dir, "c0001-r0002")
    assert text.returncode == 0, text.stderr
    assert png.read_bytes() == first  # the same run draws the same bytes
    for figure in ("settlement_rate", "delay_indicator", "liquidity_used", "cost_total", f"{row['liquidity_used']:,}"):
        assert figure in text.stdout
    assert str(png) in text.stdout


@pytest.mark.parametrize("run_id", ["c0000-r0000", "c0001-r0001"])
def test_every_run_sums_its_banks_liquidity(paysim: Run, sweep_dir: Path, run_id: str) -> None:
    shown = ok_json(paysim("show", sweep_dir, run_id, "--json", "--png", "p.png"))
    assert sum(b["liquidity_used"] for b in shown["banks"]) == shown["run"]["liquidity_used"]


def test_tick_0_transfers_do_not_move_the_opening_balance(paysim: Run, transfer_dir: Path) -> None:
    """A transfer and an injection at tick 0 change tick 0's balances before any payment; the opening
    balance is the scenario's all the same, and the banks' shares still sum to the run's figure."""
    moved = ok_json(paysim("sql", transfer_dir, "SELECT event_type, tick FROM events ORDER BY ALL", "--json"))
    assert {(e["event_type"], e["tick"]) for e in moved} == {("transfer", 0), ("injection", 0)}
    shown = ok_json(paysim("show", transfer_dir, "c0000-r0000", "--json", "--png", "t.png"))
    assert sorted((b["bank"], b["opening_balance"]) for b in shown["banks"]) == [("BANK_A", 30_000), ("BANK_B", 30_000)]
    assert sum(b["liquidity_used"] for b in shown["banks"]) == shown["run"]["liquidity_used"]


def test_chosen_banks_and_path(paysim: Run, sweep_dir: Path, tmp_path: Path) -> None:
    shown = ok_json(paysim("show", sweep_dir, "c0000-r0001", "--bank", "BANK_B", "--png", "b.png", "--json"))
    assert [b["bank"] for b in shown["banks"]] == ["BANK_B"]
    colours = _colours(tmp_path / "b.png")
    assert BLUE in colours  # one bank: one curve colour
    assert ORANGE not in colours
    both = ok_json(paysim("show", sweep_dir, "c0000-r0001", "--bank", "BANK_B", "--bank", "BANK_A",
                          "--png", "ba.png", "--json"))
    assert [b["bank"] for b in both["banks"]] == ["BANK_B", "BANK_A"]
    assert (tmp_path / "ba.png").read_bytes() != (tmp_path / "b.png").read_bytes()
    assert not list(tmp_path.glob(".*"))  # the atomic write left no temporary behind


def test_errors_are_one_line(paysim: Run, sweep_dir: Path, no_ticks_dir: Path) -> None:
    assert_one_line_error(paysim("show", sweep_dir, "c9999-r0000"), "c9999-r0000", "c0000-r0000")
    assert_one_line_error(paysim("show", sweep_dir, "c0000-r0000", "--bank", "BANK_Z"), "BANK_Z", "BANK_A")
    assert_one_line_error(paysim("show", no_ticks_dir, "c0000-r0000"), "no ticks table", "logs.ticks=false")
    assert_one_line_error(paysim("show", "no_such_sweep", "c0000-r0000"), "no_such_sweep")
    assert not list(no_ticks_dir.glob("show_*"))


@pytest.fixture(scope="module")
def no_ticks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-run sweep written with logs.ticks=false."""
    from rich.console import Console

    from paysim_runner.driver import run_sweep

    config = {"scenario": two_banks(ticks_per_day=20, arrivals=True), "output_dir": str(tmp_path_factory.mktemp("r")),
              "seeds": 1, "root_seed": 3, "batch_size": 1, "progress": False, "report": False,
              "sweep": {"name": "no_ticks", "axes": {}, "fixed": {}}, "logs": {"ticks": False, "transactions": True}}
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir


@pytest.fixture(scope="module")
def transfer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-run sweep whose tick 0 moves 7,000 from BANK_A to BANK_B and injects 2,000 into BANK_A."""
    from rich.console import Console

    from paysim_runner.driver import run_sweep

    scenario = two_banks(ticks_per_day=40, balance=30_000, arrivals=True)
    scenario["events"] = [{"type": "transfer", "from": "BANK_A", "to": "BANK_B", "amount": 7000, "tick": 0},
                          {"type": "transfer", "to": "BANK_A", "amount": 2000, "tick": 0}]
    config = {"scenario": scenario, "output_dir": str(tmp_path_factory.mktemp("r")), "seeds": 1, "root_seed": 5,
              "batch_size": 1, "progress": False, "report": False, "sweep": {"name": "moved", "axes": {}, "fixed": {}}}
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir
