# Sessions per day across reboots, deep sleep and power cuts. Each session counted, and each
# symptom rest, carries when it ends on the ball's own clock, fixed when it starts: the next
# local midnight once the host has set the clock, else 24 hours on. step() runs in the
# sampling loop (small ints, no allocation); set_clock(), text() and restore() run between
# samples or at boot.
#
# The ball's own clock counts "ball seconds" (B): 0 on a new ball, never going back. At boot
# it goes on from the B last saved, plus what has passed since: by the host's clock when the
# RTC kept it (deep sleep, a reset), else by the RTC's own seconds when they kept running.
# When neither survived (a power cut), the time with the power off is unknown and taken as
# none: the day's sessions stay counted longer rather than being forgotten. Setting the clock
# never moves B, it only links B to unix time: a jump forward is believed for dates, never
# for rest. A count or a rest ends only when B reaches the end it was given (moving the
# clock to 23:59:59, or to the next day, ends nothing: the count stays today's).
# The day itself is the ball's too: its end (in B) is fixed by the first clock a host sets,
# and each next day ends at the first local midnight at least 23 h of B later (the shortest
# local day, when daylight saving starts). Setting the clock never moves the end of the day
# under way, so a host moving the clock to 23:59:50 before each session gets no extra day:
# no day is shorter than a real one on the ball's own clock, and a bigger change that brings
# midnight earlier (travelling east) makes one day longer instead. The day's end is saved
# with the count, so a reboot or a power cut keeps it.
from ball import const
from ball.session import EV_START, EV_STOP, STOP_SYMPTOM

DAY_S = const(86400)
_MIN_DAY_S = const(23 * 3600)  # the shortest local day: daylight saving starting
KEEP = const(24)  # counts kept: the config allows at most 24 sessions a day
_CHECK_MS = const(1000)  # the count is brought up to date once a second
# First word of the saved text, naming its layout. day3: B, RTC seconds, unix offset, UTC
# offset, B the day ends (0: no clock set yet), B the symptom rest ends (0: none), then B
# each count ends. Read only: day2, the same without the day's end; day1, as day2 but the
# symptom stop's B ("-": none) and the starts' B, each taken to count 24 h.
TAG = "day3"
_DAY2 = "day2"
_DAY1 = "day1"


def _opt(v):
    return "-" if v is None else str(v)


def _int_opt(word):
    return None if word == "-" else int(word)


class Dose:
    def __init__(self, rtc=None):
        # rtc() -> seconds on a clock that runs on through deep sleep and resets and starts
        # again after a power loss (the ESP32's RTC); None when the board has none.
        self.rtc = rtc
        self.ends = [0] * KEEP  # B at which each session still counted ends, oldest first
        self.n = 0
        self.rest_end = 0  # B at which the last symptom stop's rest ends
        self.b0 = 0  # B at loop time ms0
        self.ms0 = 0
        self.b = 0  # B at the last step that looked
        self.unix_off = None  # unix seconds = B + unix_off, once the host set the clock
        self.utc_off = 0  # local time = unix + utc_off
        self.day_end = 0  # B the day ends (0: no host has set the clock yet)
        self.phase = 0  # local seconds past midnight at B 0, once the clock is set
        self.count = 0  # sessions still counted
        self.resting = False  # a symptom stop's rest still running
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
        self._recount(b)
        if ev & EV_START:
            if self.n == KEEP:
                self._drop(0)
            self.ends[self.n] = self._end(b)
            self.n += 1
            save = True
        if ev & EV_STOP and sess.stop_reason == STOP_SYMPTOM:
            self.rest_end = self._end(b)
            save = True
        self.count = self.n
        self.resting = self.rest_end > b
        self.sync(sess)
        return save

    def sync(self, sess):
        """Give the session the day's count and resting flag (also at boot, before the
        first sample: a press may be what woke the ball)."""
        sess.sessions_today = self.count
        sess.resting = self.resting

    def _end(self, b):
        """When what starts at B b stops counting: the day's end, or 24 h on."""
        return self.day_end if self.day_end else b + DAY_S

    def _drop(self, i):
        while i < self.n - 1:
            self.ends[i] = self.ends[i + 1]
            i += 1
        self.n -= 1

    def _recount(self, b):
        """Drop the counts that have ended by B b; move on to the day under way at b."""
        while self.day_end and b >= self.day_end:
            if self.unix_off is None:  # the clock lost in a power cut: days of 24 h
                self.day_end += DAY_S
            else:
                self.day_end = self._midnight(self.day_end + _MIN_DAY_S)
        i = 0
        while i < self.n:
            if self.ends[i] <= b:
                self._drop(i)
            else:
                i += 1

    def _midnight(self, b):
        """B of the first local midnight at or after B b (with a clock). Small ints only:
        it runs in the sampling loop when a day ends."""
        r = (b + self.phase) % DAY_S
        return b + DAY_S - r if r else b

    def _link(self, b, unix, utc_off):
        """Link B b to unix time; the first link fixes when the day ends."""
        self.unix_off = unix - b
        self.utc_off = utc_off
        self.phase = (unix + utc_off - b) % DAY_S  # local time of day at B 0
        if not self.day_end:
            self.day_end = self._midnight(b + 1)

    def set_clock(self, now_ms, unix, utc_off=0):
        """The host set the clock (unix seconds, local time = unix + utc_off): from now on
        days end at local midnights. B does not move, so no start changes its age, and the
        day under way keeps its end."""
        b = self.b = self.b_at(now_ms)
        self._link(b, unix, utc_off)
        self._check_at = 0  # recount at the next sample
        self._dirty = True

    def text(self):
        """The state to save, one line of ASCII (the log keeps it in its next_id file)."""
        rtc = int(self.rtc()) if self.rtc is not None else None
        words = [TAG, str(self.b), _opt(rtc), _opt(self.unix_off), str(self.utc_off)]
        words.append(str(self.day_end))
        words.append(str(self.rest_end))
        for i in range(self.n):
            words.append(str(self.ends[i]))
        return " ".join(words)

    def restore(self, text, unix_now=0, now_ms=0):
        """At boot, from text() as saved (empty: a new ball). unix_now is the board's clock,
        0 when it is not set. Returns None, or why the saved state was not used."""
        day_end = 0
        if not text:
            b, rtc_save, off, utc, rest, ends = 0, None, None, 0, 0, []
        else:
            try:
                w = text.split()
                if w[0] not in (TAG, _DAY2, _DAY1):
                    raise ValueError("not " + TAG)
                b, rtc_save, off = int(w[1]), _int_opt(w[2]), _int_opt(w[3])
                utc = int(w[4])
                if w[0] == TAG:
                    day_end = int(w[5])
                    w.pop(5)  # the rest as in day2
                ends = [int(x) for x in w[6:]]
                if w[0] == _DAY1:  # starts and a stop: each counted 24 h, the longest a day
                    ends = [x + DAY_S for x in ends]
                    rest = 0 if w[5] == "-" else int(w[5]) + DAY_S
                else:
                    rest = int(w[5])
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
        self.day_end = day_end  # kept through a power cut too: the day ends when B says
        if unix_now:
            self._link(b, unix_now, utc)
        ends = ends[-KEEP:]
        self.n = len(ends)
        for i in range(self.n):
            self.ends[i] = ends[i]
        self.rest_end = rest
        self._recount(b)
        self.count = self.n
        self.resting = rest > b
        self._check_at = 0
        return None
