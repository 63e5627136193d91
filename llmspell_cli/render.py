"""The one place that prints results: text for people, one JSON or YAML document for programs."""

from __future__ import annotations

import sys

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


class Renderer:
    """Prints command results in the chosen output format (`text`, `json` or `yaml`)."""

    def __init__(self, output: str = "text", stream: TextIO | None = None) -> None:
        self.output = output
        self.stream = stream if stream is not None else sys.stdout

    @property
    def machine(self) -> bool:
        """True when stdout must hold exactly one machine-readable document."""
        return self.output in ("json", "yaml")

    def document(self, data: Any) -> None:
        """Print `data` as the single JSON/YAML document (or as readable text in text mode)."""
        if self.output == "json":
            import json

            self.stream.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
            self.stream.write("\n")
        elif self.output == "yaml":
            import yaml

            self.stream.write(
                yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
            )
        else:
            self.text_value(data)
        self.stream.flush()

    def text(self, line: str = "") -> None:
        """Print a line of text (text mode only)."""
        self.stream.write(line + "\n")
        self.stream.flush()

    def text_value(self, data: Any) -> None:
        """Readable rendering of plain data in text mode."""
        if isinstance(data, str):
            self.text(data)
        elif isinstance(data, dict):
            self._text_mapping(data, 0)
        else:
            import json

            self.text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))

    def _text_mapping(self, data: dict[str, Any], indent: int) -> None:
        import json

        pad = "  " * indent
        for key in sorted(data):
            value = data[key]
            if isinstance(value, dict) and value:
                self.text(f"{pad}{key}:")
                self._text_mapping(value, indent + 1)
            else:
                shown = (
                    json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                )
                self.text(f"{pad}{key}: {shown}")

    def table(
        self,
        title: str | None,
        columns: list[str],
        rows: list[list[Any]],
        *,
        whole: tuple[str, ...] = (),
    ) -> None:
        """A table in text mode (rich); callers use `document` for json/yaml. Columns named in
        `whole` (ids, keys) are never shortened or wrapped."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_edge=False, header_style="bold")
        for column in columns:
            if column in whole:
                table.add_column(column, no_wrap=True, overflow="ignore", min_width=1)
            else:
                table.add_column(column)
        from rich.text import Text

        for row in rows:
            # Text, not str: cells hold user data ("[/x]", ":x:"), never rich markup or emoji.
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        width = None
        if whole and not (hasattr(self.stream, "isatty") and self.stream.isatty()):
            # Piped: as wide as the content, so ids and keys survive intact.
            cells = [columns, *[["" if c is None else str(c) for c in row] for row in rows]]
            width = sum(max(len(r[i]) for r in cells) + 3 for i in range(len(columns)))
        Console(file=self.stream, width=width).print(table)


def warn(message: str) -> None:
    """A warning line on stderr."""
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()
