"""What the `kernel` commands do: start services (foreground or detached), stop them, report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from llmspell_cli.context import load_effective_config
from llmspell_cli.options import GlobalOptions
from llmspell_cli.render import Renderer
from llmspell_kernel.errors import KernelConnectionError, LlmspellError, UsageError
from llmspell_kernel.paths import history_file
from llmspell_kernel.registry import (
    find_kernel,
    jupyter_runtime_dir,
    list_kernels,
    records_dir,
    terminate,
    write_record,
)

DAEMON_READY_TIMEOUT = 20.0


def _kernel_settings(opts: GlobalOptions, kernel_id: str) -> tuple[Any, Any]:
    from llmspell_kernel.api import kernel_settings_from_config

    config = load_effective_config(opts)
    settings = kernel_settings_from_config(config)
    settings.kernel_id = kernel_id
    settings.history_file = str(history_file(kernel_id))
    settings.kernel_session = True
    return config, settings


def start_kernel(
    opts: GlobalOptions,
    *,
    port: int | None,
    ip: str | None,
    kernel_id: str | None,
    connection_file: str | None,
    daemon: bool,
    idle_timeout: float | None,
) -> int:
    """`kernel start`; returns the exit code."""
    kernel_id = kernel_id or os.urandom(4).hex()
    if port is not None and not (port == 0 or 1 <= port <= 65535 - 4):
        raise UsageError(
            f"--port {port} is out of range: the kernel uses PORT..PORT+4, so PORT must be "
            "1..65531 (or 0 for any free ports)"
        )
    if ip is not None:
        import ipaddress

        if ip == "localhost":
            ip = "127.0.0.1"
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise UsageError(
                f"--ip '{ip}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)"
            ) from None
        _warn_if_reachable(ip)
    if idle_timeout is not None and idle_timeout < 0:
        raise UsageError("--idle-timeout must be 0 (never) or a number of seconds")
    if connection_file:
        connection_file = str(Path(connection_file).expanduser().resolve())
    if not kernel_id.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"kernel id '{kernel_id}' may only hold letters, digits, '-' and '_'")
    if find_kernel(kernel_id) is not None and find_kernel(kernel_id).kernel_id == kernel_id:
        raise UsageError(f"a kernel with id '{kernel_id}' is already running")
    if daemon:
        return _start_daemon(opts, port, ip, kernel_id, connection_file, idle_timeout)
    return _serve_foreground(opts, port, ip, kernel_id, connection_file, idle_timeout)


def _warn_if_reachable(ip: str) -> None:
    """One stderr line when the kernel will listen beyond this machine (0.0.0.0, ::, a LAN
    address): anyone who can reach the ports sees IOPub, and the traffic is not encrypted."""
    import ipaddress

    try:
        if ipaddress.ip_address(ip).is_loopback:
            return
    except ValueError:
        return
    sys.stderr.write(
        f"warning: the kernel binds {ip} and is reachable from other hosts (messages are "
        "signed, not encrypted; prefer 127.0.0.1 with an SSH tunnel)\n"
    )


def _serve_foreground(
    opts: GlobalOptions,
    port: int | None,
    ip: str | None,
    kernel_id: str,
    connection_file: str | None,
    idle_timeout: float | None,
) -> int:
    from llmspell_kernel.api import start_kernel_service

    config, settings = _kernel_settings(opts, kernel_id)
    bind_ip = ip or config.kernel.ip
    if ip is None:  # from the configuration: --ip was checked (and warned about) already
        _warn_if_reachable(bind_ip)
    base_port = port if port is not None else (config.kernel.port or None)
    target = (
        Path(connection_file)
        if connection_file
        else jupyter_runtime_dir() / f"kernel-{kernel_id}.json"
    )
    try:
        service = start_kernel_service(
            connection_file=str(target),
            ip=bind_ip,
            port=base_port,
            kernel_id=kernel_id,
            settings=settings,
        )
    except (OSError, OverflowError) as exc:
        where = f"{bind_ip}:{base_port}" if base_port else f"{bind_ip} (free ports)"
        detail = getattr(exc, "strerror", None) or str(exc)
        raise LlmspellError(f"cannot start the kernel on {where}: {detail}") from exc
    log_file = os.environ.get("LLMSPELL_KERNEL_LOG_FILE", "")
    record = write_record(kernel_id, os.getpid(), Path(service.connection_file), log_file)
    stop_requested = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    info = service.connection_info
    renderer = Renderer(opts.output)
    summary = {
        "id": kernel_id,
        "pid": os.getpid(),
        "address": f"{info.ip}:{info.shell_port}",
        "connection_file": str(service.connection_file),
    }
    if renderer.machine:
        renderer.document(summary)
    else:
        renderer.text(
            f"kernel {kernel_id} listening on {info.ip}:{info.shell_port} (pid {os.getpid()})"
        )
        renderer.text(f"connection file: {service.connection_file}")
        renderer.text(f"connect with:    llmspell repl --connect {info.ip}:{info.shell_port}")
        renderer.text("press Ctrl-C to stop")
    idle = (
        idle_timeout if idle_timeout is not None else float(config.kernel.idle_timeout_seconds or 0)
    )
    try:
        while not stop_requested.is_set():
            if service.wait(0.2):
                break
            if idle > 0:
                state = service.kernel.status()
                if not state["busy"] and state["idle_seconds"] > idle:
                    sys.stderr.write(f"kernel {kernel_id}: idle for {idle:g} s, stopping\n")
                    break
    finally:
        service.stop()
        record.remove()
    return 0


def _start_daemon(
    opts: GlobalOptions,
    port: int | None,
    ip: str | None,
    kernel_id: str,
    connection_file: str | None,
    idle_timeout: float | None,
) -> int:
    directory = records_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_file = directory / f"{kernel_id}.log"
    argv = [sys.executable, "-m", "llmspell_cli", "kernel", "start", "--id", kernel_id]
    if opts.config_path:
        argv[3:3] = ["--config", opts.config_path]
    if opts.trace_explicit:
        argv[3:3] = ["--trace", opts.trace]
    if port is not None:
        argv += ["--port", str(port)]
    if ip:
        argv += ["--ip", ip]
    if connection_file:
        argv += ["--connection-file", connection_file]
    if idle_timeout is not None:
        argv += ["--idle-timeout", str(idle_timeout)]
    env = {**os.environ, "LLMSPELL_KERNEL_LOG_FILE": str(log_file)}
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
            close_fds=True,
        )
    deadline = time.monotonic() + DAEMON_READY_TIMEOUT
    record = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = _tail(log_file)
            log_file.unlink(missing_ok=True)  # its last lines are in the message
            raise LlmspellError(
                f"the kernel exited during start-up (code {process.returncode}): {tail}"
            )
        record = find_kernel(kernel_id)
        if (
            record is not None
            and record.kernel_id == kernel_id
            and record.connection_file.is_file()
        ):
            try:
                _query_status(record.connection_file, timeout=2.0)
                break
            except KernelConnectionError:
                pass
        time.sleep(0.05)
    else:
        process.kill()
        raise KernelConnectionError(
            f"the kernel did not answer within {DAEMON_READY_TIMEOUT:g} s; see {log_file}"
        )
    assert record is not None
    info = record.connection()
    summary = {
        "id": kernel_id,
        "pid": process.pid,
        "address": f"{info['ip']}:{info['shell_port']}",
        "connection_file": str(record.connection_file),
        "log_file": str(log_file),
    }
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document(summary)
    else:
        renderer.text(f"kernel {kernel_id} started in the background (pid {process.pid})")
        renderer.text(f"address:         {summary['address']}")
        renderer.text(f"connection file: {summary['connection_file']}")
        renderer.text(f"log file:        {log_file}")
    return 0


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _query_status(connection_file: Path, timeout: float = 3.0) -> dict[str, Any]:
    from llmspell_kernel.api import connect_to_kernel

    client = connect_to_kernel(str(connection_file), timeout=timeout)
    try:
        return _status(client, timeout)
    finally:
        client.close()


def _status(client: Any, timeout: float = 3.0) -> dict[str, Any]:
    """llmspell's status of a connected kernel (control channel: answered while it is busy)."""
    content: dict[str, Any] = client.request("control", "llmspell_status_request", {}, timeout)[
        "content"
    ]
    return content


