"""The per-record checks of :mod:`qrules.history.models`, as polars expressions over a whole table.

Why: validating a million rows one pydantic model at a time is most of the load. Here every
rule a record must keep (its kind, the fields its kind requires and allows, ids, codes, dates in
1900–2199, regions, Nice classes 1–34, the credit code's GB 32100 check character, booleans,
lists without repeats, amend/revoke ``changes``) is one expression, evaluated for all rows at
once. The result is the table typed as :class:`qrules.columnar.Tables` holds it, and ``__ok``:
true only for a row these checks are *sure* the models accept unchanged. Every other row (a
failure, or anything unusual: whitespace to strip, an unexpected Parquet type, a credit code in
lower case) goes to the per-record loader, which accepts or refuses it with today's message —
so a check here may be stricter than the models, never looser.
"""

from __future__ import annotations

from typing import Any

from ..tables import BOOL_COLUMNS, COLUMN_PATHS, EVENT_INPUT_COLUMNS, LIST_COLUMNS, SUBJECT_COLUMNS
from .models import EVENT_MODELS, MAX_DATE, MIN_DATE, SUBJECT_MODELS, USCC_ALPHABET, USCC_AUTHORITIES

__all__ = ["check_subjects", "check_events", "uscc_valid"]

#: A character no Python ``str.strip()`` removes: a cell with one is surely not blank.
_SOLID = r"[^\s\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2060\u3000\ufeff]"
#: Characters Python strips but polars does not: a list or number cell with one goes the slow way.
_PY_ONLY_SPACE = r"[\x1c-\x1f]"
_USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # GB 32100 (python-stdnum's)
_DATES = frozenset({"date", "notice_date", "action_date", "applied", "changes_date", "recorded"})
_ID_LISTS = frozenset({"subjects", "changes_subjects"})
_IDS = frozenset({"id", "producer", "subject", "of"})
_CODES = frozenset({"brand", "item", "rule", "changes_item", "line_model", "line_standard", "changes_line_model",
                    "changes_line_standard"})
_CHOICES = {"result": ("pass", "fail"), "action": ("revoke", "amend")}


def _field(column: str) -> str:
    return COLUMN_PATHS.get(column, (column,))[0]


def _fields(models: dict) -> dict[str, tuple[set[str], set[str]]]:
    """kind -> (allowed fields, required fields) of its model."""
    out = {}
    for kind, model in models.items():
        fields = {n: f for n, f in model.model_fields.items() if n != "span"}
        out[kind] = (set(fields), {n for n, f in fields.items() if f.is_required()})
    return out


def uscc_valid(codes: Any) -> Any:
    """Per code (a polars Series of text), whether it is a compact GB 32100 code with the right
    check character: the same weighted sum as :func:`qrules.history.models.uscc_check_character`,
    over a byte matrix of all well-formed codes at once."""
    import numpy as np
    import polars as pl

    form = codes.str.contains(_USCC).fill_null(False)
    good = codes.filter(form).to_list()
    ok = np.zeros(len(codes), dtype=bool)
    if good:
        table = np.zeros(256, dtype=np.int64)
        for i, ch in enumerate(USCC_ALPHABET):
            table[ord(ch)] = i
        chars = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        total = table[chars[:, :17]] @ np.array(_WEIGHTS, dtype=np.int64)
        expected = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)[(31 - total % 31) % 31]
        ok[form.to_numpy()] = expected == chars[:, 17]
    return pl.Series("__uscc", ok)


