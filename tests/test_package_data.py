"""The NB201 data shipped in ``nasarena/data``: equal to the shared tables, complete, in the wheel."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasarena import make_oracle
from nasarena.data import NB201_TEST_DATASETS, data_path, nb201_columns, nb201_test_accuracy_path
from nasarena.spaces.nb201 import NB201Space

ROOT = Path(__file__).resolve().parents[1]
SPACE = NB201Space()


def _builder():
    path = ROOT / "scripts" / "build_nb201_package_data.py"
    spec = importlib.util.spec_from_file_location("build_nb201", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_table_equals_the_shared_tables(nb201_data: Path) -> None:
    """The committed Parquet is exactly what the committed script builds from ../shared."""
    shipped = pq.read_table(nb201_test_accuracy_path())
    assert shipped.equals(_builder().build(nb201_data))


def test_columns_cover_the_space_by_nasarena_index() -> None:
    cols = nb201_columns()
    assert sorted(cols["official_index"].tolist()) == list(range(SPACE.size))
    for name, values in cols.items():
        assert values.shape == (SPACE.size,) and np.isfinite(values).all(), name
        assert not values.flags.writeable
    # the README's sanity figures of ../shared/data/nb201 (best 200-epoch test accuracy, seed mean)
    best = {d: cols[f"{d}_test_acc_200ep_mean"].max() for d in NB201_TEST_DATASETS}
    assert best == pytest.approx({"cifar10": 94.373, "cifar100": 73.513, "ImageNet16-120": 47.311}, abs=1e-3)
    # indexed by nasarena's index: official index 6111 is one of the two best cifar10 cells
    assert 6111 in cols["official_index"][cols["cifar10_test_acc_200ep_mean"] > 94.37]


def test_nb201_lite_reports_shipped_test_accuracy_but_searches_on_validation() -> None:
    cols = nb201_columns()
    for dataset, prefix in (("cifar10-valid", "cifar10"), ("cifar100", "cifar100"),
                            ("ImageNet16-120", "ImageNet16-120")):
        test = make_oracle("nb201-lite", dataset=dataset, test_accuracy=True)
        plain = make_oracle("nb201-lite", dataset=dataset)
        assert test.final_metric_name == "test_acc_200ep_seed_mean" != plain.final_metric_name
        np.testing.assert_array_equal(test.final_metrics(), cols[f"{prefix}_test_acc_200ep_mean"])
        arch = SPACE.from_index(777)
        assert test.evaluate(arch, None, np.random.default_rng(1)) == \
            plain.evaluate(arch, None, np.random.default_rng(1))
        assert "test accuracy" in test.describe()["final_metric_description"]


def test_published_table5_optimal_row_matches_the_shipped_data() -> None:
    raw = json.loads(data_path("nb201_table5.json").read_text())
    assert "ICLR 2020" in raw["citation"] and "Table 5" in raw["citation"]
    optimal = next(r for r in raw["rows"] if r["strategy"] is None)
    cols = nb201_columns()
    for d in NB201_TEST_DATASETS:
        shipped = cols[f"{d}_test_acc_200ep_mean"].max()
        assert optimal["mean"][raw["columns"].index(f"{d}_test")] == pytest.approx(shipped, abs=0.005)


def test_provenance_carries_the_mit_notice() -> None:
    text = data_path("NB201_PROVENANCE.md").read_text()
    assert "MIT License" in text and "Xuanyi Dong" in text and "build_nb201_package_data.py" in text


@pytest.mark.slow
def test_wheel_contains_the_package_data(tmp_path: Path) -> None:
    """pyproject's package-data puts the data files into a wheel (what `pip install nasarena` gets)."""
    src = tmp_path / "src"  # a copy: building in the checkout would leave build/ behind
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        src.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "nasarena", src / "nasarena", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(src)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("nasarena-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("nb201_test_accuracy.parquet", "nb201_table5.json", "NB201_PROVENANCE.md"):
        assert f"nasarena/data/{name}" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
