"""`knotball export --csv`: every session in the history as one row for a spreadsheet, read
back here with the csv module and compared with the history; date ranges, an empty range,
bad dates, standard output, and a file that is never left half-written."""

import csv
import io

import physio_history
import pytest

from conftest import knotball

COLUMNS = [
    "ball", "id", "start", "area", "duration_s", "stop_reason", "light_s", "medium_s",
    "firm_s", "too_hard_s", "peak_force_n", "mean_force_n", "holds", "too_hard_count", "cues",
]  # fmt: skip


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return physio_history.logs(tmp_path_factory)


@pytest.fixture
def history(logs, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    return physio_history.build(logs, tmp_path)


def read(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, r, strict=True)) for r in reader]


def one_line(res):
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_every_session_is_one_row_matching_the_history(history, tmp_path):
    out = tmp_path / "sessions.csv"
    res = knotball("export", "--csv", out)
    assert res.returncode == 0, res.stderr
    assert "9 sessions in the history" in res.stdout
    header, rows = read(out)
    assert header == COLUMNS
    assert len(rows) == len(history) == 9
    by_id = {s["id"]: s for s in history}
    for r in rows:
        s = by_id[int(r["id"])]
        assert r["ball"] == "sim" and r["area"] == "unspecified"
        assert float(r["duration_s"]) * 1000 == s["duration_ms"]
        assert r["stop_reason"] == s["stop_reason"]
        for band, column in (("light", "light_s"), ("medium", "medium_s"), ("firm", "firm_s")):
            assert float(r[column]) * 1000 == s["band_ms"][band]
        assert float(r["too_hard_s"]) * 1000 == s["band_ms"]["over"]
        assert float(r["peak_force_n"]) == s["peak_n"] and float(r["mean_force_n"]) == s["mean_n"]
        assert int(r["holds"]) == s["holds"] and int(r["too_hard_count"]) == s["too_hard_count"]
        cues = dict(c.split("=") for c in r["cues"].split(";") if c)
        assert {k: int(v) for k, v in cues.items()} == {k: v for k, v in s["cues"].items() if v}
    first = rows[0]  # time order: Monday 08:00 UTC first, the session without a clock last
    assert (first["id"], first["start"]) == ("1", "2025-03-10T08:00:00")
    assert (rows[-1]["id"], rows[-1]["start"]) == ("9", "")
    assert [r["stop_reason"] for r in rows if r["id"] == "3"] == ["symptom"]
    assert int(rows[0]["too_hard_count"]) >= 1 and "too_hard=" in rows[0]["cues"]


def test_the_start_is_local_time(history, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    out = tmp_path / "paris.csv"
    res = knotball("export", "--csv", out)
    assert res.returncode == 0, res.stderr
    assert read(out)[1][0]["start"] == "2025-03-10T09:00:00"  # UTC+1 in March


def test_from_and_to_are_local_dates_both_included(history, tmp_path):
    out = tmp_path / "week.csv"
    res = knotball("export", "--csv", out, "--from", "2025-03-11", "--to", "2025-03-13")
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read(out)[1]] == ["3", "4", "5", "6", "7", "8"]
    assert "6 sessions between 2025-03-11 and 2025-03-13" in res.stdout
    assert "1 session without a date" in res.stdout  # the one without a clock: said, not lost
    res = knotball("export", "--csv", out, "--to", "2025-03-10")
    assert [r["id"] for r in read(out)[1]] == ["1", "2"]


def test_an_empty_range_writes_the_header_and_says_so(history, tmp_path):
    out = tmp_path / "empty.csv"
    res = knotball("export", "--csv", out, "--from", "2025-04-01", "--to", "2025-04-07")
    assert res.returncode == 0  # an empty table is still a table for a spreadsheet
    assert "no sessions between 2025-04-01 and 2025-04-07" in res.stderr
    assert read(out) == (COLUMNS, [])


def test_an_empty_history_writes_the_header_and_says_so(tmp_path):
    out = tmp_path / "empty.csv"
    res = knotball("export", "--csv", out)
    assert res.returncode == 0 and "no sessions in the history" in res.stderr
    assert read(out) == (COLUMNS, [])


def test_the_csv_goes_to_standard_output_with_a_dash(history):
    res = knotball("export", "--csv", "-", "--from", "2025-03-10", "--to", "2025-03-10")
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == COLUMNS and [r[1] for r in rows[1:]] == ["1", "2"]
    assert "2 sessions on 2025-03-10" in res.stderr  # what was done: never mixed into the CSV


@pytest.mark.parametrize(
    "args,words",
    [
        (("--from", "2025-13-01"), "--from 2025-13-01: not a date; give it as YYYY-MM-DD"),
        (("--to", "10/03/2025"), "--to 10/03/2025: not a date; give it as YYYY-MM-DD"),
        (("--from", "2025-W11-1"), "--from 2025-W11-1: not a date"),
        (("--from", "2025-03-12", "--to", "2025-03-10"), "--from 2025-03-12 is after --to"),
    ],
)
def test_a_bad_date_is_one_line_naming_the_option_and_nothing_is_written(
    history, tmp_path, args, words
):
    out = tmp_path / "bad.csv"
    res = knotball("export", "--csv", out, *args)
    assert res.returncode == 2
    assert words in one_line(res)
    assert not out.exists()


def test_an_existing_file_is_replaced_whole_or_left_as_it_was(history, tmp_path):
    out = tmp_path / "sessions.csv"
    out.write_text("the old export\n")
    res = knotball("export", "--csv", out, "--from", "nonsense")
    assert res.returncode == 2 and out.read_text() == "the old export\n"
    res = knotball("export", "--csv", tmp_path / "no-such-dir" / "x.csv")
    assert res.returncode == 2 and "cannot write it" in one_line(res)
    assert knotball("export", "--csv", out).returncode == 0
    assert len(read(out)[1]) == 9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
