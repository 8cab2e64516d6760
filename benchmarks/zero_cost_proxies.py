"""Rank correlation of zero-cost proxies with NB201 test accuracy (Abdelfattah et al. ICLR 2021, Table 1).

Over a stated sample of NB201 architectures (uniform, ``--sample`` of them, fixed seed; ``--sample
15625`` is the whole space, the paper's setting), each proxy of the untrained network
(:mod:`nasarena.estimators.oneshot.proxies`) is compared with NB201's 200-epoch test accuracy (seed
mean, shipped table) on cifar10, cifar100 and ImageNet16-120: Spearman rho and Kendall tau-b, with
``params`` and ``flops`` as the baselines measured in the same run, plus the mean seconds per
evaluation. ``synflow``, ``params`` and ``flops`` use no data, so at C=16 N=5 and 32 px their
figures are comparable to the paper's; the data-dependent proxies (``snip``, ``grad_norm``, ``grasp``,
``fisher``, ``jacob_cov``, ``naswot``) use one batch of **generated images, not CIFAR** here, so they are not.

    python benchmarks/zero_cost_proxies.py --sample 200 --channels 16 --cells 5 --resolution 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.estimators.oneshot.zerocost import BASELINES, ZeroCostOracle
from nasarena.spaces.nb201 import NB201Space

TABLES = ("cifar10-valid", "cifar100", "ImageNet16-120")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, score the sample with every proxy, print the correlation table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--proxies", default="synflow,snip,grad_norm,grasp,fisher,jacob_cov,naswot,params,flops")
    p.add_argument("--sample", type=int, default=200)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    space = NB201Space()
    rng = np.random.default_rng(2021)
    if a.sample >= space.size:
        archs = list(space.enumerate())
    else:
        archs = [space.from_index(int(i)) for i in rng.choice(space.size, a.sample, replace=False)]
    truth = {
        t: np.array([NB201LiteOracle(t, test_accuracy=True).final_metric(x) for x in archs]) for t in TABLES
    }
    print(
        f"{len(archs)} NB201 architectures (uniform sample, seed 2021), networks at C={a.channels} "
        f"N={a.cells}, {a.resolution}px; data-dependent proxies on one batch of {a.batch_size} generated "
        f"images (not CIFAR). Truth: NB201 200-epoch test accuracy, seed mean.\n"
    )
    header = " | ".join(f"{t} rho | {t} tau" for t in TABLES)
    print(f"| proxy | s/eval | {header} |")
    print("|---|---|" + "---|" * (2 * len(TABLES)))
    for name in a.proxies.split(","):
        oracle = ZeroCostOracle(
            proxy=name,
            channels=a.channels,
            cells=a.cells,
            batch_size=a.batch_size,
            num_threads=a.threads,
            synthetic_resolution=a.resolution,
        )
        eval_rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        scores = np.array([oracle.evaluate(x, None, eval_rng).score for x in archs])
        per = (time.perf_counter() - t0) / len(archs)
        ok = np.isfinite(scores)
        cells = []
        for t in TABLES:
            rho = stats.spearmanr(scores[ok], truth[t][ok]).statistic
            tau = stats.kendalltau(scores[ok], truth[t][ok]).statistic
            cells.append(f"{rho:+.3f} | {tau:+.3f}")
        note = "" if ok.all() else f" ({int((~ok).sum())} not finite, left out)"
        kind = " (baseline)" if name in BASELINES else ""
        print(f"| {name}{kind}{note} | {per:.3f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
