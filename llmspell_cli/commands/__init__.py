"""One module per command group; each holds typer declarations only. The table of commands
lives here, apart from typer, so that shell completion of a command name needs no framework."""

# Subcommands are imported only when used (llmspell_cli/main.py): typer turns every command's
# signature into click parameters when it builds a command, and building all of them cost more
# than running `exec`.
# name -> (module, the one-line help that `llmspell --help` lists)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("llmspell_cli.commands.run", "Run a Lua script."),
    "exec": ("llmspell_cli.commands.run", "Run a Lua snippet; `-` reads it from stdin."),
    "repl": (
        "llmspell_cli.commands.repl",
        "Interactive Lua REPL, embedded or on a running kernel.",
    ),
    "debug": (
        "llmspell_cli.commands.debug",
        "Debug a Lua script: stop at breakpoints, step, inspect variables.",
    ),
    "kernel": ("llmspell_cli.commands.kernel", "Run and manage shared kernel services."),
    "config": ("llmspell_cli.commands.config", "Create, check and show the configuration (TOML)."),
    "state": ("llmspell_cli.commands.state", "Read and change scoped state."),
    "session": ("llmspell_cli.commands.session", "Inspect, expire, delete and replay sessions."),
    "backup": ("llmspell_cli.commands.backup", "Snapshots of state, sessions and artifacts."),
    "keys": ("llmspell_cli.commands.keys", "Store provider API keys owner-only."),
    "usage": ("llmspell_cli.commands.usage", "Provider calls, tokens and cost."),
    "prices": (
        "llmspell_cli.commands.prices",
        "Model prices in force: `llmspell prices list|show MODEL|update`.",
    ),
    "events": (
        "llmspell_cli.commands.events",
        "Published events by correlation id, type and time; --follow for live ones.",
    ),
    "rag": ("llmspell_cli.commands.rag", "Ingest documents and search them (RAG)."),
    "tools": ("llmspell_cli.commands.tools", "Built-in tools: `llmspell tools list|info NAME`."),
    "help": ("llmspell_cli.commands.help", "Lua API reference: `llmspell help lua [NAME]`."),
    "workflow": (
        "llmspell_cli.commands.workflow",
        "Workflows a kernel built and the recorded runs: `llmspell workflow list|show NAME`.",
    ),
    "app": (
        "llmspell_cli.commands.app",
        "The example applications: `llmspell app list|info|run|validate`.",
    ),
}
