"""The built-in tools: name (upstream spelling), category, JSON schema, permission marks and
where each is implemented. Pure data, cheap to import: `llmspell tools list` reads it without
loading a single tool library (each tool's module and library load on its first call).

A tool whose library is not installed is absent (`requires`), never a stub."""

from __future__ import annotations

import importlib.util

from llmspell_kernel.records import Record

TYPE_CHECKING = False  # annotations only: typing stays off the first tool call (records.py)
if TYPE_CHECKING:
    from typing import Any


class ToolDefinition(Record):
    """What a tool is: the catalogue's record, also used for tools scripts register. Immutable.
    (A Record, not a dataclass: see records.py; this module is on every script's first tool call.)"""

    __slots__ = (
        "name",
        "category",
        "description",
        "parameters",
        "implementation",
        "permissions",
        "requires",
        "version",
    )
    name: str
    category: str
    description: str
    parameters: dict[str, Any]
    implementation: str
    permissions: tuple[str, ...]
    requires: tuple[str, ...]
    version: str

    def __init__(
        self,
        name: str,
        category: str,
        description: str,
        parameters: dict[str, Any],  # JSON schema of the parameters object
        implementation: str,  # "module:function" of a built-in; "" for a script's tool
        permissions: tuple[str, ...] = (),  # FILE, NET, PROC, ENV (lua-api.md 4)
        requires: tuple[str, ...] = (),  # modules it imports that may not be installed
        version: str = "1.0.0",
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "name", name)
        setattr_(self, "category", category)
        setattr_(self, "description", description)
        setattr_(self, "parameters", parameters)
        setattr_(self, "implementation", implementation)
        setattr_(self, "permissions", permissions)
        setattr_(self, "requires", requires)
        setattr_(self, "version", version)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ToolDefinition is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ToolDefinition is immutable: cannot delete {name!r}")


def _p(kind: str, description: str, default: Any = None, enum: tuple[str, ...] = ()) -> dict:
    prop: dict[str, Any] = {"type": kind, "description": description}
    if default is not None:
        prop["default"] = default
    if enum:
        prop["enum"] = list(enum)
    return prop


