"""Tools agents and scripts can call (the catalogue grows with the Tool issue)."""
