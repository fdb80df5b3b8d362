"""A written log, cut at every byte and with every single bit flipped: the reader recovers
what is intact, reports the damage, never raises anything but NotALog, never changes a
session silently, and more bytes never recover less. Plus `knotball inspect` on such files."""

import json

import pytest

from ball import config, sim
from ball.wire import framing, logfile
from conftest import knotball
from knotball import traces


@pytest.fixture(scope="module")
def written_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    trace = d / "trace.csv"
    b = traces.TraceBuilder(seed=21).rest(1).ramp(0.5, 25).hold(12, 25).roll(20, 30, 10)
    traces.write_csv(trace, b.ramp(0.5, 0).rest(1).build())
    sim.run(str(trace), config.validate({"session_limit_s": 30}), lambda line: None, str(d))
    path = d / "00000001.kbl"
    return path, path.read_bytes()


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
    ends = boundaries(data)
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
            try:
                sessions, damage = logfile.parse(bytes(bad))
            except logfile.NotALog:
                assert i < 2  # only a broken magic makes it "not a log"
                continue
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
