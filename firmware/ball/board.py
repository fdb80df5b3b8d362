# The board layer: the only module that imports machine/neopixel (and network, for the live
# page). It builds the sensor driver and the outputs from a board profile
# (hardware/boards/*.json, stored on the ball as /board.json; checked by ball/profile.py) and
# gives the app its clock, battery, sleep and radio.
# Everything else receives this object.
import json
import os
import time

import machine
import neopixel

from ball import BoardBase
from ball import profile as profiles
from ball.sensors import SensorFault

PROFILE_PATH = "/board.json"
_UNIX_2000 = 946684800  # the ESP32 port counts seconds from 2000-01-01
_CLOCK_SET_AFTER = 24 * 365 * 86400  # a clock before 2024 was never set by the host
_VCC_UV = 3300000
_I2C_HZ = 400000
# The watchdog resets a loop that hangs this long (it is fed every sample, 10 ms).
WATCHDOG_MS = 3000
# Wi-Fi transmit power, dBm: 10 dBm is 10 mW, against the ESP32's default of about 20 dBm
# (100 mW). The ball is pressed against a back, its antenna ~5 mm from skin. FCC KDB 447498
# D01 (4.3.1) excludes a device from SAR testing when (mW / mm) * sqrt(GHz) <= 3.0 for 1-g
# SAR: at 5 mm and 2.45 GHz that is 3.0 * 5 / sqrt(2.45) = 9.58 mW (quoted as 9.5 mW),
# time-averaged. The page's stream (~10 small packets a second) keeps the radio's duty cycle
# low, so 10 mW peak is well under 9.5 mW averaged; 100 mW is not. (A screening figure,
# not a certification.) The cost: 10 dB less is ~a third of the range in free space
# (10 ** (-10 / 20) = 0.32): plenty across a room from the router, or to the phone in AP mode.
TX_DBM = 10


def load_profile(path=PROFILE_PATH):
    """The board profile on the ball, or None (printing why) when it is missing or refused:
    without a profile no pin is touched — on another board the DevKitC's motor pin could be
    a USB line — and the app does not start (the motor gate's pull-down keeps it off)."""
    try:
        with open(path) as f:
            p = json.load(f)
        return profiles.validate(p)
    except OSError:
        print("knotball: no {}: copy your board's profile there (hardware/boards/)".format(path))
    except ValueError as e:
        print("knotball: {}: {}".format(path, e))
    return None


def outputs_off(profile=None):
    """First thing at boot: drive the motor pin low before anything else can fail, then
    blank the LEDs (a WS2812 keeps its last colour through a reset)."""
    p = profile or load_profile()
    if p is None:
        return
    machine.Pin(p["motor_pin"], machine.Pin.OUT, value=0)
    if "led_power_pin" in p:
        # The LED's supply switch (hardware/README.md, 3.5): off until the board needs it.
        machine.Pin(p["led_power_pin"], machine.Pin.OUT, value=0)
        return
    try:
        neopixel.NeoPixel(machine.Pin(p["led_pin"]), p.get("led_count", 1)).write()
    except Exception:
        pass  # the motor is what matters; the LED goes off with the first update


def safe_mode_requested(profile, window_ms=1000):
    """Pressing the safe-mode button (active low) in the first second after a reset skips
    the app: REPL only. Not *during* reset: on the ESP32 family that button is a strapping
    pin, and holding it at reset starts the chip's download mode instead of MicroPython."""
    if "safe_mode_pin" not in profile:
        return False
    pin = machine.Pin(profile["safe_mode_pin"], machine.Pin.IN, machine.Pin.PULL_UP)
    waited = 0
    while waited < window_ms:
        if pin.value() == 0:
            return True
        time.sleep_ms(20)
        waited += 20
    return False


_ATTEN = {"0db": 0, "2.5db": 1, "6db": 2, "11db": 3}


def _adc(pin, atten):
    consts = (
        machine.ADC.ATTN_0DB,
        machine.ADC.ATTN_2_5DB,
        machine.ADC.ATTN_6DB,
        machine.ADC.ATTN_11DB,
    )
    return machine.ADC(machine.Pin(pin), atten=consts[_ATTEN[atten]])


def make_sensor(p):
    """The sensor driver the profile names, on its bus or pins."""
    kind = p["sensor"]
    if kind == "fsr":
        from ball.sensors import fsr

        atten = p.get("adc_atten", "11db")
        adcs = [_adc(pin, atten) for pin in p["fsr_pins"]]
        return fsr.FSRArray(
            adcs, fsr.usable_range(atten), 4, divider_ohm=p["fsr_divider_ohm"], vcc_uv=_VCC_UV
        )
    if kind == "hx711":
        from ball.sensors import hx711

        dout = machine.Pin(p["hx711_dout"], machine.Pin.IN)
        sck = machine.Pin(p["hx711_sck"], machine.Pin.OUT, value=0)
        return _settled(
            hx711.HX711(dout, sck, p.get("hx711_gain", 128), p.get("hx711_invert", False))
        )
    from ball.sensors import I2CRegisters, baro

    i2c = machine.I2C(
        p.get("i2c_id", 0),
        sda=machine.Pin(p["i2c_sda"]),
        scl=machine.Pin(p["i2c_scl"]),
        freq=_I2C_HZ,
    )
    regs = I2CRegisters(i2c, p.get("i2c_addr", 0x77 if kind != "bmp280" else 0x76))
    return _settled(baro.BMP280(regs) if kind == "bmp280" else baro.BMP3(regs))


