"""Backups: consistent snapshots during writes, verified restore, list/delete, retention."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
from pathlib import Path

import pytest

from llmspell_kernel.state.backup import create_backup
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings
from tests.data_helpers import cli, cli_json, write_config

SEED = """
for i = 1, 50 do State.save("global", "k" .. i, {i = i}) end
local s = Session.create({name = "with-artifacts"})
Artifact.store(s, "t", "small", "tiny")
Artifact.store(s, "t", "large", string.rep("0123456789abcdef", 20000))
Artifact.store(s, "t", "random", string.rep(string.char(1, 200, 7, 99), 30000))
"""


def _store(config: Path) -> dict:
    """Everything a user can see of a store: state export, sessions with artifacts."""
    state = cli_json("--config", str(config), "state", "show")
    sessions = cli_json("--config", str(config), "session", "list")["sessions"]
    shown = [cli_json("--config", str(config), "session", "show", s["id"]) for s in sessions]
    return {"state": state, "sessions": shown}


def test_backup_then_restore_into_an_empty_data_dir_reproduces_the_store(tmp_path: Path):
    source = write_config(tmp_path / "a.toml", "blob_inline_max_bytes = 1000\n")
    assert cli("--config", str(source), "exec", SEED).exit_code == 0
    archive = tmp_path / "b.tar.gz"
    made = cli_json("--config", str(source), "backup", "create", "-o", str(archive))
    assert made["manifest"]["counts"]["state_keys"] == 50
    assert made["manifest"]["counts"]["artifacts"] == 3
    assert any(name.startswith("blobs/") for name in made["manifest"]["members"])
    (tmp_path / "other").mkdir()
    target = write_config(tmp_path / "other" / "b.toml", "blob_inline_max_bytes = 1000\n")
    result = cli_json("--config", str(target), "backup", "restore", str(archive))
    assert result["pre_restore_backup"] is None
    assert _store(target) == _store(source)
    check = "return Artifact.get(Session.list()[1].id, {sequence = 2}).content == string.rep('0123456789abcdef', 20000)"
    assert cli("--config", str(target), "exec", check).stdout == "true\n"


def test_backup_during_writes_is_consistent(tmp_path: Path):
    settings = DataSettings(path=str(tmp_path / "data" / "state.db"))
    hub = DataHub(settings)
    store = hub.state()
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            with hub.database().transaction():  # the pair must appear together or not at all
                store.save("global", f"a{i}", i)
                store.save("global", f"b{i}", i)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archives = [create_backup(hub, tmp_path / f"b{n}.tar.gz") for n in range(3)]
    finally:
        stop.set()
        thread.join()
    for made in archives:
        restored = DataHub(DataSettings(path=str(tmp_path / f"r-{made['id']}" / "state.db")))
        from llmspell_kernel.state.backup import restore_backup

        restore_backup(restored, made["path"])
        keys = restored.state().keys()
        a = {k[8:] for k in keys if k.startswith("global:a")}
        b = {k[8:] for k in keys if k.startswith("global:b")}
        assert a == b and len(keys) == made["manifest"]["counts"]["state_keys"]
        restored.close()
    hub.close()


def _tamper(archive: Path, out: Path, member: str, data: bytes) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for info in src:
            content = src.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == member:
                content = data
                info.size = len(data)
            dst.addfile(info, io.BytesIO(content))


def test_corrupted_archive_is_refused_before_anything_is_touched(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    assert cli("--config", str(config), "exec", SEED).exit_code == 0
    archive = Path(cli_json("--config", str(config), "backup", "create")["path"])
    cli("--config", str(config), "state", "set", "after_backup", "1")
    before = _store(config)
    backups_before = sorted(p.name for p in archive.parent.iterdir())
    db = tmp_path / "data" / "state.db"
    cases = {
        "truncated.tar.gz": archive.read_bytes()[: archive.stat().st_size // 2],
        "garbage.tar.gz": b"not an archive at all",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    _tamper(archive, tmp_path / "checksum.tar.gz", "state.db", db.read_bytes())
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    manifest["members"]["state.db"]["sha256"] = "0" * 64
    _tamper(archive, tmp_path / "manifest.tar.gz", "manifest.json", json.dumps(manifest).encode())
    for name in ("truncated.tar.gz", "garbage.tar.gz", "checksum.tar.gz", "manifest.tar.gz"):
        mtime = db.stat().st_mtime_ns
        result = cli("--config", str(config), "backup", "restore", str(tmp_path / name))
        assert result.exit_code == 1, name
        assert "is damaged" in result.stderr and "nothing was changed" in result.stderr, (
            result.stderr
        )
        assert len(result.stderr.strip().splitlines()) == 1
        assert db.stat().st_mtime_ns == mtime
        assert sorted(p.name for p in archive.parent.iterdir()) == backups_before
    assert _store(config) == before
    gzip.decompress((tmp_path / "checksum.tar.gz").read_bytes())  # really a valid gzip


@pytest.mark.usefixtures("store_backend")
def test_restore_keeps_the_old_store_as_a_pre_restore_backup(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    cli("--config", str(config), "state", "set", "v", "1")
    archive = cli_json("--config", str(config), "backup", "create")["path"]
    cli("--config", str(config), "state", "set", "v", "2")
    result = cli_json("--config", str(config), "backup", "restore", archive)
    assert cli_json("--config", str(config), "state", "show", "v")["value"] == 1
    pre = result["pre_restore_backup"]
    assert Path(pre).name.startswith("pre-restore-")
    cli_json("--config", str(config), "backup", "restore", pre)
    assert cli_json("--config", str(config), "state", "show", "v")["value"] == 2


def test_list_delete_and_retention(tmp_path: Path):
    config = write_config(tmp_path / "c.toml", "[backup]\nmax_backups = 2\n")
    ids = [cli_json("--config", str(config), "backup", "create")["id"] for _ in range(3)]
    listed = cli_json("--config", str(config), "backup", "list")["backups"]
    assert [b["id"] for b in listed] == [ids[2], ids[1]]
    text = cli("--config", str(config), "backup", "list")
    assert ids[2] in text.stdout
    assert cli("--config", str(config), "backup", "delete", ids[1]).exit_code == 0
    assert [b["id"] for b in cli_json("--config", str(config), "backup", "list")["backups"]] == [
        ids[2]
    ]
    missing = cli("--config", str(config), "backup", "delete", "nope")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no backup 'nope'")
    gone = cli("--config", str(config), "backup", "restore", str(tmp_path / "missing.tar.gz"))
    assert gone.exit_code == 2 and "backup not found" in gone.stderr


def test_online_backup_and_restore_through_a_running_kernel(tmp_path: Path):
    from llmspell_kernel.api import (
        connect_to_kernel,
        kernel_settings_from_config,
        start_kernel_service,
    )
    from llmspell_kernel.config import load_config

    config = write_config(tmp_path / "c.toml")
    settings = kernel_settings_from_config(load_config(config).config)
    connection = tmp_path / "kernel-b.json"
    service = start_kernel_service(connection_file=str(connection), settings=settings)
    try:
        client = connect_to_kernel(str(connection))
        client.execute('State.save("global", "v", 1)').wait()
        made = cli_json("backup", "create", "--kernel", str(connection))
        client.execute('State.save("global", "v", 2)').wait()
        cli_json("backup", "restore", made["path"], "--kernel", str(connection))
        # The kernel's own connection sees the restored data at once.
        assert client.execute('return State.load("global", "v")').wait()[-1].text == "1"
        client.close()
    finally:
        service.stop()


def _rehash(archive: Path, out: Path, change_db) -> None:  # noqa: ANN001 - a callable
    """Rewrite an archive with its database changed by `change_db(sqlite3.Connection)` and a
    manifest whose checksums match again (what a careful attacker does)."""
    import hashlib
    import sqlite3

    work = out.parent / f"{out.name}.work"
    work.mkdir()
    with tarfile.open(archive) as src:
        members = {info.name: src.extractfile(info).read() for info in src}  # type: ignore[union-attr]
    db = work / "state.db"
    db.write_bytes(members["state.db"])
    conn = sqlite3.connect(db)
    change_db(conn)
    conn.commit()
    conn.close()
    members["state.db"] = db.read_bytes()
    manifest = json.loads(members.pop("manifest.json"))
    for name, data in members.items():
        manifest["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w:gz") as dst:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def _two_tenants(config: Path) -> None:
    for tenant in ("alice", "bob"):
        result = cli("--config", str(config), "state", "set", "who", tenant, "--tenant", tenant)
        assert result.exit_code == 0


def _shown(config: Path, tenant: str) -> dict:
    entries = cli_json("--config", str(config), "state", "show", "--tenant", tenant)["entries"]
    return {e["key"]: e["value"] for e in entries}


def test_restore_rebuilds_rows_and_never_runs_the_archives_sql(tmp_path: Path):
    """A re-hashed archive carrying a trigger restored it, and the trigger copied bob's writes
    into alice's state. Only rows of the expected tables are restored now."""
    import sqlite3

    config = write_config(tmp_path / "c.toml")
    _two_tenants(config)
    archive = Path(cli_json("--config", str(config), "backup", "create")["path"])

    def plant(conn: sqlite3.Connection) -> None:
        conn.executescript(
            """
            CREATE TRIGGER spy AFTER INSERT ON state WHEN new.tenant = 'bob' BEGIN
              INSERT OR REPLACE INTO state VALUES ('alice', new.key, new.value, new.updated_at);
            END;
            CREATE VIEW leak AS SELECT * FROM state;
            CREATE INDEX extra ON sessions (name);
            """
        )

    _rehash(archive, tmp_path / "trojan.tar.gz", plant)
    restored = cli("--config", str(config), "backup", "restore", str(tmp_path / "trojan.tar.gz"))
    assert restored.exit_code == 0, restored.output
    assert (
        cli("--config", str(config), "state", "set", "secret", "s", "--tenant", "bob").exit_code
        == 0
    )
    assert _shown(config, "alice") == {"global:who": "alice"}
    assert _shown(config, "bob") == {"global:who": "bob", "global:secret": "s"}
    conn = sqlite3.connect(tmp_path / "data" / "state.db")
    objects = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE sql IS NOT NULL")
    }
    conn.close()
    assert not objects & {"spy", "leak", "extra"}


