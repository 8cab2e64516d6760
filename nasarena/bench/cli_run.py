"""``nasarena run``, ``nasarena bench`` and ``nasarena list``: studies from the command line.

``run`` takes a grid (strategies x datasets x seeds on one oracle) from flags and/or a YAML/JSON study
file; ``bench`` is the ``make bench`` preset (NB201-lite cifar10-valid, the strategies of
``BENCH_STRATEGIES``, 100 seeds, 150 full trainings of simulated time) followed by the report;
``list`` shows the registered names. Every name is validated before any run starts, and a bad one
exits with status 2 and the list of valid names.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nasarena.bench.config import Budget, StudyConfig, load_study_config, parse_seeds
from nasarena.errors import ConfigError, UnknownNameError
from nasarena.registry import ORACLES, SPACES, STRATEGIES

log = logging.getLogger(__name__)

#: Real et al.'s contenders plus the other baselines of the survey (local search, BO, TPE) and
#: multi-objective evolution (accuracy vs params); all of them fit `make bench`'s 2-minute target.
BENCH_STRATEGIES = ("random", "regularized-evolution", "evolution", "reinforce", "reinforce-lstm",
                    "local-search", "bo", "optuna:tpe", "regularized-evolution-mo")
BENCH_ORACLE, BENCH_DATASET = "nb201-lite", "cifar10-valid"
BENCH_TRAININGS = 150


def key_value(text: str) -> tuple[str, Any]:
    """``k=v`` with ``v`` read as YAML (so numbers, booleans and lists get their types)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        return key.strip(), value


