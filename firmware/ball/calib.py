# What the host's `knotball calibrate` needs from the app, loaded only when the console asks
# for it (its bytecode costs heap that a ball nobody calibrates keeps for its sessions):
# calibration mode, and a saved config applied to the running app.
from ball import const
from ball.signal import SignalPath

# Calibration mode lapses this long after the host's last renewal, so a host that crashed
# never leaves the ball unusable.
CALIB_LAPSE_MS = const(10000)
BUZZ_MAX_MS = const(500)  # the host's acknowledgement buzzes
_BUZZ_DUTY = const(800)
# While calibrating, the LED is cyan with a short blink off every second: unlike any band.
CALIB_RGB = (0, 48, 48)
_BLINK_MS = const(1000)
_DARK_MS = const(150)


class CalibMode:
    """Calibration mode of an App: while on (app.calib), the app reads and filters the
    sensor but does not step the session (no session starts, nothing is logged, no cue),
    and step() drives the outputs instead of the feedback. Allocation-free per sample."""

    def __init__(self, app):
        self.app = app
        self.until = 0  # when it lapses
        self.led = -1  # what the LED shows (-1: not known)
        self.duty = 0
        self.buzz_until = 0
        self.job = None  # a measure.Measurement stepped in this mode (the phone page's)

    def set(self, on, now_ms):
        app = self.app
        if on:
            self.until = now_ms + CALIB_LAPSE_MS
        if on == app.calib:
            return
        app.calib = on
        self.led = -1
        self.duty = 0
        self.buzz_until = now_ms
        # Outputs off and the feedback's memory of them cleared: whoever drives them next
        # writes its colour afresh. A cue still playing is dropped.
        app.feedback.off()
        if not on:
            if self.job is not None:
                self.job.end(now_ms - self.until >= 0)  # a measurement ends with the mode
                self.job = None
            # The session was not stepped: its idle time restarts now (no deep sleep right
            # after a calibration that took longer than sleep_after_s).
            app.session.band_changed_ms = now_ms

    def buzz(self, now_ms, ms):
        if not 0 < ms <= BUZZ_MAX_MS:
            return False
        self.buzz_until = now_ms + ms
        return True

    def spare(self, now_ms):
        """Between samples (App.run): a measurement's result worked out and written, and
        calibration mode ended once it is over."""
        job = self.job
        if job is None:
            return
        if job.due:
            app = self.app
            log = app.log
            unix = log.unix_time() if log is not None and log.unix_time else 0
            job.finish(unix, app.boot_id, app.uptime_s())
        if job.over() and now_ms - self.buzz_until >= 0:
            self.set(False, now_ms)  # once its last buzz has played

    def step(self, now_ms, ev):
        """Each sample while on, in place of the feedback."""
        app = self.app
        board = app.board
        if now_ms - self.until >= 0:
            self.set(False, now_ms)  # the host stopped renewing: back to sessions
            return
        job = self.job
        if job is not None:
            sig = app.signal
            ms = job.step(now_ms, sig.force_mn, sig.raw, app.fault)
            if ms:
                self.buzz(now_ms, ms)
        if app.fault:
            # No reading to trust: the motor off in this very sample, the fault on the LED.
            if self.duty:
                self.duty = 0
                board.motor(0)
            self.buzz_until = now_ms
            self.led = -1
            app.feedback.update(now_ms, ev, app.session)
            return
        led = 0 if now_ms % _BLINK_MS < _DARK_MS else 1
        if led != self.led:
            self.led = led
            if led:
                board.led(CALIB_RGB[0], CALIB_RGB[1], CALIB_RGB[2])
            else:
                board.led(0, 0, 0)
        duty = _BUZZ_DUTY if now_ms - self.buzz_until < 0 else 0
        if duty and not self.duty:
            duty = _BUZZ_DUTY // 2  # soft start, as the feedback's cues
            app.feedback.motor_started_ms = now_ms  # the page holds its sends, as for cues
        if duty != self.duty:
            self.duty = duty
            board.motor(duty)


# Config keys of the signal path's calibration: a change rebuilds it.
_CAL_KEYS = ("zero_counts", "counts_per_n", "cal_points", "drift_max_n")


def apply_config(app, cfg):
    """Make `cfg` the app's config now (App.reconfigure: never during a session)."""
    old = app.cfg
    app.cfg = cfg
    app.session.configure(cfg)  # its state (the day's count, the band, a stop) carries on
    if any(old.get(k) != cfg.get(k) for k in _CAL_KEYS):
        # A new calibration: its zero was just measured, unless it kept the old one, in
        # which case the zero auto-zero has followed since boot is the better one.
        signal = SignalPath(cfg)
        if cfg["zero_counts"] == old["zero_counts"]:
            signal.cal.zero = app.signal.cal.zero
            signal.autozero.capture = app.signal.autozero.capture
        signal.median.reset(signal.cal.to_mn(app.signal.raw))
        app.signal = signal
    else:
        app.signal.autozero.max_mn = int(cfg["light_n"] * 500)  # as SignalPath sets it
    app.sleep_after_ms = int(cfg.get("sleep_after_s", 0) * 1000)
    if app.log is not None:
        app.log.configure(cfg)
