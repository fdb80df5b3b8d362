"""Which serial port is the ball, and opening it for one program at a time.

`--port` wins; else $KNOTBALL_PORT; else the one USB serial port whose USB id is an ESP32
board's (its USB-serial bridge, or the ESP32-S3/C3's own USB). No guessing beyond that: two
candidates is a question for the user, not a coin toss.
"""

import os

from knotball.transport.link import Link, LinkError

# USB vendor ids of the USB-serial bridges on ESP32 boards, and Espressif's own (native USB).
VENDORS = {
    0x10C4: "Silicon Labs CP210x",
    0x1A86: "WCH CH340/CH9102",
    0x0403: "FTDI",
    0x303A: "Espressif native USB",
}


class PortError(LinkError):
    """No ball found, several found, or the port cannot be opened; the message says which."""


def candidates():
    """Device paths of connected USB serial ports that look like an ESP32 board."""
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports() if p.vid in VENDORS)


def choose(port=None):
    if port:
        return port
    env = os.environ.get("KNOTBALL_PORT")
    if env:
        return env
    found = candidates()
    if not found:
        raise PortError(
            "no ball found: connect it by USB (a data cable, not a charge-only one), "
            "or give --port PORT (or set KNOTBALL_PORT)"
        )
    if len(found) > 1:
        raise PortError("several balls: use --port (found {})".format(", ".join(found)))
    return found[0]


def open_link(path, timeout=3.0):
    """A Link on `path`, locked against other knotball commands using the same port."""
    import serial

    try:
        port = serial.Serial(path, 115200, timeout=0.02, write_timeout=2, exclusive=True)
    except serial.SerialException as e:
        if "lock" in str(e):
            raise PortError(
                "{} is busy: another program has it open (a `knotball live`, a serial "
                "monitor?); close it and try again".format(path)
            )
        raise PortError("cannot open {}: {}".format(path, e))
    return Link(port, timeout=timeout)
