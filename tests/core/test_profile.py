# Board profiles: a profile naming a pin the chip lacks, or using a pin twice, is refused
# with a message that names the key and the pin.
from ball import profile
from kbtest import raises

C3 = {
    "chip": "esp32c3",
    "sensor": "bmp280",
    "i2c_sda": 6,
    "i2c_scl": 7,
    "led_pin": 10,
    "motor_pin": 3,
    "battery_pin": 4,
}


def with_(base, **change):
    p = dict(base)
    p.update(change)
    return p


def test_a_good_profile_passes():
    assert profile.validate(C3) is C3


def test_pin_the_chip_lacks_is_refused_by_name():
    e = raises(profile.ProfileError, profile.validate, with_(C3, motor_pin=30))
    assert e.key == "motor_pin" and "GPIO30" in str(e) and "esp32c3" in str(e)


def test_input_only_pin_cannot_drive_the_motor():
    p = {"chip": "esp32", "sensor": "fsr", "fsr_pins": [34], "led_pin": 5, "motor_pin": 35}
    p["fsr_divider_ohm"] = 1000
    e = raises(profile.ProfileError, profile.validate, p)
    assert e.key == "motor_pin" and "input-only" in str(e)


def test_fsr_must_be_on_adc1():
    p = {"chip": "esp32", "sensor": "fsr", "fsr_pins": [34, 4], "led_pin": 5, "motor_pin": 18}
    p["fsr_divider_ohm"] = 1000
    e = raises(profile.ProfileError, profile.validate, p)
    assert e.key == "fsr_pins[1]" and "ADC1" in str(e)


def test_a_pin_used_twice_is_refused():
    e = raises(profile.ProfileError, profile.validate, with_(C3, led_pin=3))
    assert "already used by motor_pin" in str(e)


def test_unknown_chip_and_sensor():
    assert raises(profile.ProfileError, profile.validate, with_(C3, chip="esp8266")).key == "chip"
    e = raises(profile.ProfileError, profile.validate, with_(C3, sensor="strain"))
    assert e.key == "sensor"


def test_battery_and_led_settings_are_checked():
    e = raises(profile.ProfileError, profile.validate, with_(C3, battery_divider=0.5))
    assert e.key == "battery_divider"
    e = raises(profile.ProfileError, profile.validate, with_(C3, led_brightness=2))
    assert e.key == "led_brightness"


def test_the_sim_board():
    assert profile.validate({"chip": "sim", "sensor": "sim"})
    raises(profile.ProfileError, profile.validate, {"chip": "sim", "sensor": "fsr"})


def test_misspelt_key_is_refused():
    e = raises(profile.ProfileError, profile.validate, with_(C3, motor_pinn=3))
    assert e.key == "motor_pinn"


def test_flash_and_usb_pins_are_not_gpios_for_us():
    e = raises(profile.ProfileError, profile.validate, with_(C3, motor_pin=18))  # USB D-
    assert "GPIO18" in str(e)
    e = raises(profile.ProfileError, profile.validate, with_(C3, led_pin=12))  # SPI flash
    assert "GPIO12" in str(e)


def test_fsr_needs_its_divider_and_hx711_a_real_gain():
    p = {"chip": "esp32", "sensor": "fsr", "fsr_pins": [34], "led_pin": 5, "motor_pin": 18}
    assert raises(profile.ProfileError, profile.validate, p).key == "fsr_divider_ohm"
    h = {"chip": "esp32s3", "sensor": "hx711", "hx711_dout": 1, "hx711_sck": 2}
    h.update({"led_pin": 3, "motor_pin": 4, "hx711_gain": 100})
    assert raises(profile.ProfileError, profile.validate, h).key == "hx711_gain"
    e = raises(profile.ProfileError, profile.validate, with_(C3, motor_max_duty=1.5))
    assert e.key == "motor_max_duty"


def test_sim_physics_keys_are_for_the_sim_chip_only():
    sim = {"chip": "sim", "sensor": "sim", "sim_like": "fsr", "sim_counts_per_n": 100000}
    assert profile.validate(with_(sim, sim_exponent=0.85, sim_noise_counts=3)) is not None
    e = raises(profile.ProfileError, profile.validate, with_(C3, sim_counts_per_n=23.7))
    assert e.key == "sim_counts_per_n" and "sim chip" in str(e)
    e = raises(profile.ProfileError, profile.validate, with_(sim, sim_like="piezo"))
    assert e.key == "sim_like"
    e = raises(profile.ProfileError, profile.validate, with_(sim, sim_exponent=3))
    assert e.key == "sim_exponent"
    e = raises(
        profile.ProfileError, profile.validate, {"chip": "sim", "sensor": "sim", "sim_exponent": 1}
    )
    assert e.key == "sim_counts_per_n"


def test_an_analog_input_on_a_strapping_pin_is_refused():
    # VBAT / 2 is 1.5-2.1 V, under the C3's high level at reset: GPIO2 would read low.
    e = raises(profile.ProfileError, profile.validate, with_(C3, battery_pin=2))
    assert e.key == "battery_pin" and "strapping" in str(e)
    fsr = with_(C3, sensor="fsr", fsr_pins=[2], fsr_divider_ohm=1000)
    e = raises(profile.ProfileError, profile.validate, fsr)
    assert e.key == "fsr_pins[0]" and "strapping" in str(e)


def test_battery_cut_off_and_led_supply_pin_are_checked():
    assert profile.validate(with_(C3, battery_cutoff_mv=3300, led_power_pin=5))
    e = raises(profile.ProfileError, profile.validate, with_(C3, battery_cutoff_mv=2500))
    assert e.key == "battery_cutoff_mv"
    no_tap = dict(C3, battery_cutoff_mv=3300)
    del no_tap["battery_pin"]
    e = raises(profile.ProfileError, profile.validate, no_tap)
    assert e.key == "battery_cutoff_mv"
    e = raises(profile.ProfileError, profile.validate, with_(C3, led_power_pin=3))
    assert e.key == "led_power_pin" and "motor_pin" in str(e)
