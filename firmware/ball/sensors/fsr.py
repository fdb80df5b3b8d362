# FSR (force-sensing resistor) driver on the ESP32 ADC: several FSRs, each the upper leg of a
# voltage divider (supply -> FSR -> pin -> divider resistor -> GND), read as one force.
#
# read() returns the FSRs' total conductance in nanosiemens (1 count = 1 nS):
#   V = Vcc * Rd / (Rd + Rfsr)   =>   Gfsr = 1 / Rfsr = V / (Rd * (Vcc - V))
# An FSR's conductance is roughly proportional to its force (Interlink FSR 400 datasheet:
# resistance falls on a power law, R ~ k / F), so conductance is what adds up across sensors.
# A rolling ball turns and each FSR only feels its own side; the same press split between two
# FSRs gives the same summed conductance as on one (exactly for R = k / F, within 2**(1 - a)
# for R = k / F**a), while a sum of voltages grows with the split (the divider saturates) and
# the maximum halves on a straddled press. Parallel FSRs act as one big FSR: sum conductances.
#
# The ADC: read_uv() is calibrated from the chip's eFuse values, but only across each
# attenuation's linear range (MicroPython docs/esp32/quickref.rst; ESP-IDF ADC guide):
# inputs under ~100-150 mV all read alike, and the top is nonlinear. Readings below the range
# mean "no force" (an FSR at rest is ~10 MOhm: ~0 V); readings at or above its top cannot be
# trusted and raise SensorFault. ADC2 is taken by WiFi, so FSRs go on ADC1 (profile.py checks).
#
# Faults: at/above the usable maximum -> SensorFault("saturated") (a press beyond the range);
# held there for `short_after` reads in a row -> "short" (a shorted FSR or a missing divider
# resistor pins the input at the supply for good). A disconnected FSR is NOT reported: its pin
# is pulled to 0 V, which is exactly how an FSR at rest reads, and the ESP32 ADC returns one
# constant value (no noise) for every input under ~100 mV, so "flat zero for a long time" is
# also what a ball lying on a shelf looks like. The other FSRs keep working without it.
# For the same reason a resting ball reads exactly 0 for as long as it rests: the app's
# stuck-sensor check (board.stuck_ms) must stay off for FSRs.
#
# No allocation in read(): index loops, preallocated arrays, and every intermediate below
# 2**30 so it stays a small int on the ESP32 (31-bit small ints; a bigger one is a heap long).
from array import array

from ball import const
from ball.sensors import SensorFault

# Usable (linear) input range of read_uv() per attenuation, in microvolts, keyed like the
# board profile's "adc_atten"; machine.ADC.ATTN_0DB/_2_5DB/_6DB/_11DB on the ESP32 port.
USABLE_UV = {
    "0db": (100000, 950000),
    "2.5db": (100000, 1250000),
    "6db": (150000, 1750000),
    "11db": (150000, 2450000),
}

# Inputs to the fixed-point division stay below 2**22 uV (4.19 V; ESP32 pins take 3.6 V max).
_MAX_UV = const(3600000)
_MAX_OVERSAMPLE = const(64)  # 64 reads of < 2**22 uV sum below 2**28
_NS_PER_S = const(1000000000)
_LIMIT = const(0x3FFFFFFF)  # largest ESP32 small int
# Default run of saturated reads that makes a "short": 10 s at 100 Hz. A hand rarely holds a
# press beyond full scale that long; either way the app treats both as the same fault.
_SHORT_AFTER = const(1000)
_SATURATED = const(1)
_SHORT = const(2)


def usable_range(atten):
    """The (min_uv, max_uv) read_uv() range for an attenuation name ("0db" ... "11db")."""
    if atten not in USABLE_UV:
        raise ValueError("unknown ADC attenuation {!r}: use one of {}".format(atten, USABLE_UV))
    return USABLE_UV[atten]


