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
# the incumbent after this evaluation (best observed score so far, at the highest fidelity seen)
INC_ARCH = "incumbent_arch"
INC_SCORE = "incumbent_score"
INC_FINAL = "incumbent_final"    # held-out final metric of the incumbent (harness only)
INC_REGRET = "incumbent_regret"  # best_final of the space minus incumbent_final
INC_PARAMS = "incumbent_params"

COLUMNS: tuple[str, ...] = (
    RUN_ID, STRATEGY, ORACLE, DATASET, SEED, N_WORKERS, EVAL_INDEX, TIME, WORKER, ARCH, FIDELITY,
    SCORE, COST, PARAMS, FLOPS, OK, INC_ARCH, INC_SCORE, INC_FINAL, INC_REGRET, INC_PARAMS,
)

# The verdict's default pair (Real et al. 2019): kept here, not in stats.py, so the CLI can show the
# defaults without importing scipy.
DEFAULT_RL = "reinforce"
DEFAULT_EVOLUTION = "regularized-evolution"
