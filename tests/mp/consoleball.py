# A ball on the MicroPython unix port for the console tests: the real App on the sim board,
# paced in real time (10 ms sleeps), logging into LOGDIR, its console on stdin/stdout.
# Run: micropython consoleball.py TRACE.csv CONFIG.json LOGDIR [BALL_ID]
# Text it prints (session events, the end marker) shares stdout with the console's frames,
# as print() output does on a real ball.
import sys
import time

from ball import VERSION, config, session
from ball.app import App
from ball.console import Console
from ball.control import Control
from ball.log import SessionLog
from ball.sim import SimBoard
from ball.wire import STOP_REASONS


class RealTimeBoard(SimBoard):
    """The sim board's virtual clock, moved by real sleeps: the loop runs at ~100 Hz."""

    def sleep_ms(self, ms):
        time.sleep_ms(ms)
        self.t += ms

    def ball_id(self):
        return BALL_ID

    def boot_id(self):
        return 12345  # one power-on for the whole run


BALL_ID = sys.argv[4] if len(sys.argv) > 4 else ""


def main(trace, cfg_path, logdir):
    cfg, problem = config.load_or_defaults(cfg_path)
    if problem:
        print("config problem:", problem)
    board = RealTimeBoard(trace, cfg, lambda line: None)

    def listener(now_ms, ev):
        if ev & session.EV_START:
            print("event session_start")
        if ev & session.EV_STOP:
            print("event session_stop", STOP_REASONS[app.session.stop_reason])

    app = App(board, cfg, listener, SessionLog(logdir, cfg, VERSION))
    app.console = Console(sys.stdin.buffer, sys.stdout.buffer, Control(app), logdir, cfg_path)
    print("consoleball ready")
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    print("consoleball ended led={} duty={}".format(board.rgb, board.duty))


main(sys.argv[1], sys.argv[2], sys.argv[3])
