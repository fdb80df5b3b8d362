"""Start light, build up: the history's suggestion for the next session limit, and
`knotball config` taking it on a virtual ball (a suggestion only changes the ball when the
person runs the command)."""

import json

import pytest
from vball_fixture import VirtualBall, deploy_firmware

from conftest import knotball
from knotball.history import advice


def session(i, limit_s=60, reason="time_limit", over_ms=0, too_hard=0, start=0, **extra):
    s = {
        "id": i,
        "start_unix": start,
        "session_limit_ms": None if limit_s is None else limit_s * 1000,
        "stop_reason": reason,
        "duration_ms": (limit_s or 60) * 1000,
        "band_ms": {"idle": 0, "light": 10000, "medium": 20000, "firm": 20000, "over": over_ms},
        "too_hard_count": too_hard,
        "complete": True,
        "recovered": False,
    }
    s.update(extra)
    return s


def test_a_new_person_starts_at_a_minute():
    tip = advice.suggest([])
    assert tip["kind"] == "start" and "60 s" in tip["text"]


def test_three_comfortable_sessions_suggest_one_more_minute_never_past_the_cap():
    tip = advice.suggest([session(i) for i in range(1, 4)])
    assert tip["kind"] == "longer" and tip["limit_s"] == 120
    assert tip["command"] == "knotball config session_limit_s=120"
    tip = advice.suggest([session(i, 300) for i in range(1, 4)])
    assert tip["limit_s"] == 360
    tip = advice.suggest([session(i, 360) for i in range(1, 4)])
    assert tip["kind"] == "cap" and "limit_s" not in tip
    tip = advice.suggest([session(i, 330) for i in range(1, 4)])
    assert tip["limit_s"] == 360  # a step that would pass the cap stops at it


@pytest.mark.parametrize(
    "spoiler",
    [
        session(3, reason="idle"),  # stopped before its time
        session(3, reason="interrupted"),
        session(3, complete=False),
        session(3, recovered=True),
        session(3, over_ms=6000),  # 10 % of the time too hard
        session(3, too_hard=2),
    ],
)
def test_an_uncomfortable_or_unfinished_session_restarts_the_count(spoiler):
    sessions = [session(1), session(2), spoiler, session(4), session(5)]
    tip = advice.suggest(sessions)
    assert tip["kind"] == "stay" and "2 comfortable sessions" in tip["text"]
    assert advice.suggest(sessions + [session(6)])["kind"] == "longer"


def test_only_sessions_at_the_current_limit_count():
    sessions = [session(1), session(2), session(3), session(4, 120)]
    tip = advice.suggest(sessions)
    assert tip["kind"] == "stay" and "120 s" in tip["text"]
    # an archived summary without its header keeps the run going
    tip = advice.suggest(sessions + [session(5, None), session(6, 120)])
    assert tip["kind"] == "longer" and tip["limit_s"] == 180


def test_numbness_or_tingling_holds_back_every_suggestion_for_a_week():
    day = 86400
    now = 100 * day
    sessions = [session(i, start=now - 20 * day + i) for i in range(1, 5)]
    sessions.append(session(5, reason="symptom", start=now - 3 * day))
    tip = advice.suggest(sessions, now=now)
    assert tip["kind"] == "rest" and "numbness or tingling" in tip["text"]
    later = sessions + [session(i, start=now + i) for i in range(6, 9)]
    assert advice.suggest(later, now=now + 8 * day)["kind"] == "longer"


def test_pressing_too_hard_again_and_again_asks_to_ease_off():
    sessions = [session(1), session(2, too_hard=3), session(3, too_hard=4)]
    tip = advice.suggest(sessions)
    assert tip["kind"] == "ease" and "calibrate bands" in tip["text"]


def test_config_shows_and_changes_keys_on_a_virtual_ball(tmp_path):
    image = deploy_firmware(tmp_path, tmp_path / "flash.img", {"session_limit_s": 60})
    v = VirtualBall(tmp_path, image)
    try:
        v.wait_app()
        res = knotball("config", "--port", v.port, "--json")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["session_limit_s"] == 60
        res = knotball("config", "--port", v.port, "session_limit_s=120", "hold_min_s=8")
        assert res.returncode == 0, res.stderr
        assert "(was 60)" in res.stdout and "saved on" in res.stdout
        # refused here, by the firmware's own rules, before the ball is touched
        for bad, words in (
            ("session_limit_s=400", "hard cap"),
            ("sesion_limit_s=120", "unknown key"),
            ("session_limit_s=two", "not a number"),
            ("session_limit_s", "KEY=VALUE"),
        ):
            res = knotball("config", "--port", v.port, bad)
            assert res.returncode == 2 and words in res.stderr, (bad, res.stderr)
            assert "Traceback" not in res.stderr
        res = knotball("config", "--port", v.port, "hold_min_s=default", "--json")
        assert res.returncode == 0, res.stderr
        cfg = json.loads(res.stdout)
        assert cfg["session_limit_s"] == 120 and cfg["hold_min_s"] == 5
        text = v.mpremote("fs", "cat", ":config.json")  # what the ball boots with
        assert json.loads(text[text.index("{") :])["session_limit_s"] == 120
    finally:
        v.kill()


def test_history_and_its_json_carry_the_suggestion(tmp_path):
    from vball_fixture import sim_log

    log = sim_log(tmp_path / "sim", minutes=1)  # one full one-minute session
    assert knotball("import", log).returncode == 0
    res = knotball("history", "--json")
    tip = json.loads(res.stdout)["advice"]["sim"]
    assert tip["kind"] == "stay" and "1 comfortable session in a row" in tip["text"]
    res = knotball("history")
    assert "Next: Stay at 60 s" in res.stdout


def test_a_symptom_stop_on_any_of_the_persons_balls_means_rest():
    mine = [session(i, ball="ball-b7e2") for i in range(1, 4)]
    other = [session(1, reason="symptom", ball="ball-4c88")]
    tip = advice.suggest(mine, everyone=mine + other)
    assert tip["kind"] == "rest" and "ball-4c88" in tip["text"]
    assert advice.suggest(mine, everyone=mine)["kind"] == "longer"
