"""The plumbing of `knotball calibrate`: the person answering on stdin, and the ball in
calibration mode streaming live samples, kept there while the person takes their time and
always taken out again (the end, an error, Ctrl-C, the end of the answers)."""

import queue
import threading
import time

from ball import config
from ball.wire.console import unpack_live
from ball.wire.framing import LIVE
from knotball.calibration import fit as calfit
from knotball.history import store
from knotball.transport.link import BallError, LinkError

OK, FAILED, BAD_INPUT = 0, 1, 2
RENEW_BALL_MS = 2000  # `KB calib on` again after this much ball time...
RENEW_REAL_S = 2.0  # ...or real time, whichever comes first (the ball lapses after 10 s)
SAMPLE_TIMEOUT_S = 3.0
REST_MS = 2000
WAIT_PRESS_MS = 120000  # nothing in this much ball time: the sensor does not see the load


class Stop(Exception):
    """Ends the flow with a one-line message and an exit status; nothing more is saved."""

    def __init__(self, message, status=FAILED):
        super().__init__(message)
        self.status = status


# ---- the person at the keyboard (or a script on stdin) --------------------------------------


class Answers:
    """Lines from stdin, read on a thread so the ball is kept in calibration mode (and its
    samples drained) while a person takes their time to type."""

    def __init__(self, stream, out):
        self.out = out
        self.tty = stream.isatty()
        self.lines: queue.Queue = queue.Queue()

        def read():
            try:
                for line in stream:
                    self.lines.put(line)
            except (OSError, ValueError):  # unreadable, or not text: the answers end here
                pass
            self.lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def line(self, ball):
        while True:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                ball.idle()
                continue
            if line is None:
                raise Stop(
                    "the answers ended (end of input) before the calibration was done; "
                    "nothing saved",
                    BAD_INPUT,
                )
            if not self.tty:
                print(line.rstrip("\n"), file=self.out, flush=True)  # the answer, as typed
            return line.strip()

    def ask(self, ball, prompt, parse):
        """parse(line) -> value, or ValueError(what to type): asked again at a terminal;
        from a pipe the flow stops (exit 2), as a script cannot answer differently."""
        while True:
            print(prompt, end=" ", file=self.out, flush=True)
            line = self.line(ball)
            try:
                return parse(line)
            except ValueError as e:
                if not self.tty:
                    raise Stop("{}; nothing saved".format(e), BAD_INPUT)
                print("  " + str(e), file=self.out, flush=True)

    def confirm(self, ball, prompt):
        def yes(line):
            a = line.lower()
            if a in ("y", "yes"):
                return True
            if a in ("", "n", "no"):
                return False
            raise ValueError("answer y or n")

        return self.ask(ball, prompt + " [y/N]", yes)


# ---- the ball in calibration mode -------------------------------------------------------


class CalibBall:
    """The ball in calibration mode with its live stream on. next() gives samples in ball
    order; calibration mode is renewed as they pass (and by idle() while waiting)."""

    def __init__(self, link):
        self.link = link
        self.samples: list = []
        self._t = None  # ball time of the latest sample
        self._renewed_t = None
        self._renewed_real = 0.0

    def __enter__(self):
        try:
            self._request("calib on")
            self._renewed_real = time.monotonic()
            self._request("live on")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for command in ("live off", "calib off"):
            try:
                self.link.request(command, timeout=2)
            except (LinkError, OSError):
                pass  # gone: the ball leaves calibration mode by itself within 10 s

    def keep(self, rtype, payload):
        if rtype == LIVE:
            self.samples.append(unpack_live(payload))

    def _request(self, command):
        try:
            return self.link.request(command, on_frame=self.keep)
        except BallError as e:
            if e.reply.get("command") == "calib":
                raise Stop("the ball refused calibration: {}".format(e.reply["error"]))
            raise

    def _renew(self):
        due_ball = (
            self._t is not None
            and self._renewed_t is not None
            and self._t - self._renewed_t >= RENEW_BALL_MS
        )
        if due_ball or time.monotonic() - self._renewed_real >= RENEW_REAL_S:
            self._renewed_t = self._t
            self._renewed_real = time.monotonic()
            self._request("calib on")

    def next(self):
        self._renew()
        while not self.samples:
            got = self.link.frame(time.monotonic() + SAMPLE_TIMEOUT_S)
            if got is None:
                raise LinkError(
                    "{} sent no live samples for {} s".format(self.link.name, SAMPLE_TIMEOUT_S)
                )
            self.keep(*got)
        s = self.samples.pop(0)
        if not s["calib"]:
            raise Stop("the ball left calibration mode (was it reset?): run the calibration again")
        if self._renewed_t is None:
            self._renewed_t = s["t_ms"]
        self._t = s["t_ms"]
        return s

    def idle(self):
        """While the person types: read all that has come (samples pile up otherwise, and
        the next step would judge stale ones), keep calibration mode on, drop the samples."""
        deadline = time.monotonic() + 0.02
        while True:
            got = self.link.frame(deadline)
            if got is None:
                break
            self.keep(*got)
        if self.samples:
            last = self.samples[-1]
            self.samples = [last]
            self.next()  # checks the mode is still on, and renews it when due
        else:
            self._renew()

    def buzz(self, ms):
        self._request("buzz {}".format(ms))


