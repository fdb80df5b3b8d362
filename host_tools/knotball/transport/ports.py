"""Which serial port is the ball, and opening it for one program at a time.

`--port` wins; else $KNOTBALL_PORT; else the one ball connected: a USB serial port whose
USB id is an ESP32 board's (its USB-serial bridge, or the ESP32-S3/C3's own USB), or a
running `knotball virtual` (knotball.virtual.registry). No guessing beyond that: two
candidates is a question for the user, not a coin toss.
"""

import errno
import os

from knotball.transport.link import Link, LinkError
from knotball.virtual import registry

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
    """Device paths of connected USB serial ports that look like an ESP32 board, then the
    ports of the virtual balls running on this computer."""
    from serial.tools import list_ports

    usb = sorted(p.device for p in list_ports.comports() if p.vid in VENDORS)
    return usb + registry.ports()


def add_argument(parser):
    """The one `--port` option every command that talks to a ball has."""
    parser.add_argument(
        "--port", metavar="PORT", help="the ball's serial port (default: the one ball connected)"
    )


def choose(port=None):
    if port:
        return port
    env = os.environ.get("KNOTBALL_PORT")
    if env:
        return env
    found = candidates()
    if not found:
        raise PortError(
            "no ball found: connect it by USB (a data cable, not a charge-only one) or start "
            "`knotball virtual`, or give --port PORT (or set KNOTBALL_PORT)"
        )
    if len(found) > 1:
        raise PortError("several balls: use --port (found {})".format(", ".join(found)))
    return found[0]


def open_serial(path, timeout=0.02):
    """The serial port at `path`, locked against other programs (knotball commands, a
    serial monitor); PortError says why it cannot be had."""
    import serial

    where = _origin(path)
    if not os.path.exists(path):
        raise PortError(
            "{}: no such port; plug the ball in (a data cable, not a charge-only one) or "
            "check the name (ls /dev/ttyUSB* /dev/ttyACM*){}".format(
                where,
                ", or unset KNOTBALL_PORT to find the ball by itself"
                if where.startswith("KNOTBALL_PORT")
                else "",
            )
        )
    try:
        return serial.Serial(path, 115200, timeout=timeout, write_timeout=2, exclusive=True)
    except (serial.SerialException, OSError) as e:
        text = str(e)
        if "lock" in text or "busy" in text.lower():
            raise PortError(
                "{} is busy: another program has it open (a `knotball live`, a serial "
                "monitor?); close it and try again".format(path)
            )
        if getattr(e, "errno", None) == errno.EACCES:
            raise PortError(
                "{}: permission denied; on Linux join the dialout group (`sudo usermod -aG "
                "dialout $USER`, then log in again)".format(where)
            )
        if "configure" in text or getattr(e, "errno", None) == errno.ENOTTY:
            raise PortError(
                "{}: not a serial port; give the ball's port (e.g. /dev/ttyUSB0)".format(where)
            )
        why = getattr(e, "strerror", None) or text.rsplit(": ", 1)[-1]
        raise PortError("{}: cannot open it ({}); check the cable and the name".format(where, why))


def _origin(path):
    """How the person named the port, for a message: the option or the variable."""
    if os.environ.get("KNOTBALL_PORT") == path:
        return "KNOTBALL_PORT={}".format(path)
    return "--port {}".format(path)


def open_link(path, timeout=3.0):
    """A Link on `path`, locked against other knotball commands using the same port."""
    return Link(open_serial(path), timeout=timeout)


def connect(port=None, timeout=3.0):
    """The console link to the ball `--port` names (or the one connected)."""
    return open_link(choose(port), timeout)
