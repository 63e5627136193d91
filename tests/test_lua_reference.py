"""The Lua API reference: `llmspell help lua [NAME]`, help() in Lua and docs/lua-api.md agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmspell_kernel.lua import docs
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from tests.processes import llmspell

ROOT = Path(__file__).resolve().parent.parent
# The llmspell tables whose every function the reference lists (Lua's own libraries are
# summarised and point at the Lua manual).
LLMSPELL_TABLES = (
    "JSON",
    "Debug",
    "State",
    "Session",
    "Artifact",
    "Agent",
    "Tool",
    "Provider",
    "Hook",
    "Event",
    "Workflow",
    "RAG",
    "Config",
)


@pytest.mark.parametrize("level", ["safe", "privileged", "unrestricted"])
def test_every_global_and_llmspell_function_has_a_reference_entry(level: str):
    engine = LuaEngine(EngineSettings(security_level=level))
    documented = set(docs.documented_names())
    missing = [name for name in engine.fields([]) if name not in documented]
    for table in LLMSPELL_TABLES:
        if engine.describe([table]) is not None:
            missing += [
                f"{table}.{f}" for f in engine.fields([table]) if f"{table}.{f}" not in documented
            ]
    assert missing == [], "add them to llmspell_kernel/lua/docs.py"


def test_help_lua_lists_every_global_and_shows_one_with_its_functions():
    listed = llmspell("help", "lua")
    assert listed.returncode == 0 and listed.stderr == ""
    names = {
        line.split()[0].split("(")[0] for line in listed.stdout.splitlines() if line[:2] == "  "
    }
    assert set(LuaEngine(EngineSettings(security_level="unrestricted")).fields([])) <= names
    assert "State.save" not in listed.stdout  # functions are shown per global
    shown = llmspell("help", "lua", "JSON")
    assert shown.returncode == 0
    assert [line.split()[0] for line in shown.stdout.splitlines()] == [
        "JSON",
        "JSON.parse(text)",
        "JSON.stringify(value",
        "JSON.null",
    ]


def test_help_in_lua_shows_the_same_entry():
    engine = LuaEngine(notebook=lambda kind, payload: pages.append(payload))
    pages: list[dict[str, str]] = []
    engine.execute('help("State.save")')
    assert pages[0]["text/plain"].splitlines() == [
        "State.save(scope, key, value)",
        "",
        docs.describe_builtin("State.save")[1],
    ]
    assert llmspell("help", "lua", "State.save").stdout == (
        "State.save(scope, key, value)  " + docs.describe_builtin("State.save")[1] + "\n"
    )


def test_help_lua_json_output_is_one_document():
    done = llmspell("--output", "json", "help", "lua", "JSON.null")
    assert json.loads(done.stdout) == [
        {"name": "JSON.null", "signature": "", "doc": "Sentinel that encodes as JSON null."}
    ]


def test_unknown_name_is_a_usage_error_with_a_suggestion():
    done = llmspell("help", "lua", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: no Lua reference entry for 'json'\n"
        "hint: did you mean 'JSON'? 'llmspell help lua' lists the globals\n"
    )


def test_docs_page_is_generated_from_the_reference():
    page = (ROOT / "docs" / "lua-api.md").read_text(encoding="utf-8")
    assert page == docs.markdown(), (
        "regenerate: python -m llmspell_kernel.lua.docs > docs/lua-api.md"
    )
