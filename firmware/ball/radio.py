# When the ball's radio is on (issue 11, item 1): only while it is useful. A transmitting
# ESP32 draws 100+ mA against ~40 mA for the loop alone, so a ball left with its radio on
# would empty its cell in a few hours on a shelf. On from boot (a reset, or a press that woke
# the ball), on while a session runs, while the ball is pressed or a page is open, and for
# KEEP_MS after the last of those (or after `KB wifi`); then off until the next press. A
# pure state machine driven by time and what the app sees: the board layer owns `network`,
# start.RadioSwitch turns its answer into the page's server and the radio.
#
# A low cell never gets the radio: its transmit peaks (240-340 mA) through the cell's
# protection and the LDO can brown the ball out (hardware guide §3.8). Board.net refuses it
# below LOW_MV when asked; a ball already serving switches off here, on the app's battery
# readings (every 5 s in a session, 30 s between), and comes back only once the cell reads
# _BACK_MV: with the radio off a sagging cell recovers, and the floor alone would flap.
from ball import const
from ball.app import NO_CELL_MV

KEEP_MS = const(300000)  # five minutes after the last use
LOW_MV = const(3600)  # the radio off below this
_BACK_MV = const(3700)  # and on again (when in use) from this


class Radio:
    def __init__(self, now_ms, keep_ms=KEEP_MS):
        self.keep_ms = keep_ms
        self.on = True  # from boot: whoever reset or woke the ball may be about to look
        self.used_ms = now_ms
        self.low = False  # the cell read under LOW_MV (and not back to _BACK_MV since)

    def wake(self, now_ms):
        """Asked for (`KB wifi`): on now, for keep_ms from now."""
        self.used_ms = now_ms

    def step(self, now_ms, busy, mv=0):
        """busy: a session runs, the ball is pressed or a page is open; mv: the battery's
        last reading (0, or under NO_CELL_MV: no cell on the divider). Returns True when the
        radio should change (self.on says to what)."""
        if busy or now_ms < self.used_ms:  # (the app's clock rebased: count from now)
            self.used_ms = now_ms
        if mv >= NO_CELL_MV:
            if mv < LOW_MV:
                self.low = True
            elif mv >= _BACK_MV:
                self.low = False
        on = not self.low and now_ms - self.used_ms < self.keep_ms
        if on == self.on:
            return False
        self.on = on
        return True
