"""End to end against the virtual ball (`knotball virtual`): the firmware put on its flash
image with stock mpremote, its real pty console, and the knotball commands as a user runs
them (live --plain, pull, pull again, history, report); then faults at chunk boundaries of a
transfer (a cut link, a ball reset), a ball without the firmware and a corrupt log on it."""

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib

import pytest
from serial import SerialException
from vball_fixture import VirtualBall, deploy_firmware, put_and_reset, sim_log, write_trace

from ball.wire import framing, logfile, threshold
from conftest import knotball
from knotball import cli
from knotball.history import store
from knotball.transport.link import Link

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CFG = {"session_limit_s": 10, "idle_stop_s": 5, "warn_before_s": 2, "hold_min_s": 1}
BIG = "00000001.kbl"  # the five-minute log put on the ball for the transfer faults


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    """A flash image with the firmware and CFG deployed by stock mpremote (done once)."""
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", CFG)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    return sim_log(tmp_path_factory.mktemp("simlog")).read_bytes()


@pytest.fixture
def vball(firmware_image, tmp_path):
    """start(*args): a virtual ball on this test's own copy of the firmware image."""
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    started = []

    def start(*extra, image=image):
        v = VirtualBall(tmp_path, image, *extra)
        started.append(v)
        return v

    yield start
    for v in started:
        v.kill()


