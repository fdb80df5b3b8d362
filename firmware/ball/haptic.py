# Optional DRV2605L haptic driver over I2C, driving an ERM motor in real-time playback (RTP):
# the feedback's duty 0..1000 becomes the RTP amplitude. TI DRV2605L datasheet, section 7.6
# register map: 0x00 STATUS (device id in bits 7:5: 7 = DRV2605L), 0x01 MODE (bit 6 standby,
# bits 2:0 mode, 5 = RTP), 0x02 RTP input, 0x1A FEEDBACK (bit 7: 0 = ERM), 0x1D CONTROL3
# (bit 3 DATA_FORMAT_RTP: 1 = unsigned).
from ball import const
from ball.sensors import SensorFault

_STATUS = const(0x00)
_MODE = const(0x01)
_RTP = const(0x02)
_FEEDBACK = const(0x1A)
_CONTROL3 = const(0x1D)
_MODE_RTP = const(0x05)
_STANDBY = const(0x40)
_DRV2605L_ID = const(7)


class DRV2605:
    """Takes a register protocol object (sensors.I2CRegisters, or a fake in tests)."""

    def __init__(self, regs):
        self.regs = regs
        device = regs.read_u8(_STATUS) >> 5
        if device != _DRV2605L_ID:
            raise SensorFault("DRV2605L not found (device id {})".format(device))
        regs.write_u8(_MODE, 0)  # out of standby, internal trigger
        regs.write_u8(_FEEDBACK, regs.read_u8(_FEEDBACK) & 0x7F)  # ERM, not LRA
        regs.write_u8(_CONTROL3, regs.read_u8(_CONTROL3) | 0x08)  # unsigned RTP amplitude
        regs.write_u8(_RTP, 0)
        regs.write_u8(_MODE, _MODE_RTP)

    def set(self, duty):
        """duty 0..1000 from the feedback layer."""
        self.regs.write_u8(_RTP, duty * 255 // 1000)

    def off(self):
        self.regs.write_u8(_RTP, 0)
        self.regs.write_u8(_MODE, _STANDBY)
