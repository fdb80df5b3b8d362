# The ball's entry point: outputs off, then config, then the 100 Hz loop. Thin on purpose.
from ball import board, config
from ball.app import App

CONFIG_PATH = "/config.json"


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
        App(hw, cfg).run()
    finally:
        hw.off()


main()
