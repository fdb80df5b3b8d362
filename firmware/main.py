# The ball's entry point: outputs off, then config, then the 100 Hz loop. Thin on purpose.
from ball import VERSION, board, config, log
from ball.app import App

CONFIG_PATH = "/config.json"
LOG_ROOT = "/logs"


def main():
    profile = board.load_profile()
    hw = board.Board(profile)
    if board.safe_mode_requested(profile):
        print("knotball: safe mode (button held at reset): app not started")
        return
    cfg, problem = config.load_or_defaults(CONFIG_PATH)
    if problem:
        print("knotball: bad config, running on defaults:", problem)
    try:
        recovered = log.recover(LOG_ROOT)
        if recovered:
            print("knotball: recovered interrupted sessions", recovered)
    except Exception as e:  # a broken log must never keep the ball from working
        print("knotball: log recovery failed:", e)
    session_log = log.SessionLog(LOG_ROOT, cfg, VERSION, hw.unix_time)
    hw.start_watchdog()
    try:
        App(hw, cfg, None, session_log).run()
    except KeyboardInterrupt:
        # Ctrl-C from the USB console: the app has stopped (outputs off, session closed);
        # keep the watchdog fed so the REPL the user asked for is not reset under them.
        hw.keep_watchdog_fed()
        print("knotball: stopped; the REPL is yours (reset to start again)")
    finally:
        hw.off()


main()
