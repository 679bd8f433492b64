"""`accountplan export PLAN --output FILE`: the written plan goes to FILE with its
progress chart beside it (FILE's name + .progress.png), linked from the Markdown; a
plan file goes to FILE as printed; stdout stays as it was."""

from __future__ import annotations

import io
from urllib.parse import unquote

from markdown_it import MarkdownIt
from PIL import Image

from tests.bot.test_cli import SAMPLE, database, one_line_error, run  # noqa: F401 - fixture

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def images(markdown: str) -> list[tuple[str, str]]:
    """(src, alt) of every image in the document, as a Markdown renderer reads it."""
    found = []
    for token in MarkdownIt().parse(markdown):
        for child in token.children or []:
            if child.type == "image":
                found.append((child.attrs["src"], child.content))
    return found


def test_the_written_plan_gets_its_chart_beside_it(database, capsys, tmp_path):
    run(capsys, "demo")
    printed = run(capsys, "export", "Newton").out
    target = tmp_path / "newton plan.md"
    result = run(capsys, "export", "Newton", "--output", str(target))
    assert (result.code, result.out, result.err) == (0, "", "")

    chart = tmp_path / "newton plan.progress.png"
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size[0] == 800

    document = target.read_text(encoding="utf-8")
    [(src, alt)] = images(document)
    assert unquote(src) == chart.name  # relative: the two files move together
    assert alt.startswith(f"Progress of {SAMPLE}: 0 of 2 action items done; plan runs Jan 1–Dec 31 2025")
    # The document is the printed one with the image before its first section.
    link = document[document.index("!["):document.index(".png)") + len(".png)")] + "\n\n"
    assert document.replace(link, "", 1) == printed
    assert document.index("![") < document.index("\n## ") < len(document)


def test_a_plan_file_goes_to_the_file_without_a_chart(database, capsys, tmp_path):
    run(capsys, "demo")
    printed = run(capsys, "export", "Newton", "--format", "yaml").out
    target = tmp_path / "newton.yaml"
    assert run(capsys, "export", "Newton", "--format", "yaml", "-o", str(target)).code == 0
    assert target.read_text(encoding="utf-8") == printed
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("newton")) == ["newton.yaml"]


def test_a_file_that_cannot_be_written_is_one_line(database, capsys, tmp_path):
    run(capsys, "demo")
    result = run(capsys, "export", "Newton", "-o", str(tmp_path / "missing" / "plan.md"))
    assert "cannot write" in one_line_error(result)
