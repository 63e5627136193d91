"""Persistent scoped state: the store, its backends, import/export and backups."""
