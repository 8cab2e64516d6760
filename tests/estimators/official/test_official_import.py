"""Importing official files: trust, provenance, safe cache format, CLI."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from nasarena.bench.cli import main
from nasarena.errors import DataError
from nasarena.estimators.official_cache import OfficialCache
from nasarena.estimators.official_import import (
    CHANNELS,
    SCALARS,
    check_source_name,
    default_cache_dir,
    import_nats,
    import_nb201,
)


def test_refuses_without_trust_and_says_why(nb201_file: Path, tss_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(DataError, match="pickles, and loading a pickle runs any code"):
        import_nb201(nb201_file, tmp_path / "x")
    with pytest.raises(DataError, match="--trust"):
        import_nats(tss_file, "tss", tmp_path / "y")
    assert main(["data", "import-nb201", str(nb201_file), "--out", str(tmp_path / "z")]) == 2
    assert "refusing to load" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists()


def test_default_torch_load_fails_on_the_file_and_import_does_not_need_it(nb201_file: Path,
                                                                         nb201_cache: Path) -> None:
    """torch >= 2.6 loads with weights_only=True, which rejects the numpy scalars official files hold,
    so nas_201_api cannot open the file by path; the import (already done by ``nb201_cache``) passed
    the trusted dict in and left torch's defaults alone: a plain load still refuses."""
    from nas_201_api import NASBench201API

    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        NASBench201API(str(nb201_file), verbose=False)
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        torch.load(nb201_file)
    assert (nb201_cache / "manifest.json").is_file()


def test_manifest_records_provenance(nb201_file: Path, nb201_cache: Path) -> None:
    manifest = json.loads((nb201_cache / "manifest.json").read_text())
    data = nb201_file.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["md5"] == hashlib.md5(data).hexdigest()
    assert manifest["source_name"] == "NAS-Bench-201-v1_1-096897.pth"
    # the test file is not the real release, so its name's hash prefix cannot match
    assert manifest["hash_check"] == "mismatch" and "does not end with 096897" in manifest["hash_message"]
    assert manifest["reader"] == "streaming"
    assert manifest["versions"]["nas-bench-201"] == "2.1" and manifest["flavour"] == "nb201"
    assert {(g["dataset"], g["hp"]) for g in manifest["groups"]} == {
        (d, h) for d in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120") for h in ("12", "200")}
    assert manifest["n_archs"] == 15_625


def test_hash_check_statuses(tmp_path: Path) -> None:
    """The NB201 names carry the last six hex digits of the md5 (the authors' wording), nothing else."""
    real = Path("NAS-Bench-201-v1_0-e61699.pth")
    status, message = check_source_name(real, "0" * 64, "0" * 26 + "e61699")
    assert status == "match" and "ends with e61699" in message
    assert check_source_name(real, "e61699" + "0" * 58, "e61699" + "0" * 26)[0] == "mismatch"  # prefix: no
    status, message = check_source_name(real, "0" * 64, "0" * 32)
    assert status == "mismatch" and "does not end with e61699" in message and "download it again" in message
    nats = Path("NATS-tss-v1_0-3ffb9.pickle.pbz2")
    assert check_source_name(nats, "0" * 64, "0" * 27 + "3ffb9")[0] == "match"
    status, message = check_source_name(nats, "0" * 64, "3ffb9" + "0" * 27)
    assert status == "match" and "starts with" in message  # NATS does not say which end
    assert check_source_name(Path("my-copy.pth"), "0" * 64, "0" * 32)[0] == "unknown-name"
    d = tmp_path / "NATS-sss-v1_0-50262-simple"
    d.mkdir()
    assert check_source_name(d, "0" * 64, "0" * 32)[0] == "directory"


def test_cache_holds_no_pickles_and_loads_safely(nb201_cache: Path) -> None:
    files = sorted(p.relative_to(nb201_cache).as_posix() for p in nb201_cache.rglob("*") if p.is_file())
    assert {Path(f).suffix for f in files} == {".json", ".parquet", ".npy"}
    assert all(not f.endswith((".raw", ".pkl", ".pth", ".pbz2")) for f in files)
    for f in nb201_cache.glob("curves/*.npy"):
        arr = np.load(f, allow_pickle=False)
        assert arr.dtype == np.float64 and arr.shape[1] == len(CHANNELS)
    for f in nb201_cache.glob("runs/*.parquet"):
        names = pq.read_schema(f).names
        assert set(SCALARS) <= set(names) and {"arch_index", "seed", "seed_pos", "eval_names"} <= set(names)
    archs = pq.read_table(nb201_cache / "archs.parquet").to_pandas()
    assert len(archs) == 15_625 and archs["arch_str"].is_unique


def test_nats_file_and_archive_directory(tss_cache: Path, sss_cache: Path, sss_dir: Path) -> None:
    tss = OfficialCache(tss_cache)
    assert tss.flavour == "nats-tss" and len(tss.meta_archs) == 15_625
    assert tss.manifest["hash_check"] == "mismatch"  # md5 of our small file cannot start with 3ffb9
    sss = OfficialCache(sss_cache)
    assert sss.flavour == "nats-sss" and len(sss.meta_archs) == 32_768
    assert {h for _, h in sss.settings()} == {"01", "12", "90"}
    assert sss.manifest["hash_check"] == "directory" and sss.manifest["source_name"] == sss_dir.name


def test_reimport_replaces_the_cache_atomically(tss_file: Path, tss_cache: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "cache"
    shutil.copytree(tss_cache, out)
    (out / "stale.txt").write_text("from an older import")
    again = import_nats(tss_file, "tss", out, trust=True)
    first = OfficialCache(tss_cache).manifest
    assert first["sha256"] == again.sha256 and first["n_runs"] == again.n_runs > 0
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # no temporary leftovers


def test_cli_help_missing_file_and_default_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        main(["data", "import-nats", "--help"])
    assert "--space" in capsys.readouterr().out
    assert main(["data", "import-nb201", str(tmp_path / "nope.pth"), "--trust"]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "import-nats", str(tmp_path), "--trust"])  # --space is required
    monkeypatch.setenv("NASARENA_CACHE", str(tmp_path))
    assert default_cache_dir("nats-sss") == tmp_path / "official" / "nats-sss"
