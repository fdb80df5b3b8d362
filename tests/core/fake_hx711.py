# A simulated HX711 at the pin level, on a virtual clock in microseconds, following the Avia
# datasheet (Serial Interface, Output Data Rate and Format, Fig. 2 timing, Reset and
# Power-Down): conversions every 12.5 ms (RATE=1, 80 SPS) pull DOUT low; each rising PD_SCK
# edge shifts out one bit, MSB first; the 25th pulse pulls DOUT high and pulses 25/26/27 select
# channel A 128 / B 32 / A 64 for the next conversion; PD_SCK high for more than 60 us powers
# it down and PD_SCK low again resets it to channel A gain 128; data is unsettled for 50 ms
# after a reset or a gain change. It records what a driver did wrong in `errors`.
#
# Time moves only through the fake: every pin operation takes `op_us`, every ticks_us() call
# 1 us, advance(us) is the rest of the loop. Nothing on the normal path allocates, so a driver
# can be heap-locked on MicroPython while it talks to this fake.

PERIOD_US = 12500  # 80 SPS
POWER_DOWN_US = 60  # PD_SCK high longer than this: power down (Fig. 3)
T3_MAX_US = 50  # PD_SCK high time, max (Fig. 2 timing table)
SETTLE_US = 50000  # output settling time at 80 SPS (Table 1)
# What a conversion reads while the chip settles: no driver must ever return it.
UNSETTLED = 0x155555
# (channel, gain) selected by the number of pulses in a transfer (Table 3).
GAIN_BY_PULSES = {25: 128, 26: 32, 27: 64}


class FakePin:
    """One line of the fake: value() reads it, value(v) drives it (PD_SCK only)."""

    def __init__(self, chip, is_clock):
        self.chip = chip
        self.is_clock = is_clock

    def value(self, v=None):
        chip = self.chip
        if v is None:
            level = chip.sck if self.is_clock else chip.dout_level()
            chip.tick(chip.op_us)
            return level
        if not self.is_clock:
            chip.error("DOUT is an output of the HX711: the MCU drove it")
        else:
            chip.set_sck(1 if v else 0)
        chip.tick(chip.op_us)
        return None


