"""The gateway pieces that need no Enterprise Gateway: `gateway://` addresses, the gateway
kernelspecs `kernel install --gateway` writes, and the remote launcher's protocol, driven by the
test in the gateway's place (response socket, RSA key, comm port) with a real kernel behind it.
tests/test_enterprise_gateway.py runs the same parts under the real gateway."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from llmspell_kernel.errors import UsageError
from llmspell_kernel.gateway.address import is_gateway_address, parse_gateway_address
from llmspell_kernel.gateway.launcher import allocate_connection, parse_port_range
from llmspell_kernel.gateway.payload import encrypt_connection_info
from tests.processes import llmspell


# -- addresses ------------------------------------------------------------------------------------
def test_gateway_address_names_urls_kernelspec_and_ownership() -> None:
    plain = parse_gateway_address("gateway://127.0.0.1:8888")
    assert (plain.http_url, plain.ws_url) == ("http://127.0.0.1:8888", "ws://127.0.0.1:8888")
    assert plain.kernel_name == "llmspell" and plain.owns_kernel
    full = parse_gateway_address("gateways://eg.example:443/gw/?kernel=lua_k8s&keep=1")
    assert full.http_url == "https://eg.example:443/gw"
    assert full.ws_url == "wss://eg.example:443/gw"
    assert full.kernel_name == "lua_k8s" and full.keep and not full.owns_kernel
    joined = parse_gateway_address("gateway://[::1]:9000?kernel_id=abc-1")
    assert joined.http_url == "http://[::1]:9000" and joined.kernel_id == "abc-1"
    assert not joined.owns_kernel and joined.display == "gateway://[::1]:9000"
    assert is_gateway_address("GATEWAY://h:1") and not is_gateway_address("tcp://h:1")


def test_gateway_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSPELL_GATEWAY_TOKEN", "s3cret")
    assert parse_gateway_address("gateway://h:1").token == "s3cret"


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("gateway://:8888", "no host"),
        ("gateway://h:99999", "port"),
        ("gateway://h:1?kernal=x", "unknown parameter 'kernal'"),
        ("gateway://h:1?keep=maybe", "keep must be"),
        ("gateway://h:1?kernel=a&kernel=b", "given twice"),
    ],
)
def test_bad_gateway_address_is_a_usage_error_naming_the_fault(text: str, fault: str) -> None:
    with pytest.raises(UsageError, match=fault):
        parse_gateway_address(text)


def test_run_with_a_bad_gateway_address_exits_2(tmp_path: Path) -> None:
    (tmp_path / "s.lua").write_text("return 1\n")
    result = llmspell("run", "--connect", "gateway://127.0.0.1:1?nope=1", "s.lua")
    assert result.returncode == 2
    assert (
        result.stderr.startswith("error: bad gateway address") and "Traceback" not in result.stderr
    )


def test_run_against_a_gateway_that_is_not_there_fails_fast_with_exit_4(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "s.lua").write_text("return 1\n")
    started = time.monotonic()
    result = llmspell("run", "--connect", f"gateway://127.0.0.1:{port}", "s.lua")
    assert result.returncode == 4, result.stderr
    assert f"error: no gateway answered at gateway://127.0.0.1:{port}" in result.stderr
    assert time.monotonic() - started < 20


# -- kernelspecs ----------------------------------------------------------------------------------
def _installed(prefix: Path, name: str) -> dict[str, Any]:
    spec = prefix / "share" / "jupyter" / "kernels" / name / "kernel.json"
    return dict(json.loads(spec.read_text()))


def test_kernel_install_gateway_local_adds_the_local_process_proxy(tmp_path: Path) -> None:
    result = llmspell("kernel", "install", "--gateway", "local", "--prefix", str(tmp_path))
    assert result.returncode == 0, result.stderr
    spec = _installed(tmp_path, "llmspell")
    assert spec["metadata"]["process_proxy"]["class_name"] == (
        "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"
    )
    assert spec["argv"][1:] == ["-m", "llmspell_kernel", "-f", "{connection_file}"]
    assert spec["metadata"]["debugger"] is True and spec["interrupt_mode"] == "message"


def test_kernel_install_gateway_distributed_runs_the_launcher(tmp_path: Path) -> None:
    result = llmspell(
        "--output",
        "json",
        "kernel",
        "install",
        "--gateway",
        "distributed",
        "--kernel-ip",
        "127.0.0.1",
        "--prefix",
        str(tmp_path),
        "--name",
        "lua_remote",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gateway"] == "distributed"
    spec = _installed(tmp_path, "lua_remote")
    assert spec["metadata"]["process_proxy"]["class_name"] == (
        "enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy"
    )
    argv = spec["argv"]
    assert argv[1:3] == ["-m", "llmspell_kernel.gateway.launcher"]
    for placeholder in ("{kernel_id}", "{response_address}", "{public_key}", "{port_range}"):
        assert placeholder in argv
    assert argv[-2:] == ["--ip", "127.0.0.1"]


@pytest.mark.parametrize(
    ("args", "fault"),
    [
        (["--gateway", "yarn"], "choose local or distributed"),
        (["--gateway", "local", "--kernel-ip", "127.0.0.1"], "distributed only"),
        (["--gateway", "distributed", "--kernel-ip", "here"], "not an IP address"),
    ],
)
def test_kernel_install_gateway_refuses_bad_options(
    tmp_path: Path, args: list[str], fault: str
) -> None:
    result = llmspell("kernel", "install", "--prefix", str(tmp_path), *args)
    assert result.returncode == 2 and fault in result.stderr, result.stderr


# -- the remote launcher, with this test in the gateway's place -----------------------------------
def test_port_range_is_parsed_and_respected() -> None:
    assert parse_port_range("0..0") == (0, 0) and parse_port_range(None) == (0, 0)
    low, high = parse_port_range("41000..42999")
    info = allocate_connection("127.0.0.1", (low, high))
    assert len(set(info.ports.values())) == 5
    assert all(low <= port <= high for port in info.ports.values())
    for bad in ("9..", "5..3", "0..10", "x..y"):
        with pytest.raises(ValueError):
            parse_port_range(bad)


def _decrypt(payload: bytes, private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """What the gateway's ResponseManager does with a version 1 payload."""
    document = json.loads(base64.b64decode(payload))
    assert document["version"] == 1
    aes_key = private_key.decrypt(base64.b64decode(document["key"]), asymmetric_padding.PKCS1v15())
    decryptor = Cipher(algorithms.AES(aes_key), modes.ECB()).decryptor()
    padded = decryptor.update(base64.b64decode(document["conn_info"])) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return dict(json.loads(unpadder.update(padded) + unpadder.finalize()))


