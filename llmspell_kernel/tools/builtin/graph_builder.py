"""graph-builder: build, edit, analyse and export graphs given as {directed, nodes, edges}:
degrees, density, components, cycles, shortest weighted paths (Dijkstra), topological order,
neighbours; exported as JSON, Graphviz DOT or Mermaid. Graphs are values a script keeps (in
State, say): each call takes one and, when it edits it, returns the new one."""

from __future__ import annotations

import heapq
import json

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = (
    "create",
    "add_node",
    "add_edge",
    "remove_node",
    "remove_edge",
    "analyze",
    "shortest_path",
    "topological_sort",
    "neighbors",
    "export",
)
MAX_NODES = 10_000
MAX_EDGES = 50_000


class Graph:
    """Nodes by id (with their attributes, in insertion order) and edges in order."""

    def __init__(self, directed: bool) -> None:
        self.directed = directed
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, Any]] = []

    def add_node(self, raw: Any) -> str:
        if isinstance(raw, dict):
            node_id = raw.get("id")
            attrs = {k: v for k, v in raw.items() if k != "id"}
        else:
            node_id, attrs = raw, {}
        if (
            node_id is None
            or isinstance(node_id, bool)
            or not isinstance(node_id, str | int | float)
        ):
            raise ToolError(f"a node needs an id (a string or number), got {raw!r}")
        key = _id(node_id)
        self.nodes.setdefault(key, {}).update(attrs)
        if len(self.nodes) > MAX_NODES:
            raise ToolError(f"more than {MAX_NODES} nodes")
        return key

    def add_edge(self, raw: Any) -> None:
        if isinstance(raw, list) and len(raw) in (2, 3):
            edge = {"source": raw[0], "target": raw[1]}
            if len(raw) == 3:
                edge["weight"] = raw[2]
        elif isinstance(raw, dict):
            edge = dict(raw)
            edge["source"] = edge.pop("source", edge.pop("from", None))
            edge["target"] = edge.pop("target", edge.pop("to", None))
        else:
            raise ToolError(f"an edge is {{source, target, weight?}} or {{a, b}}, got {raw!r}")
        if edge["source"] is None or edge["target"] is None:
            raise ToolError(f"an edge needs a source and a target, got {raw!r}")
        edge["source"] = self.add_node(edge["source"])
        edge["target"] = self.add_node(edge["target"])
        weight = edge.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ToolError(
                f"edge {edge['source']} -> {edge['target']}: weight must be a number >= 0"
            )
        self.edges.append(edge)
        if len(self.edges) > MAX_EDGES:
            raise ToolError(f"more than {MAX_EDGES} edges")

    def adjacency(self) -> dict[str, list[tuple[str, float]]]:
        out: dict[str, list[tuple[str, float]]] = {n: [] for n in self.nodes}
        for e in self.edges:
            weight = float(e.get("weight", 1))
            out[e["source"]].append((e["target"], weight))
            if not self.directed:
                out[e["target"]].append((e["source"], weight))
        return out

    def as_value(self) -> dict[str, Any]:
        return {
            "directed": self.directed,
            "nodes": [{"id": n, **attrs} for n, attrs in self.nodes.items()],
            "edges": self.edges,
        }


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, required=True)
    graph = _graph(params, operation)
    if operation == "create":
        return _graph_response(
            graph, "create", f"graph of {len(graph.nodes)} nodes, {len(graph.edges)} edges"
        )
    if operation == "add_node":
        graph.add_node(params.value("node", required=True))
        return _graph_response(graph, operation, f"{len(graph.nodes)} nodes")
    if operation == "add_edge":
        graph.add_edge(params.value("edge", required=True))
        return _graph_response(graph, operation, f"{len(graph.edges)} edges")
    if operation == "remove_node":
        node = _existing(graph, params.value("node", required=True))
        del graph.nodes[node]
        graph.edges = [e for e in graph.edges if node not in (e["source"], e["target"])]
        return _graph_response(graph, operation, f"removed {node}")
    if operation == "remove_edge":
        source = _existing(graph, params.value("source", required=True))
        target = _existing(graph, params.value("target", required=True))
        kept = [e for e in graph.edges if not _joins(graph, e, source, target)]
        if len(kept) == len(graph.edges):
            raise ToolFailure(f"no edge {source} -> {target}")
        graph.edges = kept
        return _graph_response(graph, operation, f"removed {source} -> {target}")
    if operation == "analyze":
        return _analyze(graph)
    if operation == "shortest_path":
        return _shortest(graph, params)
    if operation == "topological_sort":
        order = _topological(graph)
        if order is None:
            raise ToolFailure("the graph has a cycle: no topological order")
        return ToolResponse(result={"order": order}, text=" -> ".join(order), operation=operation)
    if operation == "neighbors":
        node = _existing(graph, params.value("node", required=True))
        outgoing = sorted({e["target"] for e in graph.edges if e["source"] == node})
        incoming = sorted({e["source"] for e in graph.edges if e["target"] == node})
        found = sorted(set(outgoing) | set(incoming)) if not graph.directed else outgoing
        return ToolResponse(
            result={"node": node, "neighbors": found, "outgoing": outgoing, "incoming": incoming},
            text=", ".join(found),
            operation=operation,
        )
    return _export(graph, params.choice("format", ("json", "dot", "mermaid"), "json"))


