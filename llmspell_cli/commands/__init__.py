"""One module per command group; each holds typer declarations only."""
