"""graph-builder on graphs a script builds, edits and keeps as plain values."""

from __future__ import annotations

from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

BUILD = """
local function G(p) return Tool.invoke("graph-builder", p) end
local g = G({operation = "create", nodes = {{id = "parse", label = "Parse"}, "plan"},
             edges = {{"parse", "plan", 2}, {source = "plan", target = "run", weight = 1},
                      {"parse", "run", 5}, {"run", "report"}}}).result.graph
"""


def test_build_analyse_and_find_paths(allowed: Path):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        BUILD
        + """
        local a = G({operation = "analyze", graph = g}).result
        local p = G({operation = "shortest_path", graph = g, source = "parse", target = "report"}).result
        local order = G({operation = "topological_sort", graph = g}).result.order
        local n = G({operation = "neighbors", graph = g, node = "run"}).result
        local none = G({operation = "shortest_path", graph = g, source = "report", target = "parse"}).result
        return {a = a, p = p, order = order, n = n, none = none}
        """,
    )
    a = value["a"]
    assert (a["node_count"], a["edge_count"], a["component_count"]) == (4, 4, 1)
    assert a["has_cycle"] is False and a["density"] == round(4 / 12, 6)
    assert a["degrees"] == {"parse": 2, "plan": 2, "run": 3, "report": 1}
    assert a["most_connected"] == ["run"] and a["in_degrees"]["run"] == 2
    assert value["p"]["path"] == ["parse", "plan", "run", "report"] and value["p"]["distance"] == 4
    assert value["order"] == ["parse", "plan", "run", "report"]
    assert value["n"]["outgoing"] == ["report"] and value["n"]["incoming"] == ["parse", "plan"]
    assert value["none"]["found"] is False


def test_edits_cycles_components_and_exports(allowed: Path):
    engine, _ = make_engine(allowed)
    value = run(
        engine,
        BUILD
        + """
        g = G({operation = "add_edge", graph = g, edge = {source = "report", target = "parse"}}).result.graph
        local cyclic = G({operation = "analyze", graph = g}).result.has_cycle
        local ok, err = pcall(G, {operation = "topological_sort", graph = g})
        local topo = G({operation = "topological_sort", graph = g})
        g = G({operation = "add_node", graph = g, node = {id = "lonely", label = "Alone"}}).result.graph
        g = G({operation = "remove_node", graph = g, node = "report"}).result.graph
        local a = G({operation = "analyze", graph = g}).result
        local dot = G({operation = "export", graph = g, format = "dot"}).text
        local mermaid = G({operation = "export", graph = g, format = "mermaid"}).text
        local u = G({operation = "create", directed = false, edges = {{"a", "b"}, {"b", "c"}, {"c", "a"}}}).result.graph
        local ua = G({operation = "analyze", graph = u}).result
        local back = G({operation = "shortest_path", graph = u, source = "c", target = "b"}).result.path
        return {cyclic = cyclic, topo = topo.success, topo_error = topo.error, a = a, dot = dot,
                mermaid = mermaid, u_cycle = ua.has_cycle, back = back, nodes = #g.nodes}
        """,
    )
    assert value["cyclic"] is True and value["topo"] is False
    assert value["topo_error"] == "the graph has a cycle: no topological order"
    a = value["a"]
    assert a["isolated"] == ["lonely"] and a["component_count"] == 2 and value["nodes"] == 4
    assert value["dot"].splitlines()[:2] == ["digraph G {", '  "parse" [label="Parse"];']
    assert '  "parse" -> "plan" [label="2"];' in value["dot"].splitlines()
    assert value["mermaid"].splitlines()[:2] == ["graph LR", '  n0["Parse"]']
    assert value["u_cycle"] is True and value["back"] == ["c", "b"]


def test_bad_graphs_raise(allowed: Path):
    engine, _ = make_engine(allowed)
    assert "weight must be a number >= 0" in failure(engine, 'Tool.invoke("graph-builder", {operation = "create", edges = {{"a", "b", -1}}})')  # fmt: skip
    assert "missing required parameter 'graph'" in failure(engine, 'Tool.invoke("graph-builder", {operation = "analyze"})')  # fmt: skip
    missing = run(engine, 'return Tool.invoke("graph-builder", {operation = "neighbors", graph = {nodes = {"a"}}, node = "z"})')  # fmt: skip
    assert missing["success"] is False and missing["error"] == "no node 'z' in the graph"
