"""The board layer against pin-level fakes of `machine`, `neopixel` and `network`, and the
rule that no other firmware module touches hardware."""

import importlib
import re
import sys
import types
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"


class Pin:
    OUT, IN, PULL_UP = 1, 0, 2
    levels = {}

    def __init__(self, n, mode=None, pull=None, value=None):
        self.n = n
        if value is not None:
            Pin.levels[n] = value

    def value(self, v=None):
        if v is not None:
            Pin.levels[self.n] = v
        return Pin.levels.get(self.n, 1)


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        self.duty = duty_u16

    def duty_u16(self, d):
        self.duty = d


class ADC:
    ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3
    readings = {}  # pin -> microvolts

    def __init__(self, pin, atten=None):
        self.pin = pin
        self.atten = atten

    def read_uv(self):
        return ADC.readings.get(self.pin.n, 0)


class WDT:
    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class Timer:
    def __init__(self, n):
        self.callback = None

    def init(self, period, callback):
        self.period = period
        self.callback = callback


class I2C:
    """A bus with one DRV2605L (address 0x5A) on it."""

    def __init__(self, bus_id, sda=None, scl=None, freq=0):
        self.mem = {(0x5A, 0x00): 0xE0}

    def readfrom_mem_into(self, addr, reg, buf):
        if (addr, 0x00) not in self.mem:
            raise OSError(19, "ENODEV")
        buf[0] = self.mem.get((addr, reg), 0)

    def writeto_mem(self, addr, reg, buf):
        self.mem[(addr, reg)] = buf[0]


class NeoPixel:
    def __init__(self, pin, n):
        self.buf = bytearray(3 * n)
        self.written = None

    def write(self):
        self.written = bytes(self.buf)


class RTC:
    mem = None

    def memory(self, data=None):
        if data is not None:
            RTC.mem = data
        return RTC.mem


def deepsleep(*ms):
    """Records how the board went to sleep: (ms,) for a timer wake, () for none."""
    slept.append(ms)


slept = []


@pytest.fixture
def board(monkeypatch):
    machine = types.SimpleNamespace(
        Pin=Pin, PWM=PWM, ADC=ADC, WDT=WDT, Timer=Timer, I2C=I2C, RTC=RTC, deepsleep=deepsleep
    )
    slept.clear()
    RTC.mem = None
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "neopixel", types.SimpleNamespace(NeoPixel=NeoPixel))
    monkeypatch.delitem(sys.modules, "ball.board", raising=False)
    Pin.levels = {}
    return importlib.import_module("ball.board")


PROFILE = {
    "chip": "esp32",
    "sensor": "fsr",
    "fsr_pins": [34, 35],
    "fsr_divider_ohm": 1000,
    "led_pin": 5,
    "led_brightness": 0.25,
    "motor_pin": 18,
    "motor_max_duty": 0.8,
    "battery_pin": 36,
    "battery_divider": 2.0,
    "safe_mode_pin": 0,
}


def test_fsr_profile_builds_the_fsr_driver_on_both_pins(board):
    ADC.readings = {34: 1000000, 35: 0}
    hw = board.Board(PROFILE)
    one = hw.read_sensor()
    ADC.readings = {34: 1000000, 35: 1000000}
    assert one > 0 and hw.read_sensor() > one  # a press on either side counts
    assert [a.atten for a in hw.sensor.adcs] == [ADC.ATTN_11DB] * 2


def test_led_brightness_is_limited_and_motor_duty_capped(board):
    hw = board.Board(PROFILE)
    hw.led(100, 200, 40)
    assert hw.np.written == bytes([50, 25, 10])  # GRB at a quarter brightness
    hw.motor(1000)
    assert hw.pwm.duty == int(0.8 * 65535)


def test_battery_voltage_through_the_divider(board):
    ADC.readings = {36: 1800000}
    assert board.Board(PROFILE).battery_mv() == 3600


def test_a_missing_sensor_is_a_fault_not_a_crash(board, monkeypatch):
    def broken(p):
        raise OSError(19, "no device")

    monkeypatch.setattr(board, "make_sensor", broken)
    hw = board.Board(PROFILE)
    with pytest.raises(OSError):
        hw.read_sensor()


def test_watchdog_is_fed_every_sample_and_by_a_timer_after_ctrl_c(board):
    ADC.readings = {34: 0, 35: 0}
    hw = board.Board(PROFILE)
    hw.start_watchdog()
    hw.read_sensor()
    hw.read_sensor()
    assert hw.wdt.feeds == 2
    hw.keep_watchdog_fed()
    hw._wdt_timer.callback(None)
    assert hw.wdt.feeds == 3 and hw._wdt_timer.period < hw.wdt.timeout


