"""llmspell command line: a thin typer face over llmspell_kernel."""