def _strategy_args(items: list[str], strategies: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Parse repeated ``strategy.key=value`` into {strategy: {key: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        lhs, _ = key_value(item)
        name, dot, key = lhs.rpartition(".")
        if not dot or not name:
            raise ConfigError(f"--strategy-arg {item!r} must be STRATEGY.KEY=VALUE, e.g. "
                              f"regularized-evolution.population_size=100")
        if name not in strategies:
            raise ConfigError(f"--strategy-arg {item!r} names strategy {name!r}, which is not in this study "
                              f"({', '.join(strategies)})")
        out.setdefault(name, {})[key] = key_value(item)[1]
    return out


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """``--executor``, ``--ray-address``, ``--cpus-per-run``, ``--gpus-per-run`` (see docs/ray.md)."""
    p.add_argument("--executor", choices=("process", "ray"), default="process",
                   help="where runs execute: a process pool on this machine (default) or Ray tasks "
                        "(pip install 'nasarena[ray]'; results are written here, by this process)")
    p.add_argument("--ray-address", metavar="auto|HOST:PORT",
                   help="Ray cluster to connect to (default: start a local Ray instance)")
    p.add_argument("--cpus-per-run", type=float, help="Ray CPUs per run (default 1)")
    p.add_argument("--gpus-per-run", type=float,
                   help="Ray GPUs per run; a fraction shares a GPU (0.25: four runs per GPU; default 0)")


def executor_from_args(args: argparse.Namespace) -> Any:
    """The executor the flags name (``None``: the default process pool)."""
    from nasarena.bench.study import make_executor

    return make_executor(args.executor, address=args.ray_address, cpus_per_run=args.cpus_per_run,
                         gpus_per_run=args.gpus_per_run)


def _add_grid_args(p: argparse.ArgumentParser, *, preset: bool) -> None:
    p.add_argument("--strategies", help="comma-separated strategy names" +
                   (f" (default: {','.join(BENCH_STRATEGIES)})" if preset else ""))
    p.add_argument("--seeds", help="seeds, e.g. 0-99 or 0,3,5" + (" (default: 0-99)" if preset else ""))
    p.add_argument("--jobs", type=int,
                   help="processes, at least 1 (default: all cores; 1 runs in this process)")
    p.add_argument("--workers", type=int, help="asynchronous workers per run (default 1: sequential)")
    p.add_argument("--strategy-arg", action="append", default=[], metavar="STRATEGY.KEY=VALUE",
                   help="a strategy hyper-parameter, repeatable "
                        "(e.g. regularized-evolution.population_size=100)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--retry-failed", action="store_true",
                   help="rerun runs stored as failed (e.g. after fixing a strategy); others are skipped")
    add_executor_args(p)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run``, ``bench`` and ``list`` sub-commands."""
    p = subparsers.add_parser(
        "run", help="run (or resume) a study: strategies x seeds on one oracle",
        description="Run a grid of strategies x seeds on an oracle/dataset. Finished runs in --out are "
                    "skipped, so rerunning resumes a killed study.")
    p.add_argument("--config", type=Path, help="YAML/JSON study file (flags below override its fields)")
    p.add_argument("--oracle", help="oracle name (see `nasarena list oracles`)")
    p.add_argument("--dataset", help="dataset of the oracle, or several separated by commas (the grid "
                                     "runs on each; see `nasarena list datasets`)")
    p.add_argument("--oracle-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra oracle argument, repeatable (e.g. test_table=path.csv)")
    p.add_argument("--budget-time", type=float, help="simulated seconds per run")
    p.add_argument("--budget-evals", type=int, help="finished evaluations per run")
    p.add_argument("--out", type=Path, required=True, help="study folder (created; resumed if it exists)")
    p.add_argument("--early-stop", metavar="RULES",
                   help="train in epoch increments and stop trainings early: domhan, lcsvr, median, or "
                        "several joined by commas (none: also the plain strategy); each strategy S runs as "
                        "es-RULE:S (see docs/early-stopping.md)")
    p.add_argument("--early-stop-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting of every early-stopping wrapper, repeatable (e.g. delta=0.1, mode=fast, "
                        "tell=partial)")
    _add_grid_args(p, preset=False)
    p.set_defaults(func=cmd_run)

    from nasarena.bench.presets import PRESETS

    b = subparsers.add_parser(
        "bench", help="the `make bench` study (NB201-lite cifar10-valid) and its report",
        description=f"{', '.join(BENCH_STRATEGIES)} on NB201-lite "
                    "cifar10-valid, 100 seeds, a budget of 150 mean full trainings of simulated time, "
                    "then the report. The search sees one seed's 200-epoch validation accuracy; results are "
                    "reported in NB201's 200-epoch test accuracy (seed mean, shipped with nasarena). "
                    "--preset nb201-table5 runs NAS-Bench-201's Table-5 protocol instead.")
    b.add_argument("--preset", choices=sorted(PRESETS),
                   help="another named study: nb201-table5 (RS, REA, REINFORCE, BOHB as in NAS-Bench-201's "
                        "Table 5, 500 runs each; the report adds table5.md beside the paper's numbers)")
    b.add_argument("--out", type=Path, help="study folder (default runs/bench, or runs/<preset>)")
    b.add_argument("--trainings", type=float,
                   help="budget in mean 200-epoch training times of the dataset "
                        "(default 150; not with --preset)")
    b.add_argument("--test-accuracy", action="store_true",
                   help="report NB201's 200-epoch test accuracy (the default; kept for old scripts)")
    b.add_argument("--valid-accuracy", action="store_true",
                   help="report the seed-mean 200-epoch validation accuracy instead of test accuracy")
    b.add_argument("--test-table", type=Path,
                   help="CSV/Parquet with test accuracies to report instead of the shipped ones")
    b.add_argument("--no-report", action="store_true", help="skip writing the report")
    _add_grid_args(b, preset=True)
    b.set_defaults(func=cmd_bench)

    ls = subparsers.add_parser("list", help="list registered strategies, oracles, spaces or datasets",
                               description="List the names nasarena knows.")
    ls.add_argument("what", choices=("strategies", "oracles", "spaces", "datasets"))
    ls.set_defaults(func=cmd_list)


def _overrides(args: argparse.Namespace, strategies: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.strategies:
        out["strategies"] = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    if args.seeds:
        out["seeds"] = parse_seeds(args.seeds)
    if args.workers is not None:
        out["n_workers"] = args.workers
    if args.strategy_arg:
        out["strategy_kwargs"] = _strategy_args(args.strategy_arg, out.get("strategies", strategies))
    return out


def study_from_args(args: argparse.Namespace) -> StudyConfig:
    """Build the study of ``nasarena run`` from ``--config`` and the flags that override it."""
    base: dict[str, Any] = {}
    if args.config is not None:
        base = load_study_config(args.config).to_dict()
    strategies = tuple(base.get("strategies", ()))
    base.update(_overrides(args, strategies))
    if args.early_stop:
        from nasarena.strategies.early_stop import with_early_stopping

        base["strategies"], base["strategy_kwargs"] = with_early_stopping(
            tuple(base.get("strategies") or ()), dict(base.get("strategy_kwargs") or {}), args.early_stop,
            dict(key_value(a) for a in args.early_stop_arg))
    if args.oracle:
        base["oracle"] = args.oracle
    okw = dict(base.get("oracle_kwargs") or {})
    okw.update(dict(key_value(a) for a in args.oracle_arg))
    if args.dataset:
        names = [d.strip() for d in args.dataset.split(",") if d.strip()]
        okw["dataset"] = names[0]
        # several datasets: the grid runs once per dataset (StudyConfig.datasets)
        base["datasets"] = tuple(names) if len(names) > 1 else None
    base["oracle_kwargs"] = okw
    if args.budget_time is not None or args.budget_evals is not None:
        base["budget"] = {"max_time": args.budget_time, "max_evals": args.budget_evals}
    missing = [flag for key, flag in (("strategies", "--strategies"), ("oracle", "--oracle"),
                                      ("seeds", "--seeds"), ("budget", "--budget-time/--budget-evals"))
               if not base.get(key)]
    if missing:
        raise ConfigError(f"give {', '.join(missing)} (or a --config file that sets them)")
    return StudyConfig.from_dict(base)


def _run_and_print(config: StudyConfig, args: argparse.Namespace) -> Any:
    from nasarena.bench.study import run_study

    summary = run_study(config, args.out, jobs=args.jobs, progress=not args.no_progress,
                        retry_failed=args.retry_failed, executor=executor_from_args(args))
    print(summary)
    if summary.failed:
        print(f"{len(summary.failed)} run(s) failed; their tracebacks are stored with them "
              f"(see the 'error' column of load_study({str(args.out)!r}).runs)")
    return summary


def cmd_run(args: argparse.Namespace) -> int:
    """``nasarena run``."""
    _run_and_print(study_from_args(args), args)
    return 0


def mean_train_time(dataset: str = BENCH_DATASET) -> float:
    """Mean 200-epoch training time (seconds) over architectures (seed mean each) of NB201-lite."""
    from nasarena.estimators.nb201_lite import load_table

    return float(np.nanmean(np.nanmean(load_table(dataset).train_time, axis=1)))


def _preset_config(args: argparse.Namespace) -> StudyConfig:
    from nasarena.bench.presets import PRESETS

    clash = [flag for flag, given in (("--trainings", args.trainings is not None),
                                      ("--valid-accuracy", args.valid_accuracy),
                                      ("--test-table", args.test_table is not None)) if given]
    if clash:
        raise ConfigError(f"--preset {args.preset} fixes the oracle and budget; drop {', '.join(clash)}")
    base = PRESETS[args.preset]().config
    return dataclasses.replace(base, **_overrides(args, base.strategies))


def bench_config(args: argparse.Namespace) -> StudyConfig:
    """The ``make bench`` study (or ``--preset``'s), with its defaults and the given overrides.

    The final metric is NB201's 200-epoch test accuracy shipped with nasarena (``test_accuracy``),
    or ``--test-table``'s, or with ``--valid-accuracy`` the seed-mean validation accuracy."""
    if getattr(args, "preset", None):
        return _preset_config(args)
    oracle_kwargs: dict[str, Any] = {"dataset": BENCH_DATASET}
    if args.valid_accuracy and (args.test_accuracy or args.test_table is not None):
        raise ConfigError("--valid-accuracy reports validation accuracy; drop --test-accuracy/--test-table")
    if args.test_table is not None:
        if not Path(args.test_table).is_file():
            raise ConfigError(f"test-accuracy table {args.test_table} not found; pass an existing "
                              f"--test-table PATH, or drop it to use the test accuracy shipped with nasarena")
        oracle_kwargs["test_table"] = str(Path(args.test_table).resolve())
    elif not args.valid_accuracy:
        oracle_kwargs["test_accuracy"] = True
    trainings = BENCH_TRAININGS if args.trainings is None else args.trainings
    if not trainings > 0:
        raise ConfigError(f"--trainings must be positive, got {trainings}")
    budget = Budget(max_time=round(trainings * mean_train_time(BENCH_DATASET), 3))
    base = StudyConfig(strategies=BENCH_STRATEGIES, oracle=BENCH_ORACLE, oracle_kwargs=oracle_kwargs,
                       seeds=tuple(range(100)), budget=budget)
    return dataclasses.replace(base, **_overrides(args, base.strategies))


def cmd_bench(args: argparse.Namespace) -> int:
    """``nasarena bench``: the preset study, then the report (if the report module is installed)."""
    config = bench_config(args)
    if args.out is None:
        args.out = Path("runs") / (args.preset or "bench")
    budget = "" if args.preset else f" ({args.trainings or BENCH_TRAININGS:g} mean full trainings)"
    print(f"bench{' ' + args.preset if args.preset else ''}: {len(config.strategies)} strategies x "
          f"{len(config.seeds)} seeds on {config.oracle} {config.oracle_kwargs.get('dataset')}, budget "
          f"{config.budget.max_time:.0f} simulated s{budget}, output {args.out}")
    _run_and_print(config, args)
    if args.no_report:
        return 0
    try:
        report = importlib.import_module("nasarena.results.report")
    except ModuleNotFoundError as exc:
        if exc.name != "nasarena.results.report":
            raise
        print(f"report module not available; runs are in {args.out} "
              f"(load them with nasarena.results.store.load_study)")
        return 0
    paths = report.write_report(Path(args.out))
    folder = paths["report.md"].parent
    print(f"report: {paths['report.html']}\n        {paths['report.md']}\n"
          f"tables and figures: {folder} (summary.csv, verdict.csv, figures/)")
    if args.preset:
        from nasarena.bench.presets import PRESETS

        if PRESETS[args.preset]().table5:
            from nasarena.results.table5 import write_table5

            t5 = write_table5(Path(args.out), folder)
            print(t5["table5.md"].read_text())
            print(f"Table 5 comparison: {t5['table5.md']} (picks per run: {t5['table5_picks.csv']})")
    return 0


def _oracle_lines(describe: Callable[[type], str]) -> list[str]:
    """One line per registered oracle, ``"name: " + describe(cls)``; an oracle whose module cannot
    be imported (a missing optional package) is listed as not available instead of failing."""
    lines = []
    for name in ORACLES.names():
        try:
            cls = ORACLES.resolve(name)
        except (ModuleNotFoundError, ImportError, UnknownNameError) as exc:
            lines.append(f"{name}: (not available: {exc})")
            continue
        lines.append(f"{name}: {describe(cls)}")
    return lines


def _datasets_of(cls: type) -> str:
    ds = getattr(cls, "datasets", ())
    aliases = getattr(cls, "dataset_aliases", None) or {}
    also = f" (aliases: {', '.join(f'{a} = {c}' for a, c in aliases.items())})" if aliases else ""
    return f"{', '.join(ds) if ds else '(any: given by its arguments)'}{also}"


def _needs_of(cls: type) -> str:
    """What the oracle needs to run, its datasets and its fidelities (``Oracle.needs`` /
    ``Oracle.fidelity_help`` where the class states them, else the first line of its docstring)."""
    doc = (cls.__doc__ or "").strip().splitlines()
    ds = getattr(cls, "datasets", ())
    parts = [getattr(cls, "needs", None) or (doc[0].rstrip(".") if doc else ""),
             f"datasets: {', '.join(ds) if ds else 'given by its arguments'}"]
    if getattr(cls, "fidelity_help", None):
        parts.append(f"fidelities: {cls.fidelity_help}")
    return "; ".join(p for p in parts if p)


def cmd_list(args: argparse.Namespace) -> int:
    """``nasarena list``."""
    if args.what == "datasets":
        lines = _oracle_lines(_datasets_of)
    elif args.what == "oracles":
        lines = _oracle_lines(_needs_of)
    else:
        lines = {"strategies": STRATEGIES, "oracles": ORACLES, "spaces": SPACES}[args.what].names()
    print("\n".join(lines))
    return 0
