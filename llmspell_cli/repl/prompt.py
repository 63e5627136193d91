"""The prompt_toolkit front end: editing, kernel-driven completion and multi-line input,
highlighting, history, and the keys people expect (Ctrl-C, Ctrl-D, Ctrl-R)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import is_searching
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.patch_stdout import patch_stdout
from pygments.lexers.scripting import LuaLexer

from llmspell_cli.repl.session import META_COMMANDS, ReplSession

_PATH_COMMANDS = (".load ", ".run ", ".save ")
INDENT = "  "
_CLOSER = re.compile(r"\s*(end|else|elseif|until|\})\b|\s*\}")


class KernelCompleter(Completer):
    """Completion from the kernel's complete_request, plus meta-commands and file paths."""

    def __init__(self, session: ReplSession) -> None:
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        stripped = text.lstrip()
        if stripped.startswith(".") and "\n" not in text:
            for command in _PATH_COMMANDS:
                if stripped.startswith(command):
                    sub = Document(stripped[len(command) :])
                    yield from self.paths.get_completions(sub, complete_event)
                    return
            if " " not in stripped:
                for name in META_COMMANDS:
                    if name.startswith(stripped):
                        yield Completion(
                            name, start_position=-len(stripped), display_meta=META_COMMANDS[name]
                        )
            return
        try:
            reply = self.session.complete(document.text, document.cursor_position)
        except Exception:
            return
        start = int(reply.get("cursor_start", document.cursor_position)) - document.cursor_position
        kinds = {
            item["text"]: item.get("type", "")
            for item in reply.get("metadata", {}).get("_jupyter_types_experimental", [])
        }
        for match in reply.get("matches", []):
            yield Completion(match, start_position=start, display_meta=kinds.get(match, ""))


def default_history_path() -> Path:
    """Per-user REPL history file (platformdirs data dir)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("llmspell")) / "repl_history"


def build_prompt_session(
    session: ReplSession,
    *,
    prompt: str,
    history: History | None = None,
    **kwargs: Any,
) -> PromptSession[str]:
    """A PromptSession whose Enter key asks the kernel whether the input is complete."""
    bindings = KeyBindings()

    # Not while Ctrl-R searches: there Enter accepts the match into the input line.
    @bindings.add("enter", filter=~is_searching)
    def _enter(event: Any) -> None:
        buffer = event.current_buffer
        if (
            buffer.complete_state is not None
            and buffer.complete_state.current_completion is not None
        ):
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        text = buffer.text
        if (
            buffer.document.cursor_position < len(text)
            and text[buffer.document.cursor_position :].strip()
        ):
            buffer.insert_text("\n")
            return
        # `end`, `else`, `until …` typed on an indented continuation line close that level
        head, _, last = text.rpartition("\n")
        if head and _CLOSER.match(last) and last.startswith(INDENT):
            text = f"{head}\n{last[len(INDENT) :]}"
            buffer.text = text
            buffer.cursor_position = len(text)
        stripped = text.strip()
        if not stripped or (stripped.startswith(".") and "\n" not in stripped):
            buffer.validate_and_handle()
            return
        try:
            verdict = session.is_complete(text)
        except Exception:
            verdict = {"status": "complete"}
        if verdict.get("status") == "incomplete":
            buffer.insert_text("\n" + str(verdict.get("indent", "  ")))
        else:
            buffer.validate_and_handle()

    @bindings.add("enter", filter=is_searching)
    def _accept_search(event: Any) -> None:
        from prompt_toolkit.search import accept_search

        accept_search()
        buffer = event.app.current_buffer
        buffer.cursor_position = len(buffer.text)  # so the next Enter runs the recalled input

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    continuation = "." * (len(prompt) - 2) + "> " if len(prompt) > 2 else "> "
    return PromptSession(
        message=prompt,
        multiline=True,
        key_bindings=bindings,
        lexer=PygmentsLexer(LuaLexer),
        completer=KernelCompleter(session),
        complete_while_typing=False,
        history=history or InMemoryHistory(),
        prompt_continuation=lambda width, _line, _soft: continuation.rjust(width),
        enable_history_search=False,
        **kwargs,
    )


def run_repl(
    session: ReplSession,
    *,
    prompt: str = "lua> ",
    history_path: Path | None = None,
    banner: str | None = None,
    **prompt_kwargs: Any,
) -> int:
    """The read-eval-print loop; returns the exit code."""
    history: History
    if history_path is not None:
        from llmspell_kernel.api import make_private_file

        make_private_file(history_path, "the REPL history")
        history = FileHistory(str(history_path))
    else:
        history = InMemoryHistory()
    prompt_session = build_prompt_session(session, prompt=prompt, history=history, **prompt_kwargs)

    def confirm(question: str) -> bool:
        answer: str = PromptSession(
            **{k: v for k, v in prompt_kwargs.items() if k in ("input", "output")}
        ).prompt(question)
        return answer.strip().lower() in ("y", "yes")

    session.confirm = confirm
    debug_session: PromptSession[str] = PromptSession(
        history=InMemoryHistory(),
        lexer=PygmentsLexer(LuaLexer),
        **{k: v for k, v in prompt_kwargs.items() if k in ("input", "output")},
    )
    session.debug_prompt = lambda text: debug_session.prompt(text)
    # (the session's own clear_screen writes the terminal's clear sequence: prompt_toolkit's
    # renderer has no event loop between prompts)
    if banner:
        session.out.write(banner + "\n")
        session.out.flush()
    session.capture_baseline()
    try:
        while True:
            try:
                pump = session.client.pump_events(session.lock)  # other clients' output
                with patch_stdout(raw=True), pump:
                    text = prompt_session.prompt()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not session.handle(text):
                break
    finally:
        session.end_debugging()
    return 0
