"""`knotball demo` (`make demo`): the whole job on a virtual ball, no hardware.

A virtual ball on a temporary flash image plays the bundled session trace; `knotball flash`
deploys the firmware to it; `knotball live` watches the session until it stops at its limit;
`knotball pull` copies the log into a temporary history; `knotball report` prints the session
and plots it. The ball serves its live page too: the demo shows its URL and, where headless
Chromium is installed, leaves a picture of the page mid-session beside the plot
(REPORT-page.png). The virtual ball and the temporary files are gone afterwards (Ctrl-C
included), all but the plot and the picture.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from knotball import browser
from knotball.commands import flash, live, main, pull, report
from knotball.commands.virtual import free_port, wait_page
from knotball.runtime import UsageError
from knotball.transport.link import LinkError
from knotball.virtual.pty_ball import VirtualBall

TRACE = Path(__file__).resolve().parent.parent / "data" / "demo_session.csv"
LIVE_TIMEOUT_S = 120
IN_SESSION = ("light", "medium", "firm", "over")  # the page's body class: a band in contact


def add_arguments(p):
    p.add_argument("--speed", type=float, default=4.0, help="run the ball X times faster")
    p.add_argument(
        "--png",
        default=str(Path(tempfile.gettempdir()) / "knotball-demo-report.png"),
        help="where the session plot goes (default %(default)s)",
    )
    p.add_argument("--plain", action="store_true", help="plain live lines even on a terminal")


def _step(console, n, text):
    console.print("\n[bold cyan]{}.[/] [bold]{}[/]".format(n, text))


class _UntilStopped:
    """A live view that ends the live step once the session has run and stopped."""

    def __init__(self, view, thin=False):
        self.view = view
        # Plain lines in a demo: one a second of ball time, plus every band change or cue,
        # so a whole session reads as a page, not a flood.
        self.thin = thin
        self._last = None
        self.seen_active = False
        self.stopped = None
        self.timed_out = False
        self.deadline = time.monotonic() + LIVE_TIMEOUT_S

    def connected(self, cfg):
        self.view.connected(cfg)

    def status(self, text):
        getattr(self.view, "status", lambda t: None)(text)

    def sample(self, s):
        key = (s.get("band"), s.get("state"), s.get("fault"))
        if (
            not self.thin
            or self._last is None
            or key != self._last[1]
            or s.get("cues")
            or s["t_ms"] - self._last[0] >= 1000
        ):
            self._last = (s["t_ms"], key)
            self.view.sample(s)
        if s["state"] == "active":
            self.seen_active = True
        elif s["state"] == "stopped" and self.seen_active:
            self.stopped = s
            raise KeyboardInterrupt  # follow() closes the stream and the port on it
        if time.monotonic() > self.deadline:
            self.timed_out = True
            raise KeyboardInterrupt


def _live(port, plain, console):
    opener = live.Usb(port)
    if plain or not sys.stdout.isatty():
        view = _UntilStopped(live.Plain(sys.stdout), thin=True)
        live.follow(opener, view, lambda t: print("live: " + t, file=sys.stderr))
        return view
    from rich.live import Live

    with Live(auto_refresh=False, transient=True, console=console) as screen:
        view = _UntilStopped(live.Board(screen))
        live.follow(opener, view, view.status)
    return view


class _PageShot:
    """A picture of the live page while a session runs, taken by headless Chromium in a
    thread while the live step runs: `problem` says why there is none."""

    def __init__(self, url, png, work):
        self.png = png
        self.problem = None
        self.thread = threading.Thread(target=self._take, args=(url, work), daemon=True)
        self.thread.start()

    def _take(self, url, work):
        try:
            driver = browser.headless(work / "chromium")
            try:
                driver.get(url)
                # The picture shows a band's colour, not a fade between two.
                driver.execute_script("document.body.style.transition = 'none'")
                deadline = time.monotonic() + LIVE_TIMEOUT_S
                body = driver.find_element("tag name", "body")
                while body.get_attribute("class") not in IN_SESSION:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the page never showed a session")
                    time.sleep(0.05)
                driver.save_screenshot(str(self.png))
            finally:
                driver.quit()
        except Exception as e:  # noqa: BLE001 — a missing picture never fails the demo
            self.problem = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)

    def result(self):
        """The picture's path, or None (then `problem` says why)."""
        self.thread.join(60)
        if self.thread.is_alive():
            self.problem = "the browser did not finish in time"
        return None if self.problem else self.png


