"""The history on the host: `knotball import`, `history` and `report` as a user runs them,
on real log files written by the firmware (ball.sim), and the store's all-or-nothing adds."""

import calendar
import copy
import csv
import io
import json
import sqlite3
import struct

import pytest

from ball import config, sim
from ball.wire import BAND_NAMES, framing, logfile, records
from conftest import knotball
from knotball import cli, traces
from knotball.history import guidance as history
from knotball.history import store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAY = calendar.timegm((2025, 3, 10, 8, 0, 0))  # a Monday, 08:00 UTC


def write_log(directory, builder, **cfg):
    """Run a trace through the firmware; return the bytes of the first session log."""
    directory.mkdir(parents=True, exist_ok=True)
    trace = directory / "trace.csv"
    traces.write_csv(trace, builder.build())
    sim.run(str(trace), config.validate(cfg), lambda line: None, str(directory))
    return (directory / "00000001.kbl").read_bytes()


def relabel(data, session_id=None, start_unix=None, area=None):
    """The same log with another session id, start time and/or body area in its header, as
    a ball with its clock set (or a later session) would have written it. CRCs recomputed."""
    out = b""
    for offset, rtype, payload in framing.frames(data):
        assert rtype is not None, offset
        payload = bytearray(payload)
        if rtype == framing.HEADER:
            if session_id is not None:
                struct.pack_into("<I", payload, 1, session_id)
            if start_unix is not None:
                struct.pack_into("<I", payload, 5, start_unix)
            if area is not None:
                records.header_set_area(payload, 0, area.encode(), len(area))
        elif session_id is not None and rtype != framing.ARCHIVED:  # v2: the id after its fields
            struct.pack_into("<I", payload, records.body_size(rtype, payload), session_id)
        out += framing.record(rtype, bytes(payload))
    return out


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """A 30 s session: a hold, rolling, a moment too hard, stopped by the time limit."""
    b = traces.TraceBuilder(seed=21).rest(1).ramp(0.5, 25).hold(10, 25).roll(8, 30, 10)
    b = b.ramp(0.5, 62).hold(2, 62).ramp(0.5, 30).roll(10, 30, 8).ramp(0.5, 0).rest(1)
    return write_log(tmp_path_factory.mktemp("log"), b, session_limit_s=30)


@pytest.fixture(scope="module")
def five_minutes(tmp_path_factory):
    """A five-minute session of rolling with holds: the guidance's upper end."""
    b = traces.TraceBuilder(seed=5).rest(1).ramp(0.5, 20)
    for level in (20, 28, 24, 32, 26, 30):
        b = b.hold(10, level).roll(40, level, 8)
    b = b.ramp(0.5, 0).rest(1)
    return write_log(tmp_path_factory.mktemp("long"), b, session_limit_s=300)


