"""draw_graph: DOT structure, options, escaping, size cap, and rendering with (and without) dot."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

import viz
from autodiff import Value, linear, topological_order
from viz import DotNotFoundError, draw_dot, draw_graph, render

NODE = re.compile(r"^\t(\w+) \[label=(\"(?:[^\"\\]|\\.)*\"|\S+)(.*)\]$", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$", re.MULTILINE)
QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")


def nodes(source: str) -> dict[str, str]:
    """Node name -> its label, with DOT's quoting undone."""
    found = {}
    for name, label, _ in NODE.findall(source):
        if label.startswith('"'):
            # DOT's quoted strings know one escape, \"; the rest is for the label's own syntax
            label = re.sub(r"\\(.)", lambda m: m[1] if m[1] == '"' else m[0], label[1:-1])
        found[name] = label
    return found


def edges(source: str) -> list[tuple[str, str]]:
    return [(tail, head) for tail, head, _ in EDGE.findall(source)]


def fields(record_label: str) -> list[str]:
    """The fields of a record label `{ a | b | c }` with the record escapes undone."""
    body = record_label.strip()
    assert body.startswith("{ ") and body.endswith(" }"), body
    parts, current, chars = [], [], iter(body[2:-2])
    for c in chars:
        if c == "\\":
            nxt = next(chars)
            current.append("\n" if nxt == "n" else nxt)
        elif c == "|":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(c)
    parts.append("".join(current).strip())
    return parts


