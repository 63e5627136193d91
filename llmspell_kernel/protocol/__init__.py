"""Jupyter messaging protocol 5.3: building, parsing and signing messages."""
