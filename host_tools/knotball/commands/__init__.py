"""The `knotball` subcommands, one module each, registered in knotball.cli.COMMANDS. Each
has add_arguments(parser) and run(args) -> exit status: it parses, calls the libraries
(transport, history, virtual, calibration) and prints."""

import argparse
import sys

from knotball.runtime import UsageError
from knotball.transport.link import LinkError


def call(name, module, args):
    """module.run(args) as `knotball NAME` runs it: bad input is one line on stderr and exit
    status 2, a link that failed where the command did not expect it (the ball gone) one
    line and 1, Ctrl-C one line and 130."""
    try:
        return module.run(args)
    except UsageError as e:
        print("knotball {}: {}".format(name, e), file=sys.stderr)
        return 2
    except LinkError as e:
        print("knotball {}: {}".format(name, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("knotball {}: interrupted".format(name), file=sys.stderr)
        return 130


def main(name, module, argv):
    """`knotball NAME ARGV...` for one command module, from another command (demo)."""
    parser = argparse.ArgumentParser(prog="knotball " + name)
    module.add_arguments(parser)
    return call(name, module, parser.parse_args(argv))