def _cap_tx(wlan):
    try:
        wlan.config(txpower=TX_DBM)
    except (ValueError, OSError):
        pass  # a port without the setting: its default power (hardware/README.md)


def _settled(sensor):
    """Give a sensor that was just (re)started up to 200 ms for its first good reading, so a
    boot or a retry is not taken for a fault."""
    for _ in range(40):
        try:
            sensor.read()
            break
        except SensorFault:
            time.sleep_ms(5)
    return sensor


class Board(BoardBase):
    can_sleep = True
    """The sensor from the profile, a NeoPixel status LED with a brightness limit, an ERM
    motor on PWM with a duty limit, the battery on an ADC, sleep and a watchdog."""

    def __init__(self, profile):
        outputs_off(profile)
        self.profile = profile
        self.pwm = machine.PWM(machine.Pin(profile["motor_pin"]), freq=1000, duty_u16=0)
        # duty 0..1000 from the feedback -> PWM 0..65535, capped by the motor's rating
        self.motor_scale = int(profile.get("motor_max_duty", 1.0) * 65535)
        self.haptic = None
        if profile.get("haptic") == "drv2605":
            from ball.haptic import DRV2605
            from ball.sensors import I2CRegisters

            i2c = machine.I2C(
                profile.get("i2c_id", 0),
                sda=machine.Pin(profile["i2c_sda"]),
                scl=machine.Pin(profile["i2c_scl"]),
                freq=_I2C_HZ,
            )
            self.haptic = DRV2605(I2CRegisters(i2c, 0x5A))
        self.led_power = None
        if "led_power_pin" in profile:
            self.led_power = machine.Pin(profile["led_power_pin"], machine.Pin.OUT, value=1)
        self.np = neopixel.NeoPixel(machine.Pin(profile["led_pin"]), profile.get("led_count", 1))
        self.brightness = int(profile.get("led_brightness", 0.25) * 256)
        self.battery = None
        if "battery_pin" in profile:
            self.battery = _adc(profile["battery_pin"], "11db")
            self.battery_divider_x100 = int(profile.get("battery_divider", 2.0) * 100)
            if "battery_cutoff_mv" in profile:
                self.cutoff_mv = int(profile["battery_cutoff_mv"])  # else the app's default
        self.stuck_ms = profile.get("stuck_ms", 0)
        self.light_sleep = bool(profile.get("light_sleep", False))
        # A barometer reads ~100 kPa at rest: its zero is learnt at boot, not configured.
        self.zero_at_boot = profile["sensor"] in ("bmp280", "bmp388", "bmp390")
        self.wdt = None
        self.joining = None  # the (ssid, password) the station was told to join
        self.low_said = False
        self.sensor = None
        self.reset_sensor()

    def reset_sensor(self):
        """(Re)build the sensor driver: at boot, and as the app's retry after a fault."""
        try:
            self.sensor = make_sensor(self.profile)
        except Exception as e:
            self.sensor = None
            self.sensor_error = str(e)

    def read_sensor(self):
        if self.wdt is not None:
            self.wdt.feed()  # once per sample: a loop that stops sampling gets reset
        s = self.sensor
        if s is None:
            raise OSError(19, "sensor not found")  # ENODEV: the app's fault state handles it
        return s.read()

    def led(self, r, g, b):
        k = self.brightness
        buf = self.np.buf  # GRB bytes written in place: a tuple per pixel would allocate
        n = len(buf)
        i = 0
        while i < n:
            buf[i] = g * k >> 8
            buf[i + 1] = r * k >> 8
            buf[i + 2] = b * k >> 8
            i += 3
        self.np.write()

    def motor(self, duty):
        if self.haptic is not None:
            self.haptic.set(duty * self.motor_scale // 65535)
        else:
            self.pwm.duty_u16(duty * self.motor_scale // 1000)

    def off(self):
        """Motor and LED off. Never raises: it runs on every exit path."""
        try:
            self.pwm.duty_u16(0)
        except Exception:
            pass
        try:
            if self.haptic is not None:
                self.haptic.off()
        except Exception:
            pass
        try:
            self.led(0, 0, 0)
        except Exception:
            pass

    def battery_mv(self):
        """Battery voltage in mV, or 0 when the board has no battery divider."""
        if self.battery is None:
            return 0
        return self.battery.read_uv() // 10 * self.battery_divider_x100 // 10000

    def net(self, wifi):
        """The radio for the live page (BoardBase.net): a station on the stored network, or
        the ball's own access point; off for None/False and while the cell is low. Never
        waits: a station returns None until it has its address, and `KB wifi` (or the next
        start) asks again; asked again it does not restart a connection under way."""
        import network  # only here: a ball without Wi-Fi never loads the driver

        from ball.app import NO_CELL_MV
        from ball.radio import LOW_MV  # a low cell keeps what it has for a safe stop

        sta = network.WLAN(network.STA_IF)
        ap = network.WLAN(network.AP_IF)
        mv = self.battery_mv()
        if not wifi or NO_CELL_MV <= mv < LOW_MV:
            if wifi and not self.low_said:
                self.low_said = True  # once: the page's retries ask again every few s
                print("knotball: battery at {} mV: Wi-Fi stays off".format(mv))
            sta.active(False)
            ap.active(False)
            self.joining = None
            return None
        name = "knotball-" + (self.ball_id()[-4:] or "0000")
        if wifi.get("mode") == "ap":
            sta.active(False)
            self.joining = None
            ap.active(True)
            ap.config(essid=wifi.get("ssid") or name, password=wifi["password"])
            ap.config(authmode=network.AUTH_WPA2_PSK)
            _cap_tx(ap)
            return (ap.ifconfig()[0], 80)
        ap.active(False)
        want = (wifi["ssid"], wifi.get("password", ""))
        if self.joining != want:
            if hasattr(network, "hostname"):
                network.hostname(name)  # before connecting: DHCP sends it to the router
            sta.active(False)  # a new network: leave the old one
            sta.active(True)
            _cap_tx(sta)
            sta.connect(want[0], want[1])
            self.joining = want
            return None
        if not sta.isconnected():
            return None  # still connecting (or the network is away): asked again later
        return (sta.ifconfig()[0], 80)

    def ball_id(self):
        """A stable id for this ball, for the host's history: the chip's unique id in hex."""
        return "".join("{:02x}".format(b) for b in machine.unique_id())

    def boot_id(self):
        """A random id for this power-on (or reset), 1..2**30-1: a small int on the ball."""
        return (int.from_bytes(os.urandom(4), "little") & 0x3FFFFFFF) or 1

    def unix_time(self):
        """Unix seconds from the RTC, or 0 when the host has not set the clock."""
        t = time.time()
        return t + _UNIX_2000 if t > _CLOCK_SET_AFTER else 0

    def set_time(self, unix):
        """Set the RTC from the host's clock (unix seconds), for session start times."""
        t = time.gmtime(unix - _UNIX_2000)
        machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))

    def start_watchdog(self):
        self.wdt = machine.WDT(timeout=WATCHDOG_MS)

    def keep_watchdog_fed(self):
        """After Ctrl-C the loop no longer feeds the watchdog, and a started WDT cannot be
        stopped: a timer feeds it from now on so the REPL is not reset under the user."""
        if self.wdt is not None:
            wdt = self.wdt
            self._wdt_timer = machine.Timer(0)
            self._wdt_timer.init(period=WATCHDOG_MS // 3, callback=lambda t: wdt.feed())

    def deep_sleep(self, wake_ms, zero=None):
        """Outputs off, the sensor powered down, the LED's supply cut (with led_power_pin),
        the zero kept in RTC memory, then deep sleep until the timer (wake_ms) resets the
        ball to look for a press (hardware/README.md, "Sleep and wake", says how each
        sensor kind wakes). wake_ms None: no timer at all, only a reset or power cycle
        wakes it (the battery's cut-off)."""
        self.off()
        down = getattr(self.sensor, "power_down", None)
        if down is not None:
            try:
                down()
            except Exception:
                pass  # a sensor that cannot answer cannot be told to sleep either
        if self.led_power is not None:
            self.led_power.value(0)  # the gate pull-down keeps it off through the sleep
        if zero is not None and wake_ms is not None:
            machine.RTC().memory(str(zero).encode())
        if wake_ms is None:
            machine.deepsleep()
        else:
            machine.deepsleep(wake_ms)

    def kept_zero(self):
        """The zero kept through a deep sleep, or None after any other reset."""
        if not self.woke_from_sleep():
            return None
        try:
            return int(machine.RTC().memory())
        except ValueError:
            return None

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, t, ms):
        return time.ticks_add(t, ms)

    def woke_from_sleep(self):
        return machine.reset_cause() == machine.DEEPSLEEP_RESET

    def sleep_ms(self, ms):
        # Light sleep between samples saves ~30 mA, but the native USB console of the C3/S3
        # drops in light sleep: only with "light_sleep": true in the profile (on battery).
        if self.light_sleep and ms >= 3:
            machine.lightsleep(ms)
        else:
            time.sleep_ms(ms)
