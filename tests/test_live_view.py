"""What `knotball live` shows a person: cues in words (one table with sim and report), the
symptom stop's own feel after `s`, numbers on the band bar, a clear word on a terminal too
narrow for the view, and a patient first contact with a ball that is still booting."""

import io

import pytest
from rich.console import Console

from ball import config, dose
from ball.wire import CUE_NAMES
from ball.wire import console as wconsole
from ball.wire.framing import LIVE
from knotball import timeline
from knotball.commands import live
from knotball.transport import ports
from knotball.transport.link import AtTheRepl, LinkError

CFG = dict(config.DEFAULTS)  # edges 5, 20, 35, 55 N


def payload(force_mn=12000, state=1, cues=()):
    bits = sum(1 << CUE_NAMES.index(c) for c in cues)
    buf = bytearray(wconsole.LIVE_SIZE)
    wconsole.live_pack_into(buf, 0, 100, force_mn, 1, state, 5000, 0, bits, 0, 12000, 0, 0)
    return bytes(buf)


def sample(**kw):
    return wconsole.unpack_live(payload(**kw))


def shown(view, width=100):
    console = Console(file=io.StringIO(), width=width)
    console.print(view)
    return console.file.getvalue()


def test_every_cue_has_words_and_live_says_them_not_the_id():
    assert set(CUE_NAMES) <= set(timeline.CUES)
    text = shown(live.render(sample(), CFG, "hold_effective", ""))
    assert "last cue: hold effective — double tap: this hold has done its work" in text
    assert "hold_effective" not in text


class FakeLink:
    """Live frames, then Ctrl-C; records the requests (the `s` key's symptom)."""

    def __init__(self, payloads):
        self.frames = [(LIVE, p) for p in payloads]
        self.requests = []

    def frame(self, deadline):
        if not self.frames:
            raise KeyboardInterrupt
        return self.frames.pop(0)

    def request(self, what, timeout=None):
        self.requests.append(what)

    def close(self):
        pass


class OneKey:
    def __init__(self, key):
        self.keys = [key]

    def poll(self):
        return self.keys.pop() if self.keys else ""


class Screen:
    """Stands in for rich's Live: keeps the last view drawn, at a fixed width."""

    def __init__(self, width=100):
        self.console = Console(file=io.StringIO(), width=width)
        self.view = None

    def update(self, view, refresh=False):
        self.view = view


def test_after_s_the_done_cue_reads_as_the_symptom_stops_soft_buzz():
    link = FakeLink([payload(state=1), payload(state=2, cues=("done",))])
    screen = Screen()
    board = live.Board(screen)
    live.follow(lambda: (link, CFG), board, board.status, keys=OneKey("s"))
    assert link.requests[0] == "symptom"
    board.sample(sample(state=2, cues=("done",)))  # the stop, as the ball then shows it
    text = shown(screen.view)
    assert "one long soft buzz, then a steady teal light" in text
    assert "one long buzz: the session is over" not in text
    # The next session's own end is an ordinary `done` again.
    board.sample(sample(state=1))
    board.sample(sample(state=2, cues=("done",)))
    assert "one long buzz: the session is over" in shown(screen.view)


def test_sim_and_report_say_the_symptom_stops_feel_too():
    events = [
        {"t_ms": 0, "event": "session_start"},
        {"t_ms": 900, "event": "session_stop", "reason": "symptom"},
        {"t_ms": 900, "event": "cue", "cue": "done"},
    ]
    console = Console(file=io.StringIO(), width=120)
    timeline.render(events, "t.csv", "cpython", console)
    text = console.file.getvalue()
    assert "one long soft buzz" in text and "one long buzz:" not in text


def test_the_band_bar_has_its_edges_in_newtons_under_its_marks():
    lines = shown(live.render(sample(), CFG, None, "")).splitlines()
    (at,) = [i for i, line in enumerate(lines) if "┃" in line]
    marks = [i for i, c in enumerate(lines[at]) if c == "┃"]
    numbers = lines[at + 1]
    assert numbers.split()[1:5] == ["5", "20", "35", "55"] and "55 N" in numbers
    for mark, edge in zip(marks, ("5", "20", "35", "55"), strict=True):
        start = numbers.index(edge, mark - len(edge))
        assert start <= mark < start + len(edge), (edge, numbers)


@pytest.mark.parametrize("width", [30, 50, live.MIN_COLUMNS - 1])
def test_a_terminal_too_narrow_is_told_so_not_garbled(width):
    screen = Screen(width)  # the terminal's width, as live's Board reads it
    live.Board(screen).sample(sample(cues=("too_hard",)))
    text = shown(screen.view, width)
    assert "terminal too small" in " ".join(text.split())
    assert "needs {} columns".format(live.MIN_COLUMNS) in " ".join(text.split())
    assert "██" not in text and "┃" not in text


def test_at_the_minimum_width_every_line_fits():
    screen = Screen(live.MIN_COLUMNS)
    board = live.Board(screen)
    board.status("a note")
    board.sample(sample(cues=("time_warning",)))
    text = shown(screen.view, live.MIN_COLUMNS)
    assert "terminal too small" not in text and "┃" in text
    assert max(len(line) for line in text.splitlines()) <= live.MIN_COLUMNS
    assert "time warning" in text


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_the_first_contact_waits_for_a_ball_that_is_still_booting():
    clock, said = Clock(), []
    tries = iter([LinkError("no reply"), LinkError("no reply"), "linked"])

    def opener():
        got = next(tries)
        if isinstance(got, Exception):
            raise got
        return got

    assert live.first_contact(opener, said.append, 15, clock.sleep, clock) == "linked"
    assert said == [live.WAITING_TEXT]


def test_a_ball_that_never_answers_is_given_up_on_after_the_wait():
    clock, said = Clock(), []

    def opener():
        raise LinkError("no reply to `hello`")

    with pytest.raises(LinkError, match="no reply"):
        live.first_contact(opener, said.append, 15, clock.sleep, clock)
    assert clock.now >= 15 and said == [live.WAITING_TEXT]


@pytest.mark.parametrize(
    "error",
    [ports.PortError("/dev/ttyUSB0 is busy"), AtTheRepl("no reply: the REPL")],
    ids=["port", "repl"],
)
def test_a_port_that_cannot_be_opened_or_shows_the_repl_is_not_waited_for(error):
    clock, said = Clock(), []

    def opener():
        raise error

    with pytest.raises(type(error)):
        live.first_contact(opener, said.append, 15, clock.sleep, clock)
    assert clock.now == 0 and said == []


class AreaLink(FakeLink):
    """Answers `area` as the ball does: calves chosen."""

    def request(self, what, timeout=None):
        self.requests.append(what)
        if what == "area":
            return {"area": "calves", "areas": list(dose.AREAS), "today": {}}
        return {"area": what.split()[1], "applies": "from the next session"}


def test_the_a_key_chooses_the_balls_next_area_and_says_so():
    link = AreaLink([payload(state=0)])
    screen = Screen()
    board = live.Board(screen)
    live.follow(lambda: (link, CFG), board, board.status, keys=OneKey("a"))
    assert link.requests[:2] == ["area", "area soles"]  # calves, then soles in the list
    assert board.note == "area: soles, from the next session"
    last = AreaLink([payload(state=0)])
    last.request = lambda what, timeout=None: (
        last.requests.append(what) or {"area": "none", "areas": ["calves"]}
    )
    live.follow(lambda: (last, CFG), live.Board(Screen()), lambda text: None, keys=OneKey("a"))
    assert last.requests[1] == "area calves"  # after none, round to the first again
