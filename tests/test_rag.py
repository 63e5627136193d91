"""RAG: the Lua global's contract (lua-api.md 2.12), tenant isolation, session TTLs, crash-safe
ingest, backups, provider embeddings over the real wire format, and `llmspell rag`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.data_helpers import cli, cli_json, run_lua, write_config
from tests.embedding_server import embedding_server

ROOT = Path(__file__).resolve().parent.parent

DOCS = """
RAG.ingest_batch({
  {content = "Lua is a powerful, efficient, lightweight scripting language", metadata = {category = "programming"}},
  {content = "Machine learning is a subset of artificial intelligence", metadata = {category = "AI"}},
  {content = "RAG combines retrieval and generation for better AI responses", metadata = {category = "AI"}},
  {content = "The quick brown fox jumps over the lazy dog", metadata = {category = "pangram"}},
})
"""


@pytest.mark.usefixtures("store_backend")  # RAG stays in SQLite on postgres
def test_ingest_search_stats_and_the_upstream_shapes(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    code = (
        DOCS
        + """
    local r = RAG.search("Lua scripting language", {k = 2})
    local f = RAG.search({query = "technology", top_k = 10, metadata_filter = {category = "AI"}})
    local stats = RAG.get_stats("default", nil)
    local one = RAG.ingest({content = "Recovery test document", metadata = {recovery = true}})
    local ids = {}
    for i, item in ipairs(r) do ids[i] = item.content end
    return {
      n = #r, total = r.total, same = r[1] == r.results[1], first = r[1].content,
      score = r[1].score, text = r[1].text, ids = ids,
      filtered = #f, categories = f[1].metadata.category .. "," .. f[2].metadata.category,
      vectors = stats.total_vectors, documents = stats.total_documents,
      ingest = {one.success, one.documents_processed, one.vectors_created, one.total_tokens},
      multi_tenant = RAG.config.multi_tenant, provider = RAG.config.provider,
      providers = RAG.list_providers(), saved = RAG.save(),
    }
    """
    )
    out, result, error = run_lua(code, config)
    assert error == "", error
    assert result["n"] == 2 and result["total"] == 2 and result["same"] is True
    assert result["first"].startswith("Lua is a powerful")
    assert result["text"] == result["first"] and 0 < result["score"] <= 1
    assert result["filtered"] == 2 and result["categories"] == "AI,AI"
    assert result["vectors"] == 4 and result["documents"] == 4
    assert result["ingest"] == [True, 1, 1, 3]
    assert result["multi_tenant"] is True and result["provider"] == "local"
    assert "local" in result["providers"] and "openai" in result["providers"]
    assert result["saved"] is True
    # persisted: a second run (a new process state) finds the documents
    _, again, error = run_lua('return RAG.get_stats("default").total_vectors', config)
    assert again == 5, error


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("RAG.search({top_k = 5})", "RAG.search: the query must be a string, got nil"),
        ('RAG.search({query = "x", top_k = -1})', "RAG.search: top_k must be at least 1, got -1"),
        ('RAG.search({query = "x", top_k = 0})', "RAG.search: top_k must be at least 1, got 0"),
        ('RAG.search({query = "x", top_k = 999999999})', "top_k must be between 1 and 1000"),
        ('RAG.search({query = "x", top_k = "five"})', "top_k must be an integer, got 'five'"),
        ("RAG.search({query = 42})", "RAG.search: the query must be a string, got number"),
        (
            'RAG.search("x", {metadata_filter = "AI"})',
            "RAG.search: metadata_filter must be a table",
        ),
        ('RAG.ingest({content = ""})', "RAG.ingest: document content must not be empty"),
        ("RAG.ingest({metadata = {test = true}})", "document content must be a string, got nil"),
        ("RAG.ingest({content = 12345})", "document content must be a string, got number"),
        ('RAG.ingest({content = {"a", "b"}})', "document content must be a string, got table"),
        ('RAG.configure({colour = "red"})', "RAG.configure: unknown option 'colour'"),
        ("RAG.config.provider = 'x'", "RAG.config is read-only"),
    ],
)
def test_bad_calls_raise_one_line_at_the_callers_line(tmp_path: Path, call: str, message: str):
    config = write_config(tmp_path / "c.toml")
    statement = call if " = " in call.split("(")[0] else f"local r = {call}"
    _, _, error = run_lua(f"local x = 1\n{statement}\nreturn 1", config)
    assert message in error
    assert ":2:" in error  # the script's own line, not rag.lua's


def test_a_tenant_never_sees_another_tenants_vectors(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    code = """
    RAG.ingest({content = "Secret tenant data: the launch code is 0000", tenant_id = "tenant_a"})
    RAG.ingest({content = "Quarterly secret plans of tenant A"}, {scope = "tenant", scope_id = "tenant_a"})
    local b = RAG.search({query = "secret launch code", tenant_id = "tenant_b"})
    local b2 = RAG.search("secret launch code", {scope = "tenant", scope_id = "tenant_b", mode = "keyword"})
    local default = RAG.search("secret launch code")
    local a = RAG.search({query = "secret launch code", tenant_id = "tenant_a"})
    return {b = #b, b2 = #b2, default = #default, a = #a,
            b_stats = RAG.get_stats("tenant", "tenant_b").total_vectors,
            a_stats = RAG.get_stats("tenant", "tenant_a").total_vectors}
    """
    _, result, error = run_lua(code, config)
    assert error == "", error
    assert result == {"b": 0, "b2": 0, "default": 0, "a": 2, "b_stats": 0, "a_stats": 2}
    # and a store tenant (a kernel's [state] tenant) is a wall too, whatever tenant_id says
    other = write_config(tmp_path / "other.toml", 'tenant = "bob"\n')
    other.write_text(other.read_text().replace(str(tmp_path / "data"), str(tmp_path / "data")))
    _, seen, error = run_lua(
        'return #RAG.search({query = "secret launch code", tenant_id = "tenant_a"})', other
    )
    assert seen == 0, error


def test_session_collections_expire_their_vectors(tmp_path: Path):
    from llmspell_kernel.rag.service import Document, service_for
    from llmspell_kernel.state.hub import DataHub
    from llmspell_kernel.state.settings import DataSettings

    config = write_config(tmp_path / "c.toml")
    code = """
    local c = RAG.create_session_collection("s1", 3600)
    local s = RAG.configure_session({session_id = "s2", vector_ttl = 60})
    RAG.ingest({content = "we talked about neural networks"}, {scope = "session", scope_id = "s1"})
    RAG.ingest({content = "the user likes tea"}, {scope = "session", scope_id = "s2"})
    return {c.session_id, c.namespace, c.ttl, c.created, s.vector_ttl, s.configured,
            #RAG.search("neural networks", {scope = "session", scope_id = "s1"}),
            #RAG.search("neural networks")}
    """
    _, result, error = run_lua(code, config)
    assert result == ["s1", "session:s1", 3600, True, 60, True, 1, 0], error
    hub = DataHub(DataSettings(path=str(tmp_path / "data" / "state.db")))
    service = service_for(hub)
    where = service.where("session", "s2")
    scope = service.store.scope(where.tenant, where.scope)
    assert scope is not None and scope.vector_ttl == 60
    assert service.store.expire(scope, now=time.time() + 30) == []
    assert len(service.store.expire(scope, now=time.time() + 61)) == 1
    assert service.search("tea", where)["total"] == 0
    assert service.stats(where)["total_documents"] == 0
    s1 = service.where("session", "s1")
    service.ingest([Document("more about transformers", {})], s1)
    assert service.stats(s1)["total_vectors"] == 2
    assert service.delete(s1) == 2 and service.stats(s1)["exists"] is False
    hub.close()


@pytest.mark.usefixtures("store_backend")  # RAG stays in SQLite on postgres
def test_deleting_a_session_deletes_its_collection(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    code = """
    local id = Session.create({name = "chat"})
    RAG.create_session_collection(id, 3600)
    RAG.ingest({content = "we talked about neural networks"}, {scope = "session", scope_id = id})
    RAG.ingest({content = "kept for a tenant"},
               {scope = "session", scope_id = id, tenant_id = "acme"})
    RAG.ingest({content = "neural networks, globally"})
    return id
    """
    _, session_id, error = run_lua(code, config)
    assert isinstance(session_id, str), error
    db = tmp_path / "data" / "state.db"

    def scopes() -> list[str]:
        with sqlite3.connect(db) as conn:
            return sorted(r[0] for r in conn.execute("SELECT scope FROM rag_scopes"))

    assert scopes() == ["global", f"session:{session_id}", f"tenant:acme/session:{session_id}"]
    out = cli("--config", str(config), "session", "delete", session_id, "--yes")
    assert out.exit_code == 0, out.stderr
    assert scopes() == ["global"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rag_chunks").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM rag_fts").fetchone()[0] == 1
    _, total, error = run_lua('return #RAG.search("neural networks")', config)
    assert total == 1, error


CHILD = r"""
import sys
from llmspell_kernel.rag.service import Document, service_for
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

hub = DataHub(DataSettings(path=sys.argv[1]))
service = service_for(hub)
where = service.where()
text = open(sys.argv[2], encoding="utf-8").read()
for n in range(10000):
    service.ingest([Document(text, {"n": n})], where, chunk_size=40, chunk_overlap=5)
    print(n, flush=True)
"""


def test_an_interrupted_ingest_leaves_no_half_documents(tmp_path: Path):
    db = tmp_path / "state.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(ROOT / "README.md")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    for _ in range(3):  # a few whole documents, then kill it in the middle of later ones
        assert child.stdout.readline(), "the child ended early"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    conn = sqlite3.connect(db)
    documents = conn.execute(
        "SELECT d.id, d.chunks, (SELECT count(*) FROM rag_chunks c WHERE c.document_id = d.id) "
        "FROM rag_documents d"
    ).fetchall()
    assert len(documents) >= 3
    assert all(stored == expected for _, expected, stored in documents)
    orphans = conn.execute(
        "SELECT count(*) FROM rag_chunks WHERE document_id NOT IN (SELECT id FROM rag_documents)"
    ).fetchone()[0]
    chunks = conn.execute("SELECT count(*) FROM rag_chunks").fetchone()[0]
    indexed = conn.execute("SELECT count(*) FROM rag_fts").fetchone()[0]
    conn.close()
    assert orphans == 0 and chunks == indexed


@pytest.mark.usefixtures("store_backend")  # RAG stays in SQLite on postgres
def test_backups_carry_rag_data_and_restore_rebuilds_the_indexes(tmp_path: Path):
    config = write_config(tmp_path / "c.toml")
    assert cli("--config", str(config), "rag", "ingest", str(ROOT / "README.md")).exit_code == 0
    created = cli_json("--config", str(config), "backup", "create")
    assert created["manifest"]["counts"]["rag_chunks"] > 10
    assert (
        cli("--config", str(config), "rag", "delete", "--scope", "global", "--yes").exit_code == 0
    )
    assert cli_json("--config", str(config), "rag", "search", "debugging")["total"] == 0
    restored = cli("--config", str(config), "backup", "restore", created["path"])
    assert restored.exit_code == 0, restored.output
    for mode in ("keyword", "vector"):
        found = cli_json(
            "--config", str(config), "rag", "search", "VS Code debugging", "--mode", mode
        )
        assert found["total"] == 5, mode


def _vectorizer():  # the real offline model behind the fake remote service
    from llmspell_kernel.rag.embeddings import LocalEmbedder

    model = LocalEmbedder()
    return lambda text: [float(x) for x in model.embed([text]).vectors[0]]


def test_provider_embeddings_batch_retry_and_record_usage(tmp_path: Path):
    with embedding_server(_vectorizer()) as server:
        server.failures.extend([503])  # the first request fails and is retried
        config = write_config(
            tmp_path / "c.toml",
            f'[providers.emb]\nprovider_type = "openai"\nbase_url = "{server.base_url}"\n'
            'api_key = "sk-test"\nmax_retries = 2\n'
            '[rag]\nprovider = "emb"\nembedding_model = "text-embedding-3-small"\n'
            "batch_size = 2\nvector_dimensions = 256\n"
            '[prices."emb/text-embedding-3-small"]\ninput = 0.02\noutput = 0.0\n',
        )
        code = DOCS + 'return RAG.search("Lua scripting", {k = 1})[1].content'
        _, result, error = run_lua(code, config)
        assert error == "", error
        assert result.startswith("Lua is a powerful")
    embeds = [r for r in server.requests if r.get("input") is not None]
    # 4 documents of one chunk each (4 requests, the first one twice) and the query
    assert len(embeds) == 6
    assert all(r["model"] == "text-embedding-3-small" and r["dimensions"] == 256 for r in embeds)
    assert all(h.get("Authorization") == "Bearer sk-test" for h in server.headers)
    conn = sqlite3.connect(tmp_path / "data" / "state.db")
    calls = conn.execute(
        "SELECT provider, model, operation, input_tokens, status, cost_pico_usd "
        "FROM provider_calls ORDER BY at"
    ).fetchall()
    conn.close()
    assert len(calls) == 5
    assert {c[:3] for c in calls} == {("emb", "text-embedding-3-small", "embedding")}
    assert all(c[4] == "ok" and c[3] > 0 for c in calls)
    assert calls[0][5] == calls[0][3] * 20_000  # 0.02 USD per million tokens, in pico-USD


def test_batches_split_by_batch_size_and_a_refusal_is_one_line(tmp_path: Path):
    with embedding_server(_vectorizer()) as server:
        config = write_config(
            tmp_path / "c.toml",
            f'[providers.emb]\nprovider_type = "openai"\nbase_url = "{server.base_url}"\n'
            '[rag]\nprovider = "emb"\nembedding_model = "m"\nbatch_size = 3\nchunk_size = 20\n',
        )
        text = " ".join(f"word{i}" for i in range(150))  # 8 chunks of 20 tokens (overlap 19)
        _, result, error = run_lua(
            f'return RAG.ingest({{content = "{text}"}}, {{chunk_overlap = 2}}).vectors_created',
            config,
        )
        assert result == 9, error
        assert [len(r["input"]) for r in server.requests] == [3, 3, 3]
        server.failures.extend([400])
        _, _, error = run_lua('return RAG.ingest({content = "x"})', config)
    assert error.startswith("RAG.ingest: provider 'emb' (model 'm'): request refused (HTTP 400)")


def test_cli_acceptance_the_debugging_section_comes_first(tmp_path: Path):
    os.chdir(ROOT)
    done = cli("rag", "ingest", "README.md", "docs/")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("ingested 2 documents from 2 files:")
    found = cli_json("rag", "search", "how do I debug in VS Code")
    first = found["results"][0]
    assert first["metadata"]["section"].endswith("Debugging"), first["metadata"]
    assert first["metadata"]["source"] == "README.md"
    table = cli("rag", "search", "how do I debug in VS Code", "--k", "2")
    assert table.exit_code == 0 and "Debugging" in table.stdout.splitlines()[2]
    stats = cli_json("rag", "stats")
    assert stats["scopes"][0]["scope"] == "global" and stats["scopes"][0]["total_documents"] == 2
    refused = cli("rag", "delete", "--scope", "global")  # no terminal: refuse, exit 2
    assert refused.exit_code == 2 and "use --yes" in refused.stderr
    assert cli_json("rag", "delete", "--scope", "global", "--yes")["deleted"] > 10
    missing = cli("rag", "ingest", "no/such/file.md")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no such file or directory")


def test_pdf_files_are_read_through_pypdf(tmp_path: Path):
    pypdf = pytest.importorskip("pypdf")
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(300, 200)
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 100 Td (Invoices are archived every quarter.) Tj ET")
    font = DictionaryObject(
        {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
         NameObject("/BaseFont"): NameObject("/Helvetica")}
    )  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    page[NameObject("/Contents")] = writer._add_object(stream)
    pdf = tmp_path / "notes.pdf"
    with pdf.open("wb") as handle:
        writer.write(handle)
    assert cli("rag", "ingest", str(pdf), "--scope", "docs").exit_code == 0
    found = cli_json("rag", "search", "when are invoices archived", "--scope", "docs")
    assert "archived every quarter" in found["results"][0]["content"]
    assert found["results"][0]["metadata"]["pages"] == 1


def test_rag_can_be_switched_off_and_costs_nothing_until_used(tmp_path: Path):
    off = write_config(tmp_path / "off.toml", "[rag]\nenabled = false\n")
    _, result, _ = run_lua("return RAG == nil", off)
    assert result is True
    probe = (
        "import sys\n"
        "from tests.data_helpers import run_lua\n"
        "run_lua('return type(RAG.search)')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('numpy', 'usearch', "
        "'wordllama', 'llmspell_kernel.rag')))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + probe], capture_output=True, text=True, cwd=ROOT
    )
    assert json.loads(out.stdout) == [], out.stderr


def test_online_through_a_kernel_its_indexes_serve_the_cli(tmp_path: Path):
    from llmspell_kernel.api import (
        connect_to_kernel,
        kernel_settings_from_config,
        start_kernel_service,
    )
    from llmspell_kernel.config import load_config

    config = write_config(tmp_path / "c.toml")
    path = str(tmp_path / "kernel-rag.json")
    service = start_kernel_service(
        connection_file=path, settings=kernel_settings_from_config(load_config(config).config)
    )
    try:
        notes = tmp_path / "notes.md"
        notes.write_text("# Billing\n\nInvoices are sent on the first Monday of each month.\n")
        done = cli("rag", "ingest", str(notes), "--scope", "team:ops", "--connect", path)
        assert done.exit_code == 0, done.output
        client = connect_to_kernel(path)
        reply = client.execute(
            'local r = RAG.search("when are invoices sent", {scope = "team", scope_id = "ops"})\n'
            "return r[1].metadata.section"
        ).wait()
        client.close()
        assert reply[-1].data["application/json"] == "Billing"
        online = cli_json("rag", "search", "invoices", "--scope", "team:ops", "--kernel", path)
        offline = cli_json(
            "--config", str(config), "rag", "search", "invoices", "--scope", "team:ops"
        )
        assert online["results"][0]["content"] == offline["results"][0]["content"]
        assert "first Monday" in online["results"][0]["content"]
    finally:
        service.stop()


def test_hnsw_indexes_are_saved_and_a_stale_one_is_rebuilt(tmp_path: Path):
    config = write_config(tmp_path / "c.toml", "[rag]\nexact_search_threshold = 5\n")
    first = cli("--config", str(config), "rag", "ingest", str(ROOT / "README.md"))
    assert first.exit_code == 0, first.output
    found = cli_json("--config", str(config), "rag", "search", "backups", "--mode", "vector")
    assert found["total"] == 5
    stats = cli_json("--config", str(config), "rag", "stats", "--scope", "global")
    assert stats["index"] == "hnsw"
    saved = list((tmp_path / "data" / "rag").glob("*.usearch"))
    assert len(saved) == 1
    sidecar = json.loads(saved[0].with_suffix(".json").read_text())
    assert sidecar["count"] == stats["total_vectors"]
    notes = tmp_path / "notes.md"
    notes.write_text("# Zebras\n\nZebras graze on the savanna in large herds.\n")
    assert cli("--config", str(config), "rag", "ingest", str(notes)).exit_code == 0
    # the file on disk now lags the database (another revision): rebuilt, not trusted
    found = cli_json(
        "--config", str(config), "rag", "search", "zebras on the savanna", "--mode", "vector"
    )
    assert found["results"][0]["metadata"]["section"] == "Zebras"
    assert json.loads(saved[0].with_suffix(".json").read_text())["count"] == sidecar["count"] + 1


def test_the_offline_embedder_leaves_logging_alone(tmp_path: Path):
    """wordllama calls logging.basicConfig(level=INFO) when imported; that must not give the
    root logger a stderr handler, which printed `INFO:httpx2:HTTP Request: ...` for every later
    provider call of the run."""
    from tests.llm_server import Reply, ScriptedLLMServer, openai_text

    server = ScriptedLLMServer()
    try:
        server.script(Reply(body=openai_text("answered")))
        script = tmp_path / "s.lua"
        script.write_text(
            'RAG.ingest({content = "Lua is a lightweight scripting language"})\n'
            'local a = Agent.builder():name("a"):model("openai/gpt-4o-mini"):build()\n'
            'print(#RAG.search("scripting", {k = 1}), a:execute({text = "hi"}).text)\n'
        )
        config = write_config(tmp_path / "c.toml", '[rag]\nprovider = "local"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.update(OPENAI_API_KEY="sk-test", LLMSPELL_OPENAI_ENDPOINT=server.url)
        ran = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "-c", str(config), "run", str(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        server.close()
    assert (ran.returncode, ran.stdout) == (0, "1\tanswered\n"), ran.stderr
    assert len(server.seen) == 1
    assert "INFO:" not in ran.stderr and ran.stderr == ""
