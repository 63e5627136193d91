"""`llmspell kernel start/status/stop/install` and `--connect`, through the real CLI in
subprocesses, against kernels on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import daemon_kernel, free_port_block, llmspell, spawn_llmspell

pytestmark = pytest.mark.slow


@pytest.fixture()
def daemon(isolated_home: Path) -> Iterator[int]:
    with daemon_kernel("svc") as port:
        yield port


def test_daemon_keeps_state_between_commands_then_stops_cleanly(
    daemon: int, tmp_path: Path, isolated_home: Path
) -> None:
    script = tmp_path / "s.lua"
    script.write_text('counter = (counter or 0) + 1\nprint("name", ARGS.name)\nreturn counter\n')
    address = f"localhost:{daemon}"

    first = llmspell("run", str(script), "--connect", address, "--", "--name", "x")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "name\tx\n1\n"

    second = llmspell("exec", "return counter, ARGS.name", "--connect", f"tcp://127.0.0.1:{daemon}")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "1\tnil\n"  # the counter kept; the run's ARGS gone
    args_gone = llmspell("exec", "return ARGS.name == nil", "--connect", address)
    assert args_gone.stdout == "true\n"  # ARGS applied to that run only

    by_id = llmspell("exec", "return counter + 1", "--connect", "svc")
    assert by_id.stdout.strip() == "2"

    status = llmspell("kernel", "status", "--output", "json")
    assert status.returncode == 0, status.stderr
    [entry] = json.loads(status.stdout)
    assert entry["id"] == "svc" and entry["address"] == f"127.0.0.1:{daemon}"
    assert entry["executions"] >= 3 and entry["state"] == "idle"
    connection_file = Path(entry["connection_file"])
    assert connection_file.stat().st_mode & 0o777 == 0o600
    ports = json.loads(connection_file.read_text())
    assert [ports[f"{name}_port"] for name in ("shell", "iopub", "stdin", "control", "hb")] == [
        daemon + offset for offset in range(5)
    ]

    stopped = llmspell("kernel", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped kernel svc" in stopped.stdout
    assert not connection_file.exists()
    assert json.loads(llmspell("kernel", "status", "--output", "json").stdout) == []


def test_remote_error_keeps_the_script_name_and_line(daemon: int, tmp_path: Path) -> None:
    script = tmp_path / "broken.lua"
    script.write_text("local x = 1\nerror('boom')\n")
    result = llmspell("run", str(script), "--connect", f"localhost:{daemon}")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().endswith("broken.lua:2: boom")


def test_output_of_a_remote_run_streams_as_it_is_printed(daemon: int, tmp_path: Path) -> None:
    script = tmp_path / "slow.lua"
    script.write_text(
        "print('first')\nlocal t = os.clock() while os.clock() - t < 1.0 do end\nprint('second')\n"
    )
    with spawn_llmspell("run", str(script), "--connect", f"localhost:{daemon}") as process:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        first_at = time.monotonic()
        rest = process.stdout.read()
        done_at = time.monotonic()
        process.wait(timeout=10)
    assert first_line == "first\n" and rest == "second\n"
    assert done_at - first_at > 0.5  # 'first' arrived long before the script ended


def test_ctrl_c_on_a_connected_run_interrupts_the_remote_script(
    daemon: int, tmp_path: Path
) -> None:
    script = tmp_path / "loop.lua"
    script.write_text("print('looping')\nwhile true do end\n")
    with spawn_llmspell("run", str(script), "--connect", f"localhost:{daemon}") as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "looping\n"
        process.send_signal(2)
        assert process.wait(timeout=10) == 130
    after = llmspell("exec", "return 'kernel still serves'", "--connect", f"localhost:{daemon}")
    assert after.stdout == "kernel still serves\n"


def test_unreachable_kernel_fails_within_five_seconds_with_exit_4(tmp_path: Path) -> None:
    port = free_port_block()
    dead = tmp_path / "kernel-dead.json"
    dead.write_text(
        json.dumps(
            {
                "ip": "127.0.0.1",
                "transport": "tcp",
                "shell_port": port,
                "iopub_port": port + 1,
                "stdin_port": port + 2,
                "control_port": port + 3,
                "hb_port": port + 4,
                "key": "k",
                "signature_scheme": "hmac-sha256",
            }
        )
    )
    os.chmod(dead, 0o600)
    started = time.monotonic()
    result = llmspell("exec", "return 1", "--connect", str(dead))
    elapsed = time.monotonic() - started
    assert result.returncode == 4
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert elapsed < 8.0


def test_unknown_kernel_name_is_exit_4_with_a_hint() -> None:
    result = llmspell("exec", "return 1", "--connect", "no-such-kernel")
    assert result.returncode == 4
    assert result.stderr.startswith("error: ")
    assert "hint:" in result.stderr


def test_foreground_kernel_stops_after_idle_timeout(isolated_home: Path) -> None:
    started = time.monotonic()
    result = llmspell("kernel", "start", "--idle-timeout", "1", "--id", "idle", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "idle for 1 s, stopping" in result.stderr
    assert time.monotonic() - started < 15
    assert json.loads(llmspell("kernel", "status", "--output", "json").stdout) == []


def test_stop_of_an_unknown_kernel_is_a_usage_error() -> None:
    result = llmspell("kernel", "stop", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no running kernel with id 'nope'")


@pytest.mark.parametrize("args", [[], ["--all"]], ids=["only", "all"])
def test_stopping_whatever_runs_when_nothing_runs_succeeds(args: list[str]) -> None:
    result = llmspell("kernel", "stop", *args)
    assert (result.returncode, result.stdout, result.stderr) == (0, "no kernels running\n", "")
    machine = llmspell("kernel", "stop", *args, "--output", "json")
    assert json.loads(machine.stdout) == {"stopped": []}


def test_a_stopped_kernels_log_is_kept(isolated_home: Path) -> None:
    from llmspell_kernel.registry import records_dir

    with daemon_kernel("logged"):
        pass
    log = records_dir() / "logged.log"
    assert log.is_file()  # why it stopped can still be read


def test_kernel_install_writes_a_kernelspec_jupyter_can_launch(tmp_path: Path) -> None:
    result = llmspell("kernel", "install", "--prefix", str(tmp_path / "prefix"), "--name", "lua-x")
    assert result.returncode == 0, result.stderr
    spec_file = tmp_path / "prefix" / "share" / "jupyter" / "kernels" / "lua-x" / "kernel.json"
    spec = json.loads(spec_file.read_text())
    assert spec["language"] == "lua"
    assert spec["interrupt_mode"] == "message"
    assert spec["argv"][1:4] == ["-m", "llmspell_kernel", "-f"]
    assert spec["argv"][-1] == "{connection_file}"


def test_kernel_interrupt_stops_another_clients_runaway_loop(daemon: int) -> None:
    code = "print('spin') while true do end"
    with spawn_llmspell("exec", code, "--connect", f"localhost:{daemon}") as runaway:
        assert runaway.stdout is not None and runaway.stdout.readline() == "spin\n"
        result = llmspell("kernel", "interrupt", "svc")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "interrupted kernel svc\n"
        assert runaway.wait(timeout=10) == 130  # interrupted, as with Ctrl-C
        assert runaway.stderr is not None and "interrupted" in runaway.stderr.read()


def test_kernel_interrupt_waits_until_a_stuck_script_is_replaced(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script inside one long C call ignores the interrupt: `kernel interrupt` reports success
    only once the kernel has replaced its Lua state and serves again (issue 10 item 2)."""
    monkeypatch.setenv("LLMSPELL_ENGINES_LUA_INTERRUPT_GRACE_SECONDS", "0.5")
    port = free_port_block()
    started = llmspell("kernel", "start", "--daemon", "--port", str(port), "--id", "stuck")
    assert started.returncode == 0, started.stderr
    code = 'print("spin") return string.find(string.rep("a", 60), string.rep("a*", 12) .. "b")'
    try:
        with spawn_llmspell("exec", code, "--connect", f"localhost:{port}") as stuck:
            assert stuck.stdout is not None and stuck.stdout.readline() == "spin\n"
            result = llmspell("kernel", "interrupt", "stuck")
            assert result.returncode == 0, result.stderr
            assert result.stdout == "interrupted kernel stuck\n"
            assert stuck.wait(timeout=30) == 1
            assert stuck.stderr is not None and "replaced its Lua state" in stuck.stderr.read()
        again = llmspell("exec", "return 6 * 7", "--connect", f"localhost:{port}")
        assert again.returncode == 0 and again.stdout == "42\n"
    finally:
        llmspell("kernel", "stop", "stuck", "--force")


