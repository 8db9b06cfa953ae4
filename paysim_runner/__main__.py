"""``python -m paysim_runner [+sweep=NAME] [key=value ...]``: the Hydra app running a sweep
(docs/runner.md).

The config folder is ``paysim_runner/conf`` (``CONF_DIR``), package data: an installed wheel finds
it as an editable checkout does (where the top-level ``conf`` links to it). Hydra writes nothing of
its own: no ``outputs/`` folder and no log file; ``manifest.json`` records the resolved config
instead.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, cast

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException
from rich.console import Console
from rich.markup import escape

from paysim_runner.config import CONF_DIR, ConfigError
from paysim_runner.scenario_files import register_scenario_paths, resolve_scenario_data_file
from paysim_runner.sweep.settings import shadowed_overrides


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from paysim_runner.driver import install_sigterm_handler, run_sweep
    from paysim_runner.run import RunFailed

    console = Console()
    err = Console(stderr=True)
    install_sigterm_handler()
    config = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))  # the root config is a mapping
    hydra_cfg = HydraConfig.get()
    config = resolve_scenario_data_file(
        config, list(hydra_cfg.runtime.config_sources), hydra_cfg.runtime.choices.get("scenario"),
        list(hydra_cfg.overrides.task),
    )
    for warning in shadowed_overrides(hydra_cfg.overrides.task, (config.get("sweep") or {}).get("axes") or {}):
        err.print(f"[yellow]warning[/]: {escape(warning)}", highlight=False, soft_wrap=True)
    try:
        result = run_sweep(config, console=console, command=invocation(sys.argv, list(hydra_cfg.overrides.task),
                                                                         dict(hydra_cfg.runtime.choices)))
    except ConfigError as exc:
        _fail(err, "error", exc, 2)
    except RunFailed as exc:
        _fail(err, "run failed", exc, 1)
    except KeyboardInterrupt:
        sys.exit(130)
    if result.report_error:
        sys.exit(1)


def invocation(argv: Sequence[str], overrides: Sequence[str], choices: dict[str, Any]) -> dict[str, Any]:
    """What the manifest records as ``command``, so the report can say how to run the sweep again:
    the command line, this job's overrides (under ``-m`` each job has its own) and the config
    group chosen for each of conf/'s groups (the scenario's name or file)."""
    return {"argv": list(argv), "overrides": list(overrides),
            "config_groups": {g: choices.get(g) for g in GROUPS}}


#: Why ``scenario.simulation.seed`` is refused on the command line: the runner never uses it.
SEED_PROBLEM = (
    "not used by the runner: every run's seed derives from root_seed and its replication number "
    "(common random numbers); set root_seed=... or seeds=... instead"
)


def check_overrides(args: Sequence[str]) -> None:
    """Compose the config the way ``hydra.main`` will, so that a misspelt key, a missing config or an
    unparsable override is one line naming the key (``ConfigError``), not Hydra's multi-line
    message. Under ``-m`` (multirun) every value of every swept key is composed once (the other
    swept keys at their first value). Hydra's other flags (``--help``, ``--cfg``, …) are left to Hydra."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    flags = [arg for arg in args if arg.startswith("-")]
    if any(flag not in MULTIRUN_FLAGS for flag in flags):
        return
    args = [arg for arg in args if arg not in MULTIRUN_FLAGS]
    try:
        overrides = OverridesParser.create().parse_overrides(list(args))
    except OverrideParseException as exc:
        key = exc.override.split("=", 1)[0].lstrip("+~")
        raise ConfigError(key, f"cannot parse {exc.override!r}: {exc.message.splitlines()[0]}") from None
    for override in overrides:
        if override.key_or_group == "scenario.simulation.seed":
            raise ConfigError("scenario.simulation.seed", SEED_PROBLEM)
    # The config groups chosen, without the values: what an unknown key is looked up against.
    groups = [arg for arg, o in zip(args, overrides, strict=True) if o.key_or_group in GROUPS]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            for job in _jobs(args, overrides):
                compose(config_name="config", overrides=job)
    except (ConfigCompositionException, MissingConfigException, OmegaConfBaseException) as exc:
        raise composition_error(exc, lambda: _known_keys(groups)) from None