def put(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def listing(*args):
    res = knotball("history", "--json", *args)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def one_clear_line(res):
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_imported_sessions_show_in_the_history(log, tmp_path):
    path = put(tmp_path, "00000001.kbl", log)
    res = knotball("import", path)
    assert res.returncode == 0, res.stderr
    assert "session 1 added (30.0 s, stopped: time limit)" in res.stdout
    got = listing()
    [s] = got["sessions"]
    full = logfile.parse(log)[0][0]
    assert (s["ball"], s["id"], s["duration_ms"]) == ("sim", 1, 30000)
    assert s["band_ms"] == full["band_ms"] and s["peak_n"] == full["peak_n"]
    assert s["complete"] and s["has_trace"] and s["date"] is None
    human = knotball("history")
    assert human.returncode == 0
    assert "clock not set" in human.stdout and "date unknown" in human.stdout
    assert "time limit" in human.stdout


def test_importing_again_adds_nothing(log, tmp_path):
    path = put(tmp_path, "00000001.kbl", log)
    assert knotball("import", path).returncode == 0
    again = knotball("import", path, path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("session 1 is already in the history") == 2
    assert "0 added, 0 replaced, 2 already in the history" in again.stdout
    assert len(listing()["sessions"]) == 1
    result = store.History().add("sim", log)  # what `knotball pull` will call
    assert (result.added, result.duplicates) == ([], [1])


def test_a_cut_short_copy_is_replaced_by_the_complete_file(log, tmp_path):
    cut = put(tmp_path, "cut.kbl", log[: len(log) // 2])  # a copy cut short mid-session
    res = knotball("import", cut)
    assert res.returncode == 3  # damage: what was recovered is imported, and said so
    assert "cut short" in res.stdout and "damage at byte" in res.stderr
    [s] = listing()["sessions"]
    assert not s["complete"] and s["stop_reason"] == "interrupted"
    assert s["duration_ms"] < 30000

    whole = knotball("import", put(tmp_path, "whole.kbl", log))
    assert whole.returncode == 0, whole.stderr
    assert "session 1 replaced the less complete copy" in whole.stdout
    [s] = listing()["sessions"]
    assert s["complete"] and s["stop_reason"] == "time_limit" and s["duration_ms"] == 30000
    stored = store.History().session("sim", 1)
    assert stored["trace"] == logfile.parse(log)[0][0]["trace"]

    later = knotball("import", cut)  # the cut copy again: it never replaces the whole one
    assert later.returncode == 3 and "already in the history" in later.stdout
    assert listing()["sessions"][0]["complete"]


def _flipped_mid_trace(log):
    """The log with one bit flipped in its second trace record."""
    second = [off for off, t, _p in framing.frames(log) if t == framing.TRACE][1]
    bad = bytearray(log)
    bad[second + 20] ^= 0x10
    return bytes(bad)


def test_a_damaged_copy_is_replaced_by_the_intact_one_never_the_other_way(log, tmp_path):
    damaged = put(tmp_path, "damaged.kbl", _flipped_mid_trace(log))
    res = knotball("import", damaged)
    assert res.returncode == 3 and "damage at byte" in res.stderr
    (s,) = store.History().sessions()
    assert s["damage"] and s["complete"] and s["duration_ms"] == 30000

    whole = knotball("import", put(tmp_path, "whole.kbl", log))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "session 1 replaced the less complete copy" in whole.stdout
    stored = store.History().session("sim", 1)
    assert not stored["damage"] and stored["trace"] == logfile.parse(log)[0][0]["trace"]

    again = knotball("import", damaged)  # the damaged copy never replaces the intact one
    assert again.returncode == 3 and "session 1 is already in the history" in again.stdout
    assert not store.History().session("sim", 1)["damage"]


def test_the_history_says_a_session_came_from_a_damaged_log(log, tmp_path):
    knotball("import", put(tmp_path, "damaged.kbl", _flipped_mid_trace(log)))
    res = knotball("history", "--json")
    (s,) = json.loads(res.stdout)["sessions"]
    assert any("damaged" in n for n in s["notes"]), s["notes"]
    assert "*" in knotball("history").stdout  # the table marks a session with notes


def test_a_copy_that_lost_its_header_is_still_the_same_session(log, tmp_path):
    after_header = [off for off, t, _p in framing.frames(log) if t is not None][1]
    headless = put(tmp_path, "headless.kbl", relabel(log, start_unix=DAY)[after_header:])
    res = knotball("import", headless)
    assert res.returncode == 3 and "header is lost" in res.stderr
    (s,) = store.History().sessions()
    assert s["id"] == 1 and s["complete"] and s["damage"]

    whole = knotball("import", put(tmp_path, "whole.kbl", relabel(log, start_unix=DAY)))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "session 1 replaced the less complete copy" in whole.stdout
    (s,) = store.History().sessions()
    assert s["start_unix"] == DAY and not s["damage"]
    again = knotball("import", headless)
    assert again.returncode == 3 and "already in the history" in again.stdout


def test_an_archived_summary_and_its_full_session_are_one_session(log, tmp_path):
    full = logfile.parse(log)[0][0]
    archived = framing.record(framing.ARCHIVED, logfile.archived_payload(full))
    summaries = put(tmp_path, "summaries.kbl", archived)
    assert knotball("import", summaries).returncode == 0
    [s] = listing()["sessions"]
    assert s["archived"] and not s["has_trace"] and s["duration_ms"] == 30000
    human = knotball("history")
    assert "trace dropped" in human.stdout
    for option in ("--png", "--csv"):
        res = knotball("report", option, tmp_path / "out")
        assert res.returncode == 2 and "no trace" in one_clear_line(res)
        assert not (tmp_path / "out").exists()
    assert knotball("report").returncode == 0  # the summary is still there

    res = knotball("import", put(tmp_path, "00000001.kbl", log))
    assert "replaced" in res.stdout  # the full session brings its trace
    assert listing()["sessions"][0]["has_trace"]
    res = knotball("import", summaries)
    assert "already in the history" in res.stdout  # and the summary adds nothing


def test_another_session_under_a_taken_id_is_left_out(log, tmp_path):
    b = traces.TraceBuilder(seed=3).rest(1).ramp(0.5, 15).hold(8, 15).ramp(0.5, 0).rest(1)
    other = write_log(tmp_path / "other", b, session_limit_s=30)
    assert knotball("import", put(tmp_path, "a.kbl", log)).returncode == 0
    res = knotball("import", put(tmp_path, "b.kbl", other))
    assert res.returncode == 1
    assert "left out" in one_clear_line(res) and "--ball" in res.stderr
    assert [s["duration_ms"] for s in listing()["sessions"]] == [30000]
    res = knotball("import", tmp_path / "b.kbl", "--ball", "tennis")
    assert res.returncode == 0 and "tennis: 1 added" in res.stdout
    assert [s["ball"] for s in listing()["sessions"]] == ["sim", "tennis"]
    assert [s["ball"] for s in listing("--ball", "tennis")["sessions"]] == ["tennis"]
    res = knotball("report", "1")
    assert res.returncode == 2 and "several balls (sim, tennis)" in one_clear_line(res)
    assert knotball("report", "1", "--ball", "tennis").stdout.startswith("Session 1 · tennis")


def test_daily_totals_flag_a_day_over_the_guidance(five_minutes, log, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "160")  # whole notes on one line each, to compare
    files = [
        put(tmp_path, "{}.kbl".format(i), relabel(five_minutes, i, DAY + i * 3 * 3600))
        for i in range(1, 5)
    ]  # four five-minute sessions on one day: over 3 sessions and over 18 minutes
    files += [
        put(tmp_path, "{}.kbl".format(i), relabel(log, i, DAY + 86400 + i * 3600)) for i in (5, 6)
    ]  # two half-minute sessions the next day: within the guidance
    files.append(put(tmp_path, "7.kbl", relabel(log, 7)))  # clock not set
    assert knotball("import", *files).returncode == 0
    got = listing()
    assert [s["id"] for s in got["sessions"]] == [1, 2, 3, 4, 5, 6, 7]
    monday, tuesday, unknown = got["days"]
    assert (monday["date"], monday["sessions"], monday["over_guidance"]) == ("2025-03-10", 4, True)
    assert monday["duration_ms"] == 4 * 300000
    assert (tuesday["date"], tuesday["sessions"], tuesday["over_guidance"]) == (
        "2025-03-11",
        2,
        False,
    )
    assert (unknown["date"], unknown["sessions"]) == (None, 1)
    human = knotball("history").stdout
    rows = [line.split()[0] for line in human.splitlines() if line.strip()]
    assert rows.index("2025-03-10") < rows.index("11:00") < rows.index("2025-03-11")
    assert "clock not set" in human
    assert "over the guidance: 4 sessions that day; the advice is up to 3" in human
    assert "over the guidance: 20.0 minutes that day" in human
    assert "within the guidance" in human and "date unknown" in human


def test_a_session_over_six_minutes_is_flagged_gently(log):
    # The ball cannot run one (session_limit_s is capped at 360); a history edited by hand or
    # written by other firmware can hold one: build it through the store API.
    s = copy.deepcopy(logfile.parse(log)[0][0])
    s["duration_ms"], s["start_unix"] = 7 * 60000, DAY
    store.History().add("sim", [s])
    [row] = listing()["sessions"]
    assert row["over_guidance"]
    assert row["notes"] == [
        "longer than the guidance: 7.0 minutes; the advice is up to 6 on an area"
    ]
    assert "longer than the guidance: 7.0 minutes" in knotball("history").stdout


def test_today_is_called_today():
    s = {"ball": "sim", "start_unix": DAY, "duration_ms": 60000}
    [d] = history.days([dict(s, id=i) for i in range(4)], today=history.day_of(s))
    assert d["notes"] == ["over the guidance: 4 sessions today; the advice is up to 3"]


def test_an_empty_history_says_how_to_fill_it():
    res = knotball("history")
    assert res.returncode == 0 and "knotball import" in res.stdout
    got = listing()
    assert got["sessions"] == [] and got["days"] == []
    res = knotball("report")
    assert res.returncode == 2 and "knotball import" in one_clear_line(res)


def test_report_prints_the_latest_session(log, tmp_path):
    for i in (1, 2):
        knotball("import", put(tmp_path, "{}.kbl".format(i), relabel(log, i)))
    res = knotball("report")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Session 2 · sim · clock not set")
    assert "stopped: time limit" in res.stdout and "too hard" in res.stdout
    assert "peak {:.1f} N".format(logfile.parse(log)[0][0]["peak_n"]) in res.stdout
    assert knotball("report", "1").stdout.startswith("Session 1 ")


def test_report_png_is_a_picture_of_the_session(log, tmp_path):
    knotball("import", put(tmp_path, "1.kbl", log))
    out = tmp_path / "session.png"
    res = knotball("report", "1", "--png", out)
    assert res.returncode == 0, res.stderr
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1200 and height >= 600 and len(data) > 30000
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_plot_finds_the_holds_and_the_moment_too_hard(log):
    from knotball.history import plot

    s = logfile.parse(log)[0][0]
    [(start, end)] = plot.holds(s["trace"], s["header"]["hold_min_ms"], 100)
    assert 0 <= start <= 1500 and 9000 <= end - start <= 12500  # the 10 s hold at 25 N
    [t] = plot.too_hard_entries(s["trace"])
    assert s["trace"][t // 100][1] == 4 and s["too_hard_count"] == 1
    assert plot.fault_spans([(1000, "sensor"), (1500, "cleared"), (4000, "bus")], 6000) == [
        (1000, 1500),
        (4000, 6000),
    ]


def test_report_csv_round_trips_the_trace(log, tmp_path):
    knotball("import", put(tmp_path, "1.kbl", log))
    out = tmp_path / "trace.csv"
    assert knotball("report", "--csv", out).returncode == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["t_ms", "band", "force_n"]
    got = [(int(t), BAND_NAMES.index(b), float(f)) for t, b, f in rows[1:]]
    assert got == logfile.parse(log)[0][0]["trace"]


def test_report_bad_inputs_exit_2_with_one_clear_line(log, tmp_path):
    for i in (1, 2, 3):
        knotball("import", put(tmp_path, "{}.kbl".format(i), relabel(log, i)))
    res = knotball("report", "42")
    assert res.returncode == 2
    assert "no session 42" in one_clear_line(res) and "3, 2, 1" in res.stderr
    res = knotball("report", "latest")
    assert res.returncode == 2 and "'latest'" in one_clear_line(res)
    res = knotball("report", "--ball", "lacrosse")
    assert res.returncode == 2 and "lacrosse" in one_clear_line(res)
    (tmp_path / "a-file").write_text("")
    for bad in (tmp_path / "missing" / "x.png", tmp_path / "a-file" / "x.png", tmp_path):
        res = knotball("report", "--png", bad)
        assert res.returncode == 2 and str(bad) in one_clear_line(res)
    # Two outputs, the second cannot be written: neither is (nothing half-done).
    png = tmp_path / "ok.png"
    res = knotball("report", "--png", png, "--csv", tmp_path / "missing" / "x.csv")
    assert res.returncode == 2 and not png.exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_import_refuses_what_is_not_a_log(log, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    res = knotball("import", notes)
    assert res.returncode == 2 and "notes.txt: not a knotball log" in one_clear_line(res)
    assert listing()["sessions"] == []
    res = knotball("import", put(tmp_path, "1.kbl", log), notes, tmp_path / "missing.kbl")
    assert res.returncode == 2 and "missing.kbl" in res.stderr  # the log itself is imported
    assert [s["id"] for s in listing()["sessions"]] == [1]


def test_an_unwritable_history_is_one_clear_line(log, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("KNOTBALL_HOME", str(tmp_path / "a-file" / "home"))
    res = knotball("import", put(tmp_path, "1.kbl", log))
    assert res.returncode == 1 and "cannot open the history" in one_clear_line(res)


def dump(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.parametrize("error", [sqlite3.OperationalError("disk I/O error"), OSError(28, "")])
def test_a_failure_mid_add_leaves_the_history_unchanged(log, tmp_path, monkeypatch, error):
    h = store.History()
    h.add("sim", log)
    before = dump(h.path)
    calls = []
    real_insert = store.History._insert

    def failing_insert(self, *args):
        calls.append(1)
        if len(calls) == 2:  # the first new session is written, then the disk fails
            raise error
        return real_insert(self, *args)

    monkeypatch.setattr(store.History, "_insert", failing_insert)
    with pytest.raises(store.StoreError, match="nothing was changed"):
        parsed = logfile.parse(log)[0][0]
        h.add("sim", [dict(parsed, id=2), dict(parsed, id=3)])
    calls.clear()
    with pytest.raises(store.StoreError):
        h.add("tennis", relabel(log, 2) + relabel(log, 3))
    assert dump(h.path) == before
    assert [s["id"] for s in h.sessions()] == [1] and h.balls() == ["sim"]


def test_the_import_command_reports_a_failed_add(log, tmp_path, monkeypatch, capsys):
    def broken(self, *args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.History, "_insert", broken)
    assert cli.main(["import", str(put(tmp_path, "1.kbl", log))]) == 1
    err = capsys.readouterr().err
    assert "database or disk is full; nothing was changed" in err
    assert store.History().sessions() == []


def test_what_add_reports_as_stored_has_been_read_back(log, monkeypatch):
    real_pack = store._pack
    monkeypatch.setattr(store, "_pack", lambda trace: real_pack(trace[:-1] + [(0, 0, 0)]))
    with pytest.raises(store.StoreError, match="reads back differently"):
        store.History().add("sim", log)


def test_a_history_from_a_newer_knotball_is_not_guessed_at(log):
    h = store.History()
    h.add("sim", log)
    conn = sqlite3.connect(h.path)
    with conn:
        conn.execute("UPDATE schema SET version = 99")
    conn.close()
    res = knotball("history")
    assert res.returncode == 2 and "newer knotball (schema 99)" in one_clear_line(res)


def test_the_history_lives_where_it_is_told(tmp_path, monkeypatch):
    assert store.default_path() == tmp_path / "home" / "history.sqlite"  # conftest's
    monkeypatch.delenv("KNOTBALL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store.default_path() == tmp_path / "xdg" / "knotball" / "history.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert store.default_path() == tmp_path / "user" / ".local/share/knotball/history.sqlite"
