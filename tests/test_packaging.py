"""What `pip install` sees: the Pythons the project declares it runs on."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_every_python_django_5_2_supports_from_3_11_on_may_install_the_shop():
    declared = SpecifierSet(tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"])
    for version in ("3.11", "3.12", "3.13"):
        assert version in declared, f"requires-python {declared} refuses Python {version}"
    assert "3.10" not in declared
