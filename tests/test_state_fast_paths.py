"""The fast paths of State and Artifact: Lua-side JSON encoding, recursive table building on load,
binary artifact content without per-byte work, and the unchanged-value upsert. Each must give
exactly what the general converter (lua-api.md 1.3) gives."""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.lua.convert import json_to_lua, to_python
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.state.store import encode_value


@pytest.fixture
def engine(tmp_path: Path) -> LuaEngine:
    return LuaEngine(EngineSettings(data=DataSettings(path=str(tmp_path / "state.db"))))


def _lua_value(engine: LuaEngine, lua: str) -> Any:
    """The raw Lua value of an expression (JSON.null included)."""
    return engine.runtime.execute(f"local JSON = ... return {lua}", engine.env.JSON)


def _python_text(engine: LuaEngine, value: Any) -> str:
    """What the general converter makes of a Lua value (JSON.stringify's compact form)."""
    return json.dumps(
        engine.to_python(value, strict=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


EDGE_CASES = [
    "{}",
    "{1, 2, 3}",
    "{x = {}, y = {{}}, z = {{1}, {a = false}}}",
    '{"\\0\\1\\31\\127"}',
    '{["k\\n"] = "\\t\\b\\f\\r\\\\\\"", [""] = "", ["a\\0b"] = 5}',
    '{["é"] = 1, z = 2, Z = 3, a = 4, _ = 5, ["\\u{10FFFF}"] = 6}',
    "{math.mininteger, math.maxinteger, -0.0, 0.0, 1e300, -1e-300, 0/0, 1/0, -1/0}",
    "{1.0, 1.5, 0.1, 1e16, 1e15, 123456789.125, 2^53, 1e-4, 1e-5, 2.2250738585072014e-308}",
    "{[true] = 1, [{}] = 2, b = 3}",
    "{n = JSON.null, list = {JSON.null}}",
    "setmetatable({a = 1}, {__index = function() return 2 end})",
    "setmetatable({1, 2}, {__index = function() return 2 end, __len = function() return 9 end})",
    '{string.rep("long \\"text\\"\\n\\t\\\\ \\1 é ", 40)}',  # escaped by plain finds
    "{{a = 1, b = 2}, {a = 3, b = 4}, {b = 5, a = 6}}",  # cached key fragments
    '"plain"',
    "42",
    "-7.25",
    "true",
]
# Tables the Lua encoder leaves to Python (mixed or sparse keys, float keys, invalid UTF-8).
DECLINED_CASES = [
    "{a = 1, [1] = 2}",
    "{[2] = 1}",
    "{[0] = 1}",
    "{[1.5] = 1}",
    "{[true] = 1, 1}",
    '{"a\\255"}',
    '{["\\xff"] = 1}',
    "setmetatable({1, nil, 3, x = 1}, {__index = function() return 2 end})",  # a hole, 3 keys
    "{1, nil, 3, x = 1}",
    "{5e-324}",  # subnormal: Python may print fewer digits than %.14g
    "{12345678901234567.0}",  # 17 digits between 1e16 and 1e17
]


@pytest.mark.parametrize("lua", EDGE_CASES)
def test_lua_encoder_matches_the_python_converter(engine: LuaEngine, lua: str):
    value = _lua_value(engine, lua)
    assert engine._json_encode(value) == _python_text(engine, value)


@pytest.mark.parametrize("lua", DECLINED_CASES)
def test_lua_encoder_declines_what_only_python_converts(engine: LuaEngine, lua: str):
    value = _lua_value(engine, lua)
    assert engine._json_encode(value) is None
    engine.env.V = value
    # JSON.stringify falls back to Python (which refuses invalid UTF-8, as before).
    outcome = engine.execute("return JSON.stringify(V)")
    if "\\255" in lua or "\\xff" in lua:
        assert "invalid UTF-8" in outcome.evalue
    else:
        assert outcome.value == _python_text(engine, value)


def test_lua_encoder_declines_cycles_functions_and_deep_nesting(engine: LuaEngine):
    cycle = engine.runtime.eval("(function() local t = {} t.self = t return t end)()")
    deep = engine.runtime.eval(
        "(function() local t = {} local c = t for i = 1, 64 do c.x = {} c = c.x end return t end)()"
    )
    shallow = engine.runtime.eval(
        "(function() local t = {} local c = t for i = 1, 63 do c.x = {} c = c.x end return t end)()"
    )
    assert engine._json_encode(cycle) is None
    assert engine._json_encode(deep) is None
    assert engine._json_encode(engine.runtime.eval("{print}")) is None
    assert engine._json_encode(shallow) == _python_text(engine, shallow)
    outcome = engine.execute("local t = {} t.self = t State.save('global', 'c', t)")
    assert "nested too deeply" in outcome.evalue


def test_lua_encoder_spells_floats_like_python():
    engine = LuaEngine()
    rng = random.Random(6)
    floats = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(8000)
    ]
    floats += [rng.uniform(-1e6, 1e6) for _ in range(4000)]
    floats += [rng.random() * 10 ** rng.randint(-30, 30) for _ in range(4000)]
    floats += [float(rng.randint(-(10**17), 10**17)) for _ in range(2000)]
    floats += [round(rng.random(), rng.randint(0, 17)) for _ in range(2000)]
    floats += [
        0.1 + 0.2,
        1 / 3,
        2.0**63,
        2.0**64,
        9999999999999998.0,
        1.5e16,
        2.2250738585072014e-308,
    ]
    encode_all = engine.runtime.eval(
        "function(enc, t) local r = {} for i = 1, #t do r[i] = enc(t[i]) or false end return r end"
    )
    texts = encode_all(engine._json_encode, engine.runtime.table_from(floats))
    declined = 0
    for index, number in enumerate(floats, start=1):
        text = texts[index]
        if text is False:
            declined += 1
            continue
        expected = "null" if math.isnan(number) or math.isinf(number) else json.dumps(number)
        assert text == expected, number
    assert declined < len(floats) * 0.1  # only 1e16..1e17 needing 17 digits, and subnormals


def test_state_stores_exactly_what_the_python_path_stores(engine: LuaEngine):
    db = engine.data.database()
    for index, lua in enumerate(EDGE_CASES + DECLINED_CASES):
        env_value = _lua_value(engine, lua)
        engine.env.V = env_value
        outcome = engine.execute(f"State.save('global', 'k{index}', V)")
        assert outcome.status == "ok", (lua, outcome.evalue)
        rows = db.query("SELECT value FROM state WHERE key = ?", (f"global:k{index}",))
        expected = engine.to_python(env_value, strict=True)
        if expected is None:  # NaN or JSON.null at the top: saving "nothing" deletes the key
            assert rows == []
        else:
            assert rows[0][0] == encode_value(expected), lua
            if "null" not in rows[0][0]:  # a null array element comes back as a hole
                loaded = engine.execute(f"return State.load('global', 'k{index}')")
                assert loaded.value == json.loads(rows[0][0])


def test_saving_nil_nan_or_null_deletes_and_invalid_utf8_is_replaced(engine: LuaEngine):
    code = """
    local out = {}
    for i, v in ipairs({"nil", "nan", "null"}) do
      State.save("global", v, 1)
      State.save("global", v, ({nil, 0/0, JSON.null})[i])
      out[#out + 1] = State.load("global", v) == nil
    end
    State.save("global", "bytes", "a\\255b")
    State.tool_set("t", "bytes", {"c\\254"})
    out[#out + 1] = State.load("global", "bytes")
    out[#out + 1] = State.tool_get("t", "bytes")[1]
    return out
    """
    assert engine.execute(code).value == [True, True, True, "a\ufffdb", "c\ufffd"]


def test_agent_and_tool_set_take_the_fast_path_and_keep_error_names(engine: LuaEngine):
    assert engine.execute(
        "State.agent_set('a', 'k', {1, {x = 2}}) return State.agent_get('a', 'k')"
    ).value == [
        1,
        {"x": 2},
    ]
    failed = engine.execute("State.tool_set('t', '', {1})", chunk_name="=exec")
    assert failed.evalue == "exec:1: State.tool_set: key must be a non-empty string"
    failed = engine.execute("State.save('global', '', {1})", chunk_name="=exec")
    assert failed.evalue == "exec:1: State.save: key must be a non-empty string"


def test_rewriting_an_unchanged_value_leaves_the_row_alone(engine: LuaEngine):
    engine.execute("State.save('global', 'k', {a = 1})")
    db = engine.data.database()
    first = db.query("SELECT updated_at FROM state WHERE key = 'global:k'")[0][0]
    engine.execute("State.save('global', 'k', {a = 1})")
    assert db.query("SELECT updated_at FROM state WHERE key = 'global:k'")[0][0] == first
    engine.execute("State.save('global', 'k', {a = 2})")
    assert db.query("SELECT value, updated_at FROM state WHERE key = 'global:k'")[0] != (
        '{"a":1}',
        first,
    )
    assert engine.execute("return State.load('global', 'k').a").value == 2


def test_json_to_lua_builds_the_same_tables_as_to_lua():
    engine = LuaEngine()
    data = {"a": [1, None, 3], "b": {"c": None, "d": [{}]}, "big": 2**70, "s": "é", "f": 1.5}
    table = json_to_lua(engine.runtime, data)
    assert to_python(table) == {
        "a": {"1": 1, "3": 3},
        "b": {"d": [{}]},
        "big": 2.0**70,
        "s": "é",
        "f": 1.5,
    }
    assert json_to_lua(engine.runtime, [1, 2]) is not None
    assert json_to_lua(engine.runtime, "x") == "x"
    assert engine.execute('return JSON.parse("[1, {\\"a\\": [true]}]")').value == [1, {"a": [True]}]


def test_binary_and_text_artifacts_keep_every_byte(engine: LuaEngine):
    samples = {
        "all-bytes": bytes(range(256)) * 3,
        "latin1-looking-utf8": "é ü ß".encode(),
        "utf8-text": "héllo wörld ✓ \U0001f600".encode(),
        "ascii": b"plain ascii",
        "empty": b"",
        "utf8-then-bad": "ok ✓".encode() + b"\xff",
        "random": random.Random(1).randbytes(300_000),
    }
    engine.env.ITEMS = engine.runtime.table_from({k: v for k, v in samples.items()})
    outcome = engine.execute(
        """
        local s = Session.create()
        local out = {}
        for name, content in pairs(ITEMS) do
          local id = Artifact.store(s, "t", name, content)
          local got = Artifact.get(s, id)
          out[name] = {hash = id.content_hash, same = got.content == content, size = #content}
        end
        return out
        """
    )
    assert outcome.status == "ok", outcome.evalue
    for name, content in samples.items():
        entry = outcome.value[name]
        assert entry["hash"] == hashlib.sha256(content).hexdigest(), name
        assert entry["same"] is True and entry["size"] == len(content), name


def test_store_returns_the_metadata_list_reads_back(engine: LuaEngine):
    sessions = engine.data.sessions()
    session = sessions.create({})
    store = engine.data.artifacts()
    made = [
        store.store(session, "t", "a.txt", b"one", {"tags": ["x"], "k": 1}),
        store.store(session, "t", "a.txt", b"two" * 10000),
        store.store(session, "t", "b.bin", b"one"),
    ]
    assert made == store.list(session)
    assert made[1]["version"] == 2 and made[1]["previous_hash"] == made[0]["content_hash"]


@pytest.mark.parametrize(
    "text", ['"ten bytes"', "42", "-1.5e3", "NaN", "null", '{"a":[1,{"b":"\\u00e9"}]}', " [1] "]
)
def test_decode_value_reads_what_json_loads_reads(text: str):
    from llmspell_kernel.state.store import decode_value

    expected = json.loads(text)
    got = decode_value(text)
    assert got == expected or (got != got and expected != expected)  # NaN


@pytest.mark.parametrize("text", ["", "[1", '"a" x', "{'a': 1}"])
def test_decode_value_refuses_what_json_loads_refuses(text: str):
    from llmspell_kernel.state.store import decode_value

    with pytest.raises(json.JSONDecodeError):
        decode_value(text)
