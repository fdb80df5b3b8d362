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
