"""Helpers shared by the state, session, keys and backup tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from llmspell_cli.main import app
from llmspell_kernel.api import kernel_settings_from_config, start_embedded_kernel
from llmspell_kernel.config import load_config

runner = CliRunner()


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Run the real CLI in-process."""
    return runner.invoke(app, list(args), input=input, env=env)


def cli_json(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run the CLI with --output json; the parsed document (asserts success)."""
    result = cli("--output", "json", *args, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def write_config(path: Path, text: str = "") -> Path:
    """A configuration file whose store lives in `path`'s directory."""
    db = path.parent / "data" / "state.db"
    path.write_text(f'[state]\npath = "{db}"\n{text}', encoding="utf-8")
    return path


def run_lua(code: str, config: Path | None = None) -> tuple[str, Any, str]:
    """Run Lua in an embedded kernel: (stdout, result, error text)."""
    settings = kernel_settings_from_config(load_config(config).config)
    with start_embedded_kernel(settings) as kernel:
        client = kernel.client()
        execution = client.execute(code)
        out, result, error = "", None, ""
        for item in execution:
            name = type(item).__name__
            if name == "Stream":
                out += item.text
            elif name == "Result":
                result = item.data.get("application/json", item.text)
            elif name == "ErrorOutput":
                error = item.evalue
        client.close()
    return out, result, error
