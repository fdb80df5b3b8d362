"""`knotball demo` (`make demo`) as a newcomer runs it: the whole job on a virtual ball."""

import os

from conftest import knotball


def test_the_demo_never_touches_the_persons_history(tmp_path):
    home = tmp_path / "home"  # KNOTBALL_HOME, set for every test by conftest
    assert os.environ["KNOTBALL_HOME"] == str(home)
    png = tmp_path / "demo.png"
    res = knotball("demo", "--speed", 20, "--plain", "--png", png, timeout=200)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 session pulled" in res.stdout and png.exists()
    assert not home.exists()  # its history was a temporary one, gone with it
