"""Data shipped inside the nasarena package (so a wheel or a fresh clone has it without ``../shared``).

``nb201_test_accuracy.parquet`` holds, for the 15,625 NAS-Bench-201 architectures, the 200-epoch
test accuracy (seed mean) and the 12-epoch test accuracy (one seed) on cifar10, cifar100 and
ImageNet16-120, and the per-epoch train/valid times on cifar10-valid. Its sources, the script that
builds it and NAS-Bench-201's MIT notice are in ``NB201_PROVENANCE.md`` next to it.
``nb201_table5.json`` holds the published Table 5 of the NAS-Bench-201 paper (mean ± std).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np

from nasarena.errors import DataError

NB201_TEST_ACCURACY = "nb201_test_accuracy.parquet"
NB201_TABLE5 = "nb201_table5.json"
#: The datasets of the shipped test accuracies, as NB201 names them.
NB201_TEST_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def data_path(name: str) -> Path:
    """Path of a file shipped in ``nasarena/data`` (an error that says how to fix a broken install)."""
    path = Path(str(resources.files(__package__).joinpath(name)))
    if not path.is_file():
        raise DataError(f"{path} is missing from the nasarena installation; reinstall nasarena "
                        f"(`pip install -e .` from a clone, or `make setup`)")
    return path


def nb201_test_accuracy_path() -> Path:
    """The shipped NB201 test-accuracy table (Parquet, official index order, column names as in
    ``../shared/data/nb201/test_accuracy.csv``)."""
    return data_path(NB201_TEST_ACCURACY)


@functools.cache
def nb201_columns() -> dict[str, np.ndarray]:
    """Every column of the shipped table as a read-only array indexed by **nasarena's** NB201 index
    (``NB201Space().index(arch)``), plus ``official_index``. Loaded once per process (~10 ms)."""
    import pyarrow.parquet as pq

    from nasarena.spaces.nb201 import NB201Space

    table = pq.read_table(nb201_test_accuracy_path())
    space = NB201Space()
    order = np.array([space.index(space.from_string(s)) for s in table.column("arch_str").to_pylist()])
    if sorted(order.tolist()) != list(range(space.size)):
        raise DataError(f"{nb201_test_accuracy_path()}: does not cover the {space.size} NB201 "
                        f"architectures once each; reinstall nasarena")
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        if name == "arch_str":
            continue
        values = table.column(name).to_numpy()
        arr = np.empty_like(values)
        arr[order] = values
        arr.setflags(write=False)
        out["official_index" if name == "index" else name] = arr
    return out


__all__ = ["NB201_TEST_DATASETS", "data_path", "nb201_columns", "nb201_test_accuracy_path"]
