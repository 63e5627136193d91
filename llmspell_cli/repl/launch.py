"""Start the REPL for a command line: pick the kernel, the prompt and the history file."""

from __future__ import annotations

import sys
from pathlib import Path

from llmspell_cli.context import check_engine, open_kernel
from llmspell_cli.options import GlobalOptions
from llmspell_kernel import __version__
from llmspell_kernel.errors import UsageError


def launch_repl(
    opts: GlobalOptions, *, history: str | None, engine: str, connect: str | None = None
) -> int:
    """Run the REPL until the user leaves; returns the exit code."""
    check_engine(engine)
    if not sys.stdin.isatty():
        raise UsageError("the REPL needs a terminal", hint="pipe code to `llmspell exec -` instead")
    from llmspell_cli.repl.prompt import default_history_path, run_repl
    from llmspell_cli.repl.session import ReplSession

    with open_kernel(opts, connect, input_handler=_terminal_input) as context:
        label = context.mode if context.mode == "embedded" else context.client.describe
        prompt = "lua> " if label == "embedded" else f"lua@{label}> "
        session = ReplSession(context.client, label=label)
        context.client.on_foreign = lambda _channel, msg: session.show_foreign(msg)
        history_path = Path(history).expanduser() if history else default_history_path()
        banner = f"llmspell {__version__} — Lua 5.4 ({label}). .help for commands, Ctrl-D to exit."
        return run_repl(session, prompt=prompt, history_path=history_path, banner=banner)


def _terminal_input(prompt: str, password: bool) -> str:
    if password:
        import getpass

        return getpass.getpass(prompt)
    return input(prompt)