def test_archives_with_a_foreign_schema_or_poisoned_blobs_are_refused(tmp_path: Path):
    import sqlite3

    config = write_config(tmp_path / "c.toml")
    assert cli("--config", str(config), "exec", SEED).exit_code == 0
    archive = Path(cli_json("--config", str(config), "backup", "create")["path"])
    before = _store(config)

    def generated(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE state ADD COLUMN x TEXT")

    def as_view(conn: sqlite3.Connection) -> None:
        conn.executescript(
            "CREATE TABLE s2 AS SELECT * FROM state; DROP TABLE state;"
            "CREATE VIEW state AS SELECT * FROM s2;"
        )

    def poison(conn: sqlite3.Connection) -> None:
        # content under the hash of other content: deduplication would hand it to others
        conn.execute("UPDATE blobs SET data = CAST(x'00' || data AS BLOB) WHERE data IS NOT NULL")

    cases = {
        "column.tar.gz": (generated, "does not have the expected columns"),
        "view.tar.gz": (as_view, "has no table 'state'"),
        "poison.tar.gz": (poison, "does not match its hash"),
    }
    for name, (change, message) in cases.items():
        _rehash(archive, tmp_path / name, change)
        result = cli("--config", str(config), "backup", "restore", str(tmp_path / name))
        assert result.exit_code == 1, (name, result.output)
        assert message in result.stderr and "nothing was changed" in result.stderr, result.stderr
    assert _store(config) == before


def test_an_archive_declaring_a_huge_member_is_refused_before_extracting(tmp_path: Path):
    """A 3.4 MB archive expanded to 3.2 GB before it was refused: the declared size of each
    member is now checked against a bound before a byte of it is written."""
    import gzip
    import time

    config = write_config(tmp_path / "c.toml")
    cli("--config", str(config), "state", "set", "keep", "1")
    header = tarfile.TarInfo("state.db")
    header.size = 3_200_000_000
    bomb = tmp_path / "bomb.tar.gz"
    # The header and the first 16 MB of zeros: the rest of the declared content never comes.
    bomb.write_bytes(gzip.compress(header.tobuf(format=tarfile.GNU_FORMAT) + bytes(16 << 20)))
    assert bomb.stat().st_size < 100_000
    started = time.monotonic()
    result = cli("--config", str(config), "backup", "restore", str(bomb))
    assert time.monotonic() - started < 20
    assert result.exit_code == 1
    assert "declares 3200000000 bytes" in result.stderr and "nothing was changed" in result.stderr
    leftovers = [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".restore")]
    assert leftovers == []
    assert cli_json("--config", str(config), "state", "show", "keep")["value"] == 1


