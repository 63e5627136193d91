"""The parts of the kernel package front ends build on (moved out of the CLI, issue 11), tested
directly: execution summaries, REPL transcripts, the attached kernel, the event pump."""

from __future__ import annotations

import threading

from llmspell_kernel.api import (
    ExecutionOutputs,
    attach_kernel,
    kernel_settings_from_config,
    start_embedded_kernel,
    transcript_script,
)
from llmspell_kernel.client import CAPTURE_LIMIT
from llmspell_kernel.config import load_config


def test_summary_of_an_error_reply_without_an_error_output():
    outputs = ExecutionOutputs(rewrite=lambda text: text.replace("/abs/s.lua", "s.lua"))
    code, document = outputs.summary(
        {"status": "error", "ename": "LuaError", "evalue": "/abs/s.lua:1: boom"}, {}, 1.23456
    )
    assert code == 1
    assert document["status"] == "error"
    assert document["error"] == "s.lua:1: boom"
    assert document["duration_ms"] == 1.235


def test_capture_stops_at_the_limit_and_says_so():
    outputs = ExecutionOutputs()
    outputs.capture("stdout", "x" * (CAPTURE_LIMIT - 1))
    outputs.capture("stdout", "yy")
    outputs.capture("stdout", "never kept")
    text = "".join(outputs.stdout)
    assert text.startswith("x" * (CAPTURE_LIMIT - 1) + "y\n[output truncated")
    assert "never kept" not in text
    outputs.capture("stderr", "own limit")
    assert outputs.stderr == ["own limit"]


def test_a_transcript_runs_and_shows_what_the_repl_showed():
    inputs = [
        ("local hidden = 1 x = 40", "statement"),
        ("x + 2", "value"),
        ("return x, 'two'", "returned"),
        ("x + 1;", "expression"),
    ]
    script = transcript_script(inputs, "saved.lua")
    assert script.startswith("-- saved from llmspell repl; run with: llmspell run saved.lua\n")
    with start_embedded_kernel() as kernel:
        client = kernel.client()
        outputs = client.execute(script, chunk_name="=saved").wait()
        printed = "".join(getattr(o, "text", "") for o in outputs)
        assert printed == '42\n40\t"two"\n'
        client.close()


def test_attach_kernel_embedded_then_connected_to_nothing(tmp_path):
    config = load_config(None).config
    with attach_kernel(None, lambda: config, script_timeout=5.0) as attached:
        assert attached.mode == "embedded"
        assert attached.client.execute("return 6 * 7").wait()[-1].text == "42"
    assert kernel_settings_from_config(config).script_timeout >= 0


def test_the_event_pump_hands_other_clients_output_to_on_foreign():
    with start_embedded_kernel() as kernel:
        watcher, runner = kernel.client(), kernel.client()
        seen = threading.Event()

        def foreign(_channel: str, msg: dict) -> None:
            if msg["header"]["msg_type"] == "stream" and "from runner" in msg["content"]["text"]:
                seen.set()

        watcher.on_foreign = foreign
        with watcher.pump_events(threading.Lock()):
            runner.execute('print("from runner")').wait()
            assert seen.wait(10)
        watcher.close()
        runner.close()
