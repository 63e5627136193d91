"""`python -m llmspell_kernel.gateway.launcher`: the kernel as Enterprise Gateway's remote process
proxies (distributed over SSH, Kubernetes, YARN...) launch it.

Such a proxy writes no connection file: it passes `--kernel-id`, `--response-address IP:PORT`,
`--public-key` and `--port-range L..U` (also spelled `--RemoteProcessProxy.kernel-id` and so on,
as the gateway's own kernelspecs do; a container it starts gets KERNEL_ID, RESPONSE_ADDRESS,
PUBLIC_KEY and PORT_RANGE in its environment instead). The launcher binds the kernel's five
ports (inside the range when one is given), sends their connection information, encrypted with
the public key, to the response address, and listens on one more port (`comm_port`) for the gateway's requests:
`{"signum": N}` (0 is the gateway's liveness poll; 2 interrupts; 15 stops) and
`{"shutdown": 1}` (the gateway is done with the listener).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import threading

from llmspell_kernel.__main__ import add_kernel_options, launched_kernel_settings, serve_launched
from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.protocol.connection import PORT_NAMES, ConnectionInfo

# How long the gateway's response address may take to accept the connection information.
RESPONSE_TIMEOUT = 30.0
PORT_ATTEMPTS = 100  # random picks inside a port range before giving up


def parse_port_range(text: str | None) -> tuple[int, int]:
    """`L..U` as (L, U); (0, 0) (any free port) for none, `0..0` or an empty value."""
    if not text or text == "{port_range}":
        return 0, 0
    low_text, sep, high_text = text.partition("..")
    try:
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise ValueError(f"port range '{text}' is not LOW..HIGH") from None
    if not sep or not (0 <= low <= high <= 65535) or (low == 0) != (high == 0):
        raise ValueError(f"port range '{text}' is not LOW..HIGH within 1..65535")
    return low, high


def bind_in_range(ip: str, port_range: tuple[int, int]) -> socket.socket:
    """A TCP socket bound on `ip` to a free port inside `port_range` (any port for (0, 0))."""
    low, high = port_range
    for _attempt in range(PORT_ATTEMPTS if high else 1):
        sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
        try:
            sock.bind((ip, random.randint(low, high) if high else 0))
        except OSError:
            sock.close()
            continue
        return sock
    raise OSError(f"no free port in {low}..{high} on {ip} after {PORT_ATTEMPTS} tries")


def allocate_connection(ip: str, port_range: tuple[int, int]) -> ConnectionInfo:
    """A fresh key and five distinct free ports inside the range (ZeroMQ binds them next)."""
    info = ConnectionInfo.allocate(ip)
    probes = [bind_in_range(ip, port_range) for _name in PORT_NAMES]
    try:
        ports = [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()
    if len(set(ports)) != len(ports):
        return allocate_connection(ip, port_range)
    info.ports = dict(zip(PORT_NAMES, ports, strict=True))
    return info


def send_connection_info(response_address: str, payload: bytes) -> None:
    """Deliver the encrypted payload to the gateway's response address (`IP:PORT`)."""
    host, sep, port_text = response_address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"response address '{response_address}' is not IP:PORT")
    with socket.create_connection((host.strip("[]"), int(port_text)), RESPONSE_TIMEOUT) as sock:
        sock.sendall(payload)


