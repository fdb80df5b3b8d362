"""A written log, cut at every byte, with every single bit flipped and every record dropped,
repeated or swapped with the next: the reader recovers what is intact, reports the damage,
never raises anything but NotALog, never changes a session silently, and more bytes never
recover less; the ball's boot recovery keeps every byte of a damaged log. Plus `knotball
inspect` on such files. `pytest -s` prints the sweeps' figures."""

import json
import shutil
import zlib

import pytest
from ballpty import Ball

from ball import config, log, sim
from ball.wire import framing, logfile
from ball.wire import records as rec
from conftest import knotball
from knotball import cli, traces
from knotball.commands.demo import TRACE as DEMO_TRACE
from knotball.history import store

# The reproduction: this byte of the demo session's log is in a trace record.
DEMO_FLIP = 315


@pytest.fixture(scope="module")
def written_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    trace = d / "trace.csv"
    b = traces.TraceBuilder(seed=21).rest(1).ramp(0.5, 25).hold(12, 25).roll(20, 30, 10)
    traces.write_csv(trace, b.ramp(0.5, 0).rest(1).build())
    sim.run(str(trace), config.validate({"session_limit_s": 30}), lambda line: None, str(d))
    path = d / "00000001.kbl"
    return path, path.read_bytes()


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory):
    """The demo session as the firmware logs it: a finished 60 s time-limit session."""
    d = tmp_path_factory.mktemp("demo")
    sim.run(str(DEMO_TRACE), config.validate({}), lambda line: None, str(d))
    data = (d / "00000001.kbl").read_bytes()
    (s,), damage = logfile.read(data)
    assert not damage and s["stop_reason"] == "time_limit" and s["duration_ms"] == 60000
    return data


def boundaries(data):
    return {0} | {
        off + framing.FRAME_OVERHEAD + len(p)
        for off, t, p in framing.frames(data)
        if t is not None
    }


def test_the_log_is_whole_and_complete(written_log):
    _, data = written_log
    sessions, damage = logfile.parse(data)
    assert damage is None and len(sessions) == 1 and sessions[0]["complete"]
    assert sessions[0]["checkpoints"] >= 3  # a chunk every 10 s


def test_truncation_at_every_byte(written_log):
    _, data = written_log
    full = logfile.parse(data)[0][0]
    # A cut at a record's end reads as a power cut there, undamaged; but not between the
    # last 'T' and the 'S': they go out together, so only damage parts them (log v3).
    ends = boundaries(data) - {off for off, t, _ in framing.frames(data) if t == framing.SUMMARY}
    prev_count, prev_duration = 0, -1
    for cut in range(len(data) + 1):
        try:
            sessions, damage = logfile.parse(data[:cut])
        except logfile.NotALog:
            assert cut == 0
            continue
        assert (damage is None) == (cut in ends), cut
        assert len(sessions) >= prev_count, cut  # more bytes never recover less
        if sessions:
            s = sessions[0]
            assert s["duration_ms"] >= prev_duration, cut
            prev_duration = s["duration_ms"]
            if s["complete"]:
                assert s["summary_values"] == full["summary_values"]
            else:
                assert s["stop_reason"] == "interrupted"
                assert s["duration_ms"] <= full["duration_ms"]
        prev_count = len(sessions)
    print("truncation: {} cut points".format(len(data) + 1))


def test_every_single_bit_flip_is_detected(written_log):
    _, data = written_log
    full = logfile.parse(data)[0][0]
    flips = 0
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            sessions, damage = logfile.parse(bytes(bad))  # never "not a log": frames follow
            assert damage is not None, (i, bit)  # never a silent change
            for s in sessions:
                if s["complete"]:
                    assert s["summary_values"] == full["summary_values"], (i, bit)
                else:
                    assert s["duration_ms"] <= full["duration_ms"], (i, bit)
            flips += 1
    print("bit flips: {} tried".format(flips))


def test_inspect_clean_file(written_log):
    path, _ = written_log
    res = knotball("inspect", path, "--json")
    assert res.returncode == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["file"] == str(path) and obj["damage"] is None
    s = obj["sessions"][0]
    assert set(s) == {"id", "duration_ms", "stop_reason", "band_ms", "peak_n"}
    assert s["stop_reason"] == "time_limit" and s["duration_ms"] == 30000