def test_backup_ids_and_unique_prefixes_work_in_every_backup_command(tmp_path: Path):
    """`backup restore` refused an id prefix that `backup delete` accepted."""
    config = write_config(tmp_path / "c.toml")
    base = ("--config", str(config))
    cli(*base, "state", "set", "v", "1")
    first = cli_json(*base, "backup", "create")["id"]
    cli(*base, "state", "set", "v", "2")
    second = cli_json(*base, "backup", "create")["id"]
    assert first != second and first[:7] == second[:7] == "backup-"
    ambiguous = [cli(*base, "backup", cmd, "backup-") for cmd in ("restore", "delete")]
    for result in ambiguous:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: backup id 'backup-' is ambiguous (2 backups match")
    unique = next(n for n in range(8, len(first)) if first[:n] != second[:n])
    assert cli(*base, "backup", "restore", first[:unique]).exit_code == 0
    assert cli_json(*base, "state", "show", "v")["value"] == 1
    pre = [
        b["id"] for b in cli_json(*base, "backup", "list")["backups"] if b["id"].startswith("pre-")
    ]
    assert cli(*base, "backup", "restore", pre[0][:12]).exit_code == 0  # "pre-restore-" + ...
    assert cli_json(*base, "state", "show", "v")["value"] == 2
    assert cli(*base, "backup", "delete", second[:unique]).exit_code == 0
    assert second not in [b["id"] for b in cli_json(*base, "backup", "list")["backups"]]
    missing = cli(*base, "backup", "restore", "nope")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no backup 'nope'")


def test_a_kernel_backs_up_and_restores_only_its_own_tenant(tmp_path: Path):
    """`backup create --kernel` / `restore --kernel` on a kernel of tenant bob exported and
    rolled back tenant alice's data too."""
    import sqlite3

    from llmspell_kernel.api import kernel_settings_from_config, start_kernel_service
    from llmspell_kernel.config import load_config

    config = write_config(tmp_path / "c.toml", 'tenant = "bob"\n')
    _two_tenants(config)
    whole = cli_json("--config", str(config), "backup", "create")  # offline: every tenant
    assert whole["tenant"] is None and whole["manifest"]["counts"]["tenants"] == 2
    settings = kernel_settings_from_config(load_config(config).config)
    connection = str(tmp_path / "kernel-bob.json")
    service = start_kernel_service(connection_file=connection, settings=settings)
    try:
        made = cli_json("backup", "create", "--kernel", connection)
        assert made["tenant"] == "bob" and made["manifest"]["tenant"] == "bob"
        assert made["manifest"]["counts"]["tenants"] == 1
        with tarfile.open(made["path"]) as tar:
            data = tar.extractfile("state.db").read()  # type: ignore[union-attr]
        assert b"alice" not in data  # not even in free pages
        (tmp_path / "copy.db").write_bytes(data)
        conn = sqlite3.connect(tmp_path / "copy.db")
        assert conn.execute("SELECT DISTINCT tenant FROM state").fetchall() == [("bob",)]
        conn.close()
        for tenant in ("alice", "bob"):
            cli("--config", str(config), "state", "set", "who", f"{tenant}-2", "--tenant", tenant)
        restored = cli_json("backup", "restore", made["id"], "--kernel", connection)
        assert restored["tenant"] == "bob"
        assert _shown(config, "bob") == {"global:who": "bob"}
        assert _shown(config, "alice") == {"global:who": "alice-2"}
        # A whole-store archive through bob's kernel: only bob's part is taken.
        cli("--config", str(config), "state", "set", "who", "bob-3", "--tenant", "bob")
        cli_json("backup", "restore", whole["path"], "--kernel", connection)
        assert _shown(config, "bob") == {"global:who": "bob"}
        assert _shown(config, "alice") == {"global:who": "alice-2"}
        listed = {
            b["id"]: b["tenant"]
            for b in cli_json("backup", "list", "--kernel", connection)["backups"]
        }
        assert listed[made["id"]] == "bob" and listed[whole["id"]] is None
        refused = cli("backup", "delete", whole["id"], "--kernel", connection)
        assert refused.exit_code == 2 and "holds every tenant's data" in refused.stderr
        assert Path(whole["path"]).is_file()
    finally:
        service.stop()
    # Restored offline, a tenant's archive still replaces only that tenant's data.
    cli("--config", str(config), "state", "set", "who", "bob-4", "--tenant", "bob")
    offline = cli_json("--config", str(config), "backup", "restore", made["path"])
    assert offline["tenant"] == "bob"
    assert _shown(config, "bob") == {"global:who": "bob"}
    assert _shown(config, "alice") == {"global:who": "alice-2"}
