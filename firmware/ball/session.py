# The session: a pure state machine driven by time and force. step(now_ms, force_mn) returns
# the events of that instant as a bit mask; no I/O, no clock, no allocation.
# Forces are integer millinewtons (floats allocate on MicroPython); times are integer ms.
try:
    from micropython import const
except ImportError:

    def const(x):  # type: ignore[misc]  # CPython stand-in: mypy wants the stub's signature
        return x


IDLE = const(0)
LIGHT = const(1)
MEDIUM = const(2)
FIRM = const(3)
OVER = const(4)
BAND_NAMES = ("idle", "light", "medium", "firm", "over")

# Events: one bit each, several can happen in one step.
EV_BAND = const(1)  # the band shown changed
EV_START = const(2)  # a session started (first contact)
EV_STOP = const(4)  # the session stopped; see stop_reason
CUE_HOLD_EFFECTIVE = const(8)  # a steady hold lasted hold_min_s: it has done its work
CUE_HOLD_LONG = const(16)  # a steady hold lasted hold_max_s: move on
CUE_TOO_HARD = const(32)  # entered the over band
CUE_TIME_WARNING = const(64)  # warn_before_s before the limit
CUE_DONE = const(128)  # the session is over
CUE_REST = const(256)  # pressed after the day's last session: rest instead
CUE_FIRST = const(8)
# Raised by the app, not the session, in the same mask: the sensor failed / works again.
EV_FAULT = const(512)
EV_FAULT_CLEAR = const(1024)
CUE_NAMES = ("hold_effective", "hold_long", "too_hard", "time_warning", "done", "rest")

# Stop reasons (index into STOP_REASONS).
STOP_NONE = const(0)
STOP_TIME_LIMIT = const(1)
STOP_IDLE = const(2)
STOP_ABORTED = const(3)  # the loop ended under it (Ctrl-C, an error)
STOP_INTERRUPTED = const(4)  # set by the log's recovery: power was cut during the session
STOP_SENSOR_FAULT = const(5)  # the sensor stayed faulty: the session ended cleanly
STOP_SYMPTOM = const(6)  # the person reported numbness or tingling (gesture or host key)
STOP_REASONS = ("", "time_limit", "idle", "aborted", "interrupted", "sensor_fault", "symptom")

# States.
READY = const(0)  # waiting for first contact
ACTIVE = const(1)  # a session is running
STOPPED = const(2)  # quiet until the ball has been released for _RELEASE_MS

# A band change must be seen on this many consecutive samples (30 ms at 100 Hz): a burst of
# two wild samples that slips through the median filter still cannot flip the band.
_DWELL = const(3)
# Leaving a band downwards needs the force to fall this far (percent) below its edge; going
# up needs only the edge. A steady press at an edge can cross it once, never flicker back.
_HYST_PCT = const(12)
_HYST_MIN_MN = const(500)
# A hold is a press whose force stays within this percent of its slowly-followed level.
_HOLD_TOL_PCT = const(20)
_HOLD_TOL_MIN_MN = const(1500)
_HOLD_FOLLOW_SHIFT = const(8)  # level follows slow lean drift: ~2.5 s time constant at 100 Hz
_RELEASE_MS = const(2000)
_SUM_CARRY = const(1 << 28)


