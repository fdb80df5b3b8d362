# Barometric drivers for a sealed ball: Bosch BMP280 and BMP388/BMP390 on the I2CRegisters
# protocol. read() returns the air pressure inside the ball in pascals: squeezing the ball
# raises it, so larger = more force, and the signal path's zero is the pressure at rest.
#
# The ball. These chips measure absolute pressure, 300-1100 hPa (BMP280) or 300-1250 hPa
# (BMP388/390). A pressurised tennis ball holds 0.8-1 bar above ambient, beyond both ranges:
# the sensor must sit in a ball at ambient pressure (one punctured and resealed) or in a
# sealed bladder. At sea level that leaves ~9 kPa of squeeze (BMP280) or ~24 kPa (BMP3)
# within the calibrated range; above it readings stay monotonic but uncalibrated, and an ADC
# at its rail raises SensorFault("saturated"). Sealed air also follows the gas law: +1 K of
# hand warmth is +0.34 % (~340 Pa) with no force at all, which the auto-zero follows at rest.
# The hardware guide covers the mechanics.
#
# Settings: normal mode, pressure oversampling x2, temperature x1, IIR filter off, >= 100
# conversions per second. Latency matters more than noise here: a press must show in the
# next 10 ms sample, and the firmware filters on its own (median, auto-zero); the chip's IIR
# would smear every press over several samples, and more oversampling would not fit 10 ms.
#
# The hot path. read() runs 100 times a second and must not allocate. On the ESP32 a
# MicroPython small int has 31 bits; a larger value is a heap-allocated long int, and the
# datasheet formulas need 32- and 64-bit intermediates. So read() uses small ints only:
#   BMP280: the datasheet's 32-bit integer formula (BMP280 datasheet, appendix 8.2), the
#           same result to the pascal, with each product too wide for 30 bits split;
#   BMP3:   the datasheet's floating-point polynomial (BMP388 datasheet, appendix 9)
#           evaluated in fixed point by Horner's rule, within 1 Pa of the float result.
# No intermediate reaches 2**30 for any raw pressure and temperature (a temperature outside
# the chips' -40..85 C raises first); tests/core/test_baro.py checks every operation over
# the whole raw range with the published calibrations. pressure_pa() is the reference path
# (64-bit integer formulas; long ints allowed) for boot and calibration. Temperature is
# compensated every sample all the same: uncompensated, the example chips' pressure drifts
# ~0.2 %/K, on top of the gas law's 0.34 %/K.
#
# The gas law. read() returns the pressure the ball's air would have at a fixed 20 degC:
# p * T0 / T, with T the chip's own temperature in kelvin (it sits in that air). Warming the
# sealed air by +12 K adds ~4 % (~42 hPa) with no force at all; corrected, a press reads the
# same at any temperature and the zero barely moves. The reference is a constant, not the
# temperature at boot, so a zero kept through deep sleep stays in the same units whatever
# the temperature was when it was learnt. pressure_pa() stays the true, uncorrected pressure.
from ball import const
from ball.sensors import SensorFault

# Temperature range the formulas hold for, as each chip's fine temperature:
# BMP280 t_fine = degC * 5120; BMP3 t_lin = degC * 65536.
_T_FINE_MIN = const(-204800)
_T_FINE_MAX = const(435200)
_T_LIN_MIN = const(-2621440)
_T_LIN_MAX = const(5570560)

# BMP280 registers (datasheet section 4.3)
_BMP280_ID = const(0x58)
_BMP280_REG_ID = const(0xD0)
_BMP280_CALIB = const(0x88)
_BMP280_CTRL_MEAS = const(0xF4)
_BMP280_CONFIG = const(0xF5)
_BMP280_DATA = const(0xF7)
# osrs_t x1 (001), osrs_p x2 (010), normal mode (11): 7.5 ms per conversion, 8.7 ms at most.
BMP280_CTRL_MEAS = const(0x2B)
# t_sb 0.5 ms (000), filter off (000): >= 108 conversions per second.
BMP280_CONFIG = const(0x00)
# Both data registers hold 0x80000 after a reset until the first conversion (a real reading
# of exactly that twice over costs one "not ready").
_BMP280_SKIPPED = const(0x80000)
# A 20-bit raw pressure this close to either end of its range is pinned at the rail.
_ADC20_LOW = const(0x100)
_ADC20_HIGH = const(0xFFEFF)


