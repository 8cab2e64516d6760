"""``table``: an oracle over any CSV/Parquet table with declared columns.

One row is one measured evaluation: an architecture string (parsed by the named search space), the
search metric, and optionally the final (held-out) metric, cost in seconds, params, FLOPs, extra
metrics, a seed, a fidelity and a dataset. Several rows for one architecture and fidelity are seeds:
``evaluate`` draws one of them with the caller's generator (the noise a real search sees) and the
final metric is their mean (of the final column if declared, else of the search metric; NaN cells,
e.g. failed seeds, are skipped). A drawn row whose score is NaN is returned as a failed evaluation.

The defaults match the Parquet caches written by live training (``arch, dataset, fidelity, seed,
score, final, cost, params, flops, curve``), so ``TableOracle(path)`` serves such a file; any other
table declares its column names. A column left at its default is used when present; a column named
explicitly must exist. Fidelity cells are :meth:`Fidelity.key` strings (``"epochs=12"``, ``"full"``)
or plain integers (epochs).

:class:`FinalFromTable` and :func:`read_final_column` join a table's column to another oracle as its
final metric, e.g. NB201 test accuracy (``../shared/data/nb201/test_accuracy.csv``) for ``nb201-lite``.

**Continue** (issue 12): a table with a curve column whose fidelities differ in epochs only (per-epoch
rows, e.g. the prefixes of recorded trainings) offers ``"continue"``: ``evaluate(start=handle)``
returns the row of the same seed (same position among the architecture's rows) at the higher
fidelity and charges ``its cost - the start row's cost``, so the cost column of such a table is the
cumulative cost up to that epoch. The handle is ``(arch, fidelity, row position)``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasarena.errors import ConfigError, DataError, InvalidArchitectureError, unknown
from nasarena.estimators.base import (
    CONTINUE,
    FULL,
    MULTI_FIDELITY,
    Evaluation,
    Fidelity,
    Oracle,
    cheapest_first,
)
from nasarena.spaces.base import Arch, SearchSpace, SubsetSpace

_AUTO = "<auto>"  # sentinel: "use the default column name if the table has it"
_OPTIONAL_DEFAULTS = {"final_column": "final", "cost_column": "cost", "params_column": "params",
                      "flops_column": "flops", "seed_column": "seed", "fidelity_column": "fidelity",
                      "dataset_column": "dataset", "curve_column": "curve"}


def read_frame(path: str | Path) -> Any:
    """Read a ``.csv``/``.csv.gz`` or ``.parquet`` file into a pandas DataFrame."""
    import pandas as pd  # local import: tabular oracles that never read a table stay light

    p = Path(path)
    if not p.is_file():
        raise DataError(f"no such table {p}; give the path of a .csv or .parquet file")
    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        import pyarrow as pa

        frame = pd.read_parquet(p)
        pa.default_memory_pool().release_unused()  # Arrow's pool keeps decode buffers otherwise
        return frame
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(p)
    raise DataError(f"{p}: unknown table format; use a .csv, .csv.gz or .parquet file")


def check_columns(frame: Any, expected: dict[str, str], source: str) -> None:
    """Raise :class:`DataError` listing expected and found columns if any expected one is missing.

    ``expected`` maps the role (``"arch_column"``) to the column name declared for it.
    """
    found = [str(c) for c in frame.columns]
    missing = {role: col for role, col in expected.items() if col not in found}
    if not missing:
        return
    hints = []
    for role, col in missing.items():
        low = col.lower()
        close = difflib.get_close_matches(col, found, n=1, cutoff=0.5) or \
            [f for f in found if f.lower() in low or low in f.lower()][:1]
        hints.append(f"{role}={col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    want = ", ".join(f"{role}={col!r}" for role, col in expected.items())
    raise DataError(f"{source}: missing column(s) {', '.join(hints)}. Expected columns: {want}; "
                    f"found columns: {found}. Name the right columns with the matching keyword arguments.")


def parse_archs(strings: Sequence[str], space: SearchSpace, source: str) -> list[Arch]:
    """Parse architecture strings (each distinct one once); errors name the row and the string."""
    parsed: dict[str, Arch] = {}
    out = []
    for row, text in enumerate(strings):
        arch = parsed.get(text)
        if arch is None:
            try:
                arch = parsed[text] = space.from_string(text)
            except InvalidArchitectureError as exc:
                raise DataError(f"{source}: row {row}: {exc}") from None
        out.append(arch)
    return out


def read_final_column(path: str | Path, space: SearchSpace, arch_column: str,
                      final_column: str) -> dict[Arch, float]:
    """Architecture -> mean of ``final_column`` over its rows, NaNs skipped (a table's held-out metric)."""
    frame = read_frame(path)
    check_columns(frame, {"arch_column": arch_column, "final_column": final_column}, str(path))
    archs = parse_archs(frame[arch_column].astype(str).tolist(), space, str(path))
    values = frame[final_column].to_numpy(dtype=float)
    sums: dict[Arch, list[float]] = {}
    for arch, v in zip(archs, values.tolist(), strict=True):
        sums.setdefault(arch, []).append(v)
    return {a: _nanmean(v) for a, v in sums.items()}


def _nanmean(values: list[float]) -> float:
    """Mean of the non-NaN values (NaN if there are none): failed seeds do not poison the mean."""
    ok = [v for v in values if v == v]
    return math.fsum(ok) / len(ok) if ok else math.nan


def _fidelity_of(value: Any) -> Fidelity:
    if isinstance(value, Fidelity):
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return Fidelity(epochs=int(value))
    if isinstance(value, float) and value.is_integer():
        return Fidelity(epochs=int(value))
    return Fidelity.parse(str(value))


def _curve(value: Any) -> tuple[float, ...] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):  # CSV round trip of a list: "[1.0, 2.0]"
        value = [v for v in value.strip("[]() ").replace(",", " ").split()]
    return tuple(float(v) for v in value)