class Session:
    def __init__(self, cfg):
        self.edges = [0, 0, 0, 0, 0]  # lower edge of each band, mN
        self.down = [0, 0, 0, 0, 0]  # force below which a band is left downwards, mN
        for i, key in enumerate(("light_n", "medium_n", "firm_n", "over_n")):
            e = int(cfg[key] * 1000)
            h = e * _HYST_PCT // 100
            self.edges[i + 1] = e
            self.down[i + 1] = e - (h if h > _HYST_MIN_MN else _HYST_MIN_MN)
        self.limit_ms = int(cfg["session_limit_s"] * 1000)
        # The warning comes warn_before_s before the limit, but never in the first half.
        warn = int(cfg["warn_before_s"] * 1000)
        self.warn_ms = self.limit_ms - (warn if warn < self.limit_ms // 2 else self.limit_ms // 2)
        self.idle_stop_ms = int(cfg["idle_stop_s"] * 1000)
        self.hold_min_ms = int(cfg["hold_min_s"] * 1000)
        self.hold_max_ms = int(cfg["hold_max_s"] * 1000)
        self.max_per_day = cfg["max_sessions_per_day"]
        self.sessions_today = 0
        self.state = READY
        self.band = IDLE
        self.force_mn = 0
        self._cand = IDLE
        self._cand_n = 0
        self._last_ms = 0
        self.band_changed_ms = 0
        self.band_ms = [0, 0, 0, 0, 0]  # time per band in this session
        self.cue_counts = [0, 0, 0, 0, 0, 0]  # cues given in this session, CUE_NAMES order
        self._clear()

    def _clear(self):
        # Zero in place: a session start in the sampling loop must not allocate.
        i = 0
        while i < 6:
            if i < 5:
                self.band_ms[i] = 0
            self.cue_counts[i] = 0
            i += 1
        self.start_ms = 0
        self.elapsed_ms = 0
        self.stop_reason = STOP_NONE
        self.peak_mn = 0
        self.over_count = 0
        self.holds = 0
        self.longest_hold_ms = 0
        self.hold_ms = 0  # length of the current hold, 0 when not holding
        self._sum_lo = 0
        self._sum_hi = 0
        self._samples = 0
        self._idle_since = 0
        self._hold_start = -1
        self._hold_ref = 0
        self._hold_flags = 0
        self._warned = False

    def rebase(self):
        """The caller's clock restarted at 0 while READY (the only state with no pending
        deadline): forget the last timestamps so the next step sees no time jump."""
        self._last_ms = 0
        self.band_changed_ms = 0

    def new_day(self):
        self.sessions_today = 0

    def mean_mn(self):
        """Mean force while in contact (may allocate: call after the session, not during)."""
        if not self._samples:
            return 0
        return (self._sum_hi * _SUM_CARRY + self._sum_lo) // self._samples

    def _band_step(self, f):
        b = self.band
        c = b
        while c < OVER and f >= self.edges[c + 1]:
            c += 1
        while c > IDLE and f < self.down[c]:
            c -= 1
        if c == b:
            self._cand_n = 0
            return False
        if c == self._cand:
            self._cand_n += 1
        else:
            self._cand = c
            self._cand_n = 1
        if self._cand_n < _DWELL:
            return False
        self.band = c
        self._cand_n = 0
        return True

    def step(self, now_ms, force_mn):
        self.force_mn = force_mn
        dt = now_ms - self._last_ms
        self._last_ms = now_ms
        ev = 0
        if self._band_step(force_mn):
            self.band_changed_ms = now_ms
            ev = EV_BAND
            if self.band == OVER:
                ev |= CUE_TOO_HARD
        band = self.band
        state = self.state
        if state == READY:
            if band != IDLE:
                if self.sessions_today >= self.max_per_day:
                    self.state = STOPPED
                    self._idle_since = now_ms
                    ev = (ev & ~CUE_TOO_HARD) | CUE_REST
                else:
                    self._clear()
                    self.sessions_today += 1
                    self.state = ACTIVE
                    self.start_ms = now_ms
                    self._idle_since = now_ms
                    ev |= EV_START
                    dt = 0
            else:
                ev &= ~CUE_TOO_HARD
        elif state == STOPPED:
            ev &= ~CUE_TOO_HARD
            if band != IDLE:
                self._idle_since = now_ms
            elif now_ms - self._idle_since >= _RELEASE_MS:
                self.state = READY
        if self.state == ACTIVE:
            ev = self._active_step(now_ms, dt, force_mn, band, ev)
        return self._count(ev)

    def _count(self, ev):
        """Tally the cues of a step for the summary; returns ev."""
        if ev & CUE_TOO_HARD:
            self.over_count += 1
        c = 0
        while c < 6:
            if ev & (CUE_FIRST << c):
                self.cue_counts[c] += 1
            c += 1
        return ev

    def blind_step(self, now_ms):
        """Time passes with no reading to trust (a sensor fault): the band drops to idle
        without a cue, the time counts as idle, and the time limit still stops the session."""
        dt = now_ms - self._last_ms
        self._last_ms = now_ms
        ev = 0
        if self.band != IDLE:
            self.band = IDLE
            self.band_changed_ms = now_ms
            ev = EV_BAND
        self._cand_n = 0
        if self.state != ACTIVE:
            return ev
        self.band_ms[IDLE] += dt
        self.elapsed_ms = now_ms - self.start_ms
        self._end_hold()
        self._idle_since = now_ms  # a fault is not a release: no idle stop while blind
        if self.elapsed_ms >= self.limit_ms:
            ev = self.stop(now_ms, STOP_TIME_LIMIT, ev)
        return self._count(ev)

    def _active_step(self, now_ms, dt, f, band, ev):
        self.band_ms[band] += dt
        self.elapsed_ms = now_ms - self.start_ms
        if f > self.peak_mn:
            self.peak_mn = f
        if band != IDLE:
            self._samples += 1
            self._sum_lo += f
            if self._sum_lo >= _SUM_CARRY:
                self._sum_lo -= _SUM_CARRY
                self._sum_hi += 1
        ev = self._hold_step(now_ms, f, band, ev)
        if band != IDLE:
            self._idle_since = now_ms
        if self.elapsed_ms >= self.limit_ms:
            return self.stop(now_ms, STOP_TIME_LIMIT, ev)
        if now_ms - self._idle_since >= self.idle_stop_ms:
            return self.stop(now_ms, STOP_IDLE, ev)
        if not self._warned and self.elapsed_ms >= self.warn_ms:
            self._warned = True
            ev |= CUE_TIME_WARNING
        return ev

    def _hold_step(self, now_ms, f, band, ev):
        if band == IDLE or band == OVER:
            self._end_hold()
            return ev
        ref = self._hold_ref
        tol = ref * _HOLD_TOL_PCT // 100
        if tol < _HOLD_TOL_MIN_MN:
            tol = _HOLD_TOL_MIN_MN
        if self._hold_start < 0 or f - ref > tol or ref - f > tol:
            self._end_hold()
            self._hold_start = now_ms
            self._hold_ref = f
            return ev
        self._hold_ref = ref + ((f - ref) >> _HOLD_FOLLOW_SHIFT)
        held = now_ms - self._hold_start
        self.hold_ms = held
        if held >= self.hold_min_ms and not self._hold_flags & CUE_HOLD_EFFECTIVE:
            self._hold_flags |= CUE_HOLD_EFFECTIVE
            self.holds += 1
            ev |= CUE_HOLD_EFFECTIVE
        if held >= self.hold_max_ms and not self._hold_flags & CUE_HOLD_LONG:
            self._hold_flags |= CUE_HOLD_LONG
            ev |= CUE_HOLD_LONG
        return ev

    def _end_hold(self):
        if self.hold_ms > self.longest_hold_ms:
            self.longest_hold_ms = self.hold_ms
        self.hold_ms = 0
        self._hold_start = -1
        self._hold_flags = 0

    def stop(self, now_ms, reason, ev=0):
        """End the running session now (also used by the app on Ctrl-C or an error)."""
        if self.state != ACTIVE:
            return ev
        self._end_hold()
        self.elapsed_ms = now_ms - self.start_ms
        self.stop_reason = reason
        self.state = STOPPED
        self._idle_since = now_ms
        return ev | EV_STOP | CUE_DONE
