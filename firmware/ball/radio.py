# When the ball's radio is on (issue 11, item 1): only while it is useful. A transmitting
# ESP32 draws 100+ mA against ~40 mA for the loop alone, so a ball left with its radio on
# would empty its cell in a few hours on a shelf. On from boot (a reset, or a press that woke
# the ball), on while a session runs, while the ball is pressed or a page is open, and for
# KEEP_MS after the last of those (or after `KB wifi`); then off until the next press. A
# pure state machine driven by time and what the app sees: the board layer owns `network`,
# start.RadioSwitch turns its answer into the page's server and the radio (the battery's
# floor stays in Board.net: a low cell never gets the radio, whatever this says).
from ball import const

KEEP_MS = const(300000)  # five minutes after the last use


class Radio:
    def __init__(self, now_ms, keep_ms=KEEP_MS):
        self.keep_ms = keep_ms
        self.on = True  # from boot: whoever reset or woke the ball may be about to look
        self.used_ms = now_ms

    def wake(self, now_ms):
        """Asked for (`KB wifi`): on now, for keep_ms from now."""
        self.used_ms = now_ms

    def step(self, now_ms, busy):
        """busy: a session runs, the ball is pressed or a page is open. Returns True when
        the radio should change (self.on says to what)."""
        if busy or now_ms < self.used_ms:  # (the app's clock rebased: count from now)
            self.used_ms = now_ms
        on = now_ms - self.used_ms < self.keep_ms
        if on == self.on:
            return False
        self.on = on
        return True