class TableOracle(Oracle):
    """Oracle over a CSV/Parquet table (see module docstring for the column conventions).

    Only ``path`` is required. ``space`` is a registered space name or a :class:`SearchSpace`;
    ``dataset`` selects rows when the table has a dataset column; ``fidelity`` is the fidelity of
    every row when the table has no fidelity column; ``constant_cost`` is the cost in seconds of
    every evaluation when it has no cost column. ``on_missing="fail"`` returns a failed
    :class:`Evaluation` costing ``constant_cost`` (and NaN final metric) for an architecture absent
    from the table instead of raising :class:`DataError`. ``restrict_space=True`` makes the oracle's
    space the architectures the table has (a :class:`~nasarena.spaces.base.SubsetSpace`), for tables
    that cover part of a space, e.g. a tabulated live study; strategies that sample decisions
    independently (REINFORCE, Optuna) may then propose non-members and fail on very sparse tables.
    ``metric`` / ``final_name`` label the two metrics in outputs.
    """

    name = "table"
    offers = frozenset({MULTI_FIDELITY, CONTINUE})

    def __init__(self, path: str | Path, *, space: str | SearchSpace = "nb201", dataset: str | None = None,
                 arch_column: str = "arch", score_column: str = "score", final_column: str | None = _AUTO,
                 cost_column: str | None = _AUTO, params_column: str | None = _AUTO,
                 flops_column: str | None = _AUTO, seed_column: str | None = _AUTO,
                 fidelity_column: str | None = _AUTO, dataset_column: str | None = _AUTO,
                 curve_column: str | None = _AUTO, extra_columns: Sequence[str] = (),
                 fidelity: str | Fidelity = FULL, constant_cost: float = 1.0, on_missing: str = "error",
                 metric: str | None = None, final_name: str | None = None,
                 restrict_space: bool = False) -> None:
        if on_missing not in ("error", "fail"):
            raise unknown("on_missing mode", on_missing, ("error", "fail"))
        if isinstance(space, str):
            from nasarena.registry import make_space
            space = make_space(space)
        self.space = space
        self.path = Path(path)
        self.on_missing = on_missing
        frame = read_frame(self.path)
        found = {str(c) for c in frame.columns}
        declared = {"final_column": final_column, "cost_column": cost_column,
                    "params_column": params_column, "flops_column": flops_column,
                    "seed_column": seed_column, "fidelity_column": fidelity_column,
                    "dataset_column": dataset_column, "curve_column": curve_column}
        cols: dict[str, str | None] = {}
        for role, col in declared.items():
            if col == _AUTO:
                default = _OPTIONAL_DEFAULTS[role]
                col = default if default in found else None
            cols[role] = col
        expected = {"arch_column": arch_column, "score_column": score_column,
                    **{r: c for r, c in cols.items() if c is not None},
                    **{f"extra_columns[{i}]": c for i, c in enumerate(extra_columns)}}
        check_columns(frame, expected, str(self.path))
        self.columns = expected
        frame = self._select_dataset(frame, cols["dataset_column"], dataset)
        self.metric = metric or score_column  # type: ignore[misc]
        self.final_metric_name = final_name or cols["final_column"] or f"{score_column}_seed_mean"  # type: ignore[misc]
        self.constant_cost = float(constant_cost)
        self._build(frame, arch_column, score_column, cols, tuple(extra_columns), fidelity)
        if restrict_space:
            # Strategies then propose only architectures the table has at its top fidelity.
            self.space = SubsetSpace(self.space, self._final)

    def _select_dataset(self, frame: Any, column: str | None, dataset: str | None) -> Any:
        if column is None:
            self.dataset = dataset or self.path.name.split(".")[0]
            self.datasets = (self.dataset,)  # type: ignore[misc]
            return frame
        values = sorted(str(v) for v in frame[column].unique())
        if dataset is None:
            if len(values) != 1:
                raise ConfigError(f"{self.path} holds several datasets {values}; choose one with dataset=...")
            dataset = values[0]
        if dataset not in values:
            raise unknown("dataset", dataset, values, f"(datasets present in {self.path})")
        self.dataset = dataset
        self.datasets = tuple(values)  # type: ignore[misc]
        return frame[frame[column].astype(str) == dataset]

    def _build(self, frame: Any, arch_column: str, score_column: str, cols: dict[str, str | None],
               extra: tuple[str, ...], fidelity: str | Fidelity) -> None:
        src = str(self.path)
        archs = parse_archs(frame[arch_column].astype(str).tolist(), self.space, src)
        n = len(archs)
        if n == 0:
            raise DataError(f"{src}: the table has no rows for dataset {self.dataset!r}")

        def floats(name: str) -> list[float]:
            try:
                return frame[name].to_numpy(dtype=float).tolist()
            except (TypeError, ValueError) as exc:
                raise DataError(f"{src}: column {name!r} must be numeric ({exc})") from None

        def column(role: str, fill: float) -> list[float]:
            name = cols[role]
            return [fill] * n if name is None else floats(name)

        score = floats(score_column)
        final = column("final_column", math.nan)
        cost = column("cost_column", self.constant_cost)
        params = column("params_column", math.nan)
        flops = column("flops_column", math.nan)
        seeds = column("seed_column", math.nan)
        extras = [floats(c) for c in extra]
        if cols["fidelity_column"] is None:
            default = fidelity if isinstance(fidelity, Fidelity) else Fidelity.parse(fidelity)
            fids = [default] * n
        else:
            cache: dict[Any, Fidelity] = {}
            fids = []
            for v in frame[cols["fidelity_column"]].tolist():
                if v not in cache:
                    cache[v] = _fidelity_of(v)
                fids.append(cache[v])
        curves = [None] * n if cols["curve_column"] is None else \
            [_curve(v) for v in frame[cols["curve_column"]].tolist()]

        sums: dict[Fidelity, list[float]] = {}
        for f, c in zip(fids, cost, strict=True):
            sums.setdefault(f, []).append(c)
        # cheapest first by the table's own mean cost (NaN costs skipped), ties by the fields
        self.fidelities = cheapest_first(sums, {f: _nanmean(c) if any(v == v for v in c) else 0.0
                                                for f, c in sums.items()})
        order = range(n) if cols["seed_column"] is None else \
            sorted(range(n), key=lambda i: (seeds[i] if not math.isnan(seeds[i]) else math.inf, i))
        use_final = cols["final_column"] is not None
        rows: dict[tuple[Arch, Fidelity], list[tuple[Any, ...]]] = {}
        finals: dict[Arch, list[float]] = {}
        top = self.fidelities[-1]
        for i in order:
            ex = {name: vals[i] for name, vals in zip(extra, extras, strict=True)}
            if not math.isnan(seeds[i]):
                ex["seed"] = seeds[i]
            rows.setdefault((archs[i], fids[i]), []).append(
                (score[i], cost[i], params[i], flops[i], ex, curves[i]))
            if fids[i] == top:
                finals.setdefault(archs[i], []).append(final[i] if use_final else score[i])
        self._rows = {k: tuple(v) for k, v in rows.items()}
        rest = {(f.data_fraction, f.size, f.resolution) for f in self.fidelities}
        self._continuable = (cols["curve_column"] is not None and len(self.fidelities) > 1 and len(rest) == 1
                             and all(f.epochs is not None for f in self.fidelities))
        self._final = {a: _nanmean(v) for a, v in finals.items()}
        # params of an architecture: its first row at the top fidelity (seeds share the network)
        self._params = {a: r[0][2] for (a, f), r in self._rows.items()
                        if f == top and not math.isnan(r[0][2])}
        values = np.array(list(self._final.values()), dtype=float)
        self.best_final = float(np.nanmax(values)) if np.isfinite(values).any() else math.nan
        self.n_rows = n

    # ---- the oracle contract ---------------------------------------------------------------
    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """One row of ``arch`` at ``fidelity`` drawn with ``rng`` (one seed, if there are several);
        with ``start``, the continue of an earlier evaluation (see the module docstring)."""
        fid = self.fidelities[-1] if fidelity is None else fidelity
        try:
            rows = self._rows.get((arch, fid))
        except TypeError:  # an unhashable arch (list, array): validate it into the tuple form
            arch = self.space.validate(arch)
            rows = self._rows.get((arch, fid))
        if rows is None:
            fid = self.check_fidelity(fidelity)
            rows = self._rows.get((arch, fid))
            if rows is None:
                msg = f"{self.path}: no row for {self.space.to_string(arch)} at fidelity {fid.key()}"
                if self.on_missing == "fail":  # charged, so the clock still advances
                    return Evaluation.failed(arch, fid, msg, self.constant_cost)
                raise DataError(msg + "; pass on_missing='fail' to treat missing rows as failed evaluations")
        if start is not None:
            return self._continue(arch, fid, rows, start)
        index = int(rng.random() * len(rows))
        score, cost, params, flops, extras, curve = rows[index]
        if score != score:  # NaN: the row records a failed evaluation
            return Evaluation.failed(arch, fid, f"{self.path}: the drawn row has no score (NaN)", cost)
        return Evaluation(arch=arch, fidelity=fid, score=score, cost=cost, params=params, flops=flops,
                          curve=curve, extras=dict(extras),
                          handle=(arch, fid, index) if self._continuable else None)

    def _continue(self, arch: Arch, fid: Fidelity, rows: tuple, start: Any) -> Evaluation:
        """The same seed's row at ``fid``, charged the cost beyond the start row (see module docstring)."""
        if not self._continuable:
            raise ConfigError(f"{self.path}: this table cannot continue an evaluation (it needs a curve "
                              f"column and fidelities that differ in epochs only)")
        s_arch, s_fid, s_index = start
        if s_arch != arch or not (s_fid.epochs or 0) < (fid.epochs or 0):
            raise ConfigError(f"{self.path}: a continue must extend the same architecture to more epochs; "
                              f"got {self.space.to_string(s_arch)} at {s_fid.key()} -> "
                              f"{self.space.to_string(arch)} at {fid.key()}")
        before = self._rows[(s_arch, s_fid)][s_index]
        index = min(s_index, len(rows) - 1)
        if "seed" in before[4]:  # rows are sorted by seed: find the start row's seed at this fidelity
            index = next((i for i, r in enumerate(rows) if r[4].get("seed") == before[4]["seed"]), index)
        score, cost, params, flops, extras, curve = rows[index]
        increment = max(cost - before[1], 0.0)
        if score != score:
            return Evaluation.failed(arch, fid, f"{self.path}: the continued row has no score (NaN)",
                                     increment)
        return Evaluation(arch=arch, fidelity=fid, score=score, cost=increment, params=params, flops=flops,
                          curve=curve, extras=dict(extras), handle=(arch, fid, index))

    def capabilities(self) -> frozenset[str]:
        """Multi-fidelity with several fidelities; continue for per-epoch tables with curves."""
        caps = super().capabilities()
        return caps | {CONTINUE} if self._continuable else caps

    def final_metric(self, arch: Arch) -> float:
        """Mean over the rows of ``arch`` at the top fidelity of the final column (or the score)."""
        value = self._final.get(tuple(arch))
        if value is None:
            if self.on_missing == "fail":
                return math.nan
            raise DataError(f"{self.path}: no row for {self.space.to_string(arch)} at the top fidelity "
                            f"{self.fidelities[-1].key()}, so it has no final metric")
        return value

    def params(self, arch: Arch) -> float:
        """Params (millions) from the params column, NaN where the table has none."""
        return self._params.get(tuple(arch), math.nan)

    def archs(self) -> list[Arch]:
        """Architectures that have a final metric (rows at the top fidelity), in table order."""
        return list(self._final)

    def describe(self) -> dict[str, Any]:
        """Base description plus the file, the columns used and how cost is obtained."""
        cost = (f"column {self.columns['cost_column']!r}" if "cost_column" in self.columns
                else f"constant {self.constant_cost:g} s per evaluation (the table has no cost column)")
        return {**super().describe(), "source": str(self.path), "columns": dict(self.columns),
                "cost": cost, "rows": self.n_rows}


