# Board profiles (hardware/boards/*.json, stored on the ball as /board.json): which sensor,
# which pins. Checked here, on the host before flashing and on the ball at boot, so a profile
# naming a pin the chip does not have is refused with a message that names it.
try:
    from typing import Any
except ImportError:
    pass

# Per chip: GPIOs that exist, those that are input-only, and those on ADC1 (ADC2 is taken
# by WiFi on the ESP32 family, so knotball reads analog inputs on ADC1 only), and the
# strapping pins the chip reads at reset: an analog input's divider would set their level
# (a C3's GPIO2 wants a high, >= 0.75 x 3.3 V, and a battery tap at VBAT/2 gives 1.5-2.1 V).
CHIPS: dict = {
    "esp32": {
        "gpio": (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32)
        + (33, 34, 35, 36, 39),
        "input_only": (34, 35, 36, 39),
        "adc1": (32, 33, 34, 35, 36, 37, 38, 39),
        "strapping": (0, 2, 5, 12, 15),
    },
    "esp32c3": {
        # GPIO12-17 are the SPI flash, GPIO18/19 the USB console's D-/D+
        "gpio": tuple(range(0, 12)) + (20, 21),
        "input_only": (),
        "adc1": (0, 1, 2, 3, 4),
        "strapping": (2, 8, 9),
    },
    "esp32s3": {
        # GPIO19/20 are the USB console, GPIO26-37 the flash and (octal) PSRAM
        "gpio": tuple(range(0, 19)) + (21,) + tuple(range(38, 49)),
        "input_only": (),
        "adc1": tuple(range(1, 11)),
        "strapping": (0, 3, 45, 46),
    },
    "sim": {"gpio": (), "input_only": (), "adc1": (), "strapping": ()},
}
SENSORS = ("fsr", "bmp280", "bmp388", "bmp390", "hx711", "sim")
# Every key a profile may have: a misspelt one is refused, not silently ignored.
KEYS = (
    "name", "description", "chip", "sensor", "fsr_pins", "adc_atten", "fsr_divider_ohm",
    "hx711_dout", "hx711_sck", "hx711_gain", "hx711_invert", "i2c_id", "i2c_sda", "i2c_scl",
    "i2c_addr", "led_pin", "led_count", "led_brightness", "motor_pin", "motor_max_duty",
    "haptic", "battery_pin", "battery_divider", "battery_cutoff_mv", "safe_mode_pin",
    "stuck_ms", "light_sleep", "led_power_pin",
    "sim_like", "sim_zero_counts", "sim_counts_per_n", "sim_exponent", "sim_noise_counts",
)  # fmt: skip
# The virtual ball's sensor physics (chip "sim" only): raw counts = sim_zero_counts +
# sim_counts_per_n * 20 * (F / 20 N) ** sim_exponent, plus +-sim_noise_counts of noise, so
# counts per newton are sim_counts_per_n at 20 N (an FSR's conductance grows as ~F**0.85).
# sim_like names the real sensor it stands for (how the host fits its calibration). Without
# these keys the trace goes through the inverse of the ball's own calibration.
SIM_KEYS = KEYS[-5:]
ATTENUATIONS = ("0db", "2.5db", "6db", "11db")


class ProfileError(ValueError):
    def __init__(self, key, message):
        super().__init__("board profile: {}: {}".format(key, message))
        self.key = key


def _pin(p, chip, key, output=False, adc=False):
    pin = p.get(key)
    if isinstance(pin, bool) or not isinstance(pin, int):
        raise ProfileError(key, "must be a GPIO number, got {!r}".format(pin))
    spec = CHIPS[chip]
    if pin not in spec["gpio"]:
        raise ProfileError(key, "GPIO{} does not exist on the {}".format(pin, chip))
    if output and pin in spec["input_only"]:
        raise ProfileError(
            key, "GPIO{} is input-only on the {}: it cannot drive".format(pin, chip)
        )
    if adc and pin in spec["strapping"]:
        raise ProfileError(
            key,
            "GPIO{} is a strapping pin of the {}: a divider on it sets its level at reset".format(
                pin, chip
            ),
        )
    if adc and pin not in spec["adc1"]:
        raise ProfileError(
            key,
            "GPIO{} is not an ADC1 pin on the {} (ADC1: {})".format(
                pin, chip, ", ".join(str(x) for x in spec["adc1"])
            ),
        )
    return pin


def _range(p, key, lo, hi, required=False):
    if key not in p:
        if required:
            raise ProfileError(key, "missing: a number from {} to {}".format(lo, hi))
        return
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ProfileError(key, "must be a number from {} to {}, got {!r}".format(lo, hi, v))


