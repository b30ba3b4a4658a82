import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from _repository import fake_repository  # noqa: E402
from check_changelogs import changelog_errors, main  # noqa: E402

INTRO = """# Changelog: core

All notable changes to core are listed here, following
[Keep a Changelog](https://keepachangelog.com/en/1.1.0/).
"""

GOOD = (
    INTRO
    + """
## [Unreleased]

### Added

- `Labels`, pinned on `meta >=0.1,<0.2`
  (continued)

### Fixed

- a crash

## [0.2.1] - 2026-01-31

### Removed

- something, with `meta >=0.0.1` quoted in a release

## [0.2.0] - 2025-12-01

### Security

- a fix
"""
)


def errors(text, version="0.2.1"):
    return changelog_errors(
        text, "core", version, requirements=["meta >=0.1,<0.2"], siblings=["meta"]
    )


def test_good_changelog():
    assert errors(GOOD) == []
    # without releases, or without any section
    assert errors(INTRO + "\n## [Unreleased]\n\n### Changed\n\n- x\n") == []
    assert errors(INTRO) == []


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("# Changelog: core", "# Changelog of core", "1: expected '# Changelog: core'"),
        ("[Keep a Changelog](https://keepachangelog.com/en/1.1.0/)", "KaC", "1: the "),
        ("### Fixed", "### Bugs", "13: expected one of ['Added', 'Changed'"),
        ("### Fixed", "### Added", "13: `### Added` should come before `### Added`"),
        (
            "### Fixed\n\n- a crash",
            "### Changed\n",
            "13: section `### Changed` is empty",
        ),
        ("### Security\n\n- a fix", "### Security", "25: section `### Security` is"),
        ("## [0.2.1] - 2026-01-31", "## 0.2.1", "17: expected '## [Unreleased]' or"),
        (
            "## [0.2.1] - 2026-01-31",
            "## [0.2.1] - 2026-02-31",
            "17: '2026-02-31' is not a date",
        ),
        (
            "## [0.2.1] - 2026-01-31",
            "## [one] - 2026-01-31",
            "17: 'one' is not a version",
        ),
        ("## [0.2.0] - 2025-12-01", "## [0.2.1] - 2025-12-01", "23: release 0.2.1 sh"),
        ("## [0.2.1] - 2026-01-31", "## [0.2.2] - 2026-01-31", "17: release 0.2.2 is"),
        ("### Security", "#### Security", "25: unexpected heading '#### Security'"),
        ("### Added\n", "", "9: text outside of a `### Added/Changed/Deprecated"),
        ("`meta >=0.1,<0.2`", "`meta >=0.1,<0.3`", "10: `meta >=0.1,<0.3` is not a"),
    ],
)
def test_bad_changelog(old, new, message):
    assert old in GOOD
    found = errors(GOOD.replace(old, new, 1))
    # the first problem (a wrong heading also leaves its text out of any section)
    assert found and found[0].startswith(message), found


def test_unreleased_comes_first():
    text = GOOD.replace("## [Unreleased]\n", "").replace(
        "## [0.2.0] - 2025-12-01", "## [Unreleased]"
    )
    assert errors(text) == ["22: `## [Unreleased]` should be the first section"]


def test_main(tmp_path, capsys):
    fake_repository(tmp_path)
    for folder, name in [("core", "core"), ("metatomic/ase", "ase-calculator")]:
        (tmp_path / folder / "CHANGELOG.md").write_text(
            INTRO.replace("core", name) + "\n## [Unreleased]\n"
        )
    # the meta-distribution's has a wrong heading; a stray one is in docs/
    (tmp_path / "CHANGELOG.md").write_text(INTRO)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CHANGELOG.md").write_text(INTRO)
    assert main(tmp_path) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'docs' / 'CHANGELOG.md'}: not in the folder of a distribution",
        f"{tmp_path / 'CHANGELOG.md'}:1: expected '# Changelog: meta', got "
        "'# Changelog: core'",
    ]
    (tmp_path / "docs" / "CHANGELOG.md").unlink()
    (tmp_path / "CHANGELOG.md").unlink()
    assert main(tmp_path) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'CHANGELOG.md'}: missing, every distribution has a changelog\n"
    )


def test_repository_changelogs():
    """Every CHANGELOG.md of the repository follows the one format"""
    assert main() == 0
