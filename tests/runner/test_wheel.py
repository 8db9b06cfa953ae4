"""A wheel built with ``pip wheel .`` carries its Hydra configs (``paysim_runner/conf`` is package
data): installed into a fresh venv outside the checkout, it runs
``python -m paysim_runner +sweep=lsm_vs_fifo seeds=2`` and writes the results under its working
directory.

The venv gets the wheel by a normal ``pip install`` and its dependencies from this interpreter's
site-packages (one ``.pth`` file listing them), so the test needs no index beyond the build's own
maturin. A folder named in a ``.pth`` file is put on ``sys.path`` without running the ``.pth`` files
inside it, so the editable install's hook there (the checkout on ``sys.path``) stays out; the test
checks that the package and its configs come from the venv.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from paysim_runner import storage
from tests.helpers import REPO

# a release build of the extension (2-3 minutes when cold), then a sweep on Ray in a fresh venv; the `ray` marker
# by hand, since the Ray runs in a child process and no Ray fixture shows it
pytestmark = [pytest.mark.slow, pytest.mark.ray]


def _venv_with_the_wheel(tmp_path: Path) -> Path:
    """Build the wheel, make a fresh venv, install the wheel into it; return the venv's python."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=1800,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-4000:]
    (wheel,) = wheels.glob("paysim_runner-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    (Path(purelib) / "paysim_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def test_the_wheel_runs_a_sweep_outside_the_checkout(tmp_path: Path) -> None:
    python = _venv_with_the_wheel(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")} | {"COLUMNS": "200"}

    where = subprocess.run(
        [str(python), "-c", "import sys, paysim_runner.config as c; print(c.CONF_DIR); print(*sys.path, sep='\\n')"],
        cwd=work, env=env, capture_output=True, text=True, check=True, timeout=120,
    ).stdout.splitlines()
    conf_dir, search_path = Path(where[0]), [Path(p).resolve() for p in where[1:] if p]
    assert conf_dir.is_relative_to(tmp_path / "venv")
    assert (conf_dir / "sweep" / "lsm_vs_fifo.yaml").is_file()
    assert REPO not in search_path
    # the one paysim_runner on the path is the venv's (not a checkout's, not this interpreter's)
    assert [p for p in search_path if (p / "paysim_runner").is_dir()] == [conf_dir.parent.parent]

    proc = subprocess.run(
        [str(python), "-m", "paysim_runner", "+sweep=lsm_vs_fifo", "seeds=2"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sweep_dir = work / "results" / "lsm_vs_fifo"
    manifest = json.loads((sweep_dir / storage.MANIFEST).read_text())
    assert manifest["replications"] == 2
    assert len(manifest["cells"]) == 6
    batches = {run["batch"] for run in manifest["runs"]}
    assert storage.completed_batches(sweep_dir) == batches
    assert (sweep_dir / "report.md").is_file()
