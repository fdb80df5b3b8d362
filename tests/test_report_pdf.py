"""`knotball report --pdf`: the physiotherapist's report over a range of days, from a history
of logs the firmware wrote. Its pages are rendered to PNG with pdftoppm (not blank) and read
back with pdftotext (titles, axis labels, the numbers; sessions and thresholds on named
areas, and where their names and labels sit on the page); empty ranges and bad dates."""

import html
import re
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


# Sessions on named areas: Monday and Tuesday on both, Thursday four on the calves (past the
# guidance) and three on the upper back (within it); each area's threshold measured twice.
AREAS_PLAN = (
    [
        (1, "hard", DAY, "calves"),
        (2, "hard", DAY + 2 * H, "calves"),
        (3, "five", DAY + 4 * H, "upper_back_left"),
        (4, "symptom", DAY + D, "upper_back_left"),
        (5, "five", DAY + D + 2 * H, "calves"),
    ]
    + [(6 + k, "five", DAY + 3 * D + 2 * k * H, "calves") for k in range(4)]
    + [(10 + k, "hard", DAY + 3 * D + (2 * k + 1) * H, "upper_back_left") for k in range(3)]
)
AREAS_THRESHOLDS = [
    (DAY + D, (30.1, 31.5, 29.0), "calves"),
    (DAY + 4 * D, (36.4, 37.0, 35.5), "calves"),
    (DAY + 2 * D, (22.0, 23.4, 21.5), "upper_back_left"),
    (DAY + 5 * D, (24.8, 25.9, 24.1), "upper_back_left"),
]


def test_each_named_area_has_its_days_its_note_and_its_threshold_trend(logs, tmp_path):
    physio_history.build(logs, tmp_path, plan=AREAS_PLAN, thresholds=AREAS_THRESHOLDS)
    pdf = tmp_path / "areas.pdf"
    res = knotball("report", "--pdf", pdf, *WEEK)
    assert res.returncode == 0, res.stderr
    dose, safety, threshold, table = (" ".join(p.split()) for p in pages(pdf))

    assert "12 sessions, 32.7 minutes on 3 of 7 days" in dose
    assert "calves upper_back_left" in dose  # the legend of the bars and the dots
    # Thursday: 20 minutes on the calves (four of 5 min), 1.5 on the upper back (three of 0.5)
    assert "20.0 min" in dose and "1.5 min" in dose
    assert "unspecified" not in dose
    assert "Over the guidance" in dose and "Every day within" not in dose
    assert "2025-03-13: 4 sessions on calves: the advice is up to 3 a day on an area" in dose
    assert "on upper_back_left" not in dose  # three a day on it: within the guidance

    assert "2025-03-11 08:00 · session 4 · upper_back_left" in safety  # the symptom stop

    assert "calves 30.2 N → 36.3 N (+6.1 N, +20 %)" in threshold
    assert "upper_back_left 22.3 N → 24.9 N (+2.6 N, +12 %)" in threshold
    for level in ("30.2 N", "36.3 N", "22.3 N", "24.9 N"):
        assert threshold.count(level) == 2  # in its trend and beside its dot
    assert "unspecified" not in threshold

    assert table.count(" calves ") == 7 and table.count(" upper_back_left ") == 5


def test_an_areas_longest_name_fits_its_column_of_the_sessions_table(logs, tmp_path):
    # A ball takes names of up to 20 characters (the person's own areas); a cell's text is
    # not clipped: one wider than its cell runs on under the next column's cell.
    own = "left_forearm_flexors"
    plan = [(1, "hard", DAY, own), (2, "symptom", DAY + H, "neck_shoulder_right")]
    physio_history.build(logs, tmp_path, plan=plan, thresholds=[])
    pdf = tmp_path / "long.pdf"
    assert knotball("report", "--pdf", pdf, *WEEK).returncode == 0
    words = page_words(pdf, 4)
    for name, minutes in ((own, "0.5"), ("neck_shoulder_right", "0.2")):
        (area,) = [w for w in words if w[4] == name]
        # the minutes on its row: the next column's text begins 10 % (4.7 pt) into its cell
        (nxt,) = [w for w in words if w[4] == minutes and abs(w[1] - area[1]) < 1]
        assert area[2] <= nxt[0] - 4, (name, area, nxt)


def page_words(pdf, page):
    """(xMin, yMin, xMax, yMax, text) of each word on page `page` (from 1), in points."""
    res = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    return [
        (*map(float, m.groups()[:4]), html.unescape(m.group(5)))
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            res.stdout,
        )
    ]


MANY = ("calves", "glutes_left", "glutes_right", "hamstrings", "lower_back", "soles",
        "upper_back_left", "upper_back_right")  # fmt: skip


def test_many_areas_on_a_day_keep_their_minutes_legend_and_notes_apart(logs, tmp_path):
    # Eight areas on Monday, four sessions on the calves on Tuesday: eight bars in a day's
    # slot are narrower than their minutes, and the legend lists eight areas.
    plan = [(i + 1, "five", DAY + i * H, a) for i, a in enumerate(MANY)]
    plan += [(20 + k, "hard", DAY + D + k * H, "calves") for k in range(4)]
    physio_history.build(logs, tmp_path, plan=plan, thresholds=[])
    pdf = tmp_path / "many.pdf"
    assert knotball("report", "--pdf", pdf, *WEEK).returncode == 0
    words = page_words(pdf, 1)
    (chart,) = [w for w in words if w[4] == "(minutes"]  # the upper chart's title...
    (lower,) = [w for w in words if w[4] == "Minutes"]  # ...and the lower one's
    labels = [w for w in words if re.fullmatch(r"\d+\.\d|min", w[4])]
    labels = [w for w in labels if chart[3] < w[1] < lower[1]]
    assert len(labels) == 2 * 9, labels  # "5.0 min" over each of Monday's bars, "2.0 min"
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert min(overlap_x, overlap_y) < 1, (a, b)  # (boxes hold the line's leading)
    legend = [w for w in words if w[4] in MANY]  # (a note says "calves:")
    assert sorted(w[4] for w in legend) == sorted(MANY)
    (over,) = [w for w in words if w[4] == "Over"]
    assert max(w[3] for w in legend) < over[1]  # "Over the guidance" under the legend
    assert "4 sessions on calves" in " ".join(pages(pdf)[0].split())


def test_every_area_a_ball_can_name_has_its_own_colour():
    from ball import dose
    from knotball.history import pdf

    areas = list(dose.AREAS) + ["mine{}".format(i) for i in range(dose.AREAS_MAX)]
    areas.append("unspecified")
    assert len({pdf._colour(areas, a) for a in areas}) == len(areas)
