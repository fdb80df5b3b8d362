# The board layer: the only module that imports machine/neopixel. It builds the sensor and
# outputs from a board profile (hardware/boards/*.json, stored on the ball as /board.json)
# and gives the app its clock. Everything else receives this object.
import json
import time

import machine
import neopixel

PROFILE_PATH = "/board.json"
_UNIX_2000 = 946684800  # the ESP32 port counts seconds from 2000-01-01
_CLOCK_SET_AFTER = 24 * 365 * 86400  # a clock before 2024 was never set by the host
_DEFAULT_PROFILE = {"fsr_pins": [34], "led_pin": 5, "motor_pin": 18, "safe_mode_pin": 0}


def load_profile(path=PROFILE_PATH):
    try:
        with open(path) as f:
            profile = json.load(f)
    except (OSError, ValueError):
        return dict(_DEFAULT_PROFILE)
    merged = dict(_DEFAULT_PROFILE)
    merged.update(profile)
    return merged


def outputs_off(profile=None):
    """First thing at boot: drive the motor pin low before anything else can fail."""
    p = profile or load_profile()
    machine.Pin(p["motor_pin"], machine.Pin.OUT, value=0)


def safe_mode_requested(profile):
    """Holding the safe-mode button (active low) during reset skips the app: REPL only."""
    pin = machine.Pin(profile["safe_mode_pin"], machine.Pin.IN, machine.Pin.PULL_UP)
    return pin.value() == 0


class Board:
    """FSRs on the ADC (summed: a rolling ball turns, each FSR feels only its side), a
    NeoPixel status LED and a vibration motor on PWM."""

    def __init__(self, profile):
        outputs_off(profile)
        self.pwm = machine.PWM(machine.Pin(profile["motor_pin"]), freq=1000, duty_u16=0)
        self.np = neopixel.NeoPixel(machine.Pin(profile["led_pin"]), 1)
        self.adcs = [
            machine.ADC(machine.Pin(p), atten=machine.ADC.ATTN_11DB) for p in profile["fsr_pins"]
        ]
        self.n_adcs = len(self.adcs)

    def read_sensor(self):
        total = 0
        i = 0
        while i < self.n_adcs:  # an index loop: `for` would allocate an iterator
            total += self.adcs[i].read_u16()
            i += 1
        return total

    def led(self, r, g, b):
        buf = self.np.buf  # write the GRB bytes in place: a tuple would allocate
        buf[0] = g
        buf[1] = r
        buf[2] = b
        self.np.write()

    def motor(self, duty):
        self.pwm.duty_u16(duty * 65535 // 1000)

    def off(self):
        """Motor and LED off. Never raises: it runs on every exit path."""
        try:
            self.pwm.duty_u16(0)
        except Exception:
            pass
        try:
            self.led(0, 0, 0)
        except Exception:
            pass

    def unix_time(self):
        """Unix seconds from the RTC, or 0 when the host has not set the clock."""
        t = time.time()
        return t + _UNIX_2000 if t > _CLOCK_SET_AFTER else 0

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, t, ms):
        return time.ticks_add(t, ms)

    def sleep_ms(self, ms):
        time.sleep_ms(ms)
