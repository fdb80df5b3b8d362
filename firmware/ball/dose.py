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
#
# Areas: each count also keeps the body area its session was for ("" none) and the seconds it
# used. With an area chosen (set_area: `KB area`, the phone page), the session's count and
# rest are that area's: up to the config's max_sessions_per_day sessions on it, and at most
# AREA_DAY_S on it in all (the guidance: up to three times a day, at most 6 minutes each), so
# a session's limit is what the area has left today. At the default of 3 sessions a day the
# sessions' own cap keeps to it; with max_sessions_per_day raised, this does.
# A session's seconds are counted as its whole limit from its start (a power cut cannot hide
# them) and as its real length once it stops. Without an area the whole body's count holds
# (every session of the day counts), as on a ball nobody chose an area on. A symptom stop
# rests the whole body, whatever the area: numbness is a warning about more than one spot.
from ball import const
from ball.session import ACTIVE, EV_START, EV_STOP, STOP_SYMPTOM

DAY_S = const(86400)
_MIN_DAY_S = const(23 * 3600)  # the shortest local day: daylight saving starting
KEEP = const(64)  # counts kept: 3 a day on each of the 18 areas a config can name, and more;
# a day with KEEP sessions still counted gets the rest signal (none is ever forgotten)
AREA_DAY_S = const(3 * 360)  # the most one area gets in a day: 3 x config.HARD_CAP_S
_MIN_LEFT_S = const(10)  # an area with less left than this has had its day
NO_CAP_MS = const(1 << 29)  # Session.left_ms when no area limits it
_CHECK_MS = const(1000)  # the count is brought up to date once a second
# Body areas a session can be for (the log and the host keep the name). The person may add
# up to AREAS_MAX names of their own (the config's "areas"), each 1 to AREA_LEN characters
# of a-z, 0-9, "_" and "-", beginning with a letter: one word on a console line, one short
# field in a log header (ball/wire/records.py AREA_LEN). Here, not in config.py: the sim
# and a small heap never load them.
AREAS = (
    "upper_back_left", "upper_back_right", "neck_shoulder_left", "neck_shoulder_right",
    "lower_back", "glutes_left", "glutes_right", "hamstrings", "calves", "soles",
)  # fmt: skip
AREAS_MAX = 8
AREA_LEN = 20
NO_AREA = "none"  # `KB area none`: sessions for no area in particular (the whole-body limit)
# First word of the saved text, naming its layout. day4: B, RTC seconds, unix offset, UTC
# offset, B the day ends (0: no clock set yet), B the symptom rest ends (0: none), the area
# chosen ("-": none), then each count: the B it ends, or "B,AREA,SECONDS" for a session on
# an area. Read only: day3, the same without the area chosen and with plain counts; day2, as
# day3 without the day's end; day1, as day2 but the symptom stop's B ("-": none) and the
# starts' B, each taken to count 24 h.
TAG = "day4"
_DAY3 = "day3"
_DAY2 = "day2"
_DAY1 = "day1"


def area_problem(name):
    """Why `name` cannot be an area's name, or None."""
    import json

    if not isinstance(name, str) or not 1 <= len(name) <= AREA_LEN:
        return "must be 1 to {} characters, got {}".format(AREA_LEN, json.dumps(name)[:40])
    for ch in name:
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch in "_-"):
            return "may hold only a-z, 0-9, _ and -, got {}".format(json.dumps(name)[:40])
    if not "a" <= name[0] <= "z":
        return "must begin with a letter (a-z), got {}".format(json.dumps(name))
    if name == NO_AREA:
        return '"{}" means no area; choose another name'.format(NO_AREA)
    return None


def check_areas(names):
    """The config's "areas" (config.validate): config.ConfigError naming what is wrong."""
    from ball.config import ConfigError

    if not isinstance(names, list) or len(names) > AREAS_MAX:
        raise ConfigError("areas", "must be a list of up to {} names".format(AREAS_MAX))
    for i, n in enumerate(names):
        why = area_problem(n)
        if why is None and (n in AREAS or n in names[:i]):
            why = "{} is already an area".format(n)
        if why:
            raise ConfigError("areas", "name {}: {}".format(i + 1, why))


