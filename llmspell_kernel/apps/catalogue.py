"""Finding applications and reading their manifests.

An application is a directory with `main.lua` and `config.toml`. Its optional `app.toml` says
what it is (title, description, complexity layer) and what a good run produces: how many agents
call a model, how many workflow runs complete, and the files written under `--output DIR` with
their format. Without `app.toml` an application can still be run and validated (exit status only).
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmspell_kernel.errors import ConfigError, UsageError

MAIN, CONFIG, MANIFEST = "main.lua", "config.toml", "app.toml"
# 1 simple, 2 complex, 3 expert: the validation targets of the Phase-9 acceptance.
LAYERS = {1: "simple", 2: "complex", 3: "expert"}
LAYER_TARGETS = {1: 1.0, 2: 0.9, 3: 0.8}
FORMATS = ("json", "yaml", "markdown", "text", "sql", "javascript")


@dataclass(frozen=True)
class OutputSpec:
    """A file an application writes below its output directory, and what makes it valid."""

    path: str  # relative to the output directory; may hold glob characters
    format: str
    sections: tuple[str, ...] = ()  # markdown: headings that must be present
    keys: tuple[str, ...] = ()  # json/yaml: dotted paths that must be present
    nonempty: tuple[str, ...] = ()  # json/yaml: dotted paths that must be non-empty / non-zero
    min_count: int = 1  # a glob path: at least this many files


@dataclass(frozen=True)
class AppInfo:
    """One application: where it is and what its manifest says."""

    name: str
    path: Path
    title: str = ""
    description: str = ""
    layer: int = 1
    agents: int = 0  # distinct agents that call a model in a good run
    workflows: int = 0  # workflow runs that complete in a good run (at least)
    uses: tuple[str, ...] = ()  # features it shows (workflow shapes, RAG, state, ...)
    providers: tuple[str, ...] = ()  # providers its agents' own models need keys for
    validate_args: tuple[str, ...] = ()  # extra script arguments for `app validate`
    outputs: tuple[OutputSpec, ...] = field(default_factory=tuple)
    shipped: bool = False

    @property
    def main(self) -> Path:
        return self.path / MAIN

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def layer_name(self) -> str:
        return LAYERS.get(self.layer, str(self.layer))


def shipped_root() -> Path:
    """The directory of the shipped applications (a link to examples/applications in the source
    tree; a real directory in an installed wheel)."""
    return (Path(__file__).resolve().parent / "shipped").resolve()


def shipped_apps() -> list[AppInfo]:
    """The shipped applications, by layer then name."""
    root = shipped_root()
    found = [
        load_app(entry, shipped=True)
        for entry in sorted(root.iterdir() if root.is_dir() else [])
        if is_app_dir(entry)
    ]
    return sorted(found, key=lambda app: (app.layer, app.name))


def is_app_dir(path: Path) -> bool:
    return (path / MAIN).is_file() and (path / CONFIG).is_file()


def find_app(name_or_path: str) -> AppInfo:
    """A shipped application by name, or the application in a directory (a path: it holds a
    `/`, starts with `.` or `~`, or names an existing directory that is not a shipped name)."""
    shipped = {app.name: app for app in shipped_apps()}
    looks_like_path = "/" in name_or_path or name_or_path.startswith((".", "~"))
    if not looks_like_path and name_or_path in shipped:
        return shipped[name_or_path]
    directory = Path(os.path.expanduser(name_or_path))
    if directory.is_dir():
        if not is_app_dir(directory):
            raise UsageError(
                f"{name_or_path} is not an application: it needs {MAIN} and {CONFIG}",
                hint="an application directory holds main.lua and config.toml",
            )
        return load_app(directory.resolve())
    raise UsageError(
        f"unknown application '{name_or_path}'",
        hint=f"'llmspell app list' shows them ({', '.join(shipped)}); or give a directory",
    )


def load_app(directory: Path, *, shipped: bool = False) -> AppInfo:
    """The application in `directory`, with its manifest when it has one."""
    manifest_path = directory / MANIFEST
    data: dict[str, Any] = {}
    if manifest_path.is_file():
        try:
            data = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{manifest_path}: invalid TOML: {exc}") from exc
    where = str(manifest_path)
    layer = _int(data, "layer", 1, where)
    if layer not in LAYERS:
        raise ConfigError(f"{where}: layer must be one of {sorted(LAYERS)}, got {layer}")
    outputs = tuple(_output(entry, where) for entry in _list(data, "outputs", where))
    return AppInfo(
        name=str(data.get("name") or directory.name),
        path=directory,
        title=str(data.get("title") or directory.name),
        description=str(data.get("description") or ""),
        layer=layer,
        agents=_int(data, "agents", 0, where),
        workflows=_int(data, "workflows", 0, where),
        uses=tuple(str(item) for item in _list(data, "uses", where)),
        providers=tuple(str(item) for item in _list(data, "providers", where)),
        validate_args=tuple(str(item) for item in _list(data, "validate_args", where)),
        outputs=outputs,
        shipped=shipped,
    )


def _output(entry: Any, where: str) -> OutputSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise ConfigError(f"{where}: each [[outputs]] needs a path")
    fmt = str(entry.get("format", "text"))
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: output {entry['path']}: format must be one of {FORMATS}")
    return OutputSpec(
        path=entry["path"],
        format=fmt,
        sections=tuple(str(s) for s in _list(entry, "sections", where)),
        keys=tuple(str(s) for s in _list(entry, "keys", where)),
        nonempty=tuple(str(s) for s in _list(entry, "nonempty", where)),
        min_count=_int(entry, "min_count", 1, where),
    )


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be a list")
    return value


def _int(data: dict[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {key} must be an integer")
    return value


def output_root() -> Path:
    """Where applications write when no --output is given: a directory of the user's data dir
    beside llmspell's own (scripts may not write into llmspell's own files)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("llmspell-apps"))


def fresh_output_dir(name: str, root: Path | None = None) -> Path:
    """A new, empty directory for one run (`<root>/<name>/<YYYYmmdd-HHMMSS>[-n]`)."""
    base = (root or output_root()) / _safe(name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = base / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue
        return candidate
    raise UsageError(f"cannot create a fresh output directory under {base}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "app"


LOCAL_MODEL = "local/smollm2"


def model_fallback(app: AppInfo) -> str | None:
    """`local/smollm2` when one of the providers the app's agents use has no API key (so a fresh
    install runs every app offline), else None: the app's own models are used."""
    from llmspell_kernel.keys import resolve_api_key

    providers = app.providers or ("openai",)
    for provider in providers:
        try:
            if resolve_api_key(provider) is None:
                return LOCAL_MODEL
        except UsageError:
            return LOCAL_MODEL
    return None
