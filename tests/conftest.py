"""Shared fixtures: scratch dirs for the core tests and runners for the firmware."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knotball import browser
from knotball.runtime import FIRMWARE_ROOT, micropython_exe

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def knotball_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("KNOTBALL_TMP", str(tmp_path))
    monkeypatch.setenv("KNOTBALL_HOME", str(tmp_path / "home"))  # the history: never the user's
    return tmp_path


def run_micropython(script, *args, heap_kb=None, path=(), cwd=None, timeout=300):
    """Run a script on the MicroPython unix port with the firmware importable."""
    argv = [micropython_exe()]
    if heap_kb:
        argv += ["-X", "heapsize={}K".format(heap_kb)]
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(FIRMWARE_ROOT)] + [str(p) for p in path])
    return subprocess.run(
        argv + [str(script)] + [str(a) for a in args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def knotball(*args, timeout=300, input=""):
    """Run the installed `knotball` command as a user would; `input` is what they type
    (stdin is a pipe, never the terminal running the tests)."""
    return subprocess.run(
        [sys.executable, "-m", "knotball"] + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def of(events, kind, **match):
    """The sim events of one kind whose fields match."""
    return [
        e for e in events if e["event"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def write(tmp_path, rows, name="trace.csv"):
    """Trace rows (from knotball.traces) as a CSV file in tmp_path; returns its path."""
    from knotball import traces

    path = tmp_path / name
    traces.write_csv(path, rows)
    return path


def sim_events(trace_path, cfg=None, runtime="cpython"):
    """Firmware events for a trace: in-process on CPython (fast), or on the unix port."""
    if runtime == "cpython":
        from ball import config, sim

        lines = []
        sim.run(str(trace_path), config.validate(cfg or {}), lines.append)
        return [json.loads(line) for line in lines]
    args = ["sim", trace_path, "--json", "--runtime", runtime]
    if cfg:
        cfg_path = Path(str(trace_path) + ".json")
        cfg_path.write_text(json.dumps(cfg))
        args += ["--config", cfg_path]
    res = knotball(*args)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        metavar="PORT",
        help="also run the smoke tests on a real ball on this serial port (off by default)",
    )


def pytest_collection_modifyitems(config, items):
    """Device tests run only with --device PORT. Without it they are deselected, not
    skipped: they never show up as passing (or as skipped) when no ball was there."""
    off = [] if config.getoption("--device") else ["device"]
    if not browser_present():
        off.append("browser")
    if not poppler_present():
        off.append("poppler")
    keep = [item for item in items if not any(m in item.keywords for m in off)]
    dropped = [item for item in items if any(m in item.keywords for m in off)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        config.stash[_DROPPED] = dropped


_DROPPED = pytest.StashKey()
CHROMIUM = (browser.CHROMIUM, browser.CHROMEDRIVER)


def browser_present():
    return browser.missing() is None


POPPLER = ("pdftoppm", "pdftotext")


def poppler_present():
    """poppler-utils, which renders the report's PDF pages to PNG and reads back its text."""
    return all(shutil.which(tool) for tool in POPPLER)


def pytest_terminal_summary(terminalreporter, config):
    """Say at the very end which tests did not run and why: deselected is not passed."""
    dropped = config.stash.get(_DROPPED, [])
    browser = [i for i in dropped if "browser" in i.keywords]
    device = [i for i in dropped if "device" in i.keywords]
    poppler = [i for i in dropped if "poppler" in i.keywords]
    if browser:
        terminalreporter.write_line(
            "NOT RUN: {} browser test(s) deselected: no {} (make test installs them as "
            "root: apt-get install chromium chromium-driver)".format(
                len(browser), " / ".join(CHROMIUM)
            ),
            yellow=True,
        )
    if poppler:
        terminalreporter.write_line(
            "NOT RUN: {} PDF test(s) deselected: no {} (make test installs them as root: "
            "apt-get install poppler-utils)".format(len(poppler), " / ".join(POPPLER)),
            yellow=True,
        )
    if device:
        terminalreporter.write_line(
            "NOT RUN: {} device test(s) deselected: no --device PORT".format(len(device)),
            yellow=True,
        )
