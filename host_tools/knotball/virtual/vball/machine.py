# The virtual ball's `machine` module: just what the host tools use on a ball (mpremote
# `reset` calls machine.reset()). Pins, buses and timers live in the virtual board instead.
class HardReset(BaseException):
    """Caught by the virtual ball's ROM: it reboots as after power-on (boot.py, main.py)."""


def reset():
    raise HardReset()


def soft_reset():
    raise SystemExit()


def unique_id():
    return b"vball\x00"


def freq():
    return 160000000


def reset_cause():
    return 1  # PWRON_RESET


PWRON_RESET = 1
DEEPSLEEP_RESET = 4
