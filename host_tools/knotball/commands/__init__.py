"""The `knotball` subcommands, one module each, registered in knotball.cli.COMMANDS. Each
has add_arguments(parser) and run(args) -> exit status: it parses, calls the libraries
(transport, history, virtual, calibration) and prints."""

import argparse
import sys
from contextlib import contextmanager

from knotball.runtime import UsageError
from knotball.transport import ports
from knotball.transport.link import BallError, LinkError, LinkLost

FAILED, REFUSED = 1, 2


class Exit(Exception):
    """Ends a command with one line on stderr and this exit status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


@contextmanager
def ball(port, refused=""):
    """The link to the knotball on `port` (None: the one ball found), its hello answered,
    for a command's few requests. Every way it fails is an Exit: no ball, or the link lost,
    status 1; a port without knotball's app, or a request the ball refused (its message
    after `refused`), status 2 — bad input, as a typo is."""
    try:
        link = ports.connect(port)
    except LinkError as e:
        raise Exit(str(e), FAILED)
    with link:
        try:
            link.hello()
        except LinkLost as e:
            raise Exit(str(e), FAILED)
        except LinkError as e:  # not a knotball: bad input, as for pull, live and calibrate
            raise Exit(str(e), REFUSED)
        try:
            yield link
        except BallError as e:
            raise Exit(refused + str(e), REFUSED)
        except LinkError as e:
            raise Exit(str(e), FAILED)


def call(name, module, args):
    """module.run(args) as `knotball NAME` runs it: bad input is one line on stderr and exit
    status 2, a link that failed where the command did not expect it (the ball gone) one
    line and 1, Ctrl-C one line and 130."""
    try:
        return module.run(args)
    except Exit as e:
        print("knotball {}: {}".format(name, e), file=sys.stderr)
        return e.status
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
