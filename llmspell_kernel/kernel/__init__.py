"""The kernel server: request handlers, executor and control threads."""
