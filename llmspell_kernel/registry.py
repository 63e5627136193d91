"""Kernel discovery: which llmspell kernels run on this machine, and what a connection string
(`HOST:PORT`, `tcp://HOST:PORT`, a connection file, or a kernel id) points at.

Each kernel service writes a standard Jupyter connection file (`kernel-<id>.json`, 0600) into the
Jupyter runtime directory, so `jupyter console --existing` finds it, plus a small record
(`llmspell/<id>.json`) with its pid, start time and log file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from llmspell_kernel.errors import KernelConnectionError, UsageError

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def jupyter_runtime_dir() -> Path:
    """The directory jupyter_client uses for connection files (same rules as jupyter_core)."""
    explicit = os.environ.get("JUPYTER_RUNTIME_DIR")
    if explicit:
        return Path(explicit)
    data = os.environ.get("JUPYTER_DATA_DIR")
    if data:
        return Path(data) / "runtime"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "jupyter" / "runtime"


def records_dir() -> Path:
    """Where llmspell keeps its per-kernel records (pid, start time, log file)."""
    return jupyter_runtime_dir() / "llmspell"


class KernelRecord:
    """What we know about one kernel service started by `llmspell kernel start`."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    @property
    def kernel_id(self) -> str:
        return str(self.data["id"])

    @property
    def pid(self) -> int:
        return int(self.data.get("pid", 0))

    @property
    def connection_file(self) -> Path:
        return Path(self.data["connection_file"])

    @property
    def log_file(self) -> str:
        return str(self.data.get("log_file", ""))

    @property
    def started(self) -> float:
        return float(self.data.get("started", 0.0))

    def connection(self) -> dict[str, Any]:
        """The Jupyter connection info (ip, ports, key) of this kernel."""
        return read_connection_file(self.connection_file)

    @property
    def address(self) -> str:
        try:
            info = self.connection()
        except LookupError:
            return "?"
        return f"{info.get('ip')}:{info.get('shell_port')}"

    def alive(self) -> bool:
        """True while the kernel's process exists."""
        return pid_alive(self.pid)

    def remove(self) -> None:
        """Delete the record and (if still there) the connection file. The log stays: it is
        what tells why a kernel stopped or crashed (`prune_logs` keeps the last few)."""
        for path in (self.path, self.connection_file, self.path.with_suffix(".pid")):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


KEPT_LOGS = 10  # logs of stopped kernels kept in records_dir(), newest first


def prune_logs(keep: int = KEPT_LOGS) -> None:
    """Delete the logs of stopped kernels beyond the newest `keep` (running kernels' stay)."""
    directory = records_dir()
    running = {record.kernel_id for record in list_kernels()}
    try:
        logs = [p for p in directory.glob("*.log") if p.stem not in running]
    except OSError:
        return
    logs.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0.0, reverse=True)
    for old in logs[keep:]:
        try:
            old.unlink()
        except OSError:
            pass


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies of our own children count as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def write_record(
    kernel_id: str, pid: int, connection_file: Path, log_file: str | None
) -> KernelRecord:
    """Record a starting kernel service (atomic write, owner-only)."""
    import json  # here and below, not at the top: the engine's private paths import this module

    directory = records_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {
        "id": kernel_id,
        "pid": pid,
        "connection_file": str(connection_file),
        "log_file": log_file or "",
        "started": time.time(),
    }
    path = directory / f"{kernel_id}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
    path.with_suffix(".pid").write_text(f"{pid}\n", encoding="utf-8")
    return KernelRecord(data, path)


def list_kernels(*, clean: bool = True) -> list[KernelRecord]:
    """Known kernel services, oldest first; records of dead processes are removed."""
    import json

    directory = records_dir()
    if not directory.is_dir():
        return []
    records = []
    for path in sorted(directory.glob("*.json")):
        try:
            record = KernelRecord(json.loads(path.read_text(encoding="utf-8")), path)
            record.kernel_id  # noqa: B018 - validates the record
        except (OSError, ValueError, KeyError):
            continue
        if not record.alive():
            if clean:
                record.remove()
            continue
        records.append(record)
    return sorted(records, key=lambda r: r.started)


def find_kernel(kernel_id: str) -> KernelRecord | None:
    """The running kernel with this id (or a unique id prefix)."""
    kernels = list_kernels()
    exact = [k for k in kernels if k.kernel_id == kernel_id]
    if exact:
        return exact[0]
    prefixed = [k for k in kernels if k.kernel_id.startswith(kernel_id)]
    if len(prefixed) > 1:
        raise UsageError(
            f"kernel id '{kernel_id}' is ambiguous ({', '.join(k.kernel_id for k in prefixed)})"
        )
    return prefixed[0] if prefixed else None


