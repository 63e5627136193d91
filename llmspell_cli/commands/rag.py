"""`llmspell rag ingest|search|stats|delete`."""

from __future__ import annotations

import typer

from llmspell_cli.commands.state import KERNEL_HELP, TENANT_HELP

app = typer.Typer(
    help="Ingest documents into RAG scopes and search them, offline on the configured store or "
    "online through a running kernel.",
    no_args_is_help=True,
)

SCOPE_HELP = "Scope: global (default), session:<id>, <name>:<id> or a bare name."


def _access(ctx: typer.Context, kernel: str | None, tenant: str | None):  # noqa: ANN202
    from llmspell_cli.context import data_client, load_effective_config
    from llmspell_kernel.api import use_config

    access = data_client(ctx.obj, kernel, tenant)
    if access.mode == "offline":
        use_config(load_effective_config(ctx.obj))  # [rag] and [providers] of this process
    return access


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ..., metavar="PATH...", help="Files or directories (text, markdown, PDF)."
    ),
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    chunk_size: int = typer.Option(None, "--chunk-size", metavar="N", help="Tokens per chunk."),
    chunk_overlap: int = typer.Option(
        None, "--chunk-overlap", metavar="N", help="Tokens shared by neighbouring chunks."
    ),
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Chunk, embed and store files; each file is one document, stored whole or not at all.

    Example: llmspell rag ingest README.md docs/
    """
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import rag_document_files, read_rag_document

    files = rag_document_files(paths)
    totals = {"documents_processed": 0, "vectors_created": 0, "total_tokens": 0}
    progress = Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
        transient=True,
    )
    with _access(ctx, kernel, tenant) as access, progress:
        task = progress.add_task("", total=len(files))
        for path in files:
            progress.update(task, description=path)
            document = read_rag_document(path)
            if document["content"].strip():
                result = access.call(
                    "rag.ingest",
                    documents=[document],
                    scope=scope,
                    chunk_size=chunk_size,
                    chunk_overlap=chunk_overlap,
                )
                for key in totals:
                    totals[key] += int(result[key])
            progress.advance(task)
        access.call("rag.save")
    summary = {**totals, "files": len(files), "scope": scope or "global"}
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(summary)
    else:
        renderer.text(
            f"ingested {summary['documents_processed']} documents from {len(files)} files: "
            f"{summary['vectors_created']} chunks, {summary['total_tokens']} tokens "
            f"(scope {summary['scope']})"
        )


@app.command("search")
def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., metavar="QUERY"),
    k: int = typer.Option(5, "--k", "-k", metavar="N", help="Number of results."),
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    mode: str = typer.Option(
        None, "--mode", metavar="MODE", help="hybrid, vector or keyword (default: [rag])."
    ),
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """The chunks that best answer QUERY, with their scores.

    Example: llmspell rag search "how do I debug in VS Code" --k 3
    """
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("rag.search", query=query, k=k, scope=scope, mode=mode)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    if not result["results"]:
        renderer.text(f"no results in scope '{result['scope']}'")
        return
    rows = []
    for rank, item in enumerate(result["results"], 1):
        meta = item["metadata"]
        where = meta.get("section") or ""
        source = meta.get("filename") or meta.get("source") or ""
        rows.append(
            [
                str(rank),
                f"{item['score']:.3f}",
                f"{source} › {where}" if where and source else (where or source),
                _snippet(item["content"], where),
            ]
        )
    renderer.table(None, ["#", "score", "source", "text"], rows, whole=("#", "score"))


def _snippet(content: str, section: str, width: int = 120) -> str:
    text = content[len(section) :] if section and content.startswith(section) else content
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("stats")
def stats(
    ctx: typer.Context,
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Documents, chunks (vectors) and tokens per scope, or of one scope."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("rag.stats", scope=scope)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine or scope is not None:
        if renderer.machine:
            renderer.document(result)
        else:
            renderer.text_value(result)
        return
    if not result["scopes"]:
        renderer.text("no RAG data")
        return
    renderer.table(
        None,
        ["scope", "documents", "vectors", "tokens", "bytes", "model"],
        [
            [
                s["scope"],
                str(s["total_documents"]),
                str(s["total_vectors"]),
                str(s["total_tokens"]),
                str(s["total_storage_bytes"]),
                s["embedding_model"],
            ]
            for s in result["scopes"]
        ],  # fmt: skip
        whole=("scope",),
    )


@app.command("delete")
def delete(
    ctx: typer.Context,
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    all_scopes: bool = typer.Option(False, "--all", help="Delete every scope of the tenant."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask first."),
    kernel: str = typer.Option(None, "--kernel", "--connect", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Delete a scope's documents and vectors (asks first; without a terminal, only with
    --yes)."""
    from llmspell_cli.commands.state import confirm_destructive
    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import UsageError

    if not scope and not all_scopes:
        raise UsageError("name the scope to delete with --scope S (or --all for every scope)")
    what = "EVERY RAG scope of this tenant" if all_scopes else f"RAG scope '{scope}'"
    confirm_destructive(f"Delete {what}?", yes)
    with _access(ctx, kernel, tenant) as access:
        result = access.call("rag.delete", scope=scope, all=all_scopes)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        count = result["deleted"]
        renderer.text(f"deleted {count} vector{'s' if count != 1 else ''}")
