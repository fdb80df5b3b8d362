# A pin-level fake of one FSR voltage divider on an ESP32 ADC pin, for the FSR driver's tests.
# It answers read_uv() like machine.ADC: the divider voltage (supply -> FSR -> pin -> divider
# resistor -> GND) for the force on the FSR, plus deterministic noise, quantised to 1 mV
# (read_uv's resolution), with every input under the ADC's floor reading one constant value.
# The FSR follows an FSR 402-like curve: open (10 MOhm) below its break force, then
# R = k / F**alpha. read_uv() only does small-int arithmetic, so it runs with the heap locked.

OPEN_OHM = 10000000  # FSR 402 "non-actuated resistance"


def fsr_ohm(force_n, k_ohm_n=10000, alpha=1.0, break_n=0.2):
    """The FSR's resistance under `force_n` newtons."""
    if force_n < break_n:
        return OPEN_OHM
    return min(OPEN_OHM, k_ohm_n / force_n**alpha)


def divider_uv(r_fsr, divider_ohm, vcc_uv):
    """The pin voltage for an FSR of r_fsr ohms above a divider resistor of divider_ohm."""
    return int(vcc_uv * divider_ohm / (divider_ohm + r_fsr))


class FakeFSRADC:
    """One FSR divider on an ADC pin. mode: "ok", "open" (FSR or its wire disconnected: the
    divider resistor pulls the pin to 0 V), "short" (FSR shorted, or the divider resistor
    missing: the pin sits at the supply)."""

    def __init__(
        self,
        divider_ohm=10000,
        vcc_uv=3300000,
        k_ohm_n=10000,
        alpha=1.0,
        break_n=0.2,
        noise_uv=0,
        seed=1,
        floor_uv=60000,
        dead_uv=100000,
        top_uv=None,
    ):
        self.divider_ohm = divider_ohm
        self.vcc_uv = vcc_uv
        self.k_ohm_n = k_ohm_n
        self.alpha = alpha
        self.break_n = break_n
        self.noise_uv = noise_uv
        # Inputs at or under dead_uv all read floor_uv: the ESP32 ADC's "minimum measurement
        # voltage around 100mV", and read_uv() of a grounded input is above 0 (quickref).
        self.dead_uv = dead_uv
        self.floor_uv = floor_uv
        self.top_uv = vcc_uv if top_uv is None else top_uv  # the ADC's full scale
        self.mode = "ok"
        self.reads = 0
        self._x = seed % 65537
        self._uv = 0
        self.set_force(0.0)

    def set_force(self, force_n):
        self.force_n = force_n
        r = fsr_ohm(force_n, self.k_ohm_n, self.alpha, self.break_n)
        self._uv = divider_uv(r, self.divider_ohm, self.vcc_uv)

    def set_uv(self, uv):
        """Put the pin at a given voltage directly (attenuation-range tests)."""
        self._uv = uv

    def ideal_uv(self):
        """The noiseless, unclipped pin voltage in the current mode."""
        if self.mode == "open":
            return 0
        if self.mode == "short":
            return self.vcc_uv
        return self._uv

    def read_uv(self):
        self.reads += 1
        v = self.ideal_uv()
        if self.noise_uv:
            self._x = (self._x * 75 + 74) % 65537  # ZX81 generator: small ints, deterministic
            v += self._x * (2 * self.noise_uv + 1) // 65537 - self.noise_uv
        if v <= self.dead_uv:
            return self.floor_uv
        if v > self.top_uv:
            v = self.top_uv
        return v - v % 1000
