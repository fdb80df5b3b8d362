"""knotball wifi: the ball's network for its live page (DESIGN.md contract 6), over USB.

    knotball wifi                      the state, and once served the page's URL and QR code
    knotball wifi SSID                 join this network (the password is asked, not echoed)
    knotball wifi SSID --password-stdin    the password read from stdin (scripts)
    knotball wifi --ap                 the ball's own network, with a new random passphrase
    knotball wifi --new-token          a new pairing token: pages opened before stop working
    knotball wifi --off                radio off; the network is kept for `knotball wifi SSID`

The password goes to the ball and is never printed, nor sent back by the ball.
"""

import getpass
import json
import sys

from ball.wifi import WifiError, check
from knotball import commands
from knotball.runtime import UsageError
from knotball.transport import ports


def add_arguments(p):
    p.add_argument("ssid", nargs="?", metavar="SSID", help="the network to join")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--off", action="store_true", help="switch Wi-Fi off")
    what.add_argument("--new-token", action="store_true", help="retire every paired page")
    what.add_argument("--ap", action="store_true", help="the ball's own network (knotball-XXXX)")
    ports.add_argument(p)
    p.add_argument("--json", action="store_true", help="print the state as one JSON object")


def page_url(state):
    """http://HOST[:PORT]/?k=TOKEN once the ball serves its page, else None."""
    if not state.get("serving"):
        return None
    port = state["port"]
    host = state["host"] if port == 80 else "{}:{}".format(state["host"], port)
    return "http://{}/?k={}".format(host, state["token"])


def qr_text(url, tty=False):
    """The URL as a QR code in text (two modules a character), as qrcode draws it."""
    import io

    import qrcode

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(url)
    qr.make(fit=True)
    out = io.StringIO()
    out.isatty = lambda: tty  # type: ignore[method-assign]  # its colours only on a terminal
    qr.print_ascii(out=out, tty=tty)
    return out.getvalue()


def join_text(ssid, password):
    """What a phone's camera reads as "join this network" (the Wi-Fi QR code's text, as
    Android and iOS read it): WPA with its passphrase, special characters escaped."""

    def esc(text):
        return "".join("\\" + ch if ch in '\\;,:"' else ch for ch in text)

    return "WIFI:T:WPA;S:{};P:{};;".format(esc(ssid), esc(password))


def command_for(args):
    """The console command to send, after checking what was typed (UsageError names the
    field). Asks for the password when a network is given."""
    chosen = [f for f in ("off", "new_token", "ap") if getattr(args, f)]
    if args.ssid is not None and chosen:
        raise UsageError(
            "--{}: give either SSID or one of --off, --new-token, --ap".format(
                chosen[0].replace("_", "-")
            )
        )
    if args.password_stdin and args.ssid is None:
        raise UsageError("--password-stdin: give the network's SSID too")
    if chosen:
        return {"off": "off", "new_token": "new-token", "ap": "ap"}[chosen[0]]
    if args.ssid is None:
        return ""
    try:
        check({"ssid": args.ssid})
    except WifiError as e:
        raise UsageError(str(e))
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password for {} (empty: an open network): ".format(args.ssid))
    try:
        check({"ssid": args.ssid, "password": password})
    except WifiError as e:
        raise UsageError(str(e))
    return "set " + json.dumps({"ssid": args.ssid, "password": password}, separators=(",", ":"))


def describe(state, out=sys.stdout):
    """The state in words; the URL and its QR code once served."""
    kind = state["wifi"]
    if kind == "none":
        print("Wi-Fi: no network stored (`knotball wifi SSID`, or --ap)", file=out)
    elif kind == "ap":
        print("Wi-Fi: {}, the ball's own network {}".format(_on(state), state["ssid"]), file=out)
        print(
            "  join it with the password {}, or scan this with the phone's camera:".format(
                state["ap_password"]
            ),
            file=out,
        )
        print(
            qr_text(join_text(state["ssid"], state["ap_password"]), out.isatty()), end="", file=out
        )
    else:
        print("Wi-Fi: {}, network {}".format(_on(state), state["ssid"]), file=out)
    url = page_url(state)
    if url:
        print("live page: {}".format(url), file=out)
        print(qr_text(url, tty=out.isatty()), end="", file=out)
        print(
            "anyone with this address sees the page: `knotball wifi --new-token` retires it",
            file=out,
        )
    elif state["on"]:
        print("live page: not served yet (connecting?); run `knotball wifi` again", file=out)


def _on(state):
    return "on" if state["on"] else "off"


def run(args):
    command = command_for(args)  # before the port: a typo costs no connection
    with commands.ball(args.port) as link:
        state = link.request(("wifi " + command).strip(), timeout=10)
    state.pop("command", None)
    url = page_url(state)
    if args.json:
        print(json.dumps(dict(state, url=url)))
        return 0
    describe(state)
    return 0
