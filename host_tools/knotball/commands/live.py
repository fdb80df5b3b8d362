"""knotball live: the ball's pressure, band and session time as the person rolls, big enough
to read from across the room (or `--plain`, one line per sample for scripts). It only
listens, but for two keys: `s` ends the running session as "numbness or tingling" (the
ball logs the reason and advises rest), and `a` chooses the body area of the next sessions
(the ball's next area, round to none and again). A reset ball or a replugged cable is waited
for ("reconnecting…") and picked up again — that ball only: another one found on the port
stops live (status 1). Ctrl-C, or the reader of --plain going (`| head`), ends it with
status 0. With `--url` it
follows the ball's live page over Wi-Fi instead (knotball.transport.page), the same view.
"""

import os
import select
import sys
import time

from serial import SerialException

from ball import config, dose
from ball.wire.console import unpack_live
from ball.wire.framing import LIVE
from knotball.runtime import UsageError
from knotball.timeline import BAND_STYLE, cue_words
from knotball.transport import page, ports
from knotball.transport.link import AtTheRepl, BallError, LinkError, LinkLost

NOT_KNOTBALL = 2
SAMPLE_TIMEOUT_S = 2.0  # samples come at 20 Hz: this long without one, the link is gone
FIRST_CONTACT_S = 15.0  # a ball just plugged in or reset may take 4-5 s to boot the app
BAR_WIDTH = 60
MIN_COLUMNS = BAR_WIDTH + 4  # the bar inside the panel's borders and padding
WAITING_TEXT = "waiting for the ball to answer (it may still be booting)…"
PLAIN_EVERY_MS = 100  # --plain prints at most 10 lines a second
FAULT_TEXT = {
    "bus": "the sensor stopped answering on its bus: check its wires",
    "sensor": "the sensor reports an error: check it, then reset the ball",
    "stuck": "the sensor reading is stuck: check its wires, then reset the ball",
}


def add_arguments(p):
    ports.add_argument(p)
    p.add_argument(
        "--url",
        help="the ball on Wi-Fi: the paired address `knotball wifi` prints (instead of USB)",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="one line per sample: t_ms force_n band state elapsed_ms hold_ms cues fault",
    )


class OtherBall(LinkError):
    """The port answers, but as another ball than the one live was following."""


class Usb:
    """Opens the ball on `path`: the first time whichever knotball answers, after that
    only the same ball (its id from `KB hello`): a reconnect never follows another one."""

    def __init__(self, path):
        self.path = path
        self.ball_id = None

    def __call__(self):
        link, cfg, self.ball_id = connect(self.path, self.ball_id)
        return link, cfg


def connect(path, ball_id=None):
    """Open the ball, check it is a knotball (and, given `ball_id`, that ball: OtherBall if
    not), read its config and start the live stream. Returns (link, config, the ball's id,
    "" for firmware without one: a ball that cannot be told apart)."""
    link = ports.open_link(path)
    try:
        found = link.hello().get("id") or ""
        if ball_id and found != ball_id:
            raise OtherBall(
                "another ball answers on {} now (id {}, not {}, the one followed); start "
                "`knotball live` again to follow it".format(path, found or "unknown", ball_id)
            )
        try:
            cfg = link.cfg()
        except LinkError:
            cfg = dict(config.DEFAULTS)
        link.request("live on")
    except BaseException:
        _close(link)
        raise
    return link, cfg, found


SYMPTOM_KEYS = "sS"
AREA_KEYS = "aA"
SYMPTOM_TEXT = (
    "session ended: numbness or tingling, recorded on the ball. Rest this area; if it "
    "happens again, stop using the ball there and see a physiotherapist or doctor"
)


class Keys:
    """What the person types while live runs: single keys from a terminal (put in cbreak
    mode, restored on exit), or whatever a pipe brings (scripts, tests). Never blocks."""

    def __init__(self, stream):
        try:
            self.fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.saved = None

    def __enter__(self):
        if self.fd is not None and os.isatty(self.fd):
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def poll(self):
        """The characters typed since the last call ("" when none)."""
        if self.fd is None or not select.select([self.fd], [], [], 0)[0]:
            return ""
        data = os.read(self.fd, 64)
        if not data:
            self.fd = None  # end of input: nothing more will be typed
        return data.decode(errors="replace")