class GatewayListener:
    """Answers the gateway on the comm port, as its own launchers do: one JSON request per
    connection, read until the gateway closes its side."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.listen(8)
        self.sock.settimeout(1.0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="llmspell-eg-listener", daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        from llmspell_kernel import logs

        log = logs.get_logger("llmspell.gateway.launcher")
        while not self.stopped.is_set():
            try:
                conn, _peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            request = _read_request(conn)
            if request is None:
                log.warning("ignored a comm-port request that is not JSON")
                continue
            signum = request.get("signum")
            if isinstance(signum, int) and signum > 0:
                log.info("gateway sent signal %d", signum)
                # The process's own handlers act: SIGINT interrupts, SIGTERM stops the kernel.
                os.kill(os.getpid(), signum)
            if request.get("shutdown"):
                self.stopped.set()
        self.sock.close()


def _read_request(conn: socket.socket) -> dict[str, object] | None:
    chunks: list[bytes] = []
    with conn:
        conn.settimeout(5.0)
        try:
            while chunk := conn.recv(4096):
                chunks.append(chunk)
        except OSError:
            pass
    try:
        request = json.loads(b"".join(chunks).decode("utf-8"))
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def main(argv: list[str] | None = None) -> int:
    """Start a kernel for a gateway's remote process proxy and report it to the gateway."""
    parser = argparse.ArgumentParser(
        prog="python -m llmspell_kernel.gateway.launcher", description=__doc__
    )
    for name, help_text in (
        ("kernel-id", "the id the gateway gave the kernel"),
        ("response-address", "IP:PORT where the gateway waits for the connection information"),
        ("public-key", "the gateway's RSA public key (base64 DER)"),
        ("port-range", "LOW..HIGH: bind every port inside it (default: any free port)"),
    ):
        dest = name.replace("-", "_")
        # A container the gateway starts (Kubernetes, Docker) gets them in its environment.
        variable = dest.upper()
        default = os.environ.get(variable) or os.environ.get(f"EG_{variable}")
        parser.add_argument(
            f"--{name}", dest=dest, default=default, help=f"{help_text} (default: ${variable})"
        )
        parser.add_argument(
            f"--RemoteProcessProxy.{name}", dest=dest, default=default, help=argparse.SUPPRESS
        )
    parser.add_argument(
        "--ip",
        default="0.0.0.0",
        help="address the kernel binds (default 0.0.0.0: the gateway connects from its host)",
    )
    add_kernel_options(parser)
    args, unknown = parser.parse_known_args(argv)
    from llmspell_kernel import logs
    from llmspell_kernel.gateway.payload import encrypt_connection_info
    from llmspell_kernel.service import start_kernel_service

    logs.configure(args.trace, log_file=args.log_file)
    log = logs.get_logger("llmspell.gateway.launcher")
    if unknown:
        log.warning("ignoring launcher arguments: %s", " ".join(unknown))
    missing = [
        f"--{name}"
        for name, value in (
            ("kernel-id", args.kernel_id),
            ("response-address", args.response_address),
            ("public-key", args.public_key),
        )
        if not value
    ]
    if missing:
        sys.stderr.write(f"error: the gateway must pass {', '.join(missing)}\n")
        return 2
    try:
        port_range = parse_port_range(args.port_range)
        info = allocate_connection(args.ip, port_range)
        comm = GatewayListener(bind_in_range(args.ip, port_range))
        settings = launched_kernel_settings(args.config)
        connection_file = _runtime_file(args.kernel_id)
        info.write(connection_file)
        service = start_kernel_service(
            connection_file,
            kernel_id=args.kernel_id,
            settings=settings,
            reuse_connection_file=True,
        )
    except (LlmspellError, OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    service.kernel.on_stop.append(lambda: _remove(connection_file))
    report = {
        **service.connection_info.to_dict(),
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "comm_port": comm.port,
        "kernel_id": args.kernel_id,
    }
    try:
        send_connection_info(
            args.response_address, encrypt_connection_info(report, args.public_key)
        )
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: cannot report to the gateway at {args.response_address}: {exc}\n")
        service.stop()
        return 1
    comm.start()
    log.info("reported kernel %s to the gateway at %s", args.kernel_id, args.response_address)
    # The gateway may run on another host: it watches the kernel through the comm port and its
    # heartbeat, not through a parent process.
    return serve_launched(service, parent_pid=0)


def _runtime_file(kernel_id: str) -> str:
    from llmspell_kernel.registry import jupyter_runtime_dir

    return str(jupyter_runtime_dir() / f"kernel-{kernel_id}.json")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


if __name__ == "__main__":
    sys.exit(main())
