"""A hand on the virtual ball from its terminal: up and down press harder or softer by
STEP_N, space lets go. `knotball virtual` does this when its stdin is a terminal it has in
the foreground (never in the background, where touching the terminal would stop it).

The force goes to a small file the ball reads at every sample (vball/vboard.py), always
written whole at the same place and width, so the ball never reads half a number.
"""

import os
import select
import sys
import time

STEP_N = 2.0
MAX_N = 500.0
HELP = "keys: up/down press harder/softer by {:g} N, space lets go".format(STEP_N)
_UP = (b"\x1b[A", b"\x1bOA")
_DOWN = (b"\x1b[B", b"\x1bOB")


def apply(force, data):
    """The force after the keys in `data` (bytes as a terminal sends them)."""
    i = 0
    while i < len(data):
        if data[i : i + 3] in _UP:
            force, i = min(MAX_N, force + STEP_N), i + 3
        elif data[i : i + 3] in _DOWN:
            force, i = max(0.0, force - STEP_N), i + 3
        else:
            if data[i : i + 1] == b" ":
                force = 0.0
            i += 1
    return force


def write(fd, force):
    os.pwrite(fd, "{:8.2f}\n".format(force).encode(), 0)


def in_foreground(stream):
    try:
        fd = stream.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (AttributeError, OSError, ValueError):
        return False


class Hand:
    """The keys file (made at once: the ball opens it as it starts; removed by close()) and,
    within `with`, the terminal in cbreak mode (restored on exit)."""

    def __init__(self, path, stream=sys.stdin, out=sys.stdout):
        self.path = path
        self.stream = stream
        self.out = out
        self.force = 0.0
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        write(self.fd, 0.0)
        self.saved = None

    def close(self):
        os.close(self.fd)
        os.unlink(self.path)

    def __enter__(self):
        import termios
        import tty

        self.saved = termios.tcgetattr(self.stream.fileno())
        tty.setcbreak(self.stream.fileno())
        print(HELP, file=self.out, flush=True)
        return self

    def __exit__(self, *exc):
        import termios

        termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self.saved)
        print(file=self.out, flush=True)

    def wait(self, timeout):
        """Up to `timeout` seconds for keys; applies them and shows the force."""
        fd = self.stream.fileno()
        if not select.select([fd], [], [], timeout)[0]:
            return
        data = os.read(fd, 64)
        if not data:  # the terminal is gone: no more keys
            time.sleep(timeout)
            return
        force = apply(self.force, data)
        if force != self.force:
            self.force = force
            write(self.fd, force)
            print("\rpressing {:5.1f} N ".format(force), end="", file=self.out, flush=True)