def _schema(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_B = "llmspell_kernel.tools.builtin."
# Parameters several web tools share.
_PAGE_URL = _p("string", "The page's URL (alias: url)")
_PAGE_HTML = _p("string", "The HTML itself instead of fetching input")
_TIMEOUT = _p("number", "Seconds per request (default tools.http_request.timeout_seconds)")
_AUTH = _p("object", "As http_request's auth")
_HEADERS = _p("object", "Request headers")

CATALOGUE: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        "file_operations",
        "filesystem",
        "Read, write, append, list, copy, move and delete files inside the allowed paths",
        _schema(
            ("operation",),
            operation=_p(
                "string",
                "read, write, append, delete, create_dir (mkdir), list_dir (ls, dir), copy (cp), "
                "move (mv, rename), metadata (stat, info), exists",
            ),
            path=_p("string", "The file or directory"),
            input=_p("string", "Content to write or append"),
            source_path=_p("string", "Source of copy and move"),
            target_path=_p("string", "Target of copy and move"),
            recursive=_p("boolean", "Create parents / delete or list a whole tree", False),
        ),
        _B + "file_operations:run",
        ("FILE",),
    ),
    ToolDefinition(
        "hash_calculator",
        "utility",
        "Hash text or a file (md5, sha1, sha256, sha512) and verify hashes",
        _schema(
            ("operation",),
            operation=_p("string", "hash or verify", "hash", ("hash", "verify")),
            algorithm=_p("string", "md5, sha1, sha256, sha512", "sha256"),
            input=_p("string", "The text to hash"),
            file=_p("string", "A file to hash instead of input"),
            input_type=_p("string", "text, or hex for hex-encoded bytes", "text"),
            format=_p("string", "hex or base64", "hex"),
            expected_hash=_p("string", "The hash verify compares with"),
            expected_format=_p("string", "Format of expected_hash (default: format)"),
        ),
        _B + "hash_calculator:run",
        ("FILE",),
    ),
    ToolDefinition(
        "uuid_generator",
        "utility",
        "Generate UUIDs (v1, v4, v5, v7), component ids, deterministic ids; validate UUIDs",
        _schema(
            operation=_p(
                "string",
                "generate, component_id, deterministic, custom, validate",
                "generate",
            ),
            version=_p("string", "v1, v4, v5 or v7", "v4"),
            format=_p("string", "standard, hyphenated, simple, urn, braced", "hyphenated"),
            namespace=_p("string", "v5 namespace: dns, url, oid, x500 or a UUID"),
            name=_p("string", "v5 name"),
            prefix=_p("string", "Prefix of a component id"),
            short=_p("boolean", "Use the first 8 hex digits", False),
            timestamp=_p("boolean", "custom: include a timestamp", True),
            suffix=_p("string", "custom: a suffix"),
            uuid=_p("string", "The UUID to validate"),
        ),
        _B + "uuid_generator:run",
    ),
    ToolDefinition(
        "base64_encoder",
        "utility",
        "Encode and decode base64 (standard or url-safe), text or files",
        _schema(
            ("operation",),
            operation=_p("string", "encode or decode", enum=("encode", "decode")),
            input=_p("string", "The text (or, with binary_input, hex bytes)"),
            input_file=_p("string", "A file to read instead of input"),
            output_file=_p("string", "A file to write the output to"),
            variant=_p("string", "standard or url-safe", "standard"),
            binary_input=_p("boolean", "input is hex-encoded bytes", False),
        ),
        _B + "base64_encoder:run",
        ("FILE",),
    ),
    ToolDefinition(
        "text_manipulator",
        "utility",
        "Change case, replace, split, join, trim, wrap, truncate and indent text",
        _schema(
            ("input", "operation"),
            input=_p("string", "The text"),
            operation=_p(
                "string",
                "uppercase, lowercase, reverse, trim, replace, substring, split, join, "
                "snake_case, camel_case, pascal_case, kebab_case, sanitize, truncate, indent, "
                "dedent, normalize_whitespace, word_wrap, count",
            ),
            options=_p(
                "object",
                "from/to (replace), start/end (substring), delimiter (split, join), "
                "max_length (truncate), width (word_wrap), prefix (indent)",
            ),
        ),
        _B + "text_manipulator:run",
    ),
    ToolDefinition(
        "template_engine",
        "utility",
        "Render a template with a context (Jinja2 syntax, as upstream's tera, in a sandbox)",
        _schema(
            ("input",),
            input=_p("string", "The template"),
            context=_p("object", "Values the template uses"),
            engine=_p("string", "tera (Jinja2 syntax); handlebars is refused", "tera"),
            auto_detect=_p("boolean", "Pick the engine from the template's syntax", True),
        ),
        _B + "template_engine:run",
        requires=("jinja2",),
    ),
    ToolDefinition(
        "date_time_handler",
        "utility",
        "Current time, parse, convert time zones, add and subtract, differences, formats",
        _schema(
            ("operation",),
            operation=_p(
                "string",
                "now, parse, convert_timezone, add, subtract, difference, format, formats, info",
            ),
            input=_p("string", "A date and time (ISO 8601 or common formats)"),
            timezone=_p("string", "IANA time zone, e.g. Europe/Paris (default UTC)"),
            target_timezone=_p("string", "Time zone to convert to"),
            amount=_p("number", "How many units to add or subtract"),
            unit=_p("string", "seconds, minutes, hours, days, weeks, months, years", "days"),
            start=_p("string", "difference: the earlier date"),
            end=_p("string", "difference: the later date"),
            format=_p("string", "strftime format, or iso, rfc2822, date, time, unix"),
        ),
        _B + "date_time_handler:run",
        requires=("dateutil",),
    ),
    ToolDefinition(
        "calculator",
        "utility",
        "Evaluate arithmetic expressions safely (no code execution), with variables",
        _schema(
            ("input",),
            operation=_p(
                "string",
                "evaluate, validate or functions",
                "evaluate",
                ("evaluate", "validate", "functions"),
            ),
            input=_p("string", "The expression, e.g. 2 + 2 * sqrt(x)"),
            variables=_p("object", "Values of the names the expression uses"),
        ),
        _B + "calculator:run",
    ),
    ToolDefinition(
        "environment_reader",
        "system",
        "Read environment variables (secrets redacted); set them for this process",
        _schema(
            ("operation",),
            operation=_p(
                "string", "get, list, pattern or set", enum=("get", "list", "pattern", "set")
            ),
            variable_name=_p("string", "The variable (get, set)"),
            value=_p("string", "The value (set)"),
            pattern=_p("string", "A glob such as PATH* (list, pattern)"),
        ),
        _B + "environment_reader:run",
        ("ENV",),
    ),
    ToolDefinition(
        "process_executor",
        "system",
        "Run an allowed executable with arguments, a timeout and an output cap (no shell)",
        _schema(
            ("executable",),
            executable=_p("string", "The program, e.g. echo"),
            arguments=_p("array", "Its arguments"),
            working_directory=_p("string", "Directory to run in (inside the allowed paths)"),
            environment=_p("object", "Extra environment variables"),
            timeout_seconds=_p("number", "Stop it after this many seconds", 30),
            input=_p("string", "Text sent to its standard input"),
        ),
        _B + "process_executor:run",
        ("PROC",),
    ),
    ToolDefinition(
        "service_checker",
        "system",
        "Check that a TCP port or an HTTP(S) URL answers, with a timeout",
        _schema(
            ("target",),
            target=_p("string", "host:port, or an http(s) URL"),
            check_type=_p("string", "tcp or http (default: from the target)"),
            timeout_ms=_p("integer", "Give up after this many milliseconds", 5000),
            expected_status=_p("integer", "http: the status that counts as up (default 2xx/3xx)"),
        ),
        _B + "service_checker:run",
        ("NET",),
    ),
    ToolDefinition(
        "webhook-caller",
        "web",
        "Send a JSON payload to a webhook URL, with retries",
        _schema(
            ("input",),
            input=_p("string", "The webhook URL"),
            payload=_p("object", "The JSON body"),
            headers=_p("object", "Extra headers"),
            method=_p("string", "POST, PUT or PATCH", "POST"),
            max_retries=_p("integer", "Retries on 5xx and connection errors", 3),
            timeout=_p("number", "Seconds per attempt", 30),
        ),
        _B + "webhook_caller:run",
        ("NET",),
    ),
    ToolDefinition(
        "http_request",
        "api",
        "Send an HTTP request (methods, headers, JSON bodies, auth, retries)",
        _schema(
            ("input",),
            input=_p("string", "The URL (alias: url)"),
            method=_p("string", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", "GET"),
            headers=_p("object", "Request headers"),
            body=_p("string", "The body; a table is sent as JSON"),
            auth=_p(
                "object",
                "{type=bearer, token}, {type=basic, username, password}, "
                "{type=api_key, header, key}",
            ),
            retry=_p("object", "{max_attempts, backoff_ms}"),
            timeout=_p("number", "Seconds (default tools.http_request.timeout_seconds)"),
        ),
        _B + "http_request:run",
        ("NET",),
    ),
    ToolDefinition(
        "json_processor",
        "data",
        "Query and transform JSON with jq syntax; validate it against a JSON schema",
        _schema(
            operation=_p("string", "query (transform, jq), validate or stream", "query"),
            input=_p("string", "The JSON value, or JSON text"),
            query=_p("string", "A jq program, e.g. .items[] | .name", "."),
            schema=_p("object", "validate: the JSON schema"),
        ),
        _B + "json_processor:run",
        requires=("jq", "jsonschema"),
    ),
    ToolDefinition(
        "data_validation",
        "utility",
        "Validate data against a JSON schema or a list of simple rules",
        _schema(
            ("input",),
            input=_p("object", "The data (or JSON text)"),
            schema=_p("object", "A JSON schema"),
            rules=_p("object", "{rules={{type=required|type|length|range|pattern|enum, ...}}}"),
        ),
        _B + "data_validation:run",
        requires=("jsonschema",),
    ),
    ToolDefinition(
        "diff_calculator",
        "utility",
        "Unified diffs of texts or files, and structural diffs of JSON values",
        _schema(
            old_text=_p("string", "The old text"),
            new_text=_p("string", "The new text"),
            old_file=_p("string", "A file instead of old_text"),
            new_file=_p("string", "A file instead of new_text"),
            format=_p("string", "unified, context, simple or json", "unified"),
            context_lines=_p("integer", "Lines of context", 3),
            old_json=_p("object", "json: the old value"),
            new_json=_p("object", "json: the new value"),
        ),
        _B + "diff_calculator:run",
        ("FILE",),
    ),
    ToolDefinition(
        "archive_handler",
        "filesystem",
        "List, extract and create zip and tar archives (refuses traversal, links and bombs)",
        _schema(
            ("operation", "path"),
            operation=_p("string", "list, extract or create", enum=("list", "extract", "create")),
            path=_p("string", "The archive"),
            format=_p("string", "zip, tar, tar.gz, tar.bz2, tar.xz (default: from the name)"),
            target_path=_p("string", "extract: the directory to extract into"),
            files=_p("array", "create: the files and directories to put in the archive"),
            overwrite=_p("boolean", "Replace existing files", False),
        ),
        _B + "archive_handler:run",
        ("FILE",),
    ),
    ToolDefinition(
        "file_search",
        "filesystem",
        "Find files by glob under a directory and the lines holding a text or regex (bounded)",
        _schema(
            ("path",),
            path=_p("string", "The directory to search"),
            pattern=_p("string", "Glob on file names (or relative paths when it has a /)", "*"),
            content=_p("string", "Text the lines must hold (alias: query)"),
            regex=_p("boolean", "content is a regular expression", False),
            case_sensitive=_p("boolean", "Match case in pattern and content", True),
            max_results=_p("integer", "Stop after this many matches (up to 1000)", 100),
            max_depth=_p("integer", "Directory levels (up to tools.file_operations.max_depth)"),
            include_hidden=_p("boolean", "Search dot files and directories too", False),
        ),
        _B + "file_search:run",
        ("FILE",),
    ),
    ToolDefinition(
        "file_converter",
        "filesystem",
        "Detect or convert a text file's encoding, line endings and indentation",
        _schema(
            ("operation", "path"),
            operation=_p(
                "string",
                "detect, encoding, line_endings or indentation",
                enum=("detect", "encoding", "line_endings", "indentation"),
            ),
            path=_p("string", "The file"),
            target_path=_p("string", "Where to write the result (default: the file itself)"),
            from_encoding=_p("string", "Its encoding (default: from a BOM, else UTF-8)"),
            to_encoding=_p("string", "encoding: e.g. utf-8, utf-16, latin-1, cp1252"),
            line_ending=_p("string", "line_endings: lf, crlf or cr", "lf"),
            to=_p("string", "indentation: spaces or tabs", "spaces"),
            tab_width=_p("integer", "indentation: columns per tab", 4),
            errors=_p("string", "strict, or replace for undecodable/unencodable text", "strict"),
        ),
        _B + "file_converter:run",
        ("FILE",),
    ),
    ToolDefinition(
        "csv_analyzer",
        "data",
        "Column statistics, column selection, filtering and the first rows of CSV data",
        _schema(
            operation=_p(
                "string",
                "analyze (stats), columns, select, filter or head",
                "analyze",
            ),
            input=_p("string", "The CSV text"),
            path=_p("string", "A CSV file instead of input"),
            delimiter=_p("string", "One character (default: sniffed from , ; tab |)"),
            has_header=_p("boolean", "The first row names the columns", True),
            columns=_p("array", "select: the columns to keep, in order"),
            conditions=_p(
                "array",
                "filter: {column, op, value} tables, all must hold; op is ==, !=, >, >=, <, <=, "
                "contains, not_contains, startswith, endswith, empty, not_empty",
            ),
            limit=_p("integer", "Rows in the result (up to 10000)", 100),
            target_path=_p("string", "select, filter: write every selected row to this file"),
        ),
        _B + "csv_analyzer:run",
        ("FILE",),
    ),
    ToolDefinition(
        "database-connector",
        "data",
        "Parameterised SQL on SQLite files or PostgreSQL (read-only unless allow_write)",
        _schema(
            ("database",),
            operation=_p(
                "string",
                "query, execute, tables or schema",
                "query",
                ("query", "execute", "tables", "schema"),
            ),
            database=_p(
                "string",
                "A SQLite file (inside the allowed paths), :memory:, or postgresql://user@host/db "
                "(needs psycopg: llmspell[postgres])",
            ),
            query=_p("string", "One SQL statement with ? or :name placeholders, no literals"),
            params=_p("array", "Values of the placeholders (a table for :name ones)"),
            table=_p("string", "schema: the table"),
            limit=_p("integer", "Rows in the result (up to tools.database_connector.max_rows)"),
        ),
        _B + "database_connector:run",
        ("FILE", "NET"),
    ),
    ToolDefinition(
        "citation-formatter",
        "utility",
        "Citations and bibliographies in CSL styles (APA, MLA, Chicago, IEEE, Harvard, ...)",
        _schema(
            operation=_p("string", "format or styles", "format", ("format", "styles")),
            input=_p("array", "CSL-JSON references: {id, type, title, author, issued, ...}"),
            bibtex=_p("string", "BibTeX text instead of input"),
            style=_p("string", "apa, mla, chicago, ieee, harvard (or a CSL style name)", "apa"),
            format=_p("string", "text or html", "text"),
            locale=_p("string", "CSL locale", "en-US"),
        ),
        _B + "citation_formatter:run",
        requires=("citeproc",),
    ),
    ToolDefinition(
        "system_monitor",
        "system",
        "Read-only CPU, memory, disk, uptime and top-process figures of this machine (psutil)",
        _schema(
            operation=_p(
                "string",
                "all, cpu, memory, disk, processes or system",
                "all",
                ("all", "cpu", "memory", "disk", "processes", "system"),
            ),
            interval=_p("number", "cpu: seconds to measure over (0 to 5)", 0.1),
            limit=_p("integer", "processes: how many, by memory use (1 to 100)", 10),
        ),
        _B + "system_monitor:run",
        requires=("psutil",),
    ),
    ToolDefinition(
        "web_search",
        "web",
        "Search the web (DuckDuckGo without a key; Brave, Google, SerpAPI, Serper with keys)",
        _schema(
            ("input",),
            input=_p("string", "The query (alias: query)"),
            provider=_p(
                "string",
                "duckduckgo (no key), brave, google, serpapi or serperdev",
                "duckduckgo",
            ),
            max_results=_p("integer", "How many results (1 to 50)", 10),
            search_type=_p("string", "web, news or images", "web", ("web", "news", "images")),
            safe_search=_p("string", "off, moderate or strict (true: strict)", "moderate"),
            language=_p("string", "Language or region code, e.g. en or us-en"),
            timeout=_TIMEOUT,
        ),
        _B + "web_search:run",
        ("NET",),
        requires=("selectolax",),
    ),
    ToolDefinition(
        "web-scraper",
        "web",
        "A page's title, readable text, metadata, links, images and CSS selections",
        _schema(
            input=_PAGE_URL,
            html=_PAGE_HTML,
            selectors=_p("object", "name -> CSS selector; result.selected.name lists the matches"),
            selector=_p("string", "One CSS selector (result.selected.selector)"),
            attribute=_p("string", "Take this attribute of the selected elements, not their text"),
            extract_text=_p("boolean", "The page's readable text", True),
            extract_meta=_p("boolean", "<meta> names and properties", True),
            extract_links=_p("boolean", "Every link, absolute", False),
            extract_images=_p("boolean", "Every image, absolute", False),
            max_text_length=_p("integer", "Characters of text kept", 1000000),
            timeout=_TIMEOUT,
        ),
        _B + "web_scraper:run",
        ("NET",),
        requires=("selectolax",),
    ),
    ToolDefinition(
        "url-analyzer",
        "web",
        "A URL's parts and, with fetch_metadata, the page behind it (status, title, links)",
        _schema(
            ("input",),
            input=_p("string", "The URL (alias: url)"),
            fetch_metadata=_p(
                "boolean", "Fetch the page for its status, type, title, links", False
            ),
            timeout=_TIMEOUT,
        ),
        _B + "url_analyzer:run",
        ("NET",),
        requires=("selectolax",),
    ),
    ToolDefinition(
        "webpage-monitor",
        "web",
        "A page's text (or a CSS selection) and its hash, compared with an earlier look",
        _schema(
            input=_PAGE_URL,
            html=_PAGE_HTML,
            selector=_p("string", "Watch only what this CSS selector matches"),
            previous_content=_p("string", "The content of an earlier look (gives a diff)"),
            previous_hash=_p("string", "Or the hash of an earlier look"),
            ignore_whitespace=_p("boolean", "Whitespace changes do not count", True),
            wait_seconds=_p("number", "Poll until it changes, up to this long (0 to 300)", 0),
            interval_seconds=_p("number", "Seconds between polls", 5),
            timeout=_TIMEOUT,
        ),
        _B + "webpage_monitor:run",
        ("NET",),
        requires=("selectolax",),
    ),
    ToolDefinition(
        "sitemap-crawler",
        "web",
        "The URLs of a site's sitemaps (robots.txt, /sitemap.xml, indexes, gzip), bounded",
        _schema(
            ("input",),
            input=_p("string", "A sitemap URL, or a site's root to find its sitemaps"),
            max_urls=_p("integer", "Stop after this many URLs (up to 50000)", 1000),
            max_sitemaps=_p("integer", "Sitemaps read at most (up to 100)", 10),
            follow_index=_p("boolean", "Read the sitemaps a sitemap index lists", True),
            timeout=_TIMEOUT,
        ),
        _B + "sitemap_crawler:run",
        ("NET",),
    ),
    ToolDefinition(
        "api-tester",
        "web",
        "Send a request and check its status, time, headers and JSON fields",
        _schema(
            ("input",),
            input=_p("string", "The URL (alias: url)"),
            method=_p("string", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", "GET"),
            headers=_HEADERS,
            body=_p("string", "The body; a table is sent as JSON"),
            auth=_AUTH,
            expected_status=_p("integer", "The status (or a list of them); default any < 400"),
            max_response_time_ms=_p("number", "Slower than this fails"),
            expected_headers=_p("object", "header -> text its value must hold"),
            expected_json=_p("object", "dotted path (items.1.id) -> value it must equal"),
            expected_body_contains=_p("string", "Text the body must hold"),
            timeout=_TIMEOUT,
        ),
        _B + "api_tester:run",
        ("NET",),
    ),
    ToolDefinition(
        "graphql_query",
        "api",
        "Run a GraphQL query or mutation (or introspect the schema) against an endpoint",
        _schema(
            ("input",),
            input=_p("string", "The endpoint URL (alias: endpoint)"),
            operation=_p("string", "query or introspect", "query", ("query", "introspect")),
            query=_p("string", "The GraphQL document"),
            variables=_p("object", "Its variables"),
            operation_name=_p("string", "Which operation of the document to run"),
            headers=_HEADERS,
            auth=_AUTH,
            timeout=_TIMEOUT,
        ),
        _B + "graphql_query:run",
        ("NET",),
    ),
    ToolDefinition(
        "pdf-processor",
        "data",
        "A PDF's pages and metadata, its text, and new PDFs of chosen pages or merged files",
        _schema(
            operation=_p(
                "string",
                "info (metadata), extract_text (text), extract_pages (split) or merge",
                "extract_text",
            ),
            path=_p("string", "The PDF (alias: input)"),
            pages=_p("string", 'Pages from 1: "1-3,5", "-2" (the last two) or {1, 3}'),
            files=_p("array", "merge: the PDFs, in order"),
            target_path=_p("string", "extract_pages, merge: the PDF to write"),
            overwrite=_p("boolean", "Replace an existing target_path", False),
            password=_p("string", "The password of an encrypted PDF"),
        ),
        _B + "pdf_processor:run",
        ("FILE",),
        requires=("pypdf",),
    ),
    ToolDefinition(
        "email-sender",
        "api",
        "Send an email (text, HTML, attachments) through the configured SMTP relay",
        _schema(
            ("to", "subject"),
            to=_p("string", "A recipient, several separated by commas, or a list"),
            cc=_p("string", "Copy recipients"),
            bcc=_p("string", "Blind copy recipients"),
            subject=_p("string", "The subject"),
            body=_p("string", "The plain-text body"),
            html=_p("string", "An HTML body (with body: the HTML alternative)"),
            attachments=_p("array", "Files to attach (inside the allowed paths)"),
            reply_to=_p("string", "The Reply-To address"),
            **{"from": _p("string", "The sender (default tools.email_sender.from_address)")},
        ),
        _B + "email_sender:run",
        ("NET", "FILE"),
    ),
    ToolDefinition(
        "file_watcher",
        "filesystem",
        "Wait (bounded) until a file or a directory's files are created, modified or deleted",
        _schema(
            ("path",),
            path=_p("string", "The file or directory to watch"),
            timeout_seconds=_p("number", "Give up after this long (0 to 300)", 10),
            interval_ms=_p("integer", "Milliseconds between looks (10 to 10000)", 100),
            events=_p("array", "Which kinds count: created, modified, deleted (default all)"),
            pattern=_p("string", "Only files whose names match this glob"),
            recursive=_p("boolean", "Watch subdirectories too", False),
            max_depth=_p("integer", "Subdirectory levels (up to tools.file_operations.max_depth)"),
        ),
        _B + "file_watcher:run",
        ("FILE",),
    ),
    ToolDefinition(
        "graph-builder",
        "data",
        "Build, edit, analyse (degrees, components, cycles, paths) and export graphs",
        _schema(
            ("operation",),
            operation=_p(
                "string",
                "create, add_node, add_edge, remove_node, remove_edge, analyze, shortest_path, "
                "topological_sort, neighbors or export",
            ),
            graph=_p("object", "The graph {directed, nodes, edges} (or its JSON)"),
            nodes=_p("array", "create: node ids or {id, label, ...}"),
            edges=_p("array", "create: {source, target, weight?, label?} or {a, b}"),
            directed=_p("boolean", "create: a directed graph", True),
            node=_p("string", "add_node ({id, ...} too), remove_node, neighbors: the node"),
            edge=_p("object", "add_edge: {source, target, weight?, label?}"),
            source=_p("string", "shortest_path, remove_edge: from"),
            target=_p("string", "shortest_path, remove_edge: to"),
            format=_p("string", "export: json, dot or mermaid", "json"),
        ),
        _B + "graph_builder:run",
    ),
    ToolDefinition(
        "image_processor",
        "media",
        "Image info, resize, convert and thumbnail (Pillow; extra llmspell[media])",
        _schema(
            ("path",),
            operation=_p(
                "string",
                "info, resize, convert or thumbnail",
                "info",
                ("info", "resize", "convert", "thumbnail"),
            ),
            path=_p("string", "The image"),
            target_path=_p("string", "resize, convert, thumbnail: the image to write"),
            format=_p("string", "png, jpeg, webp, gif, bmp, tiff (default: target_path's)"),
            width=_p("integer", "resize: new width (height keeps the aspect); thumbnail bound"),
            height=_p("integer", "resize: new height; thumbnail bound"),
            scale=_p("number", "resize: a factor instead of width/height"),
            max_size=_p("integer", "thumbnail: the longest side", 128),
            quality=_p("integer", "JPEG/WebP quality 1-100"),
            resample=_p("string", "nearest, bilinear, bicubic or lanczos", "lanczos"),
            overwrite=_p("boolean", "Replace an existing target_path", False),
        ),
        _B + "image_processor:run",
        ("FILE",),
        requires=("PIL",),
    ),
    ToolDefinition(
        "audio_processor",
        "media",
        "Audio metadata: format, duration, bitrate, sample rate, channels, tags (mutagen)",
        _schema(
            ("path",),
            operation=_p("string", "info (metadata only)", "info", ("info", "metadata")),
            path=_p("string", "The audio file (MP3, FLAC, Ogg, Opus, M4A, WAV, AIFF, ...)"),
        ),
        _B + "audio_processor:run",
        ("FILE",),
        requires=("mutagen",),
    ),
    ToolDefinition(
        "video_processor",
        "media",
        "Video metadata (duration, resolution, fps, codecs), thumbnails, frames, audio to WAV "
        "(PyAV; extra llmspell[media])",
        _schema(
            ("file_path",),
            operation=_p(
                "string",
                "detect, metadata (info), thumbnail, extract_frame or extract_audio",
                "metadata",
                ("detect", "metadata", "info", "thumbnail", "extract_frame", "extract_audio"),
            ),
            file_path=_p("string", "The video (aliases: path, input)"),
            target_path=_p(
                "string", "thumbnail, extract_frame: the .png/.jpg to write; extract_audio: .wav"
            ),
            timestamp_seconds=_p(
                "number", "thumbnail, extract_frame: the frame's time (thumbnail: 10% in)", 0.0
            ),
            width=_p("integer", "thumbnail: the largest width", 320),
            height=_p("integer", "thumbnail: the largest height", 240),
            format=_p("string", "png or jpeg (default: target_path's extension)"),
            overwrite=_p("boolean", "Replace an existing target_path", False),
        ),
        _B + "video_processor:run",
        ("FILE",),
        requires=("av",),
    ),
)


_AVAILABLE: dict[str, bool] = {}


def available(definition: ToolDefinition) -> bool:
    """True when every library the tool needs is installed (checked once per process)."""
    for module in definition.requires:
        found = _AVAILABLE.get(module)
        if found is None:
            found = _AVAILABLE[module] = importlib.util.find_spec(module) is not None
        if not found:
            return False
    return True
