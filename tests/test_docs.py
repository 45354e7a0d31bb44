"""Documentation is part of the contract: each registry here fails when an entry is
undocumented."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import reverie

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(reverie.__file__).parent


def test_every_setting_variable_is_documented() -> None:
    code = (PACKAGE / "settings.py").read_text() + (PACKAGE / "cli.py").read_text()
    variables = set(re.findall(r'"(REVERIE_[A-Z0-9_]+)"', code))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(v for v in variables if f"`{v}`" not in documented)
    assert not missing, f"undocumented settings: {missing}"


def test_every_reverie_command_is_documented() -> None:
    commands = {
        path.stem
        for path in PACKAGE.glob("*/management/commands/*.py")
        if not path.stem.startswith("_")
    }
    documented = (ROOT / "docs" / "cli.md").read_text()
    missing = sorted(c for c in commands if f"`reverie {c}" not in documented)
    assert not missing, f"undocumented commands: {missing}"


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", section, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands


def test_generated_references_match_the_code() -> None:
    """docs/cli.md's and docs/configuration.md's reference parts are what
    scripts/gendocs.py makes from the commands' parsers and the settings readers."""
    spec = importlib.util.spec_from_file_location("gendocs", ROOT / "scripts" / "gendocs.py")
    assert spec is not None and spec.loader is not None
    gendocs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gendocs)
    for name, reference in (
        ("cli.md", gendocs.cli_reference()),
        ("configuration.md", gendocs.configuration_reference()),
    ):
        text = (ROOT / "docs" / name).read_text()
        assert gendocs.MARK in text, f"docs/{name} has lost its generated part"
        assert text == gendocs.with_reference(text, reference), (
            f"docs/{name} differs from the code: run python scripts/gendocs.py"
        )


def test_every_path_in_the_architecture_feature_table_exists() -> None:
    """docs/architecture.md maps each README feature to its files; a moved file must move
    there too, or a newcomer follows a dead name."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## Each README feature, by its paths", 1)[1]
    missing = []
    for cell in re.findall(r"`([a-z_]+/[^`]*)`", table):
        stem = cell.split(" ")[0]
        names = [stem]
        if match := re.search(r"\{([^}]*)\}", stem):
            names = [stem.replace(match.group(0), part) for part in match.group(1).split(",")]
        missing += [n for n in names if "<" not in n and not (PACKAGE / n).exists()]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
