"""`knotball virtual`: a ball without hardware on a pty (DESIGN.md contract 4); the ball
itself is knotball.virtual.pty_ball."""

import signal
import sys
import time
from pathlib import Path

from knotball.history import store
from knotball.runtime import UsageError
from knotball.virtual import registry
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


def run(args):
    if args.speed <= 0:
        raise UsageError("--speed must be above 0")
    if args.baud is not None and args.baud < 300:
        raise UsageError("--baud must be at least 300")
    if args.trace:
        check_trace(args.trace)
    if args.flash == str(default_image()):
        Path(args.flash).parent.mkdir(parents=True, exist_ok=True)
    problem = image_problem(args.flash)
    if problem:
        raise UsageError("--flash {}: {}".format(args.flash, problem))
    ball = VirtualBall(args.flash, args.trace, args.speed, args.baud)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    port_file = Path(args.port_file) if args.port_file else None
    entry = None
    try:
        if not ball.wait_ready():
            print("knotball virtual: the virtual ball did not start", file=sys.stderr)
            return 1
        entry = registry.register(ball.port, args.flash)  # before the port file: ready means found
        if port_file:
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(ball.port + "\n")
            tmp.replace(port_file)  # readers never see a half-written path
        print("virtual ball on {} (flash image {}); Ctrl-C stops it".format(ball.port, args.flash))
        print("knotball commands find it without --port while it is the only ball; to name it:")
        print("  export KNOTBALL_PORT={}".format(ball.port))
        sys.stdout.flush()
        while ball.proc.poll() is None:
            time.sleep(0.2)
        print("knotball virtual: the ball stopped (status {})".format(ball.proc.returncode))
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        ball.close()
        if entry:
            entry.unlink(missing_ok=True)
        if port_file:
            port_file.unlink(missing_ok=True)
