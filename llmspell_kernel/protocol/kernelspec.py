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
    user: bool = True,
    sys_prefix: bool = False,
    prefix: str | None = None,
    name: str = "llmspell",
    gateway: str | None = None,
    kernel_ip: str | None = None,
) -> Path:
    """Install into the user's, the environment's or a prefix's Jupyter data directory."""
    from jupyter_client.kernelspec import KernelSpecManager

    if sys_prefix:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory() as staging:
        write_kernelspec(Path(staging) / name, gateway=gateway, kernel_ip=kernel_ip)
        installed = KernelSpecManager().install_kernel_spec(
            str(Path(staging) / name), kernel_name=name, user=user and not prefix, prefix=prefix
        )
    return Path(installed)
