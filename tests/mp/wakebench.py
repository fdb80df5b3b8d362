# One timer wake from deep sleep, timed on the MicroPython unix port: boot.py and main.py
# run as on a ball woken by its timer, on the virtual ball's board (vboard) as a sealed
# barometric ball at rest, until main.py puts it back to sleep. Run in a fresh process per
# wake (every import is cold, as after a real wake), with the compiled firmware and the
# vball directory on MICROPYPATH: micropython wakebench.py FIRMWARE_DIR
# Prints "wake total_ms T sleeping_ms S modules M safe_mode_windows W slept_for MS".
import sys
import time

t0 = time.ticks_us()

import vboard  # noqa: E402  the virtual ball's board layer

from ball import BoardBase  # noqa: E402

_PROFILE = {
    "name": "sim-baro",
    "chip": "sim",
    "sensor": "sim",
    "sim_like": "bmp390",
    "sim_zero_counts": 101300,
    "sim_counts_per_n": 23.7,
    "sim_noise_counts": 2,
}
slept = [0]  # us spent in sleep_ms: waits that take as long on a ball
windows = [0]


class Asleep(Exception):
    pass


_VBoard = vboard.VirtualBoard


class TimerWake(_VBoard, BoardBase):
    def woke_from_sleep(self):
        return True

    def kept_zero(self):
        return 101300

    def battery_mv(self):
        return 3900

    def sleep_ms(self, ms):
        t = time.ticks_us()
        _VBoard.sleep_ms(self, ms)
        slept[0] += time.ticks_diff(time.ticks_us(), t)

    def deep_sleep(self, wake_ms, zero=None):
        self.off()
        raise Asleep(wake_ms)


def safe_mode_requested(profile, window_ms=1000):
    windows[0] += 1
    return False


vboard.configure(None, 1.0)
vboard.Board = TimerWake
vboard.load_profile = lambda path=None: _PROFILE
vboard.safe_mode_requested = safe_mode_requested
before = len(sys.modules)

src = open(sys.argv[1] + "/main.py").read()
try:
    exec(src, {"__name__": "__main__"})  # main.py finds vboard, as on a virtual ball
    wake_ms = "never"
except Asleep as e:
    wake_ms = e.args[0]
total = time.ticks_diff(time.ticks_us(), t0)
print(
    "wake total_ms {:.1f} sleeping_ms {:.1f} modules {} safe_mode_windows {} slept_for {}".format(
        total / 1000, slept[0] / 1000, len(sys.modules) - before, windows[0], wake_ms
    )
)
