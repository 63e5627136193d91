"""`llmspell state ...` offline and online: show/set/clear, export/import round trips,
broken imports, tenants, and the same answers from a running kernel while it writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

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


def _doc(entries: str) -> str:
    return '{"format": "llmspell-state", "version": 1, "entries": ' + entries + "}"


def _backups() -> list[Path]:
    """Archives in the default backup directory (beside the isolated default store)."""
    from llmspell_kernel.state.settings import DataSettings

    directory = DataSettings().backups_dir
    return sorted(directory.glob("*.tar.gz")) if directory.is_dir() else []


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


def test_values_nested_deeper_than_lua_can_hold_are_refused_by_state_set():
    """`state set` took any depth (an internal RecursionError from 1000 levels), and a value
    beyond 64 levels could be set but never imported back."""
    for depth in (65, 5000):
        result = cli("state", "set", "deep", "[" * depth + "]" * depth)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and "nests" in result.stderr
        assert "internal error" not in result.stderr
    assert cli("state", "set", "deep", "[" * 64 + "]" * 64).exit_code == 0


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
        ("notes.json", '{"this is": "not a state file"}', "not an llmspell state export"),
        ("hello.yaml", "hello: world\n", "not an llmspell state export"),
        ("empty.json", "", "empty.json:1:1: invalid JSON"),
        ("list.json", "[]", "not an llmspell state export"),
        ("version.json", '{"format": "llmspell-state", "entries": []}', "unsupported version"),
        ("noentries.json", '{"format": "llmspell-state", "version": 1}', "'entries' must be"),
        ("bad.yaml", "entries:\n  - key: global:a\n    value: [1, 2\n", "bad.yaml:"),
        (
            "bad.toml",
            'format = "llmspell-state"\n[[entries]]\nkey = "global:a"\nvalue = = 1\n',
            "line 4",
        ),
        (
            "entry.json",
            _doc('[{"key": "global:a", "value": 1}, {"value": 2}]'),
            "entries[1]",
        ),
        (
            "scope.json",
            _doc('[{"key": "nonsense", "value": 1}]'),
            "entries[0] (key 'nonsense')",
        ),
    ],
)
def test_malformed_import_changes_nothing_and_says_where(
    tmp_path: Path, name: str, text: str, where: str
):
    """A file that is not a sound export (not even recognisably one: a stray JSON or YAML file
    used to replace all state with 0 entries) is refused with exit 3 and changes nothing."""
    assert cli("state", "set", "keep", "1").exit_code == 0
    (tmp_path / name).write_text(text)
    result = cli("state", "import", str(tmp_path / name))
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ")
    assert where in result.stderr.splitlines()[0]
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert [e["key"] for e in cli_json("state", "show")["entries"]] == ["global:keep"]
    assert not _backups()


def test_import_merge_keeps_other_keys(tmp_path: Path):
    (tmp_path / "in.json").write_text(_doc('[{"key": "global:b", "value": 2}]'))
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


def test_replacing_import_keeps_a_pre_import_backup(tmp_path: Path):
    (tmp_path / "in.json").write_text(_doc('[{"key": "global:new", "value": 2}]'))
    # Nothing to lose: an empty store gets no backup.
    first = cli("state", "import", str(tmp_path / "in.json"))
    assert first.exit_code == 0 and "saved as" not in first.stdout
    assert not _backups()
    assert cli("state", "set", "keep1", "1").exit_code == 0
    replaced = cli("state", "import", str(tmp_path / "in.json"))
    assert replaced.exit_code == 0, replaced.output
    [backup] = _backups()
    assert backup.name.startswith("pre-import-")
    assert replaced.stdout.splitlines() == [
        f"replaced all state with 1 entries from {tmp_path / 'in.json'}",
        f"the previous state was saved as {backup}",
    ]
    assert [e["key"] for e in cli_json("state", "show")["entries"]] == ["global:new"]
    # A merge loses nothing, so it keeps no backup.
    assert (
        cli_json("state", "import", "--merge", str(tmp_path / "in.json"))["pre_import_backup"]
        is None
    )
    assert cli("backup", "restore", str(backup)).exit_code == 0
    assert [e["key"] for e in cli_json("state", "show")["entries"]] == [
        "global:keep1",
        "global:new",
    ]


BILLION_LAUGHS = (
    "format: llmspell-state\nversion: 1\nentries:\n- key: global:lol\n  value:\n"
    '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"    {n}: &{n} [{','.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("laughs.yaml", BILLION_LAUGHS, "YAML aliases expand the document beyond"),
        ("self.yaml", "format: llmspell-state\nversion: 1\nentries: &e [*e]\n", "refers to itself"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("deep.yaml", "[" * 100_000 + "]" * 100_000, "nests deeper than"),
        ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        (
            "deepvalue.json",
            _doc('[{"key": "global:d", "value": ' + "[" * 70 + "]" * 70 + "}]"),
            "value nests deeper than 64 levels",
        ),
        ("digits.json", _doc('[{"key": "global:d", "value": ' + "9" * 5000 + "}]"), "invalid JSON"),
    ],
)
def test_hostile_import_files_are_refused_at_once(
    tmp_path: Path, name: str, text: str, message: str
):
    """A 'billion laughs' YAML kept import busy for minutes; deep or recursive documents ended
    in `internal error: RecursionError`. Now: one error line, exit 3, nothing changed. Run as
    a real process with a timeout, so a regression fails instead of hanging the suite."""
    from tests.processes import llmspell

    config = write_config(tmp_path / "c.toml")
    assert cli("--config", str(config), "state", "set", "keep", "1").exit_code == 0
    (tmp_path / name).write_text(text)
    result = llmspell("--config", str(config), "state", "import", str(tmp_path / name), timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert [e["key"] for e in cli_json("--config", str(config), "state", "show")["entries"]] == [
        "global:keep"
    ]


def test_yaml_anchors_within_bounds_still_import(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(
        "format: llmspell-state\nversion: 1\nentries:\n"
        "- {key: global:a, value: &shared {x: [1, 2]}}\n- {key: global:b, value: *shared}\n"
    )
    assert cli_json("state", "import", str(tmp_path / "a.yaml"))["imported"] == 2
    assert cli_json("state", "show", "b")["value"] == {"x": [1, 2]}


def _no_terminal(*args: str) -> Any:
    """The real CLI with stdin from /dev/null (no terminal to ask)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_clear_everything_without_a_terminal_needs_yes(tmp_path: Path):
    """`state clear </dev/null` deleted everything without asking."""
    config = write_config(tmp_path / "c.toml")
    base = ("--config", str(config))
    assert cli(*base, "state", "set", "keep1", "1").exit_code == 0
    refused = _no_terminal(*base, "state", "clear")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "use --yes to confirm" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    piped = cli(*base, "state", "clear", input="y\n")  # a pipe is no terminal either
    assert piped.exit_code == 2
    assert cli_json(*base, "state", "show", "keep1")["value"] == 1
    # Naming what to delete needs no confirmation; --yes confirms everything.
    assert _no_terminal(*base, "state", "clear", "keep1").returncode == 0
    assert cli(*base, "state", "set", "keep2", "1").exit_code == 0
    done = _no_terminal(*base, "state", "clear", "--yes")
    assert done.returncode == 0 and done.stdout == "deleted 1 key\n"
