"""The lifecycle of kernel services: start one (in this process or detached), know when it is
ready, ask how it is, interrupt it, stop it. Front ends (the CLI) only choose and render."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from llmspell_kernel.errors import KernelConnectionError, LlmspellError, UsageError
from llmspell_kernel.paths import history_file
from llmspell_kernel.registry import (
    KernelRecord,
    find_kernel,
    jupyter_runtime_dir,
    list_kernels,
    prune_logs,
    records_dir,
    terminate,
    wait_gone,
    write_record,
)

# Annotations only: typing, threading and subprocess (with its locale, signal, selectors) are not
# imported by `kernel stop`, which has 100 ms in all (issue 19; see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:  # `kernel status` and `kernel stop` need neither Lua nor the server
    import threading
    from typing import Any

    from llmspell_kernel.client import KernelClient
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.service import KernelService

DAEMON_READY_TIMEOUT = 20.0
# How long an interrupt waits for the kernel to be free (beyond the kernel's own
# engines.lua.interrupt_grace_seconds, 3 s by default, after which it replaces its Lua state).
INTERRUPT_WAIT_SECONDS = 15.0
NO_KERNEL_HINT = "start one with `llmspell kernel start --daemon`"


def service_settings(config: Any, kernel_id: str) -> KernelSettings:
    """Settings of a kernel service: the configuration's, plus its id, history file and the
    session that records its executions. `llmspell kernel start` and its daemon share them."""
    from llmspell_kernel.api import kernel_settings_from_config

    settings = kernel_settings_from_config(config)
    settings.kernel_id = kernel_id
    settings.history_file = str(history_file(kernel_id))
    settings.kernel_session = True
    return settings


def check_start(
    *, port: int | None, ip: str | None, kernel_id: str, idle_timeout: float | None
) -> str | None:
    """Validate `kernel start` options (UsageError); returns the normalised --ip."""
    if port is not None and not (port == 0 or 1 <= port <= 65535 - 4):
        raise UsageError(
            f"--port {port} is out of range: the kernel uses PORT..PORT+4, so PORT must be "
            "1..65531 (or 0 for any free ports)"
        )
    if ip is not None:
        if ip == "localhost":
            ip = "127.0.0.1"
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise UsageError(
                f"--ip '{ip}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)"
            ) from None
    if idle_timeout is not None and idle_timeout < 0:
        raise UsageError("--idle-timeout must be 0 (never) or a number of seconds")
    if not kernel_id.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"kernel id '{kernel_id}' may only hold letters, digits, '-' and '_'")
    running = find_kernel(kernel_id)
    if running is not None and running.kernel_id == kernel_id:
        raise UsageError(f"a kernel with id '{kernel_id}' is already running")
    return ip


def reachable_warning(ip: str) -> str | None:
    """A warning when the kernel will listen beyond this machine (0.0.0.0, ::, a LAN address):
    anyone who can reach the ports sees IOPub, and the traffic is not encrypted."""
    try:
        if ipaddress.ip_address(ip).is_loopback:
            return None
    except ValueError:
        return None
    return (
        f"the kernel binds {ip} and is reachable from other hosts (messages are signed, not "
        "encrypted; prefer 127.0.0.1 with an SSH tunnel)"
    )


def start_service(
    settings: KernelSettings,
    *,
    ip: str,
    port: int | None,
    kernel_id: str,
    connection_file: str | None,
) -> tuple[KernelService, KernelRecord]:
    """Start a kernel service in this process and register it (pid, connection file, log)."""
    from llmspell_kernel.service import start_kernel_service

    target = (
        Path(connection_file).expanduser().resolve()
        if connection_file
        else jupyter_runtime_dir() / f"kernel-{kernel_id}.json"
    )
    try:
        service = start_kernel_service(
            connection_file=str(target), ip=ip, port=port, kernel_id=kernel_id, settings=settings
        )
    except (OSError, OverflowError) as exc:
        where = f"{ip}:{port}" if port else f"{ip} (free ports)"
        detail = getattr(exc, "strerror", None) or str(exc)
        hint = (
            f"the kernel needs ports {port}..{port + 4}: choose another --port, or omit it "
            "to use free ports"
            if port
            else None
        )
        raise LlmspellError(f"cannot start the kernel on {where}: {detail}", hint=hint) from exc
    log_file = os.environ.get("LLMSPELL_KERNEL_LOG_FILE", "")
    record = write_record(kernel_id, os.getpid(), Path(service.connection_file), log_file)
    return service, record


def serve_until_stopped(
    service: KernelService,
    record: KernelRecord,
    *,
    stop: threading.Event | None = None,
    idle_timeout: float,
    on_idle: Callable[[], None] | None = None,
) -> None:
    """Serve until `stop` is set, the kernel is shut down, or it has been idle too long.
    Without `stop` (the main thread of a foreground `kernel start`), SIGTERM and SIGINT stop."""
    if stop is None:
        import signal
        import threading

        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda _signum, _frame: stop.set())
    try:
        while not stop.is_set():
            if service.wait(0.2):
                break
            if idle_timeout > 0:
                state = service.kernel.status()
                if not state["busy"] and state["idle_seconds"] > idle_timeout:
                    if on_idle is not None:
                        on_idle()
                    break
    finally:
        service.stop()
        record.remove()


def start_daemon(argv: Sequence[str], kernel_id: str) -> tuple[KernelRecord, int, Path]:
    """Run `argv` (a foreground `kernel start --id KERNEL_ID`) detached, logging to a file in
    the records dir; returns once the kernel answers: (its record, pid, log file)."""
    directory = records_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    prune_logs()
    log_file = directory / f"{kernel_id}.log"
    env = {**os.environ, "LLMSPELL_KERNEL_LOG_FILE": str(log_file)}
    import subprocess

    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
            close_fds=True,
        )
    deadline = time.monotonic() + DAEMON_READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            lines = _last_lines(log_file)
            log_file.unlink(missing_ok=True)  # its last lines are in the message
            errors = [line for line in lines if line.startswith("error: ")]
            if errors:  # the foreground kernel said why in its own words: pass them on
                hints = [line[len("hint: ") :] for line in lines if line.startswith("hint: ")]
                raise LlmspellError(errors[-1][len("error: ") :], hint=hints[-1] if hints else None)
            raise LlmspellError(
                f"the kernel exited during start-up (code {process.returncode}): "
                + " | ".join(lines)
            )
        record = find_kernel(kernel_id)
        if (
            record is not None
            and record.kernel_id == kernel_id
            and record.connection_file.is_file()
        ):
            try:
                query_status(record.connection_file, timeout=2.0)
                return record, process.pid, log_file
            except KernelConnectionError:
                pass
        time.sleep(0.05)
    process.kill()
    raise KernelConnectionError(
        f"the kernel did not answer within {DAEMON_READY_TIMEOUT:g} s; see {log_file}"
    )


def _last_lines(path: Path, count: int = 3) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return []
    return [line.strip() for line in text[-count:]]


def query_status(connection_file: Path, timeout: float = 3.0) -> dict[str, Any]:
    """llmspell's status of the kernel behind `connection_file`."""
    from llmspell_kernel.api import connect_to_kernel

    client = connect_to_kernel(connection_file, timeout=timeout)
    try:
        return status_of(client, timeout)
    finally:
        client.close()


