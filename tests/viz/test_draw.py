"""draw_graph: DOT structure, options, escaping, size cap, and rendering with (and without) dot."""

from __future__ import annotations

import html
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

import nn
import viz
from autodiff import Value, linear, topological_order
from viz import DotNotFoundError, draw_dot, draw_graph, render
from viz.draw import MAX_LABEL, grad_fill

HTML_LABEL = r"<<table.*?</table>>"
NODE = re.compile(rf"^\t(\w+) \[label=({HTML_LABEL}|\"(?:[^\"\\]|\\.)*\"|\S+)(.*)\]$", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$", re.MULTILINE)
QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
FILL = re.compile(r'fillcolor="(#\w+)"')
CELL = re.compile(r"<td[^>]*>(.*?)</td>")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")


def nodes(source: str) -> dict[str, str]:
    """Node name -> its label, with DOT's quoting undone (HTML-like labels as written)."""
    found = {}
    for name, label, _ in NODE.findall(source):
        if label.startswith('"'):
            # DOT's quoted strings know one escape, \"; the rest is for the label's own syntax
            label = re.sub(r"\\(.)", lambda m: m[1] if m[1] == '"' else m[0], label[1:-1])
        found[name] = label
    return found


def is_box(label: str) -> bool:
    return label.startswith("<<table")


def fields(label: str) -> list[str]:
    """The lines of a Value's box (an HTML-like table, a cell per line) as the picture shows."""
    assert is_box(label), label
    cells = [re.sub(r"</?b>", "", cell).replace("<br/>", "\n") for cell in CELL.findall(label)]
    assert all("<" not in cell and ">" not in cell for cell in cells), cells
    # dot reads a backslash before a letter as an escape (\\N: the node's name), so it is doubled
    return [html.unescape(cell.replace("\\\\", "\\")) for cell in cells]


def boxes(source: str) -> dict[str, list[str]]:
    """Value node name -> the lines of its box (the legend is not a Value)."""
    return {n: fields(lab) for n, lab in nodes(source).items() if is_box(lab) and n != "legend"}


def ops(source: str) -> dict[str, str]:
    return {n: lab for n, lab in nodes(source).items() if not is_box(lab)}


def edges(source: str) -> list[tuple[str, str]]:
    return [(tail, head) for tail, head, _ in EDGE.findall(source)]


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
    records = boxes(source)
    operations = ops(source)
    # a*b is the first unlabelled result, so t1
    assert sorted(r[0] for r in records.values()) == ["a", "b", "c", "d", "t1"]
    assert sorted(operations.values()) == ["*", "+"]
    by_title = {r[0]: n for n, r in records.items()}
    assert records[by_title["a"]] == ["a", "data 2", "grad -3"]
    assert records[by_title["b"]] == ["b", "data -3", "grad 2"]
    assert records[by_title["d"]] == ["d", "data 4", "grad 1"]
    mul = next(n for n, lab in operations.items() if lab == "*")
    add = next(n for n, lab in operations.items() if lab == "+")
    t = by_title["t1"]
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
    one, two = "x#1", "x#2"  # numbered in the order they appear in first * second
    records = boxes(draw_graph(y).source).values()
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
    assert "grad" not in hidden and "data 0.3333<" in hidden
    assert "data 0.333333<" in draw_graph(y, precision=6).source
    assert "data 0.33<" in draw_graph(y, precision=2).source
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
    source = draw_graph(y).source
    assert "**2" in ops(source).values()
    assert [r[0] for r in boxes(source).values()] == ["x", "t1"]  # no box for the constant 2


def test_create_graph_grads_are_shown_as_their_numbers() -> None:
    x = Value(3.0, label="x")
    y = x * x * x
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    record = next(r for r in boxes(draw_graph(y).source).values() if r[0] == "x")
    assert record == ["x", "data 3", "grad 27"]  # dy/dx = 3x²


def test_highlight_colours_exactly_the_paths_from_a_value_to_the_root() -> None:
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    ab = a * b
    ab.label = "ab"
    out = ab + c
    out.label = "out"
    source = draw_graph(out, highlight=a).source
    lit = {name for name, _, attrs in NODE.findall(source) if "penwidth=2.5" in attrs}
    names = {r[0]: n for n, r in boxes(source).items()}
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
    assert list(ops(draw_graph(z).source).values()) == ["Σw·x+b"]
    expanded = draw_graph(z, collapse_linear=False).source
    assert sorted(ops(expanded).values()) == ["*", "*", "+"]
    terms = sorted(r for r in boxes(expanded).values() if "·" in r[0])
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
    "&amp; stays &amp;",
    "a & b &lt;c&gt; &#65;",
    "</td></tr></table>>",
    "]]> <!-- -->",
]