# The gas-law reference: 20 degC, as degC * 1024 and as kelvin * 1024 (273.15 K = 279706).
_T_REF_1024 = const(20480)
_ZERO_C_1024 = const(279706)


def to_reference(p, t_1024):
    """p * T0 / T in Pa, T0 = 20 degC, T = t_1024 / 1024 degC (-40..85): p - p * f with
    f = (T - T0) / T in 2**-20 by two 10-bit steps of long division (the remainder is below
    T, ~2**18.5, so no intermediate reaches 2**29), then _mul_frac. 0 <= p < 2**24."""
    t = _ZERO_C_1024 + t_1024
    d = (t_1024 - _T_REF_1024) << 10
    q = d // t  # floor, also for d < 0: the remainder is then in [0, t)
    f = (q << 10) + (((d - q * t) << 10) // t)
    return p - _mul_frac(p, f, 20)


def _mul_shr(a, b, s):
    """floor(a * b / 2**s) for s >= 8 with no product wider than 29 bits: the 16-bit word b
    is split in bytes. |a| < 2**21."""
    return (a * (b >> 8) + ((a * (b & 0xFF)) >> 8)) >> (s - 8)


def _sq_shr(x, s):
    """floor(x * x / 2**s) for |x| < 2**18, s >= 10, without the 36-bit square."""
    if x < 0:
        x = -x
    h = x >> 5
    lo = x & 31
    return (h * h + ((h * lo * 64 + lo * lo) >> 10)) >> (s - 10)


def _muldiv(a, m, d):
    """floor(a * m / d) for 0 <= a < 2**20, m <= 6250, 0 < d < 2**17: long division in
    10-bit steps, so no intermediate exceeds 2**28."""
    x = (a >> 10) * m
    q = x // d
    return (q << 10) + (((x - q * d) << 10) + (a & 1023) * m) // d


def _cdiv(a, b):
    """C's integer division (truncates toward zero), for the reference paths."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _word(buf, i, signed):
    v = buf[i] | buf[i + 1] << 8
    return v - 65536 if signed and v > 32767 else v


def _check_id(regs, reg, ids):
    cid = regs.read_u8(reg)
    if cid not in ids:
        raise SensorFault("wrong chip id 0x%02x" % cid)


class BMP280:
    """Bosch BMP280 at I2C address 0x76 or 0x77. `regs` offers read_into, read_u8, write_u8."""

    def __init__(self, regs):
        self.regs = regs
        _check_id(regs, _BMP280_REG_ID, (_BMP280_ID,))
        cal = bytearray(24)
        regs.read_into(_BMP280_CALIB, cal)
        w = [_word(cal, i, i not in (0, 6)) for i in range(0, 24, 2)]
        self.t1, self.t2, self.t3 = w[0], w[1], w[2]
        self.p1, self.p2, self.p3, self.p4, self.p5, self.p6, self.p7, self.p8, self.p9 = w[3:]
        if self.p1 == 0:
            raise SensorFault("bad calibration")  # the formula divides by a multiple of it
        # Sleep first: the config register ignores writes in normal mode.
        regs.write_u8(_BMP280_CTRL_MEAS, 0)
        regs.write_u8(_BMP280_CONFIG, BMP280_CONFIG)
        regs.write_u8(_BMP280_CTRL_MEAS, BMP280_CTRL_MEAS)
        self._buf = bytearray(6)
        self.adc_p = 0
        self.adc_t = 0
        self.t_fine = 0

    def _sample(self):
        # One burst over all six data bytes: the chip then guarantees they belong together.
        self.regs.read_into(_BMP280_DATA, self._buf)
        b = self._buf
        self.adc_p = b[0] << 12 | b[1] << 4 | b[2] >> 4
        self.adc_t = b[3] << 12 | b[4] << 4 | b[5] >> 4

    def read(self):
        """Pressure in Pa at the 20 degC reference (to_reference); allocation-free.
        OSError from the bus, SensorFault when the reading cannot be trusted."""
        self._sample()
        p = self.compensate(self.adc_p, self.adc_t)
        return to_reference(p, self.t_fine // 5)

    def power_down(self):
        """Sleep mode (0.1 uA instead of ~0.7 mA measuring): before the board's deep sleep.
        The next construction starts it again."""
        self.regs.write_u8(_BMP280_CTRL_MEAS, BMP280_CTRL_MEAS & 0xFC)

    def compensate(self, adc_p, adc_t):
        """Raw 20-bit readings -> Pa as the datasheet's bmp280_compensate_P_int32 computes
        it, in small ints. Sets t_fine."""
        if adc_p == _BMP280_SKIPPED and adc_t == _BMP280_SKIPPED:
            raise SensorFault("not ready")  # no conversion since power-up or a chip reset
        if adc_p < _ADC20_LOW or adc_p > _ADC20_HIGH:
            raise SensorFault("saturated")
        t1 = self.t1
        t_fine = _mul_shr((adc_t >> 3) - (t1 << 1), self.t2, 11) + _mul_shr(
            _sq_shr((adc_t >> 4) - t1, 12), self.t3, 14
        )
        if t_fine < _T_FINE_MIN or t_fine > _T_FINE_MAX:
            raise SensorFault("temperature out of range")
        self.t_fine = t_fine
        v = (t_fine >> 1) - 64000
        w = v >> 2
        # var2 of the datasheet, already shifted right by 12 (its P4 << 16 term is exact).
        off = ((_sq_shr(w, 11) * self.p6 + ((v * self.p5) << 1)) >> 14) + (self.p4 << 4)
        # var1 = ((P3 * sq13 >> 3) + (P2 * v >> 1)) >> 18, with P2 * v split in bytes.
        p2 = self.p2
        a = (_sq_shr(w, 13) * self.p3) >> 3
        var1 = (v * (p2 >> 8) + ((2 * a + v * (p2 & 0xFF)) >> 8)) >> 11
        var1 = _mul_shr(32768 + var1, self.p1, 15)
        d = 1048576 - adc_p - off
        if d < 0:
            raise SensorFault("saturated")
        # Exact, where the datasheet halves first once d * 3125 reaches 2**31 (d >= 687195,
        # above ~117 kPa) to stay in 32 bits: that can step back 1 Pa; this cannot.
        p = _muldiv(d, 6250, var1)
        var1 = _mul_shr(_sq_shr(p >> 3, 13), self.p9, 12)
        var2 = _mul_shr(p >> 2, self.p8, 13)
        return p + ((var1 + var2 + self.p7) >> 4)

    def pressure_pa(self):
        """A fresh reading through the datasheet's 64-bit integer formula (section 3.11.3):
        Pa as a float. Allocates; for boot and calibration."""
        self._sample()
        self.compensate(self.adc_p, self.adc_t)  # the same checks, and t_fine
        v1 = self.t_fine - 128000
        v2 = v1 * v1 * self.p6 + ((v1 * self.p5) << 17) + (self.p4 << 35)
        v1 = ((v1 * v1 * self.p3) >> 8) + ((v1 * self.p2) << 12)
        v1 = (((1 << 47) + v1) * self.p1) >> 33
        p = _cdiv((((1048576 - self.adc_p) << 31) - v2) * 3125, v1)
        v1 = (self.p9 * (p >> 13) * (p >> 13)) >> 25
        v2 = (self.p8 * p) >> 19
        return (((p + v1 + v2) >> 8) + (self.p7 << 4)) / 256

    def temperature_c(self):
        """Temperature of the last reading, degC."""
        return ((self.t_fine * 5 + 128) >> 8) / 100


# BMP388/BMP390 registers (datasheet memory map; Bosch BMP3 API bmp3_defs.h)
_BMP3_IDS = (0x50, 0x60)  # BMP388, BMP390
_BMP3_REG_ID = const(0x00)
_BMP3_ERR = const(0x02)
_BMP3_STATUS = const(0x03)  # the six data bytes follow it: one burst reads all seven
_BMP3_CALIB = const(0x31)
_BMP3_PWR_CTRL = const(0x1B)
_BMP3_OSR = const(0x1C)
_BMP3_ODR = const(0x1D)
_BMP3_CONFIG = const(0x1F)
_BMP3_DRDY_PRESS = const(0x20)
# osr_p x2, osr_t x1: 6.9 ms per conversion (Bosch BMP3 API timing), at 100 Hz (odr_sel 1).
BMP3_OSR = const(0x01)
BMP3_ODR = const(0x01)
BMP3_CONFIG = const(0x00)  # IIR filter off
BMP3_PWR_CTRL = const(0x33)  # pressure and temperature on, normal mode
# Reads in a row without a new conversion before the chip counts as stopped (a reset puts
# it to sleep); at 100 conversions per second the odd read finds none.
_BMP3_MAX_STALE = const(5)
_ADC24_LOW = const(0x1000)
_ADC24_HIGH = const(0xFFEFFF)


def _mul_frac(a, b, s):
    """floor(a * b / 2**s) for |a| < 2**24, |b| <= 2**23, s >= 18: a is taken 6 bits at a
    time, lowest first, so no partial product exceeds 2**29."""
    acc = (a & 63) * b
    acc = (acc >> 6) + ((a >> 6) & 63) * b
    acc = (acc >> 6) + ((a >> 12) & 63) * b
    acc = (acc >> 6) + (a >> 18) * b
    return acc >> (s - 18)


class BMP3:
    """Bosch BMP388 or BMP390 at I2C address 0x76 or 0x77. `regs` as for BMP280."""

    def __init__(self, regs):
        self.regs = regs
        _check_id(regs, _BMP3_REG_ID, _BMP3_IDS)
        c = bytearray(21)
        regs.read_into(_BMP3_CALIB, c)
        # NVM_PAR_T1..P11 from 0x31: 16-bit words at these offsets, signed 8-bit at the rest.
        w = [_word(c, i, i in (5, 7, 17)) for i in (0, 2, 5, 7, 11, 13, 17)]
        self.t1, self.t2, self.p1, self.p2, self.p5, self.p6, self.p9 = w
        b = [v - 256 if v > 127 else v for v in (c[4], c[9], c[10], c[15], c[16], c[19], c[20])]
        self.t3, self.p3, self.p4, self.p7, self.p8, self.p10, self.p11 = b
        regs.write_u8(_BMP3_PWR_CTRL, 0)  # sleep: settings change only there
        regs.write_u8(_BMP3_OSR, BMP3_OSR)
        regs.write_u8(_BMP3_ODR, BMP3_ODR)
        regs.write_u8(_BMP3_CONFIG, BMP3_CONFIG)
        regs.write_u8(_BMP3_PWR_CTRL, BMP3_PWR_CTRL)
        if regs.read_u8(_BMP3_ERR):
            raise SensorFault("configuration rejected")
        self._buf = bytearray(7)
        self._stale = _BMP3_MAX_STALE  # not ready until the first conversion
        self.adc_p = 0
        self.adc_t = 0
        self.t_lin = 0

    def _sample(self):
        self.regs.read_into(_BMP3_STATUS, self._buf)
        b = self._buf
        if b[0] & _BMP3_DRDY_PRESS:  # cleared by reading the data: set = a new conversion
            self._stale = 0
        else:
            self._stale += 1
            if self._stale > _BMP3_MAX_STALE:
                raise SensorFault("not ready")
        self.adc_p = b[3] << 16 | b[2] << 8 | b[1]
        self.adc_t = b[6] << 16 | b[5] << 8 | b[4]

    def read(self):
        """Pressure in Pa at the 20 degC reference (to_reference); allocation-free.
        OSError from the bus, SensorFault when the reading cannot be trusted."""
        self._sample()
        p = self.compensate(self.adc_p, self.adc_t)
        return to_reference(p, self.t_lin >> 6)

    def power_down(self):
        """Sleep mode (pressure and temperature off: ~2 uA instead of ~0.7 mA at 100 Hz):
        before the board's deep sleep. The next construction starts it again."""
        self.regs.write_u8(_BMP3_PWR_CTRL, 0)

    def compensate(self, adc_p, adc_t):
        """Raw 24-bit readings -> Pa: the datasheet's float polynomial in fixed point.
        Sets t_lin (degC * 65536)."""
        if adc_p < _ADC24_LOW or adc_p > _ADC24_HIGH:
            raise SensorFault("saturated")
        # t = d*T2/2**30 + d*d*T3/2**48 degC, d = adc_t - T1*256; the small square term
        # (~0.1 K) from d's top 14 bits.
        d = adc_t - (self.t1 << 8)
        dd = d >> 10
        t = _mul_frac(d, self.t2 << 4, 18) + ((((dd * dd) >> 6) * self.t3) >> 6)
        if t < _T_LIN_MIN or t > _T_LIN_MAX:
            raise SensorFault("temperature out of range")
        self.t_lin = t
        # With x = adc_p / 2**24 the datasheet's p = O + S*adc_p + Q*adc_p**2 + R*adc_p**3
        # becomes o + x*(s + x*(q + x*r)), every coefficient a few hundred kPa at most; kept
        # in Pa*8, and o and s by Horner's rule in t (intermediates in 2**-12 units).
        i = (self.p7 << 7) + ((self.p8 * t) >> 16)
        i = (self.p6 << 9) + _mul_frac(i << 2, t, 18)
        o = (self.p5 << 6) + _mul_frac(i >> 4, t, 24)
        i = (self.p3 << 7) + ((self.p4 * t) >> 14)
        i = ((self.p2 - 16384) << 10) + _mul_frac(i << 2, t, 18)
        s = ((self.p1 - 16384) << 7) + _mul_frac(i >> 4, t, 24)
        q = (self.p9 << 3) + ((self.p10 * t) >> 13)
        p8 = o + _mul_frac(
            adc_p, s + _mul_frac(adc_p, q + _mul_frac(adc_p, self.p11 << 10, 24), 24), 24
        )
        # The floors above lose ~2/8 Pa on average: +6/8 recentres and rounds.
        return (p8 + 6) >> 3

    def pressure_pa(self):
        """A fresh reading through Bosch's 64-bit integer compensation (BMP3 API bmp3.c,
        compensate_temperature / compensate_pressure): Pa as a float. Allocates; for boot
        and calibration."""
        self._sample()
        self.compensate(self.adc_p, self.adc_t)  # the same checks
        up = self.adc_p
        d = self.adc_t - 256 * self.t1
        t = _cdiv(self.t2 * d * 262144 + d * d * self.t3, 4294967296)
        t2 = t * t
        t3 = _cdiv(_cdiv(t2, 64) * t, 256)
        off = self.p5 * 140737488355328 + _cdiv(self.p8 * t3, 32)
        off += self.p7 * t2 * 16 + self.p6 * t * 4194304
        sens = (self.p1 - 16384) * 70368744177664 + _cdiv(self.p4 * t3, 32)
        sens += self.p3 * t2 * 4 + (self.p2 - 16384) * t * 2097152
        x = _cdiv((self.p10 * t + 65536 * self.p9) * up, 8192)
        x = _cdiv(up * _cdiv(x, 10), 512) * 10
        y = _cdiv(_cdiv(self.p11 * up * up, 65536) * up, 128)
        total = _cdiv(off, 4) + _cdiv(sens, 16777216) * up + x + y
        return total * 25 // 1099511627776 / 100

    def temperature_c(self):
        """Temperature of the last reading, degC."""
        return self.t_lin / 65536
