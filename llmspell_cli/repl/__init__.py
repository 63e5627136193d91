"""The interactive REPL: a prompt_toolkit front end that is only a client of KernelClient."""
