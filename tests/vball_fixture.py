"""The virtual ball (`knotball virtual`) for end-to-end tests: a subprocess whose port is read
from --port-file, the firmware put on its flash image with stock mpremote (compiled .mpy
ball/, boot.py, main.py, hardware/boards/sim.json as /board.json, a config), and waits that
poll the ball rather than sleep.

    image = deploy_firmware(tmp / "flash.img", {"session_limit_s": 10})
    v = VirtualBall(tmp, image, "--trace", trace, "--speed", 10)
    v.wait_finished()          # a finished session log, asked over the knotball console
    ...
    v.stop()
"""

import json
import signal
import subprocess
import sys
import time

from conftest import FIRMWARE_ROOT
from knotball.commands.flash import page_gz
from knotball.runtime import compiled_firmware
from knotball.transport.link import Link, LinkError

HARDWARE = FIRMWARE_ROOT.parent / "hardware" / "boards"
MPREMOTE = [sys.executable, "-m", "mpremote"]


class VirtualBall:
    """`knotball virtual` running until stop() or kill(); its port read from --port-file."""

    def __init__(self, tmp, image, *extra, timeout=20):
        self.image = image
        self.port_file = tmp / "port.txt"
        self.port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "knotball", "virtual", "--flash", str(image)]
            + ["--port-file", str(self.port_file)]
            + [str(a) for a in extra],
            stdin=subprocess.DEVNULL,  # never the terminal running the tests (no keys)
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "no port file"
            time.sleep(0.05)
        self.port = self.port_file.read_text().strip()

    def mpremote(self, *args, check=True):
        res = subprocess.run(
            MPREMOTE + ["connect", self.port] + [str(a) for a in args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    def link(self, timeout=3.0):
        return Link(self.port, timeout=timeout)

    def files(self):
        """The ball's log files as `KB ls` lists them (the app keeps running)."""
        with self.link() as link:
            return link.ls()

    def wait_app(self, timeout=20):
        """Until the knotball firmware answers `KB hello` (after a boot or a reset)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.link(timeout=1) as link:
                    return link.hello()
            except LinkError:
                assert time.monotonic() < deadline, "the firmware does not answer"
                time.sleep(0.2)

    def wait_finished(self, n=1, timeout=30):
        """Until the ball holds at least n finished session logs; returns `KB ls` entries."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                done = [f for f in self.files() if f["name"].endswith(".kbl") and not f["active"]]
            except LinkError:
                done = []  # still booting
            if len(done) >= n:
                return done
            assert time.monotonic() < deadline, "no finished session on the ball"
            time.sleep(0.2)

    def get(self, name):
        """A file's bytes over the knotball console (CRC-checked)."""
        with self.link() as link:
            (entry,) = [f for f in link.ls() if f["name"] == name]
            return link.get(name, entry["size"], entry["crc32"])

    def rom_pid(self):
        """The pid of the MicroPython process running the ball (to stall it: SIGSTOP)."""
        pid = self.proc.pid
        with open("/proc/{}/task/{}/children".format(pid, pid)) as f:
            (child,) = [int(c) for c in f.read().split()]
        return child

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=15)
        assert not self.port_file.exists()  # the port is gone with the ball

    def kill(self):
        """Make sure it is gone (cleanup): SIGTERM first, so the MicroPython child goes too."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


def deploy_firmware(tmp, image, cfg, board="sim"):
    """Put the firmware, hardware/boards/BOARD.json (or `board`, a profile dict) and `cfg`
    on a new flash image with stock mpremote; returns image."""
    if isinstance(board, dict):
        profile = tmp / "board.json"
        profile.write_text(json.dumps(board))
    else:
        profile = HARDWARE / (board + ".json")
    cfg_path = tmp / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    page = tmp / "page.html.gz"
    page.write_bytes(page_gz())
    v = VirtualBall(tmp, image)
    try:
        v.mpremote(
            "fs", "cp", "-r", compiled_firmware() / "ball", ":", "+",
            "fs", "cp", FIRMWARE_ROOT / "boot.py", ":boot.py", "+",
            "fs", "cp", FIRMWARE_ROOT / "main.py", ":main.py", "+",
            "fs", "cp", profile, ":board.json", "+",
            "fs", "cp", cfg_path, ":config.json", "+",
            "fs", "cp", page, ":page.html.gz", "+",
            "fs", "mkdir", ":logs",
        )  # fmt: skip
        v.stop()
    finally:
        v.kill()
    return image


def put_and_reset(v, files):
    """Copy {remote_name: local_path} into the ball's /logs with stock mpremote, then reset it
    (mpremote stops the app) and wait until the firmware answers again."""
    args = []
    for name, local in files.items():
        args += ["fs", "cp", local, ":logs/" + name, "+"]
    v.mpremote(*args, "reset", check=False)  # the reset drops mpremote's link: no status
    v.wait_app()
    names = {f["name"] for f in v.files()}
    assert set(files) <= names, names


def sim_log(directory, minutes=5):
    """A real session log written by the firmware (ball.sim on CPython): rolling with holds,
    `minutes` long, several 'D' frames' worth (~4.7 KiB for five minutes)."""
    from ball import config, sim
    from knotball import traces

    directory.mkdir(parents=True, exist_ok=True)
    b = traces.TraceBuilder(seed=5).rest(1).ramp(0.5, 20)
    for level in (20, 28, 24, 32, 26, 30)[: max(1, minutes * 6 // 5)]:
        b = b.hold(10, level).roll(40, level, 8)
    b = b.ramp(0.5, 0).rest(1)
    trace = directory / "trace.csv"
    traces.write_csv(trace, b.build())
    cfg = config.validate({"session_limit_s": minutes * 60})
    sim.run(str(trace), cfg, lambda line: None, str(directory))
    return directory / "00000001.kbl"


def write_trace(path, rows):
    """A t_ms,force_n trace from (t_ms, force_n) pairs."""
    path.write_text("t_ms,force_n\n" + "".join("{},{}\n".format(t, f) for t, f in rows))
    return path
