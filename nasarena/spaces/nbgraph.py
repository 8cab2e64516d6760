"""The NAS-Bench-Graph search space (Qin et al., 2022), as defined by the PyPI package ``nas-bench-graph``.

A GNN cell has four operations. Operation ``i`` reads node ``link[i]`` (node 0 is the cell input,
node ``k >= 1`` the output of operation ``k - 1``), so ``link[0] = 0`` is fixed and the three free
links take ``lk1 in {0, 1}``, ``lk2 in {0, 1, 2}``, ``lk3 in {0, 1, 2, 3}`` (24 link patterns).
Each operation is one of nine GNN layers (``gnn_list`` of the package; the ``proteins`` dataset
was benchmarked with five of them, ``gnn_list_proteins``). An architecture is the tuple
``(lk1, lk2, lk3, op0, op1, op2, op3)`` of decision indices.

Many decision tuples compute the same function (branches in another order, skip connections that
only rename a node). The package's own canonicalisation, ``Arch.valid_hash()``, maps each to the
integer key of its benchmark tables; :meth:`NBGraphSpace.canonical` returns exactly that key, so
there is one definition of "same architecture" in nasarena and in the benchmark data. Over the
157,440 valid tuples it yields 26,206 keys (2,021 for proteins), all present in the shipped tables.
The only tuples the package cannot map to a benchmarked architecture are those whose four
operations are all ``skip`` (the package's ``all_archs`` excludes them too); :meth:`is_valid`
rejects them. Sampling, mutation and neighbours act on decision tuples (the package's NNI search
space has the same decisions), so a uniform sample is uniform over tuples, not over the 26,206
distinct architectures.
"""

from __future__ import annotations

import functools

from nasarena.errors import DataError, InvalidArchitectureError, unknown
from nasarena.spaces.base import Arch, Decision, SearchSpace

# Copied from nas_bench_graph.architecture (v1.4.0) so that building the space needs no import of the
# package; tests check that the two lists stay identical.
GNN_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
GNN_OPS_PROTEINS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
OP_SETS: dict[str, tuple[str, ...]] = {"full": GNN_OPS, "proteins": GNN_OPS_PROTEINS}
N_LINKS = 3  # lk1, lk2, lk3 (lk0 = 0 is fixed)
N_OPS = 4


