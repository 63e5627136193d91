"""Console entry point. `--version` is answered before typer (or anything heavy) is imported."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the llmspell command line."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"]):
        from llmspell_kernel import __version__

        sys.stdout.write(f"llmspell {__version__}\n")
        return
    from llmspell_cli.main import app

    app(args=args, prog_name="llmspell")


if __name__ == "__main__":
    main()
