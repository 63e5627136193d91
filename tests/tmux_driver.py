"""Drive a terminal program in tmux as a person would: type, wait for the screen, read it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable


class TmuxSession:
    """A detached tmux session running one command; `remain-on-exit` keeps the last screen."""

    def __init__(
        self, command: list[str], env: dict[str, str], width: int = 110, height: int = 40
    ) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed")
        self.name = f"llmspell-{uuid.uuid4().hex[:8]}"
        self.socket = f"llmspell-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        shell = f"env {exports} {shlex.join(command)}"
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell)
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def type(self, text: str) -> None:
        """Type literal text (no key-name interpretation)."""
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def keys(self, *names: str) -> None:
        """Press named keys (Enter, Tab, Up, C-c, C-d)."""
        self._tmux("send-keys", "-t", self.name, *names)

    def line(self, text: str) -> None:
        self.type(text)
        self.keys("Enter")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", self.name, "-p", "-S", "-200")

    def wait_for(self, needle: str, timeout: float = 15.0, count: int = 1) -> str:
        """Wait until `needle` appears at least `count` times on the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(needle) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {needle!r}; screen was:\n{screen}")

    def wait_until(self, check: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        """Wait until `check(screen)` holds (e.g. the prompt is drawn again after output)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")

    def last_line(self) -> str:
        """The last non-empty line of the screen (where the cursor's input line is)."""
        lines = [line for line in self.screen().splitlines() if line.strip()]
        return lines[-1].rstrip() if lines else ""

    def dead(self) -> bool:
        return self._tmux("display-message", "-t", self.name, "-p", "#{pane_dead}").strip() == "1"

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