def _public_key_text(private_key: rsa.RSAPrivateKey) -> str:
    """The public key as the gateway passes it: base64 DER, no PEM armour."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_payload_decrypts_with_the_gateways_private_key() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    info = {"shell_port": 1, "key": "k" * 64, "kernel_id": "abc"}
    assert (
        _decrypt(encrypt_connection_info(info, _public_key_text(private_key)), private_key) == info
    )
    with pytest.raises(ValueError, match="not a base64 DER key"):
        encrypt_connection_info(info, "bm90IGEga2V5")


def _send_comm(port: int, request: dict[str, Any]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(json.dumps(request).encode())


RANGE = "43000..44999"


@pytest.mark.slow
def test_launcher_reports_a_working_kernel_and_obeys_the_comm_port(tmp_path: Path) -> None:
    from llmspell_kernel.api import connect_to_kernel
    from llmspell_kernel.protocol.connection import PORT_NAMES, ConnectionInfo

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    response = socket.socket()
    response.bind(("127.0.0.1", 0))
    response.listen(1)
    response.settimeout(60)
    kernel_id = "5d3c1f0e-0000-4000-8000-00000000c0de"
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmspell_kernel.gateway.launcher",
            "--RemoteProcessProxy.kernel-id",
            kernel_id,
            "--RemoteProcessProxy.response-address",
            f"127.0.0.1:{response.getsockname()[1]}",
            "--ip",
            "127.0.0.1",
        ],
        # As a Kubernetes pod gets them from the gateway's pod template.
        env={**os.environ, "PUBLIC_KEY": _public_key_text(private_key), "PORT_RANGE": RANGE},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        conn, _peer = response.accept()
        with conn:
            conn.settimeout(30)
            chunks = []
            while chunk := conn.recv(4096):
                chunks.append(chunk)
        reported = _decrypt(b"".join(chunks), private_key)
        assert reported["kernel_id"] == kernel_id and reported["pid"] == launcher.pid
        assert reported["pgid"] == os.getpgid(launcher.pid)
        comm_port = int(reported.pop("comm_port"))
        low, high = parse_port_range(RANGE)
        ports = [reported[name] for name in PORT_NAMES] + [comm_port]
        assert all(low <= port <= high for port in ports) and len(set(ports)) == 6
        client = connect_to_kernel(ConnectionInfo.from_dict(reported), timeout=30)
        try:
            outputs = client.execute("print('remote'); return 6 * 7").wait()
            assert [getattr(o, "text", None) for o in outputs] == ["remote\n", "42"]
            _send_comm(comm_port, {"signum": 0})  # the gateway's liveness poll: nothing happens
            assert client.execute("return 1").wait()[0].text == "1"
        finally:
            client.close()
        _send_comm(comm_port, {"signum": int(signal.SIGTERM)})
        assert launcher.wait(timeout=30) == 0
        assert not (Path(os.environ["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json").exists()
    finally:
        response.close()
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        assert launcher.stderr is not None
        launcher.stderr.close()


def test_launcher_without_the_gateways_arguments_says_what_is_missing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmspell_kernel.gateway.launcher", "--kernel-id", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the gateway must pass --response-address, --public-key"
    )