@pytest.mark.parametrize("label", NASTY)
def test_labels_are_escaped_in_the_dot_source(label: str) -> None:
    x = Value(1.0, label=label)
    y = x * 2.0
    y.label = label
    source = draw_graph(y).source
    outside = QUOTED.sub('""', re.sub(HTML_LABEL, "<>", source))
    assert "evil" not in outside and "pwned" not in outside
    shown = label.replace("\n", "\\n")  # a newline is written as its escape
    titles = ["2", f"{shown}#1", f"{shown}#2"]  # x appears before y
    assert sorted(r[0] for r in boxes(source).values()) == sorted(titles)
    assert len(edges(source)) == 3


@needs_dot
@pytest.mark.render
@pytest.mark.parametrize("label", NASTY)
def test_dot_accepts_escaped_labels_and_shows_them_literally(label: str, tmp_path: Path) -> None:
    x = Value(1.0, label=label)
    y = x * 2.0
    path = render(y, tmp_path / "g.svg", legend=False)
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
        "CheckReport",
        "Contribution",
        "Derivation",
        "DotNotFoundError",
        "Factor",
        "Group",
        "Page",
        "Slip",
        "Step",
        "WorkedExample",
        "backward_steps",
        "check_values",
        "draw_dot",
        "draw_graph",
        "explain",
        "find",
        "page",
        "render",
        "worked_example",
    ]
    assert not hasattr(viz, "Path")  # pathlib.Path's name; a path of the chain rule is ChainPath


# ---- drawings for slides ----


def seed_000() -> tuple[Value, dict[str, Value]]:
    """The seeds' 1-2-2 sigmoid network and its half sum of squared errors, after backward."""
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]]
    )
    loss = nn.half_sse(model([Value(1.0, label="x[0]")]), [1.0, 0.0])
    loss.label = "L"
    loss.backward()
    return loss, {v.label: v for v in topological_order(loss) if v.label}


