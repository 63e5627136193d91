"""import_without (tools/imports.py): the named packages fail to import inside the library's
import only, in its thread; another thread importing one of them meanwhile gets it, and it is
importable again afterwards."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from llmspell_kernel.tools.imports import import_without

GATE = "llmspell_test_import_gate"


def test_only_the_importing_thread_is_refused_and_only_during_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "llmspell_test_optional.py").write_text("VALUE = 1\n")
    (tmp_path / "llmspell_test_library.py").write_text(
        "import sys\n"
        f"gate = sys.modules[{GATE!r}]\n"
        "try:\n"
        "    import llmspell_test_optional\n"
        "except ImportError:\n"
        "    OPTIONAL = None\n"
        "else:\n"
        "    OPTIONAL = llmspell_test_optional.VALUE\n"
        "gate.inside.set()\n"
        "assert gate.other_done.wait(30)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class Gate:
        inside = threading.Event()
        other_done = threading.Event()

    other: dict[str, object] = {}

    def other_thread() -> None:
        assert Gate.inside.wait(30)  # the library's import is under way, refusing
        import llmspell_test_optional

        other["value"] = llmspell_test_optional.VALUE
        Gate.other_done.set()

    monkeypatch.setitem(sys.modules, GATE, Gate)  # type: ignore[arg-type]
    for name in ("llmspell_test_optional", "llmspell_test_library"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    thread = threading.Thread(target=other_thread)
    thread.start()
    library = import_without("llmspell_test_library", ["llmspell_test_optional"])
    thread.join(30)
    assert library.OPTIONAL is None and other == {"value": 1}
    assert import_without("llmspell_test_library", []) is library  # loaded: used as it is
    assert not any(type(f).__name__ == "_Refusal" for f in sys.meta_path)
    for name in ("llmspell_test_optional", "llmspell_test_library"):
        sys.modules.pop(name, None)