class NBGraphSpace(SearchSpace):
    """NAS-Bench-Graph: 3 free links + 4 GNN ops; strings like ``"0-0-1-2|gcn-gat-skip-fc"``.

    ``ops="full"`` (default) uses the nine layers of eight of the nine datasets; ``ops="proteins"``
    the five layers the ``proteins`` dataset was benchmarked with. The string lists all four links
    (including the fixed leading 0), then the four op names, like the package's ``Arch(link, ops)``.
    """

    name = "nbgraph"

    def __init__(self, ops: str = "full") -> None:
        if ops not in OP_SETS:
            raise unknown("op set", ops, OP_SETS, "use 'proteins' for the proteins dataset")
        self.op_set = ops
        self.ops = OP_SETS[ops]
        self._op_index = {op: i for i, op in enumerate(self.ops)}
        self._skip = self._op_index["skip"]
        self.decisions = (
            *(Decision(f"link{i}", tuple(str(v) for v in range(i + 1))) for i in range(1, N_LINKS + 1)),
            *(Decision(f"op{i}", self.ops) for i in range(N_OPS)),
        )

    @property
    def size(self) -> int:
        """Valid tuples: 24 link patterns x |ops|^4, less the 24 all-skip ones."""
        return 24 * len(self.ops) ** N_OPS - 24

    def is_valid(self, arch: Arch) -> bool:
        """All tuples are valid except those whose four ops are all ``skip`` (not benchmarked)."""
        s = self._skip
        return not (arch[3] == s and arch[4] == s and arch[5] == s and arch[6] == s)

    # ---- strings ---------------------------------------------------------------------------
    def links(self, arch: Arch) -> list[int]:
        """The package's ``link`` list ``[0, lk1, lk2, lk3]``."""
        return [0, *arch[:N_LINKS]]

    def op_names(self, arch: Arch) -> list[str]:
        """The package's ``ops`` list of four layer names."""
        return [self.ops[i] for i in arch[N_LINKS:]]

    def to_string(self, arch: Arch) -> str:
        """``"0-lk1-lk2-lk3|op0-op1-op2-op3"``, e.g. ``"0-0-1-2|gcn-gat-skip-fc"``."""
        a = self.validate(arch)
        return "-".join(map(str, self.links(a))) + "|" + "-".join(self.op_names(a))

    def from_string(self, text: str) -> Arch:
        """Parse :meth:`to_string`'s format; errors name the bad token and the valid choices."""
        fmt = "format '0-lk1-lk2-lk3|op0-op1-op2-op3', e.g. '0-0-1-2|gcn-gat-skip-fc'"
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"nbgraph: expected a string ({fmt}), got {text!r}")
        link_part, sep, op_part = text.strip().partition("|")
        if not sep or "|" in op_part:
            raise InvalidArchitectureError(f"nbgraph: {text!r} must have exactly one '|' ({fmt})")
        links = link_part.split("-")
        ops = op_part.split("-")
        if len(links) != N_LINKS + 1 or len(ops) != N_OPS:
            raise InvalidArchitectureError(
                f"nbgraph: {text!r} has {len(links)} links and {len(ops)} ops, expected 4 and 4 ({fmt})")
        if links[0] != "0":
            raise InvalidArchitectureError(f"nbgraph: the first link must be '0' (op0 reads the input), "
                                           f"got {links[0]!r} in {text!r}")
        out: list[int] = []
        for i, tok in enumerate(links[1:], start=1):
            if tok not in {str(v) for v in range(i + 1)}:
                raise InvalidArchitectureError(
                    f"nbgraph: link{i} {tok!r} in {text!r} is invalid; op{i} can read nodes 0..{i}")
            out.append(int(tok))
        for i, tok in enumerate(ops):
            if tok not in self._op_index:
                raise InvalidArchitectureError(
                    f"nbgraph: unknown op {tok!r} (op{i}) in {text!r}; valid ops ({self.op_set}) are "
                    f"{', '.join(self.ops)}")
            out.append(self._op_index[tok])
        arch = tuple(out)
        if not self.is_valid(arch):
            raise InvalidArchitectureError(f"nbgraph: {text!r} has only skip ops, which computes no layer "
                                           f"and is not part of NAS-Bench-Graph; use at least one GNN op")
        return arch

    # ---- isomorphism -----------------------------------------------------------------------
    def canonical(self, arch: Arch) -> int:
        """The package's ``Arch(link, ops).valid_hash()``: the key of its benchmark tables.

        Equal exactly for tuples the package considers the same architecture.
        """
        a = self.validate(arch)
        return bench_key(tuple(self.links(a)), tuple(self.op_names(a)))

    def __repr__(self) -> str:
        return f"NBGraphSpace(ops={self.op_set!r})"


@functools.lru_cache(maxsize=1 << 16)
def bench_key(links: tuple[int, ...], ops: tuple[str, ...]) -> int:
    """``nas_bench_graph.Arch(list(links), list(ops)).valid_hash()`` (cached; ~10 us uncached)."""
    try:
        from nas_bench_graph.architecture import Arch as _PackageArch
    except ModuleNotFoundError:
        raise DataError("the nbgraph space needs the PyPI package nas-bench-graph for its canonical form; "
                        "install it with `pip install nas-bench-graph==1.4.0` (or `make setup`)") from None
    return int(_PackageArch(list(links), list(ops)).valid_hash())


__all__ = ["GNN_OPS", "GNN_OPS_PROTEINS", "NBGraphSpace", "OP_SETS", "bench_key"]
