"""Hardening (issue 10): what a hostile or unlucky input must not do.

Each test names the item of the issue it guards: files read or written where they should
not be, special files, output injection, terminal escapes, faults and data loss.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import GUANGDONG, ROOT, ded, operator, product
from qrules.cli import main

# -- item 1: `extends` never becomes a git option, REV:path only from the command line -------------


@pytest.fixture
def strict(monkeypatch):
    """No folder allowed beyond the child's own (the conftest allows rulesets/ for variants)."""
    from qrules import loader

    monkeypatch.setattr(loader, "ALLOWED_PATHS", [])


def _kid(folder, extends: str, name: str = "kid.yaml"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'qrules: 1\nruleset: kid\nextends: "{extends}"\nversion: "1"\n', encoding="utf-8")
    return path


def test_item1_extends_option_text_never_reaches_git(tmp_path, capsys, monkeypatch, strict):
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    monkeypatch.chdir(tmp_path)
    for text in ("--output=victim:file", "HEAD:rulesets/guangdong-2021.yaml", "-c:x.yaml"):
        kid = _kid(tmp_path / "rs", text)
        assert main(["check", str(kid)]) == 1
        err = capsys.readouterr().err
        assert "error[QR30" in err and "Traceback" not in err
    assert calls == [] and not (tmp_path / "victim:file").exists()


def test_item1_rev_path_from_the_command_line_is_validated(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["show", "--", "--output=victim:file"]) == 1
    assert "not a valid REV:PATH" in capsys.readouterr().err
    assert not (tmp_path / "victim:file").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_item1_parent_at_a_revision_is_read_at_that_revision(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    if subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    assert main(["check", "HEAD:rulesets/haojiang-2023.yaml"]) == 0
    assert "HEAD:rulesets/haojiang-2023.yaml: ok" in capsys.readouterr().out


# -- item 2: `extends` reads only rulesets, inside the rulesets folder, quoting nothing else ------


def test_item2_parent_outside_the_folder_is_refused_unread(tmp_path, capsys, strict):
    kid = _kid(tmp_path / "rs", "/etc/passwd")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert "error[QR309]" in err and "root:" not in err


def test_item2_relative_escape_needs_allow_path(tmp_path, capsys, strict):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(GUANGDONG, other / "guangdong-2021.yaml")
    kid = _kid(tmp_path / "rs", "../other/guangdong-2021.yaml")
    assert main(["check", str(kid)]) == 1
    assert "error[QR309]" in capsys.readouterr().err
    assert main(["check", str(kid), "--allow-path", str(other)]) == 0


def test_item2_symlink_out_of_the_folder_is_refused(tmp_path, capsys, strict):
    secret = tmp_path / "secret.yaml"
    secret.write_text("ruleset: x\npassword: hunter2\n", encoding="utf-8")
    (tmp_path / "rs").mkdir()
    (tmp_path / "rs" / "p.yaml").symlink_to(secret)
    kid = _kid(tmp_path / "rs", "p")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert "error[QR309]" in err and "hunter2" not in err


@pytest.mark.parametrize("content", ["password: hunter2\ntoken: s3cr3t-hunter2\n",
                                     "hunter2 = [secret\n  : bad: yaml: {\n",
                                     "- hunter2\n- hunter2\n",
                                     "ruleset: 'Not An Id hunter2'\n"])
def test_item2_non_ruleset_parent_is_refused_without_quoting_it(tmp_path, capsys, strict, content):
    (tmp_path / "rs").mkdir()
    (tmp_path / "rs" / "secret.yaml").write_text(content, encoding="utf-8")
    kid = _kid(tmp_path / "rs", "secret")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert "error[QR307]" in err and "hunter2" not in err and "Traceback" not in err


# -- item 3: regular files only, capped while reading ----------------------------------------------


def _fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["device", "fifo", "directory"])
def test_item3_special_files_are_refused(tmp_path, capsys, kind):
    path = {"device": lambda: "/dev/zero", "fifo": lambda: _fifo(tmp_path), "directory": lambda: tmp_path}[kind]()
    assert main(["check", str(path)]) == 1
    assert main(["test", str(path)]) in (1, 2)  # never read: no case file there
    if kind != "directory":  # a directory is a columnar history (subjects.csv, events.csv) for evaluate
        assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
        assert main(["evaluate", str(GUANGDONG), str(path), "--format", "jsonl"]) == 1
    err = capsys.readouterr().err
    if kind == "directory":  # a folder is a rulesets folder for check (§4a): this one holds none
        assert "error[QR909]" in err and "Traceback" not in err
        return
    assert "error[QR001]" in err and "Traceback" not in err and "regular files only" in err