def status_of(client: KernelClient, timeout: float = 3.0) -> dict[str, Any]:
    """llmspell's status of a connected kernel (control channel: answered while it is busy)."""
    content: dict[str, Any] = client.request("control", "llmspell_status_request", {}, timeout)[
        "content"
    ]
    return content


def select_kernels(
    kernel_id: str | None, all_kernels: bool, *, offer_all: bool = True
) -> list[KernelRecord]:
    """The running kernels a command names: one by id, all, or the only one."""
    kernels = list_kernels()
    if all_kernels:
        return kernels
    if kernel_id:
        record = find_kernel(kernel_id)
        if record is None:
            raise UsageError(
                f"no running kernel with id '{kernel_id}'",
                hint="`llmspell kernel status` lists them",
            )
        return [record]
    if not kernels:
        raise KernelConnectionError("no kernel is running", hint=NO_KERNEL_HINT)
    if len(kernels) > 1:
        names = ", ".join(k.kernel_id for k in kernels)
        raise UsageError(
            f"{len(kernels)} kernels are running; name one ({names})"
            + (" or use --all" if offer_all else "")
        )
    return kernels


def list_running() -> list[KernelRecord]:
    """The kernel services running now (stale records of dead ones are cleaned up)."""
    return list_kernels()


def only_kernel_connection_file() -> str:
    """The connection file of the only running kernel (`kernel connect` without ADDR)."""
    if not list_kernels():
        raise KernelConnectionError("no kernel is running", hint=NO_KERNEL_HINT)
    return str(select_kernels(None, False, offer_all=False)[0].connection_file)


