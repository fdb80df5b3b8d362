# HX711 load-cell ADC, bit-banged on two GPIOs, RATE pin high: 80 samples/s. read() is polled
# by the 100 Hz loop and never waits: a new conversion every 12.5 ms means most calls find one
# and the rest return the previous reading. Datasheet: Avia Semiconductor HX711 (English),
# sections "Serial Interface" and "Output Data Rate and Format" (p. 4), Fig. 2 / timing table
# and "Reset and Power-Down" (p. 5), "Output settling time" in Table 1 (p. 3).
#
# Protocol, as the datasheet states it:
# - DOUT high: no data ready, PD_SCK must stay low. DOUT low: a conversion is ready.
# - Each positive PD_SCK pulse shifts out one bit, MSB first, valid T2 <= 0.1 us after the
#   rising edge and held until the next one; 24 bits, two's complement. The 25th pulse pulls
#   DOUT high again. 25 pulses in all select channel A gain 128 for the NEXT conversion, 26
#   channel B gain 32, 27 channel A gain 64 (Table 3); fewer than 25 or more than 27 within one
#   conversion period is a serial communication error.
# - PD_SCK high time T3: 0.2 us min, 50 us max. PD_SCK high for more than 60 us powers the chip
#   down; PD_SCK low again resets it, and a reset selects channel A gain 128.
# - Out of range, the output saturates at 800000h (MIN) or 7FFFFFh (MAX).
# - Output settling time after power-up, reset, channel or gain change: 50 ms at 80 SPS.
import time

from ball import const
from ball.sensors import SensorFault

# read() is called once per loop period (app.PERIOD_MS = 10 ms). The timeout counts those calls
# rather than reading a clock: a healthy chip at 80 SPS leaves at most one call in a row
# without data (12.5 ms < 2 x 10 ms), the count needs no clock that wraps, and a loop that
# stalls (a flash write) does not count as a silent sensor because the chip kept converting.
# More than TIMEOUT_CALLS calls (> 100 ms, 8 conversion periods) without a reading: a fault.
TIMEOUT_CALLS = const(10)
# After a reset the chip needs SETTLE_CONVERSIONS conversions before its data can be trusted
# (see below), about 75 ms, so a reset the driver made on purpose (construction, power_up(),
# recovery from a stall) allows this many more calls before "not ready".
SETTLE_GRACE_CALLS = const(10)
# Conversions thrown away after a reset: the first one was made at channel A gain 128 (the
# reset default, perhaps not our gain); reading it selects our gain, and the settling time
# (50 ms = 4 periods at 80 SPS) runs from that selection, so the next 4 are discarded too.
SETTLE_CONVERSIONS = const(5)
# One PD_SCK pulse, measured from before the rising edge to after the falling edge, longer
# than T3 max (50 us): the chip may have powered down mid-transfer (over 60 us).
_HIGH_MAX_US = const(50)
# Deliberate power-down: PD_SCK high well beyond the datasheet's 60 us.
_POWER_DOWN_US = const(100)
_SAT_MAX = const(0x7FFFFF)
_SAT_MIN = const(0x800000)
_SIGN = const(0x800000)
_WRAP = const(0x1000000)
# Calls without a reading are counted up to here: past this they stay small ints.
_STALE_CAP = const(1000000)
# Extra pulses after the 24 data bits, per gain (Table 3).
_EXTRA_PULSES = {128: 1, 32: 2, 64: 3}


