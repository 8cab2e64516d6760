"""Params/FLOPs agreement of the analytic counts with the built PyTorch model (macro spaces).

For ``--n-archs`` sampled architectures of each default (6-layer) macro space, at two (resolution,
width multiplier, depth limit) settings, builds the model and compares its parameter count and its
measured MACs (:func:`nasarena.spaces.measure.measured_macs`) with
:func:`nasarena.spaces.macro.cost.params_and_flops`. (The strategy conformance suite on the default
spaces: ``NASARENA_MACRO_FULL=1 pytest tests/spaces/test_macro_strategies.py``.)

    python benchmarks/macro_conformance.py                 # 100 architectures per space
    python benchmarks/macro_conformance.py --spaces chain --n-archs 50
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from nasarena.registry import make_space
from nasarena.spaces.macro.cost import params_and_flops
from nasarena.spaces.macro.network import build_network
from nasarena.spaces.measure import count_parameters, measured_macs

SETTINGS = ((32, 1.0, None), (16, 0.5, 2))


def agreement(name: str, n_archs: int, seed: int) -> tuple[int, int, int]:
    """(models built, params equal, MACs equal) over sampled architectures of space ``name``."""
    space = make_space(name)
    rng = np.random.default_rng(seed)
    built = same_params = same_macs = 0
    for _ in range(n_archs):
        arch = space.sample(rng)
        for resolution, width_mult, depth_limit in SETTINGS:
            model = build_network(space, arch, 10, resolution, width_mult, depth_limit)
            params, flops = params_and_flops(space, arch, 10, resolution, width_mult, depth_limit)
            built += 1
            same_params += count_parameters(model) == round(params * 1e6)
            same_macs += measured_macs(model, resolution) == round(flops * 1e6)
    return built, same_params, same_macs


def main() -> None:
    """Print the agreement counts per space."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="chain,residual,dense")
    parser.add_argument("--n-archs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.spaces.split(","):
        built, p, f = agreement(name, args.n_archs, args.seed)
        print(f"{name}: params equal for {p}/{built} built models, MACs equal for {f}/{built}", flush=True)

if __name__ == "__main__":
    main()
