"""`llmspell state ...` offline and online: show/set/clear, export/import round trips,
broken imports, tenants, and the same answers from a running kernel while it writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from llmspell_kernel.api import kernel_settings_from_config, start_kernel_service
from llmspell_kernel.config import load_config
from tests.data_helpers import cli, cli_json, write_config

TRICKY = {
    "global:nested": {"a": [1, 2.5, {"b": None}], "empty_list": [], "empty": {}},
    "global:yes": "yes",
    "global:float": 1.0,
    "global:date_like": "2024-01-01",
    "global:numberish": "1.0",
    "global:unicode": "héllo — ✓",
    "global:big": 2**70,
    "global:neg": -3,
    "agent:w:list": [True, False, "x", None, 3],
    "workflow:e1:agent:a:output": "multi\nline\ttext",
}


def _seed(config: Path | None = None) -> None:
    base = ["--config", str(config)] if config else []
    for key, value in TRICKY.items():
        scope, _, name = (
            key.rpartition(":") if not key.startswith("global:") else ("global", "", key[7:])
        )
        result = cli(*base, "state", "set", "--scope", scope, "--", name, json.dumps(value))
        assert result.exit_code == 0, result.stderr


def test_set_show_clear_and_machine_output():
    assert cli("state", "set", "greeting", "hello").stdout == "set global:greeting\n"
    assert cli("state", "set", "n", "42").exit_code == 0
    assert cli("state", "set", "s", "42", "--string").exit_code == 0
    assert cli_json("state", "show", "n")["value"] == 42
    assert cli_json("state", "show", "s")["value"] == "42"
    assert cli("state", "show", "greeting").stdout == "hello\n"
    listing = cli_json("state", "show")["entries"]
    assert [e["key"] for e in listing] == ["global:greeting", "global:n", "global:s"]
    import yaml

    assert yaml.safe_load(cli("--output", "yaml", "state", "show", "n").stdout)["value"] == 42
    missing = cli("state", "show", "nope")
    assert missing.exit_code == 1 and missing.stderr == "error: no state at 'global:nope'\n"
    assert cli_json("state", "clear", "n")["deleted"] == 1
    assert cli_json("state", "clear", "--yes")["deleted"] == 2
    assert cli_json("state", "show")["entries"] == []


def test_bad_scope_is_a_usage_error():
    result = cli("state", "set", "k", "1", "--scope", "")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: scope must be a non-empty string")


@pytest.mark.parametrize("fmt", ["json", "yaml", "toml"])
def test_export_clear_import_round_trips_exactly(tmp_path: Path, fmt: str):
    _seed()
    before = cli_json("state", "show")
    first = tmp_path / f"state.{fmt}"
    assert cli("state", "export", str(first)).exit_code == 0
    assert cli_json("state", "clear", "--yes")["deleted"] == len(TRICKY)
    assert cli_json("state", "import", str(first))["imported"] == len(TRICKY)
    after = cli_json("state", "show")
    assert after == before
    assert {e["key"]: e["value"] for e in after["entries"]} == TRICKY
    second = tmp_path / f"again.{fmt}"
    assert cli("state", "export", str(second)).exit_code == 0
    assert first.read_text() == second.read_text()


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "bad.json",
            '{"entries": [\n  {"key": "global:a", "value": 1},\n  {"key": \n',
            "bad.json:4:",
        ),
        ("bad.yaml", "entries:\n  - key: global:a\n    value: [1, 2\n", "bad.yaml:"),
        (
            "bad.toml",
            'format = "llmspell-state"\n[[entries]]\nkey = "global:a"\nvalue = = 1\n',
            "line 4",
        ),
        (
            "entry.json",
            '{"entries": [{"key": "global:a", "value": 1}, {"value": 2}]}',
            "entries[1]",
        ),
        (
            "scope.json",
            '{"entries": [{"key": "nonsense", "value": 1}]}',
            "entries[0] (key 'nonsense')",
        ),
    ],
)
def test_malformed_import_changes_nothing_and_says_where(
    tmp_path: Path, name: str, text: str, where: str
):
    assert cli("state", "set", "keep", "1").exit_code == 0
    (tmp_path / name).write_text(text)
    result = cli("state", "import", str(tmp_path / name))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert where in result.stderr
    assert "Traceback" not in result.output
    assert [e["key"] for e in cli_json("state", "show")["entries"]] == ["global:keep"]


def test_import_merge_keeps_other_keys(tmp_path: Path):
    (tmp_path / "in.json").write_text('{"entries": [{"key": "global:b", "value": 2}]}')
    cli("state", "set", "a", "1")
    assert cli_json("state", "import", "--merge", str(tmp_path / "in.json"))["imported"] == 1
    assert [e["key"] for e in cli_json("state", "show")["entries"]] == ["global:a", "global:b"]


def test_tenants_never_see_each_other_from_the_cli(tmp_path: Path):
    assert cli("state", "set", "secret", '"alice-only"', "--tenant", "alice").exit_code == 0
    assert cli_json("state", "show", "--tenant", "bob")["entries"] == []
    assert cli("state", "show", "secret", "--tenant", "bob").exit_code == 1
    assert cli_json("state", "clear", "--yes", "--tenant", "bob")["deleted"] == 0
    assert cli_json("state", "show", "secret", "--tenant", "alice")["value"] == "alice-only"
    export = tmp_path / "bob.json"
    cli("state", "export", str(export), "--tenant", "bob")
    assert "alice-only" not in export.read_text()


def test_offline_and_online_show_the_same_data_while_the_kernel_writes(tmp_path: Path):
    config = write_config(tmp_path / "prod.toml")
    settings = kernel_settings_from_config(load_config(config).config)
    service = start_kernel_service(
        connection_file=str(tmp_path / "kernel-t.json"), settings=settings
    )
    try:
        from llmspell_kernel.api import connect_to_kernel

        client = connect_to_kernel(str(tmp_path / "kernel-t.json"))
        writer_done = threading.Event()

        def write() -> None:
            code = 'for i = 1, 400 do State.save("global", "w" .. i, i) end'
            client.execute(code).wait()
            writer_done.set()

        thread = threading.Thread(target=write)
        thread.start()
        online_during = cli_json("state", "show", "--kernel", str(tmp_path / "kernel-t.json"))
        assert all(e["key"].startswith("global:w") for e in online_during["entries"])
        thread.join(30)
        assert writer_done.is_set()
        online = cli_json("state", "show", "--kernel", str(tmp_path / "kernel-t.json"))
        offline = cli_json("--config", str(config), "state", "show")
        assert online == offline
        assert len(online["entries"]) == 400
        cli("state", "set", "from_cli", "1", "--kernel", str(tmp_path / "kernel-t.json"))
        assert (
            client.execute('return State.load("global", "from_cli")')
            .wait()[-1]
            .data["application/json"]
            == 1
        )
        client.close()
    finally:
        service.stop()


def test_unreachable_kernel_is_exit_4(tmp_path: Path):
    result = cli("state", "show", "--kernel", "no-such-kernel")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: no running kernel with id 'no-such-kernel'")


def test_a_kernel_serves_only_its_own_tenant(tmp_path: Path):
    """Online, the tenant is the kernel's: naming another one is refused, nothing is read."""
    config = write_config(tmp_path / "bob.toml", 'tenant = "bob"\n')
    settings = kernel_settings_from_config(load_config(config).config)
    path = str(tmp_path / "kernel-bob.json")
    service = start_kernel_service(connection_file=path, settings=settings)
    try:
        assert cli("state", "set", "secret", '"bob-only"', "--kernel", path).exit_code == 0
        assert cli_json("state", "show", "secret", "--kernel", path)["value"] == "bob-only"
        assert cli_json("state", "show", "secret", "--kernel", path, "--tenant", "bob")["found"]
        for argv in (
            ("state", "show", "--kernel", path, "--tenant", "alice"),
            ("state", "clear", "--yes", "--kernel", path, "--tenant", "alice"),
            ("session", "list", "--kernel", path, "--tenant", "alice"),
        ):
            refused = cli(*argv)
            assert refused.exit_code == 2, argv
            assert "this kernel serves tenant 'bob', not 'alice'" in refused.output
        assert cli_json("--config", str(config), "state", "show", "secret")["value"] == "bob-only"
    finally:
        service.stop()