def test_item3_jsonl_and_csv_streams_refuse_devices(tmp_path, capsys):
    from qrules.errors import QrulesError
    from qrules.history.load import load_history

    link = tmp_path / "h.jsonl"
    link.symlink_to("/dev/zero")
    with pytest.raises(QrulesError) as exc:
        load_history(link)
    assert "a device" in exc.value.diagnostics[0].message
    csv_link = tmp_path / "subjects.csv"
    csv_link.symlink_to("/dev/zero")
    assert main(["batch", str(GUANGDONG), str(csv_link), "-j", "1"]) == 1
    assert "a device" in capsys.readouterr().err


def test_item3_cap_is_enforced_while_reading():
    from qrules.safeio import FileRefused, open_binary

    # /proc files report size 0 but have content: the cap counts bytes actually read.
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc")
    from qrules import safeio

    with pytest.raises(FileRefused) as exc:
        safeio._CappedRaw(os.open("/proc/self/status", os.O_RDONLY), 10, "status").read(100)
    assert exc.value.too_large
    with open_binary(GUANGDONG, 10_000_000) as fh:
        assert fh.read(5)


# -- item 13: a byte-order mark is accepted everywhere --------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".yaml"])
def test_item13_bom_accepted_in_every_history_format(tmp_path, suffix):
    from qrules.history.load import load_history

    subjects = [operator("op1", 1), product("p1", "op1")]
    events = [ded("e1", "11.1", "2023-03-01", ["p1"])]
    if suffix == ".jsonl":
        lines = [dict(r, record="subject") for r in subjects] + [dict(e, record="event") for e in events]
        text = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    else:
        text = json.dumps({"subjects": subjects, "events": events}, ensure_ascii=False)
    path = tmp_path / f"h{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    loaded = load_history(path)
    assert not loaded.has_errors, loaded.diagnostics
    assert [e.id for e in loaded.history.events] == ["e1"]


# -- item 5: CSV cells cannot start a spreadsheet formula ------------------------------------------

EVIL_NAME = "=cmd|' /C calc'!A0"


@pytest.fixture
def evil_history(tmp_path):
    path = tmp_path / "evil.json"
    subjects = [operator("op1", 1, name=EVIL_NAME), product("p1", "op1", name="@SUM(1+1)\tx"),
                operator("op\x1b[2J9", 9, name="two\nlines\u202e")]
    events = [ded(f"e{i}", "11.4", f"2023-0{i}-01", ["p1"]) for i in range(1, 6)]
    path.write_text(json.dumps({"subjects": subjects, "events": events}, ensure_ascii=False), encoding="utf-8")
    return path


def test_item5_csv_cells_are_neutralised_but_numbers_stay():
    from qrules.output import csv_cell

    assert [csv_cell(v) for v in ["=1+2", "+1", "-x", "@a", "\tt", "\rr", "-3", "-1.5", "+2", "a=b", 7]] == \
        ["'=1+2", "+1", "'-x", "'@a", "'\tt", "'\rr", "-3", "-1.5", "+2", "a=b", 7]


