"""report.html (issue 14): one self-contained page, rendered by a real headless Chromium (Debian's
``chromium``, installed by ``make system-deps``) with no console errors, its plots inline and its
tables sortable by a click."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from paysim_runner.driver import run_sweep
from paysim_runner.report.model import REPORT_HTML, REPORT_MD
from tests.helpers.runner import hydra_config

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    config = hydra_config("+sweep=lsm_vs_fifo", "seeds=3", "sweep.axes.policy=[fifo,deadline]", f"output_dir={out}",
                          "progress=false")
    return run_sweep(config, executor="inline", console=Console(quiet=True)).sweep_dir


def _chromium(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium missing: run `make system-deps` (Debian's chromium package)"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", *flags,
         page.as_uri()], capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_page_is_self_contained(report_dir: Path) -> None:
    page = (report_dir / REPORT_HTML).read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched: no CDN, no font
    images = re.findall(r'<img src="([^"]*)"', page)
    assert images, "the report's figures are in the page"
    assert all(src.startswith("data:image/png;base64,") for src in images)
    markdown = (report_dir / REPORT_MD).read_text()
    assert "<h1>Report: sweep <code>lsm_vs_fifo</code></h1>" in page  # rendered from report.md itself:
    separators = [line for line in markdown.splitlines() if re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line)]
    assert page.count("<table>") == len(separators) > 0  # every table of report.md, as a table


def test_chromium_renders_it_with_no_console_errors(report_dir: Path) -> None:
    rendered = _chromium(report_dir / REPORT_HTML, "--dump-dom")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    console = [line for line in rendered.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = rendered.stdout
    assert 'data-ready="true"' in dom  # the page's script ran to its end
    assert dom.count('data-sortable="ready"') == dom.count("<table") > 0
    assert dom.count('src="data:image/png;base64,') >= 1


def test_a_click_on_a_header_sorts_the_table(report_dir: Path, tmp_path: Path) -> None:
    """The report's own script, driven by clicks in Chromium: the per-cell table sorted by its
    settlement_rate column ("0.8730 [0.7488, 0.9972]" sorts as 0.8730) reads in order, and a second
    click reverses it."""
    probe = """<script>
window.addEventListener("load", () => {
  const table = Array.from(document.querySelectorAll("table")).find((t) =>
    Array.from(t.querySelectorAll("thead th")).some((th) => th.textContent.trim() === "settlement_rate"));
  const headers = Array.from(table.querySelectorAll("thead th"));
  const index = headers.findIndex((th) => th.textContent.trim() === "settlement_rate");
  const column = () => Array.from(table.tBodies[0].rows, (row) => row.cells[index].textContent.trim());
  headers[index].click(); const up = column(); headers[index].click(); const down = column();
  document.body.dataset.up = JSON.stringify(up); document.body.dataset.down = JSON.stringify(down);
});
</script></body>"""
    page = tmp_path / "probe.html"
    page.write_text((report_dir / REPORT_HTML).read_text().replace("</body>", probe))
    rendered = _chromium(page, "--dump-dom")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    up, down = (json.loads(html.unescape(_attribute(rendered.stdout, name))) for name in ("data-up", "data-down"))
    assert len(up) == 4  # the four cells
    values = [float(text.split()[0]) for text in up]
    assert values == sorted(values)
    assert down == list(reversed(up))


def _attribute(dom: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', dom)
    assert match is not None, f"{name} not set: the probe did not run"
    return match.group(1)