class HX711:
    """HX711 on two pins with value()/value(v) (a machine.Pin on the ball, a fake in tests).

    read() -> int counts, larger = more force (invert=True when the bridge is wired the other
    way round); never blocks, never allocates on MicroPython. `clock` provides ticks_us() and
    ticks_diff(a, b): the `time` module on the ball, the fake's virtual clock in tests.

    PD_SCK is high only between two consecutive pin writes (data is read after the falling
    edge, where it is still valid), a few microseconds of bytecode. An interrupt or a task
    switch landing exactly there can still hold it high past 60 us and power the chip down
    (which resets it, mid-transfer): every pulse is timed, and one longer than T3 max drops the
    reading, stops clocking at once (a reset chip must not see stray pulses) and power-cycles
    the chip on purpose, so it is in a known state whatever happened; the settling discard then
    re-selects our gain. The timing brackets the high time, so it can only over-estimate: a
    preemption just before a rising edge costs a needless reset, never a missed power-down.
    `stalls` counts these recoveries."""

    def __init__(self, dout, pd_sck, gain=128, invert=False, clock=time):
        if gain not in _EXTRA_PULSES:
            raise ValueError("HX711 gain must be 128, 64 or 32")
        self.gain = gain
        self._extra = _EXTRA_PULSES[gain]
        self._invert = invert
        # Bound methods looked up once: the bit loop calls them 27 times per reading.
        self._dout = dout.value
        self._sck = pd_sck.value
        self._us = clock.ticks_us
        self._diff = clock.ticks_diff
        self._last = 0
        self._valid = False
        self._stale = 0
        self._grace = 0
        self._settle = 0
        self._saturated = False
        self._down = False
        self._t_down = 0
        self.stalls = 0
        # Whatever the chip was doing (the MCU may have rebooted mid-transfer): reset it.
        self.reset()

    def ready(self):
        """A conversion is waiting to be clocked out (DOUT low)."""
        return not self._down and self._dout() == 0

    def settled(self):
        """read() has a reading of this chip to give: false from construction or power_up()
        until the first settled conversion, about 75 ms later. The board layer polls read()
        (catching "settling") until this is true before the loop starts, so a boot is not
        logged as a sensor fault."""
        return self._valid

    def power_down(self):
        """PD_SCK high and left there: the chip powers down after 60 us (Fig. 3)."""
        self._sck(1)
        self._down = True
        self._t_down = self._us()

    def power_up(self):
        """PD_SCK low: the chip resets to channel A gain 128 and converts again; the driver
        re-selects its gain and discards the readings made while the chip settles. Until a
        settled reading arrives read() raises SensorFault("settling"): a reading from before
        is not passed off as this chip's."""
        self._release()
        self._valid = False
        self._stale = 0
        self._grace = SETTLE_GRACE_CALLS

    def reset(self):
        """A power cycle (the app's retry while the sensor is faulty)."""
        self.power_down()
        self.power_up()

    def _release(self):
        # Wait out the rest of the power-down time first, so that power_down() immediately
        # followed by power_up() still makes a real reset.
        us = self._us
        diff = self._diff
        while diff(us(), self._t_down) < _POWER_DOWN_US:
            pass
        self._sck(0)
        self._down = False
        self._settle = SETTLE_CONVERSIONS
        self._saturated = False

    def _cycle(self):
        """A reset of the driver's own: the not-ready timeout keeps counting through it, and
        the last reading stays on offer (within that timeout) while the chip settles."""
        self.power_down()
        self._release()

    def read(self):
        """The latest reading in counts, or the previous one when no conversion is ready.
        Raises SensorFault: "saturated" (out of range), "not ready" (no reading for more than
        TIMEOUT_CALLS calls: disconnected, or not converting), "settling" (no reading yet
        since construction or power_up()), "powered down"."""
        if self._down:
            raise SensorFault("powered down")
        dout = self._dout
        if dout():
            return self._no_reading()
        sck = self._sck
        us = self._us
        diff = self._diff
        raw = 0
        i = 0
        n = 24 + self._extra
        while i < n:
            t = us()
            sck(1)
            sck(0)
            if diff(us(), t) > _HIGH_MAX_US:
                return self._stalled()
            if i < 24:
                raw = (raw << 1) | dout()
            i += 1
        if self._settle:
            self._settle -= 1
            return self._no_reading()
        self._stale = 0
        self._grace = 0
        self._valid = True
        if raw == _SAT_MAX or raw == _SAT_MIN:
            self._saturated = True
            raise SensorFault("saturated")
        self._saturated = False
        if raw & _SIGN:
            raw -= _WRAP
        if self._invert:
            raw = -raw
        self._last = raw
        return raw

    def _no_reading(self):
        """This call brought no new reading: the previous one, unless it is too old."""
        n = self._stale
        if n < _STALE_CAP:
            n += 1
            self._stale = n
        limit = TIMEOUT_CALLS + self._grace
        if n > limit:
            if n == limit + 1:
                # One recovery attempt: a chip confused by a glitch on PD_SCK (a serial
                # communication error) only comes back through a reset. The fault stands
                # until a settled reading arrives: no stale value is passed off as fresh.
                self._cycle()
            raise SensorFault("not ready")
        if not self._valid:
            raise SensorFault("settling")
        if self._saturated:
            # The latest conversion was out of range: so is the force until one is not.
            raise SensorFault("saturated")
        return self._last

    def _stalled(self):
        """A pulse overran T3 max: the reading is dropped and the chip reset on purpose."""
        self.stalls += 1
        self._cycle()
        self._grace = SETTLE_GRACE_CALLS
        return self._no_reading()