def test_without_a_good_profile_no_pin_is_touched(board, tmp_path, capsys):
    path = tmp_path / "board.json"
    path.write_text('{"chip": "esp32", "sensor": "fsr", "fsr_pins": [4]}')
    assert board.load_profile(str(path)) is None
    assert board.load_profile(str(tmp_path / "missing.json")) is None
    out = capsys.readouterr().out
    assert "motor_pin" in out and "missing.json" in out


def test_safe_mode_window_after_reset(board, monkeypatch):
    slept = []
    monkeypatch.setattr(board, "time", types.SimpleNamespace(sleep_ms=slept.append))
    Pin.levels[0] = 1
    assert not board.safe_mode_requested(PROFILE)
    assert sum(slept) >= 1000  # it watched the button for a second


def test_off_turns_everything_off_and_never_raises(board):
    hw = board.Board(PROFILE)
    hw.motor(1000)
    hw.led(255, 0, 0)
    hw.off()
    assert hw.pwm.duty == 0 and hw.np.written == bytes(3)

    def broken(*a):
        raise OSError("bus gone")

    hw.np.write = broken
    hw.off()  # a failing LED must not stop the motor from going off
    assert hw.pwm.duty == 0


def test_motor_pin_is_driven_low_before_anything_else(board):
    Pin.levels[18] = 1
    board.Board(PROFILE)
    assert Pin.levels[18] == 0


def test_safe_mode_button(board):
    Pin.levels[0] = 0
    assert board.safe_mode_requested(PROFILE)


def test_only_the_board_layer_imports_hardware_modules():
    pattern = re.compile(r"^\s*(import|from)\s+(machine|neopixel|network)\b", re.M)
    offenders = [
        p.relative_to(FIRMWARE).as_posix()
        for p in FIRMWARE.rglob("*.py")
        if pattern.search(p.read_text()) and p.name != "board.py"
    ]
    assert offenders == []


def test_drv2605_haptic_driver_replaces_the_pwm_motor(board):
    p = dict(PROFILE, haptic="drv2605", i2c_sda=21, i2c_scl=22)
    hw = board.Board(p)
    hw.motor(1000)
    bus = hw.haptic.regs.i2c
    assert bus.mem[(0x5A, 0x02)] == int(0.8 * 255) and hw.pwm.duty == 0
    hw.off()
    assert bus.mem[(0x5A, 0x02)] == 0 and bus.mem[(0x5A, 0x01)] & 0x40


def _baro_bus(board, monkeypatch, chip):
    """machine.I2C with `chip` (a register fake) at address 0x76 or 0x77."""

    class BaroBus:
        def __init__(self, bus_id, sda=None, scl=None, freq=0):
            self.pins = (sda.n, scl.n, freq)

        def readfrom_mem_into(self, addr, reg, buf):
            assert addr in (0x76, 0x77)
            chip.read_into(reg, buf)

        def writeto_mem(self, addr, reg, buf):
            chip.write_u8(reg, buf[0])

    monkeypatch.setattr(sys.modules["machine"], "I2C", BaroBus)
    monkeypatch.setattr(board, "time", types.SimpleNamespace(sleep_ms=lambda ms: None))


def test_bmp280_profile_builds_the_barometer_on_its_i2c_bus(board, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent / "core"))
    from fake_baro import FakeBMP280

    chip = FakeBMP280()
    _baro_bus(board, monkeypatch, chip)
    p = {"chip": "esp32c3", "sensor": "bmp280", "i2c_sda": 6, "i2c_scl": 7, "led_pin": 10}
    p["motor_pin"] = 3
    hw = board.Board(p)
    assert hw.sensor.regs.i2c.pins == (6, 7, 400000)
    assert hw.zero_at_boot  # a barometer learns its zero at boot
    assert abs(hw.read_sensor() - 98941) <= 1  # the datasheet example, in Pa at 20 degC
    chip.fail = OSError(5, "EIO")
    with pytest.raises(OSError):
        hw.read_sensor()  # a loose wire reaches the app as a fault


C3_BARO = {
    "chip": "esp32c3",
    "sensor": "bmp390",
    "i2c_sda": 6,
    "i2c_scl": 7,
    "led_pin": 10,
    "led_power_pin": 5,
    "motor_pin": 3,
    "battery_pin": 4,
    "battery_cutoff_mv": 3350,
}