def test_status_cleans_up_after_a_kernel_that_died(daemon: int) -> None:
    [entry] = json.loads(llmspell("kernel", "status", "--output", "json").stdout)
    os.kill(entry["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(entry["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    assert json.loads(llmspell("kernel", "status", "--output", "json").stdout) == []
    assert not Path(entry["connection_file"]).exists()
    gone = llmspell("exec", "return 1", "--connect", "svc")
    assert gone.returncode == 4


def test_kernel_connect_without_a_running_kernel_says_how_to_start_one() -> None:
    result = llmspell("kernel", "connect")
    assert result.returncode == 4
    assert result.stderr == (
        "error: no kernel is running\nhint: start one with `llmspell kernel start --daemon`\n"
    )


def test_debug_a_script_in_a_running_kernel(daemon: int, tmp_path: Path) -> None:
    """`llmspell debug --connect`: breakpoints and stops over debug_request/debug_event, the
    script's globals stay in the kernel, and the next run is not slowed by a debugger."""
    script = tmp_path / "dbg.lua"
    script.write_text(
        "local function add(a, b)\n"
        "  local c = a + b\n"
        "  return c\n"
        "end\n"
        "total = 0\n"
        "for i = 1, 3 do\n"
        "  total = add(total, i)\n"
        "end\n"
        "print('total', total, ARGS.tag)\n"
    )
    address = f"localhost:{daemon}"
    commands = ".locals\n.next\n.print c * 10\n.bt\n.continue\n"
    result = llmspell(
        "debug",
        str(script),
        "--break",
        f"{script}:2:b == 2",
        "--connect",
        address,
        "--",
        "--tag",
        "x",
        stdin=commands,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "breakpoint 1 at dbg.lua:2" in out
    assert "stopped (breakpoint) at dbg.lua:2 in add" in out
    assert "  a = 1\n  b = 2\n" in out
    assert "stopped (step) at dbg.lua:3 in add" in out
    assert "debug> 30\n" in out
    assert "#2 main chunk at dbg.lua:7" in out
    assert out.rstrip().endswith("total\t6\tx")
    assert llmspell("exec", "return total", "--connect", address).stdout.strip() == "6"
    # the session ended with the command: the same script runs through without stopping
    again = llmspell("run", str(script), "--connect", address, "--", "--tag", "y")
    assert again.returncode == 0 and again.stdout.strip() == "total\t6\ty"


def test_debug_connect_to_nothing_is_exit_4(isolated_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text("return 1\n")
    result = llmspell("debug", str(script), "--connect", "localhost:1")
    assert result.returncode == 4
    assert result.stderr.startswith("error: ")


def test_a_client_notices_when_its_kernel_dies_mid_request(daemon: int) -> None:
    """The heartbeat keeps answering while Lua spins; once the kernel is killed, the waiting
    client gives up with exit 4 instead of hanging."""
    [entry] = json.loads(llmspell("kernel", "status", "--output", "json").stdout)
    code = "print('spin') while true do end"
    with spawn_llmspell("exec", code, "--connect", f"localhost:{daemon}") as waiting:
        assert waiting.stdout is not None and waiting.stdout.readline() == "spin\n"
        time.sleep(2.5)  # longer than a heartbeat round: a busy kernel is not a dead one
        assert waiting.poll() is None
        os.kill(entry["pid"], signal.SIGKILL)
        killed = time.monotonic()
        assert waiting.wait(timeout=15) == 4
        assert time.monotonic() - killed < 8
        assert waiting.stderr is not None
        assert "stopped answering (no heartbeat" in waiting.stderr.read()


def test_every_execution_of_a_kernel_service_is_recorded_in_a_session(daemon: int) -> None:
    for code in ("x = 20", "return x + 1"):
        assert llmspell("exec", code, "--connect", "svc").returncode == 0
    listed = json.loads(llmspell("session", "list", "--kernel", "svc", "--output", "json").stdout)
    [session] = listed["sessions"]
    assert session["name"] == "kernel svc" and session["execution_count"] == 2
    replay = llmspell("session", "replay", session["id"], "--kernel", "svc")
    assert replay.returncode == 0 and "2 of 2 steps reproduced" in replay.stdout
    # a script's own session still becomes the current one
    own = llmspell(
        "exec", "local s = Session.create() return Session.get_current() == s", "--connect", "svc"
    )
    assert own.stdout.strip() == "true"


def test_debugging_an_edited_script_again_uses_its_new_text(daemon: int, tmp_path: Path) -> None:
    script = tmp_path / "edit.lua"
    script.write_text("local a = 1\nprint(a)\n")
    first = llmspell(
        "debug", str(script), "--connect", "svc", "--break", f"{script}:2", stdin=".c\n"
    )
    assert "stopped (breakpoint) at edit.lua:2" in first.stdout
    script.write_text("local a = 1\nprint(a)\nlocal b = 2\nlocal c = 3\nprint(a + b + c)\n")
    again = llmspell(
        "debug", str(script), "--connect", "svc", "--break", f"{script}:5", stdin=".print c\n.c\n"
    )
    assert " at edit.lua:5\n" in again.stdout and "holds no code" not in again.stdout
    assert "stopped (breakpoint) at edit.lua:5" in again.stdout
    assert "debug> 3\n" in again.stdout


@pytest.mark.parametrize("mode", [[], ["--daemon"]], ids=["foreground", "daemon"])
def test_kernel_start_on_a_busy_port_says_so_once_with_a_hint(mode: list[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = llmspell("kernel", "start", *mode, "--port", str(port), timeout=60)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot start the kernel on 127.0.0.1:{port}: ")
    assert "already in use" in lines[0]
    assert lines[1].startswith("hint: the kernel needs ports")
    assert len(lines) == 2