def _sim(p):
    like = p.get("sim_like", "sim")
    if like not in SENSORS:
        raise ProfileError("sim_like", "use one of " + ", ".join(SENSORS))
    _range(p, "sim_zero_counts", -(1 << 29), 1 << 29)
    _range(p, "sim_counts_per_n", 0.001, 1000000)
    _range(p, "sim_exponent", 0.3, 2.0)
    _range(p, "sim_noise_counts", 0, 100000)
    if "sim_counts_per_n" not in p and ("sim_exponent" in p or "sim_zero_counts" in p):
        raise ProfileError("sim_counts_per_n", "needed with sim_zero_counts or sim_exponent")
    return p


def validate(p: Any) -> dict:
    """Return the profile if it is usable; raise ProfileError naming the key otherwise."""
    if not isinstance(p, dict):
        raise ProfileError("(file)", "a board profile is a JSON object")
    for key in p:
        if key not in KEYS:
            raise ProfileError(key, "unknown key (known keys: {})".format(", ".join(KEYS)))
    chip = p.get("chip")
    if chip not in CHIPS:
        raise ProfileError(
            "chip", "unknown chip {!r}: use one of {}".format(chip, ", ".join(CHIPS))
        )
    sensor = p.get("sensor")
    if sensor not in SENSORS:
        raise ProfileError(
            "sensor", "unknown sensor {!r}: use one of {}".format(sensor, ", ".join(SENSORS))
        )
    if chip == "sim" or sensor == "sim":
        if chip != sensor:
            raise ProfileError("sensor", "the sim chip goes with the sim sensor only")
        return _sim(p)
    for key in SIM_KEYS:
        if key in p:
            raise ProfileError(key, "only for the sim chip (the virtual ball's sensor physics)")
    used: dict = {}

    def claim(key, pin):
        if pin in used:
            raise ProfileError(key, "GPIO{} is already used by {}".format(pin, used[pin]))
        used[pin] = key

    claim("motor_pin", _pin(p, chip, "motor_pin", output=True))
    claim("led_pin", _pin(p, chip, "led_pin", output=True))
    if "led_power_pin" in p:
        claim("led_power_pin", _pin(p, chip, "led_power_pin", output=True))
    if "safe_mode_pin" in p:
        claim("safe_mode_pin", _pin(p, chip, "safe_mode_pin"))
    if "battery_pin" in p:
        claim("battery_pin", _pin(p, chip, "battery_pin", adc=True))
        ratio = p.get("battery_divider", 2.0)
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio < 1:
            raise ProfileError("battery_divider", "must be a number >= 1 (Vbat / Vpin)")
        _range(p, "battery_cutoff_mv", 3000, 3600)
    elif "battery_cutoff_mv" in p:
        raise ProfileError("battery_cutoff_mv", "needs battery_pin (the cell's divider tap)")
    if sensor == "fsr":
        pins = p.get("fsr_pins")
        if not isinstance(pins, list) or not pins:
            raise ProfileError("fsr_pins", "must be a list of one or more ADC1 GPIO numbers")
        for i in range(len(pins)):
            key = "fsr_pins[{}]".format(i)
            claim(key, _pin({key: pins[i]}, chip, key, adc=True))
        if p.get("adc_atten", "11db") not in ATTENUATIONS:
            raise ProfileError("adc_atten", "use one of " + ", ".join(ATTENUATIONS))
        _range(p, "fsr_divider_ohm", 100, 1000000, required=True)
    elif sensor == "hx711":
        claim("hx711_dout", _pin(p, chip, "hx711_dout"))
        claim("hx711_sck", _pin(p, chip, "hx711_sck", output=True))
        if p.get("hx711_gain", 128) not in (128, 64, 32):
            raise ProfileError("hx711_gain", "use 128 or 64 (channel A) or 32 (channel B)")
    else:
        claim("i2c_sda", _pin(p, chip, "i2c_sda", output=True))
        claim("i2c_scl", _pin(p, chip, "i2c_scl", output=True))
    if p.get("haptic", "pwm") not in ("pwm", "drv2605"):
        raise ProfileError("haptic", "use pwm (a MOSFET on motor_pin) or drv2605 (I2C)")
    if p.get("haptic") == "drv2605" and sensor in ("fsr", "hx711"):
        claim("i2c_sda", _pin(p, chip, "i2c_sda", output=True))
        claim("i2c_scl", _pin(p, chip, "i2c_scl", output=True))
    _range(p, "motor_max_duty", 0.05, 1.0)
    _range(p, "stuck_ms", 0, 60000)
    count = p.get("led_count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
        raise ProfileError("led_count", "must be a whole number from 1 to 64")
    bright = p.get("led_brightness", 0.25)
    if isinstance(bright, bool) or not isinstance(bright, (int, float)) or not 0 < bright <= 1:
        raise ProfileError("led_brightness", "must be a number above 0 and at most 1")
    return p
