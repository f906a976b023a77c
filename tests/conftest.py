"""Shared fixtures: compiled rulesets (once per session) and small history builders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import settings

# No timing assertions in tests (speed is measured in bench/): Hypothesis's per-example deadline
# fails property tests at random on a loaded 2-core machine, so it is off for the whole suite.
settings.register_profile("qrules", deadline=None)
settings.load_profile("qrules")

# No timing assertions in tests (bench/ measures speed): hypothesis's per-example deadline
# would fail a property on a loaded machine, so it is off for the whole suite.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("qrules", deadline=None)
_hypothesis_settings.load_profile("qrules")

ROOT = Path(__file__).resolve().parent.parent
GUANGDONG = ROOT / "rulesets" / "guangdong-2021.yaml"
HAOJIANG = ROOT / "rulesets" / "haojiang-2023.yaml"


@pytest.fixture(autouse=True)
def _rulesets_folder_allowed(monkeypatch):
    """Test variants written to tmp_path extend the repository's rulesets, as a user would
    with ``qrules --allow-path rulesets`` (a parent outside the child's folder is refused)."""
    from qrules import loader

    monkeypatch.setattr(loader, "ALLOWED_PATHS", [GUANGDONG.parent])


def uscc(n: int, region: str = "440512") -> str:
    """A valid unified social credit code (GB 32100) numbered ``n``."""
    from qrules.history import uscc_check_character

    first17 = f"91{region}MA{n:07d}"[:17]
    return first17 + uscc_check_character(first17)


def operator(id: str, n: int, roles=("producer",), region: str = "440512", **extra) -> dict:
    return {"id": id, "kind": "operator", "uscc": uscc(n), "roles": list(roles), "region": region, **extra}


def product(id: str, producer: str | None, brand: str = "某牌", nice_class: int = 28, **extra) -> dict:
    out = {"id": id, "kind": "product", "brand": brand, "nice_class": nice_class, "category": "玩具", **extra}
    if producer:
        out["producer"] = producer
    return out


def ded(id: str, item: str, date: str, subjects, **extra) -> dict:
    return {"id": id, "kind": "deduction", "item": item, "date": date, "subjects": list(subjects), **extra}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="session")
def gd():
    from qrules.versioned import load

    return load(GUANGDONG)


@pytest.fixture(scope="session")
def hj():
    from qrules.versioned import load

    return load(HAOJIANG)


@pytest.fixture
def run(gd):
    """run(subjects, events, as_of, ruleset=gd) -> EvaluationResult (loader problems must be none)."""
    from qrules import evaluate
    from qrules.history import load_history_data

    def _run(subjects, events, as_of, ruleset=None, *, allow_invalid=False):
        loaded = load_history_data({"subjects": subjects, "events": events})
        if not allow_invalid:
            assert not [x for x in loaded.diagnostics if x.severity == "error"], loaded.diagnostics
        return evaluate(ruleset or gd, loaded, d(as_of) if isinstance(as_of, str) else as_of)

    return _run


@pytest.fixture
def child(tmp_path):
    """child(yaml_text) -> compiled ruleset extending guangdong-2021 (a what-if variant)."""
    from qrules.versioned import load

    def _child(body: str, name: str = "whatif"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"qrules: 1\nruleset: {name}\nextends: {GUANGDONG}\nversion: test\n{body}",
                        encoding="utf-8")
        return load(path)

    return _child
