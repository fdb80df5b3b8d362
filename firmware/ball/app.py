# The application: a fixed-rate loop wiring sensor -> signal path -> session -> feedback.
# The board provides the clock, the sensor and the outputs, so the same loop runs on an ESP32,
# on the MicroPython unix port and on CPython (with a virtual clock for replay).
try:
    from micropython import const
except ImportError:

    def const(x):  # type: ignore[misc]  # CPython stand-in: mypy wants the stub's signature
        return x


from ball.feedback import Feedback
from ball.session import ACTIVE, READY, STOP_ABORTED, Session
from ball.signal import SignalPath

PERIOD_MS = const(10)  # 100 Hz
# Session times are ms since the loop started; they are rebased while the ball waits so they
# stay small ints (31-bit on the ESP32: a long int would allocate) however long it runs.
_REBASE_MS = const(1 << 28)
# Flash steps wait until the band has been steady this long.
_CALM_MS = const(300)


class App:
    """Board interface: read_sensor() -> int counts; led(r, g, b); motor(duty 0..1000);
    off(); ticks_ms(); ticks_diff(a, b); ticks_add(t, ms); sleep_ms(ms)."""

    def __init__(self, board, cfg, listener=None, log=None):
        self.board = board
        self.cfg = cfg
        self.signal = SignalPath(cfg)
        self.session = Session(cfg)
        self.feedback = Feedback(board)
        # listener(now_ms, events) hears every non-empty event mask (console, log, sim).
        self.listener = listener
        self.log = log  # a log.SessionLog, or None
        self.now = 0
        self.overruns = 0

    def tick(self, now_ms):
        """One sample: read, filter, step the session, tell the listener, drive the outputs."""
        f = self.signal.step(self.board.read_sensor())
        ev = self.session.step(now_ms, f)
        if ev and self.listener is not None:
            self.listener(now_ms, ev)
        self.feedback.update(now_ms, ev, self.session)
        if self.log is not None:
            self.log.step(ev, self.session)
        return ev

    def run(self, stop=None):
        """Sample every PERIOD_MS until stop() is true (never, on a ball). Whatever ends the
        loop (a stop, an error, Ctrl-C), the motor and LED are off when this returns."""
        board = self.board
        last = board.ticks_ms()
        deadline = last
        try:
            while stop is None or not stop():
                t = board.ticks_ms()
                self.now += board.ticks_diff(t, last)
                last = t
                if self.now > _REBASE_MS and self.session.state == READY:
                    self.now = 0
                    self.session.rebase()
                self.tick(self.now)
                if self.log is not None and self.log.ops:
                    # Flash work after the outputs are set, one step per sample period, at
                    # a moment when a stall cannot delay a cue or a band change.
                    quiet = not self.feedback.playing()
                    calm = quiet and self.now - self.session.band_changed_ms >= _CALM_MS
                    idle = quiet and self.session.state != ACTIVE
                    self.log.service(idle, self.now, calm)
                deadline = board.ticks_add(deadline, PERIOD_MS)
                wait = board.ticks_diff(deadline, board.ticks_ms())
                if wait > 0:
                    board.sleep_ms(wait)
                elif wait < -PERIOD_MS:
                    # Fell behind by more than a sample: count it and resynchronise rather
                    # than bursting to catch up.
                    self.overruns += 1
                    deadline = board.ticks_ms()
        finally:
            self.shutdown()

    def shutdown(self):
        """Outputs off first, then close the session so it is recorded as aborted."""
        try:
            self.feedback.off()
        finally:
            self.board.off()
            ev = self.session.stop(self.now, STOP_ABORTED)
            if ev and self.listener is not None:
                self.listener(self.now, ev)
            if self.log is not None:
                self.log.step(ev, self.session)
                self.log.close()
