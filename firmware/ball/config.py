# Firmware configuration (DESIGN.md contract 2): defaults, validation, atomic save.
# Shared by the ball (checked at boot) and the host (checked before anything touches a ball),
# so both refuse the same files with the same words.
import json
import os

try:
    from typing import Any
except ImportError:
    pass

# The session time limit may never be configured past this: "at most 5-6 minutes on an area".
HARD_CAP_S = 360


# Band edges in newtons for a ball between a back and a wall. Leaning into a wall turns a
# fraction of body weight into force on the ball: self-massage presses are tens of newtons.
# Pressure-pain thresholds on back muscles are ~300-600 kPa on a 1 cm^2 algometer tip
# (~30-60 N), and a ball spreads force over a few cm^2, so "strong but good" lands around
# 40-60 N for a typical adult; thresholds vary ~5-fold between people, which personal
# calibration of the bands will handle. See README "Where the default bands come from".
DEFAULTS: "dict[str, Any]" = {
    "light_n": 5.0,  # first contact: below this the ball is idle
    "medium_n": 20.0,
    "firm_n": 35.0,
    "over_n": 55.0,  # too hard: the body starts fighting back
    "session_limit_s": 60,  # "begin with up to one minute"
    "idle_stop_s": 20,  # a session also ends after this long without contact
    "hold_min_s": 5,  # a steady hold has done its work
    "hold_max_s": 60,  # time to move on
    "max_sessions_per_day": 3,
    "sleep_after_s": 600,  # deep sleep after this long untouched (0: never)
    "warn_before_s": 10,  # time warning this long before the limit (at most half-way)
    "zero_counts": 0,  # calibration: raw counts at no load
    "counts_per_n": 1000,  # calibration: raw counts per newton (negative: counts fall)
    "cal_points": [],  # calibration: [[newtons, counts above zero], ...]; replaces counts_per_n
    # Zero drift followed at rest beyond this flags "recalibrate" (LED, host). An FSR or a
    # load cell whose zero moved this far is preloaded, creeping or loose: its counts per
    # newton are suspect too. A sealed barometric ball drifts ~6-17 N per kelvin (0.34 %/K
    # of ~100 kPa at 20-60 Pa/N), followed harmlessly: give it ~150 (+-15 K at 40 Pa/N).
    "drift_max_n": 10.0,
    "areas": [],  # body areas the person adds to ball.dose.AREAS
}

BAND_KEYS = ("light_n", "medium_n", "firm_n", "over_n")
# Limits kept as literals below (names would cost the ball RAM for nothing):
# - a counts-per-newton slope (linear, or any segment of cal_points) is 0.01..1e7 in size:
#   100 N per count to 0.1 mN per count covers every sensor with room; beyond is a typo;
# - counts above zero stay below 2**30, as signal.py holds them.
# Any valid config, 8 cal_points included, is under 900 bytes of JSON: one console line.


class ConfigError(ValueError):
    """A config that must not be used. `key` names the offending key (or None)."""

    def __init__(self, key, message):
        super().__init__((key + ": " + message) if key else message)
        self.key = key


# Keys that hold whole numbers: counts, and times in whole seconds (the ball's clock and
# the person's sense of a session are seconds; 60.5 is a typo more often than a wish).
WHOLE_KEYS = (
    "max_sessions_per_day", "zero_counts", "session_limit_s", "idle_stop_s", "hold_min_s",
    "hold_max_s", "warn_before_s", "sleep_after_s",
)  # fmt: skip


def _number(cfg, key, lo=None, hi=None):
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        # JSON spelling (true, null), as the person wrote it, not Python's (True, None)
        raise ConfigError(key, "must be a number, got " + json.dumps(v))
    if key in WHOLE_KEYS and not isinstance(v, int):
        raise ConfigError(key, "must be a whole number, got " + json.dumps(v))
    if v != v:
        raise ConfigError(key, "must be a number, got NaN")
    if lo is not None and v < lo:
        raise ConfigError(key, "{} is below the minimum of {}".format(v, lo))
    if hi is not None and v > hi:
        raise ConfigError(key, "{} is above the maximum of {}".format(v, hi))
    return v


def check_number(key, v):
    """One numeric key's type on its own (a number; whole where it must be), before the
    rest of a config is known: the host refuses `session_limit_s=60.5` before connecting."""
    return _number({key: v}, key)


