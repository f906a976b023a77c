"""`qrules serve`: the JSON API answers what the command line prints with --format json, errors
are JSON with diagnostic codes (4xx, never a traceback), rulesets reload when their files change."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import GUANGDONG, HAOJIANG, ROOT  # noqa: E402
from qrules.cli import main  # noqa: E402
from qrules.serve.app import Limits, create_app  # noqa: E402

HISTORY = ROOT / "examples" / "haojiang-history.yaml"
AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def client():
    app = create_app(ROOT / "rulesets", HISTORY, as_of=dt.date(2025, 12, 31))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def folder(tmp_path):
    for p in (GUANGDONG, HAOJIANG):
        shutil.copyfile(p, tmp_path / p.name)
    return tmp_path


def cli_json(capsys, *argv) -> object:
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def codes(response) -> list[str]:
    return [d["code"] for d in response.json()["diagnostics"]]


# -- same JSON as the command line ------------------------------------------------------------------
def test_evaluate_is_the_cli_json(client, capsys):
    r = client.post("/api/evaluate", json={"ruleset": "haojiang-2023", "as_of": AS_OF})
    assert r.status_code == 200
    expected = cli_json(capsys, "evaluate", str(HAOJIANG), str(HISTORY), "--as-of", AS_OF, "--format", "json")
    got = r.json()
    # the file names in input diagnostics differ only by how the path was written
    for data in (got, expected):
        data.pop("input_diagnostics")
    assert got == expected


def test_explain_is_the_cli_json(client, capsys):
    r = client.post("/api/explain", json={"subject": "ht"})   # default ruleset and the server's as-of
    expected = cli_json(capsys, "explain", str(HAOJIANG), str(HISTORY), "ht", "--as-of", AS_OF, "--format", "json")
    assert r.status_code == 200 and r.json() == expected
    # 第二十六条第二款: live A from 12 points, official D locked until 2026-01-01
    assert (r.json()["live_class"], r.json()["official_class"], r.json()["lock"]["until"]) == ("A", "D", "2026-01-01")


def test_diff_and_impact_are_the_cli_json(client, capsys):
    r = client.post("/api/diff", json={"old": "guangdong-2021", "new": "haojiang-2023"})
    expected = cli_json(capsys, "diff", "guangdong-2021", "haojiang-2023", "--format", "json") if False else None
    main(["diff", str(GUANGDONG), str(HAOJIANG), "--format", "json"])
    expected = json.loads(capsys.readouterr().out)
    got = r.json()
    assert r.status_code == 200
    assert got["changes"] == expected["changes"] and got["old"]["ruleset"] == expected["old"]["ruleset"]
    r = client.post("/api/impact", json={"old": "guangdong-2021", "new": "haojiang-2023", "as_of": AS_OF})
    main(["impact", str(GUANGDONG), str(HAOJIANG), str(HISTORY), "--as-of", AS_OF, "--format", "json"])
    expected = json.loads(capsys.readouterr().out)
    got = r.json()
    assert r.status_code == 200
    assert got["official_matrix"] == expected["official_matrix"] and got["class_changes"] == expected["class_changes"]


def test_evaluate_inline_history_art8_start_minus_deduction(client):
    from conftest import ded, operator, product

    history = {"subjects": [operator("op1", 1), product("p1", "op1")],
               "events": [ded("e1", "11.1", "2023-03-01", ["p1"])]}
    r = client.post("/api/evaluate", json={"ruleset": "guangdong-2021", "as_of": "2023-07-01", "history": history})
    p1 = next(s for s in r.json()["subjects"] if s["id"] == "p1")
    assert (p1["score"], p1["official_class"]) == ("9", "B")    # 12 − 3 (第八条, 第十一条第（一）项)
    text = json.dumps(history, ensure_ascii=False)
    r2 = client.post("/api/evaluate", json={"ruleset": "guangdong-2021", "as_of": "2023-07-01", "history_text": text})
    assert r2.json()["subjects"] == r.json()["subjects"]


def test_check_named_and_edited_source(client, capsys):
    r = client.post("/api/check", json={"ruleset": "haojiang-2023"})
    assert r.status_code == 200
    expected = cli_json(capsys, "check", str(HAOJIANG), "--format", "json")
    assert r.json() == expected
    bad = HAOJIANG.read_text(encoding="utf-8").replace("division: \"440512\"", "division: [1, 2]")
    r = client.post("/api/check", json={"ruleset": "haojiang-2023", "source": bad})
    assert r.status_code == 422
    report = r.json()[0]
    assert report["ok"] is False and report["file"] == "haojiang-2023.yaml"
    assert all(d["code"].startswith("QR") and d.get("line") for d in report["diagnostics"])


# -- bad input over HTTP: 4xx with the diagnostic, never a 500 with a traceback ---------------------
def test_malformed_json_is_400_qr901(client):
    r = client.post("/api/evaluate", content=b'{"ruleset": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and codes(r) == ["QR951"] and "Traceback" not in r.text


def test_wrong_field_is_422_qr902(client):
    r = client.post("/api/evaluate", json={"as_of": "31/12/2025"})
    assert r.status_code == 422 and codes(r) == ["QR952"] and "as_of" in r.json()["diagnostics"][0]["message"]
    r = client.post("/api/evaluate", json={"rulset": "x"})
    assert r.status_code == 422 and "rulset" in r.json()["diagnostics"][0]["message"]


def test_huge_body_is_413_qr903(folder):
    app = create_app(folder, None, limits=Limits(max_body=2_000))
    with TestClient(app) as c:
        r = c.post("/api/evaluate", json={"ruleset": "guangdong-2021", "history_text": "x" * 5_000})
        assert r.status_code == 413 and codes(r) == ["QR953"]

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 500
        r = c.post("/api/evaluate", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and codes(r) == ["QR953"]


def test_unknown_subject_is_404_qr906_with_a_suggestion(client):
    r = client.post("/api/explain", json={"subject": "htt"})
    assert r.status_code == 404 and codes(r) == ["QR956"]
    assert r.json()["diagnostics"][0]["hint"] == "是否应为 'ht'？（did you mean 'ht'?）"


def test_refused_subject_is_422_qr911(client):
    r = client.post("/api/explain", json={"subject": "wl"})   # credit code with a wrong check character
    assert r.status_code == 422 and codes(r)[0] == "QR961" and "QR502" in codes(r)


def test_unknown_ruleset_and_history_are_404(client):
    r = client.post("/api/evaluate", json={"ruleset": "haojiang-2032"})
    assert r.status_code == 404 and codes(r) == ["QR955"] and "haojiang-2023" in r.json()["diagnostics"][0]["hint"]
    r = client.post("/api/evaluate", json={"history_id": "0123"})
    assert r.status_code == 404 and codes(r) == ["QR957"]


def test_unknown_address_is_json_404(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and codes(r) == ["QR960"]


def test_unreadable_history_is_422_with_its_location(client):
    r = client.post("/api/evaluate", json={"history_text": "subjects: [\n  - {id: a"})
    assert r.status_code == 422 and all(c.startswith("QR0") for c in codes(r))


def test_ruleset_that_fails_to_check_is_422_with_its_diagnostics(folder):
    (folder / "broken.yaml").write_text("qrules: 1\nruleset: broken\nextends: guangdong-2021\nversion: 1\n"
                                        "classes:\n  A: {when: 'score >>= 12'}\n", encoding="utf-8")
    with TestClient(create_app(folder, HISTORY)) as c:
        r = c.post("/api/evaluate", json={"ruleset": "broken"})
        assert r.status_code == 422 and codes(r)[0] == "QR958"
        assert any(d.get("file", "").endswith("broken.yaml") and d.get("line") for d in r.json()["diagnostics"])
        status = {s["name"]: s for s in c.get("/api/rulesets").json()["rulesets"]}
        assert status["broken"]["ok"] is False and status["broken"]["in_service"] is False


def test_time_limit_is_503_qr904(folder):
    with TestClient(create_app(folder, HISTORY, limits=Limits(time_limit=1e-9))) as c:
        r = c.post("/api/evaluate", json={"ruleset": "haojiang-2023"})
        assert r.status_code == 503 and codes(r) == ["QR954"]


def test_internal_error_is_500_json_without_traceback(folder, monkeypatch):
    from qrules.serve.service import Service

    def boom(*args, **kwargs):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(Service, "evaluate_json", boom)
    with TestClient(create_app(folder, HISTORY), raise_server_exceptions=False) as c:
        r = c.post("/api/evaluate", json={})
        assert r.status_code == 500 and codes(r) == ["QR959"]
        assert "Traceback" not in r.text and "secret detail" not in r.text


# -- reload ----------------------------------------------------------------------------------------
def test_ruleset_reloads_when_saved_and_keeps_last_good_on_failure(folder):
    app = create_app(folder, HISTORY, reload_interval=0)
    path = folder / "haojiang-2023.yaml"
    good = path.read_text(encoding="utf-8")
    with TestClient(app) as c:
        def version():
            return {s["name"]: s for s in c.get("/api/rulesets").json()["rulesets"]}["haojiang-2023"]
        assert version()["version"] == "2023.1"
        path.write_text(good.replace('version: "2023.1"', 'version: "2023.2"'), encoding="utf-8")
        assert version()["version"] == "2023.2" and version()["ok"]
        path.write_text(good.replace('version: "2023.1"', 'version: "2023.3"\nclasses: 7'), encoding="utf-8")
        st = version()
        assert st["version"] == "2023.2" and st["ok"] is False and st["in_service"] is True
        assert st["diagnostics"] and st["diagnostics"][0]["code"].startswith("QR")
        r = c.post("/api/evaluate", json={"ruleset": "haojiang-2023", "as_of": AS_OF})
        assert r.status_code == 200 and r.json()["version"] == "2023.2"       # the last good version serves
        path.write_text("ruleset: [\n", encoding="utf-8")              # not even YAML: still the last good one
        st = version()
        assert st["version"] == "2023.2" and st["ok"] is False and st["diagnostics"][0]["line"] >= 1
        path.write_text(good, encoding="utf-8")
        assert version()["version"] == "2023.1" and version()["ok"]


def test_parent_change_reloads_the_child(folder):
    app = create_app(folder, HISTORY, reload_interval=0)
    parent = folder / "guangdong-2021.yaml"
    text = parent.read_text(encoding="utf-8")
    assert "start_score: {value: 12" in text or "start_score:" in text
    with TestClient(app) as c:
        before = c.post("/api/explain", json={"ruleset": "haojiang-2023", "subject": "kd", "as_of": AS_OF}).json()
        changed = text.replace("title: 广东省", "title: 修订 广东省", 1)
        assert changed != text
        parent.write_text(changed, encoding="utf-8")
        listed = {s["name"]: s for s in c.get("/api/rulesets").json()["rulesets"]}
        assert listed["guangdong-2021"]["title"].startswith("修订")
        after = c.post("/api/explain", json={"ruleset": "haojiang-2023", "subject": "kd", "as_of": AS_OF}).json()
        assert after == before
        assert app.state.service.rulesets.slots["haojiang-2023"].loaded_at is not None


# -- OpenAPI, upload ----------------------------------------------------------------------------------
def test_openapi_describes_every_endpoint(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/check", "/api/evaluate", "/api/explain", "/api/diff", "/api/impact", "/api/rulesets",
            "/api/histories"} <= set(spec["paths"])
    assert "ErrorOut" in spec["components"]["schemas"]


def test_upload_then_evaluate_by_id(client):
    text = HISTORY.read_text(encoding="utf-8")
    r = client.post("/api/histories?name=h.yaml", content=text.encode("utf-8"))
    assert r.status_code == 200 and r.json()["subjects"] > 50
    key = r.json()["history_id"]
    r2 = client.post("/api/explain", json={"subject": "ht", "history_id": key})
    assert r2.json()["official_class"] == "D"


def test_scores_are_exact_decimal_strings(client):
    r = client.post("/api/explain", json={"subject": "jl-28"})
    assert isinstance(r.json()["score"], str) and Decimal(r.json()["score"]) == Decimal(r.json()["score"])


def test_family_names_are_served_like_their_version(client):
    """Brief §4a: a family name resolves to the version in force (the registry of issue 13)."""
    names = {s["name"] for s in client.get("/api/rulesets").json()["rulesets"]}
    assert {"guangdong", "guangdong-2021", "haojiang", "haojiang-2023"} <= names
    by_family = client.post("/api/explain", json={"ruleset": "haojiang", "subject": "jl"}).json()
    by_version = client.post("/api/explain", json={"ruleset": "haojiang-2023", "subject": "jl"}).json()
    assert by_family == by_version and by_family["score"] == "9"


def test_as_known_at_is_passed_through_like_the_cli(client, capsys):
    """Brief §4a, two clocks: the API's as_known_at is the CLI's --as-known-at."""
    r = client.post("/api/explain", json={"subject": "cy", "as_known_at": "2024-06-30"})
    expected = cli_json(capsys, "explain", str(HAOJIANG), str(HISTORY), "cy", "--as-of", AS_OF,
                        "--as-known-at", "2024-06-30", "--format", "json")
    assert r.status_code == 200 and r.json() == expected


def _two_producers() -> dict:
    """op1/p1 as tests/data/versions/known-at.yaml (e1 2024-01-10; e2 第十一条第（九）项 dated 2024-03-01,
    entered 03-05; c1 revoking e2, entered 10-16) and an unconnected op2/p2 (f1 2024-02-01; f2 dated
    2024-03-02, entered 04-01)."""
    from qrules.history import uscc_check_character

    base = "91440512MAAY4CL13"
    return {"subjects": [
        {"id": "op1", "kind": "operator", "uscc": "91440512MAAY4CL122", "name": "甲玩具厂", "roles": ["producer"],
         "region": "440512"},
        {"id": "p1", "kind": "product", "brand": "甲牌", "nice_class": 28, "producer": "op1"},
        {"id": "op2", "kind": "operator", "uscc": base + uscc_check_character(base), "name": "乙玩具厂",
         "roles": ["producer"], "region": "440512"},
        {"id": "p2", "kind": "product", "brand": "乙牌", "nice_class": 28, "producer": "op2"}],
        "events": [
        {"id": "e1", "kind": "deduction", "item": "11.6", "date": "2024-01-10", "subjects": ["p1"]},
        {"id": "e2", "kind": "deduction", "item": "11.9", "date": "2024-03-01", "recorded": "2024-03-05",
         "subjects": ["p1"]},
        {"id": "c1", "kind": "correction", "of": "e2", "action": "revoke", "date": "2024-10-15",
         "recorded": "2024-10-16", "note": "认定错误，撤销"},
        {"id": "f1", "kind": "deduction", "item": "11.6", "date": "2024-02-01", "subjects": ["p2"]},
        {"id": "f2", "kind": "deduction", "item": "11.6", "date": "2024-03-02", "recorded": "2024-04-01",
         "subjects": ["p2"]}]}


def test_s4a_explain_counts_the_subjects_events_left_out(client, tmp_path, capsys):
    """Brief §4a: p1 explained as of 2024-12-31, known at 2024-03-04: 12 − 1 = 11 (e1, 第十一条; e2 was
    entered on 2024-03-05), and two of its events were entered later (e2 and the correction c1); of p2's,
    one (f2). The API, `explain --format json` and the text explanation give the same count."""
    history = _two_producers()
    path = tmp_path / "h.json"
    path.write_text(json.dumps(history, ensure_ascii=False), encoding="utf-8")
    ask = {"ruleset": "guangdong-2021", "history": history, "as_of": "2024-12-31", "as_known_at": "2024-03-04"}
    one = client.post("/api/explain", json={**ask, "subject": "p1"}).json()
    assert (one["score"], one["events_not_yet_recorded"]) == ("11", 2)
    assert client.post("/api/explain", json={**ask, "subject": "p2"}).json()["events_not_yet_recorded"] == 1
    argv = ["explain", str(GUANGDONG), str(path), "p1", "--as-of", "2024-12-31", "--as-known-at", "2024-03-04"]
    assert cli_json(capsys, *argv, "--format", "json") == one
    main(argv)
    assert "2 events recorded after 2024-03-04: left out（2 个事件在 2024-03-04 之后才录入，未计入）" in \
        capsys.readouterr().out
    without = client.post("/api/explain", json={**ask, "subject": "p1", "as_known_at": None}).json()
    assert "events_not_yet_recorded" not in without and without["score"] == "11"  # e2 counted, then revoked by c1


def test_s4a_evaluate_counts_the_events_left_out_of_the_subjects_evaluated(client, tmp_path, capsys):
    """Brief §4a: known at 2024-03-04, of five events three were entered later (e2, c1, f2). For p1
    alone two of them concern it (e2 and c1, connected to p1); its evaluation uses e1 only, so the
    history's total minus the events evaluated (5 − 1 = 4) would be wrong. For every subject: 3, as
    `qrules evaluate --as-known-at --format json` says."""
    history = _two_producers()
    ask = {"ruleset": "guangdong-2021", "history": history, "as_of": "2024-12-31", "as_known_at": "2024-03-04"}
    one = client.post("/api/evaluate", json={**ask, "subjects": ["p1"]})
    assert one.status_code == 200
    data = one.json()
    assert (data["summary"]["events"], data["events_not_yet_recorded"]) == (1, 2)
    assert [(s["id"], s["score"]) for s in data["subjects"]] == [("p1", "11")]  # 12 − 1: e2 not yet known
    assert client.post("/api/evaluate", json={**ask, "subjects": ["p2"]}).json()["events_not_yet_recorded"] == 1
    every = client.post("/api/evaluate", json=ask).json()
    assert (every["summary"]["events"], every["events_not_yet_recorded"]) == (2, 3)
    path = tmp_path / "h.json"
    path.write_text(json.dumps(history, ensure_ascii=False), encoding="utf-8")
    expected = cli_json(capsys, "evaluate", str(GUANGDONG), str(path), "--as-of", "2024-12-31",
                        "--as-known-at", "2024-03-04", "--format", "json")
    assert every["events_not_yet_recorded"] == expected["events_not_yet_recorded"] == 3
    assert "events_not_yet_recorded" not in client.post("/api/evaluate", json={**ask, "as_known_at": None}).json()


def test_a_port_in_use_is_qr962_exit_1_before_the_start_up_report(capsys):
    """A port another program holds: a coded diagnostic and exit 1 (uvicorn alone exited 3 after
    printing the addresses as if the server were up)."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main(["serve", "--rulesets", str(ROOT / "rulesets"), "--port", str(port), "--format", "json"]) == 1
    out = capsys.readouterr()
    (diag,) = json.loads(out.out)["diagnostics"]
    assert diag["code"] == "QR962" and f"127.0.0.1:{port}" in diag["message"] and "--port" in diag["hint"]
    assert "qrules serve: http" not in out.err


@pytest.mark.parametrize("folders, code", [(["/no/such/folder"], 1), (["rulesets", "tests/data/versions/keep"], 2)])
def test_a_missing_or_second_rulesets_folder_is_qr963(capsys, folders: list, code: int):
    """Start-up refused with a coded diagnostic (it was plain text): no such folder exits 1,
    several folders is a usage error (2), as `qrules serve --help` says."""
    args = ["serve", "--format", "json"] + [x for f in folders for x in ("--rulesets", f)]
    assert main(args) == code
    (diag,) = json.loads(capsys.readouterr().out)["diagnostics"]
    assert diag["code"] == "QR963" and "--rulesets" in diag["hint"]
    assert folders[-1] in diag["message"]


def test_the_http_api_page_example_request_answers(client):
    """docs reference/http-api.md (generated by docs/gen_serve_api.py) shows a curl request: it is answered."""
    import re
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    from gen_serve_api import page

    text = page(client.app.openapi())
    path = re.search(r"curl -s -X POST http://127\.0\.0\.1:8000(/api/\w+)", text).group(1)
    body = json.loads(re.search(r"-d '(\{.*?\})'", text).group(1))
    r = client.post(path, json=body)
    assert r.status_code == 200 and r.json()["id"] == body["subject"]