def first_contact(opener, say, wait_s=FIRST_CONTACT_S, sleep=time.sleep, clock=time.monotonic):
    """opener() until it works, for up to wait_s (saying once that it waits): a ball just
    reset answers only once its app runs. A port that cannot be opened, that shows the
    REPL prompt or that fails under us, is not waited for; the last LinkError is raised
    when the ball never answered."""
    deadline = clock() + wait_s
    waited = False
    while True:
        try:
            return opener()
        except (ports.PortError, AtTheRepl, LinkLost):
            raise
        except LinkError:
            if clock() >= deadline:
                raise
            if not waited:
                say(WAITING_TEXT)
                waited = True
            sleep(0.5)


def symptom(link):
    """The `s` key: end the running session as numbness or tingling. Returns (what to say,
    whether a session was ended)."""
    try:
        link.request("symptom")
    except BallError as e:
        return "nothing to end: {}".format(e), False
    return SYMPTOM_TEXT, True


def next_area(link):
    """The `a` key: the ball's next area (its list, then none, then round again). Returns
    what to say."""
    try:
        state = link.request("area")
        names = state["areas"] + [dose.NO_AREA]
        i = names.index(state["area"]) if state["area"] in names else -1
        new = names[(i + 1) % len(names)]
        applies = link.request("area " + new).get("applies", "from the next session")
    except BallError as e:
        return "area not changed: {}".format(e)
    return "area: {}, {}".format(new.replace("_", " "), applies)


def follow(opener, view, status, sleep=time.sleep, keys=None):
    """Samples from opener()'s link to view.sample() until Ctrl-C; on a read error or a
    silence, status("reconnecting…") and opener() again every second until it works (an
    OtherBall from it ends the wait). `s` from keys ends the session as a symptom stop, `a`
    chooses the next area. The first opener() call's errors are the caller's, as are the
    view's (BrokenPipeError: its reader went). Returns 0; the ball stops streaming whatever
    ends it."""
    link, cfg = opener()
    view.connected(cfg)
    try:
        while True:
            try:
                got = link.frame(time.monotonic() + SAMPLE_TIMEOUT_S)
                if got is None:
                    raise LinkError("no live samples for {} s".format(SAMPLE_TIMEOUT_S))
                if got[0] == LIVE:
                    view.sample(unpack_live(got[1]))
                elif got[0] == page.SAMPLE:  # --url: the page's stream, already a dict
                    view.sample(got[1])
                elif got[0] == page.GAP:  # --url: samples the ball no longer had
                    status(page.gap_text(got[1]))
                typed = keys.poll() if keys is not None else ""
                if any(c in SYMPTOM_KEYS for c in typed):
                    text, ended = symptom(link)
                    if ended:
                        view.stopped("symptom")
                    status(text)
                if any(c in AREA_KEYS for c in typed):
                    status(next_area(link))
                continue
            except BrokenPipeError:
                raise  # the view's reader went, not the ball
            except (LinkError, OSError):  # pyserial's SerialException is an OSError
                _close(link)
                link = None
            status("reconnecting…")
            while link is None:
                sleep(1)
                try:
                    link, cfg = opener()
                except OtherBall:
                    raise
                except (LinkError, OSError):
                    pass
            status("connected")
            view.connected(cfg)
    except KeyboardInterrupt:
        return 0
    finally:
        if link is not None:
            try:
                link.request("live off", timeout=1)
            except (LinkError, OSError):
                pass  # unplugged right now: the ball stops streaming at its next reset
            _close(link)


def _close(link):
    try:
        link.close()
    except (OSError, SerialException):
        pass


def drift_text(s):
    return "the sensor's zero has drifted by {:+.1f} N: recalibrate ({})".format(
        s["drift_n"], "knotball calibrate scale"
    )


class Plain:
    """`t_ms force_n band state elapsed_ms hold_ms cues fault`; cues comma-separated (a cue
    between two printed lines is kept for the next one), `-` for none. A drift out of range
    is said once on stderr (the columns stay as they are for scripts)."""

    def __init__(self, out, err=sys.stderr):
        self.out = out
        self.err = err
        self.last = None
        self.cues = []
        self.drift_bad = False

    def connected(self, cfg):
        self.last = None

    def stopped(self, reason):
        pass  # the `done` cue is in the line; the reason went to stderr

    def sample(self, s):
        if s["drift_bad"] and not self.drift_bad:
            print("knotball live: " + drift_text(s), file=self.err, flush=True)
        self.drift_bad = s["drift_bad"]
        self.cues += [c for c in s["cues"] if c not in self.cues]
        if self.last is not None and 0 <= s["t_ms"] - self.last < PLAIN_EVERY_MS:
            return
        self.last = s["t_ms"]
        fields = (
            s["t_ms"],
            "{:.2f}".format(s["force_n"]),
            s["band"],
            s["state"],
            s["elapsed_ms"],
            s["hold_ms"],
            ",".join(self.cues) or "-",
            s["fault"] or "-",
        )
        self.cues = []
        print(*fields, file=self.out, flush=True)


