"""What a study's early-stopping runs did, for the report (rule, tell policy, training saved, overhead).

Reads only the run records (``strategy_config`` of :class:`~nasarena.strategies.early_stop.EarlyStopping`
runs), so the results room needs no strategy code: one row per wrapped strategy, means over its runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def _rule_text(rule: dict[str, Any]) -> str:
    name = rule.get("predictor") or rule.get("rule", "?")
    if name == "domhan":
        mode = rule.get("mode", "mcmc")
        if mode == "fast":
            name += " (fast)"
        else:
            name += f" (MCMC {rule.get('walkers')} walkers, {rule.get('samples')} steps, " \
                    f"{rule.get('burn_in')} burn-in)"
    if "delta" in rule:
        name += f", stop if P(final > best) < {rule['delta']:g}"
    elif rule.get("rule") == "median":
        name = f"median stopping rule (min_curves {rule.get('min_curves')})"
    return name


def early_stopping_table(meta: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per early-stopping strategy of the study (empty when it has none)."""
    rows = []
    for m in meta:
        cfg = (m or {}).get("strategy_config") or {}
        if not isinstance(cfg, dict) or "tell" not in cfg or "rule" not in cfg:
            continue
        rows.append({"strategy": ((m.get("config") or {}).get("strategy")), "rule": _rule_text(cfg["rule"]),
                     "told about a stopped training": cfg["tell"],
                     "started": cfg.get("trainings_started"), "stopped": cfg.get("trainings_stopped"),
                     "completed": cfg.get("trainings_completed"),
                     "saved": cfg.get("fraction_epochs_saved"), "ms": cfg.get("mean_decision_ms"),
                     "charged": bool(cfg.get("overhead_charged"))})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    num = ["started", "stopped", "completed", "saved", "ms"]
    df[num] = df[num].apply(pd.to_numeric, errors="coerce")
    out = df.groupby(["strategy", "rule", "told about a stopped training", "charged"], dropna=False).agg(
        runs=("started", "size"), **{f"mean {c}": (c, "mean") for c in num}).reset_index()
    out["mean saved"] = (100 * out["mean saved"]).round(1).astype(str) + " %"
    out["mean ms"] = out["mean ms"].map(lambda v: "-" if not np.isfinite(v) else f"{v:.1f}")
    out["charged"] = out["charged"].map({True: "yes", False: "no"})
    return out.rename(columns={"mean started": "trainings started", "mean stopped": "stopped",
                               "mean completed": "completed", "mean saved": "epochs saved",
                               "mean ms": "ms per decision", "charged": "overhead on the clock"})


def early_stopping_blocks(meta: Sequence[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Report blocks (``("h2", ...)``, ``("p", ...)``, ``("table", df)``) or none."""
    table = early_stopping_table(meta)
    if table.empty:
        return []
    text = ("Strategies wrapped with early stopping (docs/early-stopping.md) train in epoch increments "
            "and stop trainings by the rule below. 'told about a stopped training' is what the wrapped "
            "strategy was told: predicted = the predicted final value as its score, partial = the last "
            "observed value, stopped = a failed evaluation. Epochs saved = 1 - epochs trained / epochs "
            "the same trainings would have taken to the end; means over runs. The predictor's wall time "
            "per decision is on the simulated clock only where 'overhead on the clock' is yes.")
    return [("h2", "Early stopping"), ("p", text), ("table", table)]