def test_inspect_damaged_file_prints_what_it_recovered_and_exits_3(written_log, tmp_path):
    _, data = written_log
    cut = tmp_path / "cut.kbl"
    cut.write_bytes(data[: len(data) - 30])
    res = knotball("inspect", cut, "--json")
    assert res.returncode == 3
    obj = json.loads(res.stdout)
    assert obj["sessions"][0]["stop_reason"] == "interrupted"
    assert obj["damage"]["offset"] > 0
    assert "cut.kbl" in res.stderr and str(obj["damage"]["offset"]) in res.stderr
    assert "Traceback" not in res.stderr
    human = knotball("inspect", cut)
    assert human.returncode == 3 and "interrupted" in human.stdout


def test_inspect_not_a_log_exits_2(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    empty = tmp_path / "empty.kbl"
    empty.write_bytes(b"")
    for path in (other, empty, tmp_path / "missing.kbl"):
        res = knotball("inspect", path)
        assert res.returncode == 2 and path.name in res.stderr
        assert "Traceback" not in res.stderr


def _written(data):
    """[(start, end, type, payload)] of the valid records in data."""
    return [
        (off, off + framing.FRAME_OVERHEAD + len(p), t, p)
        for off, t, p in framing.frames(data)
        if t is not None
    ]


def _lost(full, sessions, records, hits):
    """How many intact records (all but those in `hits`) `sessions` do not show as the writer
    wrote them, and how many samples they show that the writer never wrote."""
    s = next((s for s in sessions if s["id"] == full["id"]), None)
    if s is None:
        return len(records) - 1, 0
    trace = set(s["trace"])
    lost = 0
    for r in records:
        start, end, rtype, p = r
        if any(r is h for h in hits):
            continue
        if rtype == framing.HEADER:
            lost += s["header"] != full["header"]
        elif rtype == framing.TRACE:
            t0 = rec.unpack_trace(p)[0]
            t1 = t0 + p[4] * rec.TRACE_PERIOD_MS
            lost += not all(x in trace for x in full["trace"] if t0 <= x[0] < t1)
        elif rtype == framing.SUMMARY:
            lost += not s["complete"] or s["summary_values"] != full["summary_values"]
        elif rtype == framing.FAULT:
            lost += not set(s["faults"]) >= set(full["faults"])
    return lost, len(trace - set(full["trace"]))


def sweep(data):
    """Every single-bit flip of data: (flips, intact records lost, silent changes)."""
    (full,), _ = logfile.read(data)
    records = _written(data)
    flips = lost = silent = 0
    for i in range(len(data)):
        hit = next(r for r in records if r[0] <= i < r[1])
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            sessions, damage = logfile.read(bytes(bad))
            flips += 1
            n, invented = _lost(full, sessions, records, (hit,))
            lost += n
            silent += not damage or invented > 0
            for s in sessions:  # a summary read is the one written, or marked rebuilt
                assert s["complete"] or s["stop_reason"] == "interrupted", (i, bit)
                if s["complete"] and not s["recovered"]:
                    assert s["summary_values"] == full["summary_values"], (i, bit)
    return flips, lost, silent


def test_every_single_bit_flip_of_firmware_logs_loses_no_intact_record(demo_log, written_log):
    for name, data in (("demo", demo_log), ("30 s", written_log[1])):
        flips, lost, silent = sweep(data)
        print(
            "bit-flip sweep, {} log ({} bytes): {} flips, {} intact records lost, "
            "{} silent changes".format(name, len(data), flips, lost, silent)
        )
        assert flips == 8 * len(data)
        assert lost == 0 and silent == 0


def reorderings(data, records):
    """Each of data's records (as _written gives them) dropped, repeated (its copy right
    after it) and swapped with the next: yield (what, altered bytes, the records it lost or
    moved)."""
    whole = [data[start:end] for start, end, _t, _p in records]
    for i, r in enumerate(records):
        yield "drop {}".format(i), b"".join(whole[:i] + whole[i + 1 :]), (r,)
        yield "repeat {}".format(i), b"".join(whole[: i + 1] + whole[i:]), ()
        if i + 1 < len(records):
            swapped = whole[:i] + [whole[i + 1], whole[i]] + whole[i + 2 :]
            yield "swap {}".format(i), b"".join(swapped), (r, records[i + 1])


def reorder_sweep(data):
    """Every reordering of data's records: (files, damage named, intact records lost, silent
    changes as [what]). Silent: read without damage named yet not as the original, or showing
    samples the writer never wrote or one twice, or a summary that is not the one written."""
    original = logfile.read(data)
    (full,), _ = original
    records = _written(data)
    files = named = lost = 0
    silent = []
    for what, bad, hits in reorderings(data, records):
        files += 1
        sessions, damage = logfile.read(bad)
        named += bool(damage) and all(reason for _at, reason in damage)
        n, invented = _lost(full, sessions, records, hits)
        lost += n
        times = [x[0] for s in sessions for x in s["trace"]]
        unnamed = not damage and (sessions, damage) != original
        other_summary = any(
            s["complete"] and not s["recovered"] and s["summary_values"] != full["summary_values"]
            for s in sessions
        )
        if unnamed or invented or len(set(times)) != len(times) or other_summary:
            silent.append(what)
    return files, named, lost, silent


def test_every_dropped_repeated_or_swapped_record_of_firmware_logs_is_named_and_loses_nothing(
    demo_log, written_log
):
    for name, data in (("demo", demo_log), ("30 s", written_log[1])):
        files, named, lost, silent = reorder_sweep(data)
        print(
            "drop/repeat/swap sweep, {} log ({} records): {} files, {} with damage named, "
            "{} intact records lost, {} silent changes {}".format(
                name, len(_written(data)), files, named, lost, len(silent), silent
            )
        )
        n = len(_written(data))
        assert files == 3 * n - 1 and named == files - len(silent)
        assert lost == 0
        assert silent == [], silent  # a dropped last 'S' too, since log v3 (was silent)


def test_boot_recovery_keeps_every_byte_of_a_finished_session_with_a_flipped_bit(
    demo_log, tmp_path
):
    bad = bytearray(demo_log)
    bad[DEMO_FLIP] ^= 0x04
    path = tmp_path / "00000001.kbl"
    path.write_bytes(bytes(bad))
    assert log.recover(str(tmp_path)) == []
    assert path.read_bytes() == bytes(bad)  # nothing cut, nothing added: it has its summary
    (s,), damage = logfile.read(path.read_bytes())
    assert damage and s["complete"] and s["stop_reason"] == "time_limit"
    assert s["duration_ms"] == 60000 and s["damage"] == damage


def test_boot_recovery_never_deletes_a_log_with_a_flipped_length_byte(demo_log, tmp_path):
    (first_trace,) = [r for r in _written(demo_log) if r[2] == framing.TRACE][:1]
    flips = 0
    for at in (3, 4, first_trace[0] + 3, first_trace[0] + 4):  # the 'H' and a 'T' length
        for bit in range(8):
            bad = bytearray(demo_log)
            bad[at] ^= 1 << bit
            d = tmp_path / "{}-{}".format(at, bit)
            d.mkdir()
            (d / "00000001.kbl").write_bytes(bytes(bad))
            log.recover(str(d))
            assert (d / "00000001.kbl").read_bytes() == bytes(bad), (at, bit)
            shutil.rmtree(d)
            flips += 1
    print("boot recovery, length bytes flipped: {} flips, every file kept whole".format(flips))


def test_boot_recovery_only_appends_to_a_damaged_session_cut_by_a_power_cut(demo_log, tmp_path):
    records = _written(demo_log)
    cut = demo_log[: records[5][0]]  # the power went after the fifth record
    bad = bytearray(cut)
    bad[DEMO_FLIP] ^= 0x04
    path = tmp_path / "00000001.kbl"
    path.write_bytes(bytes(bad))
    assert log.recover(str(tmp_path)) == [1]
    data = path.read_bytes()
    assert data.startswith(bytes(bad)) and len(data) > len(bad)
    (s,), damage = logfile.read(data)
    assert damage and s["complete"] and s["stop_reason"] == "interrupted"
    assert s["summary_values"][18] == rec.FLAG_RECOVERED | rec.FLAG_DAMAGED
    assert log.recover(str(tmp_path)) == [] and path.read_bytes() == data  # done once


def test_boot_recovery_of_a_log_whose_summary_is_lost_keeps_the_loss_named(demo_log, tmp_path):
    # Its last 'T' went out with its 'S' (log v3): the 'S' gone is damage, not a power cut,
    # and the summary the ball rebuilds says so to every reader after it.
    last, summary = _written(demo_log)[-2:]
    path = tmp_path / "00000001.kbl"
    path.write_bytes(demo_log[: summary[0]])
    assert log.recover(str(tmp_path)) == [1]
    data = path.read_bytes()
    assert data.startswith(demo_log[: summary[0]]) and len(data) > summary[0]
    (s,), damage = logfile.read(data)
    assert damage == [(last[0], "session 1: its summary is lost (rebuilt)")]
    assert s["stop_reason"] == "interrupted" and s["damage"] == damage
    assert s["summary_values"][18] == rec.FLAG_RECOVERED | rec.FLAG_DAMAGED
    assert log.recover(str(tmp_path)) == [] and path.read_bytes() == data  # done once


def test_a_log_whose_first_bytes_are_damaged_is_still_read(demo_log):
    for i in (0, 1):
        for bit in range(8):
            bad = bytearray(demo_log)
            bad[i] ^= 1 << bit
            (s,), damage = logfile.read(bytes(bad))
            assert damage[0][0] == 0 and s["id"] == 1 and s["complete"]
            assert s["duration_ms"] == 60000 and s["header"].get("lost")


def test_inspect_names_a_log_whose_header_is_removed_and_exits_3(demo_log, tmp_path):
    headless = tmp_path / "headless.kbl"
    headless.write_bytes(demo_log[_written(demo_log)[1][0] :])
    res = knotball("inspect", headless, "--json")
    assert res.returncode == 3, res.stdout + res.stderr
    obj = json.loads(res.stdout)
    assert [s["id"] for s in obj["sessions"]] == [1]
    assert obj["damage"]["offset"] == 0 and "header" in obj["damage"]["reason"]
    assert obj["damages"] == [obj["damage"]]
    human = knotball("inspect", headless)
    assert human.returncode == 3 and "header is lost" in human.stderr


def test_pull_names_the_damage_and_stores_the_finished_session_not_a_short_one(
    demo_log, tmp_path, capsys
):
    """The issue's reproduction end to end: the demo log with byte 315 flipped goes through
    the ball's boot recovery, then `knotball pull` over a pty from the firmware's console."""
    flash = tmp_path / "flash"
    flash.mkdir()
    bad = bytearray(demo_log)
    bad[DEMO_FLIP] ^= 0x04
    (flash / "00000001.kbl").write_bytes(bytes(bad))
    log.recover(str(flash))  # the ball's boot
    on_ball = (flash / "00000001.kbl").read_bytes()
    (tmp_path / "ball").mkdir()
    ball = Ball(tmp_path / "ball", blob=False, files={"00000001.kbl": on_ball})
    try:
        ball.wait_finished("00000002.kbl")  # the ball's own session after the boot
        ball.link.close()
        status = cli.main(["pull", "--port", ball.port])
        out, err = capsys.readouterr()
        assert status != 0, out + err
        assert "00000001.kbl: damaged, at byte " in err and "CRC" in err, err
        history = store.History()
        s = history.session("ball", 1)
        assert s["damage"] and s["complete"] and s["stop_reason"] == "time_limit"
        assert s["duration_ms"] == 60000
        assert history.session("ball", 2)["stop_reason"] == "time_limit"
        # Its bytes are in the history, so the file leaves the ball and the next pull is clean.
        assert history.damaged_files("ball") == [("00000001.kbl", zlib.crc32(on_ball), on_ball)]
        assert not (ball.logdir / "00000001.kbl").exists()
        assert cli.main(["pull", "--port", ball.port]) == 0
    finally:
        ball.close()


def test_rotation_drops_only_undamaged_traces_and_keeps_each_summary(demo_log, tmp_path):
    # make_room frees flash by dropping old traces (their summaries kept in summaries.kbl);
    # a damaged file or one that is no log at all is left whole for the host to name.
    bad = bytearray(demo_log)
    bad[DEMO_FLIP] ^= 0x04
    (tmp_path / "00000001.kbl").write_bytes(bytes(bad))
    (tmp_path / "00000002.kbl").write_bytes(demo_log)
    (tmp_path / "00000003.kbl").write_bytes(b"not a knotball log")
    assert not log.make_room(str(tmp_path), reserve=1 << 62)  # more than any disk: try all
    assert (tmp_path / "00000001.kbl").read_bytes() == bytes(bad)
    assert (tmp_path / "00000003.kbl").read_bytes() == b"not a knotball log"
    assert not (tmp_path / "00000002.kbl").exists()
    (s,), damage = logfile.read((tmp_path / log.SUMMARIES).read_bytes())
    assert damage == [] and s["archived"] and s["duration_ms"] == 60000
