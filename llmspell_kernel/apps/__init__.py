"""The applications: the nine shipped with llmspell (examples/applications, installed as package
data under `apps/shipped`) and any directory holding a `main.lua` and a `config.toml`; how to
find them (catalogue), run them in a fresh kernel (runner), check what they produced (checks)
and judge a whole suite against its targets (validation, report)."""
