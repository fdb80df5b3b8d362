# The sim board: the real firmware loop on a virtual clock, its sensor fed from a pressure
# trace, its outputs recorded as JSON lines (DESIGN.md contract 3). Runs on the MicroPython
# unix port and on CPython:  micropython -m ball.sim TRACE.csv [--config F] [--out DIR]
import gc
import sys

from ball import VERSION, VirtualClock, session
from ball.signal import Calibration
from ball.wire import BAND_NAMES, CUE_NAMES, STOP_REASONS

HEADER = "t_ms,force_n"


class TraceError(ValueError):
    def __init__(self, path, line, message):
        # line 0: about the file as a whole (it cannot be opened), not one of its lines
        where = "{}: line {}: ".format(path, line) if line else "{}: ".format(path)
        super().__init__(where + message)


class TraceSensor:
    """Reads a `t_ms,force_n` CSV one row at a time (never the whole file) and answers the
    raw counts a sensor would give at a time: the latest reading, turned into counts through
    the inverse calibration so the firmware's own calibration runs. No force after the end."""

    def __init__(self, path, cal):
        self.path = path
        self.cal = cal
        try:
            self.f = open(path)
        except OSError:
            raise TraceError(path, 0, "cannot open the trace file; check its name and path")
        self.lineno = 1
        head = self.f.readline()
        if not head:
            raise TraceError(path, 1, "the file is empty; expected the header " + HEADER)
        if head.strip().replace(" ", "") != HEADER:
            raise TraceError(
                path, 1, "expected the header {!r}, got {!r}".format(HEADER, head.strip())
            )
        self.counts = cal.to_counts(0.0)
        self.next_t = None
        self.next_n = 0.0
        self.last_t = None
        self.ended = False
        start = self._advance()
        if start is None:
            raise TraceError(path, 2, "no readings after the header")
        self.start_ms = start

    def _advance(self) -> float | None:
        """Read the next reading into next_t/next_n; return its time, or None at the end."""
        while True:
            line = self.f.readline()
            if not line:
                self.next_t = None
                self.f.close()
                return None
            self.lineno += 1
            line = line.strip()
            if line:
                break
        parts = line.split(",")
        if len(parts) != 2:
            raise TraceError(
                self.path, self.lineno, "expected 2 fields t_ms,force_n, got {}".format(len(parts))
            )
        try:
            t = float(parts[0])
        except ValueError:
            raise TraceError(self.path, self.lineno, "t_ms {!r} is not a number".format(parts[0]))
        try:
            n = float(parts[1])
        except ValueError:
            raise TraceError(
                self.path, self.lineno, "force_n {!r} is not a number".format(parts[1])
            )
        if t != t or n != n or n in (float("inf"), float("-inf")):
            raise TraceError(self.path, self.lineno, "not a finite number")
        if self.last_t is not None and t < self.last_t:
            raise TraceError(
                self.path, self.lineno, "t_ms goes backwards ({} after {})".format(t, self.last_t)
            )
        self.last_t = t
        self.next_t = t
        self.next_n = n
        return t

    def at(self, t_ms):
        """Raw counts at trace time t_ms."""
        while self.next_t is not None and self.next_t <= t_ms:
            self.counts = self.cal.to_counts(self.next_n)
            self._advance()
        if self.next_t is None and not self.ended and t_ms > self.last_t:
            self.ended = True
            self.counts = self.cal.to_counts(0.0)
        return self.counts


