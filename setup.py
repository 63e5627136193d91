"""The optional C part of the package: the debugger's hook filter (llmspell_kernel/debug/_chook.c).

Everything else is in pyproject.toml. Building it needs a C compiler and Python's headers; when
it cannot be built the install goes on without it and the debugger uses its Lua hook alone.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: the extension only makes the debugger faster."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers: install without it
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    @staticmethod
    def _skip(exc: Exception) -> None:
        print(
            f"warning: the debugger's C hook was not built ({exc}); the Lua hook is used",
            file=sys.stderr,
        )


setup(
    ext_modules=[
        Extension(
            "llmspell_kernel.debug._chook",
            ["llmspell_kernel/debug/_chook.c"],
            libraries=["dl"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
