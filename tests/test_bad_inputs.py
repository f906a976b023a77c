"""The bad-input corpus (issue 10): tests/data/bad/cases.yaml.

Each case must end with its exit code and error code, print no traceback and no "internal
error", and leave out the strings it must not reveal. The cases run one after another in a
single child process (this file run as a script: one start-up, not one per case), each under
an alarm that only catches a hang (a FIFO read, an endless loop) — not a speed check; the
time each case took is reported by ``make fuzz``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import GUANGDONG, ROOT, ded, operator, product

BAD = ROOT / "tests" / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
HANG = int(os.environ.get("QRULES_CORPUS_TIMEOUT", "60"))  # seconds per case, to catch a hang


def _correction(i: int, of: str) -> dict:
    return {"id": f"c{i}", "kind": "correction", "of": of, "action": "revoke", "date": "2023-02-01"}


def _generate(name: str, folder: Path) -> Path:
    """Inputs too large to keep in the repository."""
    path = folder / (name if "." in name else f"{name}.json")
    if name in ("chain", "circle"):
        events = [ded("e0", "11.4", "2023-01-01", ["p1"])] + [
            _correction(i, f"c{i - 1}" if i > 1 else ("e0" if name == "chain" else "c3000")) for i in range(1, 3001)]
        path.write_text(json.dumps({"subjects": [operator("op1", 1), product("p1", "op1")], "events": events}),
                        encoding="utf-8")
    elif name == "deep.json":
        path.write_text('{"subjects": ' + "[" * 100_000 + "]" * 100_000 + ', "events": []}', encoding="utf-8")
    elif name == "deep.jsonl":
        path.write_text('{"record": "subject", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    return path


def _argv(case: dict, tmp: Path) -> list[str]:
    out = []
    for arg in case["argv"]:
        if arg == "RS":
            out.append(str(GUANGDONG))
        elif arg == "ALLOW":
            out += ["--allow-path", str(GUANGDONG.parent)]
        elif arg == "{fifo}":
            fifo = tmp / "pipe.json"
            os.mkfifo(fifo)
            out.append(str(fifo))
        elif arg.startswith("{gen:"):
            out.append(str(_generate(arg[5:-1], tmp)))
        else:
            out.append(arg.replace("{root}", str(ROOT)).replace("{bad}", str(BAD)).replace("{tmp}", str(tmp)))
    return out


def _run_all(cases: list[dict], scratch: Path) -> dict:
    """In the child process: every case through ``main(argv)``, each under an alarm."""
    import contextlib
    import io
    import signal
    import time

    from qrules import loader
    from qrules.cli import main

    class Hang(BaseException):
        pass

    def alarm(*_):
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)
    results = {}
    for case in cases:
        tmp = scratch / case["case"]
        tmp.mkdir()
        os.chdir(tmp)
        loader.ALLOWED_PATHS.clear()  # each case allows only what its own argv says
        out = io.StringIO()
        t0 = time.perf_counter()
        signal.alarm(HANG)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    code = main(_argv(case, tmp))
                except SystemExit as exc:  # usage errors (argparse)
                    code = exc.code
        except Hang:
            code = "hang"
        except BaseException as exc:  # noqa: BLE001 - reported as the case's failure
            code = f"raised {type(exc).__name__}: {exc}"
        finally:
            signal.alarm(0)
        results[case["case"]] = {"exit": code, "output": out.getvalue(), "seconds": time.perf_counter() - t0,
                                 "victim": (tmp / "victim:file").exists()}
    return results


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    if not hasattr(os, "mkfifo") or not hasattr(os, "fork"):
        pytest.skip("the corpus uses named pipes and fork (POSIX)")
    scratch = tmp_path_factory.mktemp("bad")
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, __file__, str(scratch)], capture_output=True, env=env,
                          timeout=HANG * len(CASES), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    return json.loads((scratch / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_input(case, outcomes):
    got = outcomes[case["case"]]
    out = got["output"]
    assert got["exit"] == case["exit"], out[-2000:]
    if case.get("code"):  # as text, or in the JSON of --format json/jsonl
        assert f"error[{case['code']}]" in out or f'"code": "{case["code"]}"' in out, out[-2000:]
    assert "Traceback" not in out and "internal error" not in out, out[-2000:]
    for secret in case.get("absent", []):
        assert secret not in out, f"{secret!r} leaked"
    assert not got["victim"]


if __name__ == "__main__":  # the child process of `outcomes`
    folder = Path(sys.argv[1])
    found = _run_all(CASES, folder)
    (folder / "results.json").write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    if "--times" in sys.argv:
        for name, r in sorted(found.items(), key=lambda kv: -kv[1]["seconds"]):
            print(f"{r['seconds']:6.2f} s  {name}")
