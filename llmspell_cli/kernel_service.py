"""What the `kernel` commands show: the lifecycle itself is the kernel package's
(llmspell_kernel.manager, through llmspell_kernel.api)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from llmspell_cli.options import GlobalOptions
from llmspell_cli.render import Renderer
from llmspell_kernel import api as manager


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
    ip = manager.check_start(port=port, ip=ip, kernel_id=kernel_id, idle_timeout=idle_timeout)
    if ip is not None:
        _warn_if_reachable(ip)
    if connection_file:
        connection_file = str(Path(connection_file).expanduser().resolve())
    if daemon:
        return _start_daemon(opts, port, ip, kernel_id, connection_file, idle_timeout)
    return _serve_foreground(opts, port, ip, kernel_id, connection_file, idle_timeout)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _warn_if_reachable(ip: str) -> None:
    warning = manager.reachable_warning(ip)
    if warning:
        sys.stderr.write(f"warning: {warning}\n")


def _serve_foreground(
    opts: GlobalOptions,
    port: int | None,
    ip: str | None,
    kernel_id: str,
    connection_file: str | None,
    idle_timeout: float | None,
) -> int:
    from llmspell_cli.context import load_effective_config

    config = load_effective_config(opts)
    bind_ip = ip or config.kernel.ip
    if ip is None:  # from the configuration: --ip was checked (and warned about) already
        _warn_if_reachable(bind_ip)
    service, record = manager.start_service(
        manager.service_settings(config, kernel_id),
        ip=bind_ip,
        port=port if port is not None else (config.kernel.port or None),
        kernel_id=kernel_id,
        connection_file=connection_file,
    )
    info = service.connection_info
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document(
            {
                "id": kernel_id,
                "pid": os.getpid(),
                "address": f"{info.ip}:{info.shell_port}",
                "connection_file": str(service.connection_file),
            }
        )
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
    manager.serve_until_stopped(
        service,
        record,
        idle_timeout=idle,
        on_idle=lambda: _say(f"kernel {kernel_id}: idle for {idle:g} s, stopping"),
    )
    return 0


def _start_daemon(
    opts: GlobalOptions,
    port: int | None,
    ip: str | None,
    kernel_id: str,
    connection_file: str | None,
    idle_timeout: float | None,
) -> int:
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
    record, pid, log_file = manager.start_daemon(argv, kernel_id)
    info = record.connection()
    summary = {
        "id": kernel_id,
        "pid": pid,
        "address": f"{info['ip']}:{info['shell_port']}",
        "connection_file": str(record.connection_file),
        "log_file": str(log_file),
    }
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document(summary)
    else:
        renderer.text(f"kernel {kernel_id} started in the background (pid {pid})")
        renderer.text(f"address:         {summary['address']}")
        renderer.text(f"connection file: {summary['connection_file']}")
        renderer.text(f"log file:        {log_file}")
    return 0


def default_kernel_address() -> str:
    """The connection file of the only running kernel (for `kernel connect` without ADDR)."""
    return manager.only_kernel_connection_file()


def stop_kernels(
    opts: GlobalOptions, *, kernel_id: str | None, all_kernels: bool, force: bool
) -> int:
    """`kernel stop`; returns the exit code.

    One rule: stopping "whatever runs" (no id, or --all) when nothing runs succeeds (exit 0,
    "no kernels running"); naming a kernel that is not running is a usage error (exit 2).
    """
    renderer = Renderer(opts.output)
    if not kernel_id and not manager.list_running():
        if renderer.machine:
            renderer.document({"stopped": []})
        else:
            renderer.text("no kernels running")
        return 0
    selected = manager.select_kernels(kernel_id, all_kernels)
    stopped = []
    failures = 0
    for record in selected:
        if manager.stop_kernel(record, force=force):
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
    [record] = manager.select_kernels(kernel_id, False, offer_all=False)
    manager.interrupt_kernel(record)
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document({"interrupted": record.kernel_id})
    else:
        renderer.text(f"interrupted kernel {record.kernel_id}")
    return 0


def show_status(opts: GlobalOptions, *, kernel_id: str | None) -> int:
    """`kernel status`; returns the exit code."""
    rows = manager.kernel_overview(kernel_id)
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


def show_installed(opts: GlobalOptions, path: Path, name: str, gateway: str | None) -> int:
    """What `kernel install` prints; returns the exit code."""
    renderer = Renderer(opts.output)
    if renderer.machine:
        renderer.document({"name": name, "path": str(path), "gateway": gateway})
    else:
        renderer.text(f"installed kernelspec '{name}' in {path}")
        if gateway:
            renderer.text(
                f"start Enterprise Gateway with JUPYTER_PATH={path.parent.parent} and run "
                f"scripts with --connect gateway://HOST:PORT?kernel={name}"
            )
    return 0