def _duty(d):
    return "{}.{:03d}".format(d // 1000, d % 1000)


def _newtons(mn):
    sign = "-" if mn < 0 else ""
    mn = -mn if mn < 0 else mn
    return "{}{}.{:03d}".format(sign, mn // 1000, mn % 1000)


class SimBoard(VirtualClock):
    """A board whose clock is virtual, whose sensor is a trace and whose outputs print."""

    def __init__(self, trace_path, cfg, write):
        self.trace = TraceSensor(trace_path, Calibration.from_config(cfg))
        self.t = 0  # virtual ms since the first reading
        self.write = write
        self.rgb = None
        self.duty = None

    def t_ms(self):
        return int(self.trace.start_ms) + self.t

    def read_sensor(self):
        return self.trace.at(self.t_ms())

    def led(self, r, g, b):
        # Record what the LED and motor actually do: only real changes.
        if self.rgb == (r, g, b):
            return
        self.rgb = (r, g, b)
        self.write('{{"t_ms":{},"event":"led","rgb":[{},{},{}]}}'.format(self.t_ms(), r, g, b))

    def motor(self, duty):
        if self.duty == duty:
            return
        self.duty = duty
        self.write('{{"t_ms":{},"event":"haptic","duty":{}}}'.format(self.t_ms(), _duty(duty)))

    def off(self):
        pass


def summary_json(t_ms, sess):
    bm = sess.band_ms
    cues = ",".join('"{}":{}'.format(n, sess.cue_counts[i]) for i, n in enumerate(CUE_NAMES))
    return (
        '{{"t_ms":{},"event":"summary","duration_ms":{},"band_ms":{{"light":{},"medium":{},'
        '"firm":{},"over":{}}},"peak_n":{},"mean_n":{},"holds":{},"longest_hold_ms":{},'
        '"too_hard_count":{},"cues":{{{}}},"stop_reason":"{}"}}'
    ).format(
        t_ms,
        sess.elapsed_ms,
        bm[1],
        bm[2],
        bm[3],
        bm[4],
        _newtons(sess.peak_mn),
        _newtons(sess.mean_mn()),
        sess.holds,
        sess.longest_hold_ms,
        sess.over_count,
        cues,
        STOP_REASONS[sess.stop_reason],
    )


def run(trace_path, cfg, write, out_dir=None):
    """Replay the trace through the firmware loop; write(str) receives each JSON line.
    With out_dir, the session log is written there exactly as the ball stores it."""
    # Loaded here, once main() has unloaded the config: the two at once were the run's
    # peak of heap.
    from ball.app import App

    board = SimBoard(trace_path, cfg, write)
    summaries: list[str] = []
    log = None
    if out_dir:
        from ball.log import SessionLog  # only when asked: its bytecode costs heap

        log = SessionLog(out_dir, cfg, VERSION)
    errors = [0]

    def listener(now_ms, ev):
        t = board.t_ms()
        sess = app.session
        if ev & session.EV_BAND:
            write('{{"t_ms":{},"event":"band","band":"{}"}}'.format(t, BAND_NAMES[sess.band]))
        if ev & session.EV_FAULT:
            write('{{"t_ms":{},"event":"fault","reason":"{}"}}'.format(t, app.fault_text))
        if ev & session.EV_FAULT_CLEAR:
            write('{{"t_ms":{},"event":"fault_cleared"}}'.format(t))
        if ev & session.EV_START:
            write('{{"t_ms":{},"event":"session_start"}}'.format(t))
        if ev & session.EV_STOP:
            reason = STOP_REASONS[sess.stop_reason]
            write('{{"t_ms":{},"event":"session_stop","reason":"{}"}}'.format(t, reason))
            summaries.append(summary_json(t, sess))
        bit = session.CUE_FIRST
        for name in CUE_NAMES:
            if ev & bit:
                write('{{"t_ms":{},"event":"cue","cue":"{}"}}'.format(t, name))
            bit <<= 1
        if log is not None and log.errors != errors[0]:
            errors[0] = log.errors
            write('{{"t_ms":{},"event":"log_error","message":"{}"}}'.format(t, log.error))

    gc.collect()  # what importing the app left: its heap for the app's long-lived objects
    app = App(board, cfg, listener, log)

    def stop():
        # After the trace: let a running session end (idle stop) and the last cue finish.
        return (
            board.trace.ended
            and app.session.state != session.ACTIVE
            and not app.feedback.playing()
        )

    app.run(stop)
    for line in summaries:
        write(line)
    if not summaries:
        write(
            '{{"t_ms":{},"event":"summary","duration_ms":0,"band_ms":{{"light":0,"medium":0,'
            '"firm":0,"over":0}},"peak_n":0.0,"stop_reason":"no_contact"}}'.format(board.t_ms())
        )
    return app


USAGE = "usage: micropython -m ball.sim TRACE.csv [--config CONFIG.json] [--out DIR]\n"


def main(argv):
    opts = {"--config": None, "--out": None}
    trace = None
    i = 0
    while i < len(argv):
        if argv[i] in opts and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        elif trace is None and not argv[i].startswith("--"):
            trace = argv[i]
            i += 1
        else:
            sys.stderr.write(USAGE)
            return 2
    if trace is None:
        sys.stderr.write(USAGE)
        return 2
    path = opts["--config"]
    from ball import config

    try:
        cfg = config.load(path) if path else dict(config.DEFAULTS)
    except OSError:
        sys.stderr.write("{}: cannot read the config file\n".format(path))
        return 2
    except config.ConfigError as e:
        sys.stderr.write("{}: {}\n".format(path, e))
        return 2
    # As on the ball: the config's code is needed once, at start; unloading it gives its
    # bytecode's heap (about 5 KiB) back to the session.
    del config
    sys.modules.pop("ball.config", None)
    if hasattr(sys.modules.get("ball"), "config"):
        delattr(sys.modules["ball"], "config")
    gc.collect()

    def write(line):
        sys.stdout.write(line)
        sys.stdout.write("\n")

    try:
        run(trace, cfg, write, opts["--out"])
    except TraceError as e:
        sys.stderr.write(str(e) + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
