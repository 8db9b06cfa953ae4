"""``python -m paysim_runner [+sweep=NAME] [key=value ...]``: the Hydra app running a sweep (SPEC §5).

The config folder is the repo's ``conf/`` (found beside the package, which is installed editable).
Hydra writes nothing of its own: no ``outputs/`` folder and no log file; ``manifest.json`` records
the resolved config instead.
"""

from __future__ import annotations

import sys

from typing import NoReturn

import hydra
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape

from paysim_runner.config import CONF_DIR, ConfigError


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from paysim_runner.execute import RunFailed, install_sigterm_handler, run_sweep

    console = Console()
    err = Console(stderr=True)
    install_sigterm_handler()
    config = OmegaConf.to_container(cfg, resolve=True)
    try:
        result = run_sweep(config, console=console)
    except ConfigError as exc:
        _fail(err, "error", exc, 2)
    except RunFailed as exc:
        _fail(err, "run failed", exc, 1)
    except KeyboardInterrupt:
        sys.exit(130)
    if result.report_error:
        sys.exit(1)


def _fail(err: Console, what: str, exc: Exception, code: int) -> NoReturn:
    """One line on stderr. The message is escaped: cell labels such as ``[policy=fifo]`` and values
    the user typed are text, never rich markup."""
    err.print(f"[red]{what}[/]: {escape(str(exc))}", highlight=False, soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    if not (CONF_DIR / "config.yaml").is_file():
        sys.exit(f"error: Hydra config folder {CONF_DIR} not found; install paysim from its repo (pip install -e .)")
    main()
