"""What a wheel ships: every file the packages read at run time must be package data.

The tests run from an editable install, which reads files from the source tree, so a file left
out of `package-data` would only fail for users installing with `pip install .`."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_non_python_file_of_the_packages_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(
        ["git", "ls-files", "llmspell_kernel", "llmspell_cli"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    files = (
        tracked.stdout.split()
        if tracked.returncode == 0
        else [
            str(p.relative_to(ROOT))
            for package in ("llmspell_kernel", "llmspell_cli")
            for p in (ROOT / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    )
    missing = []
    for name in files:
        if name.endswith((".py", ".pyc")) or (ROOT / name).is_dir():
            continue  # a tracked link to a directory (apps/shipped) is covered by its files' patterns
        if name.endswith(".c"):
            continue  # an extension's source (setup.py): compiled at install, not read at run time
        package, _, inner = name.partition("/")
        if not any(fnmatch.fnmatch(inner, pattern) for pattern in patterns.get(package, [])):
            missing.append(name)
    assert missing == [], f"add these to [tool.setuptools.package-data]: {missing}"


def test_the_shipped_applications_are_package_data() -> None:
    """llmspell_kernel/apps/shipped links to examples/applications; each app's files must match
    a package-data pattern, or `pip install .` would ship the link without the apps."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["llmspell_kernel"]
    shipped = ROOT / "llmspell_kernel" / "apps" / "shipped"
    assert shipped.is_symlink() and shipped.resolve() == (ROOT / "examples" / "applications")
    files = [p for p in shipped.rglob("*") if p.is_file()]
    assert len({p.parent.name for p in files}) == 9
    missing = [
        str(p.relative_to(shipped))
        for p in files
        if not any(
            fnmatch.fnmatch(f"apps/shipped/{p.relative_to(shipped)}", pat) for pat in patterns
        )
    ]
    assert missing == [], f"add patterns for these to [tool.setuptools.package-data]: {missing}"
