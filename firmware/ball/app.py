# The application: a fixed-rate loop wiring sensor -> signal path -> session -> feedback.
# The board provides the clock, the sensor and the outputs, so the same loop runs on an ESP32,
# on the MicroPython unix port and on CPython (with a virtual clock for replay).
from ball import SensorFault, const

try:
    from typing import Any
except ImportError:
    pass

from ball.feedback import EMPTY, Feedback
from ball.session import (
    ACTIVE,
    EV_FAULT,
    EV_FAULT_CLEAR,
    READY,
    STOP_ABORTED,
    STOP_LOW_BATTERY,
    STOP_SENSOR_FAULT,
    Session,
)
from ball.signal import SignalPath

PERIOD_MS = const(10)  # 100 Hz
# Session times are ms since the loop started; they are rebased while the ball waits so they
# stay small ints (31-bit on the ESP32: a long int would allocate) however long it runs.
_REBASE_MS = const(1 << 28)
# Flash steps wait until the band has been steady this long.
_CALM_MS = const(300)
# Sensor faults: the sensor is re-initialised this often while faulty, and a session whose
# sensor stays faulty this long ends (stop reason sensor_fault) rather than run blind.
_RETRY_MS = const(500)
_FAULT_END_MS = const(5000)
# Sensor faults: indices of ball.wire.FAULT_NAMES.
FAULT_NONE = const(0)
FAULT_BUS = const(1)  # the bus failed (OSError): a loose wire, a dead chip
FAULT_SENSOR = const(2)  # the driver distrusts its reading: saturated, not ready, shorted
FAULT_STUCK = const(3)  # the same raw reading for the board's stuck_ms: a frozen sensor
# Power: the battery is read this often while no session runs, and more often during one
# (under the motor's load is when a spent cell shows); below LOW_BATTERY_MV the next session
# starts with the low-battery cue. Below the cut-off (the board's cutoff_mv, else CUTOFF_MV)
# the reading is taken again _BATTERY_CONFIRM_MS later, and _CUTOFF_READINGS in a row end
# any session, play the empty signal once and put the ball to sleep with no timer wake: the
# cell's own protection would only cut at ~2.4-3.0 V, too deep for it. One sag under the
# motor's inrush is one reading, never three in a row. Asleep, the ball wakes this often to
# look for a press.
_BATTERY_EVERY_MS = const(30000)
_BATTERY_SESSION_MS = const(5000)
_BATTERY_CONFIRM_MS = const(1000)
_CUTOFF_READINGS = const(3)
LOW_BATTERY_MV = const(3450)
CUTOFF_MV = const(3300)
# After a reset or power-on (the motor off, the cell at rest) the ball starts only this far
# above the cut-off: a spent cell recovers ~0.1 V at rest, and must not restart and cut off
# again and again before it has been charged.
RESUME_MV = const(150)
# Under this a reading means no cell on the divider (a bench on USB), not an empty cell: the
# ball cannot run from a cell that low, its protection has cut off before.
NO_CELL_MV = const(2500)
WAKE_CHECK_MS = const(2000)


def battery_empty(mv, cutoff_mv, margin_mv=0):
    """Is a battery reading (mV) below the cut-off (+ margin_mv)? Never for no cell."""
    return NO_CELL_MV <= mv < cutoff_mv + margin_mv