def svg_text_positions(svg: bytes) -> dict[str, tuple[float, float]]:
    """The first line of each node's text (a box's title) -> its (x, y) in the picture."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    found = {}
    for group in root.iter(f"{ns}g"):
        if group.get("class") == "node":
            text = next(group.iter(f"{ns}text"))
            found[text.text or ""] = (float(text.get("x", 0)), float(text.get("y", 0)))
    return found


def test_a_constant_is_named_by_its_value() -> None:
    x = Value(3.0, label="x")
    y = x * -2.5 + 1.0
    y.label = "y"
    y.backward()
    shown = sorted(boxes(draw_graph(y).source).values())
    # a constant's box is its number and its grad: no `data` line repeating the number
    assert ["-2.5", "grad 3"] in shown and ["1", "grad 1"] in shown
    assert ["x", "data 3", "grad -2.5"] in shown


def test_fills_show_the_sign_of_grad_and_deepen_with_its_size() -> None:
    def rgb(fill: str) -> tuple[int, int, int]:
        return int(fill[1:3], 16), int(fill[3:5], 16), int(fill[5:7], 16)

    small_up, large_up = rgb(grad_fill(0.01, 1.0)), rgb(grad_fill(1.0, 1.0))
    small_down, large_down = rgb(grad_fill(-0.01, 1.0)), rgb(grad_fill(-1.0, 1.0))
    assert large_up[2] > large_up[0] and small_up[2] > small_up[0]  # positive: blue
    assert large_down[0] > large_down[2] and small_down[0] > small_down[2]  # negative: red
    assert sum(large_up) < sum(small_up) < 3 * 255  # larger |grad|: deeper, yet never white
    assert sum(large_down) < sum(small_down) < 3 * 255
    assert grad_fill(0.0, 1.0) == "#ffffff"
    assert grad_fill(float("nan"), 1.0) != grad_fill(1.0, 1.0)


def test_boxes_are_filled_by_their_gradient_and_a_legend_explains_it() -> None:
    *_, d = small()  # grads: a -3, b 2, c 1, d 1
    source = draw_graph(d).source
    fill = {name: FILL.findall(attrs) for name, _, attrs in NODE.findall(source)}
    names = {r[0]: n for n, r in boxes(source).items()}
    assert fill[names["a"]] == [grad_fill(-3.0, 3.0)]
    assert fill[names["b"]] == [grad_fill(2.0, 3.0)]
    legend = nodes(source)["legend"]
    assert "positive" in legend and "negative" in legend and "(largest 3)" in legend
    assert "legend" not in draw_graph(d, legend=False).source
    assert "legend" not in draw_graph(d, show_grad=False).source  # no fills to explain
    assert 'fillcolor="#ffffff"' in draw_graph(d, show_grad=False).source


def test_a_clean_sans_serif_font_throughout() -> None:
    *_, d = small()
    source = draw_graph(d).source
    assert source.count('fontname="Helvetica,Arial,sans-serif"') == 2  # graph and nodes


def test_only_paths_from_draws_those_paths_and_nothing_else() -> None:
    loss, v = seed_000()
    source = draw_graph(loss, only_paths_from=v["W1[1,0]"]).source
    titles = sorted(r[0] for r in boxes(source).values())
    # W1[1,0] -> z1[1] -> a1[1] -> both z2 -> both a2 -> their errors, squares, sum -> L
    path = ["W1[1,0]", "z1[1]", "a1[1]", "z2[0]", "z2[1]", "a2[0]", "a2[1]", "L"]
    assert set(path) <= set(titles)
    assert not {"W1[0,0]", "x[0]", "b1[1]", "a1[0]", "W2[0,0]", "b2[1]"} & set(titles)
    assert len(titles) == len(path) + 5  # two differences, two squares, their sum
    every = {title: n for n, (title, *_) in boxes(source).items()}
    start = every["W1[1,0]"]
    assert [head for tail, head in edges(source) if tail == start] == [f"{every['z1[1]']}op"]
    assert "only the paths from" in nodes(source)["legend"]
    with pytest.raises(ValueError, match="only_paths_from must be a Value that root depends on"):
        draw_graph(loss, only_paths_from=Value(1.0))
    with pytest.raises(TypeError, match="only_paths_from must be a Value, got float"):
        draw_graph(loss, only_paths_from=1.0)  # type: ignore[arg-type]


def test_only_paths_from_with_linear_drawn_term_by_term_keeps_the_terms_on_the_path() -> None:
    w = [Value(0.5, label="w0"), Value(-2.0, label="w1")]
    x = [Value(4.0, label="x0"), Value(1.0, label="x1")]
    z = linear(w, x, Value(0.25, label="b"))
    z.label = "z"
    z.backward()
    source = draw_graph(z, only_paths_from=w[1], collapse_linear=False).source
    assert sorted(r[0] for r in boxes(source).values()) == ["w1", "w1·x1", "z"]


def test_long_labels_are_cut_with_an_ellipsis() -> None:
    x = Value(1.0, label="a" * 20_000)
    y = x * 2.0
    title = next(r[0] for r in boxes(draw_graph(y).source).values() if r[0].startswith("a"))
    assert title == "a" * (MAX_LABEL - 1) + "…"
    assert len(draw_graph(y).source) < 5_000


@needs_dot
@pytest.mark.render
def test_a_label_of_twenty_thousand_characters_renders(tmp_path: Path) -> None:
    x = Value(1.0, label="b" * 20_000)
    y = x * 2.0
    texts = svg_text_positions(render(y, tmp_path / "long.svg").read_bytes())
    assert "b" * (MAX_LABEL - 1) + "…" in texts


@needs_dot
@pytest.mark.render
def test_the_same_graph_gives_the_same_svg() -> None:
    pictures = [draw_graph(seed_000()[0]).pipe(format="svg") for _ in range(2)]
    assert pictures[0] == pictures[1]
    assert b"Times" not in pictures[0]


@needs_dot
@pytest.mark.render
def test_units_are_drawn_in_index_order_zero_on_top() -> None:
    loss, _ = seed_000()
    at = svg_text_positions(draw_graph(loss).pipe(format="svg"))
    for first, second in [("z1[0]", "z1[1]"), ("a1[0]", "a1[1]"), ("z2[0]", "z2[1]")]:
        assert at[first][1] < at[second][1], (first, second)  # SVG's y grows downwards
    model = nn.MLP(2, [3, 3, 1], activation="tanh", seed=0)  # where dot alone reorders units
    deep = nn.half_sse([model([0.5, -1.0])], [1.0])  # type: ignore[list-item]
    deep.backward()
    at = svg_text_positions(draw_graph(deep).pipe(format="svg"))
    for stem in ("z1", "a1", "z2", "a2"):
        ys = [at[f"{stem}[{j}]"][1] for j in range(3)]
        assert ys == sorted(ys), (stem, ys)
    # one neuron: its inputs top to bottom as the weighted sum reads them, w0 x0 w1 x1 b
    neuron = nn.Neuron.from_weights([0.5, -0.25], 0.1, activation="tanh")
    out = neuron([Value(1.0, label="x[0]"), Value(2.0, label="x[1]")])
    out.backward()
    at = svg_text_positions(draw_graph(out).pipe(format="svg"))
    inputs = sorted(
        (name for name in at if name.startswith(("w", "x", "b"))), key=lambda n: at[n][1]
    )
    assert inputs == ["w[0]", "x[0]", "w[1]", "x[1]", "b"], inputs


@needs_dot
@pytest.mark.render
def test_the_seed_000_graph_fits_a_slide(tmp_path: Path) -> None:
    png = render(seed_000()[0], tmp_path / "seed_000.png").read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width <= 1800 and height <= 900, (width, height)
