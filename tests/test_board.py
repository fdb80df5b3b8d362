"""The board layer against pin-level fakes of `machine` and `neopixel`, and the rule that no
other firmware module touches hardware."""

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

    def value(self):
        return Pin.levels.get(self.n, 1)


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        self.duty = duty_u16

    def duty_u16(self, d):
        self.duty = d


class ADC:
    ATTN_11DB = 3
    readings = {}

    def __init__(self, pin, atten=None):
        self.pin = pin

    def read_u16(self):
        return ADC.readings[self.pin.n]


class NeoPixel:
    def __init__(self, pin, n):
        self.buf = bytearray(3 * n)
        self.written = None

    def write(self):
        self.written = bytes(self.buf)


@pytest.fixture
def board(monkeypatch):
    machine = types.SimpleNamespace(Pin=Pin, PWM=PWM, ADC=ADC)
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "neopixel", types.SimpleNamespace(NeoPixel=NeoPixel))
    monkeypatch.delitem(sys.modules, "ball.board", raising=False)
    Pin.levels = {}
    return importlib.import_module("ball.board")


PROFILE = {"fsr_pins": [34, 35], "led_pin": 5, "motor_pin": 18, "safe_mode_pin": 0}


def test_fsrs_are_summed_so_a_turning_ball_still_feels(board):
    ADC.readings = {34: 1000, 35: 2500}
    assert board.Board(PROFILE).read_sensor() == 3500


def test_led_writes_grb_and_motor_scales_duty(board):
    hw = board.Board(PROFILE)
    hw.led(10, 20, 30)
    assert hw.np.written == bytes([20, 10, 30])
    hw.motor(500)
    assert hw.pwm.duty == 65535 // 2


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
    pattern = re.compile(r"^\s*(import|from)\s+(machine|neopixel)\b", re.M)
    offenders = [
        p.relative_to(FIRMWARE).as_posix()
        for p in FIRMWARE.rglob("*.py")
        if pattern.search(p.read_text()) and p.name != "board.py"
    ]
    assert offenders == []
