"""Lua's io.read / io.lines / io.stdin on standard input, as `llmspell run s.lua < input` gives it:
every case is checked against real Lua 5.4 (liolib.c, as lupa ships it, reading the same file or
pipe), on a terminal (tmux), through Jupyter's input_request, and the embedded kernel's input
channel never hands a late answer to the next read."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from llmspell_kernel.api import start_embedded_kernel
from llmspell_kernel.protocol.kernelspec import write_kernelspec
from tests.processes import wait_until_ready
from tests.tmux_driver import TmuxSession

pytestmark = pytest.mark.slow

# Prints what each read returned: the count of values, then each one quoted (nil as nil).
SHOW = """
local function show(...)
  local out = {tostring(select("#", ...))}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    out[#out + 1] = type(v) == "string" and string.format("%q", v) or tostring(v)
      .. (math.type(v) == "float" and "f" or "")
  end
  io.write(table.concat(out, " "), "\\n")
end
"""

SCRIPTS = {
    "lines": 'for line in io.lines() do show(line) end show("done")',
    "count_then_line": "show(io.read(3)) show(io.read()) show(io.read(2)) show(io.read('L'))",
    "all_twice": 'show(io.read("a")) show(io.read("a")) show(io.read()) show(io.read(0))',
    "L_lines": 'show(io.read("L")) show(io.read("L")) show(io.read("L")) show(io.read("L"))',
    "numbers": "for _ = 1, 6 do show(io.read('n')) show(io.read(1)) end",
    "formats_stop_at_failure": 'show(io.read("l", "n", "l", "l")) show(io.read("l", "l"))',
    "old_spellings": 'show(io.read("*l")) show(io.read("*L")) show(io.read("line")) show(io.read("*a"))',
    "stdin_handle": "show(io.stdin:read('l', 1)) for a, b in io.stdin:lines(2, 'L') do show(a, b) end",
    "lines_with_formats": "for n in io.lines(nil, 'n') do show(n) end show(io.read('a'))",
    "zero_and_big_counts": "show(io.read(0)) show(io.read(100000)) show(io.read(0)) show(io.read(5))",
    "number_edge_cases": "for _ = 1, 8 do show(io.read('n')) show(io.read('l')) end",
}

INPUTS = {
    "lines": "first\nsecond line\n\nlast without newline",
    "newline_end": "abcdef\nxy\n",
    "empty": "",
    "numbers": "  42 0x1F\n-3.5e2 12abc\n+7 .5e1\n1e+ 0x 9",
    "number_edges": "0x1p4\n- 5\n007\n1.5.5\ninf\n" + "9" * 250 + "\n3\n",
    "utf8": "héllo wörld\nß\n",
}


def _reference(script: str, stdin_file: Path) -> str:
    """What real Lua 5.4 prints for `script` reading `stdin_file` (lupa's unrestricted io)."""
    driver = (
        "import sys, lupa.lua54 as l; r = l.LuaRuntime(); "
        "r.execute(open(sys.argv[1], encoding='utf-8').read()); r.execute('io.stdout:flush()')"
    )
    source = stdin_file.with_suffix(".ref.lua")
    source.write_text(SHOW + script, encoding="utf-8")
    with stdin_file.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-c", driver, str(source)],
            stdin=stdin,
            capture_output=True,
            timeout=30,
        )
    assert done.returncode == 0, done.stderr
    # a read may cut a UTF-8 sequence: llmspell prints U+FFFD for the stray byte (lua-api.md 1.3)
    return done.stdout.decode("utf-8", errors="replace")


def _llmspell(script_path: Path, *, stdin_file: Path | None = None, data: str = "") -> str:
    argv = [sys.executable, "-m", "llmspell_cli", "run", str(script_path)]
    if stdin_file is not None:
        with stdin_file.open("rb") as stdin:
            done = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=60)
    else:  # a real pipe
        done = subprocess.run(argv, input=data.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize("input_name", sorted(INPUTS))
def test_reads_match_real_lua_from_a_file_and_a_pipe(tmp_path: Path, input_name: str) -> None:
    stdin_file = tmp_path / "input.txt"
    stdin_file.write_bytes(INPUTS[input_name].encode("utf-8"))
    for name, body in SCRIPTS.items():
        script = tmp_path / f"{name}.lua"
        script.write_text(SHOW + body, encoding="utf-8")
        expected = _reference(body, stdin_file)
        assert _llmspell(script, stdin_file=stdin_file) == expected, (name, "file")
        assert _llmspell(script, data=INPUTS[input_name]) == expected, (name, "pipe")


def test_a_big_file_is_read_line_by_line_quickly(tmp_path: Path) -> None:
    stdin_file = tmp_path / "big.txt"
    stdin_file.write_text("".join(f"{i}\n" for i in range(200_000)))
    script = tmp_path / "count.lua"
    script.write_text(
        "local n, s = 0, 0 for l in io.lines() do n = n + 1 s = s + #l end print(n, s)"
    )
    # was an endless loop (io.read() returned "" at end of input); 10 s would mean one round
    # trip to the client per line
    out = _llmspell(script, stdin_file=stdin_file)
    assert out == f"200000\t{sum(len(str(i)) for i in range(200_000))}\n"


def test_invalid_formats_are_lua_errors_on_the_scripts_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.lua"
    cases = {
        'io.read("x")': "bad argument #1 to 'read' (invalid format)",
        'io.read("l", {})': "bad argument #2 to 'read' (string expected, got table)",
        "io.read(1.5)": "bad argument #1 to 'read' (number has no integer representation)",
        'io.stdin:read("q")': "bad argument #1 to 'read' (invalid format)",
        'io.lines(nil, "z")': "bad argument #1 to 'lines' (invalid format)",
        'io.stdin.read("l")': "read: call with ':' not '.'",
    }
    for code, message in cases.items():
        script.write_text(f"local x = 1\n{code}\n")
        done = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "run", str(script)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 1
        assert done.stderr == f"error: bad.lua:2: {message}\n", code


def test_input_shares_the_buffer_and_is_nil_at_end(tmp_path: Path) -> None:
    script = tmp_path / "ask.lua"
    script.write_text(
        'print(io.read(2)) print(input("rest? ")) print(input("name? ")) print(input("more? "))'
    )
    out = _llmspell(script, data="abcd\nAda\n")
    assert out == "ab\nrest? cd\nname? Ada\nmore? nil\n"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_reads_from_a_terminal(tmp_path: Path, isolated_home: Path) -> None:
    script = tmp_path / "term.lua"
    script.write_text(
        'io.write("go\\n") local a = io.read(3) local b = io.read() print("got " .. a .. "|" .. b)\n'
        'print("n " .. io.read("n") .. " " .. tostring(io.read("L") == "\\n"))\n'
        'for line in io.lines() do print("line " .. line) end print("end " .. tostring(io.read()))\n'
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(isolated_home),
        "XDG_CONFIG_HOME": str(isolated_home / ".config"),
        "XDG_DATA_HOME": str(isolated_home / ".local/share"),
        "TERM": "xterm-256color",
    }
    term = TmuxSession([sys.executable, "-m", "llmspell_cli", "run", str(script)], env)
    try:
        term.wait_for("go")
        term.line("abcdef")
        term.wait_for("got abc|def")
        term.line("  42")
        term.wait_for("n 42 true")
        term.line("one")
        term.wait_for("line one")
        term.keys("C-d")  # end of input at the start of a line
        term.wait_for("end nil")
    finally:
        term.close()


def test_jupyter_input_request_lines_all_and_end_of_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_client import BlockingKernelClient

    specs = tmp_path / "jupyter-path"
    write_kernelspec(specs / "kernels" / "llmspell-stdin")
    monkeypatch.setenv("JUPYTER_PATH", str(specs))
    manager = KernelManager(kernel_name="llmspell-stdin")
    manager.start_kernel()
    client = BlockingKernelClient(connection_file=manager.connection_file)
    client.load_connection_file()
    client.start_channels()
    try:
        wait_until_ready(client)
        code = (
            'local a = io.read(3) local b = io.read() local all = io.read("a")\n'
            "local lines = {} for l in io.lines() do lines[#lines + 1] = l end\n"
            'print(a, b, string.format("%q", all), #lines, lines[1], input("q? "))'
        )
        msg_id = client.execute(code, allow_stdin=True)
        # a client answers one line per input_request; "" ends "a", "\x04" (jupyter_console's
        # Ctrl-D) ends the input
        for answer in ("abcdef", "x", "y", "", "one", "two", "\x04", "last"):
            request = client.get_stdin_msg(timeout=10)
            assert request["header"]["msg_type"] == "input_request"
            client.input(answer)
        reply = client.get_shell_msg(timeout=10)
        assert reply["content"]["status"] == "ok", reply["content"]
        text = ""
        while True:
            msg = client.get_iopub_msg(timeout=10)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["header"]["msg_type"] == "stream":
                text += msg["content"]["text"]
            if (
                msg["header"]["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        assert text == 'abc\tdef\t"x\\\ny\\\n"\t2\tone\tlast\n'
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_late_answer_to_a_timed_out_read_is_not_the_next_reads_answer() -> None:
    answers = iter(["late answer", "fresh answer"])
    release = threading.Event()

    def answer(_prompt: str, _password: bool) -> str:
        value = next(answers)
        if value == "late answer":
            release.wait(30)  # the person answers after the read has timed out
        return value

    with start_embedded_kernel() as kernel:
        first, other = kernel.client(input_handler=answer), kernel.client()
        timed_out: list[object] = []
        reader = threading.Thread(
            target=lambda: timed_out.extend(
                first.execute("return io.read()", timeout=0.3, stop_on_error=False)
            )
        )
        reader.start()
        # the kernel runs one execution at a time: this one ends after the timed-out read
        assert [o.text for o in other.execute("return 1")] == ["1"]
        release.set()
        reader.join(30)
        assert "timed out" in repr(timed_out)
        assert [o.text for o in first.execute("return io.read()")] == ['"fresh answer"']
