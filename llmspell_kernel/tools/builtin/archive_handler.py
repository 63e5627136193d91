"""archive_handler: list, extract and create zip and tar archives (zipfile, tarfile).

Every path (the archive, the destination, each input) passes the FILE gate. Extraction checks the
whole archive before writing anything: a member with an absolute path, a `..` component, a link
(symbolic or hard), a device or a FIFO refuses the archive; so does more than
tools.file_operations.max_file_size in all or more than MAX_MEMBERS members. The bytes are counted
while they are written too (a member's header can lie), and every file lands, opened without
following links, at a resolved path inside the destination."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from llmspell_kernel.records import Record  # (not dataclasses: see records.py)
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # zipfile and tarfile load with the format that needs them
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from typing import IO, Any

MAX_MEMBERS = 10_000
_CHUNK = 64 * 1024
FORMATS = ("zip", "tar", "tar.gz", "tar.bz2", "tar.xz")
_SUFFIXES = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.bz2", "tar.bz2"),
    (".tbz2", "tar.bz2"),
    (".tar.xz", "tar.xz"),
    (".txz", "tar.xz"),
    (".tar", "tar"),
    (".zip", "zip"),
)
# tarfile's modes (typed Any: its stubs accept only literal mode strings)
_TAR_READ: dict[str, Any] = {"tar": "r:", "tar.gz": "r:gz", "tar.bz2": "r:bz2", "tar.xz": "r:xz"}
_TAR_WRITE: dict[str, Any] = {"tar": "w:", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}


class Member(Record):
    __slots__ = ("name", "kind", "size", "compressed")

    def __init__(self, name: str, kind: str, size: int, compressed: int | None = None) -> None:
        self.name = name
        self.kind = kind  # file, directory, symlink, hardlink, device, fifo
        self.size = size
        self.compressed = compressed


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("list", "extract", "create"), required=True)
    raw = params.text("path", required=True, aliases=("archive", "input"))
    archive = context.path(raw)
    form = params.choice("format", FORMATS) or _format_of(raw)
    if operation == "create":
        response = _create(params, context, raw, archive, form)
    else:
        if not archive.is_file():
            raise ToolFailure(f"archive not found: '{raw}'")
        if operation == "list":
            response = _list(raw, archive, form)
        else:
            response = _extract(params, context, raw, archive, form)
    response.operation = operation
    return response


def _format_of(raw: str) -> str:
    lowered = raw.lower()
    for suffix, form in _SUFFIXES:
        if lowered.endswith(suffix):
            return form
    raise ToolError(f"cannot tell the format of '{raw}' (give format: {', '.join(FORMATS)})")


# -- reading --------------------------------------------------------------------------------------
def _members(archive: Path, form: str) -> Iterator[tuple[Member, Any]]:
    """(member, the library's own record) for every member; ToolFailure on a corrupt archive."""
    import tarfile
    import zipfile

    try:
        if form == "zip":
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        kind = "symlink"
                    elif info.is_dir():
                        kind = "directory"
                    else:
                        kind = "file"
                    yield Member(info.filename, kind, info.file_size, info.compress_size), info
        else:
            with tarfile.open(archive, _TAR_READ[form]) as t:
                for entry in t:
                    yield Member(entry.name, _tar_kind(entry), entry.size), entry
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise ToolFailure(f"'{archive.name}' is not a valid {form} archive: {exc}") from None


def _tar_kind(entry: tarfile.TarInfo) -> str:
    if entry.isdir():
        return "directory"
    if entry.issym():
        return "symlink"
    if entry.islnk():
        return "hardlink"
    if entry.isfifo():
        return "fifo"
    if entry.isdev():
        return "device"
    return "file"


def _list(raw: str, archive: Path, form: str) -> ToolResponse:
    members = [m for m, _ in _members(archive, form)]
    rows = [
        {"name": m.name, "type": m.kind, "size": m.size}
        | ({} if m.compressed is None else {"compressed_size": m.compressed})
        for m in members
    ]
    total = sum(m.size for m in members)
    return ToolResponse(
        result={"path": raw, "format": form, "members": rows, "count": len(rows), "size": total},
        text="\n".join(m.name for m in members),
    )


# -- extracting -----------------------------------------------------------------------------------
def _safe_name(raw: str, member: Member) -> PurePosixPath:
    """The member's relative path; ToolError for anything that could land outside the target."""
    name = member.name.replace("\\", "/")
    if member.kind in ("symlink", "hardlink", "device", "fifo"):
        raise ToolError(
            f"'{raw}' holds a {member.kind} member '{member.name}'; archives with links or "
            "special files are not extracted"
        )
    if "\x00" in name:
        raise ToolError(f"'{raw}' holds a member name with a NUL character")
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise ToolError(f"'{raw}' holds a member with an absolute path '{member.name}'")
    if ".." in path.parts:
        raise ToolError(f"'{raw}' holds a member that climbs out of the target '{member.name}'")
    return path


def _extract(params: Params, context: Any, raw: str, archive: Path, form: str) -> ToolResponse:
    target_raw = params.text("target_path", required=True, aliases=("destination", "output"))
    target = context.path(target_raw)
    overwrite = params.boolean("overwrite")
    limit = context.settings.max_file_size
    plan: list[tuple[PurePosixPath, Member]] = []
    total = 0
    for member, _ in _members(archive, form):
        relative = _safe_name(raw, member)
        plan.append((relative, member))
        total += member.size
        if len(plan) > MAX_MEMBERS:
            raise ToolError(f"'{raw}' has more than {MAX_MEMBERS} members")
        if total > limit:
            raise ToolError(
                f"'{raw}' would extract more than {limit} bytes "
                "(tools.file_operations.max_file_size)"
            )
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    files: list[str] = []
    with _Opener(archive, form) as opener:
        for relative, member in plan:
            destination = _inside(context, target_raw, target, relative)
            if member.kind == "directory":
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            _inside(context, target_raw, target, relative)  # a parent made just now
            if destination.exists() and not overwrite:
                raise ToolFailure(f"'{relative}' exists in '{target_raw}' (overwrite=true)")
            written = _copy(opener.open(member.name), destination, written, limit, raw)
            files.append(str(relative))
    return ToolResponse(
        result={"path": raw, "target_path": target_raw, "files": files, "bytes": written},
        message=f"extracted {len(files)} files ({written} bytes) from {raw} to {target_raw}",
    )


def _inside(context: Any, target_raw: str, target: Path, relative: PurePosixPath) -> Path:
    """target/relative, resolved: it must stay inside the target (a link already there would
    lead elsewhere) and pass the FILE gate."""
    destination = context.path(str(target / relative))
    if destination != target and target not in destination.parents:
        raise ToolError(f"'{relative}' would land outside '{target_raw}' (through a link)")
    return destination


def _copy(source: IO[bytes], destination: Path, written: int, limit: int, raw: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(destination, flags, 0o644)
    with source, os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                destination.unlink()
                raise ToolError(
                    f"'{raw}' expands past {limit} bytes (tools.file_operations.max_file_size)"
                )
            out.write(chunk)
    return written


class _Opener:
    """Opens members of one archive by name."""

    def __init__(self, archive: Path, form: str) -> None:
        self.archive = archive
        self.form = form
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None

    def __enter__(self) -> _Opener:
        import tarfile
        import zipfile

        if self.form == "zip":
            self._zip = zipfile.ZipFile(self.archive)
        else:
            self._tar = tarfile.open(self.archive, _TAR_READ[self.form])
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in (self._zip, self._tar):
            if handle is not None:
                handle.close()

    def open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(name)
        assert self._tar is not None
        handle = self._tar.extractfile(name)
        if handle is None:
            raise ToolFailure(f"member '{name}' has no content")
        return handle


# -- creating -------------------------------------------------------------------------------------
def _create(params: Params, context: Any, raw: str, archive: Path, form: str) -> ToolResponse:
    inputs = params.array("files", required=True, aliases=("inputs", "sources"))
    if not inputs:
        raise ToolError("parameter 'files' must name at least one file or directory")
    if archive.exists() and not params.boolean("overwrite"):
        raise ToolFailure(f"'{raw}' exists (overwrite=true replaces it)")
    entries: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for item in inputs:
        if not isinstance(item, str):
            raise ToolError("parameter 'files' must be an array of paths")
        source = context.path(item)
        if not source.exists():
            raise ToolFailure(f"file not found: '{item}'")
        base = source.parent
        if source.is_dir():
            for root, dirs, names in os.walk(source):
                dirs.sort()
                for name in sorted(names):
                    path = Path(root) / name
                    if path.is_symlink():  # never followed: it may lead outside
                        skipped.append(str(path.relative_to(base)))
                        continue
                    entries.append((path, str(path.relative_to(base))))
        else:
            entries.append((source, source.name))
    total = sum(path.stat().st_size for path, _ in entries)
    context.check_size(raw, total)
    archive.parent.mkdir(parents=True, exist_ok=True)
    import tarfile
    import zipfile

    if form == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path, name in entries:
                z.write(path, name)
    else:
        with tarfile.open(archive, _TAR_WRITE[form]) as t:
            for path, name in entries:
                t.add(path, name, recursive=False)
    result = {
        "path": raw,
        "format": form,
        "files": [name for _, name in entries],
        "skipped_links": skipped,
        "size": archive.stat().st_size,
    }
    return ToolResponse(result=result, message=f"created {raw} with {len(entries)} files")
