"""manifest.json pins what every cell meant (engine config hash, policy files, dirty tree), and a
resume refuses to mix runs made under different meanings."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from paysim_runner import storage
from paysim_runner.config import CONF_DIR, ConfigError
from paysim_runner.driver import create_output_dir, prepare
from tests.helpers import REPO
from tests.helpers.runner import small_sweep


def _canonical_sha256(engine: dict) -> str:
    body = {k: v for k, v in engine.items() if k != "rng_seed"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_every_cell_records_the_hash_of_its_engine_config(tmp_path: Path) -> None:
    plan, _, manifest = prepare(small_sweep(tmp_path, "sweep.axes.policy=[fifo,deadline]"))
    cells = manifest["cells"]
    assert [c["engine_config_sha256"] for c in cells] == [
        _canonical_sha256(plan.engine_configs[c["cell_id"]]) for c in cells
    ]
    assert len({c["engine_config_sha256"] for c in cells}) == len(cells) == 4
    # the seed is set per run, so it is not part of what a cell means
    config = small_sweep(tmp_path, "sweep.axes.policy=[fifo,deadline]", "scenario.simulation.seed=99")
    reseeded = prepare(config)[2]["cells"]
    assert [c["engine_config_sha256"] for c in reseeded] == [c["engine_config_sha256"] for c in cells]


def test_the_policy_files_used_by_name_are_recorded(tmp_path: Path) -> None:
    _, _, manifest = prepare(small_sweep(tmp_path, "sweep.axes.policy=[fifo,liquidity_aware]"))
    assert manifest["policy_files"] == {
        name: yaml.safe_load((CONF_DIR / "policy" / f"{name}.yaml").read_text()) for name in ("fifo", "liquidity_aware")
    }


def test_resume_refuses_a_sweep_whose_policy_file_changed(tmp_path: Path) -> None:
    """Editing conf/policy/deadline.yaml between a sweep and its resume would mix parameter sets."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    config = small_sweep(tmp_path / "out", "sweep.axes.policy=[fifo,deadline]")
    _, sweep_dir, manifest = prepare(config, conf)
    create_output_dir(sweep_dir, manifest)
    assert prepare(config, conf)[2]["cells"] == manifest["cells"]  # unchanged: resumable

    (conf / "policy" / "deadline.yaml").write_text("type: Deadline\nurgency_threshold: 25\n")
    with pytest.raises(ConfigError) as info:
        prepare(config, conf)
    message = str(info.value)
    assert message.startswith(f"output_dir: {sweep_dir} holds a different sweep (differs in the engine config of "
                              "cell lsm_mode=none,policy=deadline, the engine config of cell "
                              "lsm_mode=t2,policy=deadline, conf/policy/deadline.yaml)"), message
    assert json.loads((sweep_dir / storage.MANIFEST).read_text()) == manifest  # untouched


def test_git_dirty_flags_uncommitted_changes(tmp_path: Path) -> None:
    assert storage.git_dirty(tmp_path) is None
    assert storage.git_commit(tmp_path) is None
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (tmp_path / "new.txt").write_text("untracked files do not change the code that ran")
    assert storage.git_dirty(tmp_path) is False
    assert len(storage.git_commit(tmp_path) or "") == 40
    (tmp_path / "a.txt").write_text("2")
    assert storage.git_dirty(tmp_path) is True


def test_the_manifest_records_git_dirty_next_to_git_commit(tmp_path: Path) -> None:
    _, _, manifest = prepare(small_sweep(tmp_path))
    keys = list(manifest)
    assert keys.index("git_dirty") == keys.index("git_commit") + 1
    assert manifest["git_dirty"] == storage.git_dirty(REPO)
    assert isinstance(manifest["git_dirty"], bool)
