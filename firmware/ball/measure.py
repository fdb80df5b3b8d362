# An area's pressure threshold measured on the ball itself (the phone page's "measure"), and
# the press detector the host's `knotball calibrate bands` and `knotball measure` use too:
# one source of truth for what a slow press to "strong but good" is. Loaded only when a
# measurement is asked for (its bytecode costs heap a ball nobody measures keeps).
#
# The measurement runs in calibration mode (ball/calib.py: no session, cyan LED, buzz acks)
# and is stepped on each sample, allocation-free: ints only, nothing kept per sample. Its
# result is worked out and written between samples (spare), as one threshold file
# (ball/wire/threshold.py) in the log root, until `knotball pull` moves it to the history.
import os
from array import array

from ball import const
from ball.console import Refused
from ball.wire import threshold

RISE_MIN_MS = const(1500)  # a press that peaks faster than this overshoots: do it again
RELEASE_MS = const(300)  # under 80 % of the contact force this long: the press is over
TRIALS = const(3)
LEVEL_MIN_N = 8.0  # a lower level is a ball not calibrated, not a threshold
SPREAD_WARN_PCT = 30.0
FILES_MAX = const(20)  # unpulled threshold files: past this, pull first
BUZZ_GOT_IT = const(250)  # ms: the ball has the press
BUZZ_AGAIN = const(500)  # ms: too fast, do it again
WAIT_MS = const(120000)  # no press begun and ended in this long: a phone forgotten open

# Measurement states (STATES: their names on the page).
IDLE = const(0)
WAITING = const(1)
PRESSING = const(2)
TOO_FAST = const(3)
GOT = const(4)
DONE = const(5)
FAILED = const(6)
STATES = ("idle", "waiting", "pressing", "too_fast", "got", "done", "failed")

_FAULT = "sensor fault during the press: nothing kept; check the sensor"
_CLIPPED = "the press went beyond what the ball can measure: press less hard; nothing kept"
_LAPSED = "stopped: the page stopped asking for 10 s; nothing kept"
_ENDED = "stopped: calibration mode ended; nothing kept"
_NO_PRESS = "stopped: no press for 2 minutes; nothing kept"


class Busy(Refused):
    """Refused for now (a session runs, the battery is low...): HTTP 409."""


def band_edges(level_n):
    """Band edges as fractions of the strong-but-good level: contact low (at most 5 N, at
    least 1 N), medium from 40 %, firm from 75 %, too hard above 100 %."""
    return {
        "light_n": round(min(5.0, max(1.0, 0.125 * level_n)), 1),
        "medium_n": round(0.40 * level_n, 1),
        "firm_n": round(0.75 * level_n, 1),
        "over_n": round(level_n, 1),
    }


class Trial:
    """A streaming press detector: step() each sample; True once the force has risen to
    contact_mn and fallen back under 80 % of it for RELEASE_MS. A press already under way
    when it starts is ignored (it waits for a release first). Kept: the press's start, its
    peak (the first sample at the highest force), the rise to it, the raw reading there
    and the raw extremes (for clipping), and its first fault. O(1) memory; with int
    arguments it allocates nothing."""

    def __init__(self, contact_mn):
        self.contact_mn = contact_mn
        self.release_mn = contact_mn * 4 // 5
        self.armed = False  # seen released: the next contact starts a press
        self.pressing = False
        self.t0 = 0
        self.peak_mn = 0
        self.rise_ms = 0
        self.start_raw = 0
        self.peak_raw = 0
        self.raw_hi = 0
        self.raw_lo = 0
        self.fault = 0  # the first fault seen during the press (0 or "": none)
        self.below = False
        self.below_since = 0

    def step(self, t_ms, force_mn, raw, fault):
        if not self.pressing:
            if force_mn < self.release_mn:
                self.armed = True
            elif force_mn >= self.contact_mn and self.armed:
                self.pressing = True
                self.t0 = t_ms
                self.peak_mn = force_mn
                self.rise_ms = 0
                self.start_raw = self.peak_raw = self.raw_hi = self.raw_lo = raw
                self.fault = fault
                self.below = False
            return False
        if fault and not self.fault:
            self.fault = fault
        if force_mn > self.peak_mn:
            self.peak_mn = force_mn
            self.rise_ms = t_ms - self.t0
            self.peak_raw = raw
        if raw > self.raw_hi:
            self.raw_hi = raw
        elif raw < self.raw_lo:
            self.raw_lo = raw
        if force_mn >= self.release_mn:
            self.below = False
            return False
        if not self.below:
            self.below = True
            self.below_since = t_ms
        if t_ms - self.below_since < RELEASE_MS:
            return False
        self.pressing = False  # released: the next contact is the next press
        return True

    def clipped(self):
        """The raw reading went on growing after the force had stopped (by over a tenth of
        its rise to the peak): the calibration's or the sensor's range ends below this press."""
        rise = self.peak_raw - self.start_raw
        if rise >= 0:
            beyond = self.raw_hi - self.peak_raw
        else:
            beyond = self.peak_raw - self.raw_lo
            rise = -rise
        return beyond > 0 and beyond * 10 > rise


