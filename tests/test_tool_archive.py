"""archive_handler on real archives built in the test, malicious ones included (`../` members,
absolute paths, symlinks, a zip bomb); every extraction points below tmp_path."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


def _invoke(params: str) -> str:
    return f'return Tool.invoke("archive_handler", {{{params}}})'


def test_create_list_and_extract_zip_and_tar_round_trip(allowed: Path):
    source = allowed / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.txt").write_text("beta" * 100)
    engine, _ = make_engine(allowed)
    for name in ("out.zip", "out.tar.gz", "out.tar"):
        created = run(
            engine, _invoke(f'operation="create", path="{allowed}/{name}", files={{"{source}"}}')
        )
        assert created["success"] and sorted(created["result"]["files"]) == [
            "src/a.txt",
            "src/sub/b.txt",
        ]
        listed = run(engine, _invoke(f'operation="list", path="{allowed}/{name}"'))
        assert sorted(m["name"] for m in listed["result"]["members"]) == [
            "src/a.txt",
            "src/sub/b.txt",
        ]
        target = allowed / ("x-" + name.replace(".", "-"))
        done = run(
            engine, _invoke(f'operation="extract", path="{allowed}/{name}", target_path="{target}"')
        )
        assert done["result"]["bytes"] == 405, done
        assert (target / "src" / "sub" / "b.txt").read_text() == "beta" * 100
        again = run(
            engine, _invoke(f'operation="extract", path="{allowed}/{name}", target_path="{target}"')
        )
        assert again["success"] is False and "overwrite=true" in again["error"]


def test_create_never_follows_a_symlink_out_of_the_allowed_paths(allowed: Path, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("keep")
    (allowed / "d").mkdir()
    (allowed / "d" / "ok.txt").write_text("ok")
    (allowed / "d" / "leak").symlink_to(secret)
    engine, _ = make_engine(allowed)
    made = run(
        engine, _invoke(f'operation="create", path="{allowed}/d.zip", files={{"{allowed}/d"}}')
    )
    assert made["result"]["files"] == ["d/ok.txt"] and made["result"]["skipped_links"] == ["d/leak"]
    assert "keep" not in zipfile.ZipFile(allowed / "d.zip").read("d/ok.txt").decode()
    message = failure(
        engine, _invoke(f'operation="create", path="{allowed}/s.zip", files={{"{allowed}/d/leak"}}')
    )
    assert "tools.file_operations.allowed_paths" in message


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _tar_with(path: Path, build) -> None:
    with tarfile.open(path, "w") as t:
        build(t)


def test_malicious_archives_are_refused_before_anything_is_written(allowed: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    _zip(allowed / "climb.zip", {"ok.txt": b"fine", "../../escaped.txt": b"x"})
    _zip(allowed / "abs.zip", {"ok.txt": b"fine", "/tmp/llmspell-abs-escape.txt": b"x"})

    def symlink(t: tarfile.TarFile) -> None:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)

    def hardlink(t: tarfile.TarFile) -> None:
        link = tarfile.TarInfo("hard")
        link.type, link.linkname = tarfile.LNKTYPE, "/etc/passwd"
        t.addfile(link)

    def climb(t: tarfile.TarFile) -> None:
        data = b"x"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))

    _tar_with(allowed / "sym.tar", symlink)
    _tar_with(allowed / "hard.tar", hardlink)
    _tar_with(allowed / "climb.tar", climb)
    expected = {
        "climb.zip": "climbs out of the target '../../escaped.txt'",
        "abs.zip": "absolute path '/tmp/llmspell-abs-escape.txt'",
        "sym.tar": "symlink member 'link'",
        "hard.tar": "hardlink member 'hard'",
        "climb.tar": "climbs out of the target '../escaped.txt'",
    }
    for name, reason in expected.items():
        target = allowed / ("out-" + name)
        message = failure(
            engine, _invoke(f'operation="extract", path="{allowed}/{name}", target_path="{target}"')
        )
        assert f"Tool 'archive_handler' execution failed: '{allowed}/{name}' holds" in message
        assert reason in message, message
        assert not target.exists()
    assert not (tmp_path / "escaped.txt").exists() and not (allowed / "escaped.txt").exists()
    assert not Path("/tmp/llmspell-abs-escape.txt").exists()


def test_a_zip_bomb_is_refused_by_the_size_limit(allowed: Path):
    _zip(allowed / "bomb.zip", {f"zeros{i}": b"\0" * (4 * 1024 * 1024) for i in range(4)})
    assert (allowed / "bomb.zip").stat().st_size < 100 * 1024
    engine, _ = make_engine(allowed, max_file_size=8 * 1024 * 1024)
    message = failure(
        engine,
        _invoke(f'operation="extract", path="{allowed}/bomb.zip", target_path="{allowed}/b"'),
    )
    assert "would extract more than 8388608 bytes (tools.file_operations.max_file_size)" in message
    assert not (allowed / "b").exists()


def test_extraction_stays_inside_the_allowed_paths_and_the_target(allowed: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _zip(allowed / "a.zip", {"sub/f.txt": b"data"})
    engine, _ = make_engine(allowed)
    message = failure(
        engine, _invoke(f'operation="extract", path="{allowed}/a.zip", target_path="{outside}"')
    )
    assert "is outside tools.file_operations.allowed_paths" in message
    target = allowed / "t"
    target.mkdir()
    (target / "sub").symlink_to(outside)  # a link already in the target leads out
    message = failure(
        engine, _invoke(f'operation="extract", path="{allowed}/a.zip", target_path="{target}"')
    )
    assert "tools.file_operations.allowed_paths" in message
    assert list(outside.iterdir()) == []
    (allowed / "bad.zip").write_bytes(b"not a zip")
    broken = run(engine, _invoke(f'operation="list", path="{allowed}/bad.zip"'))
    assert broken["success"] is False and "is not a valid zip archive" in broken["error"]
    unknown = failure(engine, _invoke(f'operation="list", path="{allowed}/a.rar"'))
    assert "cannot tell the format" in unknown
