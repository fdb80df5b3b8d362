# The fixed-rate loop: samples at 100 Hz, and outputs end off on every exit path.
from ball import config
from ball import session as s
from ball.app import PERIOD_MS, App
from kbtest import FakeBoard, raises


class Boom(Exception):
    pass


def test_loop_runs_at_the_fixed_rate():
    board = FakeBoard(counts=25000)
    app = App(board, config.DEFAULTS)
    ticks = []
    app.listener = lambda now, ev: ticks.append(now)
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 100

    app.run(stop)
    assert board.t == 100 * PERIOD_MS
    assert app.session.band == s.MEDIUM


def test_outputs_off_after_a_normal_end():
    board = FakeBoard(counts=70000)
    app = App(board, config.DEFAULTS)
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 50

    app.run(stop)
    assert board.duty == 0 and board.rgb == (0, 0, 0) and board.offs == 1


def test_outputs_off_and_session_aborted_after_an_error():
    board = FakeBoard(counts=70000)
    app = App(board, config.DEFAULTS)
    stops = []
    app.listener = lambda now, ev: stops.append(ev) if ev & s.EV_STOP else None
    n = [0]

    def stop():
        n[0] += 1
        if n[0] > 50:
            raise Boom()
        return False

    raises(Boom, app.run, stop)
    assert board.duty == 0 and board.rgb == (0, 0, 0) and board.offs == 1
    assert app.session.stop_reason == s.STOP_ABORTED and len(stops) == 1


def test_outputs_off_after_ctrl_c():
    board = FakeBoard(counts=70000)
    app = App(board, config.DEFAULTS)
    n = [0]

    def stop():
        n[0] += 1
        if n[0] > 30:
            raise KeyboardInterrupt
        return False

    raises(KeyboardInterrupt, app.run, stop)
    assert board.duty == 0 and board.rgb == (0, 0, 0)


def test_overrun_resynchronises_instead_of_bursting():
    board = FakeBoard()
    app = App(board, config.DEFAULTS)
    n = [0]

    def stop():
        n[0] += 1
        if n[0] == 10:
            board.t += 500  # the loop stalled for half a second
        return n[0] > 20

    app.run(stop)
    assert app.overruns == 1