def validate(user: Any) -> dict:
    """Return a full config: DEFAULTS updated with `user`. Raise ConfigError when any key
    is unknown, mistyped or out of range. Nothing is clamped: a wrong value is refused."""
    if not isinstance(user, dict):
        raise ConfigError(None, "the config must be a JSON object of key: value pairs")
    for key in user:
        if key not in DEFAULTS:
            raise ConfigError(key, "unknown key (known keys: " + ", ".join(sorted(DEFAULTS)) + ")")
    cfg = dict(DEFAULTS)
    cfg.update(user)
    for key in cfg:
        if key not in ("cal_points", "areas"):
            _number(cfg, key)
    limit = cfg["session_limit_s"]
    if limit > HARD_CAP_S:
        raise ConfigError(
            "session_limit_s",
            "{} s is above the hard cap of {} s; use at most {}".format(
                limit, HARD_CAP_S, HARD_CAP_S
            ),
        )
    _number(cfg, "session_limit_s", 1)
    prev = 0
    for key in BAND_KEYS:
        v = _number(cfg, key, 0.1, 2000)
        if v <= prev:
            raise ConfigError(
                key, "band edges must increase: light_n < medium_n < firm_n < over_n"
            )
        prev = v
    _number(cfg, "idle_stop_s", 1, HARD_CAP_S)
    _number(cfg, "hold_min_s", 1, HARD_CAP_S)
    _number(cfg, "hold_max_s", 1, HARD_CAP_S)
    if cfg["hold_max_s"] <= cfg["hold_min_s"]:
        raise ConfigError("hold_max_s", "must be greater than hold_min_s")
    _number(cfg, "max_sessions_per_day", 1, 24)
    _number(cfg, "warn_before_s", 0, HARD_CAP_S)
    _number(cfg, "sleep_after_s", 0, 86400)
    if 0 < cfg["sleep_after_s"] < 30:
        raise ConfigError("sleep_after_s", "use 0 (never) or at least 30 s")
    _number(cfg, "zero_counts", -(1 << 29), 1 << 29)
    cpn = _number(cfg, "counts_per_n")
    if not 0.01 <= abs(cpn) <= 1e7:
        raise ConfigError(
            "counts_per_n",
            "{} is outside +-0.01..10000000 counts per newton (negative when the counts fall "
            "as the force rises)".format(cpn),
        )
    _cal_points(cfg)
    _number(cfg, "drift_max_n", 1, 2000)
    if cfg["areas"] != []:
        from ball.dose import check_areas  # only for a config that names areas: heap

        check_areas(cfg["areas"])
    return cfg


def _cal_points(cfg):
    """cal_points: up to 8 [newtons, counts above zero] pairs, newtons rising from above 0,
    whole counts of one sign growing with the force, every segment a sensible slope."""
    pts = cfg["cal_points"]
    if not isinstance(pts, list) or len(pts) > 8:
        raise ConfigError("cal_points", "must be a list of up to 8 [newtons, counts] pairs")
    pn = pc = 0
    for i, p in enumerate(pts):
        why = ""
        if not isinstance(p, list) or len(p) != 2:
            why = "must be a pair [newtons, counts above zero]"
        else:
            n, c = p
            if isinstance(n, bool) or not isinstance(n, (int, float)) or not pn < n <= 2000:
                why = "newtons must rise from point to point, above 0 and at most 2000"
            elif (
                isinstance(c, bool)
                or not isinstance(c, int)
                or not abs(pc) < abs(c) < 1 << 30
                or pc * c < 0
            ):
                why = "counts must be whole, of one sign, and grow with the force up to +-2**30"
            elif not 0.01 <= (abs(c) - abs(pc)) / (n - pn) <= 1e7:
                why = "counts per newton from the point before must be within 0.01..10000000"
        if why:
            raise ConfigError(
                "cal_points", "point {}: {}, got {}".format(i + 1, why, json.dumps(p))
            )
        pn, pc = p


def parse(text):
    """Validate a config given as JSON text."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError(None, "not valid JSON ({})".format(e))
    return validate(data)


def load(path):
    """Read and validate the config at `path`. Raise OSError or ConfigError."""
    with open(path) as f:
        text = f.read()
    if not text.strip():
        raise ConfigError(None, "the file is empty")
    return parse(text)


def load_or_defaults(path):
    """For boot: (config, problem). A missing file is not a problem; a bad one keeps the
    ball running on defaults and says why."""
    try:
        return load(path), None
    except OSError:
        return dict(DEFAULTS), None
    except ConfigError as e:
        return dict(DEFAULTS), "{}: {}".format(path, e)


def save(path, cfg):
    """Validate, then write atomically: a temporary file renamed over the old one, so after
    a power cut the file holds the old or the new config, never a torn one."""
    cfg = validate(cfg)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(cfg))
    sync = getattr(os, "sync", None)
    if sync:
        sync()
    os.rename(tmp, path)
    return cfg
