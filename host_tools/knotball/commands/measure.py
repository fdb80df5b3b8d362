"""knotball measure AREA: the pressure threshold of a body area, as a physiotherapist measures
it with an algometer: three slow presses to "strong but good", exactly as `knotball
calibrate bands` takes them (knotball.calibration.guide). Kept in the history with the area,
the date, the three peaks and their spread, so `knotball history` and `report --pdf` show
each area's threshold over the weeks; the ball's bands are set from it only when asked
(`y`, or --yes; --keep-bands never asks).
"""

from ball import dose
from knotball.commands import calibrate
from knotball.runtime import UsageError
from knotball.transport import ports


def add_arguments(p):
    p.add_argument("area", metavar="AREA", help="the body area (`knotball area` lists them)")
    p.add_argument("--trials", type=int, default=3, help="presses to average (default 3)")
    ports.add_argument(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--yes", action="store_true", help="set the bands from it without asking")
    what.add_argument("--keep-bands", action="store_true", help="never change the bands")
    p.add_argument(
        "--json", action="store_true", help="talk on stderr; print one JSON result on stdout"
    )


def run(args):
    why = dose.area_problem(args.area)
    if why:
        raise UsageError("AREA {}".format(why))
    args.what = "measure"
    return calibrate.run(args, "knotball measure")