class FinalFromTable(Oracle):
    """Wrap an oracle and take its final metric from a table column (e.g. test accuracy).

    Everything a strategy sees (``evaluate``) is the wrapped oracle's; only the harness-side
    :meth:`final_metric` (and ``best_final``) come from ``final_column`` of ``path``, averaged
    over rows of the same architecture.
    """

    def __init__(self, oracle: Oracle, path: str | Path, arch_column: str, final_column: str,
                 final_name: str | None = None) -> None:
        self.inner = oracle
        self.name = oracle.name  # type: ignore[misc]
        self.datasets = oracle.datasets  # type: ignore[misc]
        self.metric = oracle.metric  # type: ignore[misc]
        self.final_metric_name = final_name or final_column  # type: ignore[misc]
        self.space = oracle.space
        self.dataset = oracle.dataset
        self.fidelities = oracle.fidelities
        self.path = Path(path)
        self.final_column = final_column
        self._final = read_final_column(path, oracle.space, arch_column, final_column)
        values = np.array(list(self._final.values()), dtype=float)
        self.best_final = float(np.nanmax(values)) if np.isfinite(values).any() else math.nan

    @property
    def offers(self) -> frozenset[str]:  # type: ignore[override]
        """What the wrapped oracle's class can offer."""
        return self.inner.offers

    def capabilities(self) -> frozenset[str]:
        """The wrapped oracle's capabilities."""
        return self.inner.capabilities()

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """The wrapped oracle's evaluation, unchanged."""
        if start is None and inherit is None:
            return self.inner.evaluate(arch, fidelity, rng)
        return self.inner.evaluate(arch, fidelity, rng, start=start, inherit=inherit)

    def run_shared(self, work: Any, rng: np.random.Generator) -> Evaluation:
        """The wrapped oracle's shared work."""
        return self.inner.run_shared(work, rng)

    def final_metric(self, arch: Arch) -> float:
        """``final_column`` of ``arch`` in the table; :class:`DataError` if the table lacks it."""
        try:
            return self._final[tuple(arch)]
        except KeyError:
            raise DataError(f"{self.path} has no row for {self.space.to_string(arch)} "
                            f"(column {self.final_column!r})") from None

    def params(self, arch: Arch) -> float:
        """The wrapped oracle's params."""
        return self.inner.params(arch)

    def describe(self) -> dict[str, Any]:
        """The wrapped oracle's description with the final metric replaced by the table column."""
        return {**self.inner.describe(), "final_metric": self.final_metric_name,
                "best_final": self.best_final,
                "final_metric_source": f"column {self.final_column!r} of {self.path}"}


__all__ = ["FinalFromTable", "TableOracle", "check_columns", "parse_archs",
           "read_final_column", "read_frame"]
