"""A library developers can embed (issue 9, item 4): a typed wheel (py.typed) that mypy accepts,
catchable exceptions with locations, date arguments, record paths for Python data, one
compiled ruleset shared by 16 threads, ``qrules --version``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

import qrules
from conftest import GUANGDONG, HAOJIANG, ROOT, ded, operator, product
from qrules.cli import main

HISTORY = ROOT / "examples" / "haojiang-history.yaml"

EMBED = textwrap.dedent('''
    import datetime as dt

    import qrules
    from qrules import CompiledRuleset, EvaluationResult, QrulesError, RulesetError

    ruleset: CompiledRuleset = qrules.load_ruleset("{haojiang}")
    history = qrules.load_history("{history}")
    result: EvaluationResult = qrules.evaluate(ruleset, history, dt.date(2025, 12, 31))
    again = qrules.evaluate(ruleset, history, "2025-12-31", subjects=["hh"])
    for s in result.subjects:
        print(s.id, s.score, s.live_class, s.official_class, s.measures.mode)
    data: dict[str, object] = qrules.evaluate_data(ruleset, {{"subjects": [], "events": []}}, "2025-12-31")
    try:
        qrules.load_ruleset("missing.yaml")
    except RulesetError as exc:
        line: int | None = exc.span.line if exc.span else None
    except QrulesError as exc:
        codes: list[str] = [d.code for d in exc.diagnostics]
    print(qrules.__version__, again.subject("hh").official_class, len(data))
''')


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The wheel `pip install .` would install, unpacked as a site directory. Built from a copy of the
    sources, as from a clean checkout: setuptools would otherwise reuse what an earlier build left in
    ``build/`` (modules the package list no longer names, or never did)."""
    import shutil

    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv*", ".lock-venv", "build", "dist", ".site*",
                                                             "__pycache__", "*.egg-info", ".hypothesis", ".pytest_cache",
                                                             "node_modules", ".mypy_cache"))
    env = dict(os.environ, PIP_CONSTRAINT=str(ROOT / "constraints.txt"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp)],
                   check=True, env=env, timeout=300, capture_output=True)
    wheel = next(tmp.glob("qrules-*.whl"))
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
        names = zf.namelist()
    return site, names


def test_wheel_ships_py_typed_and_the_grammar(wheel_site):
    _, names = wheel_site
    assert "qrules/py.typed" in names and "qrules/grammar/qrules.lark" in names


def test_wheel_ships_every_module_of_the_tree(wheel_site):
    """`pip install .` gives the whole package: every module under qrules/ is in the wheel (the
    package list in pyproject.toml is explicit, so a new subpackage must be added there)."""
    _, names = wheel_site
    tree = {p.relative_to(ROOT).as_posix() for p in (ROOT / "qrules").rglob("*.py") if "__pycache__" not in p.parts}
    assert tree and tree <= set(names), sorted(tree - set(names))