def test_item5_every_csv_writer_neutralises(evil_history, tmp_path, capsys):
    import csv as _csv

    out = tmp_path / "r.csv"
    assert main(["evaluate", str(GUANGDONG), str(evil_history), "--as-of", "2023-07-01", "--format", "csv",
                 "-o", str(out)]) == 0
    rows = {r["id"]: r for r in _csv.DictReader(out.open(encoding="utf-8-sig"))}
    assert rows["op1"]["name"] == "'" + EVIL_NAME and rows["p1"]["name"] == "'@SUM(1+1)\tx"
    assert rows["p1"]["score"] == "-3"  # 12 − 5 × 3: a negative score stays a number
    batch_out, rejections = tmp_path / "b.csv", tmp_path / "rej.csv"
    assert main(["batch", str(GUANGDONG), str(evil_history), "--as-of", "2023-07-01", "-j", "1",
                 "-o", str(batch_out), "--rejections", str(rejections)]) == 0
    rows = {r["id"]: r for r in _csv.DictReader(batch_out.open(encoding="utf-8-sig"))}
    assert rows["op1"]["name"] == "'" + EVIL_NAME and rows["p1"]["score"] == "-3"
    for line in batch_out.read_text(encoding="utf-8-sig").splitlines() + \
            rejections.read_text(encoding="utf-8-sig").splitlines():
        for cell in next(_csv.reader([line])) if line else []:
            assert not cell.startswith(("=", "@", "\t")), cell


# -- item 6: control characters are shown escaped --------------------------------------------------


