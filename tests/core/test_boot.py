# The boot's decisions (ball/start.py, which main.py runs), on a fake board module: a timer wake
# skips the safe-mode window and sleeps again when nobody presses; power-on watches the
# button first; a spent cell signals once and sleeps with no timer wake.
from ball import start
from ball.app import CUTOFF_MV, RESUME_MV, WAKE_CHECK_MS
from ball.feedback import EMPTY
from kbtest import FakeBoard

_REST_PA = 101300


class Slept(Exception):
    """A real deep sleep never returns: the fake ends main() here."""


class WakeBoard(FakeBoard):
    can_sleep = True

    def __init__(self, woke, mv=3900, counts=_REST_PA):
        FakeBoard.__init__(self, counts)
        self.woke = woke
        self.mv = mv
        self.slept = "awake"
        self.zero_at_boot = True

    def woke_from_sleep(self):
        return self.woke

    def kept_zero(self):
        return _REST_PA if self.woke else None

    def battery_mv(self):
        return self.mv

    def deep_sleep(self, wake_ms, zero=None):
        self.slept = wake_ms
        raise Slept()


class BoardModule:
    """Stands in for ball.board: the profile, the board, the safe-mode window."""

    def __init__(self, hw, safe):
        self.hw = hw
        self.safe = safe
        self.calls = []

    def load_profile(self):
        return {"chip": "sim", "sensor": "sim"}

    def Board(self, profile):
        self.calls.append("board")
        return self.hw

    def safe_mode_requested(self, profile):
        self.calls.append("safe_mode_window")
        return self.safe


def run_main(hw, safe=False):
    """Boot as main.py does, with `hw` as the board; returns the fake board module."""
    fake = BoardModule(hw, safe)
    try:
        start.main(fake)
    except Slept:
        pass
    return fake


def test_a_timer_wake_skips_the_safe_mode_window_and_sleeps_again_untouched():
    hw = WakeBoard(woke=True)
    fake = run_main(hw)
    assert hw.slept == WAKE_CHECK_MS
    assert fake.calls == ["board"]  # no second-long window on every 2 s wake
    assert hw.t == 4 * 10  # five sensor samples 10 ms apart: the only waits of a wake


def test_power_on_watches_the_safe_mode_button_first():
    hw = WakeBoard(woke=False, mv=3000)  # even with a spent cell: the REPL stays reachable
    fake = run_main(hw, safe=True)
    assert fake.calls == ["board", "safe_mode_window"]
    assert hw.slept == "awake" and hw.motor_log == []


def _empty_signal(hw):
    ons = [t for t, d in hw.motor_log if d > 0]
    return len(ons) == (len(EMPTY[0]) + 1) // 2 and hw.offs >= 1


def test_a_timer_wake_on_a_spent_cell_signals_once_and_sleeps_without_a_timer():
    hw = WakeBoard(woke=True, mv=CUTOFF_MV - 50)
    run_main(hw)
    assert hw.slept is None and _empty_signal(hw)


def test_power_on_needs_a_charged_cell_to_start():
    hw = WakeBoard(woke=False, mv=CUTOFF_MV + RESUME_MV - 20)  # recovered at rest, not charged
    fake = run_main(hw)
    assert fake.calls == ["board", "safe_mode_window"]
    assert hw.slept is None and _empty_signal(hw)


def test_a_bench_without_a_cell_is_not_a_spent_cell():
    hw = WakeBoard(woke=True, mv=30)  # USB power, the divider reads about 0
    run_main(hw)
    assert hw.slept == WAKE_CHECK_MS and hw.motor_log == []
