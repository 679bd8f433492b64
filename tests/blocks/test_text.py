"""The one escaping policy: mrkdwn, Markdown, templates, truncation."""

from __future__ import annotations

import re

import pytest
from jinja2 import DictLoader
from markdown_it import MarkdownIt

from blocks.text import (
    ELLIPSIS,
    Trusted,
    escape_markdown,
    escape_mrkdwn,
    make_environment,
    markdown_lines,
    render,
    truncate,
)

HOSTILE = [
    "<!channel>",
    "<!here> <@U0123ABCD> <#C0123|general>",
    "*bold* [x](http://evil)",
    "<http://evil|click me> & more",
    "![img](http://evil/a.png) `code` _it_ ~strike~ | a | b |",
    "# Heading\n- item\n1. first\n> quote\n---\n<script>alert(1)</script>",
    "\\*still escaped\\* and \\[link\\](http://evil)",
]


def markdown_html(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


# ---------------------------------------------------------------------------
# mrkdwn


def test_mrkdwn_escapes_only_the_three_control_characters():
    assert escape_mrkdwn("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape_mrkdwn("*bold* _it_ `code` it's \"q\"") == "*bold* _it_ `code` it's \"q\""
    assert escape_mrkdwn("&amp;") == "&amp;amp;"  # typed text stays what was typed


@pytest.mark.parametrize("text", HOSTILE)
def test_mrkdwn_leaves_no_special_token(text):
    escaped = escape_mrkdwn(text)
    # Slack's links, mentions and !-commands all live inside < >: none survive.
    assert "<" not in escaped and ">" not in escaped
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0


def test_trusted_passes_through_both_escapers():
    mention = Trusted("<@U0123ABCD>")
    assert escape_mrkdwn(mention) == "<@U0123ABCD>"
    assert escape_markdown(Trusted("**bold**")) == "**bold**"


# ---------------------------------------------------------------------------
# Markdown


def test_markdown_escapes_control_characters():
    assert escape_markdown("*bold* [x](http://evil)") == r"\*bold\* \[x\](http://evil)"
    assert escape_markdown("a_b `c` <d> #e |f| ~g~ \\") == r"a\_b \`c\` \<d\> \#e \|f\| \~g\~ \\"


def test_markdown_escapes_block_markers_at_line_start():
    assert escape_markdown("- a\n+ b\n  = c\n12. d\n3) e") == "\\- a\n\\+ b\n  \\= c\n12\\. d\n3\\) e"
    assert escape_markdown("a - b 1. c") == "a - b 1. c"  # only at the start of a line


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_renders_inert(text):
    """Rendered by a CommonMark parser, escaped user text is one paragraph of text:
    no link, image, emphasis, code, heading, list, quote, table or HTML."""
    html = markdown_html(escape_markdown(text))
    for tag in ("<a ", "<img", "<em>", "<strong>", "<code>", "<h1", "<h2", "<ul>", "<ol>",
                "<blockquote>", "<table>", "<s>", "<del>", "<hr", "<script"):
        assert tag not in html, (text, html)
    assert html.startswith("<p>")


def test_markdown_shows_the_text_as_typed():
    text = "*bold* [x](http://evil) <!channel> a_b"
    html = markdown_html(escape_markdown(text))
    assert html == "<p>*bold* [x](http://evil) &lt;!channel&gt; a_b</p>\n"


def test_markdown_lines_keeps_line_breaks_and_paragraphs():
    text = "first *line*\nsecond\n\n\nnew paragraph\n"
    assert markdown_lines(text) == "first \\*line\\*  \nsecond\n\nnew paragraph"
    assert markdown_html(markdown_lines(text)) == (
        "<p>first *line*<br />\nsecond</p>\n<p>new paragraph</p>\n"
    )


# ---------------------------------------------------------------------------
# Templates


@pytest.fixture
def env():
    return make_environment(
        DictLoader(
            {
                "t.md.j2": "# {{ title }}\n{{ trusted }} {{ n }} {{ none }}|{{ body|lines }}",
                "t.mrkdwn.j2": "*{{ title }}* {{ trusted }} {{ n }}|{{ body|lines }}",
                "t.txt.j2": "{{ title }}",
                "t.html.j2": "{{ title }}",
                "concat.mrkdwn.j2": "{{ trusted ~ title }}",
            }
        )
    )


def test_every_output_is_escaped_for_the_template_kind(env):
    data = dict(
        title="<!channel> *x*",
        trusted=Trusted("<@U1>"),
        n=3,
        none=None,
        body="a <b>\n*c*",
    )
    assert env.get_template("t.md.j2").render(**data) == (
        "# \\<!channel\\> \\*x\\*\n<@U1> 3 |a \\<b\\>  \n\\*c\\*"
    )
    assert env.get_template("t.mrkdwn.j2").render(**data) == (
        "*&lt;!channel&gt; *x** <@U1> 3|a &lt;b&gt;\n*c*"
    )
    assert env.get_template("t.txt.j2").render(**data) == "<!channel> *x*"


def test_unknown_template_kind_fails_closed(env):
    with pytest.raises(ValueError, match="mrkdwn.j2"):
        env.get_template("t.html.j2").render(title="x")
    with pytest.raises(ValueError):
        render("nope.html.j2")


def test_concatenating_trusted_text_is_escaped_again(env):
    out = env.get_template("concat.mrkdwn.j2").render(trusted=Trusted("<@U1>"), title="<x>")
    assert out == "&lt;@U1&gt;&lt;x&gt;"


def test_no_html_autoescape():
    # Slack shows &#39; literally: apostrophes and quotes must come out as typed.
    environment = make_environment(DictLoader({"q.mrkdwn.j2": "{{ t }}"}))
    assert environment.get_template("q.mrkdwn.j2").render(t="it's \"x\"") == "it's \"x\""


def test_undefined_variables_are_errors(env):
    with pytest.raises(Exception, match="title"):
        env.get_template("t.txt.j2").render()


# ---------------------------------------------------------------------------
# Truncation


def test_truncate():
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("a longer sentence here", 10) == "a longer" + ELLIPSIS
    assert len(truncate("x" * 5000, 3000)) == 3000
    with pytest.raises(ValueError):
        truncate("x", 0)


def test_truncate_never_cuts_an_entity_or_a_slack_token():
    escaped = escape_mrkdwn("ab & cd")  # "ab &amp; cd"
    for limit in range(4, 9):
        cut = truncate(escaped, limit)
        assert len(cut) <= limit and not re.search(r"&[a-z]*" + ELLIPSIS, cut), cut
    assert truncate("hi <@U0123ABCD> there", 12) == "hi" + ELLIPSIS


def test_truncate_with_escape_counts_the_escaped_length():
    text = "<<<<<<<<<<"  # each becomes 4 characters
    cut = truncate(text, 10, escape=escape_mrkdwn)
    assert cut == "&lt;&lt;" + ELLIPSIS and len(cut) <= 10
    assert truncate("a & b", 20, escape=escape_mrkdwn) == "a &amp; b"