class _Cols:
    """Typed values and checks of one raw table's columns."""

    def __init__(self, frame: Any):
        import polars as pl

        self.pl = pl
        self.schema = dict(frame.schema)
        texts = [c for c, t in self.schema.items() if t == pl.Utf8 and not c.startswith("__")]
        found = frame.select([(pl.col(c) == "").any().alias(c) for c in texts]).row(0) if texts and frame.height else ()
        #: Text columns holding an empty cell (an absent field): elsewhere a column is its own value.
        self.blank = {c for c, hit in zip(texts, found) if hit}

    def dtype(self, c: str) -> Any:
        return self.schema.get(c, self.pl.Null)

    def text(self, c: str) -> bool:
        return self.dtype(c) == self.pl.Utf8

    def present(self, c: str) -> Any:
        pl = self.pl
        if c not in self.schema:
            return pl.lit(False)
        return (pl.col(c) != "").fill_null(False) if c in self.blank else pl.col(c).is_not_null()

    def value(self, c: str) -> tuple[Any, Any]:
        """(typed value or null when absent, check: true when absent or surely valid)."""
        pl = self.pl
        if c not in self.schema:
            return pl.lit(None, dtype=_target(c)), pl.lit(True)
        here, col, dt = self.present(c), pl.col(c), self.dtype(c)
        if c in LIST_COLUMNS:
            if self.text(c):
                items = col.str.split(";").list.eval(pl.element().str.strip_chars()).list.filter(pl.element() != "")
                ok = ~col.str.contains(_PY_ONLY_SPACE)
            elif dt == pl.List(pl.Utf8):
                items, ok = col, pl.lit(True)
            else:
                return pl.lit(None, dtype=pl.List(pl.Utf8)), ~here
            if c == "roles":
                good = items.list.eval(pl.element().is_in(["producer", "seller"])).list.all()
            else:
                good = items.list.eval(pl.element().str.contains(_SOLID)).list.all() & \
                    (items.list.n_unique() == items.list.len())
                if c == "changes_subjects":
                    good = good & (items.list.len() > 0)
            return pl.when(here).then(items), ~here | (ok & good.fill_null(False))
        if c in BOOL_COLUMNS:
            if dt == pl.Boolean:
                return col, pl.lit(True)
            if not self.text(c):
                return pl.lit(None, dtype=pl.Boolean), ~here
            word = col.str.strip_chars()
            ok = col.str.contains(r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$") & ~col.str.contains(_PY_ONLY_SPACE)
            return pl.when(here).then(word.str.to_lowercase() == "true"), ~here | ok.fill_null(False)
        if c in _DATES:
            if dt == pl.Date:
                return col, (col >= MIN_DATE) & (col <= MAX_DATE) | col.is_null()
            elif self.text(c):
                word = col.str.strip_chars()
                date = word.str.to_date("%Y-%m-%d", strict=False)
                ok = word.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & ~col.str.contains(_PY_ONLY_SPACE)
            else:
                return pl.lit(None, dtype=pl.Date), ~here
            ok = ok & date.is_not_null() & (date >= MIN_DATE) & (date <= MAX_DATE)
            return pl.when(here).then(date), ~here | ok.fill_null(False)
        if c == "nice_class":
            if dt in (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
                number = col.cast(pl.Int64, strict=False)
                ok = pl.lit(True)
            elif self.text(c):
                number = col.str.to_integer(strict=False)
                ok = col.str.contains(r"^[0-9]{1,9}$")
            else:
                return pl.lit(None, dtype=pl.Int64), ~here
            return pl.when(here).then(number), ~here | (ok & number.is_between(1, 34)).fill_null(False)
        if not self.text(c):  # ids as numbers, text as anything else: the models decide
            return pl.lit(None, dtype=pl.Utf8), ~here
        if c not in self.blank:
            here = col.is_not_null()
        if c in _IDS or c in _CODES:
            ok = col.str.contains(_SOLID)
        elif c in _CHOICES:
            ok = col.is_in(list(_CHOICES[c]))
        elif c == "region":
            ok = col.str.contains(r"^[0-9]{6}$")
        elif c == "uscc":  # the format and check character (__uscc, computed before), a known authority
            ok = pl.col("__uscc") & col.str.slice(0, 1).is_in(list(USCC_AUTHORITIES))  # else QR511 to report
        else:
            ok = pl.lit(True)
        return (pl.when(here).then(col) if c in self.blank else col), ~here | ok.fill_null(False)


def _target(c: str) -> Any:
    from ..columnar import Tables

    return Tables._dtype(c)


def _check(frame: Any, columns: list[str], models: dict) -> Any:
    """``frame`` (raw) -> the typed columns, ``__ok``, ``__pos``, ``__line``, ``__err``."""
    import polars as pl

    cols = _Cols(frame)
    kind = pl.col("kind") if cols.text("kind") else pl.lit(None, dtype=pl.Utf8)
    fields = _fields(models)
    values = {c: cols.value(c) for c in columns}
    ok = [kind.is_in(list(models)).fill_null(False), pl.col("__err").is_null()]
    # How many rows of each kind fill each column: a rule no row can break costs nothing per row.
    counts: dict[str, dict[str, int]] = {}
    if cols.text("kind"):
        code = kind.replace_strict({k: i for i, k in enumerate(models)}, default=None, return_dtype=pl.Int16)
        stats = frame.select(code.alias("__k"), *[cols.present(c).alias(c) for c in columns
                                                  if c in cols.schema and c != "kind"]) \
            .group_by("__k").agg(pl.len().alias("__n"), pl.exclude("__n").sum())
        names = list(models)
        counts = {names[row["__k"]]: row for row in stats.iter_rows(named=True) if row["__k"] is not None}
    for c in columns:
        ok.append(values[c][1])
        allowed = [k for k, (names, _) in fields.items() if _field(c) in names]
        if any(counts[k].get(c) for k in counts if k not in allowed):  # a field this kind does not have
            ok.append(~cols.present(c) | kind.is_in(allowed).fill_null(False))
    for k, (_, required) in fields.items():
        for f in sorted(required - {"kind"}):
            filled = [c for c in columns if _field(c) == f]
            if k in counts and any(counts[k].get(c, 0) == counts[k]["__n"] for c in filled):
                continue  # every row of this kind has it
            present = pl.any_horizontal([cols.present(c) for c in filled])
            ok.append((kind != k).fill_null(True) | present)
    changes = [c for c in columns if _field(c) == "changes"]
    if changes:  # amend needs changes, revoke takes none
        has = pl.any_horizontal([cols.present(c) for c in changes])
        ok.append((kind != "correction").fill_null(True) | (has == (values["action"][0] == "amend")).fill_null(False))
    if "subjects" in values:  # a deduction names at least one subject
        ok.append((kind != "deduction").fill_null(True) | (values["subjects"][0].list.len() > 0).fill_null(False))
    return frame.lazy().select(*[v.alias(c) for c, (v, _) in values.items()],
                               __ok=pl.all_horizontal(ok).fill_null(False),
                               __pos=pl.int_range(pl.len(), dtype=pl.Int64), __line=pl.col("__line"),
                               __err=pl.col("__err"))


def check_subjects(frame: Any) -> Any:
    """Subjects typed as ``Tables.subject_schema()`` (roles ``[]`` when absent), with ``__ok``
    (a LazyFrame: both tables are checked in one parallel run)."""
    import polars as pl

    codes = frame["uscc"] if frame.schema.get("uscc") == pl.Utf8 else pl.Series([None] * frame.height, dtype=pl.Utf8)
    out = _check(frame.with_columns(uscc_valid(codes)), SUBJECT_COLUMNS, SUBJECT_MODELS)
    return out.with_columns(pl.col("roles").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))


def check_events(frame: Any) -> Any:
    """Events typed as ``Tables.event_schema()`` (booleans ``false`` where the kind has the field
    and the row leaves it empty, as the models' defaults), with ``__ok`` (a LazyFrame)."""
    import polars as pl

    out = _check(frame, EVENT_INPUT_COLUMNS, EVENT_MODELS)
    fields = _fields(EVENT_MODELS)
    defaults = []
    for c in BOOL_COLUMNS:
        if c.startswith("changes_"):
            continue  # CorrectionChanges: None unless written
        kinds = [k for k, (names, _) in fields.items() if c in names]
        defaults.append(pl.when(pl.col("kind").is_in(kinds)).then(pl.col(c).fill_null(False)).otherwise(pl.col(c))
                        .alias(c))
    return out.with_columns(*defaults)