def _id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _graph(params: Params, operation: str) -> Graph:
    raw = params.value("graph", required=operation != "create")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ToolError(f"parameter 'graph' is not JSON: {exc}") from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ToolError("parameter 'graph' must be a table {directed, nodes, edges}")
    source = Params(raw)
    directed = params.boolean("directed", source.boolean("directed", True))
    graph = Graph(directed)
    for node in source.array("nodes") + (params.array("nodes") if operation == "create" else []):
        graph.add_node(node)
    for edge in source.array("edges") + (params.array("edges") if operation == "create" else []):
        graph.add_edge(edge)
    return graph


def _existing(graph: Graph, raw: Any) -> str:
    node = _id(raw)
    if node not in graph.nodes:
        raise ToolFailure(f"no node '{node}' in the graph")
    return node


def _joins(graph: Graph, edge: dict[str, Any], source: str, target: str) -> bool:
    if edge["source"] == source and edge["target"] == target:
        return True
    return not graph.directed and edge["source"] == target and edge["target"] == source


def _graph_response(graph: Graph, operation: str, message: str) -> ToolResponse:
    return ToolResponse(result={"graph": graph.as_value()}, message=message, operation=operation)


def _components(graph: Graph) -> list[list[str]]:
    """Connected components (weakly connected for a directed graph)."""
    links: dict[str, set[str]] = {n: set() for n in graph.nodes}
    for e in graph.edges:
        links[e["source"]].add(e["target"])
        links[e["target"]].add(e["source"])
    seen: set[str] = set()
    found = []
    for start in graph.nodes:
        if start in seen:
            continue
        part, stack = [], [start]
        seen.add(start)
        while stack:
            node = stack.pop()
            part.append(node)
            for other in links[node] - seen:
                seen.add(other)
                stack.append(other)
        found.append(sorted(part))
    return found