class Measurement:
    """Three slow presses on `area`, as `knotball measure` asks for them: a press too fast
    gets a long buzz and is done again, a good one a short buzz; a fault or a clipped press
    fails it. step() per sample (allocation-free); finish() between samples."""

    def __init__(self, area, contact_mn, root, trials=TRIALS):
        self.area = area
        self.root = root
        self.trials = trials
        self.trial = Trial(contact_mn)
        self.trial.armed = True  # released, or no press the person meant: the next one counts
        self.state = WAITING
        self.peaks = array("i", [0] * trials)  # mN
        self.rises = array("i", [0] * trials)  # ms
        self.n = 0  # good presses so far
        self.last_mn = 0  # the last press's peak, good or too fast
        self.due = False  # the presses are in: finish() works out the result
        self.error = ""
        self.level_n = 0.0
        self.spread_pct = 0.0
        self.file = ""
        self.since = -1  # when it started, or the last press ended

    def over(self):
        return self.state in (IDLE, DONE, FAILED) and not self.due

    def step(self, now_ms, force_mn, raw, fault):
        """One sample; returns the ms of a buzz to give (0: none)."""
        if self.due or self.state >= DONE or self.state == IDLE:
            return 0
        if fault:
            self.state = FAILED  # no reading to trust: calibration mode has the motor off
            self.error = _FAULT
            return 0
        if self.since < 0:
            self.since = now_ms
        t = self.trial
        if not t.step(now_ms, force_mn, raw, fault):
            if now_ms - self.since > WAIT_MS:
                # Bounded, whoever keeps the page asking: the ball goes back to sessions.
                self.state = FAILED
                self.error = _NO_PRESS
            elif t.pressing:
                self.state = PRESSING
            return 0
        self.since = now_ms
        self.last_mn = t.peak_mn
        if t.clipped():
            self.state = FAILED
            self.error = _CLIPPED
            return 0
        if t.rise_ms < RISE_MIN_MS:
            self.state = TOO_FAST
            return BUZZ_AGAIN
        self.peaks[self.n] = t.peak_mn
        self.rises[self.n] = t.rise_ms
        self.n += 1
        self.state = GOT
        if self.n >= self.trials:
            self.due = True
        return BUZZ_GOT_IT

    def end(self, lapsed):
        """Calibration mode ended before the result: the measurement with it."""
        if not self.over():
            self.due = False
            self.state = FAILED
            self.error = _LAPSED if lapsed else _ENDED

    def finish(self, unix, boot, uptime_s):
        """Between samples, once the presses are in: the level and spread, then the file
        (or the reason there is none)."""
        self.due = False
        peaks = [p / 1000 for p in self.peaks[: self.n]]
        level = sum(peaks) / len(peaks)
        self.level_n = round(level, 1)
        self.spread_pct = round(100 * (max(peaks) - min(peaks)) / level, 1) if level > 0 else 0.0
        if level < LEVEL_MIN_N:
            self.state = FAILED
            self.error = (
                "{:.1f} N is too low to trust (at least {:g} N): is the ball calibrated "
                "(knotball calibrate scale)? Nothing kept".format(level, LEVEL_MIN_N)
            )
            return
        presses = [(peaks[i], self.rises[i]) for i in range(self.n)]
        try:
            data = threshold.pack(unix, boot, uptime_s, level, self.spread_pct, presses, self.area)
            self.file = write(self.root, data)
            self.state = DONE
        except Exception as e:  # in the loop itself (CalibMode.spare): nothing may stop it
            self.state = FAILED
            self.error = "could not keep it on the ball's flash ({}): pull, then again".format(e)

    def status(self):
        out = {
            "state": STATES[self.state],
            "area": self.area,
            "press": min(self.n + 1, self.trials),
            "of": self.trials,
            "peaks_n": [p / 1000 for p in self.peaks[: self.n]],
            "last_n": self.last_mn / 1000,
        }
        if self.state == DONE:
            out.update(level_n=self.level_n, spread_pct=self.spread_pct, file=self.file)
        if self.error:
            out["error"] = self.error
        return out