def read_connection_file(path: Path) -> dict[str, Any]:
    """A Jupyter connection file as a dict; LookupError when missing or unreadable."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LookupError(f"connection file not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise LookupError(f"connection file {path} is not valid JSON") from exc
    if not isinstance(data, dict) or "shell_port" not in data:
        raise LookupError(f"{path} is not a Jupyter connection file")
    return data


def _connection_files() -> list[Path]:
    directory = jupyter_runtime_dir()
    if not directory.is_dir():
        return []
    return sorted(directory.glob("kernel-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)


def resolve_connection(address: str) -> Path:
    """The connection file a connection string refers to.

    Accepts a path to a connection file, `HOST:PORT` / `tcp://HOST:PORT` (PORT is the shell port;
    the key comes from the matching connection file found by discovery), or a kernel id.
    """
    text = address.strip()
    if not text:
        raise UsageError("empty connection string")
    candidate = Path(text).expanduser()
    is_url = text.startswith("tcp://")
    if not is_url and (text.endswith(".json") or os.sep in text):
        if not candidate.is_file():
            raise KernelConnectionError(f"connection file not found: {text}")
        read_or_fail(candidate)
        return candidate
    hostport = text.removeprefix("tcp://")
    if ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
        try:
            port = int(port_text)
        except ValueError as exc:
            raise UsageError(f"bad connection string '{address}': port must be a number") from exc
        if not 1 <= port <= 65535:
            raise UsageError(f"bad connection string '{address}': port must be 1..65535")
        host = host.strip("[]") or "127.0.0.1"
        for path in _connection_files():
            try:
                info = read_connection_file(path)
            except LookupError:
                continue
            if int(info.get("shell_port", -1)) == port and _same_host(
                str(info.get("ip", "")), host
            ):
                return path
        raise KernelConnectionError(
            f"no kernel known at {host}:{port} (no matching connection file in {jupyter_runtime_dir()})",
            hint="HOST:PORT reads the kernel's key from its connection file on this machine; for "
            "a kernel elsewhere, copy its kernel-*.json here and pass that path (or start one "
            "here with `llmspell kernel start --port PORT`)",
        )
    record = find_kernel(text)
    if record is not None:
        return record.connection_file
    named = jupyter_runtime_dir() / f"kernel-{text}.json"
    if named.is_file():
        return named
    raise KernelConnectionError(
        f"no running kernel with id '{text}'", hint="`llmspell kernel status` lists running kernels"
    )


def read_or_fail(path: Path) -> dict[str, Any]:
    try:
        return read_connection_file(path)
    except LookupError as exc:
        raise KernelConnectionError(str(exc)) from exc


def _same_host(kernel_ip: str, host: str) -> bool:
    """Whether a kernel bound to `kernel_ip` (per its connection file, on this machine) is
    reachable as `host`: a kernel on every interface answers any address of this machine."""
    local = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "*", ""}
    if kernel_ip == host or (kernel_ip in local and host in local):
        return True
    return kernel_ip in ("0.0.0.0", "*", "::") and host in _own_addresses()


def _own_addresses() -> set[str]:
    import socket

    names = {socket.gethostname(), socket.getfqdn()}
    addresses: set[str] = set(names)
    for name in names:
        try:
            addresses.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    try:  # the address this machine uses to reach others (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            addresses.add(probe.getsockname()[0])
    except OSError:
        pass
    return addresses


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until the process `pid` (any process, not only a child) has exited; False when it
    still runs after `timeout` seconds. A pidfd reports the exit the moment it happens (Linux
    5.3+); elsewhere the process is polled, first every millisecond, then less often."""
    deadline = time.monotonic() + timeout
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None and pid > 0:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            return True
        except OSError:  # no pidfd support in this kernel, or not permitted: poll
            pass
        else:
            import select

            try:
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                while True:
                    remaining = deadline - time.monotonic()
                    if poller.poll(max(0, int(remaining * 1000) + 1)):
                        return True
                    if remaining <= 0:
                        return not pid_alive(pid)
            finally:
                os.close(fd)
    interval = 0.001
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.02)
    return True


def terminate(pid: int, timeout: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True once the process is gone."""
    if not pid_alive(pid):
        return True
    import signal  # only here: `kernel stop` asks first, over the control channel

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    if wait_gone(pid, timeout):
        return True
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_gone(pid, 1.0)