def areas(cfg):
    """Every area a session can be for with this config: the built-in ones, then the person's."""
    return list(AREAS) + list(cfg.get("areas", ()))


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
        self.areas = [""] * KEEP  # the area of each ("": none)
        self.used = [0] * KEEP  # the seconds each used (its limit while it runs)
        self.n = 0
        self.area = ""  # the area chosen for the next session ("": none)
        self.area_b = b""  # the same, as the log's header takes it
        self.left_ms = NO_CAP_MS  # what the chosen area has left today
        self.area_day_s = AREA_DAY_S  # (a test may make it shorter)
        self._running = False  # the newest count is a session still running
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
            i = self.n
            self.ends[i] = self._end(b)
            self.areas[i] = self.area
            self.used[i] = (sess.limit_ms + 999) // 1000
            self.n += 1
            self._running = True
            save = True
        if ev & EV_STOP:
            if self._running:
                self.used[self.n - 1] = (sess.elapsed_ms + 999) // 1000
                self._running = False
                save = True
            if sess.stop_reason == STOP_SYMPTOM:
                self.rest_end = self._end(b)
                save = True
        self.resting = self.rest_end > b
        self._tally()
        self.sync(sess)
        return save

    def _of(self, a, skip=-1):
        """(sessions, seconds) counted today for area a, but the one at index skip."""
        count = 0
        secs = 0
        i = 0
        while i < self.n:
            if i != skip and self.areas[i] == a:
                count += 1
                secs += self.used[i]
            i += 1
        return count, secs

    def _tally(self):
        """The chosen area's count and what it has left (all sessions without an area)."""
        a = self.area
        if not a:
            self.count = self.n
            self.left_ms = NO_CAP_MS if self.n < KEEP else 0
            return
        count, secs = self._of(a)
        self.count = count
        left = self.area_day_s - secs
        # A full record would forget a count to make room: rest until one ends instead.
        self.left_ms = left * 1000 if left >= _MIN_LEFT_S and self.n < KEEP else 0

    def sync(self, sess):
        """Give the session the day's count, resting flag and what its area has left (also
        at boot, before the first sample: a press may be what woke the ball)."""
        sess.sessions_today = self.count
        sess.resting = self.resting
        sess.left_ms = self.left_ms

    def set_area(self, area, sess, move=True):
        """The area of the sessions from now on ("": none), between samples. A running
        session moves to it too when that area can take it: fewer than max_sessions_per_day
        other sessions on it today, and _MIN_LEFT_S more of its day left than the session has
        run; the session's limit then becomes that area's time left (never more than the
        config's), and it counts against that area alone; not when `move` is False (the log
        cannot note it now). Saved with the day (the caller asks the log to). Returns True
        when the running session moved."""
        moved = False
        i = self.n - 1
        if move and self._running and sess.state == ACTIVE and self.areas[i] != area:
            if area:
                count, secs = self._of(area, i)
                left_ms = (self.area_day_s - secs) * 1000
            else:  # no area: the whole body's count, and no time of its own
                count, left_ms = i, sess.cfg_limit_ms
            if count < sess.max_per_day and left_ms - sess.elapsed_ms >= _MIN_LEFT_S * 1000:
                lim = sess.cfg_limit_ms
                sess.set_limit(left_ms if left_ms < lim else lim)
                self.areas[i] = area
                self.used[i] = (sess.limit_ms + 999) // 1000
                moved = True
        self.area = area
        self.area_b = area.encode()
        self._tally()
        self.sync(sess)
        return moved

    def today(self):
        """{area: [sessions, seconds]} of the counts still running ("" for no area)."""
        out: dict = {}
        for i in range(self.n):
            t = out.setdefault(self.areas[i], [0, 0])
            t[0] += 1
            t[1] += self.used[i]
        return out

    def _end(self, b):
        """When what starts at B b stops counting: the day's end, or 24 h on."""
        return self.day_end if self.day_end else b + DAY_S

    def _drop(self, i):
        if i == self.n - 1:
            self._running = False  # (the running session's day ended under it)
        while i < self.n - 1:
            self.ends[i] = self.ends[i + 1]
            self.areas[i] = self.areas[i + 1]
            self.used[i] = self.used[i + 1]
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
        words.append(self.area or "-")
        for i in range(self.n):
            w = str(self.ends[i])
            if self.areas[i]:
                w += ",{},{}".format(self.areas[i], self.used[i])
            words.append(w)
        return " ".join(words)

    def restore(self, text, unix_now=0, now_ms=0):
        """At boot, from text() as saved (empty: a new ball). unix_now is the board's clock,
        0 when it is not set. Returns None, or why the saved state was not used."""
        day_end = 0
        area = ""
        counts = []  # (B it ends, area, seconds)
        if not text:
            b, rtc_save, off, utc, rest = 0, None, None, 0, 0
        else:
            try:
                w = text.split()
                if w[0] not in (TAG, _DAY3, _DAY2, _DAY1):
                    raise ValueError("not " + TAG)
                b, rtc_save, off = int(w[1]), _int_opt(w[2]), _int_opt(w[3])
                utc = int(w[4])
                if w[0] in (TAG, _DAY3):
                    day_end = int(w[5])
                    w.pop(5)  # the rest as in day2
                if w[0] == TAG:
                    area = w.pop(6)
                    area = "" if area == "-" else area
                for x in w[6:]:
                    c = x.split(",")
                    if len(c) not in (1, 3):
                        raise ValueError("count " + x[:30])
                    counts.append((int(c[0]), c[1], int(c[2])) if len(c) == 3 else (int(x), "", 0))
                if w[0] == _DAY1:  # starts and a stop: each counted 24 h, the longest a day
                    counts = [(e + DAY_S, a, u) for e, a, u in counts]
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
        counts = counts[-KEEP:]
        self.n = len(counts)
        for i in range(self.n):
            self.ends[i], self.areas[i], self.used[i] = counts[i]
        self._running = False
        self.area = area
        self.area_b = area.encode()
        self.rest_end = rest
        self._recount(b)
        self._tally()
        self.resting = rest > b
        self._check_at = 0
        return None
