"""Session fixtures: small official-format files (``official_fixture``), their official APIs, caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import official_fixture as fx
import pytest


@pytest.fixture(scope="session")
def nb201_file(tmp_path_factory: pytest.TempPathFactory, nb201_data: Path) -> Path:
    """A 10-architecture NB201 v1_1-format file (torch.save of the official state dicts)."""
    return fx.write_nb201(tmp_path_factory.mktemp("nb201"), nb201_data, n=10)


@pytest.fixture(scope="session")
def nb201_api(nb201_file: Path) -> Any:
    """``nas_201_api.NASBench201API`` over that file (the trusted object passed in as a dict)."""
    import torch
    from nas_201_api import NASBench201API

    return NASBench201API(torch.load(nb201_file, map_location="cpu", weights_only=False), verbose=False)


@pytest.fixture(scope="session")
def nb201_cache(nb201_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The nasarena cache of that file, written through the CLI (``nasarena data import-nb201``)."""
    from nasarena.bench.cli import main

    out = tmp_path_factory.mktemp("nb201-cache") / "cache"
    assert main(["data", "import-nb201", str(nb201_file), "--trust", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def tss_obj(nb201_data: Path) -> dict[str, Any]:
    """A 5-architecture NATS topology benchmark dict (nats_bench classes)."""
    return fx.topology_dict(nb201_data, fx.pick_indices(5), package="nats_bench")


@pytest.fixture(scope="session")
def tss_file(tss_obj: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """That dict saved as ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` with ``nats_bench.pickle_save``."""
    return fx.write_nats(tmp_path_factory.mktemp("tss"), tss_obj, "NATS-tss-v1_0-3ffb9")


@pytest.fixture(scope="session")
def tss_api(tss_file: Path) -> Any:
    """``nats_bench.create(file, 'tss')`` (loads the file with the package's own pickle_load)."""
    import nats_bench

    return nats_bench.create(str(tss_file), "tss", fast_mode=False, verbose=False)


@pytest.fixture(scope="session")
def tss_cache(tss_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The nasarena cache of the NATS topology file."""
    from nasarena.estimators.official_import import import_nats

    return import_nats(tss_file, "tss", tmp_path_factory.mktemp("tss-cache") / "c", trust=True).out


@pytest.fixture(scope="session")
def sss_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-architecture NATS size-space archive directory (fast-mode layout, synthetic numbers)."""
    obj = fx.size_dict([0, 7, 4095, 20000, 32766, 32767])
    return fx.write_nats(tmp_path_factory.mktemp("sss"), obj, "NATS-sss-v1_0-50262", archive=True)


@pytest.fixture(scope="session")
def sss_api(sss_dir: Path) -> Any:
    """``nats_bench.create(dir, 'sss', fast_mode=True)`` with every architecture loaded."""
    import nats_bench

    api = nats_bench.create(str(sss_dir), "sss", fast_mode=True, verbose=False)
    for f in sorted(sss_dir.glob("0*.pickle.pbz2")):
        api.reload(str(sss_dir), int(f.name.split(".")[0]))
    return api


@pytest.fixture(scope="session")
def sss_cache(sss_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The nasarena cache of the size-space directory."""
    from nasarena.estimators.official_import import import_nats

    return import_nats(sss_dir, "sss", tmp_path_factory.mktemp("sss-cache") / "c", trust=True).out
