"""knotball calibrate scale|bands: fit the ball's sensor to newtons with a kitchen scale, and
set the bands to what feels strong but good to this person. The procedures are in
knotball.calibration.guide; here: the options, the ball, and the result.
"""

import json
import sys

from knotball.calibration import fit as calfit
from knotball.calibration.flow import (
    BAD_INPUT,
    FAILED,
    OK,
    Answers,
    CalibBall,
    Flow,
    Stop,
)
from knotball.calibration.guide import FLOWS
from knotball.runtime import UsageError
from knotball.transport import ports
from knotball.transport.link import BallError, LinkError, LinkLost


def add_arguments(p):
    sub = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    s = sub.add_parser(
        "scale",
        help="fit the sensor to newtons: press the ball onto a kitchen scale at 2 or 3 loads",
        description="Fit the ball's raw sensor counts to newtons with a kitchen scale.",
    )
    s.add_argument(
        "--loads", default="2,4,6", help="target loads in kg, 2 or 3 (default %(default)s)"
    )
    b = sub.add_parser(
        "bands",
        help="set the band edges from three slow presses up to 'strong but good'",
        description="Set the band edges from three slow presses up to 'strong but good'.",
    )
    b.add_argument("--trials", type=int, default=3, help="presses to average (default 3)")
    for q in (s, b):
        ports.add_argument(q)
        q.add_argument("--yes", action="store_true", help="save without asking")
        q.add_argument(
            "--json", action="store_true", help="talk on stderr; print one JSON result on stdout"
        )


def run(args, name=None):
    """The flow args.what (a key of guide.FLOWS) on the ball, as `name` (the command)."""
    # Options are checked before the ball is touched (bad ones: UsageError, exit 2).
    if args.what == "scale":
        try:
            calfit.parse_loads(args.loads)
        except ValueError as e:
            raise UsageError(str(e))
    elif not 1 <= args.trials <= 10:
        raise UsageError("--trials: use 1 to 10 presses")
    out = sys.stderr if args.json else sys.stdout
    name = name or "knotball calibrate " + args.what

    def fail(message, status):
        print("{}: {}".format(name, message), file=sys.stderr, flush=True)
        return status

    try:
        link = ports.connect(args.port)
    except LinkError as e:
        return fail(str(e), FAILED)
    with link:
        try:
            hello = link.hello()
        except LinkError as e:  # not a knotball: bad input; the ball gone: a failure
            return fail(str(e), FAILED if isinstance(e, LinkLost) else BAD_INPUT)
        if hello.get("session") == "active":
            return fail("a session is running on the ball: let it end, then calibrate", FAILED)
        answers = Answers(sys.stdin, out)
        print(
            "{} — ball {} ({}, {} sensor)".format(
                name,
                hello.get("id") or "?",
                hello.get("board") or "?",
                hello.get("like") or hello.get("sensor"),
            ),
            file=out,
        )
        result = {"kind": args.what, "ball": hello.get("id"), "saved": False, "error": None}
        status, error = OK, None
        try:
            with CalibBall(link) as ball:
                FLOWS[args.what](Flow(args, link, hello, ball, answers, out, result))
        except Stop as e:
            status, error = e.status, str(e)
        except BallError as e:
            status, error = FAILED, "{}; nothing saved".format(e)
        except (LinkError, OSError) as e:  # pyserial's SerialException is an OSError
            status, error = FAILED, "the link to the ball failed: {}; nothing saved".format(e)
    if error:
        fail(error, status)
        result["error"] = error
    if args.json:
        print(json.dumps(result))  # what was measured and fitted, saved or not
    return status