# ---- the flows -------------------------------------------------------------------------


class Flow:
    """What both flows share: the ball, the person, and `result` (for --json) filled in as
    they go."""

    def __init__(self, args, link, hello, ball, answers, out, result):
        self.args, self.link, self.hello, self.ball = args, link, hello, ball
        self.answers, self.out, self.result = answers, out, result

    def say(self, text=""):
        print(text, file=self.out, flush=True)

    def wait_for(self, test, what):
        """Samples until test(sample) returns something; WAIT_PRESS_MS of ball time
        without it stops the flow with `what` to check."""
        start = None
        while True:
            s = self.ball.next()
            start = s["t_ms"] if start is None else start
            got = test(s)
            if got is not None:
                return got
            if s["t_ms"] - start > WAIT_PRESS_MS:
                raise Stop(what)

    def rest(self):
        """The rest level: REST_MS of samples whose halves agree (nobody touching)."""
        for _ in range(5):
            first = self.ball.next()
            raws = [first["raw"]]
            while True:
                s = self.ball.next()
                raws.append(s["raw"])
                if s["t_ms"] - first["t_ms"] >= REST_MS:
                    break
            rest = calfit.Rest(raws)
            if rest.steady(raws):
                return rest
            self.say("  the reading moved: hands off the ball and the book, please…")
        raise Stop("the ball's reading would not settle at rest: check the sensor's wiring")

    def save(self, kind, values, quality, points, area=None):
        """Merge `values` into the ball's config, save it there, then in the history (with
        the body area it was measured on, if any)."""
        current = self.link.request("cfg", on_frame=self.ball.keep)
        if current.get("problem"):
            self.say(
                "  (the ball's config was unusable, {}; the rest of it is defaults)".format(
                    current["problem"]
                )
            )
        merged = dict(current["config"])
        merged.update(values)
        try:
            merged = config.validate(merged)
        except config.ConfigError as e:
            raise Stop("cannot save: {}".format(e))
        try:
            reply = self.link.save_cfg(merged, on_frame=self.ball.keep)
        except BallError as e:
            raise Stop("the ball refused the config: {}; nothing saved".format(e.reply["error"]))
        history = store.History()
        try:
            row = self._add(history, kind, values, quality, points, area)
        except store.StoreError as e:
            self.result.update(saved=True, applied=bool(reply.get("applied")))
            raise Stop("saved on the ball, but not in the history: {}".format(e))
        self.say(
            "Saved on the ball ({}) and in the history ({}, calibration {}).".format(
                "in use now" if reply.get("applied") else "in use once its session has ended",
                history.path,
                row,
            )
        )
        self.result.update(saved=True, applied=bool(reply.get("applied")), history_id=row)

    def record(self, kind, quality, points, area):
        """Keep a measurement in the history only (the ball's config unchanged)."""
        try:
            row = self._add(store.History(), kind, {}, quality, points, area)
        except store.StoreError as e:
            raise Stop("not kept in the history: {}".format(e))
        self.result.update(history_id=row)
        return row

    def _add(self, history, kind, values, quality, points, area):
        """One calibration or measurement into the history, with what the ball said of itself."""
        return history.add_calibration(
            self.hello.get("id") or "?",
            kind,
            values,
            quality,
            points,
            board=self.hello.get("board"),
            sensor=self.hello.get("like") or self.hello.get("sensor"),
            firmware=self.hello.get("firmware"),
            area=area,
        )

    def decide(self, verdict):
        if verdict == "poor":
            raise Stop("the fit is poor: nothing saved; do the calibration again")
        if self.args.yes:
            return
        if not self.answers.confirm(self.ball, "Save it on the ball?"):
            raise Stop("not saved (the ball keeps what it had)")
