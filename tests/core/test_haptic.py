# The DRV2605L haptic driver against a register-level fake.
from ball.haptic import DRV2605
from ball.sensors import SensorFault
from kbtest import raises


class Regs:
    def __init__(self, status=0xE0):
        self.mem = {0x00: status, 0x1A: 0xB6, 0x1D: 0x20}
        self.writes = []

    def read_u8(self, reg):
        return self.mem.get(reg, 0)

    def write_u8(self, reg, value):
        self.mem[reg] = value
        self.writes.append((reg, value))


def test_setup_selects_erm_unsigned_rtp_mode():
    regs = Regs()
    DRV2605(regs)
    assert regs.mem[0x1A] & 0x80 == 0  # ERM
    assert regs.mem[0x1D] & 0x08  # unsigned RTP
    assert regs.mem[0x01] == 0x05 and regs.mem[0x02] == 0
    assert regs.writes[-1] == (0x01, 0x05)  # amplitude zeroed before RTP starts


def test_duty_becomes_rtp_amplitude_and_off_goes_to_standby():
    regs = Regs()
    drv = DRV2605(regs)
    drv.set(1000)
    assert regs.mem[0x02] == 255
    drv.set(500)
    assert regs.mem[0x02] == 127
    drv.off()
    assert regs.mem[0x02] == 0 and regs.mem[0x01] & 0x40


def test_wrong_chip_is_refused():
    e = raises(SensorFault, DRV2605, Regs(status=0x60))
    assert "DRV2605L" in str(e)
