"""`knotball wifi` end to end on the virtual ball serving its page (--http-port): the
network stored and shown without its password, a new token retiring the old URL, the AP
mode's passphrase, and off stopping the page. The virtual ball has no radio: it serves on
127.0.0.1 whatever network is stored, as a ball on that network would."""

import json
import shutil
import urllib.error
import urllib.request

import pytest
from test_web_virtual import CFG, PagedBall
from vball_fixture import deploy_firmware

from conftest import knotball

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", CFG)


@pytest.fixture
def paged(firmware_image, tmp_path):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    p = PagedBall(tmp_path, image)
    yield p
    p.ball.kill()


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code


def wifi(p, *args, input=""):
    res = knotball("wifi", "--port", p.ball.port, *args, input=input)
    assert PASSWORD not in res.stdout + res.stderr
    return res


def test_a_stored_network_is_shown_with_the_page_url_and_never_its_password(paged):
    res = wifi(paged, "--json")
    assert res.returncode == 0, res.stderr
    state = json.loads(res.stdout)
    assert state["wifi"] == "none" and state["url"] == paged.url and state["serving"]

    res = wifi(paged, "HomeNet", "--password-stdin", input=PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    assert "Wi-Fi: on, network HomeNet" in res.stdout
    assert "live page: " + paged.url in res.stdout
    res = wifi(paged, "--json")
    state = json.loads(res.stdout)
    assert state["ssid"] == "HomeNet" and state["on"] and state["wifi"] == "station"
    assert "password" not in state and state["url"] == paged.url
    assert status(paged.url) == 200  # the page came back up on the new network
    # Nor does the raw console reply carry it.
    with paged.ball.link() as link:
        assert PASSWORD not in json.dumps(link.request("wifi"))


def test_new_token_retires_the_old_url(paged):
    assert status(paged.url) == 200
    res = wifi(paged, "--new-token", "--json")
    assert res.returncode == 0, res.stderr
    new = json.loads(res.stdout)["url"]
    assert new != paged.url and new.startswith("http://127.0.0.1:{}/?k=".format(paged.port))
    assert status(paged.url) == 401
    assert status(new) == 200
    shown = wifi(paged)
    assert "live page: " + new in shown.stdout


def test_ap_mode_makes_a_passphrase_and_off_stops_the_page(paged):
    res = wifi(paged, "--ap", "--json")
    assert res.returncode == 0, res.stderr
    state = json.loads(res.stdout)
    assert state["wifi"] == "ap" and state["ssid"].startswith("knotball-")
    assert len(state["ap_password"]) == 20 and int(state["ap_password"], 16) >= 0
    again = json.loads(wifi(paged, "--ap", "--json").stdout)
    assert again["ap_password"] != state["ap_password"]  # a new one each time

    res = wifi(paged, "--off")
    assert res.returncode == 0, res.stderr
    assert "Wi-Fi: off, the ball's own network" in res.stdout and "live page" not in res.stdout
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(paged.url, timeout=5)
    state = json.loads(wifi(paged, "--json").stdout)
    assert state["on"] is False and state["serving"] is False and state["url"] is None


def test_bad_input_names_the_field_and_exits_2(paged):
    res = wifi(paged, "HomeNet", "--password-stdin", input="short\n")
    assert res.returncode == 2
    assert res.stderr.startswith("knotball wifi: password:") and len(res.stderr.splitlines()) == 1
    res = wifi(paged, "x" * 33)
    assert res.returncode == 2 and "ssid" in res.stderr
    # A refusal by the ball itself (a raw console command) names the field too.
    with paged.ball.link() as link:
        with pytest.raises(Exception, match="ssid"):
            link.request('wifi set {"ssid": ""}')