def test_item6_control_characters_escaped_in_tables_and_diagnostics(evil_history, capsys):
    assert main(["evaluate", str(GUANGDONG), str(evil_history), "--as-of", "2023-07-01"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "op\\x1b[2J9" in out and "two\\nlines\\u202e" in out
    table_rows = [line for line in out.splitlines() if line.startswith("op\\x1b")]
    assert len(table_rows) == 1  # the newline in the name did not break the row
    from qrules.errors import Diagnostic, Span, render

    text = render(Diagnostic("QR500", "bad id 'a\x1b]0;pwned\x07'", Span("<x>", 1, 1), hint="x\x1b[2J"))
    assert "\x1b" not in text and "\x07" not in text and "a\\x1b]0;pwned\\x07" in text


# -- item 4: no pickle loaded from a place another user can write ---------------------------------


class _Planted:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
@pytest.mark.parametrize("weak", ["folder", "file"])
def test_item4_planted_grammar_cache_is_never_loaded(tmp_path, monkeypatch, weak):
    import pickle

    from qrules.language.parser import _lark

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "qrules"
    assert _lark.__wrapped__().parse("1 + 2")  # builds and stores the tables
    (name,) = [p.name for p in folder.iterdir()]
    assert (folder / name).stat().st_mode & 0o077 == 0 and folder.stat().st_mode & 0o077 == 0
    marker = tmp_path / "pwned"
    (folder / name).write_bytes(pickle.dumps(_Planted(marker)))
    os.chmod(folder / name, 0o600)
    if weak == "folder":
        os.chmod(folder, 0o777)  # anyone could have planted it
    else:
        os.chmod(folder / name, 0o666)
    assert _lark.__wrapped__().parse("1 + 2")
    assert not marker.exists()


# -- item 9: dates that would leave the calendar are refused, the rest evaluated ---------------------


@pytest.fixture
def far_dates(tmp_path):
    path = tmp_path / "far.json"
    subjects = [operator("op1", 1), product("p1", "op1"), product("p2", "op1", nice_class=27)]
    events = [ded("e1", "11.4", "0003-03-01", ["p1"]), ded("e2", "11.4", "2023-03-01", ["p2"]),
              ded("e3", "11.4", "9999-12-01", ["p2"]), ded("e4", "11.4", "1899-12-31", ["p1"])]
    path.write_text(json.dumps({"subjects": subjects, "events": events}), encoding="utf-8")
    return path


def test_item9_out_of_calendar_dates_are_refused_records(far_dates, capsys):
    assert main(["evaluate", str(GUANGDONG), str(far_dates), "--as-of", "2025-12-31", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert sorted(r["event"] for r in data["invalid_records"]) == ["e1", "e3", "e4"]
    assert all(r["code"] == "QR501" and "outside the dates qrules evaluates" in r["reason"]
               for r in data["invalid_records"])
    p2 = next(s for s in data["subjects"] if s["id"] == "p2")
    assert p2["score"] == "9"  # e2 still counts: 12 − 3
    for argv in (["explain", str(GUANGDONG), str(far_dates), "p2", "--as-of", "2025-12-31"],
                 ["batch", str(GUANGDONG), str(far_dates), "--as-of", "2025-12-31", "-j", "1"],
                 ["deadlines", str(GUANGDONG), str(far_dates), "--as-of", "2025-12-31"]):
        assert main(argv) in (0, 1)
        assert "QR690" not in capsys.readouterr().err


def test_item9_far_as_of_is_refused_with_a_message(far_dates, capsys, gd):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(GUANGDONG), str(far_dates), "--as-of", "9999-12-31"])
    assert exc.value.code == 2 and "outside the dates qrules evaluates" in capsys.readouterr().err
    import datetime as dt

    from qrules import evaluate, load_history
    from qrules.errors import QrulesError

    with pytest.raises(QrulesError) as err:
        evaluate(gd, load_history(far_dates), dt.date(9999, 12, 31))
    assert err.value.diagnostics[0].code == "QR520"


# -- item 11: what used to be "internal error" ------------------------------------------------------


@pytest.mark.parametrize("body, code", [
    ('deadlines:\n  notify: {within: "999999999 days"}\n', "QR108"),
    ('parameters:\n  window: {value: "99999 months"}\n', "QR108"),
    ('items:\n  "11.4": {points: -1.0e+29}\n', "QR301"),
    ('items:\n  "11.4": {points: "-' + "1" * 60 + '"}\n', "QR301"),
    ('items:\n  "11.4": {points: -0.00001}\n', "QR301"),
    ('parameters:\n  start_score: {value: "99999999999999999999 * 99999999999999999999"}\n', "QR405"),
    ('window:\n  counts: "as_of - window < entry.date <= as_of and 9999-12-31 + 5 workdays > as_of"\n', "QR208"),
])
def test_item11_ruleset_values_that_failed_evaluate_are_refused_by_check(tmp_path, capsys, body, code):
    kid = tmp_path / "kid.yaml"
    kid.write_text(f"qrules: 1\nruleset: kid\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n{body}", encoding="utf-8")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and "internal error" not in err and "Traceback" not in err


def test_item11_json_nested_100000_deep(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text('{"subjects": ' + deep + ', "events": []}', encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text('{"record": "subject", "x": ' + deep + "}\n", encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(tmp_path / "deep.json")]) == 1
    assert main(["evaluate", str(GUANGDONG), str(tmp_path / "deep.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "error[QR005]" in err and "error[QR507]" in err and "internal error" not in err


def test_item11_parquet_date_beyond_the_calendar(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["op1"], "kind": ["operator"], "uscc": [operator("op1", 1)["uscc"]],
                             "roles": ["producer"], "region": ["440512"]}), tmp_path / "subjects.parquet")
    pq.write_table(pa.table({"id": ["e1", "e2"], "kind": ["deduction"] * 2, "item": ["12.3"] * 2,
                             "date": pa.array([10**7, 19000], pa.date32()), "subjects": ["op1"] * 2}),
                   tmp_path / "events.parquet")
    assert main(["evaluate", str(GUANGDONG), str(tmp_path), "--as-of", "2025-01-01"]) == 1
    assert "internal error" not in capsys.readouterr().err
    from qrules.batch import load_columnar

    loaded = load_columnar(tmp_path)
    assert [r.id for r in loaded.rejected_events] == ["e1"] and [e.id for e in loaded.history.events] == ["e2"]


@pytest.mark.parametrize("target", ["missing/out.csv", "folder", "readonly/out.csv"])
def test_item11_unwritable_output_is_refused_before_loading(tmp_path, capsys, monkeypatch, target):
    (tmp_path / "folder").mkdir()
    (tmp_path / "readonly").mkdir(mode=0o555)
    if target.startswith("readonly") and os.access(tmp_path / "readonly", os.W_OK):
        pytest.skip("running as a user who can write anywhere")
    loaded = []
    import qrules.history.load as hl

    monkeypatch.setattr(hl, "load_history", lambda *a, **k: loaded.append(a))
    assert main(["evaluate", str(GUANGDONG), "never-read.json", "-o", str(tmp_path / target)]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err.lower() or "does not exist" in err or "is a directory" in err
    assert loaded == []


def test_item11_full_disk_keeps_previous_output(tmp_path, capsys, monkeypatch, far_dates):
    out = tmp_path / "r.csv"
    out.write_text("previous\n", encoding="utf-8")
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, text):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: Full(real_open(f, *a, **k))
                        if str(f).endswith(".part") else real_open(f, *a, **k))
    assert main(["evaluate", str(GUANGDONG), str(far_dates), "--as-of", "2025-12-31", "--format", "csv",
                 "-o", str(out)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "previous\n" and not list(tmp_path.glob(".*.part"))


def test_item11_workers_are_capped():
    from qrules.batch import max_workers

    assert max_workers() <= 4 * (os.cpu_count() or 1)


# -- item 10: reference and cycle checks are linear --------------------------------------------------


def _correction(id: str, of: str) -> dict:
    return {"id": id, "kind": "correction", "of": of, "action": "revoke", "date": "2023-02-01"}


def test_item10_cycles_through_of_are_found_once_per_record():
    from qrules.history import load_history_data

    events = [ded("e0", "11.4", "2023-01-01", ["p1"]), _correction("c1", "c3"), _correction("c2", "c1"),
              _correction("c3", "c2"), _correction("t1", "c2"), _correction("ok", "e0")]
    loaded = load_history_data({"subjects": [operator("op1", 1), product("p1", "op1")], "events": events})
    reasons = {r.id: r.reason for r in loaded.rejected_events}
    assert set(reasons) == {"c1", "c2", "c3", "t1"} and [e.id for e in loaded.history.events] == ["e0", "ok"]
    assert reasons["c1"].endswith("c1 → c3 → c2 → c1")
    assert reasons["t1"].endswith("c2 → c1 → c3 → c2")  # where t1's chain enters the circle


def test_item10_a_chain_of_3000_corrections_loads(tmp_path):
    from qrules.history import load_history_data

    events = [ded("e0", "11.4", "2023-01-01", ["p1"])] + [
        _correction(f"c{i}", f"c{i - 1}" if i > 1 else "e0") for i in range(1, 3001)]
    circle = [dict(e) for e in events]
    circle[1]["of"] = "c3000"
    subjects = [operator("op1", 1), product("p1", "op1")]
    assert len(load_history_data({"subjects": subjects, "events": events}).history.events) == 3001
    refused = load_history_data({"subjects": subjects, "events": circle}).rejected_events
    assert len(refused) == 3000 and "(3000 records in the circle)" in refused[0].reason


# -- item 12: results do not depend on the order of the input ----------------------------------------


def test_item12_duplicate_ids_of_different_kinds_decide_nothing_by_order():
    from qrules.history import load_history_data

    subjects = [operator("op1", 1), product("p1", "op1")]
    dup = [ded("d1", "11.4", "2023-01-01", ["p1"]),
           {"id": "d1", "kind": "filing", "subject": "op1", "date": "2023-01-02"}]
    repair = {"id": "r1", "kind": "repair", "of": "d1", "date": "2023-03-01", "rectified": True}
    outcomes = set()
    for events in (dup + [repair], dup[::-1] + [repair], [repair] + dup):
        loaded = load_history_data({"subjects": subjects, "events": events})
        outcomes.add((tuple(sorted(e.id for e in loaded.history.events)),
                      tuple(sorted((r.id, r.code) for r in loaded.rejected_events))))
    assert len(outcomes) == 1


def test_item12_art10_tie_between_products_goes_to_the_smallest_id(run):
    subjects = [operator("op1", 1), product("pb", "op1"), product("pa", "op1", nice_class=27)]
    events = [ded("e1", "11.4", "2023-03-01", ["pb"]), ded("e2", "11.4", "2023-03-01", ["pa"])]
    for order in (events, events[::-1]):
        for subs in (subjects, subjects[::-1]):
            op = run(subs, order, "2023-07-01").subject("op1")
            assert (op.score, op.determined_by) == (9, "pa")  # both lines 12 − 3; tie → 'pa'