def test_installed_wheel_runs_the_review_and_batch_commands(wheel_site, tmp_path):
    """The commands that live in subpackages (qrules.review: diff; qrules.columnar: batch) run from the wheel."""
    site, _ = wheel_site
    env = dict(os.environ, PYTHONPATH=str(site))
    code = ("import sys; from qrules.cli import main; sys.exit(main(sys.argv[1:]))")
    diff = subprocess.run([sys.executable, "-c", code, "diff", str(GUANGDONG), str(HAOJIANG)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert diff.returncode in (0, 1) and "Traceback" not in diff.stderr, diff.stderr
    import qrules.columnar  # noqa: F401 - the tree's; the wheel's is imported in the child below
    probe = subprocess.run([sys.executable, "-c", "import qrules.columnar, qrules.review; print(qrules.columnar.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0 and probe.stdout.startswith(str(site)), probe.stderr + probe.stdout


def test_mypy_strict_accepts_a_small_embedding_script(wheel_site, tmp_path):
    site, _ = wheel_site
    script = tmp_path / "embed.py"
    script.write_text(EMBED.format(haojiang=HAOJIANG.as_posix(), history=HISTORY.as_posix()), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(site))  # the unpacked wheel, seen as an installed package
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "hh 14 A A" in run.stdout


def test_mypy_finds_a_type_error_in_embedding_code(wheel_site, tmp_path):
    site, _ = wheel_site
    script = tmp_path / "bad.py"
    script.write_text("import qrules\nruleset: int = qrules.load_ruleset('x.yaml')\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(site)), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1 and 'has type "CompiledRuleset"' in proc.stdout


# -- exceptions --------------------------------------------------------------------------------
def test_a_broken_ruleset_raises_ruleset_error_with_locations(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GUANGDONG.read_text(encoding="utf-8").replace('"6 < score < 12"', '"6 < scroe < 12"'),
                   encoding="utf-8")
    with pytest.raises(qrules.RulesetError) as info:
        qrules.load_ruleset(bad)
    exc = info.value
    assert isinstance(exc, qrules.QrulesError) and exc.code == "QR201"
    assert exc.span is not None and exc.span.file == str(bad) and exc.span.line > 1
    assert f"{bad}:{exc.span.line}:{exc.span.col}: error[QR201]" in str(exc)


def test_an_unreadable_history_raises_history_error(tmp_path):
    bad = tmp_path / "h.yaml"
    bad.write_text("subjects: [\n", encoding="utf-8")
    with pytest.raises(qrules.HistoryError) as info:
        qrules.load_history(bad)
    assert info.value.code == "QR002" and info.value.span.line >= 1


def test_a_rule_failing_at_run_time_raises_rule_failure_at_its_place(tmp_path):
    text = GUANGDONG.read_text(encoding="utf-8").replace(
        'value: "100% if deduction.ordinal == 1 else 50%"', 'value: "100% / (deduction.ordinal - 1)"')
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(text, encoding="utf-8")
    compiled = qrules.load_ruleset(ruleset)
    loaded = qrules.load_history_data({"subjects": [operator("op1", 1), product("p1", "op1")], "events": [
        {"id": "f1", "kind": "filing", "subject": "op1", "date": "2023-01-01"},
        ded("e1", "11.7", "2023-03-01", ["p1"]),
        {"id": "r1", "kind": "repair", "of": "e1", "date": "2023-04-01", "rectified": True}]})
    with pytest.raises(qrules.RuleFailure) as info:
        qrules.evaluate(compiled, loaded, "2023-06-01")
    assert info.value.code == "QR690" and info.value.span.file == str(ruleset)


# -- arguments -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def haojiang():
    return qrules.load_ruleset(HAOJIANG)


@pytest.fixture(scope="module")
def example():
    return qrules.load_history(HISTORY)


def test_evaluate_accepts_a_date_or_an_iso_string(haojiang, example):
    a = qrules.evaluate(haojiang, example, dt.date(2025, 12, 31))
    b = qrules.evaluate(haojiang, example, "2025-12-31")
    c = qrules.evaluate(haojiang, example, dt.datetime(2025, 12, 31, 18, 30))
    assert a.model_dump_json() == b.model_dump_json() == c.model_dump_json()


@pytest.mark.parametrize("as_of", [20251231, 2025.12, ["2025-12-31"], b"2025-12-31"])
def test_evaluate_refuses_other_date_types_with_a_clear_type_error(haojiang, example, as_of):
    with pytest.raises(TypeError, match=r"as_of must be a datetime.date or an ISO date string 'YYYY-MM-DD'"):
        qrules.evaluate(haojiang, example, as_of)


def test_evaluate_refuses_a_string_that_is_not_a_date(haojiang, example):
    with pytest.raises(ValueError, match=r"as_of='2025/12/31' is not a date: write YYYY-MM-DD"):
        qrules.evaluate(haojiang, example, "2025/12/31")


def test_evaluate_refuses_a_path_or_a_dict_with_a_clear_type_error(haojiang, example):
    with pytest.raises(TypeError, match="ruleset must be a CompiledRuleset"):
        qrules.evaluate(str(HAOJIANG), example, "2025-12-31")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="use qrules.evaluate_data"):
        qrules.evaluate(haojiang, {"subjects": [], "events": []}, "2025-12-31")  # type: ignore[arg-type]


def test_evaluate_data_names_the_record_path_of_each_problem(haojiang):
    data = {"subjects": [operator("op1", 1), product("p1", "op1")],
            "events": [ded("e1", "11.1", "2023-03-01", ["p1"]), ded("e2", "11.1", "2023-02-30", ["p1"]),
                       {"id": "e3", "kind": "deduction", "item": "11.1", "subjects": ["p1"]},
                       ded("e4", "11.1", "2023-03-01", ["p1"], colour="red")]}
    out = qrules.evaluate_data(haojiang, data, "2023-07-01")
    paths = {d["message"].split(":")[0]: d.get("path") for d in out["input_diagnostics"]}
    assert paths == {"e2": "events[1].date", "e3": "events[2].date", "e4": "events[3].colour"}
    assert all(d["file"] == "<data>" and "line" not in d for d in out["input_diagnostics"])
    assert json.dumps(out, ensure_ascii=False)  # JSON out


def test_evaluate_data_gives_what_the_json_output_reads_back_as(haojiang, example):
    """JSON in, JSON out: the dict is the ``--format json`` text read back, value for value."""
    data = yaml.safe_load(HISTORY.read_text(encoding="utf-8"))
    out = qrules.evaluate_data(haojiang, data, "2025-12-31")
    expected = json.loads(qrules.evaluate(haojiang, example, "2025-12-31").model_dump_json(by_alias=True))
    assert out.pop("input_diagnostics") and out == expected
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out


# -- threads ---------------------------------------------------------------------------------------
def test_one_compiled_ruleset_shared_by_16_threads_gives_identical_results(haojiang, example):
    dates = [dt.date(2024, 6, 30), dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 3, 1)]
    expected = {d: qrules.evaluate(haojiang, example, d).model_dump_json() for d in dates}
    fresh = qrules.load_ruleset(HAOJIANG)  # memo tables empty: the threads fill them concurrently
    jobs = [dates[i % len(dates)] for i in range(64)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda d: (d, qrules.evaluate(fresh, example, d).model_dump_json()), jobs))
    assert len(got) == 64 and all(out == expected[d] for d, out in got)


# -- version ---------------------------------------------------------------------------------------
def test_version_option_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qrules {qrules.__version__}"


def test_mypy_strict_accepts_the_readme_example(wheel_site, tmp_path):
    """README "Python API" says mypy --strict accepts its example: the example as the README shows it."""
    from test_docs import readme_python

    site, _ = wheel_site
    script = tmp_path / "readme.py"
    script.write_text(readme_python(), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(site)), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
