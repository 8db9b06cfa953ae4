"""report.md's "What was run": the scenario, the command line, the axes and the seeds, from the
manifest, for a sweep started by the Hydra app and for one started from Python."""

from __future__ import annotations

import json
from pathlib import Path

from paysim_runner.report.provenance import bank_count, what_was_run
from tests.helpers.runner import run_runner

OVERRIDES = ("+sweep=lsm_vs_fifo", "sweep.axes.policy=[fifo,deadline]", "seeds=2", "root_seed=7",
             "executor=inline", "progress=false", "output_dir=results")


def _section(md: str) -> str:
    return md.split("## What was run")[1].split("## How to read this")[0]


def test_a_hydra_sweep_records_its_command_and_the_report_names_it(tmp_path: Path) -> None:
    proc = run_runner(*OVERRIDES, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    sweep = tmp_path / "results" / "lsm_vs_fifo"
    command = json.loads((sweep / "manifest.json").read_text())["command"]
    assert command["argv"][1:] == list(OVERRIDES)
    assert command["overrides"] == list(OVERRIDES)
    assert command["config_groups"] == {"scenario": "ten_bank", "policy": None, "sweep": "lsm_vs_fifo"}
    section = _section((sweep / "report.md").read_text())
    # quoted for a shell: the brackets would otherwise glob
    assert ("| command line | `python -m paysim_runner +sweep=lsm_vs_fifo 'sweep.axes.policy=[fifo,deadline]' "
            "seeds=2 root_seed=7 executor=inline progress=false output_dir=results` |") in section
    assert "| scenario | `ten_bank` |" in section
    assert "| banks | 10 |" in section
    assert "| ticks per day | 100 |" in section
    assert "| axis `lsm_mode` (`lsm.mode`) | `none`, `t2` |" in section
    assert "| axis `policy` | `fifo`, `deadline` |" in section
    assert "| runs | 8 = 4 cells × 2 replications |" in section
    assert "| root seed | 7 |" in section
    assert "| LSM mode | swept: see its axis below |" in section


def test_a_manifest_without_a_command_says_not_recorded() -> None:
    """Manifests written before the command was recorded, or by a Python caller, stay readable."""
    manifest = {
        "config": {"scenario": {"simulation": {"ticks_per_day": 40, "num_days": 2},
                                "agents": [{"id": "A", "policy": {"type": "Fifo"}},
                                           {"id": "B", "policy": {"type": "Deadline"}}],
                                "lsm": {"mode": "bilateral"}}},
        "axes": {}, "axis_keys": {}, "replications": 3, "root_seed": 11,
    }
    rows = dict(what_was_run(manifest, n_planned=3, n_cells=1))
    assert rows["command line"] == rows["overrides"] == rows["scenario"] == "not recorded"
    assert (rows["banks"], rows["ticks per day"], rows["days"]) == ("2", "40", "2")
    assert rows["LSM mode"] == "`bilateral`"
    assert rows["policy"] == "`Deadline`, `Fifo` (the scenario's)"
    assert rows["axes"] == "none: one cell"
    assert rows["runs"] == "3 = 1 cells × 3 replications"


def test_banks_of_agent_groups_are_counted() -> None:
    assert bank_count({"agent_groups": [{"count": 10}, {"count": 3}]}) == 13
    assert bank_count({"agents": [], "agent_groups": [{"count": 4}]}) == 4
    assert bank_count({}) is None
