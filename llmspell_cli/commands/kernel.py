"""`llmspell kernel start|stop|status|connect|install`."""

from __future__ import annotations

import typer

from llmspell_cli.options import KERNEL_STOP_OPTIONS

app = typer.Typer(
    help="Run and manage kernel services that several clients (CLI, REPL, JupyterLab, VS Code) share.",
    no_args_is_help=True,
)


@app.command("start")
def start(
    ctx: typer.Context,
    port: int = typer.Option(
        None, "--port", metavar="N", help="Use ports N..N+4 (shell, iopub, stdin, control, hb)."
    ),
    ip: str = typer.Option(
        None, "--ip", metavar="ADDR", help="Address to bind (default 127.0.0.1)."
    ),
    kernel_id: str = typer.Option(
        None, "--id", metavar="NAME", help="Kernel id (default: random)."
    ),
    connection_file: str = typer.Option(
        None, "--connection-file", metavar="FILE", help="Where to write the connection file."
    ),
    daemon: bool = typer.Option(
        False, "--daemon", help="Run in the background; return once the kernel answers."
    ),
    idle_timeout: float = typer.Option(
        None, "--idle-timeout", metavar="S", help="Stop after S seconds without requests."
    ),
) -> None:
    """Start a kernel service (foreground unless --daemon).

    Example: llmspell kernel start --daemon --port 9555, then
    llmspell run script.lua --connect localhost:9555
    """
    from llmspell_cli.kernel_service import start_kernel

    raise typer.Exit(
        start_kernel(
            ctx.obj,
            port=port,
            ip=ip,
            kernel_id=kernel_id,
            connection_file=connection_file,
            daemon=daemon,
            idle_timeout=idle_timeout,
        )
    )


@app.command("stop")
def stop(
    ctx: typer.Context,
    kernel_id: str = typer.Argument(
        None, metavar="[ID]", help="Kernel id (default: the only one)."
    ),
    all_kernels: bool = KERNEL_STOP_OPTIONS["all_kernels"].typer_option(),
    force: bool = KERNEL_STOP_OPTIONS["force"].typer_option(),
) -> None:
    """Shut a kernel down over its control channel and remove its files."""
    from llmspell_cli.kernel_service import stop_kernels

    raise typer.Exit(
        stop_kernels(ctx.obj, kernel_id=kernel_id, all_kernels=all_kernels, force=force)
    )


@app.command("interrupt")
def interrupt(
    ctx: typer.Context,
    kernel_id: str = typer.Argument(
        None, metavar="[ID]", help="Kernel id (default: the only one)."
    ),
) -> None:
    """Stop whatever a kernel is running now (the kernel and its globals stay).

    Useful when a client that cannot send interrupts (e.g. `jupyter console --existing`)
    started a runaway loop on a shared kernel.
    """
    from llmspell_cli.kernel_service import interrupt_kernel

    raise typer.Exit(interrupt_kernel(ctx.obj, kernel_id=kernel_id))


@app.command("status")
def status(
    ctx: typer.Context,
    kernel_id: str = typer.Argument(None, metavar="[ID]", help="Only this kernel."),
) -> None:
    """List running kernels: id, pid, address, started, uptime, clients, executions, state.

    CLIENTS counts the Jupyter sessions that sent requests in the last five minutes (connection
    probes, status queries and interrupts not included)."""
    from llmspell_cli.kernel_service import show_status

    raise typer.Exit(show_status(ctx.obj, kernel_id=kernel_id))


@app.command("connect")
def connect(
    ctx: typer.Context,
    address: str = typer.Argument(
        None,
        metavar="[ADDR]",
        help="HOST:PORT, connection file or kernel id (default: the only kernel).",
    ),
    history: str = typer.Option(None, "--history", metavar="FILE", help="REPL history file."),
) -> None:
    """Open the REPL on a running kernel (same as `llmspell repl --connect ADDR`)."""
    from llmspell_cli.kernel_service import default_kernel_address
    from llmspell_cli.repl.launch import launch_repl

    target = address or default_kernel_address()
    raise typer.Exit(launch_repl(ctx.obj, history=history, engine="lua", connect=target))


@app.command("install")
def install(
    ctx: typer.Context,
    user: bool = typer.Option(False, "--user", help="Install for this user (default)."),
    sys_prefix: bool = typer.Option(False, "--sys-prefix", help="Install into sys.prefix (venv)."),
    prefix: str = typer.Option(None, "--prefix", metavar="P", help="Install under prefix P."),
    name: str = typer.Option("llmspell", "--name", metavar="N", help="Kernelspec name."),
    gateway: str = typer.Option(
        None,
        "--gateway",
        metavar="local|distributed",
        help="For Jupyter Enterprise Gateway: add its process-proxy stanza (local: a child of "
        "the gateway; distributed: started on its remote hosts by llmspell's launcher).",
    ),
    kernel_ip: str = typer.Option(
        None,
        "--kernel-ip",
        metavar="ADDR",
        help="With --gateway distributed: address the kernel binds (default 0.0.0.0).",
    ),
) -> None:
    """Install the kernelspec so JupyterLab and jupyter_client can launch llmspell.

    With --gateway, the kernelspec is for Jupyter Enterprise Gateway: point the gateway's
    JUPYTER_PATH at it and run scripts with --connect gateway://HOST:PORT.
    """
    from llmspell_cli.kernel_service import show_installed
    from llmspell_kernel.api import install_kernelspec

    path = install_kernelspec(
        user=user,
        sys_prefix=sys_prefix,
        prefix=prefix,
        name=name,
        gateway=gateway,
        kernel_ip=kernel_ip,
    )
    raise typer.Exit(show_installed(ctx.obj, path, name, gateway))