def _select(kernel_id: str | None, all_kernels: bool, offer_all: bool = True) -> list[Any]:
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
        raise KernelConnectionError(
            "no kernel is running", hint="start one with `llmspell kernel start --daemon`"
        )
    if len(kernels) > 1:
        names = ", ".join(k.kernel_id for k in kernels)
        raise UsageError(
            f"{len(kernels)} kernels are running; name one ({names})"
            + (" or use --all" if offer_all else "")
        )
    return kernels


def default_kernel_address() -> str:
    """The connection file of the only running kernel (for `kernel connect` without ADDR)."""
    if not list_kernels():
        raise KernelConnectionError(
            "no kernel is running", hint="start one with `llmspell kernel start --daemon`"
        )
    return str(_select(None, False, offer_all=False)[0].connection_file)


def stop_kernels(
    opts: GlobalOptions, *, kernel_id: str | None, all_kernels: bool, force: bool
) -> int:
    """`kernel stop`; returns the exit code."""
    selected = _select(kernel_id, all_kernels)
    renderer = Renderer(opts.output)
    stopped = []
    failures = 0
    for record in selected:
        ok = False
        if not force:
            ok = _ask_shutdown(record)
        if not ok:
            ok = terminate(record.pid)
        if ok:
            record.remove()
            stopped.append(record.kernel_id)
            if not renderer.machine:
                renderer.text(f"stopped kernel {record.kernel_id}")
        else:
            failures += 1
            sys.stderr.write(f"error: kernel {record.kernel_id} (pid {record.pid}) did not stop\n")
    if renderer.machine:
        renderer.document({"stopped": stopped})
    return 1 if failures else 0


