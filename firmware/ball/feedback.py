# Feedback: turns session state and events into LED colour and haptic patterns over time.
# Non-blocking (update() is called every sample), allocation-free, and always able to go OFF.
# The person cannot see a ball behind their back: every cue has its own feel.
from ball import const
from ball import session as s

# LED colour per band while a session can run (idle, light, medium, firm, over).
BAND_RGB = ((0, 0, 16), (0, 96, 0), (96, 80, 0), (128, 40, 0), (160, 0, 0))
DONE_RGB = (16, 16, 16)  # calm after a stop
REST_RGB = (12, 0, 20)  # pressed after the day's last session
SYMPTOM_RGB = (0, 40, 40)  # stopped for numbness or tingling: steady teal, rest now
FAULT_RGB = (96, 0, 96)  # the sensor failed: magenta, blinking at 2 Hz
_FAULT_BLINK_MS = const(250)
# The zero drifted past drift_max_n (recalibrate): between sessions, a yellow wink of 200 ms
# every 2 s over the usual colour ("attention": cyan is calibration mode's, teal a symptom
# stop's), and a wink is neither the fault's even magenta blink nor the low battery's buzz.
DRIFT_RGB = (64, 64, 0)
_DRIFT_EVERY_MS = const(2000)
_DRIFT_WINK_MS = const(200)
OFF_RGB = (0, 0, 0)
_OVER_BLINK_MS = const(125)  # the over band blinks red at 4 Hz
_REST = const(1)  # Feedback.rest: the LED shows REST_RGB while stopped
_SYMPTOM = const(2)  # Feedback.rest: the LED shows SYMPTOM_RGB while stopped

# Haptic patterns: alternating on/off durations in ms, a duty (0..1000) and a priority.
# Each one is distinct by rhythm, so it can be told apart through a back.
START = ((60,), 600, 1)  # a tick: timing has begun
HOLD_EFFECTIVE = ((120, 120, 120), 800, 2)  # double tap: this hold has done its work
HOLD_LONG = ((400, 200, 400, 200, 400), 800, 3)  # three long: move on
TIME_WARNING = ((600, 300, 150), 900, 4)  # long-short: the limit is near
DONE = ((1500,), 1000, 5)  # one long buzz: the session is over
REST = ((200, 400, 200, 400, 200), 700, 5)  # slow triple: rest, no session now
# One long soft buzz: stopped for a symptom. Softer and longer than `done`, and above
# too_hard, so the gesture's own squeezes cannot cut it short.
SYMPTOM = ((2500,), 400, 7)
TOO_HARD = ((60, 60, 60, 60, 60, 60, 60), 1000, 6)  # rapid buzz, repeated while too hard
LOW_BATTERY = ((300, 300, 300, 300, 60), 700, 1)  # two slow and a tick, at start: charge me
# Three ticks and a long buzz, once: the cell reached its cut-off, the ball sleeps until it
# is charged. Above every other cue: nothing may cut it short.
EMPTY = ((80, 200, 80, 200, 80, 400, 1200), 800, 9)
EMPTY_RGB = (96, 0, 0)  # dim red with it, before the LED goes dark for good
_TOO_HARD_REPEAT_MS = const(1000)
# Safety: the motor is never on continuously for longer than this, whatever asked for it.
MOTOR_MAX_ON_MS = const(3000)


