"""`knotball history --week`: the last seven days, today included, one row a day (days
without sessions too) with sessions, minutes, too-hard moments, symptom stops and the
minutes per area; from logs the firmware wrote, imported with `knotball import`."""

import calendar
import datetime
import json

import physio_history
import pytest
from physio_history import D, H

from conftest import knotball


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return physio_history.logs(tmp_path_factory)


@pytest.fixture
def week(logs, tmp_path, monkeypatch):
    """Today two short sessions, two days ago a symptom stop, three days ago four of five
    minutes, eight days ago one (outside the week), and one without a clock."""
    monkeypatch.setenv("TZ", "UTC")
    today = datetime.datetime.now(datetime.UTC).date()
    noon = calendar.timegm(today.timetuple()) + 12 * H
    plan = [(1, "hard", noon - 8 * D), (2, "symptom", noon - 2 * D), (9, "hard", 0)]
    plan += [(3 + i, "five", noon - 3 * D + i * H) for i in range(4)]
    plan += [(7, "hard", noon), (8, "hard", noon + H)]
    physio_history.build(logs, tmp_path, plan=plan, thresholds=[])
    return today


def test_the_week_is_seven_days_with_totals_per_day_and_area(week):
    res = knotball("history", "--week", "--json")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    days = got["days"]
    assert [d["date"] for d in days] == [
        (week - datetime.timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert (got["from"], got["to"]) == (days[0]["date"], week.isoformat())
    assert [d["sessions"] for d in days] == [0, 0, 0, 4, 1, 0, 2]
    three_ago, two_ago, today = days[3], days[4], days[6]
    assert three_ago["duration_ms"] == 4 * 300000
    assert three_ago["areas"] == {
        "unspecified": {"sessions": 4, "duration_ms": 1200000, "longest_ms": 300000}
    }
    assert three_ago["notes"] == ["4 sessions: the advice is up to 3 a day on an area"]
    assert (two_ago["symptom_stops"], two_ago["too_hard"]) == (1, 0)
    assert (today["too_hard"], today["symptom_stops"], today["notes"]) == (2, 0, [])
    assert today["areas"]["unspecified"]["sessions"] == 2
    assert days[0]["areas"] == {} and days[0]["duration_ms"] == 0


def test_the_week_in_words_has_a_row_a_day_and_a_column_per_area(week):
    res = knotball("history", "--week")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "The last 7 days" in out and "7 sessions" in out
    header = next(line for line in out.splitlines() if line.startswith("day"))
    for column in ("sessions", "time", "too hard", "symptom stops", "unspecified"):
        assert column in header
    weekdays = ("Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun ")
    rows = [line for line in out.splitlines() if line.startswith(weekdays)]
    assert len(rows) == 7
    assert rows[-1].startswith(week.strftime("%a %Y-%m-%d"))
    assert "4 × 20.0 min" in rows[3] and "2 × 1.0 min" in rows[-1]
    assert rows[3].split()[1].endswith("*") and "over the guidance: 4 sessions" in out


def test_an_empty_week_says_so():
    res = knotball("history", "--week")
    assert res.returncode == 0, res.stderr
    assert "0 sessions" in res.stdout and "No sessions between" in res.stdout
