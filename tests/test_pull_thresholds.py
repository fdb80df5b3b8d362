"""Thresholds the ball measured by itself (tNNNNNNN.kbt files, ball.wire.threshold) brought
into the history by `knotball pull`: read and dated on the host, stored once, a damaged one
kept and removed, a newer one left on the ball. Pulls run against the firmware on the
MicroPython unix port through the real pty path (tests/ballpty.py): its log directory is its
flash, so a file written there is a file on the ball."""

import json
import sqlite3
import time
import zlib

import pytest
from ballpty import Ball

from ball.wire import threshold
from knotball import cli
from knotball.history import physio, store, thresholds
from knotball.transport.link import Link

BOOT = 12345  # the boot id of tests/mp/consoleball.py
AT = 1_796_464_800  # 2026-12-05 10:00 UTC
CALVES = threshold.pack(
    AT, 999, 40, 30.5, 6.2, [(29.0, 1500), (31.5, 1800), (31.0, 1700)], "calves"
)
GLUTES = threshold.pack(AT + 600, 999, 640, 24.0, 4.0, [(23.5, 1200), (24.5, 1300)], "glutes_left")
NAME1, NAME2 = threshold.file_name(1), threshold.file_name(2)


def pull(capsys, *args):
    status = cli.main(["pull", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def measurements():
    return [c for c in store.History().calibrations() if c["kind"] == "threshold"]


@pytest.fixture
def ball(tmp_path):
    """start(files): a ball whose flash holds `files` ({name: bytes}); the test's own link is
    closed, so the command under test is the only reader of the port."""
    started = []

    def start(files):
        d = tmp_path / "ball{}".format(len(started))
        d.mkdir()
        b = Ball(d, blob=False, files=files)
        started.append(b)
        b.link.close()
        return b

    yield start
    for b in started:
        b.close()


# ---- reading and dating (no ball) ------------------------------------------------------------


def test_a_threshold_file_reads_as_the_measurement_the_ball_packed():
    m = thresholds.read(CALVES)
    assert m["area"] == "calves" and m["unix"] == AT and m["level_n"] == 30.5
    assert m["peaks_n"] == [29.0, 31.5, 31.0] and m["rise_ms"] == [1500, 1800, 1700]
    assert thresholds.describe(m) == "calves threshold 30.5 N (spread 6 %)"


def test_damage_a_newer_format_and_a_foreign_file_are_told_apart():
    bad = bytearray(CALVES)
    bad[12] ^= 0xFF
    with pytest.raises(ValueError, match="CRC") as e:
        thresholds.read(bytes(bad))
    assert not isinstance(e.value, thresholds.Newer | thresholds.NotAThreshold)
    newer = bytearray(CALVES[5:-4])
    newer[0] = threshold.VERSION + 1
    with pytest.raises(thresholds.Newer, match="version 2"):
        thresholds.read(threshold.fr.record(threshold.THRESHOLD, bytes(newer)))
    with pytest.raises(thresholds.NotAThreshold):
        thresholds.read(b"hello, not a ball file")
    with pytest.raises(thresholds.NotAThreshold):
        thresholds.read(b"")


def test_a_measurement_taken_before_the_clock_was_set_is_dated_from_the_same_boot_only():
    m = thresholds.read(threshold.pack(0, 7, 40, 30.0, 1.0, [(30.0, 900)], "calves"))
    assert thresholds.dated(m, {"boot": 7, "uptime_s": 100}, 10_000) == (9_940, "uptime")
    at, how = thresholds.dated(m, {"boot": 8, "uptime_s": 100}, 10_000)  # restarted since
    assert how == "pull" and at > 10_000
    assert thresholds.dated(m, {"boot": 8}, 0, fallback=(55, "file")) == (55, "file")
    assert thresholds.dated(thresholds.read(CALVES), {"boot": 999, "uptime_s": 50}, 1) == (
        AT,
        "clock",
    )


def test_a_measurement_stored_twice_is_one_row(tmp_path):
    h = store.History(tmp_path / "h.sqlite")
    m = thresholds.read(CALVES)
    first = thresholds.store(h, "vb01", m, AT, "clock")
    assert first[1] is True
    assert thresholds.store(h, "vb01", m, AT, "clock") == (first[0], False)
    assert thresholds.store(h, "vb02", m, AT, "clock")[1] is True  # another ball's
    assert len(h.calibrations()) == 2


def test_a_schema_5_history_reads_its_calibrations_and_upgrades_on_the_first_write(tmp_path):
    path = tmp_path / "h.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(store._SCHEMA)
    for step in range(2, 6):
        conn.executescript(store._MIGRATIONS[step])
    conn.execute("INSERT INTO schema VALUES (5)")
    conn.execute(
        "INSERT INTO calibrations (ball, at_unix, kind, values_json, quality_json, "
        "points_json, area) VALUES ('vb01', 5, 'threshold', '{}', '{\"level_n\": 20.0}', "
        "'[]', 'neck_left')"
    )
    conn.commit()
    conn.close()
    h = store.History(path)
    (old,) = h.calibrations()  # read before the upgrade: no source column yet
    assert old["area"] == "neck_left" and old["source"] is None
    thresholds.store(h, "vb01", thresholds.read(CALVES), AT, "clock")
    thresholds.store(h, "vb01", thresholds.read(CALVES), AT, "clock")
    version = sqlite3.connect(path).execute("SELECT version FROM schema").fetchone()
    assert version == (store.SCHEMA_VERSION,) == (6,)
    assert [c["area"] for c in h.calibrations()] == ["neck_left", "calves"]


# ---- knotball pull -------------------------------------------------------------------------


def test_pull_stores_each_threshold_once_dated_by_the_ball_and_removes_its_file(ball, capsys):
    b = ball({NAME1: CALVES, NAME2: GLUTES})
    status, out, err = pull(capsys, "--port", b.port)
    assert status == 0, err
    local = time.strftime("%Y-%m-%d %H:%M", time.localtime(AT))
    line = "{}: calves threshold 30.5 N (spread 6 %), measured {}, stored".format(NAME1, local)
    assert line in out.splitlines(), out
    assert "2 thresholds stored, 2 files deleted from the ball" in out, out
    assert not (b.logdir / NAME1).exists() and not (b.logdir / NAME2).exists()
    calves, glutes = measurements()
    assert calves["area"] == "calves" and calves["at_unix"] == AT
    assert calves["quality"] == {"level_n": 30.5, "spread_pct": 6.2}
    assert [p["peak_n"] for p in calves["points"]] == [29.0, 31.5, 31.0]
    assert glutes["area"] == "glutes_left" and glutes["at_unix"] == AT + 600
    trends = physio.threshold_trends(store.History().calibrations())
    assert [m["level_n"] for m in trends["calves"]] == [30.5]

    # The rm was lost (the cable came out): the same files are on the ball again.
    (b.logdir / NAME1).write_bytes(CALVES)
    (b.logdir / NAME2).write_bytes(GLUTES)
    status, out, err = pull(capsys, "--port", b.port, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["thresholds"] == [] and result["deleted"] == 2
    assert len(measurements()) == 2
    assert not (b.logdir / NAME1).exists()


def test_pull_json_lists_the_thresholds_it_stored_and_out_keeps_their_files(
    ball, capsys, tmp_path
):
    b = ball({NAME1: CALVES})
    status, out, err = pull(capsys, "--port", b.port, "--json", "--out", tmp_path / "copies")
    assert status == 0, err
    (m,) = json.loads(out)["thresholds"]
    assert m == {
        "file": NAME1, "area": "calves", "level_n": 30.5, "spread_pct": 6.2,
        "peaks_n": [29.0, 31.5, 31.0], "rise_ms": [1500, 1800, 1700], "at_unix": AT,
        "dated": "clock",
    }  # fmt: skip
    assert (tmp_path / "copies" / NAME1).read_bytes() == CALVES


def test_a_damaged_threshold_file_is_named_its_bytes_kept_and_it_leaves_the_ball(ball, capsys):
    bad = bytearray(CALVES)
    bad[20] ^= 0x10
    b = ball({NAME1: bytes(bad), NAME2: GLUTES})
    status, out, err = pull(capsys, "--port", b.port)
    assert status == 1
    (line,) = [x for x in err.splitlines() if NAME1 in x]
    assert "damaged" in line and "CRC" in line, err
    assert "Traceback" not in err
    assert [m["area"] for m in measurements()] == ["glutes_left"]  # the good one still came
    kept = store.History().damaged_files("ball")  # a ball without an id goes by "ball"
    assert kept == [(NAME1, zlib.crc32(bad), bytes(bad))]
    assert not (b.logdir / NAME1).exists()
    status, out, err = pull(capsys, "--port", b.port)  # it blocks no later pull
    assert status == 0, err


def test_a_damaged_threshold_file_stays_on_the_ball_with_keep(ball, capsys):
    b = ball({NAME1: b"KBP" + bytes(30)})
    status, out, err = pull(capsys, "--port", b.port, "--keep")
    assert status == 1 and "damaged threshold file" in err, err
    assert (b.logdir / NAME1).exists()
    assert store.History().damaged_files("ball") == []


def test_a_threshold_file_of_a_newer_format_stays_on_the_ball_until_knotball_is_updated(
    ball, capsys
):
    payload = bytearray(CALVES[5:-4])
    payload[0] = threshold.VERSION + 1
    newer = threshold.fr.record(threshold.THRESHOLD, bytes(payload))
    b = ball({NAME1: newer})
    status, out, err = pull(capsys, "--port", b.port)
    assert status == 1 and "update knotball" in err, err
    assert (b.logdir / NAME1).read_bytes() == newer
    assert measurements() == []


def test_a_threshold_measured_before_the_clock_was_set_is_dated_from_the_balls_uptime(
    ball, capsys
):
    b = ball({})
    asked = time.time()
    with Link(b.port, timeout=5) as link:
        uptime = link.hello()["uptime_s"]  # the measurement was taken as this was answered
    (b.logdir / NAME1).write_bytes(
        threshold.pack(0, BOOT, uptime, 30.0, 1.0, [(30.0, 900)], "calves")
    )
    (b.logdir / NAME2).write_bytes(
        threshold.pack(0, BOOT + 1, uptime, 20.0, 1.0, [(20.0, 900)], "soles")
    )  # an earlier boot's: its time is unknown
    before = time.time()
    status, out, err = pull(capsys, "--port", b.port, "--json")
    after = time.time()
    assert status == 0, err
    by_area = {m["area"]: m for m in json.loads(out)["thresholds"]}
    assert by_area["calves"]["dated"] == "uptime"
    # Whole seconds of uptime on both sides: within a second or two of that answer.
    assert asked - 2 <= by_area["calves"]["at_unix"] <= after + 1
    assert by_area["soles"]["dated"] == "pull"
    assert before - 1 <= by_area["soles"]["at_unix"] <= after + 1
    stored = {c["area"]: c for c in measurements()}
    assert stored["calves"]["quality"]["dated"] == "uptime"
    assert stored["soles"]["quality"]["dated"] == "pull"


# ---- knotball inspect and import of threshold files ------------------------------------------


def run(capsys, *args):
    status = cli.main([*map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_inspect_reads_a_threshold_file_and_names_damage_and_foreign_files(tmp_path, capsys):
    good, bad, foreign = tmp_path / NAME1, tmp_path / NAME2, tmp_path / "t0000003.kbt"
    good.write_bytes(CALVES)
    damaged = bytearray(GLUTES)
    damaged[9] ^= 0x01
    bad.write_bytes(bytes(damaged))
    foreign.write_bytes(b"#!/bin/sh\n")
    status, out, err = run(capsys, "inspect", good)
    assert status == 0, err
    assert "calves threshold 30.5 N (spread 6 %), presses 29.0, 31.5, 31.0 N" in out, out
    status, out, err = run(capsys, "inspect", "--json", good, bad)
    assert status == 3
    first, second = map(json.loads, out.splitlines())
    assert first["threshold"]["peaks_n"] == [29.0, 31.5, 31.0] and first["damage"] is None
    assert second["threshold"] is None and "CRC" in second["damage"]["reason"]
    assert "{}: damage at byte 0".format(bad) in err, err
    status, out, err = run(capsys, "inspect", bad, foreign)
    assert status == 2 and "not a knotball file" in err and "Traceback" not in err


def test_import_stores_a_threshold_file_once_and_a_pulled_copy_is_not_added_again(
    tmp_path, capsys
):
    copies = tmp_path / "copies"
    d = tmp_path / "ball"
    d.mkdir()
    b = Ball(d, blob=False, ball_id="24a1c3f0b7e2", files={NAME1: CALVES})
    try:
        b.link.close()
        status, out, err = pull(capsys, "--port", b.port, "--out", copies)
    finally:
        b.close()
    assert status == 0, err
    assert len(measurements()) == 1
    status, out, err = run(capsys, "import", "--ball", "ball-b7e2", copies / NAME1)
    assert status == 0, err
    assert "already in the history" in out and len(measurements()) == 1
    # The same file under another ball name is that ball's measurement: stored once.
    for _ in range(2):
        status, out, err = run(capsys, "import", copies / NAME1)
        assert status == 0, err
    assert "sim: 0 added, 0 replaced, 0 already in the history; 0 thresholds added" in out
    assert len(measurements()) == 2
