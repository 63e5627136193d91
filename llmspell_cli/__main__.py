"""Console entry point. `--version` is answered before typer (or anything heavy) is imported,
and so are a plain `run`/`exec` and bash completion of a command name (llmspell_cli/fast_path.py)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run the llmspell command line."""
    try:
        _main(argv)
    except SystemExit as done:
        _leave_native_threads(done.code)
        raise
    _leave_native_threads(0)


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"]):
        from llmspell_kernel import __version__

        sys.stdout.write(f"llmspell {__version__}\n")
        return
    from llmspell_cli.fast_path import complete, parse

    if "_LLMSPELL_COMPLETE" in os.environ:
        completions = complete(os.environ)
        if completions is not None:
            sys.stdout.write(completions)
            return
    command = parse(args, os.environ)
    try:
        if command is not None:
            sys.exit(command())
        from llmspell_cli.main import app

        app(args=args, prog_name="llmspell")
    except BrokenPipeError:
        # The reader went away (`llmspell ... | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    finally:
        _quick_exit_gc()


def _leave_native_threads(code: object) -> None:
    """End the process now, with `code`, when the bundled local model's server runs (or is
    being started) in it.

    llama.cpp's server threads keep working on a request the script no longer waits for (a
    step's timeout, an error); the C++ exit handlers that a normal exit runs after the
    interpreter has finalized free what those threads still use, and the process ended with
    SIGSEGV (exit 139) instead of its own code. Here atexit's handlers run and the standard
    streams are flushed first, as a normal exit would; only the native teardown is skipped.
    """
    local = sys.modules.get("llmspell_kernel.providers.local")
    if local is None or not local.running():
        return
    import atexit

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("text"): the text goes to stderr and the status is 1
        sys.stderr.write(f"{code}\n")
        status = 1
    import threading

    getattr(threading, "_shutdown", lambda: None)()  # joins non-daemon threads, as exit does
    atexit._run_exitfuncs()
    # Files still open are flushed as finalization would (their buffers die with the process).
    import gc
    import io

    gc.unfreeze()
    writers = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
    for stream in [sys.stdout, sys.stderr] + [o for o in gc.get_objects() if type(o) in writers]:
        try:
            if not stream.closed:
                stream.flush()
        except (OSError, ValueError):
            pass
    try:  # and C's stdio streams (a privileged script's io.open files), as exit() would
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass
    os._exit(status & 0xFF)


def _quick_exit_gc() -> None:
    """Move every live object out of the collector's sight before the interpreter exits.

    The command is done and its files are flushed and closed; what is left is thousands of
    objects from typer, rich and the kernel that the final collections would scan for nothing
    (about 7 ms, an eighth of `llmspell exec 'return 1'`). Objects are still freed by
    reference counting and atexit handlers still run; only cyclic garbage is left to the
    operating system, as it is at any process exit.
    """
    import gc

    gc.freeze()


if __name__ == "__main__":
    main()