def test_deep_sleep_powers_the_barometer_down_and_cuts_the_led_supply(board, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent / "core"))
    from fake_baro import FakeBMP3

    chip = FakeBMP3(chip_id=0x60)
    _baro_bus(board, monkeypatch, chip)
    hw = board.Board(C3_BARO)
    assert chip.regs[0x1B] == 0x33 and Pin.levels[5] == 1  # measuring, LED powered
    hw.deep_sleep(2000, 101234)
    assert chip.regs[0x1B] == 0x00  # the BMP390 asleep: microamps, not ~0.7 mA
    assert Pin.levels[5] == 0  # the LED's supply switched off
    assert hw.pwm.duty == 0 and slept == [(2000,)] and RTC.mem == b"101234"


def test_deep_sleep_without_a_timer_wake_for_the_cut_off(board, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent / "core"))
    from fake_baro import FakeBMP3

    _baro_bus(board, monkeypatch, FakeBMP3(chip_id=0x60))
    hw = board.Board(C3_BARO)
    assert hw.cutoff_mv == 3350
    hw.deep_sleep(None, 101234)
    assert slept == [()] and RTC.mem is None  # no timer; nothing to keep for a wake check


def test_the_led_supply_stays_off_at_boot_until_the_board_needs_it(board):
    Pin.levels[5] = 1
    board.outputs_off(C3_BARO)
    assert Pin.levels[5] == 0


class WLAN:
    """One interface of the radio; network.WLAN(iface) gives the same one every time."""

    made = {}

    def __new__(cls, iface):
        if iface not in cls.made:
            w = super().__new__(cls)
            w.iface, w.on, w.cfg, w.joined, w.connected = iface, False, {}, [], False
            cls.made[iface] = w
        return cls.made[iface]

    def active(self, on=None):
        if on is not None:
            self.on = on
            if not on:
                self.connected = False
        return self.on

    def config(self, **kw):
        self.cfg.update(kw)

    def connect(self, ssid, key):
        assert self.on
        self.joined.append((ssid, key))

    def isconnected(self):
        return self.connected

    def ifconfig(self):
        return ("192.168.1.23" if self.iface == 0 else "192.168.4.1", "", "", "")


@pytest.fixture
def network(board, monkeypatch):
    WLAN.made = {}
    names = []
    net = types.SimpleNamespace(
        WLAN=WLAN, STA_IF=0, AP_IF=1, AUTH_WPA2_PSK=3, hostname=names.append, names=names
    )
    monkeypatch.setitem(sys.modules, "network", net)
    monkeypatch.setattr(
        sys.modules["machine"], "unique_id", lambda: b"\xa1\xb2\xc3\xd4", raising=False
    )
    return net


HOME = {"on": True, "mode": "station", "ssid": "HomeNet", "password": "hunter2hunter2"}


def test_a_station_connects_without_waiting_and_serves_once_it_has_an_address(board, network):
    ADC.readings = {36: 1950000}  # 3.9 V
    hw = board.Board(PROFILE)
    assert hw.net(HOME) is None  # connecting: the loop does not wait for it
    sta = WLAN(0)
    assert sta.joined == [("HomeNet", "hunter2hunter2")] and network.names == ["knotball-c3d4"]
    assert sta.cfg["txpower"] == board.TX_DBM == 10
    assert hw.net(HOME) is None and len(sta.joined) == 1  # asked again: not restarted
    sta.connected = True
    assert hw.net(HOME) == ("192.168.1.23", 80)
    assert not WLAN(1).on  # no access point beside it


def test_the_access_point_uses_wpa2_and_the_capped_power(board, network):
    ADC.readings = {36: 1950000}
    ap_wifi = {"on": True, "mode": "ap", "ssid": "knotball-c3d4", "password": "ab" * 10}
    hw = board.Board(PROFILE)
    assert hw.net(ap_wifi) == ("192.168.4.1", 80)
    ap = WLAN(1)
    assert ap.on and not WLAN(0).on
    assert ap.cfg["essid"] == "knotball-c3d4" and ap.cfg["password"] == "ab" * 10
    assert ap.cfg["authmode"] == network.AUTH_WPA2_PSK and ap.cfg["txpower"] == 10


def test_the_radio_is_off_when_asked_and_while_the_cell_is_low(board, network, capsys):
    ADC.readings = {36: 1950000}
    hw = board.Board(PROFILE)
    hw.net(HOME)
    assert WLAN(0).on
    assert hw.net(False) is None and not WLAN(0).on and not WLAN(1).on
    ADC.readings = {36: 1750000}  # 3.5 V: below radio.LOW_MV
    assert hw.net(HOME) is None and not WLAN(0).on
    assert hw.net(HOME) is None  # the page's retry asks again: said once, not every time
    assert capsys.readouterr().out.count("Wi-Fi stays off") == 1
    ADC.readings = {36: 1950000}
    assert hw.net(HOME) is None and WLAN(0).on  # charged: it joins again
