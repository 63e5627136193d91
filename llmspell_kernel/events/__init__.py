"""The event bus (lua-api.md 2.5): publish/subscribe with glob patterns, one correlation id per
execution, persistence in the state database and delivery to attached clients on IOPub."""
