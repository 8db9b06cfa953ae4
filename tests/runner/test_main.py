"""``python -m paysim_runner`` as a user runs it: a bad value is one line on stderr, exit code 2,
and nothing is written, not even Hydra's own files."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.runner import run_runner, runner_cmd, runner_env


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo,fifoo]"),
         "error: sweep.axes.policy: value 'fifoo': unknown policy 'fifoo' (conf/policy has deadline, fifo, "
         "liquidity_aware, splitting)"),
        (("scenario.agents.0.balance=-5", "scenario=two_bank"),
         "error: scenario.agents[0].balance: must be between 0 and 1000000000000000, got -5"),
        (("+sweep=liquidity_delay", "sweep.axes.liquidity_fraction=[0.5,-1]"),
         "error: sweep.axes.liquidity_fraction: value -1.0: liquidity_fraction must be a number >= 0"),
        # square brackets in a message are text, not rich markup (a cell label, a value the user typed)
        (("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo,'[bold]x']"),
         "error: sweep.axes.policy: value '[bold]x': unknown policy '[bold]x' (conf/policy has deadline, fifo, "
         "liquidity_aware, splitting)"),
        (("+sweep=lsm_vs_fifo", "+scenario.scheduled_payments_file=/nonexistent/day.csv"),
         "error: scenario.scheduled_payments_file: file not found: '/nonexistent/day.csv'"),
        (("+sweep=lsm_vs_fifo", "+scenario.lsm.max_cycle_length=20"),
         "error: scenario.lsm.max_cycle_length: must be between 2 and 12"),
    ],
)
def test_bad_values_exit_2_with_one_line_and_write_nothing(tmp_path: Path, overrides: tuple[str, ...],
                                                           message: str) -> None:
    proc = run_runner(*overrides, "output_dir=results", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == message
    assert os.listdir(tmp_path) == []


def test_an_unreachable_cluster_fails_fast_before_any_output(tmp_path: Path) -> None:
    """Ray itself retries a dead address for minutes and the runner used to write the manifest first."""
    started = time.monotonic()
    proc = run_runner("+sweep=lsm_vs_fifo", "seeds=2", "ray.address=127.0.0.1:1", "output_dir=results",
                      cwd=tmp_path, timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: ray.address: cannot reach Ray at '127.0.0.1:1' (Connection refused); "
        "is the cluster running (`ray start --head`)?"
    )
    assert os.listdir(tmp_path) == []


def test_a_bad_cluster_address_names_ray_address(tmp_path: Path) -> None:
    proc = run_runner("seeds=1", "ray.address=nowhere", "output_dir=results", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "error: ray.address: 'nowhere' is not auto, HOST:PORT or ray://HOST:PORT"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("output_dir", "message"),
    [
        ("afile", "error: output_dir: {tmp}/afile is not a directory"),
        ("afile/deeper", "error: output_dir: {tmp}/afile is not a directory"),
        ("/proc/nope", "error: output_dir: cannot write in /proc (No such file or directory)"),
    ],
)
def test_an_unusable_output_dir_is_one_line_before_ray_starts(tmp_path: Path, output_dir: str, message: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    started = time.monotonic()
    proc = run_runner("+sweep=lsm_vs_fifo", "seeds=2", f"output_dir={output_dir}", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == message.format(tmp=tmp_path)
    assert "Ray" not in proc.stdout + proc.stderr  # refused before Ray started
    assert time.monotonic() - started < 30
    assert os.listdir(tmp_path) == ["afile"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # a near miss names the key it misses (issue 14); anything else says how to add a key
        (("seedz=3",), "error: seedz: unknown key; did you mean seeds?"),
        (("+sweep=lsm_vs_fifo", "scenario.lsm.mod=t2"), "error: scenario.lsm.mod: unknown key; did you mean "
                                                        "scenario.lsm.mode?"),
        (("scenario.agents.0.balanse=4",), "error: scenario.agents[0].balanse: unknown key; did you mean "
                                           "scenario.agents[0].balance?"),
        (("xyzzy=1",), "error: xyzzy: unknown key (to add a new key use +xyzzy=...)"),
        (("scenario=ten_bank", "scenario.agents.0.balance=4"),
         "error: scenario.agents: this scenario builds its banks from agent_groups: set "
         "scenario.agent_groups[i].<field> for every bank of group i, or a sweep setting agents.<n>.<field> "
         "(or agents.*.<field>) for single banks"),
        (("+sweep=nope",),
         "error: sweep: no config 'nope' (conf/sweep has credit_limits, liquidity_delay, lsm_vs_fifo)"),
        (("seeds=[",), "error: seeds: cannot parse 'seeds=[': no viable alternative at input '['"),
        # the runner never uses the scenario's seed: saying so beats silently ignoring it
        (("+sweep=lsm_vs_fifo", "scenario.simulation.seed=7"),
         "error: scenario.simulation.seed: not used by the runner: every run's seed derives from root_seed and "
         "its replication number (common random numbers); set root_seed=... or seeds=... instead"),
    ],
)
def test_hydra_errors_are_one_line_exit_2(tmp_path: Path, overrides: tuple[str, ...], message: str) -> None:
    """Hydra's own message is four lines and exits 1; a misspelt key is a bad value like any other."""
    proc = run_runner(*overrides, "output_dir=results", cwd=tmp_path, timeout=60)
    assert (proc.returncode, proc.stderr.strip(), proc.stdout) == (2, message, "")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow  # starts its own embedded Ray
