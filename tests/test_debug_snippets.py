"""Snippets that a client names alike (`llmspell exec` sends every one as `=exec`) each get a
chunk of their own while a debugger is attached, so an editor shows the right source and a
breakpoint in one snippet can never fire in another (issue 12 item 10)."""

from __future__ import annotations

from llmspell_kernel.api import start_embedded_kernel


def _error_of(client: object, code: str) -> str:
    execution = client.execute(code, chunk_name="=exec")  # type: ignore[attr-defined]
    execution.wait()
    return str(execution.reply["evalue"])


def test_each_exec_snippet_is_its_own_chunk_while_debugging():
    with start_embedded_kernel() as kernel:
        client = kernel.client()
        assert _error_of(client, 'error("plain")').startswith("exec:1:")  # no debugger: as ever
        editor = kernel.client()
        editor.debug_request("initialize", {"adapterID": "test", "linesStartAt1": True})
        editor.debug_request("attach", {})
        editor.debug_request("configurationDone", {})
        first = _error_of(client, 'error("one")')
        second = _error_of(client, 'error("two")')
        assert first.startswith("exec[") and second.startswith("exec[")
        assert first.split(":")[0] != second.split(":")[0]  # two chunks, two sources
        frames_source = kernel.kernel.cell_source(f"={first.split(':')[0]}")
        assert frames_source == 'error("one")'
