"""knotball area: the body area the ball's sessions are for, over USB.

    knotball area                  the area chosen, the areas there are, the day per area
    knotball area NAME             the sessions from now on are for NAME (a running one
                                   keeps its own); the ball keeps it until another is chosen
    knotball area none             for no area in particular: the whole body's daily limit
    knotball area --add NAME       add NAME to the ball's areas (its config), then choose it

Each area gets up to max_sessions_per_day sessions and 18 minutes (3 x 6) a day on the ball.
"""

import json
import sys

from ball import config, dose
from knotball import commands
from knotball.runtime import UsageError
from knotball.transport import ports


def add_arguments(p):
    p.add_argument("name", nargs="?", metavar="NAME", help="the area, or `none`")
    p.add_argument("--add", action="store_true", help="add NAME to the ball's own areas first")
    ports.add_argument(p)
    p.add_argument("--json", action="store_true", help="print the ball's reply as JSON")


def check(args):
    """UsageError naming what is wrong with NAME, before any connection."""
    if args.name is None:
        if args.add:
            raise UsageError("--add: give the NAME to add")
        return
    if args.name == dose.NO_AREA and not args.add:
        return
    why = dose.area_problem(args.name)
    if why:
        raise UsageError("NAME {}".format(why))
    if args.add and args.name in dose.AREAS:
        raise UsageError("NAME: {} is already one of the ball's areas".format(args.name))


def add_area(link, name):
    """Add `name` to the config on the ball (kept whole: its other keys unchanged)."""
    cfg = link.cfg()
    if name in cfg.get("areas", []):
        return
    cfg["areas"] = list(cfg.get("areas", [])) + [name]
    try:
        config.validate(cfg)
    except config.ConfigError as e:
        raise UsageError("{}; nothing was changed on the ball".format(e))
    link.save_cfg(cfg)


def describe(state, out=sys.stdout):
    applies = ", " + state["applies"] if state.get("applies") else ""
    print("area: {}{}".format(state["area"], applies), file=out)
    if state.get("left_s") is not None:
        print("  {} s left on it today".format(state["left_s"]), file=out)
    if state.get("rest"):
        print("  the next press gets the rest signal: choose another area", file=out)
    today = state.get("today", {})
    for name in state["areas"] + [dose.NO_AREA]:
        if name in today:
            n, secs = today[name]
            print("  today {}: {} session(s), {} s".format(name, n, secs), file=out)
    print("areas: {}".format(", ".join(state["areas"])), file=out)


def run(args):
    check(args)
    with commands.ball(args.port) as link:
        if args.add:
            add_area(link, args.name)
        applies = None
        if args.name is not None:
            applies = link.request("area " + args.name)["applies"]
        state = link.request("area")
        if applies:
            state["applies"] = applies  # this session on, or from the next
    state.pop("command", None)
    if args.json:
        print(json.dumps(state))
    else:
        describe(state)
    return 0
