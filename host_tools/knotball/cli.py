"""The `knotball` command: one module per subcommand, registered in COMMANDS."""

import argparse
import importlib
import sys

from knotball import __version__
from knotball.commands import call

# name -> (module in knotball.commands, one-line help). Each module has
# add_arguments(parser) and run(args) -> exit status.
COMMANDS = {
    "sim": ("sim", "replay a pressure trace through the real firmware loop"),
    "inspect": ("inspect_logs", "read session log files and print the sessions in them"),
    "import": ("import_logs", "add session log files to the history on this computer"),
    "pull": ("pull", "copy the ball's session logs to the history, then delete them"),
    "live": ("live", "watch pressure, band and session time live, as the person rolls"),
    "history": ("history", "list the sessions in the history, with daily totals"),
    "export": ("export", "write the sessions in the history as CSV rows for a spreadsheet"),
    "report": ("report", "one session's summary, plot (--png) and trace (--csv)"),
    "virtual": ("virtual", "a ball without hardware, on a pty mpremote can use"),
    "calibrate": ("calibrate", "fit the sensor with a kitchen scale, or set the bands"),
    "flash": ("flash", "deploy firmware, board profile, config and clock to the ball"),
    "measure": (
        "measure",
        "an area's pressure threshold: three slow presses, kept in the history",
    ),
    "config": ("config", "show the ball's config, or change keys: KEY=VALUE ..."),
    "wifi": ("wifi", "the ball's Wi-Fi for its live page: state, URL and QR code"),
    "area": ("area", "the body area of the sessions: choose one, add one, the day per area"),
    "demo": ("demo", "the whole job on a virtual ball: flash, live, pull, report"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="knotball", description="Host tools for the knotball pressure-sensing massage ball."
    )
    parser.add_argument("--version", action="version", version="knotball " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(module="knotball.commands." + module)
        importlib.import_module("knotball.commands." + module).add_arguments(p)
    return parser


def main(argv=None):
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()  # bare `knotball`: what it can do, not a usage error
        return 0
    args = parser.parse_args(argv)
    return call(args.command, importlib.import_module(args.module), args)
