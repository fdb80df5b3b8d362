# Sensor drivers, one module per kind. Every driver receives its bus or pins (built by the
# board layer from the board profile) and offers:
#   read() -> int   raw counts for the signal path, larger = more force; allocation-free.
#                   Raises OSError when the bus fails, SensorFault when the reading cannot be
#                   trusted (saturated, not ready, disconnected). The app then enters its
#                   fault state: motor off, fault pattern on the LED, logged, retried.
# Drivers never import machine: the board layer (ball/board.py) is the only module that does.
from ball import SensorFault  # noqa: F401  (part of the board interface: ball/__init__.py)


class I2CRegisters:
    """The tiny register protocol drivers talk to, over a machine.I2C (or any object with
    readfrom_mem_into/writeto_mem). Tests use a fake with a register dictionary instead."""

    def __init__(self, i2c, addr):
        self.i2c = i2c
        self.addr = addr
        self._one = bytearray(1)

    def read_into(self, reg, buf):
        self.i2c.readfrom_mem_into(self.addr, reg, buf)

    def read_u8(self, reg):
        self.i2c.readfrom_mem_into(self.addr, reg, self._one)
        return self._one[0]

    def write_u8(self, reg, value):
        self._one[0] = value
        self.i2c.writeto_mem(self.addr, reg, self._one)
