"""``.. markdown-include:: PATH``: include a Markdown file of the repository (a
README or a CHANGELOG), or one section of it, so that the site and the files
next to the code say the same thing from one source.

Only the Markdown these files use is understood: ``#`` headings, lists and
paragraphs (the same in reStructuredText), inline code, links and fenced code
blocks.

Options:

- ``:section: TITLE``: only the section whose heading starts with ``TITLE``
  (without its heading), up to the next heading of the same level;
- ``:skip-title:``: drop the first ``#`` heading of the file;
- ``:heading-level: N``: the level (1 for the page title) given to the first
  headings of the included text, 2 by default.
"""

import pathlib
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

# underline characters of the heading levels 1, 2, 3 and 4 of this site
UNDERLINES = "=-~^"

INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
HEADING = re.compile(r"^(#+) (.*)$")


BULLET = re.compile(r"^(\s*)[-*] ")


def _inline(text):
    """reStructuredText spelling of the inline code and links of ``text``
    (inline code may span several lines)"""
    text = INLINE_CODE.sub(r"``\1``", text)
    return LINK.sub(r"`\1 <\2>`__", text)


def _paragraphs(lines):
    """``lines`` of Markdown text without headings nor code blocks in
    reStructuredText: a blank line where the level of a list changes, which
    Markdown does not need and reStructuredText does"""
    result = []
    bullet_indent = None
    for line in lines:
        bullet = BULLET.match(line)
        if bullet:
            indent = len(bullet.group(1))
            if bullet_indent is not None and indent != bullet_indent and result[-1]:
                result.append("")
            bullet_indent = indent
        result.append(line)
    return _inline("\n".join(result)).split("\n")


def markdown_to_rst(lines, level_offset):
    """reStructuredText lines for the Markdown ``lines``, ``#`` headings
    becoming headings of level ``1 + level_offset``"""
    result = []
    text = []
    fence = None
    for line in lines:
        if fence is not None:
            if line.strip().startswith("```"):
                fence = None
                result.append("")
            else:
                result.append("   " + line)
            continue
        heading = HEADING.match(line)
        if line.strip().startswith("```") or heading:
            result.extend(_paragraphs(text))
            text = []
        if line.strip().startswith("```"):
            fence = line.strip()[3:].strip() or "text"
            result.extend(["", f".. code-block:: {fence}", ""])
        elif heading:
            level = len(heading.group(1)) - 1 + level_offset
            title = _inline(heading.group(2))
            result.extend([title, UNDERLINES[level] * len(title), ""])
        else:
            text.append(line)
    result.extend(_paragraphs(text))
    return result


def _section(lines, title):
    """The lines of the section of ``lines`` whose heading starts with
    ``title``, without the heading; and the heading's level (1 for ``#``)"""
    for start, line in enumerate(lines):
        heading = HEADING.match(line)
        if heading and heading.group(2).startswith(title):
            level = len(heading.group(1))
            end = start + 1
            while end < len(lines):
                following = HEADING.match(lines[end])
                if following and len(following.group(1)) <= level:
                    break
                end += 1
            return lines[start + 1 : end], level
    raise ValueError(f"no section starting with {title!r}")


class MarkdownInclude(SphinxDirective):
    required_arguments = 1
    option_spec = {
        "section": directives.unchanged_required,
        "skip-title": directives.flag,
        "heading-level": directives.nonnegative_int,
    }

    def run(self):
        path = pathlib.Path(self.env.srcdir).parent / self.arguments[0]
        self.env.note_dependency(str(path))
        lines = path.read_text(encoding="utf8").splitlines()
        # the level in this page of the first headings of the included text
        level = self.options.get("heading-level", 2)
        if "section" in self.options:
            try:
                lines, section_level = _section(lines, self.options["section"])
            except ValueError as error:
                raise self.error(f"{path}: {error}") from error
            offset = level - 1 - section_level
        else:
            offset = level - 1
            if "skip-title" in self.options:
                start = next(i for i, line in enumerate(lines) if HEADING.match(line))
                lines = lines[start + 1 :]
                offset -= 1

        content = StringList(markdown_to_rst(lines, offset), source=str(path))
        node = nodes.Element()
        nested_parse_with_titles(self.state, content, node)
        return node.children


def setup(app):
    app.add_directive("markdown-include", MarkdownInclude)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