def _topological(graph: Graph) -> list[str] | None:
    """Kahn's order (ties by insertion order), None when there is a cycle."""
    indegree = dict.fromkeys(graph.nodes, 0)
    for e in graph.edges:
        indegree[e["target"]] += 1
    ready = [n for n in graph.nodes if indegree[n] == 0]
    order: list[str] = []
    adjacency = graph.adjacency()
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target, _ in adjacency[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return order if len(order) == len(graph.nodes) else None


def _analyze(graph: Graph) -> ToolResponse:
    n, m = len(graph.nodes), len(graph.edges)
    out_degree = dict.fromkeys(graph.nodes, 0)
    in_degree = dict.fromkeys(graph.nodes, 0)
    for e in graph.edges:
        out_degree[e["source"]] += 1
        in_degree[e["target"]] += 1
    degree = {k: out_degree[k] + in_degree[k] for k in graph.nodes}
    possible = n * (n - 1) if graph.directed else n * (n - 1) / 2
    components = _components(graph)
    # Directed: no topological order. Undirected: more edges than a forest's n - components.
    cyclic = _topological(graph) is None if graph.directed else m > n - len(components)
    top = max(degree.values(), default=0)
    result = {
        "directed": graph.directed,
        "node_count": n,
        "edge_count": m,
        "density": round(m / possible, 6) if possible else 0.0,
        "degrees": degree,
        "in_degrees": in_degree if graph.directed else None,
        "out_degrees": out_degree if graph.directed else None,
        "components": components,
        "component_count": len(components),
        "connected": len(components) <= 1,
        "has_cycle": cyclic,
        "isolated": [k for k, d in degree.items() if d == 0],
        "most_connected": [k for k, d in degree.items() if d == top and top > 0],
    }
    return ToolResponse(
        result=result,
        message=f"{n} nodes, {m} edges, {len(components)} components"
        + (", cyclic" if cyclic else ", acyclic"),
        operation="analyze",
    )


def _shortest(graph: Graph, params: Params) -> ToolResponse:
    source = _existing(graph, params.value("source", required=True))
    target = _existing(graph, params.value("target", required=True))
    adjacency = graph.adjacency()
    best = {source: 0.0}
    previous: dict[str, str] = {}
    queue = [(0.0, source)]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == target:
            break
        if cost > best.get(node, float("inf")):
            continue
        for other, weight in adjacency[node]:
            total = cost + weight
            if total < best.get(other, float("inf")):
                best[other] = total
                previous[other] = node
                heapq.heappush(queue, (total, other))
    if target not in best:
        return ToolResponse(
            result={"source": source, "target": target, "found": False, "path": []},
            message=f"no path from {source} to {target}",
            operation="shortest_path",
        )
    path = [target]
    while path[-1] != source:
        path.append(previous[path[-1]])
    path.reverse()
    distance = best[target]
    return ToolResponse(
        result={
            "source": source,
            "target": target,
            "found": True,
            "path": path,
            "distance": int(distance) if distance.is_integer() else distance,
            "hops": len(path) - 1,
        },
        text=" -> ".join(path),
        operation="shortest_path",
    )


def _export(graph: Graph, fmt: str) -> ToolResponse:
    if fmt == "json":
        text = json.dumps(graph.as_value(), ensure_ascii=False, indent=2)
    elif fmt == "dot":
        arrow = "->" if graph.directed else "--"
        lines = [("digraph" if graph.directed else "graph") + " G {"]
        lines += [f"  {_dot(n)}{_dot_label(a.get('label'))};" for n, a in graph.nodes.items()]
        for e in graph.edges:
            label = e.get("label") if e.get("label") is not None else e.get("weight")
            lines.append(f"  {_dot(e['source'])} {arrow} {_dot(e['target'])}{_dot_label(label)};")
        lines.append("}")
        text = "\n".join(lines)
    else:
        ids = {n: f"n{i}" for i, n in enumerate(graph.nodes)}
        arrow = "-->" if graph.directed else "---"
        lines = ["graph LR" if graph.directed else "flowchart LR"]
        lines += [f'  {ids[n]}["{_mermaid(a.get("label", n))}"]' for n, a in graph.nodes.items()]
        for e in graph.edges:
            label = e.get("label")
            middle = f'{arrow}|"{_mermaid(label)}"|' if label is not None else arrow
            lines.append(f"  {ids[e['source']]} {middle} {ids[e['target']]}")
        text = "\n".join(lines)
    return ToolResponse(result={"format": fmt, "output": text}, text=text, operation="export")


def _dot(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(label: Any) -> str:
    return "" if label is None else f" [label={_dot(label)}]"


def _mermaid(value: Any) -> str:
    return str(value).replace('"', "#quot;")
