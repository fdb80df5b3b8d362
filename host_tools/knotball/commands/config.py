"""knotball config: show the ball's configuration, or change some of its keys.

    knotball config [--port P]                      the ball's config, defaults marked
    knotball config [--port P] KEY=VALUE ...        change keys (VALUE is JSON: 120, 5.5, [..])
    knotball config [--port P] KEY=default ...      put keys back to their defaults

Every change is checked here with the firmware's own rules (ball.config) before the ball is
touched, then checked again and saved atomically by the ball: a refused change leaves the
ball's config as it was.
"""

import json
import sys

from ball import config
from knotball import commands, configfile
from knotball.runtime import UsageError
from knotball.transport import ports


def add_arguments(p):
    ports.add_argument(p)
    p.add_argument(
        "changes",
        nargs="*",
        metavar="KEY=VALUE",
        help="keys to change; VALUE is JSON (a number, or a list for cal_points), or `default`",
    )
    p.add_argument("--json", action="store_true", help="print the resulting config as JSON")


def parse_changes(changes):
    """["session_limit_s=120", ...] -> {key: value or None for default}. UsageError names
    the argument and what is wrong with it."""
    out = {}
    for arg in changes:
        key, sep, text = arg.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError("{!r}: write KEY=VALUE, e.g. session_limit_s=120".format(arg))
        if key not in config.DEFAULTS:
            raise UsageError(configfile.unknown_key(key))
        if key in out:
            raise UsageError("{}: given twice; give each key once".format(key))
        text = text.strip()
        if text == "default":
            out[key] = None
            continue
        try:
            out[key] = json.loads(text)
        except ValueError:
            raise UsageError("{}: {!r} is not a number or a JSON list".format(key, text))
        if key != "cal_points":
            try:
                config.check_number(key, out[key])
            except config.ConfigError as e:
                raise UsageError(str(e))
    return out


def _band_order(new, changes):
    """A typed band edge out of order, named as typed: light_n=30 is refused as light_n
    (not as medium_n, the edge it collides with)."""
    for key in config.BAND_KEYS:
        if changes.get(key) is None:
            continue
        i = config.BAND_KEYS.index(key)
        below, above = config.BAND_KEYS[:i], config.BAND_KEYS[i + 1 :]
        for other in reversed(below):
            if new[other] >= new[key]:
                return "{}: {} N is not above {} ({} N); band edges must increase: {}".format(
                    key, _json(new[key]), other, _json(new[other]), _ORDER
                )
        for other in above:
            if new[other] <= new[key]:
                return "{}: {} N is not below {} ({} N); band edges must increase: {}".format(
                    key, _json(new[key]), other, _json(new[other]), _ORDER
                )
    return None


_ORDER = " < ".join(config.BAND_KEYS)


def _json(v):
    return json.dumps(v)


def merged(current, changes):
    """The ball's config with the changes applied, validated; UsageError when refused,
    naming the key the person typed."""
    new = dict(current)
    for key, value in changes.items():
        if value is None:
            new[key] = config.DEFAULTS[key]
        else:
            new[key] = value
    try:
        cfg = config.validate(new)
    except config.ConfigError as e:
        why = str(e)
        if e.key in config.BAND_KEYS:
            why = _band_order(new, changes) or why
        if e.key is not None and e.key not in changes and not why.startswith(tuple(changes)):
            typed = ", ".join("{}={}".format(k, _json(new[k])) for k in changes)
            why = "{}: does not fit the ball's config: {}".format(typed, why)
        raise UsageError("{}; nothing was changed on the ball".format(why))
    warn, limit = cfg["warn_before_s"], cfg["session_limit_s"]
    if changes.get("warn_before_s") is not None and warn > limit // 2:
        # The ball never warns in the first half: a larger value would silently not be what
        # was asked for.
        raise UsageError(
            "warn_before_s: {} s is more than half the session limit of {} s (the warning "
            "never comes in the first half); use at most {}; nothing was changed on the "
            "ball".format(warn, limit, limit // 2)
        )
    return cfg


def _shown(key, value):
    """A value as printed: a password (should one ever be among the keys) never is."""
    return '"********"' if "password" in key else json.dumps(value)


def show(cfg, before=None, out=sys.stdout):
    width = max(len(k) for k in cfg)
    for key in sorted(cfg):
        value = _shown(key, cfg[key])
        note = ""
        if before is not None and before.get(key) != cfg[key]:
            note = "  (was {})".format(_shown(key, before.get(key)))
        elif cfg[key] == config.DEFAULTS.get(key):
            note = "  (default)"
        print("{:<{}}  {}{}".format(key, width, value, note), file=out)


def run(args):
    changes = parse_changes(args.changes)  # before the port: a typo costs no connection
    with commands.ball(args.port, refused="the ball refused it: ") as link:
        reply = link.request("cfg")
        current = reply["config"]
        if reply.get("problem"):
            print(
                "knotball config: the ball runs on defaults because its config is bad: {}".format(
                    reply["problem"]
                ),
                file=sys.stderr,
            )
        if not changes:
            if args.json:
                print(json.dumps(current))
            else:
                show(current)
            return 0
        new = merged(current, changes)
        answer = link.request("cfg " + json.dumps(new, separators=(",", ":")))
    saved = answer["saved"]
    if args.json:
        print(json.dumps(saved))
        return 0
    show(saved, before=current)
    applies = answer.get("applies", "at the next start")
    print("saved on {}; it applies {}.".format(link.name, applies))
    return 0
