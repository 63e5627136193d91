"""The kernelspec that lets JupyterLab, `jupyter console` and jupyter_client launch llmspell."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

# Shipped in llmspell_kernel/data and installed beside kernel.json: JupyterLab's launcher and
# kernel picker show them.
LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def kernelspec(display_name: str = "llmspell (Lua)") -> dict[str, Any]:
    """The kernel.json content."""
    return {
        "argv": [sys.executable, "-m", "llmspell_kernel", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "lua",
        "interrupt_mode": "message",
        "metadata": {"debugger": True},
    }


def write_kernelspec(
    directory: str | Path,
    display_name: str = "llmspell (Lua)",
    *,
    gateway: str | None = None,
    kernel_ip: str | None = None,
) -> Path:
    """Write kernel.json and the logos into `directory` (created if needed); `gateway`
    (`local`, `distributed`) adds what Enterprise Gateway needs to launch it."""
    from importlib.resources import files

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    spec = kernelspec(display_name)
    if gateway:
        from llmspell_kernel.gateway.kernelspec import gateway_kernelspec

        gateway_kernelspec(spec, gateway, kernel_ip)
    (target / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    data = files("llmspell_kernel") / "data"
    for name in LOGOS:
        (target / name).write_bytes((data / name).read_bytes())
    return target


def install_kernelspec(
    *,
    user: bool = False,
    sys_prefix: bool = False,
    prefix: str | None = None,
    name: str = "llmspell",
    gateway: str | None = None,
    kernel_ip: str | None = None,
) -> Path:
    """Install into the user's (the default), the environment's or a prefix's Jupyter data
    directory; a bad choice of options is a UsageError, a directory that cannot be written an
    LlmspellError."""
    import ipaddress
    import re

    from jupyter_client.kernelspec import KernelSpecManager

    from llmspell_kernel.errors import LlmspellError, UsageError

    if sum(bool(x) for x in (user, sys_prefix, prefix)) > 1:
        raise UsageError("choose one of --user, --sys-prefix and --prefix")
    if gateway is not None and gateway not in ("local", "distributed"):
        raise UsageError(f"--gateway '{gateway}': choose local or distributed")
    if kernel_ip is not None and gateway != "distributed":
        raise UsageError("--kernel-ip applies to --gateway distributed only")
    if kernel_ip is not None:
        try:
            ipaddress.ip_address(kernel_ip)
        except ValueError:
            raise UsageError(f"--kernel-ip '{kernel_ip}' is not an IP address") from None
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name or ""):
        raise UsageError(
            f"kernel name '{name}' may only hold ASCII letters, digits, '-', '.' and '_'"
        )
    if sys_prefix:
        prefix = sys.prefix
    try:
        with tempfile.TemporaryDirectory() as staging:
            write_kernelspec(Path(staging) / name, gateway=gateway, kernel_ip=kernel_ip)
            installed = KernelSpecManager().install_kernel_spec(
                str(Path(staging) / name), kernel_name=name, user=not prefix, prefix=prefix
            )
    except OSError as exc:
        raise LlmspellError(f"cannot install the kernelspec: {exc}") from exc
    return Path(installed)
