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


class PowerBoard(FakeBoard):
    can_sleep = True

    def __init__(self, counts=0, mv=4000):
        super().__init__(counts)
        self.mv = mv
        self.slept = None

    def battery_mv(self):
        return self.mv

    def deep_sleep(self, wake_ms, zero=None):
        self.slept = (self.t, wake_ms)
        raise KeyboardInterrupt  # a real deep sleep never returns: end the run here


def test_low_battery_cue_replaces_the_start_tick():
    from ball import feedback

    board = PowerBoard(mv=3300)
    app = App(board, config.DEFAULTS)
    n = [0]

    def stop():
        n[0] += 1
        if n[0] == 100:
            board.counts = 25000
        return n[0] > 160

    app.run(stop)
    assert app.battery_mv == 3300 and app.feedback.low_battery
    assert feedback.LOW_BATTERY[0][0] > feedback.START[0][0]
    ons = [t for t, d in board.motor_log if d > 0]
    offs = [t for t, d in board.motor_log if d == 0 and ons and t > ons[0]]
    assert offs and offs[0] - ons[0] >= 300  # the long low-battery buzz, not the 60 ms tick


def test_deep_sleep_after_being_left_alone_with_outputs_off():
    board = PowerBoard()
    cfg = config.validate({"sleep_after_s": 30})
    app = App(board, cfg)
    raises(KeyboardInterrupt, app.run)
    assert board.slept is not None and 30000 <= board.slept[0] <= 30100
    assert board.duty == 0 and board.rgb == (0, 0, 0)


def test_no_sleep_while_pressed_or_when_disabled():
    board = PowerBoard(counts=25000)
    app = App(board, config.validate({"sleep_after_s": 30, "session_limit_s": 360}))
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 4000

    app.run(stop)
    assert board.slept is None
    board = PowerBoard()
    app = App(board, config.validate({"sleep_after_s": 0}))
    n[0] = 0
    app.run(stop)
    assert board.slept is None


class FakeLog:
    """The session log's interface, remembering what it was told."""

    def __init__(self):
        self.ops = 0
        self.stops = []
        self.closed = False

    def step(self, ev, sess, fault=0):
        if ev & s.EV_STOP:
            self.stops.append(sess.stop_reason)

    def service(self, idle, now, calm):
        pass

    def close(self):
        self.closed = True


class DrainingBoard(PowerBoard):
    """A cell whose voltage follows `volts(t)`; every read is remembered."""

    def __init__(self, counts, volts):
        super().__init__(counts)
        self.volts = volts
        self.reads = []

    def battery_mv(self):
        self.reads.append(self.t)
        return self.volts(self.t)


def test_cut_off_ends_the_session_signals_once_and_sleeps_without_a_timer():
    from ball import feedback

    board = DrainingBoard(25000, lambda t: 3800 if t < 20000 else 3250)
    app = App(board, config.validate({"session_limit_s": 360}))
    app.log = FakeLog()
    events = []
    app.listener = lambda now, ev: events.append((now, ev))
    raises(KeyboardInterrupt, app.run)  # the board's deep sleep ends the run
    at, wake_ms = board.slept
    assert wake_ms is None  # no timer wake: only a reset after charging starts it again
    assert app.session.stop_reason == s.STOP_LOW_BATTERY
    assert app.log.stops == [s.STOP_LOW_BATTERY] and app.log.closed
    stops = [t for t, ev in events if ev & s.EV_STOP]
    assert len(stops) == 1 and 20000 < stops[0] <= 20000 + 5000 + 2 * 1000 + 20
    # The empty signal, once: its long buzz after three ticks, then the motor off for good.
    buzz = feedback.EMPTY[0][-1]
    ons = [t for t, d in board.motor_log if d > 0]
    assert ons and at - ons[-1] >= buzz - 20
    assert board.duty == 0 and board.rgb == (0, 0, 0)


def test_the_battery_is_read_during_a_session_and_one_sag_does_not_end_it():
    # The motor's inrush pulls the 3rd and the 8th reading under the cut-off.
    board = DrainingBoard(25000, lambda t: 3200 if len(board.reads) in (3, 8) else 3800)
    app = App(board, config.validate({"session_limit_s": 60}))
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 7000

    app.run(stop)
    in_session = [t for t in board.reads if 0 < t < 60000]
    assert len(in_session) >= 10  # every 5 s under load, not only between sessions
    assert app._low_readings == 0 and len(board.reads) > 8  # the sags were seen ...
    assert app.session.stop_reason == s.STOP_TIME_LIMIT and not app.cutoff  # ... and let go
    assert board.slept is None


def test_no_cell_on_the_divider_is_not_an_empty_cell():
    board = DrainingBoard(25000, lambda t: 40)  # USB on the bench, the divider reads ~0
    app = App(board, config.DEFAULTS)
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 3000

    app.run(stop)
    assert not app.cutoff and board.slept is None


def test_the_hosts_clock_runs_on_when_the_loop_restarts_its_time():
    from ball.control import Control

    rebase_ms = 1 << 28  # app._REBASE_MS: about three days
    board = FakeBoard()
    app = App(board, config.DEFAULTS)
    control = Control(app)
    control.set_clock(1800000000)
    n = [0]

    def stop():
        n[0] += 1
        if n[0] == 2:
            board.t += rebase_ms + 5000  # days left idle between two samples
        return n[0] > 3

    app.run(stop)
    assert app.now < 1000  # the loop's own time started again near 0
    assert control.unix_time() >= 1800000000 + rebase_ms // 1000


def test_a_failing_live_page_is_closed_and_the_session_still_stops_at_its_limit():
    class BrokenPage:
        closed = False

        def poll(self, now_ms):
            if now_ms >= 3000:
                raise ValueError("a request nobody foresaw")

        def close(self):
            BrokenPage.closed = True

    board = FakeBoard(counts=25000)
    cfg = config.validate({"session_limit_s": 5})
    app = App(board, cfg)
    app.web = BrokenPage()
    n = [0]

    def stop():
        n[0] += 1
        return n[0] > 800  # 8 s of samples

    app.run(stop)
    assert app.web is None and BrokenPage.closed
    assert app.session.stop_reason == s.STOP_TIME_LIMIT and app.session.elapsed_ms == 5000