def small() -> tuple[Value, Value, Value, Value]:
    """d = a*b + c with every leaf labelled, after backward: dd/da = b, dd/db = a, dd/dc = 1."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    d = a * b + c
    d.label = "d"
    d.backward()
    return a, b, c, d


def test_records_op_nodes_and_edges_follow_the_computation() -> None:
    *_, d = small()
    source = draw_graph(d).source
    found = nodes(source)
    records = {n: fields(lab) for n, lab in found.items() if lab.startswith("{")}
    ops = {n: lab for n, lab in found.items() if not lab.startswith("{")}
    assert sorted(r[0] for r in records.values()) == ["a", "b", "c", "d", "t3"]
    assert sorted(ops.values()) == ["*", "+"]
    by_title = {r[0]: n for n, r in records.items()}
    assert records[by_title["a"]] == ["a", "data 2", "grad -3"]
    assert records[by_title["b"]] == ["b", "data -3", "grad 2"]
    assert records[by_title["d"]] == ["d", "data 4", "grad 1"]
    mul = next(n for n, lab in ops.items() if lab == "*")
    add = next(n for n, lab in ops.items() if lab == "+")
    t = by_title["t3"]
    assert sorted(edges(source)) == sorted(
        [
            (by_title["a"], mul),
            (by_title["b"], mul),
            (mul, t),
            (t, add),
            (by_title["c"], add),
            (add, by_title["d"]),
        ]
    )
    assert "rankdir=LR" in source


def test_values_sharing_a_label_get_the_names_explain_gives_them() -> None:
    first, second = Value(2.0, label="x"), Value(3.0, label="x")
    y = first * second
    y.label = "y"
    order = topological_order(y)
    one, two = (f"x@{order.index(v)}" for v in (first, second))
    records = [fields(lab) for lab in nodes(draw_graph(y).source).values() if lab.startswith("{")]
    assert sorted(r[0] for r in records) == sorted([one, two, "y"])
    assert f"∂y/∂{one} = {two} = 3" in str(viz.explain(y, first))


def test_returns_a_digraph_that_jupyter_displays_and_draw_dot_is_the_same_function() -> None:
    *_, d = small()
    graph = draw_graph(d)
    assert isinstance(graph, graphviz.Digraph)
    assert hasattr(graph, "_repr_mimebundle_")
    assert draw_dot is draw_graph
    assert draw_dot(d).source == graph.source


def test_options_rankdir_hidden_grads_and_precision() -> None:
    x = Value(1 / 3, label="x")
    y = x * 3.0
    y.backward()
    assert "rankdir=TB" in draw_graph(y, rankdir="TB").source
    hidden = draw_graph(y, show_grad=False).source
    assert "grad" not in hidden and "data 0.3333" in hidden
    assert "data 0.333333" in draw_graph(y, precision=6).source
    assert "data 0.33 " in draw_graph(y, precision=2).source
    with pytest.raises(ValueError, match=r"rankdir must be one of LR, TB, RL, BT, got 'svg'"):
        draw_graph(y, "svg")
    with pytest.raises(ValueError, match="precision"):
        draw_graph(y, precision=0)
    with pytest.raises(TypeError, match=r"draw_graph: root must be a Value, got float 1.5"):
        draw_graph(1.5)  # type: ignore[arg-type]


def test_same_expression_gives_the_same_dot_text() -> None:
    def build() -> Value:
        a, b = Value(0.5, label="a"), Value(-1.5)
        return ((a * b).tanh() + a**2).sigmoid()

    assert draw_graph(build()).source == draw_graph(build()).source


def test_fan_out_a_times_a_draws_two_edges_into_one_op() -> None:
    a = Value(3.0, label="a")
    sq = a * a
    source = draw_graph(sq).source
    assert edges(source).count(("v0", "v1op")) == 2


def test_a_fixed_exponent_is_written_into_its_op_node_not_drawn_as_a_value() -> None:
    x = Value(3.0, label="x")
    y = x**2
    found = nodes(draw_graph(y).source)
    assert "**2" in found.values()
    records = [fields(lab) for lab in found.values() if lab.startswith("{")]
    assert [r[0] for r in records] == ["x", "t2"]  # no record for the constant 2


def test_create_graph_grads_are_shown_as_their_numbers() -> None:
    x = Value(3.0, label="x")
    y = x * x * x
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    record = next(fields(lab) for lab in nodes(draw_graph(y).source).values() if "x |" in lab)
    assert record == ["x", "data 3", "grad 27"]  # dy/dx = 3x²


def test_highlight_colours_exactly_the_paths_from_a_value_to_the_root() -> None:
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    ab = a * b
    ab.label = "ab"
    out = ab + c
    out.label = "out"
    source = draw_graph(out, highlight=a).source
    lit = {name for name, _, attrs in NODE.findall(source) if "fillcolor" in attrs}
    names = {fields(lab)[0]: n for n, lab in nodes(source).items() if lab.startswith("{")}
    assert lit == {names["a"], names["ab"], names["out"], f"{names['ab']}op", f"{names['out']}op"}
    lit_edges = {(t, h) for t, h, attrs in EDGE.findall(source) if "color" in attrs}
    assert (names["b"], f"{names['ab']}op") not in lit_edges
    assert (names["c"], f"{names['out']}op") not in lit_edges
    assert (names["a"], f"{names['ab']}op") in lit_edges
    assert (f"{names['out']}op", names["out"]) in lit_edges
    with pytest.raises(ValueError, match="highlight must be a Value that root depends on"):
        draw_graph(out, highlight=Value(9.0))


def test_linear_is_one_node_by_default_and_expands_term_by_term_on_request() -> None:
    w = [Value(0.5, label="w0"), Value(-2.0, label="w1")]
    x = [Value(4.0, label="x0"), Value(1.0, label="x1")]
    z = linear(w, x, Value(0.25, label="b"))
    z.label = "z"
    z.backward()
    collapsed = nodes(draw_graph(z).source)
    assert [lab for lab in collapsed.values() if not lab.startswith("{")] == ["Σw·x+b"]
    expanded = nodes(draw_graph(z, collapse_linear=False).source)
    assert sorted(lab for lab in expanded.values() if not lab.startswith("{")) == ["*", "*", "+"]
    terms = sorted(fields(lab) for lab in expanded.values() if "·" in lab)
    # each term w_i·x_i has the value w_i x_i and, since dz/d(term) = 1, z's gradient
    assert terms == [["w0·x0", "data 2", "grad 1"], ["w1·x1", "data -2", "grad 1"]]


def test_size_cap_says_how_large_the_graph_is_and_what_to_do() -> None:
    x = Value(0.1)
    for _ in range(599):
        x = x * 1.0001  # 1 leaf + 599 x (constant, product) = 1199 Values
    n = len(topological_order(x))
    with pytest.raises(ValueError) as caught:
        draw_graph(x)
    message = str(caught.value)
    assert f"the graph has {n} nodes, more than max_nodes=500" in message
    assert "pass a larger max_nodes or draw a smaller sub-expression" in message
    assert draw_graph(x, max_nodes=n).source.count("->") == 2 * 599 + 599


def test_a_deep_chain_draws_without_recursion() -> None:
    x = Value(0.5, label="x")
    y = x
    for _ in range(5000):
        y = y.tanh()
    assert draw_graph(y, max_nodes=10_000).source.count(" -> ") == 2 * 5000


def test_drawing_does_not_touch_the_graph() -> None:
    a, b, c, d = small()
    z = linear([a, d], [b, c], Value(0.5, label="bias")).tanh()  # a term-by-term drawn linear
    z.backward()
    before = [(v.data, v.grad, v.label, v.parents, v.op) for v in topological_order(z)]
    source = draw_graph(z, highlight=a, collapse_linear=False).source
    after = [(v.data, v.grad, v.label, v.parents, v.op) for v in topological_order(z)]
    assert before == after
    assert "a·b" in source and "d·c" in source  # the linear node was expanded


NASTY = [
    'say "hi"',
    "back\\slash\\",
    "<b>bold</b>",
    "{braces}",
    "a|b",
    "two\nlines",
    'x"]; evil [label="pwned',
    "port <f0> \\l \\N",
    "\\",
]


@pytest.mark.parametrize("label", NASTY)
def test_labels_are_escaped_in_the_dot_source(label: str) -> None:
    x = Value(1.0, label=label)
    y = x * 2.0
    y.label = label
    source = draw_graph(y).source
    outside = QUOTED.sub('""', source)
    assert "evil" not in outside and "pwned" not in outside
    records = [fields(lab) for lab in nodes(source).values() if lab.startswith("{")]
    order = topological_order(y)
    titles = ["data 2", f"{label}@{order.index(x)}", f"{label}@{order.index(y)}"]
    assert sorted(r[0] for r in records) == sorted(titles)  # the constant 2 has no title
    assert len(edges(source)) == 3


@needs_dot
@pytest.mark.render
@pytest.mark.parametrize("label", NASTY)
def test_dot_accepts_escaped_labels_and_shows_them_literally(label: str, tmp_path: Path) -> None:
    x = Value(1.0, label=label)
    y = x * 2.0
    path = render(y, tmp_path / "g.svg")
    svg = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in svg.iter(f"{ns}g") if g.get("class") == "node"]
    assert len(groups) == 4  # x, the constant 2, the op, y: nothing injected
    texts = [t.text or "" for t in svg.iter(f"{ns}text")]
    for line in label.split("\n"):
        assert any(line.strip() in t for t in texts), (line, texts)


@needs_dot
@pytest.mark.render
@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_digraph_render_writes_files_with_the_system_dot(
    fmt: str, magic: bytes, tmp_path: Path
) -> None:
    *_, d = small()
    written = draw_graph(d).render(str(tmp_path / "out" / "graph"), format=fmt)
    assert Path(written) == tmp_path / "out" / f"graph.{fmt}"
    assert Path(written).read_bytes().startswith(magic)
    helper = render(d, tmp_path / "helper", format=fmt, show_grad=False)
    assert helper.name == f"helper.{fmt}" and helper.read_bytes().startswith(magic)


@needs_dot
@pytest.mark.render
def test_render_takes_the_format_from_an_upper_case_suffix(tmp_path: Path) -> None:
    *_, d = small()
    written = render(d, tmp_path / "graph.SVG")
    assert written == tmp_path / "graph.SVG"
    assert written.read_bytes().startswith(b"<?xml")


def test_missing_dot_raises_an_error_that_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    *_, d = small()
    graph = draw_graph(d)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz") as caught:
        render(graph, tmp_path / "g.svg")
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(graphviz.ExecutableNotFound, match=r"brew install graphviz"):
        graph.render(str(tmp_path / "g"), format="svg")
    with pytest.raises(DotNotFoundError, match=r"`dot` was not found"):
        graph.pipe(format="svg")
    assert not (tmp_path / "g.svg").exists()


def test_render_needs_a_format_and_a_drawable() -> None:
    *_, d = small()
    with pytest.raises(ValueError, match="expected a format or a path with a suffix"):
        render(d, "graph")
    with pytest.raises(TypeError, match=r"expected a Value or a graphviz\.Digraph, got int"):
        render(3, "graph.svg")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"drawing options \(rankdir\) need a Value"):
        render(draw_graph(d), "graph.svg", rankdir="TB")


def test_public_names_are_pinned() -> None:
    assert viz.__all__ == [
        "BackwardSteps",
        "ChainPath",
        "Contribution",
        "Derivation",
        "DotNotFoundError",
        "Factor",
        "Group",
        "Page",
        "Step",
        "backward_steps",
        "draw_dot",
        "draw_graph",
        "explain",
        "page",
        "render",
    ]
    assert not hasattr(viz, "Path")  # pathlib.Path's name; a path of the chain rule is ChainPath
