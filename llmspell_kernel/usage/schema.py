"""The `provider_calls` table's schema (its columns are described in usage/log.py, which owns
the table). Apart so that opening the state database, which runs this migration, does not
load usage/log.py and its dataclasses on the first event a script stores."""

TABLE = "provider_calls"

# Migration 2 of the state database (state/database.py runs it; backups copy the table).
SCHEMA = """
    CREATE TABLE provider_calls (
        tenant TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, session_id TEXT,
        correlation_id TEXT NOT NULL, agent TEXT, provider TEXT NOT NULL, model TEXT NOT NULL,
        operation TEXT NOT NULL, input_tokens INTEGER, cached_input_tokens INTEGER,
        output_tokens INTEGER, cost_pico_usd INTEGER, price_checked TEXT,
        latency_ms REAL NOT NULL, first_token_ms REAL, status TEXT NOT NULL, error TEXT,
        PRIMARY KEY (tenant, id)
    );
    CREATE INDEX provider_calls_by_time ON provider_calls (tenant, at);
    CREATE INDEX provider_calls_by_session ON provider_calls (tenant, session_id, at)
"""