# A 3x5 block font, each pixel two characters wide: a force readable across the room.
_FONT = {
    "0": ("###", "# #", "# #", "# #", "###"),
    "1": (" # ", "## ", " # ", " # ", "###"),
    "2": ("###", "  #", "###", "#  ", "###"),
    "3": ("###", "  #", "###", "  #", "###"),
    "4": ("# #", "# #", "###", "  #", "  #"),
    "5": ("###", "#  ", "###", "  #", "###"),
    "6": ("###", "#  ", "###", "# #", "###"),
    "7": ("###", "  #", "  #", "  #", "  #"),
    "8": ("###", "# #", "###", "# #", "###"),
    "9": ("###", "# #", "###", "  #", "###"),
    ".": ("   ", "   ", "   ", "   ", " # "),
    "-": ("   ", "   ", "###", "   ", "   "),
    "N": ("#  #", "## #", "# ##", "#  #", "#  #"),
    " ": ("  ", "  ", "  ", "  ", "  "),
}


def big(text, style):
    from rich.text import Text

    out = Text(justify="center")
    for row in range(5):
        line = " ".join(_FONT[c][row] for c in text)
        out.append(line.replace("#", "██").replace(" ", "  "), style=style)
        if row < 4:
            out.append("\n")
    return out


def _band_at(force_n, cfg):
    band = "idle"
    for name in ("light", "medium", "firm", "over"):
        if force_n >= cfg[name + "_n"]:
            band = name
    return band


def _edges(cfg, width):
    """{cell: newtons} of the band edges on a bar `width` cells long."""
    top = cfg["over_n"] * 1.3
    return {
        round(cfg[b + "_n"] / top * width): cfg[b + "_n"]
        for b in ("light", "medium", "firm", "over")
    }


def bar(force_n, cfg, width):
    """Force against the band edges: each cell in the colour of its band, edges marked."""
    from rich.text import Text

    top = cfg["over_n"] * 1.3
    edges = _edges(cfg, width)
    out = Text()
    for i in range(width):
        value = (i + 0.5) / width * top
        if i in edges:
            out.append("┃", style="bold white")
        elif value <= force_n:
            out.append("█", style=BAND_STYLE[_band_at(value, cfg)][1])
        else:
            out.append("─", style="grey30")
    return out


