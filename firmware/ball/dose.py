# Sessions per day across reboots, deep sleep and power cuts: the start times of the latest
# sessions on the ball's own clock, counted per local calendar day once the host has set the
# clock, else in a rolling 24-hour window. step() runs in the sampling loop (small ints, no
# allocation); set_clock(), text() and restore() run between samples or at boot.
#
# The ball's own clock counts "ball seconds" (B): 0 on a new ball, never going back. At boot
# it goes on from the B last saved, plus what has passed since: by the host's clock when the
# RTC kept it (deep sleep, a reset), else by the RTC's own seconds when they kept running.
# When neither survived (a power cut), the time with the power off is unknown and taken as
# none: the day's sessions stay counted longer rather than being forgotten. Setting the clock
# never moves B, it only links B to unix time: every stored start keeps its age.
from ball import const
from ball.session import EV_START, EV_STOP, STOP_SYMPTOM

DAY_S = const(86400)
KEEP = const(24)  # starts kept: the config allows at most 24 sessions a day
_CHECK_MS = const(1000)  # the count is brought up to date once a second
_NEVER = const(-(1 << 29))
TAG = "day1"  # first word of the saved text, naming its layout


def _opt(v):
    return "-" if v is None else str(v)


def _int_opt(word):
    return None if word == "-" else int(word)


class Dose:
    def __init__(self, rtc=None):
        # rtc() -> seconds on a clock that runs on through deep sleep and resets and starts
        # again after a power loss (the ESP32's RTC); None when the board has none.
        self.rtc = rtc
        self.starts = [0] * KEEP  # B of the latest session starts, oldest first
        self.n = 0
        self.rest_b = _NEVER  # B of the last symptom stop
        self.b0 = 0  # B at loop time ms0
        self.ms0 = 0
        self.b = 0  # B at the last step that looked
        self.unix_off = None  # unix seconds = B + unix_off, once the host set the clock
        self.utc_off = 0  # local time = unix + utc_off
        self.day_end = 0  # B of the next local midnight (with a clock)
        self.count = 0  # sessions started today (or in the last 24 h, without a clock)
        self.resting = False  # a symptom stop today (or in the last 24 h)
        self._check_at = 0
        self._dirty = False

    def b_at(self, now_ms):
        return self.b0 + (now_ms - self.ms0) // 1000

    def rebase(self, now_ms):
        """The loop's clock is about to restart at 0: fold the whole seconds into b0."""
        k = (now_ms - self.ms0) // 1000
        self.b0 += k
        self.ms0 += k * 1000 - now_ms
        self._check_at = 0

    def step(self, now_ms, ev, sess):
        """After the session's step: note a start or a symptom stop, and keep the session's
        count of the day and its resting flag up to date. Returns True when the state
        should be saved (the app then asks the log to, with the next id)."""
        if not ev & (EV_START | EV_STOP) and now_ms < self._check_at:
            return False
        self._check_at = now_ms + _CHECK_MS
        b = self.b_at(now_ms)
        self.b = b
        save = self._dirty
        self._dirty = False
        if ev & EV_START:
            if self.n == KEEP:
                i = 1
                while i < KEEP:
                    self.starts[i - 1] = self.starts[i]
                    i += 1
                self.n -= 1
            self.starts[self.n] = b
            self.n += 1
            save = True
        if ev & EV_STOP and sess.stop_reason == STOP_SYMPTOM:
            self.rest_b = b
            save = True
        self._recount(b)
        self.sync(sess)
        return save

    def sync(self, sess):
        """Give the session the day's count and resting flag (also at boot, before the
        first sample: a press may be what woke the ball)."""
        sess.sessions_today = self.count
        sess.resting = self.resting

    def _recount(self, b):
        if self.unix_off is None:
            since = b - DAY_S + 1
        else:
            while b >= self.day_end:
                self.day_end += DAY_S
            since = self.day_end - DAY_S
        n = 0
        i = 0
        while i < self.n:
            if self.starts[i] >= since:
                n += 1
            i += 1
        self.count = n
        self.resting = self.rest_b >= since

    def _link(self, b, unix, utc_off):
        self.unix_off = unix - b
        self.utc_off = utc_off
        self.day_end = b + DAY_S - (unix + utc_off) % DAY_S

    def set_clock(self, now_ms, unix, utc_off=0):
        """The host set the clock (unix seconds, local time = unix + utc_off): from now on
        the day is the local calendar day. B does not move, so no start changes its age."""
        b = self.b_at(now_ms)
        self._link(b, unix, utc_off)
        self._check_at = 0  # recount at the next sample
        self._dirty = True

    def text(self):
        """The state to save, one line of ASCII (the log keeps it in its next_id file)."""
        rtc = int(self.rtc()) if self.rtc is not None else None
        rest = None if self.rest_b == _NEVER else self.rest_b
        words = [TAG, str(self.b), _opt(rtc), _opt(self.unix_off), str(self.utc_off), _opt(rest)]
        for i in range(self.n):
            words.append(str(self.starts[i]))
        return " ".join(words)

    def restore(self, text, unix_now=0, now_ms=0):
        """At boot, from text() as saved (empty: a new ball). unix_now is the board's clock,
        0 when it is not set. Returns None, or why the saved state was not used."""
        if not text:
            b, rtc_save, off, utc, rest, starts = 0, None, None, 0, None, []
        else:
            try:
                w = text.split()
                if w[0] != TAG:
                    raise ValueError("not " + TAG)
                b, rtc_save, off = int(w[1]), _int_opt(w[2]), _int_opt(w[3])
                utc, rest = int(w[4]), _int_opt(w[5])
                starts = [int(x) for x in w[6:]]
            except (ValueError, IndexError) as e:
                self.restore("", unix_now, now_ms)
                return "the day's session count is unreadable ({}): counting from 0".format(e)
        if unix_now and off is not None:
            if unix_now - off > b:  # the host's clock survived in the RTC
                b = unix_now - off
        elif not unix_now and rtc_save is not None and self.rtc is not None:
            r = int(self.rtc())  # (a float on the unix port)
            if r >= rtc_save:  # the RTC ran on (deep sleep, a reset)
                b += r - rtc_save
        self.b0 = self.b = b
        self.ms0 = now_ms
        self.unix_off = None
        self.utc_off = utc
        if unix_now:
            self._link(b, unix_now, utc)
        starts = starts[-KEEP:]
        self.n = len(starts)
        for i in range(self.n):
            self.starts[i] = starts[i]
        self.rest_b = _NEVER if rest is None else rest
        self._recount(b)
        self._check_at = 0
        return None
