# The session: a pure state machine driven by time and force. step(now_ms, force_mn) returns
# the events of that instant as a bit mask; no I/O, no clock, no allocation.
# Forces are integer millinewtons (floats allocate on MicroPython); times are integer ms.
from ball import const

IDLE = const(0)
LIGHT = const(1)
MEDIUM = const(2)
FIRM = const(3)
OVER = const(4)  # bands: indices of ball.wire.BAND_NAMES

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

# Stop reasons: indices of ball.wire.STOP_REASONS.
STOP_NONE = const(0)
STOP_TIME_LIMIT = const(1)
STOP_IDLE = const(2)
STOP_ABORTED = const(3)  # the loop ended under it (Ctrl-C, an error)
STOP_INTERRUPTED = const(4)  # set by the log's recovery: power was cut during the session
STOP_SENSOR_FAULT = const(5)  # the sensor stayed faulty: the session ended cleanly
STOP_SYMPTOM = const(6)  # the person reported numbness or tingling (gesture or host key)
STOP_LOW_BATTERY = const(7)  # the cell reached its cut-off: the ball sleeps until charged

# States: indices of ball.wire.STATE_NAMES.
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
# Stop on symptoms: numbness or tingling, and the person takes the ball in the hand and
# squeezes it twice, quickly and firmly. A squeeze is a contact (the band leaves idle and
# comes back) of at most _SQUEEZE_MS that reaches firm; the second must begin at most
# _SQUEEZE_GAP_MS after the first ended. Rolling cannot look like this: rolling at up to
# 1 Hz keeps contact for most of each cycle (500 ms and more), and a person leaning on the
# ball rarely lets go at all. A roll that touched for only 400 ms per cycle would still leave
# 600 ms or more between touches at 1 Hz, more than the gap allows: squeeze + gap (900 ms)
# stays under the shortest rolling cycle with 100 ms to spare. A hand squeezes quickly in
# 0.15-0.35 s and lets go for 0.1-0.4 s between two squeezes. A contact shorter than
# _SQUEEZE_MIN_MS is a knock (a ball bouncing off a wall or the floor touches for 10-30 ms),
# not a squeeze; the band's dwell shortens a fast squeeze's measured contact to about its
# time near the peak, so a 0.15 s squeeze still measures ~90 ms.
_SQUEEZE_MIN_MS = const(60)
_SQUEEZE_MS = const(400)
_SQUEEZE_GAP_MS = const(500)
_TOO_HARD_I = const(2)  # index of too_hard in cue_counts (CUE_NAMES order)
# The gesture's state, in one list (each attribute name costs the ball RAM):
_G_START = const(0)  # when the current contact began, -1 while released
_G_FIRM = const(1)  # 1 once it reached firm
_G_SECOND = const(2)  # 1 if it began soon enough after a squeeze to be the second
_G_END = const(3)  # when the last squeeze ended, -1 if the last contact was not one
# The session's figures before the first squeeze: the gesture is not massage, so its
# squeezes are taken out of the peak and the too-hard tally when it is recognised.
_G_PEAK = const(4)
_G_OVER = const(5)
_G_HARD = const(6)
_G_CALM = const(7)  # the peak when the force was last below first contact


