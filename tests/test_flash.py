"""`knotball flash` against a real virtual ball: full deploy, skip-unchanged re-flash, a changed
config, refusals before the ball is touched, and the esptool command for --micropython."""

import json
import re
import subprocess
import sys
import time

import pytest
from test_virtual import Virtual

from knotball.commands import flash
from knotball.runtime import UsageError
from knotball.transport.link import Link


def knotball(*args):
    return subprocess.run(
        [sys.executable, "-m", "knotball"] + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def summary(res):
    m = re.search(r"flash: (\d+) changed, (\d+) unchanged", res.stdout)
    assert m, res.stdout + res.stderr
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def ball(tmp_path):
    v = Virtual(tmp_path, tmp_path / "flash.img")
    yield v
    if v.proc.poll() is None:
        v.proc.kill()
        v.proc.wait()


def test_flash_deploys_skips_unchanged_and_uploads_only_a_changed_config(ball, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"session_limit_s": 30}))
    res = knotball("flash", "--port", ball.port, "--board", "sim", "--config", cfg, "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    changed, unchanged = summary(res)
    assert changed > 15 and unchanged == 0
    # the app runs after the reset, and answers the console
    with Link(ball.port, timeout=3) as link:
        hello = link.hello()
        assert hello["proto"] == 2 and "unix" in hello  # the clock was set
        assert link.cfg()["session_limit_s"] == 30

    listing = ball.mpremote("fs", "ls", ":", "+", "fs", "ls", ":ball")
    for name in ("boot.py", "main.py", "board.json", "config.json", "page.html.gz", "session.mpy"):
        assert name in listing
    assert "session.py" not in listing  # precompiled

    res = knotball("flash", "--port", ball.port, "--board", "sim", "--config", cfg, "--quiet")
    assert res.returncode == 0, res.stderr
    assert summary(res) == (0, changed)

    cfg.write_text(json.dumps({"session_limit_s": 40}))
    res = knotball("flash", "--port", ball.port, "--config", cfg, "--quiet")  # board kept
    assert res.returncode == 0, res.stderr
    assert summary(res) == (1, changed - 1)
    manifest = json.loads(ball.mpremote("fs", "cat", ":.knotball-manifest.json"))
    assert set(manifest["files"]) >= {"/config.json", "/board.json", "/ball/session.mpy"}
    assert "/page.html.gz" in manifest["files"]  # the page was skipped as unchanged
    assert json.loads(ball.mpremote("fs", "cat", ":config.json"))["session_limit_s"] == 40

    # a stray source file that would shadow the compiled one is removed
    stray = tmp_path / "session.py"
    stray.write_text("raise ImportError\n")
    ball.mpremote("fs", "cp", stray, ":ball/session.py")
    res = knotball("flash", "--port", ball.port, "--quiet")
    assert res.returncode == 0, res.stderr
    assert "1 removed" in res.stdout
    assert "session.py" not in ball.mpremote("fs", "ls", ":ball")
    ball.stop()


def test_refusals_leave_the_ball_untouched(ball, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"session_limit_s": 30}))
    res = knotball("flash", "--port", ball.port, "--config", cfg)  # blank ball, no --board
    assert res.returncode == 2
    assert "give --board NAME" in res.stderr and "sim" in res.stderr
    res = knotball("flash", "--port", ball.port, "--board", "sim", "--config", cfg, "--quiet")
    assert res.returncode == 0, res.stderr
    before = ball.mpremote("fs", "cat", ":.knotball-manifest.json")

    cfg.write_text(json.dumps({"session_limit_s": 999}))
    res = knotball("flash", "--port", ball.port, "--config", cfg)
    assert res.returncode == 2
    assert "360" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = knotball("flash", "--port", ball.port, "--board", "no-such-board")
    assert res.returncode == 2
    assert "esp32-devkitc" in res.stderr and "sim" in res.stderr
    assert ball.mpremote("fs", "cat", ":.knotball-manifest.json") == before
    ball.stop()


def test_no_ball_is_one_clear_line(tmp_path):
    res = knotball("flash", "--port", tmp_path / "nothing", "--board", "sim")
    assert res.returncode == 1
    assert res.stderr.startswith("knotball flash: --port ")
    assert "no such port" in res.stderr
    assert "Traceback" not in res.stderr


def test_micropython_image_command():
    argv = flash.esptool_argv(flash.load_board("esp32-devkitc"), "/dev/ttyUSB0", "mp.bin")
    assert argv[1:] == [
        "-m", "esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "write_flash", "0x1000",
        "mp.bin",
    ]  # fmt: skip
    argv = flash.esptool_argv(flash.load_board("xiao-esp32s3"), "/dev/ttyACM0", "mp.bin")
    assert argv[argv.index("--chip") + 1] == "esp32s3"
    assert argv[argv.index("write_flash") + 1] == "0x0"
    with pytest.raises(UsageError, match="ESP32 boards"):
        flash.esptool_argv(flash.load_board("sim"), "/dev/pts/3", "mp.bin")
    res = knotball("flash", "--board", "sim", "--micropython", __file__, "--port", "/dev/null")
    assert res.returncode == 2 and "virtual ball" in res.stderr


def test_a_reflash_is_fast(ball, tmp_path):
    res = knotball("flash", "--port", ball.port, "--board", "sim", "--quiet")
    assert res.returncode == 0, res.stderr
    t0 = time.monotonic()
    res = knotball("flash", "--port", ball.port, "--board", "sim", "--quiet")
    assert summary(res)[0] == 0
    assert time.monotonic() - t0 < 10
    ball.stop()
