"""Kernelspecs for Jupyter Enterprise Gateway: the plain llmspell kernelspec plus the
`metadata.process_proxy` stanza that tells the gateway how to launch the kernel.

`local`: the gateway starts the kernel as a child process with a connection file it wrote, as
jupyter_client does, so the argv is the usual `python -m llmspell_kernel -f {connection_file}`.
`distributed`: the gateway starts the launcher on one of its remote hosts (over SSH, or directly
when the host is its own), which reports the connection information back to the gateway's
response address (llmspell_kernel.gateway.launcher).
"""

from __future__ import annotations

import sys
from typing import Any

_PROXIES = "enterprise_gateway.services.processproxies"
PROCESS_PROXIES = {
    "local": f"{_PROXIES}.processproxy.LocalProcessProxy",
    "distributed": f"{_PROXIES}.distributed.DistributedProcessProxy",
}
# The placeholders Enterprise Gateway fills in when it launches a remote kernel.
REMOTE_ARGUMENTS = (
    "--RemoteProcessProxy.kernel-id",
    "{kernel_id}",
    "--RemoteProcessProxy.response-address",
    "{response_address}",
    "--RemoteProcessProxy.public-key",
    "{public_key}",
    "--RemoteProcessProxy.port-range",
    "{port_range}",
)


def gateway_kernelspec(spec: dict[str, Any], mode: str, kernel_ip: str | None = None) -> None:
    """Turn the plain kernelspec `spec` into one for the gateway's `mode` proxy (in place)."""
    if mode not in PROCESS_PROXIES:
        raise ValueError(f"unknown gateway mode '{mode}' (choose {' or '.join(PROCESS_PROXIES)})")
    spec["metadata"]["process_proxy"] = {"class_name": PROCESS_PROXIES[mode]}
    spec["display_name"] = f"{spec['display_name']} via gateway ({mode})"
    if mode == "distributed":
        argv = [sys.executable, "-m", "llmspell_kernel.gateway.launcher", *REMOTE_ARGUMENTS]
        if kernel_ip:
            argv += ["--ip", kernel_ip]
        spec["argv"] = argv
