"""The README is part of the product: its configuration table must name every variable we read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment_variables_read_by_settings() -> set[str]:
    source = (ROOT / "digest" / "settings.py").read_text()
    pattern = r"""(?:environ\.get|envbool|envint|envfloat|envlist)\(\s*["']([A-Z_]+)["']"""
    return set(re.findall(pattern, source))


def test_every_environment_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = {
        name for name in environment_variables_read_by_settings() if f"`{name}`" not in readme
    }
    assert not missing, f"README.md does not document: {sorted(missing)}"


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
