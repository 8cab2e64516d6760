"""Build ``nasarena/data/nb201_test_accuracy.parquet`` from the shared NAS-Bench-201 reference tables.

Why a committed script: the shipped file must be reproducible from its sources, byte for byte, and
a test (``tests/estimators/test_packaged_nb201.py``) checks that the shipped values equal the shared
CSVs. Run it from the repository root with the shared data next to the repository::

    python scripts/build_nb201_package_data.py            # writes the Parquet file
    python scripts/build_nb201_package_data.py --check    # exits 1 if the shipped file differs

What goes in (one row per architecture, official NB201 index order, 15,625 rows):

* ``index``, ``arch_str``: the official index and architecture string;
* ``<D>_test_acc_200ep_mean`` for D in cifar10, cifar100, ImageNet16-120: test accuracy (%) after
  200 epochs, mean over seeds (the number the literature reports);
* ``<D>_test_acc_12ep_one_seed``: test accuracy (%) after the 12-epoch schedule, one seed (the
  stand-in for NB201's 12-epoch validation signal, which no installable package ships);
* ``cifar10-valid_train_time_per_epoch``, ``cifar10-valid_valid_time_per_epoch``: seconds per epoch
  of training on, and of evaluating, the cifar10-valid split (seed mean of the 200-epoch runs), from
  which the Table-5 protocol charges ``12 * train + valid`` per evaluation.

Sources and licences are in ``nasarena/data/NB201_PROVENANCE.md`` (MIT, NAS-Bench-201).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "nb201"
OUT = ROOT / "nasarena" / "data" / "nb201_test_accuracy.parquet"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
ACC_COLUMNS = tuple(f"{d}_test_acc_{kind}" for kind in ("200ep_mean", "12ep_one_seed") for d in DATASETS)
TIME_COLUMNS = {"train-per-time": "cifar10-valid_train_time_per_epoch",
                "valid-per-time": "cifar10-valid_valid_time_per_epoch"}


def build(shared: Path = SHARED) -> pa.Table:
    """The table to ship, from ``test_accuracy.csv`` and ``cifar10-valid_full_metrics.csv``."""
    acc = pd.read_csv(shared / "test_accuracy.csv", usecols=["index", "arch_str", *ACC_COLUMNS])
    times = pd.read_csv(shared / "cifar10-valid_full_metrics.csv",
                        usecols=["index", "arch_str", *TIME_COLUMNS])
    if not (acc["index"].tolist() == times["index"].tolist() == list(range(len(acc)))
            and acc["arch_str"].equals(times["arch_str"])):
        raise SystemExit(f"{shared}: the two tables must list the same architectures in official index order")
    frame = acc.assign(**{new: times[old] for old, new in TIME_COLUMNS.items()})
    frame["index"] = frame["index"].astype("int16")
    if frame.isna().any().any():
        raise SystemExit(f"{shared}: missing values in {frame.columns[frame.isna().any()].tolist()}")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.cast(pa.schema([pa.field(f.name, pa.string() if f.name == "arch_str" else f.type)
                                 for f in table.schema]))


def write(table: pa.Table, path: Path = OUT) -> None:
    """Write deterministically: zstd level 19 (about 0.5 MB), one row group, no pandas metadata."""
    pq.write_table(table, path, compression="zstd", compression_level=19, row_group_size=len(table),
                   use_dictionary=False, write_statistics=False, store_schema=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=SHARED,
                   help=f"folder of the shared tables (default {SHARED})")
    p.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    args = p.parse_args(argv)
    table = build(args.shared)
    if args.check:
        same = OUT.is_file() and pq.read_table(OUT).equals(table)
        print(f"{OUT}: {'up to date' if same else 'DIFFERS from the shared tables; rebuild it'}")
        return 0 if same else 1
    write(table)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {table.num_rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
