"""`python -m llmspell_kernel -f {connection_file}`: the kernel as Jupyter launches it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable

from llmspell_kernel.errors import LlmspellError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from llmspell_kernel.kernel.server import KernelSettings
    from llmspell_kernel.service import KernelService

# How often the kernel checks that the process that launched it is still there.
PARENT_POLL_SECONDS = 1.0


def add_kernel_options(parser: argparse.ArgumentParser) -> None:
    """The options every launched kernel takes (here and in llmspell_kernel.gateway.launcher)."""
    parser.add_argument("--config", help="llmspell configuration file")
    parser.add_argument(
        "--trace",
        default=os.environ.get("LLMSPELL_TRACE", "warn"),
        help="log level: off, error, warn, info, debug, trace (default: $LLMSPELL_TRACE or warn)",
    )
    parser.add_argument(
        "--log-file",
        default=os.environ.get("LLMSPELL_KERNEL_LOG_FILE") or None,
        help="append the log to FILE instead of stderr",
    )


def launched_kernel_settings(config_path: str | None) -> KernelSettings:
    """Settings of a kernel a Jupyter manager (or a gateway) launched and restarts as a new
    process: the configuration's, with one shared history for its sessions."""
    from llmspell_kernel.api import kernel_settings_from_config
    from llmspell_kernel.config import load_config
    from llmspell_kernel.paths import history_file

    settings = kernel_settings_from_config(load_config(config_path).config)
    settings.restart_in_place = False
    settings.history_file = str(history_file("jupyter"))
    settings.kernel_session = True
    return settings


def main(argv: list[str] | None = None) -> int:
    """Serve one kernel on the ports and key of a Jupyter connection file."""
    parser = argparse.ArgumentParser(prog="python -m llmspell_kernel", description=__doc__)
    parser.add_argument("-f", "--connection-file", required=True, help="Jupyter connection file")
    add_kernel_options(parser)
    args = parser.parse_args(argv)
    from llmspell_kernel import logs
    from llmspell_kernel.service import start_kernel_service

    logs.configure(args.trace, log_file=args.log_file)
    try:
        service = start_kernel_service(
            args.connection_file,
            settings=launched_kernel_settings(args.config),
            reuse_connection_file=True,
        )
    except (LlmspellError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return serve_launched(service, parent_pid=_parent_pid())


def serve_launched(service: KernelService, *, parent_pid: int) -> int:
    """Serve until shutdown: SIGINT interrupts, SIGTERM stops, and the kernel stops when the
    process `parent_pid` (0: none) that launched it is gone."""
    from llmspell_kernel import logs

    log = logs.get_logger("llmspell.kernel")
    service.handle_sigint()
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    info = service.connection_info
    log.info(
        "kernel %s serving on %s (pid %d, shell %s, iopub %s, control %s)",
        service.kernel.kernel_id,
        info.ip,
        os.getpid(),
        info.shell_port,
        info.iopub_port,
        info.control_port,
    )
    if parent_pid:
        watch_parent(parent_pid, service.stop)
    service.wait()
    log.info("kernel %s stopped", service.kernel.kernel_id)
    return 0


def _parent_pid() -> int:
    """The launching client's pid from JPY_PARENT_PID (as jupyter_client sets it), or 0."""
    try:
        pid = int(os.environ.get("JPY_PARENT_PID", "0"))
    except ValueError:
        return 0
    return pid if pid > 1 else 0


def watch_parent(pid: int, stop: Callable[[], None]) -> threading.Thread:
    """Stop the kernel when process `pid` (the client that launched it) is gone, as ipykernel's
    ParentPoller does: a kernel whose client died without shutting it down would otherwise run
    on under PID 1."""
    from llmspell_kernel import logs

    log = logs.get_logger("llmspell.kernel")
    ours = os.getppid() == pid  # launched directly: our parent changes when it dies

    def gone() -> bool:
        if ours:
            return os.getppid() != pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _is_zombie(pid)

    def poll() -> None:
        while True:
            if gone():
                log.warning("the process that launched this kernel (pid %d) is gone; stopping", pid)
                stop()
                return
            threading.Event().wait(PARENT_POLL_SECONDS)

    thread = threading.Thread(target=poll, name="llmspell-parent-poller", daemon=True)
    thread.start()
    return thread


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


if __name__ == "__main__":
    exit_code = main()
    # The kernel has stopped and closed its files: as the CLI does (llmspell_cli/__main__.py),
    # keep the interpreter's final collections from scanning every object for nothing (tens of
    # milliseconds between the shutdown reply and the process's exit).
    import gc

    gc.freeze()
    sys.exit(exit_code)