def interrupt_kernel(opts: GlobalOptions, *, kernel_id: str | None) -> int:
    """`kernel interrupt`; returns the exit code."""
    from llmspell_kernel.api import connect_to_kernel

    [record] = _select(kernel_id, False, offer_all=False)
    client = connect_to_kernel(str(record.connection_file))
    try:
        busy = bool(_status(client)["busy"])
        client.interrupt(timeout=5.0)
        # Say "interrupted" only once the kernel is free again: a script inside one long C call
        # ignores the interrupt until the kernel's grace period makes it replace its Lua state.
        deadline = time.monotonic() + INTERRUPT_WAIT_SECONDS
        while busy and time.monotonic() < deadline:
            time.sleep(0.05)
            busy = bool(_status(client)["busy"])
    finally:
        client.close()
    if busy:
        raise LlmspellError(
            f"kernel {record.kernel_id} is still busy {INTERRUPT_WAIT_SECONDS:g} s after the "
            "interrupt",
            hint=f"`llmspell kernel stop {record.kernel_id}` ends it",
        )
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document({"interrupted": record.kernel_id})
    else:
        renderer.text(f"interrupted kernel {record.kernel_id}")
    return 0


# How long `kernel interrupt` waits for the kernel to be free (beyond the kernel's own
# engines.lua.interrupt_grace_seconds, 3 s by default, after which it replaces its Lua state).
INTERRUPT_WAIT_SECONDS = 15.0


def _ask_shutdown(record: Any, timeout: float = 5.0) -> bool:
    from llmspell_kernel.api import connect_to_kernel

    try:
        client = connect_to_kernel(str(record.connection_file), timeout=2.0)
    except (KernelConnectionError, LookupError, OSError):
        return False
    try:
        client.shutdown(restart=False, timeout=3.0)
    except KernelConnectionError:
        return False
    finally:
        client.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive():
            return True
        time.sleep(0.05)
    return False


def show_status(opts: GlobalOptions, *, kernel_id: str | None) -> int:
    """`kernel status`; returns the exit code."""
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
            state = _query_status(record.connection_file, timeout=2.0)
            entry.update(
                executions=state.get("executions", 0),
                clients=state.get("clients", 0),
                state="busy" if state.get("busy") else "idle",
            )
        except (KernelConnectionError, LookupError, OSError):
            entry.update(executions=None, clients=None, state="not answering")
        rows.append(entry)
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document(rows)
        return 0
    if not rows:
        renderer.text("no kernels running (start one with `llmspell kernel start --daemon`)")
        return 0
    renderer.table(
        None,
        ["ID", "PID", "ADDRESS", "STARTED", "UPTIME", "CLIENTS", "EXECUTIONS", "STATE"],
        [
            [
                r["id"],
                r["pid"],
                r["address"],
                r["started"].replace("T", " "),
                _duration(r["uptime_seconds"]),
                r["clients"],
                r["executions"],
                r["state"],
            ]
            for r in rows
        ],
        whole=("ID", "ADDRESS", "STARTED"),
    )
    return 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def install_kernelspec(
    opts: GlobalOptions, *, user: bool, sys_prefix: bool, prefix: str | None, name: str
) -> int:
    """`kernel install`; returns the exit code."""
    from llmspell_kernel.protocol.kernelspec import install_kernelspec as install

    if sum(bool(x) for x in (user, sys_prefix, prefix)) > 1:
        raise UsageError("choose one of --user, --sys-prefix and --prefix")
    import re

    if not re.fullmatch(r"[A-Za-z0-9._-]+", name or ""):
        raise UsageError(
            f"kernel name '{name}' may only hold ASCII letters, digits, '-', '.' and '_'"
        )
    try:
        path = install(
            user=user or not (sys_prefix or prefix), sys_prefix=sys_prefix, prefix=prefix, name=name
        )
    except OSError as exc:
        raise LlmspellError(f"cannot install the kernelspec: {exc}") from exc
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document({"name": name, "path": str(path)})
    else:
        renderer.text(f"installed kernelspec '{name}' in {path}")
    return 0
