"""The reference of the script-facing globals: one source for `help()` and inspect in Lua,
`llmspell help lua [GLOBAL]` and docs/lua-api.md (`python -m llmspell_kernel.lua.docs`)."""

from __future__ import annotations

import sys

MANUAL = "https://www.lua.org/manual/5.4/manual.html"

# The reference, in the order it is listed: `## section`, then `name | signature | doc` lines; a
# global's fields follow it as `Global.field`.
# Security levels: safe (the default) < privileged < unrestricted.
_REFERENCE = """
## llmspell globals
ARGS | | Script arguments after `--`: ARGS.name for --name value, ARGS[1].. positional.
arg | | Lua-style arguments: arg[0] is the script name, arg[1..n] the positional ones.
JSON | | JSON encoding and decoding: parse, stringify, null.
JSON.parse | (text) | Parse JSON text into a Lua value; raises 'JSON parse error: ...'.
JSON.stringify | (value [, pretty]) | Encode a value as JSON with sorted keys.
JSON.null | | Sentinel that encodes as JSON null.
Debug | | Logging to stderr with levels trace < debug < info < warn < error.
Debug.trace | (message [, module]) | Log at trace level.
Debug.debug | (message [, module]) | Log at debug level.
Debug.info | (message [, module]) | Log at info level.
Debug.warn | (message [, module]) | Log at warn level.
Debug.error | (message [, module]) | Log at error level.
Debug.log | (level, message [, module]) | Log at a named level.
Debug.logWithData | (level, message, data [, module]) | Log with JSON-encoded data.
Debug.setLevel | (level) | Set the minimum level; false for an unknown level.
Debug.getLevel | () | The current minimum level.
Debug.setEnabled | (flag) | Turn all Debug output on or off.
Debug.isEnabled | () | Whether Debug output is on.
Debug.timer | (name) | Start a timer: t:elapsed(), t:lap(name), t:stop() in ms.
Debug.dump | (value) | A readable rendering of a value.
Debug.stackTrace | ([opts]) | The current Lua stack as text.
Debug.stackTraceJson | ([opts]) | The current Lua stack as JSON.
Debug.getCapturedEntries | ([limit]) | Recent log entries.
Debug.clearCaptured | () | Forget captured log entries.
State | | Persistent scoped key/value state (scope global, session:<id>, custom:<id>, ...).
State.save | (scope, key, value) | Store a JSON-convertible value; saving nil deletes the key.
State.load | (scope, key) | The stored value, or nil.
State.delete | (scope, key) | Delete a key (a missing key is not an error).
State.list_keys | (scope) | The keys of a scope, sorted.
State.version | (scope, key) | version, value: read together (version 1 when written, +1 per change); nil when absent.
State.compare_and_set | (scope, key, expected_version, value) | Store only if the key is at expected_version (nil/0: absent); returns ok, version.
State.workflow_get | (exec_id, step_name) | A workflow step's record, or nil.
State.workflow_list | (exec_id) | The step names stored for a workflow execution.
State.agent_get | (agent_id, key) | A value under agent:<agent_id>.
State.agent_set | (agent_id, key, value) | Store a value under agent:<agent_id>.
State.tool_get | (tool_id, key) | A value under tool:<tool_id>.
State.tool_set | (tool_id, key, value) | Store a value under tool:<tool_id>.
Session | | Sessions: named, tagged units of work that own artifacts.
Session.create | ([opts]) | A new active session's id; opts {name, description, tags, metadata}.
Session.builder | () | A builder: :name(s) :description(s) :tag(s) :tags(t) :build() -> id.
Session.get | (id) | The session's metadata, or nil.
Session.list | ([query]) | Sessions' metadata; query {status, tags, name, limit} (name: exact or 'report*').
Session.save | (id) | Persist the session.
Session.load | (id) | Restore a saved session; returns its id.
Session.suspend | (id) | Suspend an active session.
Session.resume | (id) | Resume a suspended session.
Session.complete | (id) | Mark the session completed.
Session.fail | (id) | Mark the session failed.
Session.archive | (id) | Archive the session.
Session.delete | (id) | Delete the session and its artifacts.
Session.get_current | () | The current session's id, or nil.
Session.set_current | (id) | Make a session the current one.
Artifact | | Content stored in a session, versioned by name.
Artifact.store | (session_id, type, name, content [, metadata]) | Store content; returns its id table.
Artifact.store_file | (session_id, path, type [, metadata]) | Store a readable file.
Artifact.get | (session_id, id [, version]) | {content, metadata} of an artifact, or nil; id: id table, sequence, hash or name (latest version, or version).
Artifact.list | (session_id) | The session's artifacts' metadata ("" = the current session).
Artifact.delete | (session_id, id) | Delete an artifact (a name: its latest version); true when it existed.
Artifact.query | ([filter]) | Artifacts matching {session_id, type, name_pattern, tags, limit, ...}.
Agent | | LLM agents: Agent.builder():model('openai/gpt-4o-mini'):build():execute(input).
Agent.builder | () | An agent builder (:name :model :system_prompt ... :build()).
Agent.register | (cfg) | Register an agent from a configuration table; returns its name.
Agent.get | (name) | A registered agent, or nil.
Agent.list | () | The registered agents.
Agent.list_instances | () | The registered agents' names.
Agent.discover | () | The agent types ({{type = 'llm'}}).
Agent.get_info | (type) | A description of an agent type.
Agent.list_capabilities | () | What agents can do.
Agent.wrap_as_tool | (agent_name [, cfg]) | Register an agent as a tool; returns the tool name.
Agent.create | (...) | Deprecated: raises; use Agent.builder().
Tool | | Built-in and script-defined tools: Tool.invoke(name, params) -> {success, text, result, metadata}.
Tool.invoke | (name, params) | Run a tool; a bad parameter or a permission denial raises "Tool '<n>' execution failed: ...".
Tool.list | () | Every available tool: {name, description, version, category}.
Tool.get | (name) | A tool ({name, description, version, category, schema}; t:execute(params)), or nil.
Tool.exists | (name) | Whether a tool is available ('-' and '_' are interchangeable in names).
Tool.categories | () | The tool categories (filesystem, web, api, ..., custom).
Tool.discover | ([filter]) | Tools matching {category = ..., tag = substring of name or description}.
Tool.register | ({name, description, parameters, fn}) | Make a Lua function a tool that scripts and agents can call; returns its name.
Workflow | | Workflows of tool, agent, nested and Lua-function steps: Workflow.builder():sequential():add_step({...}):build():execute(input).
Workflow.builder | () | A builder: :name :sequential/:parallel/:conditional/:loop :add_step :condition :add_then_step :add_else_step :add_branch :with_range :with_collection :with_while :max_iterations :max_concurrency :error_strategy :timeout_ms :build().
Workflow.sequential | (cfg) | A sequential workflow from {name, steps, error_strategy, timeout_ms}.
Workflow.parallel | (cfg) | A parallel workflow from {name, steps, max_concurrency, ...}; agent steps wait side by side.
Workflow.conditional | (cfg) | A conditional workflow from {name, steps, branches = {{condition, steps}}, default_branch = {steps}}.
Workflow.loop | (cfg) | A loop from {name, iterator = {range, collection or while_condition}, body = {steps}, max_iterations}.
Workflow.types | () | {"sequential", "conditional", "loop", "parallel"}.
Workflow.list | () | The built workflows: {id, name, type}.
Workflow.get | (id_or_name) | A built workflow (wf:execute(input) -> {success, text, outputs, metadata}), or nil.
Workflow.remove | (id_or_name) | Forget a workflow; true when it existed.
Workflow.clear | () | Forget every workflow.
Hook | | Callbacks at 23 points of agents, tools and workflows that can modify, replace, skip, cancel, redirect or retry.
Hook.register | (point, fn(ctx) [, priority]) | Register a hook (PascalCase or snake_case point; priority name or integer); a handle with :id() :hook_point() :unregister().
Hook.unregister | (handle_or_id) | Remove a hook; true when it was registered.
Hook.list | ([filter]) | Registered hooks {id, name, hook_point, priority, language, ...}; filter a point name or {hook_point, language, priority, tag}.
Event | | Publish and subscribe with glob patterns; system events of agents, tools and workflows share the request's correlation id.
Event.publish | (event_type, data [, opts]) | Publish an event; opts {correlation_id, ttl_seconds, language}; its id.
Event.subscribe | (pattern [, opts]) | A subscription id; '*' matches any run of characters, '?' one character.
Event.receive | (sub_id [, timeout_ms]) | The next event {id, event_type, data, timestamp, correlation_id, ...}, or nil after the timeout (default 5000; 0 polls).
Event.unsubscribe | (sub_id) | Cancel a subscription; true when it existed.
Event.list_subscriptions | () | The subscriptions {id, pattern, language}.
Event.get_stats | () | {published, delivered, dropped, active_subscriptions}.
Provider | | The configured LLM providers.
Provider.list | () | Providers with {name, enabled, capabilities}.
Provider.get | (name) | A provider's entry, or nil.
Provider.getCapabilities | (name) | What a provider supports, or nil.
Provider.isAvailable | (name) | Whether a provider is configured or has a key.
Config | | The effective configuration, read-only; secrets (api_key, *_key, *token, *secret, *password) read as "***".
Config.get | ([path]) | The value at a dotted path, e.g. "tools.file_operations.allowed_paths", or nil; no path: the whole table.
Config.getSection | (name) | A top-level section ("runtime", "tools", "rag", ...), or nil.
Config.getProvider | (name) | A [providers.<name>] table, or nil.
Config.listProviders | () | The names of the configured providers, sorted.
Config.getDefaultEngine | () | "lua".
Config.getSecurity | () | The [runtime.security] table.
Config.getTools | () | The [tools] table.
Config.isFileAccessAllowed | ([path]) | Whether the path lies inside tools.file_operations.allowed_paths; no path: whether any is set.
Config.isNetworkAccessAllowed | () | runtime.security.allow_network_access.
Config.setProvider | (...) | Raises 'Config is read-only' (as do setSecurity, addAllowedPath, snapshot, restoreSnapshot).
Config.setSecurity | (...) | Raises 'Config is read-only'.
Config.addAllowedPath | (...) | Raises 'Config is read-only'.
Config.snapshot | (...) | Raises 'Config is read-only'.
Config.restoreSnapshot | (...) | Raises 'Config is read-only'.
RAG | | Documents chunked, embedded and searched (hybrid BM25 + vectors); scopes and tenants.
RAG.ingest | (doc_or_docs [, opts]) | Store {content, metadata} documents; opts {scope, scope_id, tenant_id, chunk_size, chunk_overlap}.
RAG.ingest_batch | (docs [, opts]) | The same as RAG.ingest for an array of documents.
RAG.search | (query [, opts]) | {success, total, results} (also r[1..n]); opts {top_k/k/limit, scope, scope_id, tenant_id, threshold, metadata_filter, mode}.
RAG.get_stats | (scope [, scope_id]) | {total_vectors, total_documents, total_tokens, total_storage_bytes, ...}.
RAG.configure | (opts) | Change this engine's settings: provider, embedding_model, collection, chunk_size, overlap, search_limit.
RAG.config | | Read-only snapshot of [rag] with RAG.configure's changes, e.g. RAG.config.multi_tenant.
RAG.save | () | Write changed HNSW indexes to disk (they are also written at exit).
RAG.cleanup_scope | (scope, scope_id) | Delete a scope's documents and vectors; the count removed.
RAG.list_providers | () | Names [rag] provider may take: local and OpenAI-format providers.
RAG.create_session_collection | (session_id [, ttl]) | A session's scope; vectors ingested later expire after ttl seconds.
RAG.configure_session | ({session_id, vector_ttl}) | Set the vector TTL of a session's scope.
input | ([prompt]) | Read a line from the user (stdin channel); nil at end of input.
display | (value [, mimetype]) | Show a value in a notebook (a MIME type for text).
clear_output | ([wait]) | Clear the notebook cell's output.
help | (name) | Show this reference's entry for a name, e.g. help("JSON.parse").
## Lua basics
print | (...) | Write the values, tab-separated, and a newline to the output stream.
type | (v) | The type of v as a string.
tostring | (v) | Convert v to a string (honours __tostring).
tonumber | (v [, base]) | Convert v to a number, or nil.
pairs | (t) | Iterate over all key/value pairs of t.
ipairs | (t) | Iterate over t[1], t[2], ... until the first nil.
next | (t [, key]) | The next key/value pair of t after key.
select | (n, ...) | Arguments after the n-th, or their count with '#'.
pcall | (f, ...) | Call f in protected mode; returns ok, results-or-error.
xpcall | (f, handler, ...) | Like pcall, with a message handler.
error | (message [, level]) | Raise an error.
assert | (v [, message]) | Raise an error when v is false or nil.
getmetatable | (v) | The metatable of v (or its __metatable field).
setmetatable | (t, mt) | Set the metatable of table t; returns t.
rawequal | (a, b) | a == b without metamethods.
rawget | (t, k) | t[k] without metamethods.
rawset | (t, k, v) | t[k] = v without metamethods.
rawlen | (v) | #v without metamethods.
collectgarbage | ([opt [, arg]]) | Control the garbage collector ('count', 'collect', ...).
load | (chunk [, name [, mode [, env]]]) | Compile a text chunk; returns a function.
dofile | (path) | Run a Lua file (readable paths only).
loadfile | (path [, mode [, env]]) | Compile a Lua file (readable paths only).
require | (name) | Load a module from the script's directory (privileged and up).
_G | | The global environment.
_VERSION | | The Lua version, "Lua 5.4".
## Lua libraries
string | | String functions, also as methods: s:upper() (Lua manual §6.4).
string.format | (fmt, ...) | Format values like C printf.
string.find | (s, pattern [, init [, plain]]) | Find pattern in s; returns start, end.
string.gsub | (s, pattern, repl [, n]) | Replace matches of pattern.
string.match | (s, pattern [, init]) | Captures of the first match of pattern.
string.gmatch | (s, pattern) | Iterate over the matches of pattern.
string.rep | (s, n [, sep]) | s repeated n times.
string.sub | (s, i [, j]) | Substring from i to j.
string.upper | (s) | s in upper case.
string.lower | (s) | s in lower case.
table | | List functions (Lua manual §6.6).
table.insert | (t, [pos,] value) | Insert value into list t.
table.remove | (t [, pos]) | Remove and return an element of list t.
table.concat | (t [, sep [, i [, j]]]) | Join list elements into a string.
table.sort | (t [, comp]) | Sort list t in place.
table.unpack | (t [, i [, j]]) | Return the elements of t.
math | | Mathematical functions (Lua manual §6.7).
math.floor | (x) | Largest integer <= x.
math.max | (x, ...) | The largest argument.
math.random | ([m [, n]]) | A pseudo-random number.
utf8 | | UTF-8 functions (Lua manual §6.5).
coroutine | | Coroutines (Lua manual §6.2).
io | | Input and output: write and read the script's streams; files at readable paths.
io.write | (...) | Write strings and numbers to the output stream (no newline).
io.read | ([format ...]) | Read from standard input: "l", "L", "n", "a" or a count.
io.lines | ([path, ...]) | Iterate over the lines of standard input or of a readable file.
io.open | (path [, mode]) | Open a file: reading at readable paths; writing from privileged up. A path outside them returns nil, "<path>: Permission denied (...)", 13, as for an unreadable file.
os | | Time and the script's exit; files and environment from privileged up.
os.time | ([t]) | The current time, or the time of table t.
os.clock | () | CPU time used by the program, in seconds.
os.date | ([format [, time]]) | Format a date.
os.exit | ([code]) | End the script with an exit code.
debug | | Lua's debug library: traceback (privileged), everything (unrestricted).
package | | Lua's module system (unrestricted only).
"""