def files(root):
    """Names of the threshold files in root, in number order."""
    names = [n for n in os.listdir(root) if threshold.number_of(n) is not None]
    names.sort()
    return names


def write(root, data):
    """A new threshold file numbered one above the highest there, written whole: a
    temporary file renamed, so a power cut leaves no file or a whole one. Its name."""
    names = files(root)
    name = threshold.file_name(threshold.number_of(names[-1]) + 1 if names else 1)
    path = root + "/" + name
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    sync = getattr(os, "sync", None)
    if sync:
        sync()
    os.rename(tmp, path)
    return name


# ---- what the control seam (ball/control.py) asks, between samples ----


def start(control, area, now_ms):
    """Start measuring `area`: Refused (a bad area) or Busy (not now), naming why."""
    from ball.dose import area_problem, areas
    from ball.session import ACTIVE

    app = control.app
    why = area_problem(area)
    if why is None and area not in areas(app.cfg):
        why = "is not an area of this ball; add it with `knotball area --add {}`".format(area)
    if why:
        raise Refused("area {}: {}".format(area[:24], why))
    if app.session.state == ACTIVE:
        raise Busy("a session is running: let it end (or stop it), then measure")
    if app.fault:
        raise Busy("the sensor is faulty ({}): check it, then measure".format(app.fault_text))
    if app.cutoff or app.feedback.low_battery:
        raise Busy("the battery is low: charge it, then measure")
    if app.log is None:
        raise Refused("this ball keeps no files: nowhere to keep a threshold")
    root = app.log.root
    for name in os.listdir(root):
        if name.endswith(threshold.SUFFIX + ".tmp"):
            os.remove(root + "/" + name)  # a write a power cut ended: never renamed
    if len(files(root)) >= FILES_MAX:
        raise Busy("{} thresholds wait on the ball: pull first (knotball pull)".format(FILES_MAX))
    if not app.calibrate(True, now_ms):
        raise Busy("a session is running: let it end (or stop it), then measure")
    m = Measurement(area, int(app.cfg["light_n"] * 1000), root)
    app._calib.job = m
    control.measurement = m
    return m.status()


def status(control, now_ms):
    """The measurement's state; asking renews calibration mode while it runs."""
    m = control.measurement
    if m is None:
        return {"state": STATES[IDLE], "of": TRIALS}
    if not m.over():
        control.app.calibrate(True, now_ms)
    return m.status()


def stop(control, now_ms):
    m = control.measurement
    if m is not None and not m.over():
        m.state = IDLE
        m.due = False
        control.app.calibrate(False, now_ms)
    return status(control, now_ms)


def set_bands(control):
    """The bands from the last result, merged into the config, saved and applied as `KB
    cfg` does. Never during a session."""
    from ball import config
    from ball.session import ACTIVE

    m = control.measurement
    app = control.app
    if m is None or m.state != DONE:
        raise Busy("no threshold measured yet: measure first")
    if app.session.state == ACTIVE:
        raise Busy("a session is running: let it end, then set the bands")
    edges = band_edges(m.level_n)
    cfg = dict(app.cfg)
    cfg.update(edges)
    try:
        cfg = config.save(control.config_path, cfg)
    except config.ConfigError as e:
        raise Refused("bands from {} N: {}".format(m.level_n, e))
    app.reconfigure(cfg)
    return {"set": edges, "level_n": m.level_n}