def test_the_embedded_ray_starts_without_token_authentication_noise(tmp_path: Path) -> None:
    """Ray >= 2.59 announces at every start that a new local instance uses token authentication; for
    the runner's own loopback instance that is nothing to act on (issue 12). Other warnings stay."""
    env = {k: v for k, v in runner_env().items() if not k.startswith("RAY_AUTH")}
    proc = subprocess.run(runner_cmd("seeds=1", "output_dir=results", "report=false", "progress=false"),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Token authentication" not in proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr


def test_the_help_is_the_runners_own(tmp_path: Path) -> None:
    proc = run_runner("--help", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("python -m paysim_runner [+sweep=NAME] [key=value ...] [-m]: run RTGS")
    assert "powered by Hydra" not in proc.stdout
    assert "sweep: credit_limits, liquidity_delay, lsm_vs_fifo" in proc.stdout
    assert os.listdir(tmp_path) == []


def test_multirun_jobs_get_their_own_folders_and_write_nothing_where_they_run(tmp_path: Path) -> None:
    """Hydra's -m (issue 14): jobs differing only in seeds do not collide, and the working directory
    (a checkout, say) gets no multirun/ folder: Hydra's multirun.yaml goes beside the results."""
    work = tmp_path / "work"
    work.mkdir()
    proc = run_runner("-m", "seeds=1,2", "executor=inline", "report=false", "progress=false",
                      f"output_dir={tmp_path / 'out'}", cwd=work, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(work) == []
    folders = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(folders) == 4, folders  # two results folders, the link to the latest, .multirun
    assert folders[:2] == [".multirun", "single"]
    assert all(name.startswith("single-") for name in folders[2:])
    assert [p.name for p in (tmp_path / "out" / ".multirun").glob("*/multirun.yaml")] == ["multirun.yaml"]


def test_multirun_errors_are_one_line(tmp_path: Path) -> None:
    proc = run_runner("-m", "seedz=1,2", "output_dir=out", cwd=tmp_path, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.strip() == "error: seedz: unknown key; did you mean seeds?"
    later = run_runner("-m", "scenario=two_bank,nope", "output_dir=out", cwd=tmp_path, timeout=60)
    assert later.returncode == 2
    assert later.stderr.strip().startswith("error: scenario: no config 'nope' (conf/scenario has ")
    assert os.listdir(tmp_path) == []
