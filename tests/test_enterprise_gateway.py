"""llmspell kernels launched by a real Jupyter Enterprise Gateway on 127.0.0.1, with the local
process proxy and the distributed one (whose remote host is this machine, so the gateway starts
the launcher directly, without SSH, and the launcher reports back over the response address).

Enterprise Gateway pins an old jupyter_client, so it gets a virtualenv of its own, built once per
test session under the session's tmp dir (with a cold pip cache: 31 s on an idle 2-core machine,
130-150 s at load 9; `pip install` fails only without PyPI, and then these tests are skipped
with pip's own words). The kernels it
starts run this interpreter (the kernelspec's argv), with llmspell as installed here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port_block, llmspell

pytestmark = pytest.mark.slow

GATEWAY_REQUIREMENT = "jupyter_enterprise_gateway>=3.2,<4"
LOCAL, REMOTE = "llmspell", "llmspell_remote"  # the two kernelspecs the gateway offers
STARTED = re.compile(r"started kernel (\S+)")
KEPT = re.compile(r"gateway kernel (\S+) left running")


def _free_port() -> int:
    return free_port_block(1)  # outside the ephemeral range (tests/processes.py)


@pytest.fixture(scope="session")
def gateway_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a virtualenv holding Enterprise Gateway (ENTERPRISE_GATEWAY_PYTHON names an
    existing one, to skip the build while working on these tests)."""
    existing = os.environ.get("ENTERPRISE_GATEWAY_PYTHON")
    if existing:
        return Path(existing)
    root = tmp_path_factory.mktemp("enterprise-gateway-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    started = time.monotonic()
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check"]
        + [GATEWAY_REQUIREMENT],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if install.returncode != 0:
        lines = [line for line in install.stderr.splitlines() if line.startswith("ERROR")]
        lines = lines or install.stderr.strip().splitlines() or [f"exit {install.returncode}"]
        pytest.skip(f"cannot pip install {GATEWAY_REQUIREMENT}: {' | '.join(lines[-3:])}")
    sys.stderr.write(f"\n[enterprise gateway venv built in {time.monotonic() - started:.1f} s]\n")
    return python


@dataclass
class Gateway:
    url: str  # gateway://127.0.0.1:PORT
    http: str  # http://127.0.0.1:PORT
    log: Path

    def kernel_exists(self, kernel_id: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http}/api/kernels/{kernel_id}", timeout=10):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def interrupt_kernel(self, kernel_id: str) -> None:
        """What a notebook front end's stop button does."""
        url = f"{self.http}/api/kernels/{kernel_id}/interrupt"
        request = urllib.request.Request(url, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204

    def delete_kernel(self, kernel_id: str) -> None:
        request = urllib.request.Request(f"{self.http}/api/kernels/{kernel_id}", method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204


@pytest.fixture(scope="module")
def gateway(gateway_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Enterprise Gateway on 127.0.0.1 offering the two llmspell kernelspecs."""
    root = tmp_path_factory.mktemp("enterprise-gateway")
    prefix = root / "prefix"
    for args in (
        ["--gateway", "local", "--name", LOCAL],
        ["--gateway", "distributed", "--kernel-ip", "127.0.0.1", "--name", REMOTE],
    ):
        installed = llmspell("kernel", "install", "--prefix", str(prefix), *args)
        assert installed.returncode == 0, installed.stderr
    (root / "kernel-logs").mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
        "EG_KERNEL_LOG_DIR": str(root / "kernel-logs"),  # the distributed proxy's kernel logs
        "EG_RESPONSE_IP": "127.0.0.1",
        "EG_RESPONSE_PORT": str(_free_port()),
        "EG_REMOTE_HOSTS": "127.0.0.1",  # local to the gateway: launched without SSH
        "EG_UNAUTHORIZED_USERS": "nobody",  # tests may run as root, which EG refuses by default
    }
    log = root / "gateway.log"
    with log.open("w") as log_handle:
        process = subprocess.Popen(
            [str(gateway_python), "-m", "enterprise_gateway", "--ip=127.0.0.1", f"--port={port}"]
            + ["--port_retries=0", "--debug"],
            env=env,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
    http = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{http}/api/kernelspecs", timeout=5) as response:
                    specs = json.loads(response.read())["kernelspecs"]
                assert {LOCAL, REMOTE} <= set(specs), specs
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
        yield Gateway(url=f"gateway://127.0.0.1:{port}", http=http, log=log)
    finally:
        process.send_signal(signal.SIGTERM)  # the gateway shuts its kernels down as it exits
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _spawn(*args: str, limit: float = 180) -> Iterator[subprocess.Popen[str]]:
    """`llmspell ARGS` with pipes; killed after `limit` seconds, so a test reading its output
    fails (at end of file) instead of hanging the suite when an answer never comes."""
    with subprocess.Popen(
        [sys.executable, "-m", "llmspell_cli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        watchdog = threading.Timer(limit, process.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield process
        finally:
            watchdog.cancel()


@pytest.mark.parametrize("kernel", [LOCAL, REMOTE])
def test_run_through_the_gateway_streams_output_reads_stdin_and_prints_the_result(
    gateway: Gateway, tmp_path: Path, kernel: str
) -> None:
    script = tmp_path / "greet.lua"
    script.write_text(
        'print("waiting for a name")\n'
        'local name = io.read("l")\n'
        'print("hello " .. name)\n'
        "return {greeted = name, sum = 1 + 2}\n"
    )
    with _spawn(
        "--trace", "info", "run", "--connect", f"{gateway.url}?kernel={kernel}", str(script)
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        # Streamed: the first line arrives while the script still waits for its input.
        assert process.stdout.readline() == "waiting for a name\n"
        process.stdin.write("Ada\n")
        process.stdin.close()
        rest = process.stdout.read()
        assert process.stderr is not None
        stderr = process.stderr.read()
        assert process.wait(timeout=60) == 0, stderr
    assert rest.splitlines()[0] == "hello Ada"
    assert 'greeted = "Ada"' in rest and "sum = 3" in rest
    started = STARTED.search(stderr)
    assert started, stderr
    assert not gateway.kernel_exists(started.group(1))  # shut down through REST


@pytest.mark.parametrize("kernel", [LOCAL, REMOTE])
def test_interrupt_through_the_gateway_exits_130_and_shuts_the_kernel_down(
    gateway: Gateway, tmp_path: Path, kernel: str
) -> None:
    script = tmp_path / "spin.lua"
    script.write_text('print("spinning")\nwhile true do end\n')
    with _spawn(
        "--trace", "info", "run", "--connect", f"{gateway.url}?kernel={kernel}", str(script)
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == "spinning\n"
        process.send_signal(signal.SIGINT)  # Ctrl-C: an interrupt_request over the websocket
        assert process.wait(timeout=60) == 130
        stderr = process.stderr.read()
    assert "error: interrupted" in stderr
    started = STARTED.search(stderr)
    assert started, stderr
    assert not gateway.kernel_exists(started.group(1))


def _pid_of_kernel(kernel_id: str) -> int:
    """The local kernel process the gateway started for `kernel_id` (its connection file's name
    is on its command line)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if f"kernel-{kernel_id}.json" in command and "llmspell_kernel" in command:
                return int(entry.name)
    raise AssertionError(f"no process for kernel {kernel_id}")


def test_a_kernel_killed_mid_run_ends_the_run_with_exit_4_not_a_hang(
    gateway: Gateway, tmp_path: Path
) -> None:
    script = tmp_path / "spin.lua"
    script.write_text('print("spinning")\nwhile true do end\n')
    with _spawn("--trace", "info", "run", "--connect", gateway.url, str(script)) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == "spinning\n"
        started = None
        while started is None:  # the log line naming the kernel (--trace info)
            line = process.stderr.readline()
            assert line, "the run ended without naming its kernel"
            started = STARTED.search(line)
        os.kill(_pid_of_kernel(started.group(1)), signal.SIGKILL)
        assert process.wait(timeout=60) == 4
        stderr = process.stderr.read()
    assert "stopped answering" in stderr and "Traceback" not in stderr
    assert not gateway.kernel_exists(started.group(1))  # the restarted kernel is shut down too


def test_script_error_through_the_gateway_exits_1_with_the_lua_message(
    gateway: Gateway, tmp_path: Path
) -> None:
    (tmp_path / "bad.lua").write_text('print("before")\nlocal t = nil\nreturn t.field\n')
    result = llmspell("run", "--connect", gateway.url, "bad.lua", timeout=120)
    assert result.returncode == 1
    assert result.stdout == "before\n"
    assert result.stderr.startswith("error: bad.lua:3: attempt to index a nil value")


def test_keep_leaves_the_kernel_running_for_a_later_join(gateway: Gateway) -> None:
    kept = llmspell("exec", "--connect", f"{gateway.url}?keep=1", "counter = 41", timeout=120)
    assert kept.returncode == 0, kept.stderr
    match = KEPT.search(kept.stderr)
    assert match, kept.stderr
    kernel_id = match.group(1)
    try:
        joined = llmspell(
            "exec", "--connect", f"{gateway.url}?kernel_id={kernel_id}", "return counter + 1"
        )
        assert (joined.returncode, joined.stdout) == (0, "42\n"), joined.stderr
        assert gateway.kernel_exists(kernel_id)  # joining does not take the kernel over
    finally:
        gateway.delete_kernel(kernel_id)
    gone = llmspell("exec", "--connect", f"{gateway.url}?kernel_id={kernel_id}", "return 1")
    assert gone.returncode == 4 and f"has no kernel {kernel_id}" in gone.stderr


def test_unknown_kernelspec_is_named_with_those_the_gateway_has(gateway: Gateway) -> None:
    result = llmspell("exec", "--connect", f"{gateway.url}?kernel=python9", "return 1")
    assert result.returncode == 4
    assert "has no kernelspec 'python9'" in result.stderr and LOCAL in result.stderr


@pytest.mark.parametrize("kernel", [LOCAL, REMOTE])
def test_notebook_cells_execute_and_stream_output_through_the_gateway(
    gateway: Gateway, tmp_path: Path, kernel: str
) -> None:
    """A notebook run as a notebook front end runs it: cell by cell on one kernel, outputs
    recorded in the notebook (nbformat's records) as they stream in, input answered, and a
    runaway cell stopped with the gateway's REST interrupt once its first output is in."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from llmspell_kernel.api import connect_to_kernel
    from llmspell_kernel.client import ErrorOutput, Result, Stream

    notebook = new_notebook(
        cells=[
            new_code_cell("total = 0\nfor i = 1, 3 do total = total + i end"),
            new_code_cell('local go = io.read("l")\nprint("partial", total, go)'),
            new_code_cell('print("spinning")\nwhile true do end'),
            new_code_cell("return {total = total, doubled = total * 2}"),
            new_code_cell('error("cell five fails")'),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "lua"}
    client = connect_to_kernel(
        f"{gateway.url}?kernel={kernel}", input_handler=lambda _prompt, _pw: "go", timeout=60
    )
    kernel_id = client.transport.kernel.kernel_id  # type: ignore[attr-defined]
    try:
        for cell in notebook.cells:
            execution = client.execute(cell.source)
            for output in execution:
                if isinstance(output, Stream):
                    cell.outputs.append(new_output("stream", name=output.name, text=output.text))
                    if output.text == "spinning\n":  # streamed while the cell still runs
                        gateway.interrupt_kernel(kernel_id)
                elif isinstance(output, Result):
                    data = output.data
                    count = output.execution_count
                    cell.outputs.append(
                        new_output("execute_result", data=data, execution_count=count)
                    )
                elif isinstance(output, ErrorOutput):
                    cell.outputs.append(
                        new_output(
                            "error",
                            ename=output.ename,
                            evalue=output.evalue,
                            traceback=output.traceback,
                        )
                    )
            assert execution.reply is not None
            cell.execution_count = execution.reply.get("execution_count")
    finally:
        client.close()
    assert not gateway.kernel_exists(kernel_id)
    path = tmp_path / "run.ipynb"
    nbformat.write(notebook, path)
    done = nbformat.read(path, as_version=4)
    nbformat.validate(done)
    first, second, third, fourth, fifth = done.cells
    assert first.outputs == []
    assert [o["text"] for o in second.outputs] == ["partial\t6\tgo\n"]
    assert third.outputs[0]["text"] == "spinning\n"
    assert third.outputs[1]["output_type"] == "error" and third.outputs[1]["ename"] == "Interrupted"
    assert fourth.outputs[0]["data"]["application/json"] == {"total": 6, "doubled": 12}
    assert fifth.outputs[0]["output_type"] == "error"
    assert "cell five fails" in fifth.outputs[0]["evalue"]
    assert [c.execution_count for c in done.cells] == [1, 2, 3, 4, 5]