def _check(status, what):
    if status != 0:
        raise RuntimeError("{} failed (status {})".format(what, status))


def run(args):
    from rich.console import Console

    if args.speed <= 0:
        raise UsageError("--speed must be above 0")
    console = Console()
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="knotball-demo-"))
    # Always a history of its own: the demo never touches the person's (KNOTBALL_HOME
    # included), so it runs any number of times.
    old_home = os.environ.get("KNOTBALL_HOME")
    os.environ["KNOTBALL_HOME"] = str(work / "home")
    ball = None
    try:
        _step(console, 1, "Start a virtual ball (MicroPython, littlefs image, a pty for USB)")
        console.print(
            "   its sensor plays {} at {:g}x speed".format(TRACE.name, args.speed),
            highlight=False,
        )
        ball = VirtualBall(work / "flash.img", str(TRACE), args.speed, http_port=free_port())
        if not ball.wait_ready():
            raise RuntimeError("the virtual ball did not start")
        console.print("   virtual ball on {}".format(ball.port), highlight=False)

        _step(console, 2, "knotball flash --board sim   (firmware compiled with mpy-cross)")
        _check(main("flash", flash, ["--port", ball.port, "--board", "sim"]), "flash")

        url = wait_page(ball)
        if url is None:
            raise RuntimeError("the ball's live page did not answer")
        _step(console, 3, "knotball live   (until the session stops at its limit)")
        console.print("   the ball's live page: {}".format(url), highlight=False, soft_wrap=True)
        png = Path(args.png)
        page_png = png.with_name(png.stem + "-page.png")
        no_browser = browser.missing()
        shot = None if no_browser else _PageShot(url, page_png, work)
        view = _live(ball.port, args.plain, console)
        if view.stopped is None and not view.timed_out:
            raise KeyboardInterrupt  # the user's Ctrl-C, which follow() took as its stop
        if view.stopped is None:
            raise RuntimeError("the session did not stop within {} s".format(LIVE_TIMEOUT_S))
        console.print(
            "   session stopped after {:.1f} s of (ball) time".format(
                view.stopped["elapsed_ms"] / 1000
            ),
            highlight=False,
        )
        time.sleep(0.5)  # the log's last record is written as the session stops

        _step(
            console,
            4,
            "knotball pull   (into a temporary history: {})".format(os.environ["KNOTBALL_HOME"]),
        )
        _check(main("pull", pull, ["--port", ball.port]), "pull")

        _step(console, 5, "knotball report --png {}".format(args.png))
        _check(main("report", report, ["--png", args.png]), "report")
        if shot is not None and shot.result():
            console.print(
                "   the live page mid-session: {}".format(page_png),
                highlight=False,
                soft_wrap=True,
            )
        else:
            console.print(
                "   no picture of the live page: {}".format(no_browser or shot.problem),
                highlight=False,
                soft_wrap=True,
            )
        console.print(
            "\n[bold green]demo done[/] in {:.0f} s; the plot is {}".format(
                time.monotonic() - t0, args.png
            ),
            highlight=False,
        )
        return 0
    except (RuntimeError, LinkError) as e:
        print("knotball demo: {}".format(e), file=sys.stderr)
        return 1
    finally:
        if ball is not None:
            ball.close()
        if old_home is None:
            os.environ.pop("KNOTBALL_HOME", None)
        else:
            os.environ["KNOTBALL_HOME"] = old_home
        shutil.rmtree(work, ignore_errors=True)