#: Hydra's multirun flag: each combination of the swept values is a job (a sweep of its own).
MULTIRUN_FLAGS = ("-m", "--multirun")


def _jobs(args: Sequence[str], overrides: Sequence[Any]) -> list[list[str]]:
    """Override lists to compose: ``args`` itself, or with swept keys (``seeds=1,2``) one per value."""
    swept = {i: list(o.sweep_string_iterator()) for i, o in enumerate(overrides) if o.is_sweep_override()}
    base = [f"{o.get_key_element()}={values[0]}" if (values := swept.get(i)) else arg
            for i, (arg, o) in enumerate(zip(args, overrides, strict=True))]
    jobs = [base]
    for i, values in swept.items():
        for value in values[1:]:
            jobs.append([*base[:i], f"{overrides[i].get_key_element()}={value}", *base[i + 1:]])
    return jobs


#: The config groups of conf/ (``scenario=…``, ``policy=…``, ``+sweep=…``).
GROUPS = ("scenario", "policy", "sweep")


def _known_keys(groups: Sequence[str]) -> Any:
    """The config composed from the chosen groups alone: the keys a typo is matched against."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=list(groups)), resolve=False)


def did_you_mean(key: str, config: Any) -> str | None:
    """The existing key closest to the dotted ``key`` among its siblings (difflib), if one is close."""
    parent, _, last = key.rpartition(".")
    node = config
    for part in re.findall(r"[^.\[\]]+", parent):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    match = difflib.get_close_matches(last, [str(k) for k in node], n=1, cutoff=0.6)
    return f"{parent}.{match[0]}" if match and parent else (match[0] if match else None)


def composition_error(exc: Exception, known: Callable[[], Any] | None = None) -> ConfigError:
    """Hydra's composition error as one line naming the key or config group; an unknown key that is
    a near miss of an existing one says which (``known`` gives the config to look in)."""
    cause = exc.__cause__
    key = getattr(cause, "full_key", None) or getattr(exc, "full_key", None)
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and key:
        config = known() if known is not None else None
        scenario = config.get("scenario") if isinstance(config, dict) else None
        if key == "scenario.agents" and isinstance(scenario, dict) and "agent_groups" in scenario:
            return ConfigError(key, "this scenario builds its banks from agent_groups: set "
                                    "scenario.agent_groups[i].<field> for every bank of group i, or a sweep "
                                    "setting agents.<n>.<field> (or agents.*.<field>) for single banks")
        guess = did_you_mean(key, config) if config is not None else None
        if guess is not None:
            return ConfigError(key, f"unknown key; did you mean {guess}?")
        return ConfigError(key, f"unknown key (to add a new key use +{key}=...)")
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        available = f" (conf/{group} has {', '.join(exc.options)})" if exc.options else ""
        return ConfigError(group or "config", f"no config {name!r}{available}")
    detail = str(cause if cause is not None and str(cause) else exc).splitlines()
    return ConfigError(key or "", " ".join(line.strip() for line in detail if line.strip()
                                            and not line.strip().startswith(("full_key:", "object_type="))))


def _fail(err: Console, what: str, exc: Exception, code: int) -> NoReturn:
    """One line on stderr. The message is escaped: cell labels such as ``[policy=fifo]`` and values
    the user typed are text, never rich markup."""
    err.print(f"[red]{what}[/]: {escape(str(exc))}", highlight=False, soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    try:
        sys.argv[1:] = register_scenario_paths(sys.argv[1:])
        check_overrides(sys.argv[1:])
    except ConfigError as exc:
        _fail(Console(stderr=True), "error", exc, 2)
    main()
