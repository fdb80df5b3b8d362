# Config: defaults, validation with errors naming the key, the hard cap, atomic save.
import json
import os

from ball import config
from kbtest import raises, tmp_path


def test_defaults_are_valid_and_follow_the_guidance():
    cfg = config.validate({})
    assert cfg["session_limit_s"] == 60
    assert cfg["hold_min_s"] == 5 and cfg["hold_max_s"] == 60
    assert cfg["max_sessions_per_day"] == 3
    assert cfg["light_n"] < cfg["medium_n"] < cfg["firm_n"] < cfg["over_n"]


def test_limit_above_hard_cap_is_refused_not_clamped():
    e = raises(config.ConfigError, config.validate, {"session_limit_s": 361})
    assert e.key == "session_limit_s"
    assert "360" in str(e)
    assert config.validate({"session_limit_s": 360})["session_limit_s"] == 360


def test_band_edges_must_increase():
    e = raises(config.ConfigError, config.validate, {"medium_n": 40.0, "firm_n": 30.0})
    assert e.key == "firm_n"


def test_wrong_types_name_the_key():
    e = raises(config.ConfigError, config.validate, {"light_n": "soft"})
    assert e.key == "light_n"
    e = raises(config.ConfigError, config.validate, {"max_sessions_per_day": 2.5})
    assert e.key == "max_sessions_per_day"
    e = raises(config.ConfigError, config.validate, {"hold_min_s": True})
    assert e.key == "hold_min_s"


def test_unknown_key_is_refused_so_typos_are_caught():
    e = raises(config.ConfigError, config.validate, {"session_limit": 120})
    assert e.key == "session_limit"


def test_not_an_object_and_bad_json_are_refused():
    raises(config.ConfigError, config.validate, [1, 2])
    raises(config.ConfigError, config.parse, "{not json")


def test_hold_and_warning_relations():
    raises(config.ConfigError, config.validate, {"hold_min_s": 30, "hold_max_s": 20})
    e = raises(config.ConfigError, config.validate, {"warn_before_s": -1})
    assert e.key == "warn_before_s"


def test_save_is_atomic_and_round_trips():
    path = tmp_path("cfg_roundtrip.json")
    config.save(path, {"session_limit_s": 120})
    assert config.load(path)["session_limit_s"] == 120
    names = os.listdir(tmp_path(""))
    assert "cfg_roundtrip.json.tmp" not in names
    os.remove(path)


def test_save_refuses_a_bad_config_and_keeps_the_old_file():
    path = tmp_path("cfg_keep.json")
    config.save(path, {"session_limit_s": 90})
    raises(config.ConfigError, config.save, path, {"session_limit_s": 999})
    assert config.load(path)["session_limit_s"] == 90
    os.remove(path)


def test_boot_keeps_running_on_defaults_with_a_reason():
    path = tmp_path("cfg_bad.json")
    with open(path, "w") as f:
        f.write(json.dumps({"session_limit_s": 1000}))
    cfg, problem = config.load_or_defaults(path)
    assert cfg == config.DEFAULTS
    assert "session_limit_s" in problem
    os.remove(path)
    cfg, problem = config.load_or_defaults(tmp_path("no_such_config.json"))
    assert cfg == config.DEFAULTS and problem is None


def test_counts_per_n_takes_any_sensible_slope_either_way():
    for v in (0.01, 0.5, 37.25, 1000, 123456.5, 1e7, -20000, -0.01):
        assert config.validate({"counts_per_n": v})["counts_per_n"] == v
    for v in (0, 0.001, -0.005, 2e7, -1e8, "40", True, None):
        e = raises(config.ConfigError, config.validate, {"counts_per_n": v})
        assert e.key == "counts_per_n"


# Each bad cal_points, and the words its refusal must contain.
BAD_POINTS = (
    ("40", "list"),
    ({"5": 1000}, "list"),
    ([[n, n * 1000] for n in range(1, 10)], "up to 8"),
    ([[5, 1000], 7], "point 2: must be a pair"),
    ([[5, 1000, 3]], "point 1: must be a pair"),
    ([[5]], "point 1: must be a pair"),
    ([["5", 1000]], "point 1: newtons"),
    ([[True, 1000]], "point 1: newtons"),
    ([[0, 1000]], "point 1: newtons"),
    ([[-5, 1000]], "point 1: newtons"),
    ([[5, 1000], [5, 2000]], "point 2: newtons must rise"),
    ([[5, 1000], [4, 2000]], "point 2: newtons must rise"),
    ([[2001, 10000000]], "point 1: newtons"),
    ([[5, 1000.0]], "point 1: counts must be whole"),
    ([[5, "1000"]], "point 1: counts must be whole"),
    ([[5, False]], "point 1: counts must be whole"),
    ([[5, 0]], "point 1: counts"),
    ([[5, 1000], [10, -2000]], "point 2: counts must be whole, of one sign"),
    ([[5, -1000], [10, 2000]], "point 2: counts must be whole, of one sign"),
    ([[5, 1000], [10, 1000]], "point 2: counts must be whole, of one sign, and grow"),
    ([[5, -2000], [10, -1000]], "point 2: counts must be whole, of one sign, and grow"),
    ([[5, 1 << 30]], "point 1: counts"),
    ([[1000, 5]], "point 1: counts per newton"),  # 0.005 counts per newton
    ([[0.001, 100000]], "point 1: counts per newton"),  # 1e8
    ([[5, 1000], [2000, 1001]], "point 2: counts per newton"),
)


def test_bad_cal_points_are_refused_naming_the_point():
    for pts, words in BAD_POINTS:
        e = raises(config.ConfigError, config.validate, {"cal_points": pts})
        assert e.key == "cal_points", pts
        assert str(e).startswith("cal_points: ") and words in str(e), (pts, str(e))


def test_good_cal_points_are_kept_as_given():
    for pts in ([], [[5, 392758]], [[5, -1000], [10.5, -2500], [60, -9000]]):
        assert config.validate({"cal_points": pts})["cal_points"] == pts
    eight = [[n, n * 100000 + n * n * 10] for n in (1, 2, 4, 8, 16, 32, 64, 128)]
    assert config.validate({"cal_points": eight})["cal_points"] == eight


def test_drift_limit_has_a_sensible_default_and_range():
    assert config.validate({})["drift_max_n"] == 10
    assert config.validate({"drift_max_n": 150})["drift_max_n"] == 150
    for v in (0, 0.5, 2001, "10", None):
        assert raises(config.ConfigError, config.validate, {"drift_max_n": v}).key == "drift_max_n"


def test_any_valid_config_fits_one_console_line():
    """The longest numbers every key can hold, 8 calibration points: under 900 bytes."""
    long = 1e-13  # adds digits to a float's repr without changing what it means
    pts = [[0.01 + long, -1000]] + [[1993 + i + long, -(1073741816 + i)] for i in range(7)]
    cfg = {
        "light_n": 0.1 + long,
        "medium_n": 0.2 + long,
        "firm_n": 0.3 + long,
        "over_n": 1999.9 + long,
        "session_limit_s": 359,
        "idle_stop_s": 359,
        "hold_min_s": 1,
        "hold_max_s": 359,
        "warn_before_s": 359,
        "sleep_after_s": 86399,
        "counts_per_n": -0.0123456789 - long,
        "zero_counts": -(1 << 29),
        "max_sessions_per_day": 24,
        "drift_max_n": 1999.9 + long,
        "cal_points": pts,
    }
    text = json.dumps(config.validate(cfg))
    assert 500 < len(text) < 900, len(text)
