"""Faults (issue 10, items 7, 8): a batch worker or the parent killed, Ctrl-C, outputs.

Whatever happens to a run, each output file holds either its previous content or the
complete new content, never a partial file; a dead worker stops the run with the lost chunk
named and a non-zero exit instead of a hang; Ctrl-C prints one line and exits 130.
The subprocess tests poll for the worker processes and signal them while the run is going;
their timeouts only catch a hang (they are not speed checks).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GUANGDONG

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists() or not hasattr(os, "fork"),
                                reason="needs fork and /proc (Linux)")

PREVIOUS = {"out.csv": "previous results\n", "rej.csv": "previous rejections\n", "summary.json": "{\"old\": 1}\n"}


# -- in process: a worker that dies is detected, and its chunk named --------------------------------

def _dies_on_chunk_3(task):
    from qrules.batch import workers

    if task[0] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return workers._real_run_chunk(task)


def test_item7_killed_worker_is_detected_and_its_chunk_named(monkeypatch, gd):
    from qrules import batch
    from qrules.synth import history_data
    from qrules.history.load import load_history_data

    loaded = load_history_data(history_data(200, seed=2))
    from qrules.batch import workers  # where the workers' chunk function lives (forked: the patch is inherited)

    monkeypatch.setattr(workers, "_real_run_chunk", workers._run_chunk, raising=False)
    monkeypatch.setattr(workers, "_run_chunk", _dies_on_chunk_3)
    with pytest.raises(batch.WorkerLost) as exc:
        list(batch.evaluate_batch(gd, loaded, workers=2, chunk_size=10))
    # The dead worker's chunk is always named; a chunk another worker had finished but not yet
    # delivered may be reported lost too, and which signal is blamed depends on how fast the
    # executor reaps (it stops the other workers with SIGTERM).
    # (When the executor has already reaped the dead process, its exit status is gone: the detail
    # then says "it ended unexpectedly".)
    assert 3 in exc.value.chunks
    assert "killed by SIG" in exc.value.detail or exc.value.detail == "it ended unexpectedly"
    assert "chunk 3 (first subject" in str(exc.value)


# -- subprocesses: kill a worker, kill the parent, Ctrl-C --------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from qrules.synth import write_corpus

    folder = tmp_path_factory.mktemp("faults")
    write_corpus(str(folder / "h.jsonl"), 3000, seed=5)
    return folder / "h.jsonl"


def _start(folder: Path, corpus: Path) -> subprocess.Popen:
    for name, text in PREVIOUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    args = [sys.executable, "-m", "qrules.cli", "batch", str(GUANGDONG), str(corpus), "--as-of", "2025-12-31",
            "--backend", "engine",  # the worker processes these faults hit (JSON Lines goes columnar by default)
            "-j", "2", "--chunk-size", "10", "-o", str(folder / "out.csv"), "--rejections",
            str(folder / "rej.csv"), "--summary-json", str(folder / "summary.json"), "--no-progress"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.txt", "w"),
                            start_new_session=True)


def _workers(proc: subprocess.Popen, timeout: float = 120) -> list[int]:
    """The worker processes, once they exist (forked: the parent's command line)."""
    deadline = time.monotonic() + timeout
    path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            pids = [int(p) for p in path.read_text().split()]
        except OSError:
            pids = []
        if len(pids) >= 2:
            return pids
        time.sleep(0.005)
    pytest.fail("the batch run ended before its workers could be signalled")


def _outputs_untouched(folder: Path) -> None:
    for name, text in PREVIOUS.items():
        assert (folder / name).read_text(encoding="utf-8") == text, name


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def test_fault_worker_sigkill_stops_the_run_and_keeps_outputs(tmp_path, corpus):
    proc = _start(tmp_path, corpus)
    pid = _workers(proc)[0]
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=120) == 1  # not a hang
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    # Which pid and chunk the message names depends on timing (the worker may die before it takes a
    # chunk; the executor stops the others with SIGTERM): the exact attribution is checked in
    # process by the test of item 7 above. Here: stopped, exit 1, said so, nothing written.
    assert "a worker process died" in err and "Traceback" not in err
    _outputs_untouched(tmp_path)
    assert not list(tmp_path.glob(".*.part"))


def test_fault_parent_sigkill_leaves_previous_outputs_and_no_orphans(tmp_path, corpus):
    proc = _start(tmp_path, corpus)
    workers = _workers(proc)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    _outputs_untouched(tmp_path)  # at most a hidden .out.csv.*.part beside them
    deadline = time.monotonic() + 30
    while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(w) for w in workers), "workers outlived their parent"


def test_fault_ctrl_c_exits_130_with_one_line(tmp_path, corpus):
    proc = _start(tmp_path, corpus)
    _workers(proc)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the parent and its workers
    assert proc.wait(timeout=120) == 130
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.count("interrupted") == 1
    _outputs_untouched(tmp_path)
    assert not list(tmp_path.glob(".*.part"))


def test_fault_complete_run_replaces_outputs(tmp_path):
    from qrules.synth import write_corpus

    write_corpus(str(tmp_path / "small.jsonl"), 60, seed=1)
    for name, text in PREVIOUS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    from qrules.cli import main

    assert main(["batch", str(GUANGDONG), str(tmp_path / "small.jsonl"), "-j", "2", "--chunk-size", "5",
                 "-o", str(tmp_path / "out.csv"), "--rejections", str(tmp_path / "rej.csv"),
                 "--summary-json", str(tmp_path / "summary.json")]) in (0, 1)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("id,kind,name")
    assert '"subjects"' in (tmp_path / "summary.json").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*.part"))
