"""The whole jupyter_kernel_test suite against llmspell launched from its kernelspec."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest

import jupyter_kernel_test as jkt
import pytest

from llmspell_kernel.protocol.kernelspec import write_kernelspec

pytestmark = pytest.mark.slow

_ISOLATED = (
    "JUPYTER_PATH",
    "JUPYTER_RUNTIME_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_CONFIG_DIR",
    "HOME",
)


class _Isolated:
    """setUpClass/tearDownClass: the kernelspec in a temporary JUPYTER_PATH (see _isolate)."""

    @classmethod
    def setUpClass(cls) -> None:
        _isolate(cls)
        super().setUpClass()  # type: ignore[misc]

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()  # type: ignore[misc]
        _restore(cls)


class LlmspellKernelTests(_Isolated, jkt.KernelTests):
    kernel_name = "llmspell-conformance"
    language_name = "lua"
    file_extension = ".lua"
    code_hello_world = 'print("hello, world")'
    code_stderr = 'io.stderr:write("oops\\n")'
    completion_samples = [
        {"text": "string.fo", "matches": {"string.format"}},
        {"text": "JSON.st", "matches": {"JSON.stringify"}},
        {"text": "pri", "matches": {"print"}},
    ]
    complete_code_samples = ["x = 1", "print('hi')", "function f() end", "return 6*7"]
    incomplete_code_samples = ["function f()", "if x then", "t = {", "for i = 1, 3 do"]
    invalid_code_samples = ["x = = 1", "end end", "local 1 = 2"]
    code_generate_error = 'error("boom")'
    code_execute_result = [{"code": "return 6*7", "result": "42"}, {"code": "1 + 1", "result": "2"}]
    code_display_data = [
        {"code": 'display("<b>hi</b>", "text/html")', "mime": "text/html"},
        {"code": "display({1, 2})", "mime": "application/json"},
    ]
    code_history_pattern = "1 +*"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "print"
    code_page_something = 'help("string.format")'
    code_clear_output = "clear_output()"


def _isolate(cls: type) -> None:
    """The kernelspec in a temporary JUPYTER_PATH, the Jupyter dirs and HOME beside it."""
    cls._saved_env = {name: os.environ.get(name) for name in _ISOLATED}
    cls._tmp = tempfile.mkdtemp(prefix="llmspell-jkt-")
    write_kernelspec(os.path.join(cls._tmp, "kernels", cls.kernel_name))
    os.environ["JUPYTER_PATH"] = cls._tmp
    for name in _ISOLATED[1:]:
        os.environ[name] = os.path.join(cls._tmp, name.lower())
        os.makedirs(os.environ[name], exist_ok=True)


def _restore(cls: type) -> None:
    for name, value in cls._saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(cls._tmp, ignore_errors=True)


class LlmspellIopubWelcomeTests(_Isolated, jkt.IopubWelcomeTests):
    """JEP 65: the first message a new IOPub subscriber gets is `iopub_welcome`."""

    kernel_name = "llmspell-conformance"
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
