"""`qrules serve` pages (Chinese, server-rendered, no CDN asset) and the score chart's data."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import GUANGDONG, HAOJIANG, ROOT  # noqa: E402
from qrules.serve.app import create_app  # noqa: E402

HISTORY = ROOT / "examples" / "haojiang-history.yaml"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ROOT / "rulesets", HISTORY, as_of=dt.date(2025, 12, 31))) as c:
        yield c


def no_outside_assets(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)="https?://', html)


def test_art26_class_bands_are_the_partition_of_the_score_line():
    from qrules.versioned import load
    from qrules.serve.chart import class_bands

    D = Decimal
    assert class_bands(load(GUANGDONG)) == [(None, D(0), "D"), (D(0), D(6), "C"), (D(6), D(12), "B"), (D(12), None, "A")]


def test_art7_entry_leaves_the_window_36_months_after_its_date():
    from qrules.versioned import load
    from qrules.serve.chart import leaves_window

    # as_of − 36 months < d: on 2025-10-14 the window starts after 2022-10-14 (in), on 2025-10-15 after 2022-10-15
    assert leaves_window(load(HAOJIANG), dt.date(2022, 10, 15)) == dt.date(2025, 10, 15)


def test_art26_chart_of_ht_d_lock_and_recovery():
    from qrules.engine import evaluate
    from qrules.history.load import load_history
    from qrules.versioned import load
    from qrules.serve.chart import timeline

    compiled, loaded, as_of = load(HAOJIANG), load_history(HISTORY), dt.date(2025, 12, 31)
    s = evaluate(compiled, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects, subjects=["ht"]).subject("ht")
    tl = timeline(compiled, loaded, s, as_of)
    by_date = {p.date: p for p in tl.points}
    # 11.9 at −12 on 2022-10-15 (repair refused, major impact): 12 − 12 = 0 → D; leaves the window 2025-10-15 → 12
    assert by_date[dt.date(2022, 10, 15)].score == 0 and by_date[dt.date(2022, 10, 15)].live_class == "D"
    assert by_date[dt.date(2025, 10, 15)].score == 12 and by_date[as_of].live_class == "A"
    assert [d for d, _, _ in tl.exits] == [dt.date(2025, 10, 15)]
    assert tl.lock == ("D", dt.date(2023, 1, 1), dt.date(2026, 1, 1))
    assert [a.official_class for a in tl.adjustments] == ["D"] * 6
    for p in tl.points:  # each point is what `evaluate --as-of` that day gives
        r = evaluate(compiled, loaded.history, p.date, invalid_subjects=loaded.invalid_subjects, subjects=["ht"])
        assert r.subjects[0].score == p.score


def test_subject_page_has_classes_chart_account_and_lock(client):
    r = client.get("/subjects/ht")
    html = r.text
    assert r.status_code == 200 and 'lang="zh-CN"' in html
    assert re.search(r'id="official-class"><span class="badge cls-D">D<', html)
    assert re.search(r'id="live-class"><span class="badge cls-A">A<', html)
    assert "<svg" in html and "D类锁定至 2026-01-01" in html and "移出 ht-d1" in html
    assert "超出统计周期" in html and "第七条" in html and "半年调整（第二十六条第二款）" in html
    assert "展望（不再发生新事项时）" in html and "2026-01-01" in html   # brief §4a: the lock ends
    no_outside_assets(html)


def test_ruleset_page_shows_values_with_article_and_file_line(client):
    html = client.get("/rulesets/haojiang-2023").text
    assert "guangdong-2021.yaml:" in html and "haojiang-2023.yaml:" in html and "继承" in html
    assert "第二十六条" in html and "[12, +∞)" in html
    assert "版本（haojiang）" in html and "2023-12-18 至" in html
    no_outside_assets(html)


def test_diff_page_has_changes_and_transition_matrix(client):
    html = client.get("/diff", params={"old": "guangdong-2021", "new": "haojiang-2023"}).text
    assert "规则变化" in html and "正式分类转移矩阵" in html and "class='matrix'" in html
    no_outside_assets(html)


def test_index_lists_subjects_and_upload_replaces_nothing(client):
    html = client.get("/").text
    assert "/subjects/ht" in html and "haojiang-history.yaml" in html
    text = HISTORY.read_text(encoding="utf-8").replace("汕头市濠江区宏泰电器厂", "宏泰（上传）")
    r = client.post("/upload", files={"file": ("mine.yaml", text.encode("utf-8"))}, follow_redirects=False)
    assert r.status_code == 303 and "h=" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "mine.yaml" in page and "宏泰（上传）" in page
    assert "宏泰（上传）" not in client.get("/").text       # the start-up history is unchanged


def test_page_errors_are_pages_with_the_code(client):
    r = client.get("/subjects/nobody")
    assert r.status_code == 404 and "QR956" in r.text and "<html" in r.text
    r = client.get("/subjects/ht", params={"as_of": "2025-13-01"})
    assert r.status_code == 400 and "QR952" in r.text


def test_art26_a_quarterly_successor_s_adjustments_are_called_quarterly_on_the_page(tmp_path):
    """第二十六条第二款 under a successor that adjusts every quarter (brief §4a): the subject page and its
    chart call the adjustments 季度调整, as ``explain`` does, not 半年调整; across both versions, 分类调整."""
    import shutil

    folder = tmp_path / "rulesets"
    folder.mkdir()
    shutil.copy(GUANGDONG, folder / "guangdong-2021.yaml")
    change = ROOT / "tests" / "fixtures" / "province-changes" / "13-quarterly-adjustment"
    shutil.copy(change / "guangdong-2026.yaml", folder / "guangdong-2026.yaml")
    history = change / "cases" / "history.yaml"
    with TestClient(create_app(folder, history, as_of=dt.date(2026, 12, 31))) as c:
        # p2: adjusted on 2026-07-01 and 2026-10-01, both under the quarterly successor
        html = c.get("/subjects/p2", params={"r": "guangdong"}).text
        assert "季度调整（第二十六条第二款）" in html and "半年调整" not in html
    with TestClient(create_app(folder, history, as_of=dt.date(2027, 1, 1))) as c:
        html = c.get("/subjects/p2", params={"r": "guangdong"}).text
        assert "季度调整" in html and "半年调整" not in html
    # adjustments under both versions (2026-01-01 half-yearly, 2026-10-01 quarterly) share the generic name
    import qrules
    from qrules.engine.outlook import adjustments_name

    family = qrules.load_ruleset("guangdong", rulesets=[str(folder)])
    assert adjustments_name(family, [dt.date(2026, 1, 1)]) == "半年调整"
    assert adjustments_name(family, [dt.date(2026, 10, 1)]) == "季度调整"
    assert adjustments_name(family, [dt.date(2026, 1, 1), dt.date(2026, 10, 1)]) == "分类调整"
