"""Jupyter connection files: five ports, an address and the signing key, written owner-only."""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from llmspell_kernel.errors import KernelConnectionError

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


class ConnectionInfo:
    """Where a kernel listens and how messages are signed."""

    def __init__(
        self,
        ip: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        key: str = "",
        transport: str = "tcp",
        signature_scheme: str = "hmac-sha256",
        kernel_name: str = "llmspell",
    ) -> None:
        self.ip = ip
        self.ports = dict(ports or dict.fromkeys(PORT_NAMES, 0))
        self.key = key
        self.transport = transport
        self.signature_scheme = signature_scheme
        self.kernel_name = kernel_name

    def __getattr__(self, name: str) -> int:
        ports = self.__dict__.get("ports", {})
        if name in ports:
            return ports[name]
        raise AttributeError(name)

    def url(self, port_name: str) -> str:
        """`tcp://ip:port` for one of the five ports."""
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.transport}://{host}:{self.ports[port_name]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ports,
            "ip": self.ip,
            "key": self.key,
            "transport": self.transport,
            "signature_scheme": self.signature_scheme,
            "kernel_name": self.kernel_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionInfo:
        try:
            ports = {name: int(data[name]) for name in PORT_NAMES}
        except (KeyError, TypeError, ValueError) as exc:
            raise KernelConnectionError(f"connection info lacks a valid {exc}") from exc
        return cls(
            ip=str(data.get("ip", "127.0.0.1")),
            ports=ports,
            key=str(data.get("key", "")),
            transport=str(data.get("transport", "tcp")),
            signature_scheme=str(data.get("signature_scheme", "hmac-sha256")),
            kernel_name=str(data.get("kernel_name", "llmspell")),
        )

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ConnectionInfo:
        """Load a connection file; KernelConnectionError when missing or invalid."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KernelConnectionError(f"connection file not found: {path}") from exc
        except (OSError, ValueError) as exc:
            raise KernelConnectionError(f"cannot read connection file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise KernelConnectionError(f"{path} is not a Jupyter connection file")
        return cls.from_dict(data)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically with mode 0600 (the file holds the signing key)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        return target

    @classmethod
    def allocate(cls, ip: str = "127.0.0.1", base_port: int | None = None) -> ConnectionInfo:
        """New info with a fresh key: ports base..base+4, or 0 (bound to random ports later)."""
        if base_port:
            ports = {name: base_port + offset for offset, name in enumerate(PORT_NAMES)}
            for name, port in ports.items():
                if not _port_free(ip, port):
                    raise OSError(
                        f"port {port} ({name.removesuffix('_port')}) on {ip} is already in use"
                    )
        else:
            ports = dict.fromkeys(PORT_NAMES, 0)
        return cls(ip=ip, ports=ports, key=secrets.token_hex(32))


def _port_free(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # ZeroMQ listens with SO_REUSEADDR too, so ports in TIME_WAIT are usable.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True
