# What the ball does from reset to the 100 Hz loop, on the board layer main.py hands it.
# A timer wake from deep sleep comes here every 2 s, so what it needs comes first and fast:
# no safe-mode window (that is for power-on and reset), no log, console or dose imported
# until the ball stays awake.
import gc
import sys
import time

from ball import config
from ball.app import CUTOFF_MV, RESUME_MV, WAKE_CHECK_MS, battery_empty
from ball.session import ACTIVE, EV_FAULT, EV_FAULT_CLEAR

app = None

CONFIG_PATH = "/config.json"
LOG_ROOT = "/logs"
WIFI_PATH = "/wifi.json"  # the network `KB wifi` stored; none: Wi-Fi stays off


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


def battery_mv(hw):
    """The highest of three battery readings (0 without a divider): one noisy reading must
    not put the ball to sleep until it is charged. Back to back: the motor is off here."""
    return max(hw.battery_mv(), hw.battery_mv(), hw.battery_mv())


def empty(hw, mv):
    """The cell is at its cut-off: the empty signal once, outputs off, and deep sleep with
    no timer wake (a reset or power cycle after charging starts the ball again)."""
    from ball.feedback import EMPTY, EMPTY_RGB

    print("knotball: battery empty ({} mV): sleeping until charged and reset".format(mv))
    segments, duty = EMPTY[0], EMPTY[1]
    hw.led(EMPTY_RGB[0], EMPTY_RGB[1], EMPTY_RGB[2])
    for i in range(len(segments)):
        hw.motor(duty if i % 2 == 0 else 0)
        hw.sleep_ms(segments[i])
    hw.off()
    hw.deep_sleep(None)


def wifi_config(path=WIFI_PATH):
    """The stored network (a dict), None when none is stored, or False: switched off
    (`KB wifi off`)."""
    import json

    try:
        with open(path) as f:
            wifi = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(wifi, dict):
        return None
    return wifi if wifi.get("on") else False


def serve(hw, control, wifi_path=WIFI_PATH):
    """The live page's server when the board brings up a network; a Joining while a stored
    station is still connecting; else None. Only with an address is ball.web loaded: a ball
    without Wi-Fi (and the sim) never pays its heap."""
    wifi = wifi_config(wifi_path)
    addr = hw.net(wifi)
    if addr is None:
        return Joining(hw, control, wifi_path) if wifi else None
    from ball.web import Server

    try:
        return Server(control, addr[0], addr[1], sent=hw.net_sent)
    except OSError as e:  # the port is taken: the ball runs on without its page
        print("knotball: live page not served on port {}: {}".format(addr[1], e))
        hw.net(False)
        return None


JOIN_RETRY_MS = 5000


class Joining:
    """Stands in for the page's server while the station connects (Board.net returns None
    until it has an address, and never waits): the loop polls it as it would the server,
    and every JOIN_RETRY_MS it asks the board again; once there is an address, the server
    takes its place in the app. Nothing is served meanwhile (control.page() is None)."""

    addr = None

    def __init__(self, hw, control, wifi_path):
        self.hw = hw
        self.control = control
        self.wifi_path = wifi_path
        self.at = None

    def poll(self, now_ms):
        if self.at is not None and 0 <= now_ms - self.at < JOIN_RETRY_MS:
            return
        self.at = now_ms
        page = serve(self.hw, self.control, self.wifi_path)
        if page is None or page.addr is not None:
            self.control.app.web = page  # the server, or nothing: switched off meanwhile

    def close(self):
        pass


class RadioSwitch:
    """The radio's state machine (ball.radio) made real: off closes the page's server and
    turns the radio off (Board.net(False)); on serves the page again. Polled by the loop
    before the page; made by Control.restart_page, so only a ball that served a page (or
    was asked to by `KB wifi`) has one."""

    def __init__(self, hw, control, wifi_path, now_ms):
        from ball.radio import Radio

        self.hw = hw
        self.control = control
        self.wifi_path = wifi_path
        self.radio = Radio(now_ms)

    def poll(self, now_ms):
        app = self.control.app
        s = app.session
        web = app.web
        busy = (
            s.state == ACTIVE or s.band != 0 or bool(web is not None and web.addr and web.streams)
        )
        if not self.radio.step(now_ms, busy, app.battery_mv):
            return
        if self.radio.on:
            print("knotball: radio on")
            app.web = serve(self.hw, self.control, self.wifi_path)
            return
        if self.radio.low:
            print("knotball: radio off: battery at {} mV".format(app.battery_mv))
        else:
            print(
                "knotball: radio off, unused for {} s: a press turns it on".format(
                    self.radio.keep_ms // 1000
                )
            )
        app.web = None
        if web is not None:
            web.close()
        self.hw.net(False)


def report(now_ms, ev):
    """The USB console hears what the ball cannot show: why the sensor failed."""
    if ev & EV_FAULT and app is not None:
        print("knotball: sensor fault at {} ms: {}".format(now_ms, app.fault_text))
    if ev & EV_FAULT_CLEAR:
        print("knotball: sensor works again at {} ms".format(now_ms))


def main(board):
    """Boot on `board`, the board layer module (ball/board.py on the ESP32): its
    load_profile(), Board and safe_mode_requested()."""
    global app
    profile = board.load_profile()
    if profile is None:
        return  # the reason is printed; nothing is driven without knowing the pins
    hw = board.Board(profile)
    cutoff = hw.cutoff_mv or CUTOFF_MV
    cfg, problem = config.load_or_defaults(CONFIG_PATH)
    if hw.woke_from_sleep():
        # A timer wake: the cell first (it drains in standby too), then a press or back to
        # sleep. Nobody can be holding a safe-mode button for a wake they did not cause.
        mv = battery_mv(hw)
        if battery_empty(mv, cutoff):
            empty(hw, mv)
        touched, zero = pressed(hw, cfg)
        if not touched:
            hw.deep_sleep(WAKE_CHECK_MS, zero)  # nobody pressing: sleep
    else:
        # Power-on or reset: the safe-mode window first, so the REPL is always reachable;
        # then a spent cell must have been charged (RESUME_MV above the cut-off) to start.
        if board.safe_mode_requested(profile):
            print("knotball: safe mode (button pressed after reset): app not started")
            return
        mv = battery_mv(hw)
        if battery_empty(mv, cutoff, RESUME_MV):
            empty(hw, mv)
    if problem:
        print("knotball: bad config, running on defaults:", problem)
    from ball import VERSION, log
    from ball.app import App
    from ball.console import Console
    from ball.control import Control
    from ball.dose import Dose

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
    gc.collect()  # the imports' and the recovery's garbage: one heap for the app's objects
    app = App(hw, cfg, report, session_log, dose=dose)
    # The USB console: live stream, log transfer, config and clock for the host tools.
    control = Control(app, CONFIG_PATH)
    app.console = Console(sys.stdin.buffer, sys.stdout.buffer, control, LOG_ROOT, CONFIG_PATH)
    control.restart_page(WIFI_PATH)  # the page, if Wi-Fi is on, and the radio's switch
    try:
        app.run()
    except KeyboardInterrupt:
        # Ctrl-C from the USB console: the app has stopped (outputs off, session closed);
        # keep the watchdog fed so the REPL the user asked for is not reset under them.
        hw.keep_watchdog_fed()
        print("knotball: stopped; the REPL is yours (reset to start again)")
    finally:
        hw.off()
