"""The body area a ball records for each session, on the host: `knotball history` shows it,
the history keeps it (schema 5), and the export and the week use it instead of
"unspecified"; logs without one (version 1, or no area chosen) read as "unspecified"."""

import csv
import json

import physio_history
import pytest
from test_history import relabel

from conftest import knotball

DAY = physio_history.DAY
H = 3600


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return physio_history.logs(tmp_path_factory)


@pytest.fixture
def imported(logs, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    plan = [(1, "calves", DAY), (2, "calves", DAY + H), (3, "", DAY + 2 * H)]
    plan.append((4, "upper_back_left", DAY + 3 * H))
    files = []
    for sid, area, start in plan:
        path = tmp_path / "{:08d}.kbl".format(sid)
        path.write_bytes(relabel(logs["hard"], sid, start, area))
        files.append(path)
    res = knotball("import", *files)
    assert res.returncode == 0, res.stderr
    return tmp_path


def test_history_shows_and_keeps_each_sessions_area(imported):
    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    areas = [s["area"] for s in json.loads(res.stdout)["sessions"]]
    assert areas == ["calves", "calves", "unspecified", "upper_back_left"]
    res = knotball("history")
    assert res.returncode == 0, res.stderr
    assert "calves" in res.stdout and "upper back left" in res.stdout


def test_the_export_and_the_week_use_the_recorded_area(imported):
    out = imported / "s.csv"
    res = knotball("export", "--csv", out)
    assert res.returncode == 0, res.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["area"] for r in rows] == ["calves", "calves", "unspecified", "upper_back_left"]
    res = knotball("history", "--week", "--json")
    assert res.returncode == 0, res.stderr
    # (the week is the last 7 days: these 2025 sessions are not in it, its columns are)
    assert all("calves" not in d["areas"] for d in json.loads(res.stdout)["days"])


def test_importing_the_same_log_again_keeps_its_area_and_adds_no_duplicate(imported):
    res = knotball("import", imported / "00000001.kbl")
    assert res.returncode == 0, res.stderr
    res = knotball("history", "--json")
    sessions = json.loads(res.stdout)["sessions"]
    assert len(sessions) == 4 and sessions[0]["area"] == "calves"


def test_a_day_on_several_areas_is_within_the_guidance_for_each(logs, tmp_path, monkeypatch):
    # The guidance is per area: three sessions on the calves and three on the upper back in
    # one day are within it; a fourth on the calves is not, and the note names the calves.
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "200")
    plan = list(enumerate(["calves", "upper_back_left"] * 3 + ["calves"], start=1))
    files = []
    for sid, area in plan:
        path = tmp_path / "{:08d}.kbl".format(sid)
        path.write_bytes(relabel(logs["hard"], sid, DAY + sid * H, area))
        files.append(path)
    assert knotball("import", *files[:6]).returncode == 0
    [day] = json.loads(knotball("history", "--json").stdout)["days"]
    assert day["sessions"] == 6 and not day["over_guidance"] and day["notes"] == []
    assert {a: v["sessions"] for a, v in day["areas"].items()} == {
        "calves": 3,
        "upper_back_left": 3,
    }
    human = knotball("history").stdout
    assert "within the guidance" in human and "upper back left 3 ×" in human
    assert knotball("import", files[6]).returncode == 0
    [day] = json.loads(knotball("history", "--json").stdout)["days"]
    assert day["over_guidance"]
    assert day["notes"] == [
        "over the guidance: 4 sessions on calves that day; the advice is up to 3"
    ]
    assert "4 sessions on calves that day" in knotball("history").stdout
