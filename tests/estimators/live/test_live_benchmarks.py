"""The live benchmark scripts run end to end on a CPU at tiny sizes (crash tests, no numbers checked)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_throughput_script_runs_on_cpu(capsys) -> None:
    import torch

    bench = _load("live_gpu_throughput")
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--device", "cpu", "--tiny", "--steps", "2", "--concurrent", "0",
                           "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)  # the script sets the process's thread count
    out = capsys.readouterr().out
    assert "naive eager fp32" in out and "ratio fast/naive" in out


def test_kendall_script_runs_on_cpu(capsys) -> None:
    bench = _load("live_kendall")
    assert bench.main(["--n-archs", "5", "--epochs", "1", "--channels", "4", "--resolution", "8",
                       "--train", "64", "--eval", "16", "--batch", "32"]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau (live test  vs NB201 cifar10-valid)" in out
    assert len(bench.sample_archs(30, 0)) == 30


@pytest.mark.parametrize("n", [2, 6])
def test_kendall_sample_has_no_isomorphic_duplicates(n: int) -> None:
    from nasarena.spaces.nb201 import NB201Space

    archs = _load("live_kendall").sample_archs(n, 1)
    space = NB201Space()
    assert len({space.canonical(a) for a in archs}) == n


def test_continue_script_runs_on_cpu(capsys) -> None:
    bench = _load("live_continue")
    assert bench.main(["--n-archs", "2", "--low", "1", "--high", "2", "--channels", "4", "--train", "64",
                       "--eval", "16", "--batch", "32"]) == 0
    out = capsys.readouterr().out
    assert "max |difference| continued vs straight (curves, scores, weights): 0" in out
    assert "ratio same epochs" in out and "checkpoint bytes of a full NB201 network" in out
