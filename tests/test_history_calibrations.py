"""The history's calibrations table (schema 2), balls known by their own id (schema 3), and
histories from before them (schema 1)."""

import sqlite3

import pytest

from conftest import knotball
from knotball.history import physio, store


def v1_history(path):
    """A history as knotball wrote it before calibrations: schema 1, one session in it."""
    conn = sqlite3.connect(path)
    conn.executescript(store._SCHEMA)
    conn.execute("INSERT INTO schema VALUES (1)")
    conn.execute("INSERT INTO balls (name, added_at) VALUES ('ball', 0)")
    later = ("start_estimated", "damaged", "damage", "area")  # schema 3, 4 and 5 columns
    v1_cols = tuple(c for c in store.SESSION_COLS if c not in later)
    cols = ("ball_id",) + v1_cols + ("imported_at", "source")
    values = {c: 0 for c in cols}
    values.update(ball_id=1, session_id=7, stop_reason="time_limit", firmware="0.1", source="x")
    conn.execute(
        "INSERT INTO sessions ({}) VALUES ({})".format(
            ", ".join(cols), ", ".join("?" * len(cols))
        ),
        [values[c] for c in cols],
    )
    conn.commit()
    conn.close()


def test_a_calibration_is_stored_and_read_back(tmp_path):
    h = store.History(tmp_path / "h.sqlite")
    row = h.add_calibration(
        "vb01", "scale", {"zero_counts": 5, "counts_per_n": 23.7}, {"verdict": "good"},
        {"loads": [{"kg": 2.0, "counts": 101765.0}]}, board="sim-baro", sensor="bmp280",
        firmware="0.1", at=1_700_000_000,
    )  # fmt: skip
    h.add_calibration("other", "bands", {"over_n": 40.0}, {}, [])
    (c,) = h.calibrations("vb01")
    assert c["id"] == row and c["kind"] == "scale" and c["at_unix"] == 1_700_000_000
    assert c["values"] == {"zero_counts": 5, "counts_per_n": 23.7}
    assert c["points"]["loads"][0]["kg"] == 2.0 and c["board"] == "sim-baro"
    assert [c["ball"] for c in h.calibrations()] == ["vb01", "other"]


def test_a_schema_1_history_is_read_as_it_is_and_upgraded_by_the_first_write(tmp_path):
    path = tmp_path / "h.sqlite"
    v1_history(path)
    h = store.History(path)
    assert h.calibrations() == []  # reading changes nothing
    assert sqlite3.connect(path).execute("SELECT version FROM schema").fetchone() == (1,)
    h.add_calibration("vb01", "bands", {"over_n": 40.0}, {}, [])
    version = sqlite3.connect(path).execute("SELECT version FROM schema").fetchone()
    assert version == (store.SCHEMA_VERSION,)
    assert [s["id"] for s in h.sessions()] == [7]  # the sessions are all still there
    assert physio.area_of(h.sessions()[0]) == "unspecified"  # schema 5: no area recorded
    assert len(h.calibrations()) == 1


def test_history_command_still_reads_an_upgraded_history(tmp_path, monkeypatch):
    monkeypatch.setenv("KNOTBALL_HOME", str(tmp_path))
    v1_history(tmp_path / "history.sqlite")
    store.History().add_calibration("vb01", "bands", {"over_n": 40.0}, {}, [])
    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    assert '"id": 7' in res.stdout


def test_a_ball_is_known_by_its_id_named_once_and_renamed_only_when_asked(tmp_path):
    path = tmp_path / "h.sqlite"
    v1_history(path)  # its ball "ball" was pulled before ids were kept
    h = store.History(path)
    assert h.ball_for("24a1c3f0b7e2") == "ball-b7e2"
    assert h.ball_for("24a1c3f0b7e2") == "ball-b7e2"  # the same ball: the same name
    assert h.ball_for("77770000b7e2") == "ball-0b7e2"  # the short name was taken
    assert h.ball_for("9e0d51aa4c88", "ball") == "ball"  # takes over the old "ball"
    assert [s["ball"] for s in h.sessions()] == ["ball"]
    assert h.ball_for("9e0d51aa4c88") == "ball"
    with pytest.raises(store.StoreError, match="another ball's"):
        h.ball_for("24a1c3f0b7e2", "ball")
    assert h.ball_for("24a1c3f0b7e2", "kitchen") == "kitchen"
    assert h.balls() == ["ball", "ball-0b7e2", "kitchen"]
