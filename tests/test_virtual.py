"""`knotball virtual` end to end: the command in a subprocess, stock mpremote against its
port, the flash image kept across restarts, and the real firmware running on it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import serial
from vball_fixture import VirtualBall, deploy_firmware

from conftest import FIRMWARE_ROOT
from knotball.runtime import compiled_firmware

HARDWARE = FIRMWARE_ROOT.parent / "hardware" / "boards"
MPREMOTE = [sys.executable, "-m", "mpremote"]


class Virtual(VirtualBall):
    """The shared fixture's virtual ball, whose stop() also insists on a clean exit."""

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, err
        assert not self.port_file.exists()  # the port is gone with the ball


@pytest.fixture
def virtual(tmp_path):
    started = []

    def start(*extra, image=None):
        v = Virtual(tmp_path, image or tmp_path / "flash.img", *extra)
        started.append(v)
        return v

    yield start
    for v in started:
        if v.proc.poll() is None:
            v.proc.kill()
            v.proc.wait()


def test_mpremote_runs_code_on_a_blank_ball(virtual):
    v = virtual()
    assert v.mpremote("exec", "print(1+1)").strip() == "2"
    # soft reset included: the REPL's globals are gone after it
    out = v.mpremote("exec", "x = 5", "+", "soft-reset", "+", "exec", "print('x' in globals())")
    assert out.split() == ["False"]
    v.stop()


def test_files_survive_a_restart_of_the_virtual_ball(virtual, tmp_path):
    local = tmp_path / "local.txt"
    local.write_text("kept across restarts\n")
    v = virtual()
    v.mpremote("fs", "cp", local, ":x.txt")
    assert v.mpremote("fs", "cat", ":x.txt") == "kept across restarts\n"
    v.stop()
    v = virtual()
    assert v.mpremote("fs", "cat", ":x.txt") == "kept across restarts\n"
    v.stop()


def test_friendly_repl_answers_and_ctrl_c_interrupts(virtual):
    v = virtual()
    with serial.Serial(v.port, timeout=5) as s:
        s.write(b"6*7\r")
        assert s.read_until(b"42\r\n").endswith(b"6*7\r\n42\r\n")  # print() as on a UART
        # A board's traceback: the code's frames only (none of the ROM's, nor its host path)
        tb = b'Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n'
        s.write(b"1/0\r")
        assert s.read_until(b"zero\r\n").endswith(
            b"1/0\r\n" + tb + b"ZeroDivisionError: divide by zero\r\n"
        )
        s.write(b"while True: pass\r")
        time.sleep(0.2)
        s.write(b"\x03")
        assert s.read_until(b"KeyboardInterrupt").endswith(b"KeyboardInterrupt")
        s.write(b"\x04")  # Ctrl-D: soft reset, as on a board
        assert s.read_until(b"soft reboot\r\n").endswith(b"MPY: soft reboot\r\n")
    v.stop()


def test_ctrl_c_in_a_session_stops_the_app_with_motor_and_led_off(virtual, tmp_path):
    """The ROM takes Ctrl-C as a byte at its prompts, but as an interrupt in the app."""
    image = deploy_firmware(tmp_path, tmp_path / "flash.img", {"session_limit_s": 60})
    trace = tmp_path / "trace.csv"
    trace.write_text("t_ms,force_n\n0,30\n60000,30\n")  # pressed from the start
    v = virtual("--trace", trace, image=image)
    deadline = time.monotonic() + 20
    while v.wait_app()["session"] != "active":
        assert time.monotonic() < deadline, "no session started"
        time.sleep(0.2)
    with serial.Serial(v.port, timeout=5) as s:
        s.write(b"\x03")
        assert s.read_until(b"REPL is yours").endswith(b"REPL is yours")
        assert s.read_until(b">>> ").endswith(b">>> ")
        s.write(b"import vboard; vboard.last.rgb, vboard.last.duty\r")
        assert s.read_until(b">>> ").endswith(b"\r\n((0, 0, 0), 0)\r\n>>> ")
    v.stop()


def test_firmware_on_the_image_runs_and_logs_the_trace(virtual, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"session_limit_s": 3, "idle_stop_s": 2, "warn_before_s": 1}))
    trace = tmp_path / "trace.csv"
    trace.write_text("t_ms,force_n\n0,0\n200,30\n5000,30\n5100,0\n")
    v = virtual()
    v.mpremote(
        "fs", "cp", "-r", compiled_firmware() / "ball", ":", "+",
        "fs", "cp", FIRMWARE_ROOT / "boot.py", ":boot.py", "+",
        "fs", "cp", FIRMWARE_ROOT / "main.py", ":main.py", "+",
        "fs", "cp", HARDWARE / "sim.json", ":board.json", "+",
        "fs", "cp", cfg, ":config.json",
    )  # fmt: skip
    v.stop()
    v = virtual("--trace", trace, "--speed", 10)  # power on: boot.py, then main.py
    deadline = time.monotonic() + 20
    while True:
        time.sleep(1)
        listing = v.mpremote("fs", "ls", ":logs")  # Ctrl-C stops the app: that is fine
        if ".kbl" in listing:
            break
        assert time.monotonic() < deadline, listing
        v.mpremote("exec", "import machine; machine.reset()")  # run the app again
    v.stop()


def test_a_bad_trace_is_refused_before_starting(tmp_path):
    trace = tmp_path / "bad.csv"
    trace.write_text("t_ms,force_n\n0,zero\n")
    res = subprocess.run(
        [sys.executable, "-m", "knotball", "virtual", "--trace", trace]
        + ["--flash", tmp_path / "f.img"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 2
    assert "line 2" in res.stderr


def test_a_ball_held_up_past_a_sample_period_counts_an_overrun_and_says_so_on_stopping(
    tmp_path,
):
    """Where a ball's loop would count an overrun, the virtual ball (whose clock runs on its
    sleeps) falls behind real time: counted, and said once as it stops, never mid-run."""
    image = deploy_firmware(tmp_path, tmp_path / "flash.img", {})
    v = VirtualBall(tmp_path, image)
    try:
        v.wait_app()
        rom = v.rom_pid()
        os.kill(rom, signal.SIGSTOP)  # a computer too busy for the ball, for 0.3 s
        time.sleep(0.3)
        os.kill(rom, signal.SIGCONT)
        v.wait_app()
        v.proc.send_signal(signal.SIGTERM)
        _, err = v.proc.communicate(timeout=15)
    finally:
        v.kill()
    err = err.decode()
    said = [line for line in err.splitlines() if "loop overruns" in line]
    assert len(said) == 1 and int(said[0].split()[4]) >= 1, err
    assert "vball:" not in err  # the ROM's own notes stay between it and the host
