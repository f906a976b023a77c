"""The JSON Schemas that editors use validate the real files (and catch a typo)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import jsonschema
import yaml

from conftest import GUANGDONG, HAOJIANG, ROOT
from qrules.history import history_json_schema
from qrules.schema import ruleset_json_schema


def _plain(value):
    """YAML values as JSON would carry them (dates as ISO strings, numbers as numbers)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, dt.date) else float(v)
                                 if isinstance(v, Decimal) else str(v)))


def _load(path):
    return _plain(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_provincial_ruleset_validates_against_schema():
    jsonschema.validate(_load(GUANGDONG), ruleset_json_schema())


def test_district_ruleset_validates_against_child_schema():
    jsonschema.validate(_load(HAOJIANG), ruleset_json_schema(child=True))


def test_schema_rejects_a_misspelt_key():
    data = _load(GUANGDONG)
    data["scope"]["excluded_categorys"] = data["scope"].pop("excluded_categories")
    errors = list(jsonschema.Draft202012Validator(ruleset_json_schema()).iter_errors(data))
    assert errors and "excluded_categorys" in errors[0].message


def test_example_history_validates_against_history_schema():
    data = _load(ROOT / "examples" / "haojiang-history.yaml")
    errors = list(jsonschema.Draft202012Validator(history_json_schema()).iter_errors(data))
    # The example plants bad records on purpose (a Nice class 40); nothing else may fail.
    assert all("40" in e.message or "maximum" in e.message or "pattern" in e.message for e in errors), \
        [e.message for e in errors]
