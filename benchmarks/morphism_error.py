"""Function gap of every NB201 edge change under the warm-start weight mapping (exact, approximate,
Lamarckian), against a fresh initialisation of the same child as the baseline.

For each (parent op -> child op) pair, over ``--n-parents`` random parent cells containing that op on
edge 3<-0 (the input feeds node 3 directly, so the change always matters), a parent network with
randomised BN state (as after training) is mapped onto the child by
:func:`nasarena.estimators.live.morphism.inherit`, and the max |f_parent(x) - f_child(x)| over random
inputs is printed relative to max |f_parent(x)| (eval mode: running statistics; train mode: batch
statistics), beside the same gap for a child whose changed edge keeps its fresh initialisation.

    python benchmarks/morphism_error.py            # C=8, N=1, 16px, 5 parents per pair, seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from nasarena.estimators.live.morphism import function_gap, inherit, randomise_bn
from nasarena.spaces.morphisms import kind_of
from nasarena.spaces.nb201 import OPS, NB201Space
from nasarena.spaces.nb201_torch import build_network

EDGE = 3  # 3<-0


def randomised(arch, channels, cells, g):
    """A network of ``arch`` with BN affine parameters and running statistics away from defaults."""
    model = build_network(arch, 10, channels, cells, generator=g)
    randomise_bn(model, g, spread=0.5)
    return model


def main(argv: list[str] | None = None) -> int:
    """Print the relative gaps per op pair."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-parents", type=int, default=5)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--resolution", type=int, default=16)
    args = p.parse_args(argv)
    space, rng = NB201Space(), np.random.default_rng(0)
    x = torch.randn(32, 3, args.resolution, args.resolution, generator=torch.Generator().manual_seed(1))
    print(f"NB201 C={args.channels}, N={args.cells}, {args.resolution}px, {args.n_parents} parents per pair; "
          f"max |f_parent - f_child| / max |f_parent| (mean over parents), mapped vs fresh child")
    print(f"{'parent -> child':<34} {'kind':<11} {'eval mapped':>11} {'eval fresh':>10} {'train mapped':>12} "
          f"{'train fresh':>11}")
    for a in range(len(OPS)):
        for b in range(len(OPS)):
            if a == b:
                continue
            gaps = []
            for i in range(args.n_parents):
                parent_arch = list(space.sample(rng))
                parent_arch[EDGE] = a
                child_arch = list(parent_arch)
                child_arch[EDGE] = b
                g = torch.Generator().manual_seed(i)
                parent = randomised(tuple(parent_arch), args.channels, args.cells, g)
                with torch.no_grad():
                    scale = float(parent.eval()(x).abs().max())
                row = []
                for mapped in (True, False):
                    child = build_network(tuple(child_arch), 10, args.channels, args.cells,
                                          generator=torch.Generator().manual_seed(100 + i))
                    if mapped:
                        inherit(child, parent.state_dict(), space=space, arch=tuple(child_arch),
                                parent_arch=tuple(parent_arch))
                    else:
                        inherit(child, parent.state_dict())  # equal names and shapes only
                    row.append((function_gap(parent, child, x) / scale,
                                function_gap(parent, child, x, train=True) / scale))
                gaps.append([row[0][0], row[1][0], row[0][1], row[1][1]])
            m = np.mean(gaps, axis=0)
            kind = kind_of(space, tuple(parent_arch), tuple(child_arch))
            print(f"{OPS[a] + ' -> ' + OPS[b]:<34} {kind:<11} {m[0]:11.2e} {m[1]:10.2e} {m[2]:12.2e} "
                  f"{m[3]:11.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
