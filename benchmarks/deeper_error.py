"""Function gap of the deeper morphism (one inserted layer) on the macro spaces, per space and rule,
against the same child with only equal names and shapes copied (no rule, no alignment).

For ``--n-parents`` random parents per space (randomised BN state, as after training), every
deeper child :func:`nasarena.spaces.deeper.deeper_children` offers is mapped by
:func:`nasarena.estimators.live.morphism.inherit`, and max |f_parent(x) - f_child(x)| over random
inputs is printed relative to max |f_parent(x)| (logits; eval mode: running statistics; train mode:
batch statistics): the mean and the maximum over the children. The chain's rule is exact in eval
mode only; this is where its train-mode error is measured.

    python benchmarks/deeper_error.py          # width_mult 0.25, 16px, 5 parents per space, seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from nasarena.estimators.live.morphism import function_gap, inherit, randomise_bn
from nasarena.registry import make_space
from nasarena.spaces.deeper import deeper_children, find_insertion
from nasarena.spaces.trainable import resolve_size


def measure(space_name: str, n_parents: int, width_mult: float, resolution: int,
            seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """(rule, kind) -> rows of relative gaps (eval mapped, eval plain, train mapped, train plain)."""
    space = make_space(space_name, max_layers=4)
    size = resolve_size(space, {"width_mult": width_mult})
    rng = np.random.default_rng(seed)
    x = torch.randn(16, 3, resolution, resolution, generator=torch.Generator().manual_seed(1))
    out: dict[tuple[str, str], list[list[float]]] = {}
    done = 0
    while done < n_parents:
        parent_arch = space.sample(rng)
        children = deeper_children(space, parent_arch)
        if not children:
            continue
        g = torch.Generator().manual_seed(done)
        parent = space.build_model(parent_arch, 10, resolution, size, generator=g)
        randomise_bn(parent, g, spread=0.5)
        with torch.no_grad():
            scale = float(parent.eval()(x).abs().max())
        for child_arch in children:
            ins = find_insertion(space, parent_arch, child_arch)
            row = []
            for mapped in (True, False):
                child = space.build_model(child_arch, 10, resolution, size,
                                          generator=torch.Generator().manual_seed(100 + done))
                if mapped:
                    inherit(child, parent.state_dict(), space=space, arch=child_arch, parent_arch=parent_arch,
                            size=size)
                else:
                    inherit(child, parent.state_dict())  # equal names and shapes only
                row.append((function_gap(parent, child, x) / scale,
                            function_gap(parent, child, x, train=True) / scale))
            out.setdefault((ins.rule, ins.kind), []).append([row[0][0], row[1][0], row[0][1], row[1][1]])
        done += 1
    return {k: np.array(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    """Print the relative gaps per space and rule."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-parents", type=int, default=5)
    p.add_argument("--width-mult", type=float, default=0.25)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--spaces", default="residual,dense,chain")
    args = p.parse_args(argv)
    print(f"deeper children of {args.n_parents} random parents per space (max_layers 4), width_mult "
          f"{args.width_mult}, {args.resolution}px, 16 random inputs; max |f_parent - f_child| / "
          f"max |f_parent|, mean (max) over the children; mapped by the rule vs plain name-and-shape copy")
    print(f"{'space':<9} {'rule':<9} {'kind':<12} {'n':>3} {'eval mapped':>20} {'eval plain':>10} "
          f"{'train mapped':>20} {'train plain':>11}")
    for name in args.spaces.split(","):
        gaps = measure(name, args.n_parents, args.width_mult, args.resolution)
        for (rule, kind), g in sorted(gaps.items()):
            mean, top = g.mean(axis=0), g.max(axis=0)
            print(f"{name:<9} {rule:<9} {kind:<12} {len(g):>3} {mean[0]:9.1e} ({top[0]:7.1e}) "
                  f"{mean[1]:10.2f} {mean[2]:9.1e} ({top[2]:7.1e}) {mean[3]:11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
