# The ball's entry point: outputs off, then config, then the 100 Hz loop. Thin on purpose.
import sys
import time

from ball import VERSION, board, config, log
from ball.app import WAKE_CHECK_MS, App
from ball.console import Console
from ball.control import Control
from ball.dose import Dose
from ball.session import EV_FAULT, EV_FAULT_CLEAR

app = None

CONFIG_PATH = "/config.json"
LOG_ROOT = "/logs"


def pressed(hw, cfg):
    """After a timer wake: is someone pressing? Five samples 10 ms apart against the first
    band edge, from the zero kept through the sleep (no auto-zero yet: a firm press is what
    wakes the ball). Returns (pressed, the zero to keep for the next sleep)."""
    from ball.signal import Calibration, wake_check

    cal = Calibration.from_config(cfg)
    zero = hw.kept_zero()
    if zero is not None:
        cal.zero = zero
    raws = []
    for i in range(5):
        if i:
            hw.sleep_ms(10)
        try:
            raws.append(hw.read_sensor())
        except Exception:
            return True, cal.zero  # a sensor that cannot answer: stay awake, let the app say
    return wake_check(cal, raws, cfg["light_n"]), cal.zero


def report(now_ms, ev):
    """The USB console hears what the ball cannot show: why the sensor failed."""
    if ev & EV_FAULT and app is not None:
        print("knotball: sensor fault at {} ms: {}".format(now_ms, app.fault_text))
    if ev & EV_FAULT_CLEAR:
        print("knotball: sensor works again at {} ms".format(now_ms))


def main():
    global app
    profile = board.load_profile()
    if profile is None:
        return  # the reason is printed; nothing is driven without knowing the pins
    hw = board.Board(profile)
    if board.safe_mode_requested(profile):
        print("knotball: safe mode (button pressed after reset): app not started")
        return
    cfg, problem = config.load_or_defaults(CONFIG_PATH)
    if problem:
        print("knotball: bad config, running on defaults:", problem)
    if hw.woke_from_sleep():
        touched, zero = pressed(hw, cfg)
        if not touched:
            hw.deep_sleep(WAKE_CHECK_MS, zero)  # a timer wake, nobody pressing: sleep
    try:
        recovered = log.recover(LOG_ROOT)
        if recovered:
            print("knotball: recovered interrupted sessions", recovered)
    except Exception as e:  # a broken log must never keep the ball from working
        print("knotball: log recovery failed:", e)
    session_log = log.SessionLog(LOG_ROOT, cfg, VERSION, hw.unix_time)
    # Sessions per day, kept with the log's next id. time.time() is the RTC's seconds: they
    # run on through deep sleep and resets, so the day goes on while the ball sleeps.
    dose = Dose(time.time)
    problem = dose.restore(session_log.day_text, hw.unix_time())
    if problem:
        print("knotball:", problem)
    hw.start_watchdog()
    app = App(hw, cfg, report, session_log, dose=dose)
    # The USB console: live stream, log transfer, config and clock for the host tools.
    app.console = Console(sys.stdin.buffer, sys.stdout.buffer, Control(app), LOG_ROOT, CONFIG_PATH)
    try:
        app.run()
    except KeyboardInterrupt:
        # Ctrl-C from the USB console: the app has stopped (outputs off, session closed);
        # keep the watchdog fed so the REPL the user asked for is not reset under them.
        hw.keep_watchdog_fed()
        print("knotball: stopped; the REPL is yours (reset to start again)")
    finally:
        hw.off()


main()
