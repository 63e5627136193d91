"""The CLI reaches the kernel package through three modules only: `llmspell_kernel.api` (thin,
lazily importing functions), `llmspell_kernel.errors` and `llmspell_kernel.config`; everything
else is the kernel's own. Every import counts, also inside functions and TYPE_CHECKING blocks."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import llmspell_cli
import llmspell_kernel.api as api

ALLOWED = {"llmspell_kernel.api", "llmspell_kernel.errors", "llmspell_kernel.config"}
# `from llmspell_kernel import X`: those modules, and the package's own version string
ALLOWED_FROM_PACKAGE = {"api", "errors", "config", "__version__"}
CLI = Path(llmspell_cli.__file__).parent


def kernel_imports(path: Path) -> list[tuple[int, str]]:
    """(line, what) of every import of the kernel package in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "llmspell_kernel":
                found += [(node.lineno, f"llmspell_kernel.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "llmspell_kernel"]


def test_cli_imports_only_api_errors_and_config() -> None:
    allowed = ALLOWED | {f"llmspell_kernel.{name}" for name in ALLOWED_FROM_PACKAGE}
    offending = [
        f"{path.relative_to(CLI.parent)}:{line}: {name}"
        for path in sorted(CLI.rglob("*.py"))
        for line, name in kernel_imports(path)
        if name not in allowed
    ]
    assert not offending, (
        "the CLI imports kernel modules other than api, errors and config; add a thin "
        "function (or a _LAZY name) to llmspell_kernel/api.py instead:\n  " + "\n  ".join(offending)
    )


def test_every_name_the_cli_takes_from_api_exists() -> None:
    """A name imported from api resolves (a _LAZY entry pointing nowhere fails here, not in a
    user's command)."""
    missing = []
    for path in sorted(CLI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "llmspell_kernel.api":
                missing += [a.name for a in node.names if not hasattr(api, a.name)]
    assert not missing
    for name in api.__all__:
        assert getattr(api, name) is not None, name


def test_importing_api_loads_no_kernel_module() -> None:
    """Commands import api at start-up (logging, versions): it must stay light."""
    code = (
        "import sys; before = set(sys.modules); import llmspell_kernel.api; "
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ast.literal_eval(done.stdout) == ["llmspell_kernel", "llmspell_kernel.api"]