class Session:
    def __init__(self, cfg):
        self.edges = [0, 0, 0, 0, 0]  # lower edge of each band, mN
        self.down = [0, 0, 0, 0, 0]  # force below which a band is left downwards, mN
        self.configure(cfg)
        self.sessions_today = 0
        self.resting = False  # the day is over early (a symptom stop): rest, no session
        # What the chosen body area has left today (dose.py; 0: it has had its day). A
        # session's limit is the config's, or this when it is less.
        self.left_ms = 1 << 29
        self.state = READY
        self.band = IDLE
        self.force_mn = 0
        self._cand = IDLE
        self._cand_n = 0
        self._last_ms = 0
        self.band_changed_ms = 0
        self.band_ms = [0, 0, 0, 0, 0]  # time per band in this session
        self.cue_counts = [0, 0, 0, 0, 0, 0]  # cues given in this session, CUE_NAMES order
        self._sq = [-1, 0, 0, -1, 0, 0, 0, 0]  # the squeeze gesture, see _G_*
        self._clear()

    def configure(self, cfg):
        """The settings a config gives (band edges, limits, holds, sessions per day); also
        between sessions when the host saves a new config: the state carries on."""
        for i, key in enumerate(("light_n", "medium_n", "firm_n", "over_n")):
            e = int(cfg[key] * 1000)
            h = e * _HYST_PCT // 100
            self.edges[i + 1] = e
            self.down[i + 1] = e - (h if h > _HYST_MIN_MN else _HYST_MIN_MN)
        self.cfg_limit_ms = int(cfg["session_limit_s"] * 1000)
        self.warn_before_ms = int(cfg["warn_before_s"] * 1000)
        self.set_limit(self.cfg_limit_ms)
        self.idle_stop_ms = int(cfg["idle_stop_s"] * 1000)
        self.hold_min_ms = int(cfg["hold_min_s"] * 1000)
        self.hold_max_ms = int(cfg["hold_max_s"] * 1000)
        self.max_per_day = cfg["max_sessions_per_day"]

    def set_limit(self, limit_ms):
        """The session's limit: the config's, or what its area has left (ball/dose.py)."""
        self.limit_ms = limit_ms
        # The warning comes warn_before_s before the limit, but never in the first half.
        warn = self.warn_before_ms
        self.warn_ms = limit_ms - (warn if warn < limit_ms // 2 else limit_ms // 2)

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
        self._sq[_G_CALM] = 0

    def rebase(self):
        """The caller's clock restarted at 0 while READY (the only state with no pending
        deadline): forget the last timestamps so the next step sees no time jump."""
        self._last_ms = 0
        self.band_changed_ms = 0
        self._sq[_G_END] = -1

    def rest_due(self):
        """The next contact gets the rest signal, not a session."""
        return self.resting or self.sessions_today >= self.max_per_day or self.left_ms <= 0

    def new_day(self):
        self.sessions_today = 0
        self.resting = False

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
                if self.rest_due():
                    self.state = STOPPED
                    self._idle_since = now_ms
                    ev = (ev & ~CUE_TOO_HARD) | CUE_REST
                else:
                    self._clear()
                    lim = self.cfg_limit_ms
                    self.set_limit(self.left_ms if self.left_ms < lim else lim)
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
        g = self._sq
        if band != IDLE or g[_G_START] >= 0:
            ev = self._gesture(now_ms, band, ev)
        elif force_mn < self.edges[LIGHT]:
            g[_G_CALM] = self.peak_mn  # (the band lags the force by its dwell)
        return self._count(ev)

    def _gesture(self, now_ms, band, ev):
        """Follow contacts for the squeeze gesture; end the session when it is complete."""
        g = self._sq
        if g[_G_START] < 0:  # a contact begins
            g[_G_START] = now_ms
            g[_G_FIRM] = 0
            g[_G_SECOND] = 1 if g[_G_END] >= 0 and now_ms - g[_G_END] <= _SQUEEZE_GAP_MS else 0
            if not g[_G_SECOND]:  # it may be a first squeeze: note the figures before it
                g[_G_PEAK] = g[_G_CALM]
                g[_G_OVER] = self.over_count
                g[_G_HARD] = self.cue_counts[_TOO_HARD_I]
        if band >= FIRM:
            g[_G_FIRM] = 1
        if band != IDLE:
            return ev
        held = now_ms - g[_G_START]  # the contact ends
        g[_G_START] = -1
        if not g[_G_FIRM] or held < _SQUEEZE_MIN_MS or held > _SQUEEZE_MS:
            g[_G_END] = -1
        elif g[_G_SECOND] and self.state == ACTIVE:
            # Outside a session the gesture means nothing: a first squeeze from READY has
            # already started one, and while STOPPED (just stopped, or resting) there is
            # nothing to end.
            g[_G_END] = -1
            self.peak_mn = g[_G_PEAK]
            self.over_count = g[_G_OVER]
            self.cue_counts[_TOO_HARD_I] = g[_G_HARD]
            ev = self.stop(now_ms, STOP_SYMPTOM, ev)
        else:
            g[_G_END] = now_ms
        return ev

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
        self._sq[_G_START] = -1  # no reading: whatever contact was going on is no squeeze
        self._sq[_G_END] = -1
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
        """End the running session now (also used by the app on Ctrl-C or an error).
        A symptom stop also ends the day: contacts get the rest signal until it is over."""
        if self.state != ACTIVE:
            return ev
        self._end_hold()
        self.elapsed_ms = now_ms - self.start_ms
        self.stop_reason = reason
        self.state = STOPPED
        self._idle_since = now_ms
        if reason == STOP_SYMPTOM:
            self.resting = True
        return ev | EV_STOP | CUE_DONE

    def end(self, now_ms, reason):
        """stop() from outside a step (the host's symptom key): the events, with the done
        cue tallied as a step would; 0 when no session was running."""
        return self._count(self.stop(now_ms, reason))