def nominal_counts_per_n(k_ohm_n):
    """Counts per newton of an ideal FSR with R = k_ohm_n / F (G = F / k, in nS): 100000 for
    the FSR 402's ~10 kOhm*N. A starting point for config's counts_per_n, for documentation
    and tests; calibration on the assembled ball is what sets the real value."""
    return (_NS_PER_S + k_ohm_n // 2) // k_ohm_n


class FSRArray:
    """FSRs on ADC-like objects (anything with read_uv() -> int microvolts), read as one
    total conductance in nS: larger = more force, 0 = no FSR above the ADC's floor."""

    def __init__(
        self, adcs, atten_range_uv, oversample=4, *, divider_ohm, vcc_uv, short_after=_SHORT_AFTER
    ):
        lo, hi = atten_range_uv
        if not adcs:
            raise ValueError("FSRArray needs at least one ADC")
        if not 1 <= oversample <= _MAX_OVERSAMPLE:
            raise ValueError("oversample must be 1..{}".format(_MAX_OVERSAMPLE))
        if not 0 <= lo < hi < vcc_uv <= _MAX_UV:
            raise ValueError("need 0 <= min_uv < max_uv < vcc_uv <= {} uV".format(_MAX_UV))
        if divider_ohm < 1 or short_after < 1:
            raise ValueError("divider_ohm and short_after must be positive")
        self.adcs = adcs
        self.n = len(adcs)
        self.oversample = oversample
        self.min_uv = lo
        self.max_uv = hi
        self.vcc_uv = vcc_uv
        self.short_after = short_after
        # 1 / Rd in nS, rounded: read() multiplies by it seven bits at a time (see _ns).
        self.k_ns = (_NS_PER_S + divider_ohm // 2) // divider_ohm
        # The largest total read() can return is every FSR just under the usable top.
        if self.n * self._ns(hi - 1) > _LIMIT:
            raise ValueError(
                "{} FSRs on {} Ohm exceed the 30-bit count range".format(self.n, divider_ohm)
            )
        self.channel_ns = array("i", [0] * self.n)  # last conductance per FSR, for diagnostics
        self.channel_uv = array("i", [0] * self.n)  # last averaged voltage per FSR
        self._saturated_run = array("i", [0] * self.n)

    def _ns(self, uv):
        """Conductance in nS of an FSR whose divider reads `uv` (min_uv <= uv < max_uv):
        floor(uv * k_ns / (vcc - uv)), by long division in base 128 over k_ns's digits so
        nothing exceeds 2**30: r < u < 2**22, so r * 128 + uv * 127 < 2**29 + 2**29."""
        u = self.vcc_uv - uv
        k = self.k_ns
        q = 0
        r = 0
        shift = 28  # k_ns < 2**30: five 7-bit digits
        while shift >= 0:
            r = (r << 7) + uv * ((k >> shift) & 127)
            d = r // u
            q = (q << 7) + d
            r -= d * u
            shift -= 7
        return q

    def read(self):
        """Total FSR conductance in nS, each FSR averaged over `oversample` reads. Raises
        SensorFault("saturated") when any FSR is at or above the usable top, "short" when
        one has stayed there for `short_after` reads in a row."""
        total = 0
        fault = 0
        i = 0
        while i < self.n:  # index loops: `for` would allocate an iterator
            adc = self.adcs[i]
            acc = 0
            j = 0
            while j < self.oversample:
                acc += adc.read_uv()
                j += 1
            uv = acc // self.oversample
            self.channel_uv[i] = uv
            if uv >= self.max_uv:
                ns = 0
                run = self._saturated_run[i] + 1
                if run > self.short_after:
                    run = self.short_after  # stays a small int however long it lasts
                self._saturated_run[i] = run
                if run >= self.short_after:
                    fault = _SHORT
                elif fault != _SHORT:
                    fault = _SATURATED
            else:
                self._saturated_run[i] = 0
                ns = self._ns(uv) if uv >= self.min_uv else 0
            self.channel_ns[i] = ns
            total += ns
            i += 1
        if fault:
            raise SensorFault("short" if fault == _SHORT else "saturated")
        return total