def _parse(text: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    sections: list[tuple[str, list[tuple[str, str, str]]]] = []
    for line in text.strip().splitlines():
        if line.startswith("## "):
            sections.append((line[3:], []))
        else:
            name, signature, doc = (part.strip() for part in line.split("|", 2))
            sections[-1][1].append((name, signature, doc))
    return sections


_SECTIONS = _parse(_REFERENCE)
_ENTRIES: dict[str, tuple[str, str]] = {
    name: (signature, doc) for _title, entries in _SECTIONS for name, signature, doc in entries
}


def describe_builtin(dotted: str) -> tuple[str, str] | None:
    """(signature, doc) for a known global or library function, else None."""
    return _ENTRIES.get(dotted)


def documented_names() -> list[str]:
    """Every name the reference documents, globals and their fields, in reference order."""
    return list(_ENTRIES)


def entries(name: str | None = None) -> list[tuple[str, str, str]]:
    """(name, signature, doc) of every global, or of NAME and its fields ([] if unknown)."""
    if name is None:
        return [entry for _title, listed in _SECTIONS for entry in listed if "." not in entry[0]]
    if name not in _ENTRIES:
        return []
    return [(key, *_ENTRIES[key]) for key in _ENTRIES if key == name or key.startswith(name + ".")]


def _lines(listed: list[tuple[str, str, str]], indent: str) -> list[str]:
    width = max(len(name + signature) for name, signature, _ in listed)
    return [f"{indent}{(name + signature).ljust(width)}  {doc}" for name, signature, doc in listed]


def overview() -> str:
    """`llmspell help lua`: every global with its one-line doc, by section."""
    out: list[str] = []
    for title, listed in _SECTIONS:
        out += [f"{title}:", *_lines([e for e in listed if "." not in e[0]], "  "), ""]
    out.append('`llmspell help lua NAME` shows a global\'s functions (also help("NAME") in Lua).')
    return "\n".join(out)


def reference_of(name: str) -> str | None:
    """`llmspell help lua NAME`: the entry of NAME and those of its fields, or None."""
    listed = entries(name)
    return "\n".join(_lines(listed, "")) if listed else None


def markdown() -> str:
    """docs/lua-api.md: the whole reference as a Markdown page."""
    out = [
        "# Lua API reference",
        "",
        "Generated from `llmspell_kernel/lua/docs.py` (`python -m llmspell_kernel.lua.docs >",
        "docs/lua-api.md`); the same text is shown by `llmspell help lua [NAME]` and by",
        '`help("NAME")` in a script or the REPL. Security levels: `safe` (the default) <',
        f"`privileged` < `unrestricted`. The Lua standard library is described in the [manual]({MANUAL}).",
    ]
    for title, listed in _SECTIONS:
        out += ["", f"## {title}", "", "| name | description |", "|---|---|"]
        for name, signature, doc in listed:
            out.append(f"| `{name}{signature}` | {doc} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
