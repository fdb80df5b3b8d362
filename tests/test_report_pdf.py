"""`knotball report --pdf`: the physiotherapist's report over a range of days, from a history
of logs the firmware wrote. Its pages are rendered to PNG with pdftoppm (not blank) and read
back with pdftotext (titles, axis labels, the numbers); empty ranges and bad dates."""

import subprocess

import matplotlib.image
import physio_history
import pytest
from physio_history import DAY, D, H

from conftest import knotball

pytestmark = pytest.mark.poppler
WEEK = ("--from", "2025-03-10", "--to", "2025-03-16")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return physio_history.logs(tmp_path_factory)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")


def pages(pdf):
    """The text of each page of `pdf`, as pdftotext reads it."""
    res = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.split("\f")[:-1]  # every page ends with a form feed


def one_line(res):
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_the_pages_have_their_titles_labelled_axes_and_numbers(logs, tmp_path):
    physio_history.build(logs, tmp_path)
    pdf = tmp_path / "report.pdf"
    res = knotball("report", "--pdf", pdf, *WEEK)
    assert res.returncode == 0, res.stderr
    assert "wrote {}: 4 pages, 8 sessions between 2025-03-10 and 2025-03-16".format(pdf) in (
        res.stdout
    )
    dose, safety, threshold, table = pages(pdf)

    assert "Sessions and minutes per day and area" in dose
    assert "8 sessions, 26.2 minutes on 3 of 7 days" in dose
    for label in ("sessions a day", "minutes per session", "day", "Mon\n10 Mar", "Sun\n16 Mar"):
        assert label in dose
    assert "up to 3 a day" in dose and "up to 5–6 min" in dose and "unspecified" in dose
    assert "2025-03-13: 4 sessions: the advice is up to 3" in " ".join(dose.split())
    assert "1 session without a date" in dose  # the one without a clock: said, not lost

    assert "Too hard and numbness or tingling" in safety
    assert "2 too-hard moments" in safety and "1 stop for numbness or tingling" in safety
    for label in ("Too-hard moments per day", "too-hard moments", "stops", "day"):
        assert label in safety
    assert "2025-03-11 08:00 · session 3 · unspecified" in safety

    assert "Pressure threshold per area" in threshold
    for label in ("Threshold over time", "date measured", "strong-but-good level (N)"):
        assert label in threshold
    # the week before is where the range starts from: 30.2 N then, 36.3 N on Friday
    assert "unspecified 30.2 N → 36.3 N (+6.1 N, +20 %)" in " ".join(threshold.split())
    assert "33.1 N" in threshold and "(before)" in threshold

    assert table.startswith("Sessions") and "1–8 of 8" in table
    for column in ("started", "area", "minutes", "stopped", "too hard ×", "peak N"):
        assert column in table
    assert "numbness or tingling" in table and "2025-03-13 14:00" in table

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 4
    for png in pngs:
        pixels = matplotlib.image.imread(png)[..., :3]
        drawn = (pixels < 0.9).any(axis=2).mean()
        assert drawn > 0.01, png.name  # not a blank page
    for png in pngs[:3]:  # each chart page has colour: bars, dots, the threshold line
        pixels = matplotlib.image.imread(png)[..., :3]
        colour = (pixels.max(axis=2) - pixels.min(axis=2) > 0.3).mean()
        assert colour > 0.0005, png.name  # a white page: 0


def test_the_sessions_table_runs_over_as_many_pages_as_it_needs(logs, tmp_path):
    plan = [(i, "hard", DAY + (i - 1) * D + 9 * H) for i in range(1, 31)]  # 30 days, one each
    physio_history.build(logs, tmp_path, plan=plan, thresholds=[])
    pdf = tmp_path / "month.pdf"
    res = knotball("report", "--pdf", pdf, "--from", "2025-03-10", "--to", "2025-04-08")
    assert res.returncode == 0, res.stderr
    dose, safety, threshold, *tables = pages(pdf)
    assert "30 sessions, 15.0 minutes on 30 of 30 days" in dose
    assert len(tables) == 2
    assert "1–22 of 30" in tables[0] and "23–30 of 30" in tables[1]
    assert "2025-04-08 17:00" in tables[1] and "2025-04-08 17:00" not in tables[0]
    assert "30 too-hard moments" in safety  # one in each session
    assert "No pressure threshold measured between 2025-03-10 and 2025-04-08" in threshold
    assert "knotball measure AREA" in threshold  # and how to measure one


def test_a_range_without_sessions_is_one_page_that_says_so(logs, tmp_path):
    physio_history.build(logs, tmp_path)
    pdf = tmp_path / "april.pdf"
    res = knotball("report", "--pdf", pdf, "--from", "2025-04-01", "--to", "2025-04-07")
    assert res.returncode == 0
    assert "no sessions between 2025-04-01 and 2025-04-07" in one_line(res)
    [page] = pages(pdf)
    assert "No sessions between 2025-04-01 and 2025-04-07" in page
    assert "9 sessions, from 2025-03-10 to 2025-03-13" in " ".join(page.split())


def test_an_empty_history_is_one_page_that_says_how_to_fill_it(tmp_path):
    pdf = tmp_path / "none.pdf"
    res = knotball("report", "--pdf", pdf, "--from", "2025-04-01", "--to", "2025-04-01")
    assert res.returncode == 0 and "no sessions on 2025-04-01" in one_line(res)
    [page] = pages(pdf)
    assert "No sessions on 2025-04-01" in page and "knotball pull" in page


@pytest.mark.parametrize(
    "args,words",
    [
        (("--from", "2025-02-30"), "--from 2025-02-30: not a date; give it as YYYY-MM-DD"),
        (("--to", "tomorrow"), "--to tomorrow: not a date; give it as YYYY-MM-DD"),
        (("--from", "2025-03-16", "--to", "2025-03-10"), "--from 2025-03-16 is after --to"),
        (("1",), "--pdf reports a range of days (--from/--to), not one session"),
        (("--png", "x.png"), "--pdf reports a range of days"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_writes_nothing(tmp_path, args, words):
    pdf = tmp_path / "bad.pdf"
    res = knotball("report", "--pdf", pdf, *args)
    assert res.returncode == 2
    assert words in one_line(res)
    assert list(tmp_path.glob("*.pdf")) == [] and not (tmp_path / "x.png").exists()


def test_from_and_to_go_with_pdf(tmp_path):
    res = knotball("report", "--from", "2025-03-10")
    assert res.returncode == 2 and "--from and --to choose the days of --pdf" in one_line(res)
