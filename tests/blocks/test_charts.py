"""The progress chart (blocks/charts.py): a small valid PNG with alt text that says the
numbers, drawn from the facts it is given and nothing else."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

from PIL import Image

from blocks.charts import MEASURES_MAX, alt_text, number, progress_chart, span

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
START, END, TODAY = dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2025, 3, 3)


def measure(title, current, target, unit="IDNs"):
    return SimpleNamespace(title=title, current=current, target=target, unit=unit)


def facts(*, total=30, done_on=(), measures=(), name="Newton 2025"):
    return SimpleNamespace(plan_name=name, start=START, end=END, total_items=total,
                           done_on=list(done_on), measures=list(measures))


def image_of(chart):
    assert chart.png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(chart.png)) as image:
        image.load()
        return image.format, image.size


def test_a_plan_with_progress_is_a_small_png_that_says_its_numbers():
    done = [START + dt.timedelta(days=n) for n in range(0, 60, 5)]  # 12 items
    chart = progress_chart(facts(done_on=done, measures=[measure("Objective X", 3, 5)]), TODAY)
    assert image_of(chart) == ("PNG", (800, 450)) == ("PNG", (chart.width, chart.height))
    assert len(chart.png) < 200_000
    assert chart.alt_text == ("Progress of Newton 2025: 12 of 30 action items done; plan runs "
                              "Jan 1–Dec 31 2025; today Mar 3 2025; Objective X 3 of 5 IDNs.")
    assert "Action items done: 12 of 30" in chart.texts
    assert "Objective X" in chart.texts and "3 of 5 IDNs (60%)" in chart.texts


def test_nothing_to_draw_is_no_chart():
    assert progress_chart(facts(total=0), TODAY) is None


def test_items_but_none_done_say_so_and_measures_alone_draw_one_panel():
    chart = progress_chart(facts(total=4), TODAY)
    assert "Nothing done yet" in chart.texts and "Action items done: 0 of 4" in chart.texts
    assert chart.alt_text.startswith("Progress of Newton 2025: 0 of 4 action items done;")

    only = progress_chart(facts(total=0, measures=[measure("Revenue", None, Decimal("2.5"), "M$")]), TODAY)
    assert image_of(only)[0] == "PNG"
    assert not [t for t in only.texts if "Action items" in t]
    assert "no action items" in only.alt_text and "Revenue no value yet (target 2.5 M$)" in only.alt_text


def test_titles_are_drawn_as_typed():
    """No math text: "$" in a title is a dollar sign, never a formula or an error."""
    title = "Grow $1M to $2M_in 2025 ^ 50% {fast}"
    chart = progress_chart(facts(name="Plan $x$", measures=[measure(title, 1, 2, "$")]), TODAY)
    assert title in chart.texts and "Plan $x$" in chart.texts and "1 of 2 $ (50%)" in chart.texts


def test_a_glyph_the_font_lacks_is_drawn_quietly():
    """An emoji in a title is a box in the picture, not a warning in the app's log
    (even with every warning shown: python -W always)."""
    code = ("import datetime as dt; from types import SimpleNamespace as N; "
            "from blocks.charts import progress_chart; "
            "progress_chart(N(plan_name='Launch 🚀', start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31), "
            "total_items=1, done_on=[], measures=[]), dt.date(2025, 3, 3))")
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                         check=True)
    assert "Glyph" not in out.stderr


def test_items_done_without_a_date_and_after_the_plan_still_count():
    chart = progress_chart(facts(total=3, done_on=[None, END + dt.timedelta(days=40)]), TODAY)
    assert "Action items done: 2 of 3" in chart.texts


def test_many_objectives_are_capped_and_counted():
    many = [measure(f"Objective {n}", n, 20) for n in range(MEASURES_MAX + 5)]
    chart = progress_chart(facts(measures=many), TODAY)
    _, (width, height) = image_of(chart)
    assert width == 800 and 450 < height <= 1000
    assert "Objective 19" in chart.texts and "Objective 20" not in chart.texts
    assert any("5 more" in t for t in chart.texts)
    assert alt_text(facts(measures=many[:MEASURES_MAX + 1]), TODAY).endswith("and 1 more objectives.")
    assert len(chart.alt_text) <= 1000


def test_words():
    assert [number(v) for v in (Decimal("3.0000"), Decimal("2.5"), 1250, None)] == [
        "3", "2.5", "1,250", "no value yet"]
    assert span(START, END) == "Jan 1–Dec 31 2025"
    assert span(dt.date(2025, 7, 1), dt.date(2026, 6, 30)) == "Jul 1 2025–Jun 30 2026"


def test_neither_the_app_nor_the_renderer_loads_matplotlib_when_imported():
    """matplotlib costs ~0.5 s to import: only drawing a chart may pay it."""
    code = ("import sys, bot.app, bot.publishing.digest_posts, blocks.charts, bot.cli; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_charts_drawn_in_several_threads_at_once_are_the_ones_drawn_alone():
    """Digests are posted from several threads: drawing changes nothing global."""
    from concurrent.futures import ThreadPoolExecutor

    cases = [facts(name=f"Plan ${n}", done_on=[START] * n, measures=[measure(f"${n} deal", n, 9, "$")])
             for n in range(1, 7)]
    alone = [progress_chart(case, TODAY).png for case in cases]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda case: progress_chart(case, TODAY).png, cases))
    assert together == alone