def stop_kernel(record: KernelRecord, *, force: bool) -> bool:
    """Stop one kernel: a shutdown request first (unless `force`), then SIGTERM/SIGKILL."""
    stopped = not force and _ask_shutdown(record)
    if not stopped:
        stopped = terminate(record.pid)
    if stopped:
        record.remove()
    return stopped


def _ask_shutdown(record: KernelRecord, timeout: float = 5.0) -> bool:
    try:
        connection = record.connection()
    except LookupError:
        return False
    try:
        if connection.get("transport", "tcp") == "tcp":
            # pyzmq and the client are a third of the command's time (issue 19): one request
            # needs neither (llmspell_kernel/transport/zmtp.py)
            from llmspell_kernel.transport import zmtp

            zmtp.request(connection, "control_port", "shutdown_request", {"restart": False}, 3.0)
        else:
            client = _reply_client(record.connection_file)
            try:
                client.shutdown(restart=False, timeout=3.0)
            finally:
                client.close()
    except (KernelConnectionError, LookupError, OSError):
        return False
    # a kernel exits ~15 ms after its reply (kernel_exit.py); "stopped" means it is gone
    return wait_gone(record.pid, timeout)


def _reply_client(connection_file: Path) -> KernelClient:
    """A client that only needs replies (no IOPub wait), on a kernel's connection file: what
    `service.connect_to_kernel` builds, without importing the service, which brings the kernel
    server and the Lua engine (~25 ms of `kernel stop`'s start-up)."""
    from llmspell_kernel.client import KernelClient
    from llmspell_kernel.protocol.connection import ConnectionInfo
    from llmspell_kernel.protocol.message import MessageFactory
    from llmspell_kernel.transport.zmq import ZmqClientTransport

    messages = MessageFactory()
    transport = ZmqClientTransport(ConnectionInfo.read(connection_file), messages.session_id)
    return KernelClient(transport, messages=messages)


def interrupt_kernel(record: KernelRecord) -> None:
    """Interrupt the kernel's running execution and wait until it is free again: a script
    inside one long C call ignores the interrupt until the kernel's grace period makes it
    replace its Lua state. LlmspellError when it is still busy after INTERRUPT_WAIT_SECONDS."""
    from llmspell_kernel.api import connect_to_kernel

    client = connect_to_kernel(record.connection_file)
    try:
        busy = bool(status_of(client)["busy"])
        client.interrupt(timeout=5.0)
        deadline = time.monotonic() + INTERRUPT_WAIT_SECONDS
        while busy and time.monotonic() < deadline:
            time.sleep(0.05)
            busy = bool(status_of(client)["busy"])
    finally:
        client.close()
    if busy:
        raise LlmspellError(
            f"kernel {record.kernel_id} is still busy {INTERRUPT_WAIT_SECONDS:g} s after the "
            "interrupt",
            hint=f"`llmspell kernel stop {record.kernel_id}` ends it",
        )


def kernel_overview(kernel_id: str | None) -> list[dict[str, Any]]:
    """One row per running kernel (or the named one): identity, uptime and what it reports."""
    kernels = list_kernels()
    if kernel_id:
        record = find_kernel(kernel_id)
        if record is None:
            raise UsageError(f"no running kernel with id '{kernel_id}'")
        kernels = [record]
    rows = []
    for record in kernels:
        entry: dict[str, Any] = {
            "id": record.kernel_id,
            "pid": record.pid,
            "address": record.address,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.started)),
            "uptime_seconds": round(time.time() - record.started, 1),
            "connection_file": str(record.connection_file),
        }
        try:
            state = query_status(record.connection_file, timeout=2.0)
            entry.update(
                executions=state.get("executions", 0),
                clients=state.get("clients", 0),
                state="busy" if state.get("busy") else "idle",
            )
        except (KernelConnectionError, LookupError, OSError):
            entry.update(executions=None, clients=None, state="not answering")
        rows.append(entry)
    return rows
