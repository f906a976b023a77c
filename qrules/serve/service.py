"""The operations behind both the JSON API and the pages, each built on the function the
command line uses for the same job (so ``/api/evaluate`` is ``evaluate --format json``)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Diagnostic
from .store import HistoryStore, RulesetStore, UnknownName

#: Diagnostic codes of the HTTP layer (QR9xx), Chinese first for the officers who read them.
CODES: dict[str, str] = {
    "QR951": "请求内容不是有效的 JSON（the request body is not valid JSON）",
    "QR952": "请求字段缺失或类型不对（a request field is missing or has the wrong type）",
    "QR953": "请求内容超过大小上限（the request body is over the size limit）",
    "QR954": "处理超过时间上限（the request took longer than the time limit）",
    "QR955": "没有这个规则集（no ruleset of this name in the rulesets folder）",
    "QR956": "历史数据中没有这个记分对象（no such subject in the history）",
    "QR957": "没有这份历史数据（no such history: name one at start-up or upload it）",
    "QR958": "规则集未通过检查，且没有可用的上一版本（the ruleset does not check and no earlier version did）",
    "QR959": "服务器内部错误（internal error; the log has the details）",
    "QR960": "没有这个地址（no such address）",
    "QR961": "记分对象的记录被拒收（the subject's record was refused when the history was loaded）",
    "QR962": "无法在该地址和端口启动服务（cannot listen on the address and port: in use, or not this machine's）",
    "QR963": "服务启动需要且只需要一个存在的规则集目录（serve needs one rulesets folder, and it must exist）",
}


class Problem(Exception):
    """An answer other than success: an HTTP status and the diagnostics that explain it."""

    def __init__(self, status: int, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else str(status))
        self.status, self.diagnostics = status, diagnostics

    @classmethod
    def of(cls, status: int, code: str, message: str, hint: str | None = None) -> "Problem":
        return cls(status, [Diagnostic(code, message, hint=hint)])

    def body(self) -> dict:
        return {"ok": False, "status": self.status, "diagnostics": [d.to_dict() for d in self.diagnostics]}


def _unknown(exc: UnknownName) -> Problem:
    from ..errors import did_you_mean

    code = {"ruleset": "QR955", "history": "QR957"}[exc.what]
    hint = did_you_mean(exc.name, exc.known) or (f"known: {', '.join(exc.known)}" if exc.known else None)
    what = {"ruleset": "规则集", "history": "历史数据"}[exc.what]
    return Problem.of(404, code, f"没有{what} '{exc.name}'（no {exc.what} '{exc.name}'）", hint)


@dataclass
class Service:
    """The server's state and what it can compute from it."""

    rulesets: RulesetStore
    histories: HistoryStore

    # -- lookups, as Problems ---------------------------------------------------------------------
    def ruleset_name(self, name: str | None) -> str:
        name = name or self.rulesets.default_name()
        if name is None:
            raise Problem.of(404, "QR955", f"规则集目录 {self.rulesets.folder} 中没有 *.yaml 文件（no rulesets）")
        return name

    def ruleset(self, name: str | None):
        from .store import Unusable

        name = self.ruleset_name(name)
        try:
            return self.rulesets.get(name)
        except UnknownName as exc:
            raise _unknown(exc) from None
        except Unusable as exc:
            head = Diagnostic("QR958", f"规则集 '{name}' 未通过检查，无可用版本（ruleset '{name}' does not check）",
                              hint="改正下列错误；文件保存后服务会重新加载（fix the errors below; the server reloads the file when it is saved）")
            raise Problem(422, [head] + list(exc.diagnostics)) from None

    def held(self, key: str | None):
        """A history the server holds ('default' or an upload's key)."""
        from .store import Unusable

        try:
            return self.histories.get(key)
        except UnknownName as exc:
            raise _unknown(exc) from None
        except Unusable as exc:
            raise Problem(422, list(exc.diagnostics)) from None

    def history(self, key: str | None = None, *, data: dict | None = None, text: str | None = None,
                name: str = "history.yaml"):
        """The LoadedHistory of a request: inline data, inline text, or one the server holds."""
        from ..errors import QrulesError
        from ..history.load import load_history_data
        from .store import Unusable

        try:
            if data is not None:
                return load_history_data(data, "<request>")
            if text is not None:
                return self.histories.add_text(text, Path(name).name or "history.yaml").loaded
            return self.histories.get(key).loaded
        except UnknownName as exc:
            raise _unknown(exc) from None
        except Unusable as exc:
            raise Problem(422, list(exc.diagnostics)) from None
        except QrulesError as exc:
            raise Problem(422, exc.diagnostics) from None

    # -- the commands -----------------------------------------------------------------------------
    def check(self, name: str | None, source: str | None = None) -> tuple[int, list[dict]]:
        """``check --format json`` of a folder ruleset, or of ``source`` as if saved under ``name``."""
        from ..cli import check_file

        name = self.ruleset_name(name)
        if source is None:
            from ..registry import rulesets_dirs

            try:
                path = self.rulesets.slot(name).path
            except UnknownName as exc:
                raise _unknown(exc) from None
            token = rulesets_dirs.set((str(self.rulesets.folder),))
            try:  # a version by its file, a family by its name (as `qrules check` takes them)
                entry, compiled, _ = check_file(str(path) if path is not None else name)
            finally:
                rulesets_dirs.reset(token)
            return (200 if compiled is not None else 422), [entry]
        # An edited text is checked beside copies of the folder, so its `extends` resolves the same.
        with tempfile.TemporaryDirectory(prefix="qrules-check-") as tmp:
            for p in self.rulesets.folder.glob("*.yaml"):
                if p.is_file():
                    shutil.copyfile(p, Path(tmp) / p.name)
            target = Path(tmp) / f"{Path(name).stem}.yaml"
            target.write_text(source, encoding="utf-8")
            entry, compiled, _ = check_file(str(target))
            entry = json.loads(json.dumps(entry, ensure_ascii=False, default=str).replace(tmp + "/", ""))
        return (200 if compiled is not None else 422), [entry]

    def evaluate(self, ruleset: str | None, loaded, as_of: dt.date | None, subjects: list[str] | None = None,
                 as_known_at: dt.date | None = None):
        from ..engine import evaluate

        compiled = self.ruleset(ruleset)
        if subjects:
            known = {str(s.id) for s in loaded.history.subjects}
            for sid in subjects:
                self._known_subject(sid, known, loaded)
        extra = {"as_known_at": as_known_at} if as_known_at else {}
        return compiled, evaluate(compiled, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects,
                                  subjects=subjects or None, **extra)

    def evaluate_json(self, ruleset: str | None, loaded, as_of: dt.date | None,
                      subjects: list[str] | None = None, as_known_at: dt.date | None = None,
                      outlook: bool = False) -> dict:
        from ..cli import evaluation_json

        compiled, result = self.evaluate(ruleset, loaded, as_of, subjects, as_known_at)
        if outlook:  # as `evaluate --outlook` does
            from ..engine.outlook import with_outlook

            result = with_outlook(compiled, loaded.history, result, result.as_of, loaded.invalid_subjects)
        data = evaluation_json(result, loaded)
        if as_known_at is not None:  # left out, not lost (brief §4a), as `evaluate --format json` says it
            from ..knownat import left_out_of

            data["events_not_yet_recorded"] = left_out_of(loaded.history, as_known_at, subjects or None)
        return data

    @staticmethod
    def _known_subject(sid: str, known: set[str], loaded) -> None:
        from ..errors import did_you_mean

        if sid in loaded.invalid_subjects:
            own = [d for d in loaded.diagnostics if d.message.startswith(f"{sid}:")]
            raise Problem(422, [Diagnostic("QR961", f"记分对象 '{sid}' 的记录被拒收（subject '{sid}' was refused）: "
                                                    f"{loaded.invalid_subjects[sid]}")] + own)
        if sid not in known:
            raise Problem.of(404, "QR956", f"历史数据中没有记分对象 '{sid}'（no subject '{sid}' in the history）",
                             did_you_mean(sid, known))

    def explain(self, ruleset: str | None, loaded, subject: str, as_of: dt.date | None,
                as_known_at: dt.date | None = None):
        """(compiled, result, the subject's result or None when excluded) — what ``explain`` prints."""
        compiled, result = self.evaluate(ruleset, loaded, as_of, [subject], as_known_at)
        if as_known_at is None and any(s.id == subject for s in result.subjects):  # as `explain` does
            from ..engine.outlook import with_outlook

            result = with_outlook(compiled, loaded.history, result, result.as_of, loaded.invalid_subjects,
                                  subjects=[subject])
        try:
            return compiled, result, result.subject(subject)
        except KeyError:
            return compiled, result, None

    def explain_json(self, ruleset: str | None, loaded, subject: str, as_of: dt.date | None,
                     as_known_at: dt.date | None = None) -> dict:
        """``explain --format json``: the subject's result (with its outlook once the engine gives one)."""
        _, result, s = self.explain(ruleset, loaded, subject, as_of, as_known_at)
        if s is None:
            x = next((x for x in result.excluded_subjects if x.id == subject), None)
            return {"id": subject, "excluded": True, "reason": x.reason if x else "not evaluated",
                    "cite": x.cite if x else None}
        data = s.model_dump(mode="json", by_alias=True)  # what the JSON text would read back as
        if as_known_at is not None:  # as `explain --format json` says it: the subject's events entered later
            from ..knownat import left_out_of

            data["events_not_yet_recorded"] = left_out_of(loaded.history, as_known_at, [subject])
        return data

    def diff(self, old: str, new: str):
        from ..review import diff, ruleset_label

        a, b = self.ruleset(old), self.ruleset(new)
        return a, b, diff(a, b), ruleset_label(a), ruleset_label(b)

    def diff_json(self, old: str, new: str) -> dict:
        from ..review import format_diff

        a, b, changes, la, lb = self.diff(old, new)
        return json.loads(format_diff(changes, "json", old, new, la, lb))

    def impact(self, old: str, new: str, loaded, as_of: dt.date | None):
        from ..review import impact

        return impact(self.ruleset(old), self.ruleset(new), loaded, as_of)

    def impact_json(self, old: str, new: str, loaded, as_of: dt.date | None, history_name: str) -> dict:
        from ..review import format_impact

        return json.loads(format_impact(self.impact(old, new, loaded, as_of), "json", history_name))


def body_text(body: bytes) -> str:
    """An uploaded history as text (UTF-8, a byte-order mark allowed), else 400 (QR951)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem.of(400, "QR951", f"请求内容不是 UTF-8 文本（byte {exc.start}）",
                         "将文件另存为 UTF-8 编码（save the file as UTF-8）") from None


def jsonable(value: Any) -> Any:
    from ..output import json_ready

    return json_ready(value)
