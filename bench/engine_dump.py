"""Dump every engine output over many varied histories, to compare two versions of the engine.

Not a test: a tool for engine work (issue 14, item 4). Run it before a change and after, and
compare the two files byte for byte:

    .venv/bin/python bench/engine_dump.py /tmp/before.jsonl
    ... change the engine ...
    .venv/bin/python bench/engine_dump.py /tmp/after.jsonl && cmp /tmp/before.jsonl /tmp/after.jsonl

Each line is one (ruleset, history, as-of) evaluated over the whole history and per subject
(``subjects=[id]``, the single-subject path), with the JSON result, every subject's
explanation text, and an outlook for a few subjects. The rulesets: both of rulesets/, every
change fixture of tests/data/changes, and the haojiang family with each successor of
tests/data/versions; the histories: examples/, every case of rulesets/tests and of the change
cases, the versions history, synthetic corpora (``qrules synth``) and bench (c)'s subjects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qrules import load_ruleset  # noqa: E402
from qrules.engine import evaluate  # noqa: E402
from qrules.engine.explain import explain_subject  # noqa: E402
from qrules.engine.outlook import with_outlook  # noqa: E402
from qrules.history import load_history, load_history_data  # noqa: E402
from qrules.synth import history_data  # noqa: E402

CHANGES = ROOT / "tests" / "data" / "changes"
VERSIONS = ROOT / "tests" / "data" / "versions"


def rulesets() -> dict[str, object]:
    out = {"guangdong": load_ruleset(ROOT / "rulesets" / "guangdong-2021.yaml"),
           "haojiang": load_ruleset(ROOT / "rulesets" / "haojiang-2023.yaml")}
    for f in sorted(CHANGES.glob("*.yaml")):
        out[f.stem] = load_ruleset(f)
    for transition in ("keep", "redecide"):
        out[f"haojiang+{transition}"] = load_ruleset("haojiang", rulesets=[ROOT / "rulesets", VERSIONS / transition])
    return out


def case_histories() -> list[tuple[str, dict, dt.date]]:
    """(name, history data, as_of) of every case file's cases."""
    out = []
    for f in sorted((ROOT / "rulesets" / "tests").glob("*.yaml")) + [CHANGES / "cases" / "changes.yaml"]:
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for i, case in enumerate(doc.get("cases") or []):
            history = case.get("history")
            if not isinstance(history, dict):
                continue
            as_of = case.get("as_of", doc.get("as_of"))
            as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
            out.append((f"{f.name}#{i}", json.loads(json.dumps(history, default=str)), as_of))
    return out


def synth_histories(division: str) -> list[tuple[str, dict, dt.date]]:
    out = []
    for seed in (1, 2, 3, 4):
        data = history_data(60, seed=seed, bad_rate=0.05)
        if seed % 2 == 0:  # half the corpora inside one district (haojiang's jurisdiction)
            for s in data["subjects"]:
                if s.get("region"):
                    s["region"] = division
        out.append((f"synth{seed}", json.loads(json.dumps(data, default=str)), dt.date(2025, 12, 31)))
    return out


def bench_histories() -> list[tuple[str, dict, dt.date]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from run import latency_histories  # noqa: E402

    return [(f"bench:{k}", d, dt.date(2025, 12, 31)) for k, (_, d) in latency_histories().items()]


def dump_one(name: str, compiled, history, invalid, as_of: dt.date) -> dict:
    whole = evaluate(compiled, history, as_of, invalid_subjects=invalid)
    rec = {"name": name, "as_of": str(as_of), "whole": json.loads(whole.model_dump_json()),
           "text": [explain_subject(whole, s, compiled) for s in whole.subjects]}
    single = {}
    for s in whole.subjects:
        one = evaluate(compiled, history, as_of, invalid_subjects=invalid, subjects=[s.id])
        single[s.id] = [json.loads(one.model_dump_json()), [explain_subject(one, x, compiled) for x in one.subjects]]
    rec["single"] = single
    some = [s.id for s in whole.subjects][:3]
    if some:
        looked = with_outlook(compiled, history, whole, as_of, invalid, subjects=some)
        rec["outlook"] = [explain_subject(looked, looked.subject(sid), compiled) for sid in some]
    return rec


def main(out_path: str) -> None:
    rs = rulesets()
    histories = [("example", None, dt.date(2025, 12, 31)), ("versions", None, dt.date(2027, 3, 31))]
    histories += case_histories() + bench_histories()
    n = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for rname, compiled in rs.items():
            hs = histories + synth_histories(compiled.model.jurisdiction.division)
            for hname, data, as_of in hs:
                if hname == "example":
                    loaded = load_history(ROOT / "examples" / "haojiang-history.yaml")
                elif hname == "versions":
                    loaded = load_history(VERSIONS / "history-2025-2027.yaml")
                else:
                    loaded = load_history_data(data)
                invalid = dict(loaded.invalid_subjects)
                for day in (as_of, as_of.replace(day=1) - dt.timedelta(days=400)):
                    try:
                        rec = dump_one(f"{rname}:{hname}", compiled, loaded.history, invalid, day)
                    except Exception as exc:  # noqa: BLE001 - an error is an output too
                        rec = {"name": f"{rname}:{hname}", "as_of": str(day), "error": repr(exc)}
                    out.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                    n += 1
    digest = hashlib.sha256(Path(out_path).read_bytes()).hexdigest()[:16]
    print(f"{n} evaluations dumped to {out_path} (sha256 {digest})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/engine-dump.jsonl")
