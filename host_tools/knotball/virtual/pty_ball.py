"""A ball without hardware (DESIGN.md contract 4), as `knotball virtual` runs it.

The MicroPython unix port runs the virtual ball's ROM (vball/rom.py): the root filesystem is
a littlefs2 image file (`--flash`, kept across restarts), boot.py and main.py run from it as
on a real board, and the REPL speaks what stock mpremote needs (raw REPL, soft reset). Its
stdin/stdout are a raw pty on which the ROM turns ISIG on while code runs, so Ctrl-C
interrupts the app as on a board and is a plain byte at the prompts; a relay copies bytes
between that pty and a second one whose path users connect to (written to `--port-file`),
throttled to `--baud` when given.
"""

import os
import select
import subprocess
import sys
import termios
import threading
import time
import tty
from pathlib import Path

from knotball.runtime import micropython_exe

VBALL_DIR = Path(__file__).resolve().parent / "vball"
BLOCK = 4096
DEFAULT_BLOCKS = 512  # 2 MiB: the filesystem partition of a 4 MiB ESP32 board


MIN_BLOCKS = 16  # littlefs needs a few blocks; a smaller file is something else
ID_TAIL = 12  # the image's own id after its last block (vball/rom.py FileFlash.ball_id)


def image_problem(path):
    """Why `path` cannot be a virtual ball's flash image (the ball would format an image it
    cannot mount), or None: a missing file is made, an image made here is used."""
    path = Path(path)
    if not path.exists():
        return None if path.parent.is_dir() else "{} does not exist".format(path.parent)
    if not path.is_file():
        return "not a file"
    size = path.stat().st_size
    if size % BLOCK not in (0, ID_TAIL) or size // BLOCK < MIN_BLOCKS:
        return (
            "not a virtual ball's flash image (a littlefs2 image of {}-byte blocks that "
            "`knotball virtual` makes); give a new file name to make one".format(BLOCK)
        )
    return None


def raw_pty(fd, isig=False):
    """Bytes pass unchanged; with ISIG (the ROM turns it on while code runs) 0x03 raises
    SIGINT in the ball, as Ctrl-C does on USB, and no other byte does (no quit or suspend
    character). NOFLSH: the bytes mpremote sends right after its Ctrl-C must not be lost."""
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] |= termios.NOFLSH | (termios.ISIG if isig else 0)
    attrs[6][termios.VQUIT] = 0
    attrs[6][termios.VSUSP] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def controlling_tty():
    import fcntl

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class VirtualBall:
    def __init__(
        self, image, trace=None, speed=1.0, baud=None, press=None, keys=None, http_port=None
    ):
        """`press`: a press script (vball/press.py); `keys`: a file whose number is the
        force of the arrow keys (knotball.virtual.keys writes it); `http_port`: serve the
        live page on 127.0.0.1 there."""
        self.image = Path(image)
        self.image.parent.mkdir(parents=True, exist_ok=True)
        blocks = self.image.stat().st_size // BLOCK if self.image.exists() else DEFAULT_BLOCKS
        self.ball_m, ball_s = os.openpty()
        raw_pty(ball_s)
        self.host_m, self.host_s = os.openpty()
        tty.setraw(self.host_s)
        os.set_blocking(self.host_m, False)  # nobody connected and the buffer full: drop
        self.port = os.ttyname(self.host_s)
        self.byte_s = 10.0 / baud if baud else 0.0
        self.ready = threading.Event()
        self.http = None  # (port, token) once the ball serves its live page
        self.overruns = 0  # times the ball fell more than a sample behind real time x speed
        self.running = True
        args = [str(VBALL_DIR), str(self.image), str(blocks), trace or "-", repr(speed)]
        args += [str(press or "-"), str(keys or "-"), "-" if http_port is None else str(http_port)]
        args.append(str(termios.ISIG))
        self.proc = subprocess.Popen(
            [micropython_exe(), str(VBALL_DIR / "rom.py")] + args,
            stdin=ball_s,
            stdout=ball_s,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=controlling_tty,
        )
        os.close(ball_s)
        self.threads = [
            threading.Thread(target=self._relay, daemon=True),
            threading.Thread(target=self._stderr, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _stderr(self):
        """The ROM says when the image is mounted, where its page is and when it fell behind
        (counted); anything else it prints goes to ours."""
        for line in self.proc.stderr:
            if line.strip() == b"vball: ready":
                self.ready.set()
            elif line.startswith(b"vball: http "):
                port, token = line.split()[2:4]
                self.http = (int(port), token.decode())
            elif line.startswith(b"vball: overrun "):
                self.overruns += 1
            else:
                sys.stderr.buffer.write(line)
                sys.stderr.flush()

    def _relay(self):
        pair = {self.ball_m: self.host_m, self.host_m: self.ball_m}
        while self.running:
            ready, _, _ = select.select(list(pair), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 64 if self.byte_s else 4096)
                except OSError:
                    data = b""
                if not data:
                    if fd == self.ball_m:
                        return  # the ball's side closed: it has stopped
                    time.sleep(0.01)  # the user's side: nobody connected, try again
                    continue
                try:
                    os.write(pair[fd], data)
                except BlockingIOError:
                    pass  # no reader on the user's port: output is lost, as on USB
                if self.byte_s:
                    time.sleep(len(data) * self.byte_s)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def close(self):
        self.running = False
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self.threads:
            t.join(2)
        for fd in (self.ball_m, self.host_m, self.host_s):
            os.close(fd)
