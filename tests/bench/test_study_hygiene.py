"""Nothing stale or damaged is reused: code fingerprints, quarantined files, the study-folder lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest

from nasarena.bench.config import Budget, StudyConfig
from nasarena.bench.study import run_study
from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.store import finished_run_ids, load_study, run_path

FAKES = str(Path(__file__).with_name("_fakes.py"))
REPO = Path(__file__).resolve().parents[2]

MINE = '''
from nasarena.strategies.base import Strategy


class Mine(Strategy):
    name = "mine"

    def ask(self):
        return self.propose(self.space.from_index(INDEX) if INDEX >= 0 else self.space.sample(self.rng))

    def tell(self, proposal, evaluation):
        pass


INDEX = {index}
'''


def config(strategies, seeds=(0, 1), max_evals=4) -> StudyConfig:
    return StudyConfig(strategies=tuple(strategies), oracle="nb201-lite",
                       oracle_kwargs={"dataset": "cifar10-valid"}, seeds=tuple(seeds),
                       budget=Budget(max_evals=max_evals))


def test_an_edited_strategy_file_is_rerun_never_reused(tmp_path, caplog):
    mine = tmp_path / "mine.py"
    mine.write_text(MINE.format(index=-1))
    cfg = config([f"{FAKES}:Sampler", f"{mine}:Mine"])
    out = tmp_path / "study"
    run_study(cfg, out, jobs=1, progress=False)
    before = load_study(out)
    assert set(before.runs[S.STRATEGY]) == {"test-sampler", "mine"}  # tables name file strategies by name
    assert set(before.trajectories[S.STRATEGY]) == {"test-sampler", "mine"}
    assert run_study(cfg, out, jobs=1, progress=False).skipped == 4  # unchanged code: reused

    mine.write_text(MINE.format(index=7))  # the user edits the strategy
    again = run_study(cfg, out, jobs=1, progress=False)
    assert again.skipped == 2 and again.completed == 2  # only the edited strategy reruns
    assert "other code" in caplog.text and "changed" in caplog.text
    after = load_study(out)
    ours = after.trajectories[after.trajectories[S.STRATEGY] == "mine"]
    assert (ours[S.ARCH] == ours[S.ARCH].iloc[0]).all()  # the new code's numbers, not the old ones
    assert len(list((out / "stale").glob("*.parquet"))) == 2  # the old runs are kept aside, not lost
    assert len(after.runs) == 4


def test_a_run_records_its_code_and_a_new_nasarena_version_reruns(tmp_path, monkeypatch):
    import nasarena.bench.identity as identity

    cfg = config([f"{FAKES}:Sampler"], seeds=(0,))
    run_study(cfg, tmp_path, jobs=1, progress=False)
    code = load_study(tmp_path).meta[0]["code"]
    assert code["source"] == FAKES and len(code["sha256"]) == 16 and code["nasarena"]
    monkeypatch.setattr(identity, "nasarena_version", lambda: "999.0")
    assert run_study(cfg, tmp_path, jobs=1, progress=False).completed == 1


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "zero":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # one flipped byte at the end of the largest column chunk: inside a data page's body
        import pyarrow.parquet as pq

        rg = pq.read_metadata(path).row_group(0)
        chunk = max((rg.column(i) for i in range(rg.num_columns)), key=lambda c: c.total_compressed_size)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        buf = bytearray(data)
        buf[start + chunk.total_compressed_size - 2] ^= 0xFF
        path.write_bytes(bytes(buf))


def test_damaged_run_files_are_listed_then_quarantined_and_rerun(tmp_path, caplog):
    cfg = config([f"{FAKES}:Sampler"], seeds=range(4), max_evals=30)
    out = tmp_path / "study"
    run_study(cfg, out, jobs=1, progress=False)
    ids = sorted(finished_run_ids(out))
    for run_id, how in zip(ids, ("zero", "truncated", "flipped"), strict=False):
        _damage(run_path(out, run_id), how)
    partial = load_study(out)  # the report's view: the rest is loaded, the damaged files are listed
    assert len(partial.runs) == 1 and sorted(p.name for p, _ in partial.unreadable) == \
        sorted(f"{r}.parquet" for r in ids[:3])
    assert "unreadable" in caplog.text

    resumed = run_study(cfg, out, jobs=1, progress=False)
    assert resumed.skipped == 1 and resumed.completed == 3
    assert len(list((out / "quarantine").glob("*.parquet"))) == 3 and "quarantine" in caplog.text
    clean = tmp_path / "clean"
    run_study(cfg, clean, jobs=1, progress=False)
    pd.testing.assert_frame_equal(load_study(out).trajectories, load_study(clean).trajectories)


HOLD = ("import sys, time\nfrom pathlib import Path\nfrom nasarena.bench.folder import study_lock\n"
        "with study_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(120)\n")


def test_a_second_study_on_one_folder_is_refused_until_the_holder_dies_even_by_sigkill(tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        cfg = config([f"{FAKES}:Sampler"], seeds=(0,))
        with pytest.raises(ConfigError, match=f"another nasarena process .*pid {holder.pid}"):
            run_study(cfg, out, jobs=1, progress=False)
        assert not finished_run_ids(out)  # the refused study did no work
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert run_study(cfg, out, jobs=1, progress=False).completed == 1  # the kernel dropped the lock


def test_a_dataset_alias_runs_with_a_notice(tmp_path, caplog):
    cfg = StudyConfig(strategies=(f"{FAKES}:Sampler",), oracle="nb201-lite",
                      oracle_kwargs={"dataset": "cifar10"}, seeds=(0,), budget=Budget(max_evals=2))
    run_study(cfg, tmp_path, jobs=1, progress=False)
    assert "'cifar10' is an alias" in caplog.text and "'cifar10-valid'" in caplog.text
    assert load_study(tmp_path).runs["dataset"].tolist() == ["cifar10-valid"]


@pytest.mark.slow
def test_kill_9_of_the_nasarena_process_then_rerun_is_exact(tmp_path):
    """``kill -9 PID`` of ``nasarena run`` (the process only, as a user does; its pool workers may
    outlive it): the same command again takes the folder, resumes, and ends with exactly the
    trajectories of an uninterrupted study."""
    import time

    out = tmp_path / "killed"
    argv = [sys.executable, "-m", "nasarena.bench.cli", "run", "--strategies", f"{FAKES}:Sampler",
            "--oracle", "nb201-lite", "--seeds", "0-5", "--budget-evals", "10", "--jobs", "2",
            "--no-progress", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "NASARENA_TEST_DELAY": "0.02"}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(finished_run_ids(out)) < 1:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no run finished within 120 s"
        time.sleep(0.01)
    helpers = psutil.Process(proc.pid).children(recursive=True)  # forkserver, pool workers, tracker
    assert helpers, "the study should run a process pool"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert len(finished_run_ids(out)) < 6, "the kill must interrupt the study"
    _, left = psutil.wait_procs(helpers, timeout=30)
    assert not left, f"processes of the killed study still run: {[p.cmdline()[:3] for p in left]}"
    again = subprocess.run(argv, cwd=REPO, env={**env, "NASARENA_TEST_DELAY": "0"}, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "6 runs in" in again.stdout and "Traceback" not in again.stderr
    clean = tmp_path / "clean"
    run_study(StudyConfig(strategies=(f"{FAKES}:Sampler",), oracle="nb201-lite", oracle_kwargs={},
                          seeds=tuple(range(6)), budget=Budget(max_evals=10)), clean, jobs=1, progress=False)
    resumed = load_study(out)
    assert len(resumed.runs) == 6 and not resumed.unreadable
    assert not resumed.trajectories.duplicated([S.RUN_ID, S.EVAL_INDEX]).any()
    pd.testing.assert_frame_equal(resumed.trajectories, load_study(clean).trajectories)


def test_a_strategy_class_from_a_notebook_cell_is_fingerprinted_by_its_source(monkeypatch):
    """IPython keeps a cell's source in ``linecache`` under a name that is no file; editing the
    class and registering it again must change the fingerprint."""
    import linecache

    from nasarena.bench.identity import strategy_fingerprint
    from nasarena.registry import STRATEGIES

    def cell(n: int, body: str) -> type:
        name = f"<ipython-input-{n}-hygiene>"
        linecache.cache[name] = (len(body), None, body.splitlines(True), name)
        scope: dict = {}
        exec(compile(body, name, "exec"), scope)
        return scope["Mine"]

    prints = []
    for n, index in enumerate((-1, -1, 7)):  # the same cell run twice, then edited
        body = MINE.format(index=0).replace("INDEX = 0", "").replace("INDEX", str(index))
        monkeypatch.setitem(STRATEGIES._entries, "notebook-mine", cell(n, body))
        prints.append(strategy_fingerprint("notebook-mine")["sha256"])
    assert prints[0] == prints[1] != prints[2]
