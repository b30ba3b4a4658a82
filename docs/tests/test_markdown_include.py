"""The Markdown of the READMEs and CHANGELOGs becomes valid reStructuredText
(docs/_ext/markdown_include.py)"""

import pathlib
import sys

import docutils.core
import docutils.utils

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "_ext"))

from markdown_include import _section, markdown_to_rst  # noqa: E402

MARKDOWN = """\
## Changed

- `Labels` values are `int32`, see the [changelog
  format](https://keepachangelog.com/);
  - a nested item spanning `two
    lines`;
- back to the first level

```python
print("code")
```
"""


def to_html(rst):
    """HTML body of ``rst``, failing on any docutils warning"""
    return docutils.core.publish_parts(
        rst,
        writer="html",
        settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL},
    )["body"]


def test_markdown_to_rst():
    rst = "\n".join(markdown_to_rst(MARKDOWN.splitlines(), level_offset=0))
    # a title for the heading of level 2, and valid reStructuredText
    assert "Changed\n-------" in rst
    html = to_html("Title\n=====\n\n" + rst)
    assert '<tt class="docutils literal">Labels</tt>' in html
    assert 'href="https://keepachangelog.com/"' in html
    # the nested list is a list inside the first item, and the inline code
    # spanning two lines is one literal
    assert html.count("<ul") == 2
    assert "<li>back to the first level</li>\n</ul>" in html
    assert '<tt class="docutils literal">two\nlines</tt>' in html
    assert '<pre class="code python literal-block">' in html


def test_section():
    lines = ["# Title", "", "## Differences", "", "- one", "## Other", "- two"]
    content, level = _section(lines, "Differences")
    assert level == 2
    assert content == ["", "- one"]
