"""The CLI's state file under a user's hands (issue 13): a symlink is written through, the file's
mode is kept, a read-only file is refused, and a file edited with its checksum recomputed is one
line, not a Rust panic or a traceback. The real ``paysim`` console script on real files."""

from __future__ import annotations

import os
import random
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.helpers.state import resummed
from tests.helpers.surfaces import assert_one_line_error, ok_json

Run = Callable[..., subprocess.CompletedProcess[str]]
ScenarioFile = Callable[..., Path]


def _created(paysim: Run, scenario_file: ScenarioFile, state: Path) -> None:
    made = paysim("create", "--config", scenario_file(), "--state", state)
    assert made.returncode == 0, made.stderr


def test_a_symlinked_state_file_is_written_through_the_link(
    paysim: Run, scenario_file: ScenarioFile, tmp_path: Path
) -> None:
    (tmp_path / "keep").mkdir()
    target = tmp_path / "keep" / "day.state"
    _created(paysim, scenario_file, target)
    (tmp_path / "s").symlink_to(target)
    before = target.read_bytes()
    ticked = paysim("tick", "3", "--state", "s")
    assert ticked.returncode == 0, ticked.stderr
    assert (tmp_path / "s").is_symlink()  # the link stays a link ...
    assert target.read_bytes() != before  # ... and its target holds the new state
    assert ok_json(paysim("state", "--state", target, "--json"))["tick"] == 3
    assert sorted(p.name for p in (tmp_path / "keep").iterdir()) == ["day.state"]  # no temporary left


def test_the_state_file_keeps_its_mode(paysim: Run, scenario_file: ScenarioFile, tmp_path: Path) -> None:
    _created(paysim, scenario_file, tmp_path / "s")
    os.chmod(tmp_path / "s", 0o600)
    assert paysim("tick", "1", "--state", "s").returncode == 0
    assert stat.S_IMODE(os.stat(tmp_path / "s").st_mode) == 0o600


def test_a_read_only_state_file_is_refused_and_left_alone(
    paysim: Run, scenario_file: ScenarioFile, tmp_path: Path
) -> None:
    _created(paysim, scenario_file, tmp_path / "s")
    os.chmod(tmp_path / "s", 0o444)
    before = (tmp_path / "s").read_bytes()
    assert_one_line_error(paysim("tick", "1", "--state", "s"), "s: read-only (mode 0444)", "chmod u+w")
    assert (tmp_path / "s").read_bytes() == before
    assert stat.S_IMODE(os.stat(tmp_path / "s").st_mode) == 0o444


def test_an_edited_state_file_with_a_fresh_checksum_is_one_line(
    paysim: Run, scenario_file: ScenarioFile, tmp_path: Path
) -> None:
    _created(paysim, scenario_file, tmp_path / "s")
    assert paysim("tick", "5", "--state", "s").returncode == 0
    saved = (tmp_path / "s").read_bytes()
    body = saved[8:-8]
    (tmp_path / "cut").write_bytes(resummed(saved, body[: len(body) // 2]))
    assert_one_line_error(paysim("tick", "1", "--state", "cut"), "cut: corrupt state")
    rng = random.Random(13)
    for i in range(6):  # byte edits: each is refused in one line or runs on; never a panic or traceback
        edited = bytearray(body)
        edited[rng.randrange(len(edited))] ^= 1 << rng.randrange(8)
        path = tmp_path / f"edit{i}"
        path.write_bytes(resummed(saved, bytes(edited)))
        result = paysim("tick", "1", "--state", path)
        assert "Traceback" not in result.stderr, result.stderr
        assert "panick" not in result.stderr, result.stderr
        if result.returncode != 0:
            assert_one_line_error(result, f"{path.name}: ")
