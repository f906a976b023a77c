"""Seeded synthetic histories for tests and benchmarks (``qrules synth``).

Not part of the evaluation pipeline: it writes histories in the formats ``history`` and
``batch`` read. A corpus is a stream of *groups* — one operator, its products (0–4) and
the events about them — generated one at a time, so 2,000,000 subjects never sit in
memory. The mix is meant to be realistic and to reach every code path: producers and
sellers, every event kind (deductions of every item, repairs, rewards of every rule, spot
checks, filings, corrections, procedure steps), every class including D locks, and a few
bad records (wrong credit-code check characters, Nice class 40, unknown items, out-of-scope
categories, regions outside Guangdong, events after the as-of date). About 3 events per
subject. A few deductions name a seller from a recent group, so components span groups.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any, Iterator

from .history import USCC_ALPHABET, uscc_check_character

__all__ = ["generate", "write_corpus", "DEFAULT_AS_OF"]

#: The as-of date the corpus is built around (events run from mid-2021 to late 2025).
DEFAULT_AS_OF = dt.date(2025, 12, 31)
_START = dt.date(2021, 7, 1)
_SPAN_DAYS = (dt.date(2025, 11, 30) - _START).days

_REGIONS = ["440512", "440507", "440511", "440106", "440304", "440604", "441302", "440000"]
_OUTSIDE = ["110105", "310115", "350203"]
_CATEGORIES = ["玩具", "电线电缆", "家用电器", "服装", "纸制品", "灯具", "日用陶瓷", None]
_EXCLUDED = ["食品", "化妆品", "特种设备"]
_BRANDS = "金银铜铁山水火木星月光明华美宏达新利恒通"
_PRODUCT_ITEMS = ["11.1", "11.1", "11.1", "11.2", "11.3", "11.4", "11.5", "11.6", "11.7", "11.7", "11.8", "11.9"]
_OPERATOR_ITEMS = ["12.1", "12.3", "12.4", "12.5"]
_PRODUCER_ITEMS = ["12.6", "12.2"]
_SELLER_ITEMS = ["12.7", "12.8", "12.9", "12.10"]
_STANDARDS = ["GB 6675.1", "GB/T 5023", "GB 4706.1", "GB 18401", "GB 7000.1"]


def _uscc(n: int, region: str, rng: random.Random, bad: bool) -> str:
    body, k = [], n
    for _ in range(9):
        body.append(USCC_ALPHABET[k % 31])
        k //= 31
    first17 = "91" + region + "".join(reversed(body))
    check = uscc_check_character(first17)
    if bad:
        check = USCC_ALPHABET[(USCC_ALPHABET.index(check) + 1 + rng.randrange(30)) % 31]
    return first17 + check


class _Gen:
    def __init__(self, seed: int, bad_rate: float):
        self.rng = random.Random(seed)
        self.bad = bad_rate
        self.ev = 0
        self.op = 0
        self.prod = 0
        self.sellers: list[str] = []  # recent sellers, for cross-group events

    def date(self, lo: dt.date | None = None, days: int | None = None) -> dt.date:
        lo = lo or _START
        span = days if days is not None else max((_START + dt.timedelta(_SPAN_DAYS) - lo).days, 1)
        return lo + dt.timedelta(self.rng.randrange(max(span, 1)))

    def eid(self) -> str:
        self.ev += 1
        return f"e{self.ev}"

    def group(self, budget: int) -> tuple[list[dict], list[dict]]:
        """One operator with up to ``budget - 1`` products, and their events."""
        r = self.rng
        self.op += 1
        oid = f"o{self.op}"
        n_products = min(budget - 1, r.choice([0, 0, 1, 1, 2, 2, 3, 4]))
        roles = ["producer"] if n_products else r.choice([["seller"], ["seller"], ["producer"], []])
        if n_products and r.random() < 0.25:
            roles = ["producer", "seller"]
        region = r.choice(_OUTSIDE) if r.random() < self.bad else r.choice(_REGIONS)
        op: dict[str, Any] = {"id": oid, "kind": "operator", "uscc": _uscc(self.op, region, r, r.random() < self.bad / 2),
                              "name": f"合成企业{self.op}有限公司", "roles": roles, "region": region}
        cat = r.choice(_CATEGORIES)
        if r.random() < self.bad:
            cat = r.choice(_EXCLUDED)
        if cat:
            op["category"] = cat
        subjects = [op]
        events: list[dict] = []
        # the profile decides how many things happen: most subjects are clean or mildly marked
        profile = r.random()
        intensity = 0 if profile < 0.35 else 1 if profile < 0.75 else 2 if profile < 0.93 else 4
        products = []
        for _ in range(n_products):
            self.prod += 1
            pid = f"p{self.prod}"
            nice = 40 if r.random() < self.bad / 4 else r.randint(1, 34)
            p: dict[str, Any] = {"id": pid, "kind": "product", "brand": f"{r.choice(_BRANDS)}{r.choice(_BRANDS)}{self.prod}",
                                 "nice_class": nice, "producer": oid, "name": f"合成产品{self.prod}"}
            if cat and r.random() < 0.8:
                p["category"] = cat
            subjects.append(p)
            products.append(pid)
        filed = r.random() < 0.6
        if filed:
            events.append({"id": self.eid(), "kind": "filing", "subject": oid, "date": self.date(days=300),
                           "concealed": r.random() < 0.05})
        deductions: list[dict] = []
        for pid in products:
            model = f"M-{r.randrange(100)}"
            std = r.choice(_STANDARDS)
            for _ in range(r.choice([1, 1, 2, 3])):  # spot checks: mostly passes
                d = self.date()
                fail = r.random() < 0.08 * (1 + intensity)
                events.append({"id": self.eid(), "kind": "spot_check", "subject": pid, "date": d,
                               "result": "fail" if fail else "pass", "line": {"model": model, "standard": std}})
                if fail:
                    ev = {"id": self.eid(), "kind": "deduction", "item": "11.1", "date": d + dt.timedelta(r.randrange(1, 30)),
                          "subjects": [pid, oid] if r.random() < 0.5 else [pid], "intentional": r.random() < 0.2,
                          "line": {"model": model, "standard": std}}
                    events.append(ev)
                    deductions.append(ev)
            for _ in range(intensity if r.random() < 0.6 else 0):
                item = r.choice(_PRODUCT_ITEMS)
                if r.random() < self.bad / 2:
                    item = "11.99"
                ev = {"id": self.eid(), "kind": "deduction", "item": item, "date": self.date(), "subjects": [pid]}
                if item == "11.1":
                    ev["line"] = {"model": model, "standard": std}
                if r.random() < 0.15:
                    ev["intentional"] = True
                if self.sellers and r.random() < 0.05:  # a seller from a recent group is named too
                    ev["subjects"].append(r.choice(self.sellers))
                events.append(ev)
                deductions.append(ev)
            if r.random() < 0.15:  # rewards for a clean product line (第十六条)
                events.append({"id": self.eid(), "kind": "reward", "rule": "16", "subject": pid,
                               "date": self.date(dt.date(2023, 6, 1))})
        for _ in range(intensity if r.random() < 0.7 else 0):
            pool = list(_OPERATOR_ITEMS)
            if "producer" in roles:
                pool += _PRODUCER_ITEMS
            if "seller" in roles:
                pool += _SELLER_ITEMS
            item = r.choice(pool)
            ev = {"id": self.eid(), "kind": "deduction", "item": item, "date": self.date(), "subjects": [oid]}
            if r.random() < 0.1:
                ev["intentional"] = True
            if r.random() < 0.02:
                ev["major_impact"] = True
            events.append(ev)
            deductions.append(ev)
        if intensity >= 4 and r.random() < 0.5:  # a heavy item: D class and its lock
            ev = {"id": self.eid(), "kind": "deduction", "item": "11.9" if products else "12.4",
                  "date": self.date(dt.date(2022, 1, 1), 900), "subjects": [products[0] if products else oid],
                  "intentional": True}
            events.append(ev)
            deductions.append(ev)
        for ded in deductions:
            x = r.random()
            d0 = ded["date"]
            if x < 0.3:
                applied = d0 + dt.timedelta(r.randrange(20, 200))
                events.append({"id": self.eid(), "kind": "repair_applied", "of": ded["id"], "date": applied})
                events.append({"id": self.eid(), "kind": "repair", "of": ded["id"],
                               "date": applied + dt.timedelta(r.randrange(1, 20)), "rectified": r.random() < 0.9,
                               "applied": applied})
            elif x < 0.38:
                events.append({"id": self.eid(), "kind": "notice_sent", "of": ded["id"],
                               "date": d0 + dt.timedelta(r.randrange(1, 5))})
                oid_f = self.eid()
                events.append({"id": oid_f, "kind": "objection_filed", "of": ded["id"],
                               "date": d0 + dt.timedelta(r.randrange(5, 12))})
                events.append({"id": self.eid(), "kind": r.choice(["objection_accepted", "objection_refused"]),
                               "of": oid_f, "date": d0 + dt.timedelta(r.randrange(12, 16))})
                events.append({"id": self.eid(), "kind": "objection_answered", "of": oid_f,
                               "date": d0 + dt.timedelta(r.randrange(16, 40))})
            elif x < 0.41:
                events.append({"id": self.eid(), "kind": "correction", "of": ded["id"], "action": "revoke",
                               "date": d0 + dt.timedelta(r.randrange(10, 90)), "reason": "录入错误"})
            elif x < 0.43 and str(ded["item"]).startswith("12"):
                events.append({"id": self.eid(), "kind": "error_reported", "of": ded["id"],
                               "date": d0 + dt.timedelta(r.randrange(5, 30))})
                events.append({"id": self.eid(), "kind": "correction", "of": ded["id"], "action": "amend",
                               "date": d0 + dt.timedelta(r.randrange(30, 90)), "changes": {"item": "12.3"}})
        if "producer" in roles and r.random() < 0.12:
            rule = r.choice(["17.1", "17.2"])
            ev = {"id": self.eid(), "kind": "reward", "rule": rule, "subject": oid, "date": self.date(dt.date(2023, 1, 1))}
            if rule == "17.2":
                ev.update(recalled_before_defect=True, reported=True)
            events.append(ev)
        if "seller" in roles:
            self.sellers.append(oid)
            if len(self.sellers) > 50:
                self.sellers.pop(0)
            if r.random() < 0.12:
                notice = self.date(dt.date(2022, 1, 1))
                events.append({"id": self.eid(), "kind": "reward", "rule": "17.3", "subject": oid,
                               "date": notice + dt.timedelta(20), "reported": True, "notice_date": notice,
                               "action_date": notice + dt.timedelta(r.randrange(3, 25))})
        if r.random() < self.bad / 2:  # an event after the as-of date
            events.append({"id": self.eid(), "kind": "filing", "subject": oid, "date": dt.date(2026, 1, 15)})
        return subjects, events


def generate(n_subjects: int, seed: int = 1, bad_rate: float = 0.01) -> Iterator[tuple[str, dict]]:
    """Yield ``("subject", record)`` and ``("event", record)`` pairs for about ``n_subjects``
    subjects (exactly ``n_subjects``), group by group. Dates are ``datetime.date``."""
    gen = _Gen(seed, bad_rate)
    left = n_subjects
    while left > 0:
        subjects, events = gen.group(left)
        left -= len(subjects)
        for s in subjects:
            yield "subject", s
        for e in events:
            yield "event", e


def history_data(n_subjects: int, seed: int = 1, bad_rate: float = 0.01) -> dict[str, list]:
    """A whole corpus as the data of a YAML/JSON history (for small sizes and tests)."""
    out: dict[str, list] = {"subjects": [], "events": []}
    for kind, rec in generate(n_subjects, seed, bad_rate):
        out["subjects" if kind == "subject" else "events"].append(rec)
    return out


def _jsonable(rec: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else _jsonable(v) if isinstance(v, dict) else v)
            for k, v in rec.items()}


def write_corpus(out: str | Path, n_subjects: int, *, seed: int = 1, fmt: str = "jsonl",
                 bad_rate: float = 0.01) -> dict[str, Any]:
    """Write a corpus: ``fmt`` jsonl (``out`` is a file, or a directory to hold history.jsonl),
    csv or parquet (``out`` is a directory; subjects and events tables). Streams in batches."""
    from .tables import EVENT_COLUMNS, SUBJECT_COLUMNS, record_to_row

    path = Path(out)
    n_s = n_e = 0
    if fmt == "jsonl":
        import contextlib
        import sys

        from .safeio import atomic_open

        opener: Any
        if str(out) == "-":  # standard output
            opener = contextlib.nullcontext(sys.stdout)
        else:
            if path.is_dir() or not path.suffix:
                path.mkdir(parents=True, exist_ok=True)
                path = path / "history.jsonl"
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            opener = atomic_open(path, "w", encoding="utf-8")  # complete, or the old file kept
        with opener as fh:
            buf = []
            for kind, rec in generate(n_subjects, seed, bad_rate):
                if kind == "subject":
                    n_s += 1
                else:
                    n_e += 1
                buf.append(json.dumps({"record": kind, **_jsonable(rec)}, ensure_ascii=False))
                if len(buf) >= 10000:
                    fh.write("\n".join(buf) + "\n")
                    buf.clear()
            if buf:
                fh.write("\n".join(buf) + "\n")
        return {"subjects": n_s, "events": n_e, "path": str(path)}
    path.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        import csv

        from .safeio import atomic_open

        with atomic_open(path / "subjects.csv", "w", encoding="utf-8-sig", newline="") as fs, \
                atomic_open(path / "events.csv", "w", encoding="utf-8-sig", newline="") as fe:
            ws, we = csv.DictWriter(fs, SUBJECT_COLUMNS), csv.DictWriter(fe, EVENT_COLUMNS)
            ws.writeheader()
            we.writeheader()
            for kind, rec in generate(n_subjects, seed, bad_rate):
                if kind == "subject":
                    n_s += 1
                    ws.writerow(record_to_row(rec, SUBJECT_COLUMNS))
                else:
                    n_e += 1
                    we.writerow(record_to_row(rec, EVENT_COLUMNS))
        return {"subjects": n_s, "events": n_e, "path": str(path)}
    if fmt == "parquet":
        from .tables import need_pyarrow

        pq = need_pyarrow("write Parquet corpora")
        import pyarrow as pa

        from contextlib import ExitStack

        from .safeio import atomic_path

        schemas = {"subject": _arrow_schema(pa, SUBJECT_COLUMNS), "event": _arrow_schema(pa, EVENT_COLUMNS)}
        stack = ExitStack()  # each table renamed into place only when both are complete
        tmp = {kind: stack.enter_context(atomic_path(path / f"{kind}s.parquet")) for kind in schemas}
        writers = {kind: pq.ParquetWriter(tmp[kind], schemas[kind], compression="zstd") for kind in schemas}
        bufs: dict[str, list[dict]] = {"subject": [], "event": []}

        def flush(kind: str) -> None:
            rows = bufs[kind]
            if rows:
                schema = schemas[kind]
                cols = {name: [_arrow_value(r, name) for r in rows] for name in schema.names}
                writers[kind].write_table(pa.Table.from_pydict(cols, schema=schema))
                rows.clear()

        with stack:
            try:
                for kind, rec in generate(n_subjects, seed, bad_rate):
                    if kind == "subject":
                        n_s += 1
                    else:
                        n_e += 1
                    bufs[kind].append(rec)
                    if len(bufs[kind]) >= 100_000:
                        flush(kind)
                flush("subject")
                flush("event")
            finally:
                for w in writers.values():
                    w.close()
        return {"subjects": n_s, "events": n_e, "path": str(path)}
    raise ValueError(f"unknown format {fmt!r} (jsonl, csv, parquet)")


_ARROW_DATES = {"date", "applied", "notice_date", "action_date", "changes_date"}


def _arrow_schema(pa: Any, columns: list[str]) -> Any:
    from .tables import BOOL_COLUMNS, LIST_COLUMNS

    fields = []
    for c in columns:
        if c in LIST_COLUMNS:
            t = pa.list_(pa.string())
        elif c in BOOL_COLUMNS:
            t = pa.bool_()
        elif c in _ARROW_DATES:
            t = pa.date32()
        elif c == "nice_class":
            t = pa.int32()
        else:
            t = pa.string()
        fields.append((c, t))
    return pa.schema(fields)


def _arrow_value(rec: dict, column: str) -> Any:
    from .tables import COLUMN_PATHS

    value: Any = rec
    for part in COLUMN_PATHS.get(column, (column,)):
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value
