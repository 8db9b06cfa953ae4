"""``python -m paysim_runner`` as a user runs it: a bad value is one line on stderr, exit code 2,
and nothing is written, not even Hydra's own files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import run_runner


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo,fifoo]"),
         "error: sweep.axes.policy: value 'fifoo': unknown policy 'fifoo' (conf/policy has deadline, fifo, "
         "liquidity_aware, splitting)"),
        (("scenario.agents.0.balance=-5", "scenario=two_bank"),
         "error: scenario.agents[0].balance: Input should be greater than or equal to 0"),
        (("+sweep=liquidity_delay", "sweep.axes.liquidity_fraction=[0.5,-1]"),
         "error: sweep.axes.liquidity_fraction: value -1.0: liquidity_fraction must be a number >= 0"),
    ],
)
def test_bad_values_exit_2_with_one_line_and_write_nothing(tmp_path: Path, overrides: tuple[str, ...],
                                                           message: str) -> None:
    proc = run_runner(*overrides, "output_dir=results", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == message
    assert os.listdir(tmp_path) == []