def pull(capsys, *args):
    status = cli.main(["pull", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def stored():
    """The sessions in the history: one virtual ball's, under the name its id gave it."""
    history = store.History()
    return history.sessions() if history.exists() else []


def on_ball(v):
    return {f["name"]: f for f in v.files() if f["name"].endswith(".kbl")}


def test_live_plain_follows_the_session_which_still_ends_on_time(vball, tmp_path):
    # 2 s (real) of rest first, so live is following before the session starts
    trace = write_trace(tmp_path / "t.csv", [(0, 0), (10000, 25), (14000, 40), (24000, 40)])
    v = vball("--trace", trace, "--speed", 5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "knotball", "live", "--port", v.port, "--plain"],
        stdin=subprocess.DEVNULL,  # no keys typed (and never a terminal put in cbreak mode)
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    rows = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            try:
                rows.append(lines.get(timeout=1).split())
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
                continue
            states = [r[3] for r in rows]
            if "active" in states and states[-1] == "stopped":
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rows and all(len(r) == 8 for r in rows), rows[:5]
    t = [int(r[0]) for r in rows]
    assert t == sorted(t) and len(set(t)) == len(t)
    bands = {r[2] for r in rows}
    assert bands <= {"idle", "light", "medium", "firm", "over"}
    assert {"medium", "firm"} & bands
    states = [r[3] for r in rows]
    assert "active" in states and states[-1] == "stopped", states
    (name,) = [f["name"] for f in v.wait_finished()]
    (session,), damage = logfile.parse(v.get(name))
    assert session["stop_reason"] == "time_limit" and damage is None
    v.stop()


def test_pull_history_report_and_pull_again(vball, tmp_path, capsys):
    trace = write_trace(tmp_path / "t.csv", [(0, 0), (200, 25), (6000, 40), (12000, 40)])
    v = vball("--trace", trace, "--speed", 10)
    done = v.wait_finished()
    names = [f["name"] for f in done]
    time.sleep(0.5)  # past the session's end: the trace is at rest, nothing new starts
    status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["pulled"] >= 1 and result["deleted"] == result["pulled"] == len(names)
    assert result["sessions"][0]["stop_reason"] == "time_limit"
    assert {s["id"] for s in stored()} == {s["id"] for s in result["sessions"]}

    status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 0, err
    again = json.loads(out)
    assert again.pop("advice")["kind"] == "stay"  # one comfortable session so far
    assert again == {"pulled": 0, "deleted": 0, "sessions": [], "thresholds": []}

    listing = v.mpremote("fs", "ls", ":logs")  # stock mpremote: the files are gone
    assert not any(n in listing for n in names), listing
    v.stop()

    res = knotball("history")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() and "history is empty" not in res.stdout, res.stdout
    png = tmp_path / "report.png"
    res = knotball("report", "--png", png)
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == PNG_MAGIC


def _ball_with_big_log(vball, big_log, tmp_path, *extra):
    local = tmp_path / BIG
    local.write_bytes(big_log)
    v = vball(*extra)  # no trace: no session of its own starts
    put_and_reset(v, {BIG: local})
    entry = on_ball(v)[BIG]
    assert entry["size"] == len(big_log) > 4 * 1024  # several 'D' frames
    return v


def _cut_after(monkeypatch, k, action):
    """Link.frame runs `action` once the k-th 'D' frame of the run has arrived."""
    real = Link.frame
    seen = [0]

    def frame(self, deadline):
        got = real(self, deadline)
        if got is not None and got[0] == framing.DATA:
            seen[0] += 1
            if seen[0] == k:
                action()
        return got

    monkeypatch.setattr(Link, "frame", frame)
    return seen


def test_a_cut_link_at_chunk_boundaries_loses_and_duplicates_nothing(
    vball, big_log, tmp_path, capsys, monkeypatch
):
    v = _ball_with_big_log(vball, big_log, tmp_path)
    crc = zlib.crc32(big_log)
    chunks = -(-len(big_log) // 1024)

    def cut():
        raise SerialException("device disconnected (the cable was pulled)")

    for k in (1, 2, chunks):  # first, middle, last frame: nothing stored yet
        with monkeypatch.context() as m:
            seen = _cut_after(m, k, cut)
            status, out, err = pull(capsys, "--port", v.port, "--json")
        assert seen[0] == k
        assert status == 1 and "run `knotball pull` again" in err, err
        assert "Traceback" not in err and out == ""
        assert on_ball(v)[BIG]["crc32"] == crc  # still there, unchanged
        assert stored() == []  # nothing half-added

    # cut after the history has it but before the ball deleted it
    with monkeypatch.context() as m:
        m.setattr(Link, "rm", lambda self, name, crc: cut())
        status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 1, err
    assert on_ball(v)[BIG]["crc32"] == crc
    assert [s["id"] for s in stored()] == [1] and stored()[0]["complete"]

    status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["pulled"] == 0 and result["deleted"] == 1  # already stored: just deleted
    assert BIG not in on_ball(v)
    assert [s["id"] for s in stored()] == [1]
    v.stop()


def test_a_ball_reset_mid_transfer_loses_nothing_and_the_next_pull_resumes(
    vball, big_log, tmp_path, capsys, monkeypatch
):
    # A USB-serial speed: between sessions the ball sends several chunks per poll, and at
    # pty speed the whole file could be on its way before the power goes.
    v = _ball_with_big_log(vball, big_log, tmp_path, "--baud", 115200)
    image = v.image
    with monkeypatch.context() as m:
        seen = _cut_after(m, 2, v.stop)  # power gone after the second chunk
        status, out, err = pull(capsys, "--port", v.port, "--json")
    assert seen[0] >= 2
    assert status == 1 and "Traceback" not in err, err
    assert stored() == []

    v = vball(image=image)  # powered again, same flash
    v.wait_app()
    names = [n for n in v.mpremote("fs", "ls", ":logs").split() if n.endswith(".kbl")]
    assert names == [BIG]  # nothing new, nothing lost
    copy = tmp_path / "copy.kbl"
    v.mpremote("fs", "cp", ":logs/" + BIG, copy)
    assert copy.read_bytes() == big_log  # intact
    res = knotball("inspect", copy)
    assert res.returncode == 0, res.stdout + res.stderr
    v.mpremote("reset", check=False)
    v.wait_app()

    status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["pulled"] == 1 and result["deleted"] == 1
    assert [s["id"] for s in stored()] == [1]
    assert BIG not in on_ball(v)
    v.stop()


def test_a_ball_without_knotball_firmware_is_named_exit_2(tmp_path, capsys):
    v = VirtualBall(tmp_path, tmp_path / "blank.img")  # MicroPython only: the REPL
    try:
        status, out, err = pull(capsys, "--port", v.port)
        assert status == 2 and "knotball firmware" in err, err
        res = knotball("live", "--port", v.port, "--plain", timeout=60)
        assert res.returncode == 2 and "knotball firmware" in res.stderr, res.stderr
        assert "Traceback" not in err + res.stderr
        v.stop()
    finally:
        v.kill()


def test_a_corrupt_log_is_named_and_leaves_the_ball_only_once_its_bytes_are_in_the_history(
    vball, big_log, tmp_path, capsys
):
    """Issue 15: damage travels to the host and is named; the file leaves the ball only
    after the history holds its exact bytes, and the intact copy of the session wins."""
    bad = bytearray(big_log)
    bad[len(bad) // 2] ^= 0xFF  # one byte flipped mid-session
    (tmp_path / "good.kbl").write_bytes(big_log)
    (tmp_path / "bad.kbl").write_bytes(bad)
    v = vball()
    put_and_reset(v, {"00000001.kbl": tmp_path / "good.kbl", "00000009.kbl": tmp_path / "bad.kbl"})
    status, out, err = pull(capsys, "--port", v.port)
    assert status != 0
    assert "00000009.kbl: damaged, at byte " in err and "CRC" in err, err
    assert "Traceback" not in err
    assert "1 session pulled, 2 files deleted" in out, out
    assert on_ball(v) == {}
    (s,) = stored()
    assert s["id"] == 1 and s["complete"] and not s["damage"]  # the intact copy
    kept = store.History().damaged_files(s["ball"])
    assert kept == [("00000009.kbl", zlib.crc32(bad), bytes(bad))]
    v.stop()


def test_thresholds_measured_on_the_ball_are_pulled_once_and_shown_in_the_history(
    vball, tmp_path, capsys
):
    """Issue 14: a threshold the ball measured by itself (a tNNNNNNN.kbt file on its flash)
    comes home with pull, leaves the ball, shows in the history's trend, and is stored once
    however often it is pulled: kept on the ball (--keep), or put back as when the `rm` was
    lost."""
    at = 1_796_464_800
    files = {
        threshold.file_name(1): threshold.pack(
            at, 77, 30, 30.5, 6.2, [(29.0, 1500), (31.5, 1800), (31.0, 1700)], "calves"
        ),
        threshold.file_name(2): threshold.pack(
            at + 86400, 78, 40, 33.0, 3.0, [(32.5, 1400), (33.5, 1600)], "calves"
        ),
    }
    local = {}
    for name, data in files.items():
        local[name] = tmp_path / name
        local[name].write_bytes(data)

    def on_ball_kbt():
        return sorted(f["name"] for f in v.files() if f["name"].endswith(".kbt"))

    v = vball()
    put_and_reset(v, local)
    status, out, err = pull(capsys, "--port", v.port, "--json", "--keep")
    assert status == 0, err
    result = json.loads(out)
    assert [m["level_n"] for m in result["thresholds"]] == [30.5, 33.0]
    assert result["deleted"] == 0 and on_ball_kbt() == sorted(files)

    status, out, err = pull(capsys, "--port", v.port)
    assert status == 0, err
    assert "0 thresholds stored, 2 files deleted from the ball" in out, out
    assert "already in the history" in out and on_ball_kbt() == []

    put_and_reset(v, local)  # the rm was lost: the same files again
    status, out, err = pull(capsys, "--port", v.port, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["thresholds"] == [] and result["deleted"] == 2 and on_ball_kbt() == []

    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    trend = json.loads(res.stdout)["thresholds"]["calves"]
    assert [(m["level_n"], m["peaks_n"]) for m in trend] == [
        (30.5, [29.0, 31.5, 31.0]),
        (33.0, [32.5, 33.5]),
    ]
    res = knotball("history")
    assert res.returncode == 0, res.stderr
    assert "calves: 30.5 N → 33.0 N (+2.5 N, +8 %)" in res.stdout, res.stdout
    v.stop()


def test_a_virtual_session_is_the_one_its_trace_gives_in_the_sim(vball, tmp_path):
    """The virtual ball samples on its own clock, one period after another: the same trace
    gives the same session as `knotball sim` (every 10 Hz trace sample, holds, summary),
    however busy the computer is, so a virtual run can be reproduced from its trace."""
    from ball import config, sim

    trace = "host_tools/knotball/data/demo_session.csv"
    v = vball("--trace", trace, "--speed", 20)
    (entry,) = v.wait_finished(1, timeout=60)
    (ball,), damage = logfile.parse(v.get(entry["name"]))
    v.stop()
    (tmp_path / "sim").mkdir()
    sim.run(trace, config.validate(CFG), lambda line: None, str(tmp_path / "sim"))
    (ref,), _ = logfile.parse((tmp_path / "sim" / "00000001.kbl").read_bytes())
    assert damage is None and ball["trace"] == ref["trace"]
    for key in ("duration_ms", "band_ms", "holds", "peak_n", "cues", "stop_reason"):
        assert ball[key] == ref[key], key
