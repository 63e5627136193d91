"""Workflows (lua-api.md 2.10): definitions, conditions, placeholders, runs and the registry.

workflow.lua drives the steps (they run agents, tools and Lua functions on the script's thread);
this package holds what needs no Lua: parsing and validating a definition, substituting
`{{...}}` placeholders, checking data conditions, keeping a run's outputs and records, and
writing them to the state store.
"""