class App:
    """The 100 Hz loop on a board (a boardbase.BoardBase: the sensor, the outputs, the
    clock, and the optional features with their explicit defaults)."""

    def __init__(self, board, cfg, listener=None, log=None, console=None, dose=None):
        self.board = board
        self.cfg = cfg
        # Absolute sensors (a barometer reads ~100 kPa at rest) learn their zero at boot,
        # or from the zero the board kept through a deep sleep.
        self.signal = SignalPath(cfg, board.zero_at_boot)
        zero = board.kept_zero()
        if zero is not None:
            self.signal.cal.zero = zero
            self.signal.autozero.capture = False
        self.session = Session(cfg)
        self.feedback = Feedback(board)
        # listener(now_ms, events) hears every non-empty event mask (console, log, sim).
        self.listener = listener
        self.log = log  # a log.SessionLog, or None
        self.console = console  # a console.Console (the USB console), or None
        self.web = None  # a web.Server (the live page over Wi-Fi), or None
        self.radio = None  # a start.RadioSwitch once a page was served: the radio on or off
        # Sessions per day kept across reboots (a dose.Dose), or None: the session counts
        # them itself. The log saves the day's state with its next id.
        self.dose = dose
        if dose is not None:
            dose.sync(self.session)  # before the first sample: a press may be what woke us
            if log is not None:
                log.day = dose
        self._requested = 0  # events of a stop asked for between samples (request_stop)
        self.now = 0
        # This power-on: a random id from the board (0: unknown), and the seconds `now`
        # lost to rebasing, so uptime_s() never goes back. The log's headers carry both.
        self.boot_id = board.boot_id()
        self.rebased_s = 0
        if log is not None:
            log.boot_id = self.boot_id
            log.uptime_s = self.uptime_s
        self.overruns = 0
        self.fault = FAULT_NONE
        self.fault_text = ""  # what the driver said, for the console and the log
        self._fault_since = 0
        self._retry_at = 0
        # A sensor whose raw reading never moves for this long is frozen (0: never check;
        # the sim's traces hold readings constant, a real ADC always shows some noise).
        self.stuck_ms = board.stuck_ms
        self._last_raw = 0
        self._same_since = 0
        self.battery_mv = 0
        self._battery_at = -_BATTERY_EVERY_MS  # when it was last read: first at once
        self.cutoff_mv = board.cutoff_mv or CUTOFF_MV
        self._low_readings = 0
        self.cutoff = False  # the cell reached its cut-off: no session, sleep when quiet
        self.sleep_after_ms = int(cfg.get("sleep_after_s", 0) * 1000)
        self.pending_cfg = None  # a config saved during a session, applied when it ends
        # Calibration mode (ball/calib.py, loaded only when the host asks for it): the
        # sensor read and filtered, no session, no cues, the outputs its own.
        self.calib = False
        self._calib: Any = None  # a calib.CalibMode once calibration was asked for

    def uptime_s(self):
        """Seconds since this power-on (or reset), never going back."""
        return self.rebased_s + self.now // 1000

    def tick(self, now_ms):
        """One sample: read, filter, step the session, tell the listener, drive the outputs."""
        try:
            raw = self.board.read_sensor()
            code = FAULT_NONE
            if self.stuck_ms:
                if raw != self._last_raw:
                    self._last_raw = raw
                    self._same_since = now_ms
                elif now_ms - self._same_since >= self.stuck_ms:
                    code = FAULT_STUCK
        except OSError as e:
            code, raw = FAULT_BUS, 0
            self.fault_text = str(e)
        except SensorFault as e:
            code, raw = FAULT_SENSOR, 0
            self.fault_text = str(e)
        if code:
            ev = self._blind(now_ms, code)
        else:
            ev = 0
            if self.fault:
                self.fault = FAULT_NONE
                self.feedback.fault = False
                self.signal.median.reset(self.signal.cal.to_mn(raw))
                ev = EV_FAULT_CLEAR
            force = self.signal.step(raw)
            if not self.calib and not self.cutoff:
                ev |= self.session.step(now_ms, force)
        if self._requested:
            ev |= self._requested
            self._requested = 0
        if self.dose is not None and self.dose.step(now_ms, ev, self.session):
            if self.log is not None:
                self.log.save_day()  # queued: a flash step between samples
        if ev and self.listener is not None:
            self.listener(now_ms, ev)
        self.feedback.drift = self.signal.drift_bad
        if self.calib:
            self._calib.step(now_ms, ev)
        else:
            self.feedback.update(now_ms, ev, self.session)
        if self.log is not None:
            self.log.step(ev, self.session, self.fault)
        return ev

    def request_stop(self, reason):
        """End the running session now for `reason` (the console's `KB symptom`, between
        samples); listener, feedback and log hear it on the next tick, as any stop. Returns
        False when no session was running."""
        ev = self.session.end(self.now, reason)
        self._requested |= ev
        return ev != 0

    # ---- for the host (through control.Control): calibration mode, a new config ----

    def calibrate(self, on, now_ms):
        """Calibration mode on (each call renews it) or off. Refused (False) while a
        session is active: it must run to its end undisturbed."""
        if on and self.session.state == ACTIVE:
            return False
        if self._calib is None:
            if not on:
                return True
            from ball.calib import CalibMode  # only when asked: its bytecode costs heap

            self._calib = CalibMode(self)
        self._calib.set(on, now_ms)
        return True

    def buzz(self, now_ms, ms):
        """An acknowledgement buzz of `ms`, in calibration mode only (False otherwise)."""
        return self.calib and self._calib.buzz(now_ms, ms)

    def reconfigure(self, cfg):
        """Use a saved config now if no session is running; while one is, keep it pending
        (applied by run() once the session has ended): a running session keeps the limits
        it started with. Returns True when applied now."""
        if self.session.state == ACTIVE:
            self.pending_cfg = cfg
            return False
        from ball.calib import apply_config

        self.pending_cfg = None
        apply_config(self, cfg)
        return True

    def _blind(self, now_ms, code):
        """The sensor failed: motor off in this very sample, fault on the LED, the session
        kept to its limit without readings, the sensor re-initialised now and then, and
        the session ended if the fault lasts."""
        ev = 0
        if not self.fault:
            self.fault = code
            self.feedback.fault = True
            self._fault_since = now_ms
            self._retry_at = now_ms + _RETRY_MS
            ev = EV_FAULT
            if code == FAULT_STUCK:
                self.fault_text = "the reading has not changed for {} ms".format(self.stuck_ms)
        ev |= self.session.blind_step(now_ms)
        if self.session.state == ACTIVE and now_ms - self._fault_since >= _FAULT_END_MS:
            ev |= self.session.stop(now_ms, STOP_SENSOR_FAULT)
        if now_ms >= self._retry_at:
            self._retry_at = now_ms + _RETRY_MS
            try:
                self.board.reset_sensor()
            except Exception:
                pass  # still faulty: the next reading says so
            if code != FAULT_STUCK:
                # A reading after a bus or driver fault starts a fresh stuck window; a
                # frozen reading stays a fault until it moves, however often re-initialised.
                self._same_since = now_ms
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
                if self.now > _REBASE_MS and self.session.state == READY and not self.calib:
                    if self.dose is not None:
                        self.dose.rebase(self.now)
                    self.rebased_s += self.now // 1000
                    self.now = 0
                    self._battery_at = -_BATTERY_EVERY_MS
                    self.session.rebase()
                self.tick(self.now)
                if self.calib:
                    self._calib.spare(self.now)  # a measurement's result: never in a sample
                self._check_battery(self.now)
                if self.session.state != ACTIVE:
                    if self.pending_cfg is not None:
                        self.reconfigure(self.pending_cfg)  # saved mid-session: now it applies
                    self._power(self.now)
                if self.log is not None and self.log.ops:
                    # Flash work after the outputs are set, one step per sample period, at
                    # a moment when a stall cannot delay a cue or a band change.
                    quiet = not self.feedback.playing()
                    calm = quiet and self.now - self.session.band_changed_ms >= _CALM_MS
                    idle = quiet and self.session.state != ACTIVE
                    self.log.service(idle, self.now, calm)
                if self.console is not None:
                    self.console.poll(self.now)  # spare time, like the flash step
                if self.radio is not None or self.web is not None:
                    try:
                        if self.radio is not None:
                            self.radio.poll(self.now)  # on while useful (ball/radio.py)
                        if self.web is not None:
                            self.web.poll(self.now)  # spare time too, bounded per poll
                    except Exception as e:
                        self._lose_web(e)
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

    def _check_battery(self, now_ms):
        """Read the battery when due; at the cut-off, end the session and play the empty
        signal."""
        if self._low_readings:
            every = _BATTERY_CONFIRM_MS
        elif self.session.state == ACTIVE:
            every = _BATTERY_SESSION_MS
        else:
            every = _BATTERY_EVERY_MS
        if now_ms - self._battery_at < every:
            return
        self._battery_at = now_ms
        mv = self.board.battery_mv()  # 0: no battery divider
        self.battery_mv = mv
        self.feedback.low_battery = 0 < mv < LOW_BATTERY_MV
        if battery_empty(mv, self.cutoff_mv):
            self._low_readings += 1
            if self._low_readings >= _CUTOFF_READINGS and not self.cutoff:
                self.cutoff = True
                if self.calib:
                    self.calibrate(False, now_ms)  # the feedback plays the signal again
                self.request_stop(STOP_LOW_BATTERY)  # heard on the next tick, as any stop
                self.feedback.play(now_ms, EMPTY)
        else:
            self._low_readings = 0

    def _lose_web(self, e):
        """The live page failed in a way the server did not foresee: it is optional, the
        session is not. Close it and sample on; the USB console still works."""
        print("knotball: live page stopped:", e)
        web, self.web = self.web, None
        try:
            if web is not None:
                web.close()
        except Exception:
            pass

    def _power(self, now_ms):
        """Between sessions: sleep when left alone long enough; at the cut-off, sleep with
        no timer wake once the empty signal has played and the log is written."""
        quiet = not self.feedback.playing() and (self.log is None or not self.log.ops)
        if self.cutoff and quiet and self.board.can_sleep:
            self.shutdown()
            self.board.deep_sleep(None, self.signal.cal.zero)
            return
        if (
            self.board.can_sleep
            and not self.calib
            and self.sleep_after_ms
            and self.session.state == READY
            and self.session.band == 0
            and now_ms - self.session.band_changed_ms >= self.sleep_after_ms
            and not self.feedback.playing()
            and (self.log is None or not self.log.ops)
        ):
            self.shutdown()
            self.board.deep_sleep(WAKE_CHECK_MS, self.signal.cal.zero)

    def shutdown(self):
        """Outputs off first, then close the session so it is recorded as aborted."""
        try:
            self.feedback.off()
        finally:
            self.board.off()
            # A stop requested since the last tick is heard here, or never.
            ev = self.session.stop(self.now, STOP_ABORTED, self._requested)
            self._requested = 0
            if ev and self.listener is not None:
                self.listener(self.now, ev)
            if self.log is not None:
                self.log.step(ev, self.session)
                self.log.close()
            if self.web is not None:
                self.web.close()  # its port free for the next start (a soft reset)
                self.web = None
                self.board.net(False)  # the radio off
