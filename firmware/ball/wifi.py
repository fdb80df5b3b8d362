# `KB wifi` on the USB console (DESIGN.md contract 6): the network the ball joins for its
# live page, kept in a small JSON file on flash. Loaded only when the console is asked (its
# bytecode costs heap a ball without Wi-Fi keeps for its sessions).
#
# The file: {"on": bool, "mode": "station"|"ap", "ssid": str, "password": str}. A station's
# password goes in and is never read back out: no reply carries it. An access point's
# passphrase is made here from the ball's random source and shown over USB only, because
# the phone has to type it.
import json
import os
from binascii import hexlify

from ball import const

_SSID_MAX = const(32)  # bytes (802.11)
_PASS_MIN = const(8)  # WPA2 passphrase: 8..63 printable characters
_PASS_MAX = const(63)
_AP_PASS_BYTES = const(10)  # 80 bits as 20 hex digits: easy to type on a phone
USAGE = "KB wifi | KB wifi set {JSON} | KB wifi off | KB wifi ap | KB wifi new-token"


class WifiError(ValueError):
    """A refused network; .key names the field."""

    def __init__(self, key, message):
        super().__init__(message)
        self.key = key


def check(wifi):
    """{"ssid", "password"} from a `KB wifi set` object, checked; WifiError names the field.
    An empty password is an open network."""
    if not isinstance(wifi, dict):
        raise WifiError(None, 'give a JSON object: {"ssid": "...", "password": "..."}')
    for key in wifi:
        if key not in ("ssid", "password"):
            raise WifiError(key, "{}: not a wifi key (ssid, password)".format(key))
    ssid = wifi.get("ssid")
    if not isinstance(ssid, str) or not 0 < len(ssid.encode()) <= _SSID_MAX:
        raise WifiError("ssid", "ssid: give the network's name, 1 to 32 bytes")
    password = wifi.get("password", "")
    if not isinstance(password, str):
        raise WifiError("password", "password: give it as text")
    n = len(password)
    printable = all(32 <= ord(ch) < 127 for ch in password)
    if n and not (_PASS_MIN <= n <= _PASS_MAX and printable):
        raise WifiError(
            "password",
            "password: a WPA2 password is 8 to 63 plain ASCII characters (empty: an open network)",
        )
    return {"on": True, "mode": "station", "ssid": ssid, "password": password}


def load(path):
    """The stored network (a dict), or None when none is stored or it cannot be read."""
    try:
        with open(path) as f:
            wifi = json.load(f)
    except (OSError, ValueError):
        return None
    return wifi if isinstance(wifi, dict) else None


def save(path, wifi):
    """Write atomically (as config.save): a power cut leaves the old file or the new one."""
    with open(path + ".tmp", "w") as f:
        json.dump(wifi, f)
    os.rename(path + ".tmp", path)
    return wifi


def access_point(ball_id):
    """The ball's own network, for a gym or anywhere without one: knotball-XXXX (the last 4
    hex digits of the ball's id) with a new random WPA2 passphrase."""
    return {
        "on": True,
        "mode": "ap",
        "ssid": ap_name(ball_id),
        "password": hexlify(os.urandom(_AP_PASS_BYTES)).decode(),
    }


def ap_name(ball_id):
    """knotball-XXXX: the access point's name and the station's host name."""
    return "knotball-" + (ball_id[-4:] if ball_id else "0000")


def state(wifi, server, token):
    """What `KB wifi` shows: never a station's password."""
    on = bool(wifi and wifi.get("on"))
    out = {"wifi": "none", "on": on, "serving": server is not None, "token": token}
    if wifi and wifi.get("ssid"):
        out["wifi"] = wifi.get("mode", "station")
        out["ssid"] = wifi.get("ssid", "")
        if out["wifi"] == "ap":
            out["ap_password"] = wifi.get("password", "")  # the phone types it: USB only
    if server is not None:
        out["host"], out["port"] = server.addr
    return out


def command(console, name, arg, path):
    """`KB wifi [set JSON | off | ap | new-token]` for the console (ball/console.py)."""
    from ball import web

    control = console.control
    verb, _, rest = arg.partition(" ")
    wifi = load(path)
    changed = True
    if verb == "set":
        try:
            wifi = save(path, check(json.loads(rest)))
        except WifiError as e:
            console.error(name, str(e), key=e.key)
            return
        except ValueError:
            console.error(name, 'usage: KB wifi set {"ssid": "...", "password": "..."}')
            return
    elif verb == "off":
        wifi = wifi or {}
        wifi["on"] = False  # kept: `KB wifi` still names the network, and nothing serves
        save(path, wifi)
    elif verb == "ap":
        wifi = save(path, access_point(control.identity()["id"]))
    elif verb == "new-token":
        changed = False
        token = web.new_token()
        if control.page() is not None:
            control.page().set_token(token)  # pages opened with the old one stop now
    elif verb:
        console.error(name, "usage: " + USAGE)
        return
    else:
        # Just looking: a station that had not connected when the page was last tried
        # (at boot) may have since, so try again.
        changed = control.page() is None and bool(wifi and wifi.get("on"))
    if changed:
        control.restart_page(path)
    console.reply(name, state(wifi, control.page(), web.load_token().decode()))
