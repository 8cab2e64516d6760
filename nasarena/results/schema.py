"""Column names of a run's trajectory: the contract between the runner, the store and the reports.

One row per finished evaluation, in finishing order. Run-level facts (config, versions, status,
traceback) live in the Parquet file's key-value metadata under ``RUN_META_KEY`` as JSON.
"""

from __future__ import annotations

RUN_META_KEY = "nasarena.run"

# identity of the run (constant within a file)
RUN_ID = "run_id"
STRATEGY = "strategy"
ORACLE = "oracle"
DATASET = "dataset"
SEED = "seed"
N_WORKERS = "n_workers"
# the evaluation
EVAL_INDEX = "eval_index"      # 1-based count of finished evaluations
TIME = "time"                  # simulated (or measured) seconds on the run's clock at finish
WORKER = "worker"
ARCH = "arch"                  # the space's string of the architecture
FIDELITY = "fidelity"          # Fidelity.key()
SCORE = "score"                # what the strategy was told (NaN if failed)
COST = "cost"
PARAMS = "params"              # millions
FLOPS = "flops"                # millions
OK = "ok"
# the evaluation's lineage (issue 9); files written before it lack these (see LEGACY_DEFAULTS)
PROPOSAL_ID = "proposal_id"    # the strategy's proposal id (-1: unknown, an old file)
PARENT_ID = "parent_id"        # the proposal it continues or inherits from (-1 if none)
KIND = "kind"                  # "fresh" | "continue" | "warm-start" | "shared"
CUM_COST = "cum_cost"          # cost of the architecture's lineage: continued parent's cum_cost + cost
# how a warm start's weights were mapped (issue 13), from the evaluation's ``extras["morphism"]``:
# "exact" | "approximate" | "lamarckian"; "" for every other evaluation and for an oracle that does
# not say (files written before it lack the column, see LEGACY_DEFAULTS)
MORPHISM = "morphism"
# the incumbent after this evaluation (best observed score so far, at the highest fidelity seen)
INC_ARCH = "incumbent_arch"
INC_SCORE = "incumbent_score"
INC_FINAL = "incumbent_final"    # held-out final metric of the incumbent (harness only)
INC_REGRET = "incumbent_regret"  # best_final of the space minus incumbent_final
INC_PARAMS = "incumbent_params"

COLUMNS: tuple[str, ...] = (
    RUN_ID, STRATEGY, ORACLE, DATASET, SEED, N_WORKERS, EVAL_INDEX, TIME, WORKER, ARCH, FIDELITY,
    SCORE, COST, PARAMS, FLOPS, OK, PROPOSAL_ID, PARENT_ID, KIND, CUM_COST, MORPHISM,
    INC_ARCH, INC_SCORE, INC_FINAL, INC_REGRET, INC_PARAMS,
)

#: Columns added after the first stored studies, with the value an old file's rows get when read:
#: every old row was a fresh evaluation whose proposal id was not recorded; a warm start recorded
#: before the morphism column has an unknown mapping ("").
LEGACY_DEFAULTS: dict[str, object] = {PROPOSAL_ID: -1, PARENT_ID: -1, KIND: "fresh", CUM_COST: COST,
                                      MORPHISM: ""}


def upgrade(table):  # noqa: ANN001, ANN201 - pyarrow is imported lazily (the CLI imports this module)
    """An Arrow trajectory table with the columns of :data:`LEGACY_DEFAULTS` added where missing.

    A default naming another column (``cum_cost`` -> ``cost``) copies that column. Other missing
    columns are left for the caller to report.
    """
    import pyarrow as pa

    n = table.num_rows
    for name, default in LEGACY_DEFAULTS.items():
        if name in table.column_names:
            continue
        if isinstance(default, str) and default in table.column_names:
            column = table.column(default)
        elif isinstance(default, str):
            column = pa.array([default] * n, type=pa.string())
        else:
            column = pa.array([default] * n, type=pa.int64())
        table = table.append_column(name, column)
    return table

# The verdict's default pair (Real et al. 2019): kept here, not in stats.py, so the CLI can show the
# defaults without importing scipy.
DEFAULT_RL = "reinforce"
DEFAULT_EVOLUTION = "regularized-evolution"