class Feedback:
    def __init__(self, outputs):
        self.out = outputs
        self.r = -1
        self.g = -1
        self.b = -1
        self.duty = -1
        self._pat = None
        self._idx = 0
        self._seg_end = 0
        self._over_since = 0
        self._motor_since = -1
        self.motor_started_ms = None  # when the motor last started from off (the page's
        # server holds its sends while it does: ball/web.py MOTOR_HOLD_MS), None: never
        self.rest = 0  # what the LED shows while stopped: done (0), _REST or _SYMPTOM
        self.fault = False  # while set: motor off, fault pattern on the LED
        self.low_battery = False  # while set: sessions start with the low-battery cue
        self.drift = False  # while set: the drift wink between sessions

    def play(self, now_ms, pattern):
        """Start `pattern` unless one of higher priority is playing."""
        if self._pat is not None and self._pat[2] > pattern[2]:
            return
        self._pat = pattern
        self._idx = 0
        self._seg_end = now_ms + pattern[0][0]

    def playing(self):
        return self._pat is not None

    def _cue(self, now_ms, ev, sess):
        if ev & s.CUE_TOO_HARD:
            self._over_since = now_ms
            self.play(now_ms, TOO_HARD)
        elif sess.state == s.ACTIVE and sess.band == s.OVER:
            if now_ms - self._over_since >= _TOO_HARD_REPEAT_MS:
                self._over_since = now_ms
                self.play(now_ms, TOO_HARD)
        if ev & s.CUE_DONE:
            self.rest = _SYMPTOM if sess.stop_reason == s.STOP_SYMPTOM else 0
            self.play(now_ms, SYMPTOM if self.rest else DONE)
        if ev & s.CUE_REST:
            self.rest = _REST
            self.play(now_ms, REST)
        if ev & s.CUE_TIME_WARNING:
            self.play(now_ms, TIME_WARNING)
        if ev & s.CUE_HOLD_LONG:
            self.play(now_ms, HOLD_LONG)
        if ev & s.CUE_HOLD_EFFECTIVE:
            self.play(now_ms, HOLD_EFFECTIVE)
        if ev & s.EV_START:
            self.rest = 0
            self.play(now_ms, LOW_BATTERY if self.low_battery else START)

    def _motor_duty(self, now_ms):
        pat = self._pat
        if pat is None:
            return 0
        segs = pat[0]
        while now_ms >= self._seg_end:
            self._idx += 1
            if self._idx >= len(segs):
                self._pat = None
                return 0
            self._seg_end += segs[self._idx]
        return pat[1] if self._idx & 1 == 0 else 0

    def update(self, now_ms, ev, sess):
        if self.fault:
            self._pat = None  # no reading to trust: no cue, and the motor off now
            self._motor_since = -1
            if self.duty != 0:
                self.duty = 0
                self.out.motor(0)
            self._led(FAULT_RGB if (now_ms // _FAULT_BLINK_MS) & 1 == 0 else OFF_RGB)
            return
        self._cue(now_ms, ev, sess)
        duty = self._motor_duty(now_ms)
        if duty == 0:
            self._motor_since = -1
        elif self._motor_since < 0:
            self._motor_since = now_ms
        elif now_ms - self._motor_since >= MOTOR_MAX_ON_MS:
            self._pat = None
            self._motor_since = -1
            duty = 0
        if duty and not self.duty:
            duty = duty // 2  # soft start: half duty for one sample eases the motor's inrush
            self.motor_started_ms = now_ms
        if duty != self.duty:
            self.duty = duty
            self.out.motor(duty)
        state = sess.state
        if state == s.STOPPED:
            rgb = SYMPTOM_RGB if self.rest == _SYMPTOM else REST_RGB if self.rest else DONE_RGB
        elif state == s.ACTIVE and sess.band == s.OVER and (now_ms // _OVER_BLINK_MS) & 1:
            rgb = OFF_RGB
        else:
            rgb = BAND_RGB[sess.band]
        if self.drift and state != s.ACTIVE and now_ms % _DRIFT_EVERY_MS < _DRIFT_WINK_MS:
            rgb = DRIFT_RGB
        if self._pat is EMPTY:
            rgb = EMPTY_RGB
        self._led(rgb)

    def _led(self, rgb):
        if rgb[0] != self.r or rgb[1] != self.g or rgb[2] != self.b:
            self.r = rgb[0]
            self.g = rgb[1]
            self.b = rgb[2]
            self.out.led(self.r, self.g, self.b)

    def off(self):
        """Motor and LED off, now. Safe to call at any time, any number of times."""
        self._pat = None
        self._motor_since = -1
        self.duty = 0
        self.out.motor(0)
        self.r = self.g = self.b = 0
        self.out.led(0, 0, 0)
