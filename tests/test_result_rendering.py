"""How results are shown: Lua literals with Lua's own keys; the JSON data stays JSON-shaped."""

from __future__ import annotations

import io
import json

import pytest

from llmspell_cli.repl.session import ReplSession
from llmspell_cli.repl.values import lua_literal
from llmspell_kernel.api import start_embedded_kernel
from llmspell_kernel.lua.engine import LuaEngine
from tests.processes import llmspell


@pytest.fixture
def engine() -> LuaEngine:
    return LuaEngine()


def test_number_keys_are_shown_as_numbers_and_sorted_before_strings(engine):
    outcome = engine.execute('return {[0]="z", [-1]="m", x=1, [2.5]=2, [10]=3, [true]=4}')
    assert outcome.text == '{[-1] = "m", [0] = "z", [2.5] = 2, [10] = 3, [true] = 4, x = 1}'
    # The JSON data is what it always was: string keys, no boolean key.
    assert outcome.value == {"-1": "m", "0": "z", "2.5": 2, "10": 3, "x": 1}


def test_a_string_key_that_looks_like_a_number_stays_a_string(engine):
    outcome = engine.execute('return {["1"]="s", [1]="n", ["07"]=7}')
    assert outcome.text == '{[1] = "n", ["07"] = 7, ["1"] = "s"}'
    assert sorted(outcome.value) == ["07", "1"]  # one "1" key, as before


def test_nested_keys_infinities_and_dump(engine):
    outcome = engine.execute("return {list={{[0]=1}}, big=math.huge}")
    assert outcome.text == "{big = math.huge, list = {{[0] = 1}}}"
    assert outcome.value == {"big": None, "list": [{"0": 1}]}
    assert engine.execute("return Debug.dump({[3]='c', [1]='a'})").value == '{[1] = "a", [3] = "c"}'
    assert engine.execute("return -math.huge").text == "-math.huge"


def test_plain_results_are_one_object_for_data_and_text(engine):
    """Tables without number keys are converted once: the JSON data is what is shown."""
    data, shown = engine.to_shown(engine.runtime.eval("{a = {1, 2}, b = 'x'}"))
    assert data is shown


def test_exec_prints_number_keys_and_json_output_is_unchanged():
    code = 'return {[0]="z", [-1]="m"}'
    shown = llmspell("exec", code)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, '{[-1] = "m", [0] = "z"}\n', "")
    document = json.loads(llmspell("exec", code, "--output", "json").stdout)
    assert document["result"] == {"-1": "m", "0": "z"}


def test_repl_shows_number_keys_and_keeps_its_limits():
    with start_embedded_kernel() as kernel:
        out = io.StringIO()
        session = ReplSession(kernel.client(), out=out, err=io.StringIO())
        for code in ('return {[0]="z", [-1]="m"}', 'return {["0"]="s"}', "return {a={[5]=1}}"):
            session.execute(code)
        assert out.getvalue().splitlines() == [
            '{[-1] = "m", [0] = "z"}',
            '{["0"] = "s"}',
            "{a = {[5] = 1}}",
        ]
    assert "150 more" in lua_literal(list(range(200)))
