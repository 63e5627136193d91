"""Backups: consistent snapshots during writes, verified restore, list/delete, retention."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
from pathlib import Path

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
