"""The utility tools whose first call avoids a costly standard-library import (hashlib's
OpenSSL, uuid's platform, base64's struct): their answers match the modules they avoid, for
every algorithm, variant and version, and the avoided module stays unloaded on that path; and
data_validation's jsonschema imported without rfc3987-syntax's grammar (~1.6 s)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.processes import python_json
from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


def test_hash_calculator_matches_hashlib_for_every_algorithm_text_hex_and_file(allowed: Path):
    engine, _ = make_engine(allowed)
    data = "héllo wörld " * 50
    (allowed / "f.txt").write_text(data, "utf-8")
    for algorithm in ("md5", "sha1", "sha256", "sha512"):
        want = hashlib.new(algorithm, data.encode()).hexdigest()
        got = run(engine, f'return Tool.invoke("hash_calculator", {{algorithm = "{algorithm}", input = "{data}"}}).text')  # fmt: skip
        from_file = run(engine, f'return Tool.invoke("hash_calculator", {{algorithm = "{algorithm}", file = "{allowed}/f.txt"}}).text')  # fmt: skip
        hexed = run(engine, f'return Tool.invoke("hash_calculator", {{algorithm = "{algorithm}", input = "00ff10", input_type = "hex", format = "base64"}}).text')  # fmt: skip
        assert got == want and from_file == want, algorithm
        assert hexed == base64.b64encode(hashlib.new(algorithm, b"\x00\xff\x10").digest()).decode()
    verified = run(engine, f'return Tool.invoke("hash_calculator", {{operation = "verify", input = "abc", expected_hash = "{hashlib.sha256(b"abc").hexdigest().upper()}"}}).result.verified')  # fmt: skip
    mismatch = run(engine, 'return Tool.invoke("hash_calculator", {operation = "verify", input = "abc", expected_hash = "00"}).result.verified')  # fmt: skip
    assert verified is True and mismatch is False


def test_base64_encoder_matches_the_base64_module(allowed: Path):
    engine, _ = make_engine(allowed)
    for text in ("", "a", "ab", "abc", "??>~~~", "ünïcode ✓"):
        for variant, encode in (("standard", base64.b64encode), ("url-safe", base64.urlsafe_b64encode)):  # fmt: skip
            want = encode(text.encode()).decode()
            got = run(engine, f'return Tool.invoke("base64_encoder", {{operation = "encode", variant = "{variant}", input = "{text}"}}).text')  # fmt: skip
            back = run(engine, f'return Tool.invoke("base64_encoder", {{operation = "decode", variant = "{variant}", input = "{want}"}}).text')  # fmt: skip
            assert got == want and back == text, (text, variant)
    # Unpadded input is padded; url-safe input skips characters outside its alphabet as
    # base64.urlsafe_b64decode does; standard input refuses them, as b64decode(validate=True).
    assert run(engine, 'return Tool.invoke("base64_encoder", {operation = "decode", input = "YWJj ZA"}).text') == "abcd"  # fmt: skip
    assert run(engine, 'return Tool.invoke("base64_encoder", {operation = "decode", variant = "url-safe", input = "Pz8-"}).text') == "??>"  # fmt: skip
    bad = run(
        engine, 'return Tool.invoke("base64_encoder", {operation = "decode", input = "YW*j"})'
    )
    assert bad["success"] is False and "invalid base64 input" in bad["error"]
    after = run(engine, 'return Tool.invoke("base64_encoder", {operation = "decode", input = "YQ==YQ=="})')  # fmt: skip
    assert after["success"] is False
    binary = run(engine, 'return Tool.invoke("base64_encoder", {operation = "decode", input = "AP8="}).result')  # fmt: skip
    assert binary["binary"] is True and binary["output"] == "00ff"


def test_uuid_generator_v4_and_v7_are_valid_uuids_in_every_format(allowed: Path):
    engine, _ = make_engine(allowed)
    seen = set()
    for version in ("v4", "v7"):
        for _ in range(20):
            text = run(engine, f'return Tool.invoke("uuid_generator", {{version = "{version}"}}).text')  # fmt: skip
            parsed = uuid.UUID(text)
            assert str(parsed) == text and parsed.version == int(version[1])
            assert parsed.variant == uuid.RFC_4122
            seen.add(text)
        forms = run(
            engine,
            f"""local r = {{}}
            for _, f in ipairs({{"simple", "urn", "braced", "standard"}}) do
              r[f] = Tool.invoke("uuid_generator", {{version = "{version}", format = f}}).text
            end return r""",
        )
        assert len(forms["simple"]) == 32 and uuid.UUID(forms["simple"]).version == int(version[1])
        assert forms["urn"].startswith("urn:uuid:") and uuid.UUID(forms["urn"]).version == int(version[1])  # fmt: skip
        assert forms["braced"][0] + forms["braced"][-1] == "{}" and uuid.UUID(forms["braced"][1:-1])  # fmt: skip
    assert len(seen) == 40
    custom = run(engine, 'return Tool.invoke("uuid_generator", {operation = "custom", prefix = "job", timestamp = false}).text')  # fmt: skip
    assert custom.startswith("job_") and uuid.UUID(custom[4:]).version == 4
    assert "must be dns, url, oid, x500 or a UUID" in failure(engine, 'Tool.invoke("uuid_generator", {operation = "deterministic", namespace = "nope", name = "x"})')  # fmt: skip
    v1 = run(engine, 'return Tool.invoke("uuid_generator", {version = "v1"}).text')
    assert uuid.UUID(v1).version == 1


def test_first_calls_leave_the_avoided_modules_unloaded():
    code = (
        "import sys\n"
        "from llmspell_kernel.lua.engine import EngineSettings, LuaEngine\n"
        "e = LuaEngine(EngineSettings())\n"
        "e.execute(\"Tool.invoke('hash_calculator', {input = 'x'})\")\n"
        "e.execute(\"Tool.invoke('uuid_generator', {})\")\n"
        "e.execute(\"Tool.invoke('base64_encoder', {operation = 'encode', input = 'x'})\")\n"
        "print(sorted(m for m in ('hashlib', '_hashlib', 'uuid', 'platform', 'base64')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


# jsonschema's optional format packages, as Jupyter's jupyter-events installs them.
with_format_packages = pytest.mark.skipif(
    not all(
        importlib.util.find_spec(m) for m in ("rfc3987_syntax", "isoduration", "rfc3986_validator")
    ),
    reason="rfc3987-syntax, isoduration or rfc3986-validator not installed",
)


@with_format_packages
def test_data_validation_imports_jsonschema_without_its_format_only_packages():
    # rfc3987-syntax (a lark grammar built on import, ~1.6 s), isoduration (arrow) and the other
    # packages jsonschema imports only for format checkers stay unloaded and importable; the
    # formats of the metaschemas (uri, uri-reference, regex) are still checked in a schema.
    from llmspell_kernel.tools.builtin.data_validation import _FORMAT_ONLY

    code = (
        "import sys\n"
        "from llmspell_kernel.lua.engine import EngineSettings, LuaEngine\n"
        "e = LuaEngine(EngineSettings())\n"
        "r = e.execute(\"return Tool.invoke('data_validation', {input = {a = 'x'}, schema = "
        "{type = 'object', properties = {a = {type = 'integer'}}}}).text\").value\n"
        "print(r)\n"
        "r = e.execute(\"return Tool.invoke('data_validation', {input = 1, schema = "
        "{['$id'] = 'http://a b/'}})\")\n"
        "print(r.evalue.splitlines()[0])\n"
        f"print(sorted(set({_FORMAT_ONLY!r}) & set(sys.modules)))\n"
        "import rfc3987_syntax, isoduration\n"  # not left blocked for other code
        "print(rfc3987_syntax.__name__, isoduration.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.splitlines() == [
        "a: 'x' is not of type 'integer'",
        "Tool 'data_validation' execution failed: parameter 'schema' is not a valid JSON "
        "schema: 'http://a b/' is not a 'uri-reference'",
        "[]",
        "rfc3987_syntax isoduration",
    ]


def test_data_validation_refuses_a_ref_that_resolves_nowhere_in_one_line(allowed: Path):
    engine, _ = make_engine(allowed)
    local = failure(
        engine,
        """return Tool.invoke("data_validation", {input = {a = 1},
        schema = {properties = {a = {["$ref"] = "#/$defs/nope"}}}})""",
    )
    remote = failure(
        engine,
        """return Tool.invoke("data_validation", {input = 1,
        schema = {["$ref"] = "http://127.0.0.1:9/s.json"}})""",
    )
    assert (
        "Tool 'data_validation' execution failed: parameter 'schema' has a $ref that "
        "cannot be resolved: '#/$defs/nope'" in local
    )
    assert (
        "cannot be resolved: 'http://127.0.0.1:9/s.json' (references are followed within "
        "the schema only; remote schemas are not fetched)" in remote
    )
    assert "internal error" not in local + remote
    fine = run(
        engine,
        """return Tool.invoke("data_validation", {input = {a = "x"},
        schema = {["$defs"] = {n = {type = "integer"}}, properties = {a = {["$ref"] = "#/$defs/n"}}}})""",
    )
    assert fine["result"]["errors"] == ["a: 'x' is not of type 'integer'"]


SCHEMAS = [
    {"type": "object"},
    {"$id": "http://a b/"},
    {"$id": "https://example.org/s", "type": "integer"},
    {"$id": "rel/ok#", "properties": {"a": {"$ref": "#/$defs/x y"}}},
    {"$schema": "not a uri"},
    {"$schema": "http://json-schema.org/draft-07/schema#", "$id": "%zz"},
    {"$schema": "http://json-schema.org/draft-06/schema#", "$ref": "a b"},
    {"$schema": "http://json-schema.org/draft-04/schema#", "id": "x y", "type": "string"},
    {"$schema": "http://json-schema.org/draft-03/schema#", "$ref": "a b"},
    {"$schema": "https://json-schema.org/draft/2019-09/schema", "$anchor": "a b"},
    {"$defs": {"a": {"$id": "bad uri"}}},
    {"$vocabulary": {"not a uri": True}},
    {"pattern": "("},
    {"$id": 5},
    {"type": "string", "format": "uri"},
    {"type": "string", "format": "date-time"},
]
DOCUMENTS = [1, "x", "not a uri", {"a": 1}]


@with_format_packages
def test_data_validation_checks_schemas_as_a_plain_jsonschema_import_does():
    # The tool's jsonschema (format-only packages kept out, rfc3986-validator loaded on the first
    # URI to check) against jsonschema imported as usual (only rfc3987-syntax kept out there: its
    # iri checks are no metaschema's and its grammar takes ~1.6 s), over schemas with good and
    # bad URIs where the metaschemas ask for them, a bad regex and formats no one asserts.
    code = (
        "import json, sys\n"
        "plain = sys.argv[1] == 'plain'\n"
        "if plain:\n"
        "    sys.modules['rfc3987_syntax'] = None\n"
        "    import jsonschema\n"
        "from llmspell_kernel.tools.base import ToolError\n"
        "from llmspell_kernel.tools.builtin.data_validation import schema_errors\n"
        "out, loaded = [], []\n"
        "for schema in json.loads(sys.argv[2]):\n"
        "    try:\n"
        "        out.append([schema_errors(d, schema) for d in json.loads(sys.argv[3])])\n"
        "    except ToolError as exc:\n"
        "        out.append(str(exc))\n"
        "    except Exception as exc:\n"  # e.g. a $ref that resolves nowhere: the same either way
        "        out.append([type(exc).__name__, str(exc)])\n"
        "    loaded.append('rfc3986_validator' in sys.modules)\n"
        "print(json.dumps([loaded, out]))\n"
    )
    results = [
        python_json(code, mode, json.dumps(SCHEMAS), json.dumps(DOCUMENTS))
        for mode in ("tool", "plain")
    ]
    (loaded, tool), (_, plain) = results
    assert loaded[:2] == [False, True]  # {"type": "object"} needed no URI checker, an $id did
    assert tool == plain
    refused = [r for r in plain if isinstance(r, str)]
    assert len(refused) >= 8 and any("is not a 'uri'" in r for r in refused), refused
