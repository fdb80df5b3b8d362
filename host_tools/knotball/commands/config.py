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
from knotball.runtime import UsageError
from knotball.transport import ports
from knotball.transport.link import BallError, LinkError

FAILED = 1
REFUSED = 2


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
            raise UsageError(
                "{}: unknown key (known keys: {})".format(key, ", ".join(sorted(config.DEFAULTS)))
            )
        text = text.strip()
        if text == "default":
            out[key] = None
            continue
        try:
            out[key] = json.loads(text)
        except ValueError:
            raise UsageError("{}: {!r} is not a number or a JSON list".format(key, text))
    return out


def merged(current, changes):
    """The ball's config with the changes applied, validated; UsageError when refused."""
    new = dict(current)
    for key, value in changes.items():
        if value is None:
            new[key] = config.DEFAULTS[key]
        else:
            new[key] = value
    try:
        return config.validate(new)
    except config.ConfigError as e:
        raise UsageError("{}; nothing was changed on the ball".format(e))


def show(cfg, before=None, out=sys.stdout):
    width = max(len(k) for k in cfg)
    for key in sorted(cfg):
        value = json.dumps(cfg[key])
        note = ""
        if before is not None and before.get(key) != cfg[key]:
            note = "  (was {})".format(json.dumps(before.get(key)))
        elif cfg[key] == config.DEFAULTS.get(key):
            note = "  (default)"
        print("{:<{}}  {}{}".format(key, width, value, note), file=out)


def run(args):
    changes = parse_changes(args.changes)  # before the port: a typo costs no connection
    try:
        link = ports.connect(args.port)
    except LinkError as e:
        print("knotball config: {}".format(e), file=sys.stderr)
        return FAILED
    with link:
        try:
            link.hello()
            reply = link.request("cfg")
            current = reply["config"]
            if reply.get("problem"):
                print(
                    "knotball config: the ball runs on defaults because its config is bad: "
                    "{}".format(reply["problem"]),
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
        except BallError as e:
            print("knotball config: the ball refused it: {}".format(e), file=sys.stderr)
            return REFUSED
        except LinkError as e:
            print("knotball config: {}".format(e), file=sys.stderr)
            return FAILED
    saved = answer["saved"]
    if args.json:
        print(json.dumps(saved))
        return 0
    show(saved, before=current)
    applies = answer.get("applies", "at the next start")
    print("saved on {}; it applies {}.".format(link.name, applies))
    return 0