class FakeHX711:
    """Inputs: `a` (channel A counts at gain 128; gain 64 reads half), `b` (channel B at gain
    32), `raw` (a 24-bit code every conversion returns instead, when not None),
    `disconnected` (DOUT stays high). Records: `errors`, `pulses` (transfers by pulse count),
    `selected` (transfers by the gain they selected), `powerdowns`, `resets`,
    `max_high_us` (the longest PD_SCK high time outside power-downs), `conversions`."""

    def __init__(self, a=0, b=0, op_us=2):
        self.dout = FakePin(self, False)
        self.pd_sck = FakePin(self, True)
        self.op_us = op_us
        self.a = a
        self.b = b
        self.raw = None
        self.disconnected = False
        self.now = 0
        self.sck = 0
        self.rise_us = 0
        self.down = False
        self.gain = 128
        self.settle_from = 0
        self.next_conv = PERIOD_US
        self.data = 0
        self.has_data = False  # a conversion not yet clocked out: DOUT low
        self.n = 0  # pulses in the transfer under way
        self.gain_before = 128
        self.settle_before = 0
        # What is wrong with the pulse under way, if it turns out to be one: a rising edge
        # that ends in a power-down was not a pulse (Fig. 3).
        self.bad_pulse = None
        self.stall_pulse = 0
        self.stall_us = 0
        self.errors = []
        self.pulses = [0] * 32
        self.selected = {128: 0, 64: 0, 32: 0}
        self.powerdowns = 0
        self.resets = 0
        self.max_high_us = 0
        self.conversions = 0
        self.unsettled = 0

    # -- the clock the driver is given ------------------------------------------------------
    def ticks_us(self):
        t = self.now
        self.tick(1)
        return t

    def ticks_diff(self, a, b):
        return a - b

    # -- test hooks -------------------------------------------------------------------------
    def advance(self, us):
        """Let time pass outside the driver (the rest of a loop period)."""
        self.tick(us)

    def stall_on_pulse(self, pulse, us):
        """At the `pulse`-th rising edge of a later transfer, hold PD_SCK high `us` longer:
        an interrupt or a task switch between the driver's two pin writes."""
        self.stall_pulse = pulse
        self.stall_us = us

    def error(self, msg):
        self.errors.append("t={} us: {}".format(self.now, msg))

    # -- the chip ---------------------------------------------------------------------------
    def dout_level(self):
        if self.disconnected or self.down:
            return 1
        n = self.n
        if 1 <= n <= 24:
            return (self.data >> (24 - n)) & 1
        if n == 0 and self.has_data:
            return 0
        return 1

    def tick(self, us):
        end = self.now + us
        if self.sck and not self.down and end - self.rise_us > POWER_DOWN_US:
            down_at = self.rise_us + POWER_DOWN_US
            self.convert_until(down_at)
            self.down = True
            self.powerdowns += 1
        if not self.down:
            self.convert_until(end)
        self.now = end

    def convert_until(self, t):
        while self.next_conv <= t:
            self.complete(self.next_conv)
            self.next_conv += PERIOD_US

    def complete(self, at):
        n = self.n
        if 1 <= n <= 24:
            self.error("conversion done mid-transfer after {} pulses".format(n))
        self.n = 0
        if self.disconnected:
            return
        self.conversions += 1
        if self.raw is not None:
            code = self.raw
        elif at - self.settle_from < SETTLE_US:
            code = UNSETTLED
            self.unsettled += 1
        else:
            if self.gain == 128:
                v = self.a
            elif self.gain == 64:
                v = self.a // 2
            else:
                v = self.b
            if v > 0x7FFFFF:
                v = 0x7FFFFF
            elif v < -0x800000:
                v = -0x800000
            code = v & 0xFFFFFF
        self.data = code
        self.has_data = True

    def set_sck(self, v):
        if v == self.sck:
            return
        self.sck = v
        if v:
            self.rise_us = self.now
            self.rising_edge()
            if self.stall_pulse and self.stall_pulse == self.n:
                self.stall_pulse = 0
                self.tick(self.stall_us)
            return
        high = self.now - self.rise_us
        bad = self.bad_pulse
        self.bad_pulse = None
        if self.down:
            self.reset()
            return
        if bad is not None:
            self.error(bad)
        if high > self.max_high_us:
            self.max_high_us = high
        if high > T3_MAX_US:
            self.error("PD_SCK high {} us, over T3 max {} us".format(high, T3_MAX_US))

    def rising_edge(self):
        n = self.n
        if n == 0:
            if not self.has_data or self.disconnected:
                self.bad_pulse = "PD_SCK pulse while DOUT is high (no data ready)"
                return
            self.gain_before = self.gain
            self.settle_before = self.settle_from
        n += 1
        self.n = n
        if n < 25:
            return
        if n == 25:
            self.has_data = False
        elif n > 27:
            self.bad_pulse = "{} PD_SCK pulses in one conversion period (max 27)".format(n)
            return
        else:
            self.pulses[n - 1] -= 1
            self.selected[self.gain] -= 1
        self.pulses[n] += 1
        self.gain = GAIN_BY_PULSES[n]
        self.selected[self.gain] += 1
        # Settling runs from a change of channel or gain, not from re-selecting the same one.
        if self.gain == self.gain_before:
            self.settle_from = self.settle_before
        else:
            self.settle_from = self.now

    def reset(self):
        """PD_SCK low after a power-down: reset, channel A gain 128, conversions restart."""
        self.down = False
        self.resets += 1
        self.gain = 128
        self.n = 0
        self.has_data = False
        self.settle_from = self.now
        self.next_conv = self.now + PERIOD_US
