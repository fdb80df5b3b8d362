# Register-level fakes of the BMP280 and the BMP388/BMP390 for the baro driver tests: a dict
# of registers behind the I2CRegisters protocol (read_into, read_u8, write_u8), loaded with
# published calibration words and raw readings (sources in test_baro.py). Reads allocate
# nothing, so a driver can be run against them with the heap locked; `fail` makes every
# transfer raise, like a loose wire.

# BMP280 datasheet worked example: dig_T1..dig_T3, dig_P1..dig_P9, and the raw readings.
BMP280_TRIM = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
BMP280_ADC_P = 415148
BMP280_ADC_T = 519888

# BMP388: the 21 calibration bytes from 0x31 and the six data bytes from 0x04 of a
# third-party test vector (elixir-sensors/bmp3xx).
BMP388_CALIB = bytes.fromhex("236B5849F65CFFCEF42300EA636E79F3F6AA4312C4")
BMP388_DATA = bytes.fromhex("979F6D73D885")


class FakeRegisters:
    """A chip's register file: `regs` maps address -> byte; `writes` lists (reg, value)."""

    def __init__(self, regs):
        self.regs = regs
        self.writes = []
        self.fail = None  # an OSError to raise from every transfer

    def read_into(self, reg, buf):
        if self.fail is not None:
            raise self.fail
        regs = self.regs
        for i in range(len(buf)):
            buf[i] = regs.get(reg + i, 0)

    def read_u8(self, reg):
        if self.fail is not None:
            raise self.fail
        return self.regs.get(reg, 0)

    def write_u8(self, reg, value):
        if self.fail is not None:
            raise self.fail
        self.regs[reg] = value
        self.writes.append((reg, value))


def _words(regs, base, words):
    for i, w in enumerate(words):
        regs[base + 2 * i] = w & 0xFF
        regs[base + 2 * i + 1] = (w >> 8) & 0xFF


class FakeBMP280(FakeRegisters):
    """A BMP280 (chip id 0x58 at 0xD0) holding the datasheet's example."""

    def __init__(self, trim=BMP280_TRIM, chip_id=0x58):
        regs = {0xD0: chip_id}
        _words(regs, 0x88, trim)
        FakeRegisters.__init__(self, regs)
        self.set_raw(BMP280_ADC_P, BMP280_ADC_T)

    def set_raw(self, adc_p, adc_t):
        """A conversion: 20-bit readings into press_msb..temp_xlsb (0xF7..0xFC)."""
        r = self.regs
        r[0xF7] = adc_p >> 12
        r[0xF8] = (adc_p >> 4) & 0xFF
        r[0xF9] = (adc_p & 15) << 4
        r[0xFA] = adc_t >> 12
        r[0xFB] = (adc_t >> 4) & 0xFF
        r[0xFC] = (adc_t & 15) << 4


class FakeBMP3(FakeRegisters):
    """A BMP388 (chip id 0x50 at 0x00; 0x60 for a BMP390) holding the third-party vector.
    Its status register (0x03) has drdy_press (0x20) set by a conversion and cleared when
    the data is read, as on the chip; `free_running` sets it again for every read, as a chip
    converting at least as often as it is read does."""

    def __init__(self, calib=BMP388_CALIB, data=BMP388_DATA, chip_id=0x50):
        # 0x03 status: cmd_rdy, drdy_press, drdy_temp (a first conversion done); 0x02 no error
        regs = {0x00: chip_id, 0x02: 0, 0x03: 0x70}
        for i in range(len(calib)):
            regs[0x31 + i] = calib[i]
        for i in range(6):
            regs[0x04 + i] = data[i]
        FakeRegisters.__init__(self, regs)
        self.free_running = True

    def set_raw(self, adc_p, adc_t):
        """A conversion: 24-bit readings into DATA_0..DATA_5 (0x04..0x09), drdy set."""
        r = self.regs
        r[0x04] = adc_p & 0xFF
        r[0x05] = (adc_p >> 8) & 0xFF
        r[0x06] = adc_p >> 16
        r[0x07] = adc_t & 0xFF
        r[0x08] = (adc_t >> 8) & 0xFF
        r[0x09] = adc_t >> 16
        r[0x03] = 0x70

    def read_into(self, reg, buf):
        FakeRegisters.read_into(self, reg, buf)
        if reg <= 0x06 and reg + len(buf) > 0x04 and not self.free_running:
            self.regs[0x03] = 0x10
