"""A ball on a pty for the console, pull and live tests: the firmware's real App on the
MicroPython unix port (tests/mp/consoleball.py), its stdin/stdout on a pty, and a relay
thread copying bytes to a second pty whose path pyserial opens, as the virtual ball will.

The ball's pty is raw (bytes pass unchanged, no \\n -> \\r\\n) but keeps ISIG, so a 0x03
from the host raises SIGINT -> KeyboardInterrupt, as Ctrl-C does on the unix port. The host
cannot open the ball's own pty slave (it would talk to itself), hence the relay. The relay
can also cut the link: with `cut_on_get = N` it passes only N more bytes from the ball once
the host has sent a `KB get`, and drops the rest, as a pulled cable would; with
`slow_on_get = B` it passes the ball's bytes at B a second from then on, as a link slower
than any the host waits for would.
"""

import contextlib
import json
import os
import select
import subprocess
import threading
import time
import tty

from conftest import TESTS
from knotball.runtime import FIRMWARE_ROOT, micropython_exe
from knotball.transport.link import Link
from knotball.virtual.pty_ball import controlling_tty, raw_pty

CFG = {
    "session_limit_s": 3,
    "idle_stop_s": 2,
    "warn_before_s": 1,
    "hold_min_s": 1,
    "hold_max_s": 2,
}


class Ball:
    def __init__(self, tmp_path, blob=True, ball_id="", files=None):
        self.logdir = tmp_path / "logs"
        self.logdir.mkdir()
        for name, data in (files or {}).items():  # already on the ball's flash at power-on
            (self.logdir / name).write_bytes(data)
        if blob:
            self.blob = os.urandom(5000)  # several 'D' frames' worth
            (self.logdir / "blob.bin").write_bytes(self.blob)
        self.cfg_path = tmp_path / "config.json"
        self.cfg_path.write_text(json.dumps(CFG))
        trace = tmp_path / "trace.csv"
        # 30 N (medium) from 0.2 s to 5 s: the session starts and stops at its 3 s limit.
        trace.write_text("t_ms,force_n\n0,0\n200,30\n5000,30\n5100,0\n")
        self.ball_m, ball_s = os.openpty()
        raw_pty(ball_s, isig=True)
        self.host_m, self.host_s = os.openpty()
        tty.setraw(self.host_s)
        self.port = os.ttyname(self.host_s)
        env = dict(os.environ, MICROPYPATH=str(FIRMWARE_ROOT))
        self.stderr = open(tmp_path / "stderr.txt", "wb")
        self.proc = subprocess.Popen(
            [micropython_exe(), str(TESTS / "mp" / "consoleball.py"), trace, self.cfg_path]
            + [self.logdir]
            + ([ball_id] if ball_id else []),
            stdin=ball_s,
            stdout=ball_s,
            stderr=self.stderr,
            env=env,
            start_new_session=True,
            preexec_fn=controlling_tty,
        )
        os.close(ball_s)
        self.running = True
        self.cut_on_get = None
        self._budget = None  # bytes still passed from the ball once cut; None: no cut
        self.slow_on_get = None
        self._pace = None  # seconds a byte from the ball once slowed; None: full speed
        self.relay = threading.Thread(target=self._relay, daemon=True)
        self.relay.start()
        self.link = Link(self.port, timeout=5)

    def _relay(self):
        pair = {self.ball_m: self.host_m, self.host_m: self.ball_m}
        while self.running:
            ready, _, _ = select.select(list(pair), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the ball exited: its pty is gone
                    data = b""
                if not data:
                    if fd == self.ball_m:
                        return
                    continue
                if fd == self.host_m and b"KB get" in data:
                    if self.cut_on_get is not None:
                        self._budget = self.cut_on_get
                    if self.slow_on_get:
                        self._pace = 1 / self.slow_on_get
                if fd == self.ball_m and self._budget is not None:
                    data, self._budget = data[: self._budget], max(self._budget - len(data), 0)
                    if self.cut_on_get is None:
                        self._budget = None  # the cable is back
                if data and fd == self.ball_m and self._pace:
                    self._trickle(data)
                elif data:
                    os.write(pair[fd], data)

    def _trickle(self, data):
        for i in range(len(data)):
            if not self.running:
                return
            os.write(self.host_m, data[i : i + 1])
            time.sleep(self._pace)

    def mend(self):
        """Undo cut_on_get: the bytes lost stay lost, new ones pass again."""
        self.cut_on_get = None
        self._budget = None

    def wait_text(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.link.text:
            assert time.monotonic() < deadline, "no {!r} in {!r}".format(text, self.link.text)
            self.link.frame(time.monotonic() + 0.1)

    def wait_finished(self, name="00000001.kbl", timeout=15):
        """Until the ball lists `name` as a finished (not active) file."""
        deadline = time.monotonic() + timeout
        while True:
            files = {f["name"]: f for f in self.link.ls()}
            if name in files and not files[name]["active"]:
                return files
            assert time.monotonic() < deadline, files
            time.sleep(0.1)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.running = False
        self.relay.join(2)
        self.link.close()
        for fd in (self.ball_m, self.host_m, self.host_s):
            os.close(fd)
        self.stderr.close()


@contextlib.contextmanager
def pty_far_end(far_end):
    """A raw pty whose far end runs far_end(master fd, done) on a thread until the test is
    done (the threading.Event `done` is set). Yields the port's path."""
    master, slave = os.openpty()
    tty.setraw(slave)
    done = threading.Event()
    t = threading.Thread(target=far_end, args=(master, done), daemon=True)
    t.start()
    try:
        yield os.ttyname(slave)
    finally:
        done.set()
        t.join(5)
        os.close(master)
        os.close(slave)


def answering_pty(reply_for):
    """A raw pty whose far end answers what a command writes: reply_for(bytes read) ->
    bytes to write back, or None. Yields the port's path; a stand-in for a device that is
    not a knotball (a REPL, old firmware)."""

    def answer(master, done):
        while not done.is_set():
            if select.select([master], [], [], 0.05)[0]:
                reply = reply_for(os.read(master, 1024))
                if reply:
                    os.write(master, reply)

    return pty_far_end(answer)