def bar_numbers(cfg, width):
    """The band edges in newtons under the bar's marks ("5", "20", ... "55 N"), as wide
    as the bar; a number that would run into the one before is left out."""
    from rich.text import Text

    cells = [" "] * width
    free = 0  # the first cell a number may use
    edges = sorted(_edges(cfg, width).items())
    for n, (at, newtons) in enumerate(edges):
        label = "{:g}".format(newtons) + (" N" if n == len(edges) - 1 else "")
        start = min(max(at - (len("{:g}".format(newtons)) - 1) // 2, free), width - len(label))
        if start < free:
            continue
        cells[start : start + len(label)] = label
        free = start + len(label) + 1
    return Text("".join(cells), style="grey70")


def _clock(ms):
    return "{}:{:02d}".format(ms // 60000, ms // 1000 % 60)


def render(s, cfg, cue, note, width=MIN_COLUMNS, stop_reason=None):
    """The whole screen for sample `s` (None: no sample yet, or reconnecting) on a terminal
    `width` columns wide; `stop_reason` names the last cue's `done` when known."""
    from rich.align import Align
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    if width < MIN_COLUMNS:
        return Text(
            "terminal too small: knotball live needs {} columns (this one has {}); widen it, "
            "or use --plain".format(MIN_COLUMNS, width),
            style="bold yellow",
        )
    if s is None:
        return Panel(Text(note or "waiting for the ball…", justify="center", style="bold"))
    style = BAND_STYLE.get(s["band"], ("", "white"))[1]
    force = "{:.1f}".format(max(s["force_n"], 0.0))
    limit = int(cfg.get("session_limit_s", 60) * 1000)
    parts = [
        big(force + " N", style),
        Text(""),
        Text(s["band"].upper(), style=style + " bold", justify="center"),
        Align.center(bar(s["force_n"], cfg, BAR_WIDTH) + "\n" + bar_numbers(cfg, BAR_WIDTH)),
        Text(""),
        Text(
            "session {}   {} / {}   hold {:.0f} s".format(
                s["state"], _clock(s["elapsed_ms"]), _clock(limit), s["hold_ms"] / 1000
            ),
            justify="center",
            style="bold",
        ),
    ]
    if cue:
        words, feel = cue_words(cue, stop_reason)
        parts.append(Text("last cue: {} — {}".format(words, feel), justify="center"))
    if s["fault"]:
        parts.append(
            Text(
                " SENSOR FAULT ({}): {} ".format(s["fault"], FAULT_TEXT.get(s["fault"], "")),
                style="bold white on red",
                justify="center",
            )
        )
    if s.get("drift_bad"):
        parts.append(Text(drift_text(s), style="bold yellow", justify="center"))
    if s.get("calib"):
        parts.append(Text("calibrating (knotball calibrate)", style="bold cyan", justify="center"))
    if note:
        parts.append(Text(note, style="bold yellow", justify="center"))
    return Panel(
        Group(*parts),
        title="knotball live",
        subtitle="s: numbness or tingling (ends the session) · a: next area · Ctrl-C to quit",
    )


class Board:
    """The full-terminal view, redrawn on each sample."""

    def __init__(self, live):
        self.live = live
        self.cfg = dict(config.DEFAULTS)
        self.cue = None
        self.note = ""
        self.state = None
        self.stop_reason = None  # known when this live ended the session (`s`)

    def connected(self, cfg):
        self.cfg = cfg
        self.note = ""

    def stopped(self, reason):
        self.stop_reason = reason

    def status(self, text):
        self.note = text
        self._draw(None)

    def sample(self, s):
        if s["state"] == "active" and self.state != "active":
            self.stop_reason = None  # a new session
        self.state = s["state"]
        if s["cues"]:
            self.cue = s["cues"][-1]
        self._draw(s)

    def _draw(self, s):
        width = self.live.console.width
        view = render(s, self.cfg, self.cue, self.note, width, self.stop_reason)
        self.live.update(view, refresh=True)


def run(args):
    if args.url and args.port:
        raise UsageError("--url: give either --url (Wi-Fi) or --port (USB)")
    if args.url:
        page.parse(args.url)  # a bad address is a usage error, not something to wait for
        connect_to = page.Resuming(args.url)
    try:
        if not args.url:
            connect_to = Usb(ports.choose(args.port))

        first = first_contact(
            connect_to,
            lambda text: print("knotball live: " + text, file=sys.stderr, flush=True),
        )
    except (ports.PortError, LinkLost) as e:
        print("knotball live: {}".format(e), file=sys.stderr)
        return 1
    except LinkError as e:
        print("knotball live: {}".format(e), file=sys.stderr)
        return NOT_KNOTBALL
    pending = [first]

    def opener():
        return pending.pop() if pending else connect_to()

    if args.plain or not sys.stdout.isatty():
        if not args.plain:
            print(
                "knotball live: the output is not a terminal: one plain line per sample "
                "(as with --plain)",
                file=sys.stderr,
                flush=True,
            )

        def status(text):
            print("knotball live: " + text, file=sys.stderr, flush=True)

        try:
            with Keys(sys.stdin) as keys:
                return follow(opener, Plain(sys.stdout), status, keys=keys)
        except BrokenPipeError:
            # The reader went (`| head -1`): done. Python's documented way out: stdout to
            # devnull, so the flush at exit does not fail on the closed pipe again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except OtherBall as e:
            print("knotball live: {}".format(e), file=sys.stderr)
            return 1
    from rich.live import Live

    try:
        with Keys(sys.stdin) as keys:
            with Live(auto_refresh=False, screen=True, redirect_stderr=False) as live:
                board = Board(live)
                return follow(opener, board, board.status, keys=keys)
    except OtherBall as e:  # said once the screen is restored
        print("knotball live: {}".format(e), file=sys.stderr)
        return 1
