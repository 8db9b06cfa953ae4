"""Results folders are named after the sweep and its config's identity (issue 12): another scenario
or seed count gets its own folder instead of a "different sweep" refusal, the same command finds its
folder again, ``<output_dir>/<sweep.name>`` links to the latest, and ``sweep.folder`` asks for one."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from paysim_runner import storage
from paysim_runner.config import ConfigError
from paysim_runner.driver import prepare, run_sweep
from tests.helpers.runner import hydra_config

QUIET = Console(quiet=True)


def _credit_limits(out: Path, *extra: str) -> dict:
    return hydra_config("+sweep=credit_limits", "sweep.axes.credit_scale=[0.0,1.0]", "seeds=2",
                        f"output_dir={out}", "progress=false", "report=false", *extra)


def test_one_sweep_on_two_scenarios_one_after_the_other_gets_two_folders(tmp_path: Path) -> None:
    first = run_sweep(_credit_limits(tmp_path, "scenario=ten_bank"), executor="inline", console=QUIET)
    second = run_sweep(_credit_limits(tmp_path, "scenario=two_bank"), executor="inline", console=QUIET)
    assert first.sweep_dir != second.sweep_dir
    assert first.sweep_dir.parent == second.sweep_dir.parent == tmp_path
    assert first.sweep_dir.name.startswith("credit_limits-")
    assert second.sweep_dir.name.startswith("credit_limits-")
    assert second.executed_runs == 4
    assert storage.completed_batches(first.sweep_dir) == storage.completed_batches(second.sweep_dir) == {0}
    latest = tmp_path / "credit_limits"
    assert latest.is_symlink()
    assert latest.readlink() == Path(second.sweep_dir.name)  # relative: the tree can move


def test_the_same_command_finds_its_folder_again_and_resumes(tmp_path: Path) -> None:
    config = _credit_limits(tmp_path)
    first = run_sweep(config, executor="inline", console=QUIET)
    again = run_sweep({**config, "progress": True, "executor": "ray"}, executor="inline", console=QUIET)
    assert again.sweep_dir == first.sweep_dir
    assert (again.executed_runs, again.skipped_runs) == (0, 4)


def test_a_folder_asked_for_by_name_refuses_a_different_sweep(tmp_path: Path) -> None:
    run_sweep(_credit_limits(tmp_path, "sweep.folder=mine"), executor="inline", console=QUIET)
    with pytest.raises(ConfigError) as info:
        prepare(_credit_limits(tmp_path, "sweep.folder=mine", "seeds=3"))
    assert str(info.value).startswith(f"output_dir: {tmp_path / 'mine'} holds a different sweep (differs in ")
    assert not (tmp_path / "credit_limits").exists()  # a named folder is not linked


def test_the_latest_link_never_replaces_a_real_folder(tmp_path: Path) -> None:
    (tmp_path / "credit_limits").mkdir()
    (tmp_path / "credit_limits" / "mine.txt").write_text("kept")
    result = run_sweep(_credit_limits(tmp_path), executor="inline", console=QUIET)
    assert (tmp_path / "credit_limits" / "mine.txt").read_text() == "kept"
    assert result.sweep_dir.name.startswith("credit_limits-")


def test_a_bad_folder_name_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^sweep\.folder: use letters, digits"):
        prepare(_credit_limits(Path("/tmp"), "sweep.folder=../elsewhere"))


_EXECUTION = st.fixed_dictionaries({
    "output_dir": st.text(min_size=1, max_size=20),
    "progress": st.booleans(),
    "report": st.booleans(),
    "executor": st.sampled_from(["ray", "inline"]),
    "ray": st.fixed_dictionaries({"address": st.none() | st.text(max_size=20), "num_cpus": st.integers(1, 64)}),
})


@settings(max_examples=50, deadline=None)
@given(execution=_EXECUTION, folder=st.none() | st.text(min_size=1, max_size=10),
       seeds=st.integers(1, 10_000), root_seed=st.integers(0, 2**63))
def test_the_config_id_depends_on_what_is_run_and_nothing_else(
    execution: dict, folder: str | None, seeds: int, root_seed: int
) -> None:
    base = hydra_config("+sweep=lsm_vs_fifo")
    moved = {**base, **execution, "sweep": {**base["sweep"], "folder": folder, "plot": None}}
    assert storage.config_id(moved) == storage.config_id(base)
    other = {**base, "seeds": seeds, "root_seed": root_seed}
    same_rows = (seeds, root_seed) == (base["seeds"], base["root_seed"])
    assert (storage.config_id(other) == storage.config_id(base)) == same_rows
