"""The `knotball` command: one module per subcommand, registered in COMMANDS."""

import argparse
import importlib
import sys

from knotball import __version__
from knotball.runtime import UsageError

# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "sim": ("knotball.commands.sim", "replay a pressure trace through the real firmware loop"),
    "inspect": (
        "knotball.commands.inspect_logs",
        "read session log files and print the sessions in them",
    ),
    "import": (
        "knotball.commands.import_logs",
        "add session log files to the history on this computer",
    ),
    "pull": (
        "knotball.commands.pull",
        "copy the ball's session logs to the history, then delete them",
    ),
    "live": (
        "knotball.commands.live",
        "watch pressure, band and session time live, as the person rolls",
    ),
    "history": (
        "knotball.commands.history",
        "list the sessions in the history, with daily totals",
    ),
    "report": (
        "knotball.commands.report",
        "one session's summary, plot (--png) and trace (--csv)",
    ),
    "virtual": ("knotball.virtual.pty_ball", "a ball without hardware, on a pty mpremote can use"),
    "calibrate": (
        "knotball.commands.calibrate",
        "fit the sensor with a kitchen scale, or set the bands",
    ),
    "flash": (
        "knotball.commands.flash",
        "deploy firmware, board profile, config and clock to the ball",
    ),
    "config": (
        "knotball.commands.config",
        "show the ball's config, or change keys: KEY=VALUE ...",
    ),
    "demo": (
        "knotball.commands.demo",
        "the whole job on a virtual ball: flash, live, pull, report",
    ),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="knotball", description="Host tools for the knotball pressure-sensing massage ball."
    )
    parser.add_argument("--version", action="version", version="knotball " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return importlib.import_module(args.module).run(args)
    except UsageError as e:
        print("knotball {}: {}".format(args.command, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("knotball {}: interrupted".format(args.command), file=sys.stderr)
        return 130
