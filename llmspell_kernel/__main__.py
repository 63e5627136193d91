"""`python -m llmspell_kernel -f {connection_file}`: the kernel as Jupyter launches it."""

from __future__ import annotations

import argparse
import signal
import sys

from llmspell_kernel.errors import LlmspellError


def main(argv: list[str] | None = None) -> int:
    """Serve one kernel on the ports and key of a Jupyter connection file."""
    parser = argparse.ArgumentParser(prog="python -m llmspell_kernel", description=__doc__)
    parser.add_argument("-f", "--connection-file", required=True, help="Jupyter connection file")
    parser.add_argument("--config", help="llmspell configuration file")
    parser.add_argument("--trace", default="warn", help="log level on stderr")
    args = parser.parse_args(argv)
    from llmspell_kernel import logs
    from llmspell_kernel.api import kernel_settings_from_config
    from llmspell_kernel.config import load_config
    from llmspell_kernel.paths import history_file
    from llmspell_kernel.service import start_kernel_service

    logs.configure(args.trace)
    try:
        settings = kernel_settings_from_config(load_config(args.config).config)
        # Jupyter's manager restarts us as a new process, and its sessions share one history.
        settings.restart_in_place = False
        settings.history_file = str(history_file("jupyter"))
        settings.kernel_session = True
        service = start_kernel_service(
            args.connection_file, settings=settings, reuse_connection_file=True
        )
    except (LlmspellError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    service.handle_sigint()
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    service.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
