"""`knotball virtual`: a ball without hardware on a pty (DESIGN.md contract 4); the ball
itself is knotball.virtual.pty_ball."""

import contextlib
import fcntl
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from knotball.history import store
from knotball.runtime import UsageError
from knotball.virtual import keys, registry
from knotball.virtual.pty_ball import VirtualBall, image_problem


def add_arguments(p):
    p.add_argument("--trace", help="pressure trace (t_ms,force_n CSV) fed to the sensor")
    p.add_argument("--speed", type=float, default=1.0, help="run the ball X times faster")
    p.add_argument("--baud", type=int, help="throttle the link to N baud (10 bits a byte)")
    p.add_argument(
        "--flash",
        default=str(default_image()),
        help="the ball's littlefs2 flash image (created when missing; default %(default)s)",
    )
    p.add_argument("--port-file", help="write the ball's port path here once it is ready")
    p.add_argument(
        "--press",
        metavar="SCRIPT",
        help="a hand on the ball: `SECONDS NEWTONS` lines (straight between them; a last line "
        "`repeat` plays it again), replacing the trace while above 0 N",
    )
    p.add_argument(
        "--http-port",
        type=int,
        help="serve the live page on 127.0.0.1:N as a ball on Wi-Fi does (0: any free port)",
    )
    p.add_argument("--url-file", help="write the paired page's URL here once it answers")


def default_image():
    """Beside the history: in KNOTBALL_HOME when set, as the history is."""
    return store.default_path().parent / "virtual-ball.img"


def check_trace(path):
    """Refuse a bad trace up front, naming its line (the ball reads it without checking)."""
    from ball.signal import Calibration
    from ball.sim import TraceError, TraceSensor

    try:
        TraceSensor(path, Calibration(0, 1)).at(float("inf"))
    except TraceError as e:
        raise UsageError(str(e))


def check_press(path):
    """Refuse a bad press script up front, naming its line."""
    from knotball.virtual.vball.press import PressError, parse

    try:
        with open(path) as f:
            parse(f, path)
    except OSError as e:
        raise UsageError("--press {}: {}".format(path, e.strerror))
    except PressError as e:
        raise UsageError(str(e))


def free_port():
    """A port nobody listens on now (the ball's MicroPython cannot tell which port 0 got)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_page(ball, timeout=30):
    """The paired URL once the ball's page answers it with 200, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and ball.proc.poll() is None:
        if ball.http is not None:
            url = "http://127.0.0.1:{}/?k={}".format(*ball.http)
            try:
                with urllib.request.urlopen(url, timeout=2) as res:
                    if res.status == 200:
                        return url
            except OSError:
                pass  # not listening yet
        time.sleep(0.1)
    return None


def lock_image(image):
    """Hold IMAGE.lock (beside the image, kept there) for as long as this ball runs, so a
    second virtual ball never writes the same image: UsageError naming the image and the
    ball that has it. The lock goes with this process, however it ends."""
    path = Path(str(image) + ".lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UsageError("--flash {}: cannot make {} ({})".format(image, path, e.strerror))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise UsageError(
            "--flash {}: another virtual ball (pid {}) is using this image; stop it first, "
            "or give another image".format(image, holder)
        )
    os.ftruncate(fd, 0)
    os.write(fd, "{}\n".format(os.getpid()).encode())
    return fd


def write_atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # readers never see a half-written file


def run(args):
    if args.speed <= 0:
        raise UsageError("--speed must be above 0")
    if args.baud is not None and args.baud < 300:
        raise UsageError("--baud must be at least 300")
    if args.trace:
        check_trace(args.trace)
    if args.press:
        check_press(args.press)
    if args.flash == str(default_image()):
        Path(args.flash).parent.mkdir(parents=True, exist_ok=True)
    problem = image_problem(args.flash)
    if problem:
        raise UsageError("--flash {}: {}".format(args.flash, problem))
    lock = lock_image(args.flash)
    hand = None
    if keys.in_foreground(sys.stdin):
        registry.directory().mkdir(parents=True, exist_ok=True)
        hand = keys.Hand(registry.directory() / "virtual-{}.keys".format(os.getpid()))
    try:
        return _run(args, hand)
    finally:
        if hand:
            hand.close()
        os.close(lock)


def _run(args, hand):
    if args.url_file and args.http_port is None:
        raise UsageError("--url-file needs --http-port (0: any free port)")
    if args.http_port is not None and not 0 <= args.http_port <= 65535:
        raise UsageError("--http-port must be 0..65535")
    http_port = free_port() if args.http_port == 0 else args.http_port
    ball = VirtualBall(
        args.flash, args.trace, args.speed, args.baud, args.press, hand and hand.path, http_port
    )

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    port_file = Path(args.port_file) if args.port_file else None
    entry = None
    url_file = Path(args.url_file) if args.url_file else None
    try:
        if not ball.wait_ready():
            print("knotball virtual: the virtual ball did not start", file=sys.stderr)
            return 1
        entry = registry.register(ball.port, args.flash)  # before the port file: ready means found
        if port_file:
            write_atomic(port_file, ball.port + "\n")
        print("virtual ball on {} (flash image {}); Ctrl-C stops it".format(ball.port, args.flash))
        if http_port is not None:
            url = wait_page(ball)
            if url is None:
                print("knotball virtual: the live page did not answer", file=sys.stderr)
                return 1
            if url_file:
                write_atomic(url_file, url + "\n")
            print("live page on http://127.0.0.1:{}/ (paired URL in --url-file)".format(http_port))
        print("knotball commands find it without --port while it is the only ball; to name it:")
        print("  export KNOTBALL_PORT={}".format(ball.port))
        sys.stdout.flush()
        with hand or contextlib.nullcontext():
            while ball.proc.poll() is None:
                if hand:
                    hand.wait(0.2)  # and applies the keys typed meanwhile
                else:
                    time.sleep(0.2)
        print("knotball virtual: the ball stopped (status {})".format(ball.proc.returncode))
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        ball.close()
        if ball.overruns:  # the computer was too busy for this --speed
            print(
                "knotball virtual: loop overruns: {} (the ball fell more than a sample behind"
                " real time)".format(ball.overruns),
                file=sys.stderr,
            )
        if entry:
            entry.unlink(missing_ok=True)
        for f in (port_file, url_file):
            if f:
                f.unlink(missing_ok=True)
