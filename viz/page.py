"""A step-through page: the forward pass, then the backward sweep, played on the drawn graph.

`page(root)` draws the graph with `draw_graph`, pipes it through `dot` to SVG, and wraps it in one
HTML file with its own script and style; nothing is fetched from anywhere, so the file works
offline and can be mailed or committed. Every number on the page is worked out here in Python
(the sweep from `backward_steps`, each derivation from `explain`) and embedded as JSON; the
script only shows and hides them. The page only reads the graph.
"""

from __future__ import annotations

import html
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autodiff import Value, topological_order
from autodiff.checks import one_of, shown
from viz._names import Names, number, require_precision, require_value
from viz.draw import RANKDIRS, draw_graph
from viz.explain import explain
from viz.steps import backward_steps

SVG = "http://www.w3.org/2000/svg"
MAX_LISTED = 3  # contributions written out in a status line; the rest are counted
_NODE = re.compile(r"v(\d+)")
_OP = re.compile(r"v(\d+)op")
_OUTLINES = {f"{{{SVG}}}{shape}" for shape in ("path", "polygon", "ellipse")}


class Page:
    """The page's HTML: `str()` or `.html` for the text, shown inline by Jupyter (in an iframe,
    so its script runs), written to a file by `save`."""

    def __init__(self, text: str, height: int, path: Path | None = None) -> None:
        self.html = text
        self.path = path
        self._height = height

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        where = f" saved to {str(self.path)!r}" if self.path else ""
        return f"<viz.Page of {len(self.html):,} characters{where}>"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to `path` (missing folders are made) and return where it went."""
        target = _path(path, "Page.save")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        self.path = target
        return target

    def _repr_html_(self) -> str:
        # an iframe's srcdoc runs the page's script in Jupyter, where inline HTML output would not
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self._height}px; border: 1px solid #d4d4d8;">'
            "</iframe>"
        )


def _path(path: Any, where: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{where}: path must be a str or os.PathLike (got {type(path).__name__} {shown(path)})"
        )
    return Path(path)


def page(
    root: Value,
    path: str | os.PathLike[str] | None = None,
    *,
    rankdir: str = "LR",
    precision: int = 4,
) -> Page:
    """A self-contained HTML page that steps through the forward pass and the backward sweep.

    Controls: next / previous / play / reset (also the arrow keys, space and Home). Each step
    lights the current Value and the edges it reads from or passes gradient along; a Value's box
    shows its data once the forward pass computes it and its grad once the sweep reaches it
    (running sums in grey before then); clicking a box shows `explain(root, value)`. Saved to
    `path` when given. The page only reads the graph: `.grad` is neither used nor changed.
    """
    where = "page"
    require_value(root, where, "root")
    one_of(rankdir, RANKDIRS, f"{where}: rankdir")
    require_precision(precision, where)
    target = None if path is None else _path(path, where)

    order = topological_order(root)
    names = Names(order, precision)
    steps = list(backward_steps(root))

    # the page has its own legend: a box's colour follows the sweep, not the graph's .grad
    graph = draw_graph(root, rankdir=rankdir, precision=precision, legend=False)
    drawn = _drawn_indices(graph.source)
    frames, timeline = _frames(order, steps, drawn, names)
    widest = {i: max(texts, key=len) for i, texts in timeline.grad_texts.items()}
    _reserve_grad_width(graph, order, widest, precision)
    svg = _marked_svg(graph.pipe(format="svg", encoding="utf-8"), order, names)

    nodes = []
    for i in sorted(drawn):
        node = order[i]
        nodes.append(
            {
                "index": i,
                "name": names.text(node),
                "label": node.label or names.text(node),
                "data": number(node.data, precision),
                "grad": repr(float(timeline.grad[i])),
                "gradText": number(timeline.grad[i], precision),
                "forward": timeline.forward.get(i, 0),
                "reached": timeline.reached.get(i, len(frames) - 1),
                "partial": timeline.partial.get(i, []),
                "explain": str(explain(root, node, precision=precision)),
            }
        )
    data = {"root": names.text(root), "nodes": nodes, "frames": frames}
    _, height = _svg_size(svg)
    text = _document(names.text(root), svg, data)
    result = Page(text, height=min(900, height + 330))
    if target is not None:
        result.save(target)
    return result


def _drawn_indices(source: str) -> set[int]:
    """The topological positions of the Values that have a box in the drawing."""
    return {int(m[1]) for m in re.finditer(r"^\s*v(\d+) \[", source, flags=re.M)}


class _Timeline:
    """When each Value's data and grad appear: frame numbers and the texts shown."""

    def __init__(self) -> None:
        self.forward: dict[int, int] = {}  # frame that computes the Value (leaves: 0)
        self.reached: dict[int, int] = {}  # frame from which its grad is complete
        self.grad: dict[int, float] = {}  # the complete grad
        self.partial: dict[int, list[tuple[int, str]]] = {}  # running sums before that
        self.grad_texts: dict[int, list[str]] = {}  # every grad text the box will show


def _frames(
    order: Sequence[Value], steps: Sequence[Any], drawn: set[int], names: Names
) -> tuple[list[dict[str, Any]], _Timeline]:
    """The frames of the page (start, forward steps, backward steps, done) and the timeline."""
    index, p = names.index, names.precision
    root = order[-1]
    r = names.text(root)
    timeline = _Timeline()
    computed = [i for i in sorted(drawn) if order[i].op is not None]
    n_forward, n_backward = len(computed), len(steps)

    frames: list[dict[str, Any]] = [
        {
            "phase": "start",
            "node": None,
            "status": (
                "start: the inputs and parameters are given; press next (→) to run the forward pass"
            ),
        }
    ]
    for k, i in enumerate(computed, 1):
        node = order[i]
        timeline.forward[i] = len(frames)
        formula = _formula(node, names)
        frames.append(
            {
                "phase": "forward",
                "node": i,
                "status": (
                    f"forward step {k} of {n_forward}: "
                    f"{names.text(node)} = {formula} = {number(node.data, p)}"
                ),
            }
        )

    running: dict[int, float] = {}
    for k, step in enumerate(steps, 1):
        frame = len(frames)
        i = index[step.node]
        g = float(step.grad)
        timeline.reached[i] = frame
        timeline.grad[i] = g
        passed = []
        for parent, local, amount in step.contributions:
            j = index[parent]
            running[j] = running.get(j, 0.0) + float(amount)
            passed.append(
                f"{names.text(parent)}.grad += {number(local, p)} · {_bracketed(number(g, p))}"
                f" = {number(amount, p)}"
            )
        for j in {index[parent] for parent, _, _ in step.contributions}:
            if j in drawn:
                timeline.partial.setdefault(j, []).append((frame, number(running[j], p)))
        said = f"{names.text(step.node)}.grad = {number(g, p)}"
        if step.node is root:
            said += f" (the seed: ∂{r}/∂{r} = 1)"
        if passed:
            more = len(passed) - MAX_LISTED
            said += "; " + "; ".join(passed[:MAX_LISTED])
            said += f"; and {more} more" if more > 0 else ""
        elif step.node.op is None and step.node is not root:
            said += " (a leaf: nothing to pass on)"
        frames.append(
            {"phase": "backward", "node": i, "status": f"backward step {k} of {n_backward}: {said}"}
        )

    frames.append(
        {
            "phase": "done",
            "node": None,
            "status": (
                f"done: each box holds the gradient of {r} with respect to its Value, "
                f"the numbers {r}.backward() leaves in .grad"
            ),
        }
    )
    for i in drawn:
        # a Value with no step of its own (a leaf) is complete after the last amount it receives
        if i not in timeline.reached:
            received = timeline.partial.get(i, [])
            timeline.reached[i] = received[-1][0] if received else len(frames) - 1
            timeline.grad[i] = running.get(i, 0.0)
        texts = [text for _, text in timeline.partial.get(i, [])]
        timeline.grad_texts[i] = [*texts, number(timeline.grad[i], p)]
    return frames, timeline


def _bracketed(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _formula(node: Value, names: Names, width: int = 80) -> str:
    """How a Value is computed from its parents, in their names (`a · b`, `tanh(z)`), cut to
    `width` characters; an op's fixed parameters are written as their numbers."""
    op = node.op
    assert op is not None  # only called for results of an op
    n = len(node.parents) - op.consts
    args = [names.text(parent) for parent in node.parents[:n]]
    fixed = [number(parent.data, names.precision) for parent in node.parents[n:]]
    text = op.expression([*args, *fixed])
    return text if len(text) <= width else text[: width - 1] + "…"


def _reserve_grad_width(
    graph: Any, order: Sequence[Value], widest: dict[int, str], precision: int
) -> None:
    """Size each box's grad field for the longest number it will show.

    The drawing writes the graph's current grads (often still 0); the page fills in others, so
    the field is laid out for those. A label of another shape is left as drawn (the page's
    script then shrinks a number that overflows).
    """
    for k, line in enumerate(graph.body):
        found = re.match(r"\s*v(\d+) \[", line)
        if not found or int(found[1]) not in widest:
            continue
        i = int(found[1])
        drawn = f"grad {number(order[i].grad, precision)}"
        if drawn in line:
            head, _, tail = line.rpartition(drawn)
            graph.body[k] = f"{head}grad {widest[i]}{tail}"


def _marked_svg(svg: str, order: Sequence[Value], names: Names) -> str:
    """dot's SVG with the hooks the script and tests use.

    A Value's box (`g.node` titled `v<position>`) gets `data-index` and `data-label` and its
    title becomes the Value's name; an operation gets `data-op`; an edge gets `data-op`, the
    position of the operation it leads into or out of. The box's outline and its data and grad
    fields are marked with the classes `box`, `data` and `grad`.
    """
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = ET.fromstring(svg)
    g_tag, title_tag, text_tag = f"{{{SVG}}}g", f"{{{SVG}}}title", f"{{{SVG}}}text"
    for group in tree.iter(g_tag):
        kind = group.get("class")
        title = group.find(title_tag)
        if title is None or kind not in ("node", "edge"):
            continue
        name = title.text or ""
        if kind == "edge":
            tail, _, head = name.partition("->")
            op = _OP.fullmatch(head) or _OP.fullmatch(tail)
            if op:
                group.set("data-op", op[1])
            group.remove(title)
            continue
        if op := _OP.fullmatch(name):
            group.set("data-op", op[1])
            group.remove(title)
            continue
        if not (box := _NODE.fullmatch(name)):
            continue
        node = order[int(box[1])]
        outline = next((e for e in group if e.tag in _OUTLINES), None)
        if outline is not None:
            outline.set("class", "box")
        group.set("data-index", box[1])
        group.set("data-label", node.label or names.text(node))
        title.text = f"{names.text(node)}: click for its derivation"
        texts = group.findall(text_tag)
        fields = {t.text.split(" ", 1)[0]: t for t in texts if t.text and " " in t.text}
        data, grad = fields.get("data"), fields.get("grad")
        if (data is None or grad is None) and len(texts) >= 2:
            data, grad = texts[-2], texts[-1]
        for field, cls in ((data, "data"), (grad, "grad")):
            if field is not None:
                field.set("class", cls)
    width, _ = _svg_size(svg)
    # fitted to the page's width, and a small graph enlarged by half at most, to read easily
    tree.set("style", f"max-width: {round(width * 1.5)}px")
    graph_title = tree.find(f"{g_tag}/{title_tag}")
    if graph_title is not None:
        tree.find(g_tag).remove(graph_title)  # type: ignore[union-attr]
    return ET.tostring(tree, encoding="unicode")


def _svg_size(svg: str) -> tuple[int, int]:
    """The drawing's size in CSS pixels (dot writes points)."""
    found = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if not found:
        return 800, 400
    return round(float(found[1]) * 4 / 3), round(float(found[2]) * 4 / 3)


def _script_json(data: Any) -> str:
    """JSON that cannot end the script element holding it, whatever the labels say."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _document(root_name: str, svg: str, data: Any) -> str:
    title = html.escape(f"Backprop through {root_name}, step by step")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            f"<header><h1>{title}</h1>{_INTRO}</header>",
            _CONTROLS,
            f'<div id="graph">{svg}</div>',
            _LEGEND,
            '<section id="derivation"><h2>Derivation</h2>',
            '<pre id="explain">Click a value\'s box to see how its gradient is derived.</pre>',
            "</section>",
            f'<script type="application/json" id="page-data">{_script_json(data)}</script>',
            f"<script>{_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


_INTRO = (
    '<p class="intro">The forward pass computes each value from its inputs; the backward sweep '
    "then visits the values in reverse and passes each one's gradient to its inputs, times the "
    "local derivative. Use the buttons or the arrow keys; click a box for its derivation.</p>"
)

_CONTROLS = """<nav class="controls">
<button id="reset" title="back to the start (Home)">reset</button>
<button id="prev" title="previous step (←)">◀ prev</button>
<button id="play" title="play or pause (space)">▶ play</button>
<button id="next" title="next step (→)">next ▶</button>
<button id="zoom" title="the drawing at its own size, or fitted">actual size</button>
<span id="phase"></span>
</nav>
<p id="status" role="status" aria-live="polite"></p>"""

_LEGEND = """<ul class="legend">
<li><span class="swatch current"></span>current step</li>
<li><span class="swatch edge"></span>edges it reads from or passes gradient along</li>
<li><span class="swatch positive"></span><span class="swatch negative"></span>
gradient complete: positive, negative</li>
<li><span class="sample partial">grad 0.5</span>sum so far, more to come</li>
<li><span class="sample">data ?</span>not computed yet</li>
</ul>"""

_STYLE = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #d4d4d8; --accent: #c2410c;
  --accent-soft: #ffedd5; --pos: #1d4ed8; --neg: #b91c1c; --pos-fill: #dbeafe;
  --neg-fill: #fee2e2; --zero: #f4f4f5; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.25rem 1.5rem 2rem; color: var(--ink); background: #fafafa;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
h1 { font-size: 1.25rem; margin: 0 0 0.25rem; font-weight: 600; }
h2 { font-size: 1rem; margin: 0 0 0.5rem; font-weight: 600; }
.intro { margin: 0 0 0.75rem; color: var(--muted); max-width: 60rem; }
.controls { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
button { font: inherit; padding: 0.3rem 0.8rem; border: 1px solid var(--line);
  border-radius: 6px; background: white; color: var(--ink); cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { color: #a1a1aa; cursor: default; }
#phase { color: var(--muted); font-size: 0.9rem; margin-left: 0.5rem; }
#status { margin: 0.6rem 0; padding: 0.5rem 0.75rem; background: white;
  border-left: 3px solid var(--accent); border-radius: 4px; min-height: 2.4rem;
  font-variant-numeric: tabular-nums; }
#graph { overflow: auto; background: white; border: 1px solid var(--line);
  border-radius: 6px; padding: 0.5rem; }
#graph svg { display: block; width: 100%; height: auto; }
#graph.actual svg { width: auto; max-width: none !important; }
#graph svg > g > polygon { fill: white; }
g.node[data-index] { cursor: pointer; }
g.node .box { fill: white; pointer-events: all; }
g.node[data-op] .box { fill: #f3f4f6; }
g.node[data-index]:hover .box { stroke: var(--accent); }
g.node.reached .box { fill: var(--zero); }
g.node.reached.positive .box { fill: var(--pos-fill); }
g.node.reached.negative .box { fill: var(--neg-fill); }
g.node.current .box, g.node[data-index].current .box { fill: var(--accent-soft);
  stroke: var(--accent); stroke-width: 2; }
g.node.selected .box { stroke: var(--ink); stroke-width: 2.5; }
g.edge.lit path { stroke: var(--accent); stroke-width: 2; }
g.edge.lit polygon { stroke: var(--accent); fill: var(--accent); }
text.pending, text.partial { fill: var(--muted); font-style: italic; }
g.node.reached.positive text.grad { fill: var(--pos); font-weight: 600; }
g.node.reached.negative text.grad { fill: var(--neg); font-weight: 600; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 0.4rem 1.25rem;
  padding: 0; margin: 0.6rem 0 1rem; color: var(--muted); font-size: 0.85rem; }
.legend li { display: flex; align-items: center; gap: 0.4rem; }
.swatch { display: inline-block; width: 1.1rem; height: 0.8rem; border-radius: 2px;
  border: 1px solid var(--line); }
.swatch.current { background: var(--accent-soft); border: 2px solid var(--accent); }
.swatch.edge { height: 0; border: 0; border-top: 2px solid var(--accent); }
.swatch.positive { background: var(--pos-fill); border-color: var(--pos); }
.swatch.negative { background: var(--neg-fill); border-color: var(--neg); }
.sample { font-style: italic; }
#derivation { background: white; border: 1px solid var(--line); border-radius: 6px;
  padding: 0.75rem 1rem; }
#explain { margin: 0; max-height: 28rem; overflow: auto; white-space: pre-wrap;
  font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
  monospace; }
"""

_SCRIPT = """
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const frames = data.frames;
  const last = frames.length - 1;
  const svg = document.querySelector("#graph svg");
  const status = document.getElementById("status");
  const phase = document.getElementById("phase");
  const explain = document.getElementById("explain");
  const buttons = {};
  for (const id of ["reset", "prev", "play", "next"]) {
    buttons[id] = document.getElementById(id);
  }
  const boxes = new Map();
  for (const node of data.nodes) {
    const box = svg.querySelector('g.node[data-index="' + node.index + '"]');
    if (!box) { continue; }
    const dataText = box.querySelector("text.data");
    const gradText = box.querySelector("text.grad");
    boxes.set(node.index, {
      node: node, box: box, dataText: dataText, gradText: gradText,
      fontSize: gradText ? gradText.getAttribute("font-size") : null,
      room: gradText ? gradText.getComputedTextLength() : 0,
    });
    box.addEventListener("click", function () { select(node.index); });
  }
  let frame = 0;
  let timer = null;

  function setText(element, text, room, fontSize) {
    if (!element) { return; }
    element.textContent = text;
    if (fontSize) { element.setAttribute("font-size", fontSize); }
    const width = element.getComputedTextLength();
    // the field has some padding: a slightly longer text (a bold one) still fits
    if (room > 0 && width > room * 1.2 && fontSize) {
      element.setAttribute("font-size", (parseFloat(fontSize) * room * 1.2 / width).toFixed(2));
    }
  }

  function show(k) {
    frame = Math.max(0, Math.min(last, k));
    const current = frames[frame];
    for (const item of boxes.values()) {
      const node = item.node;
      const computed = frame >= node.forward;
      item.box.classList.toggle("current", current.node === node.index);
      if (item.dataText) {
        setText(item.dataText, computed ? "data " + node.data : "data ?");
        item.dataText.classList.toggle("pending", !computed);
      }
      let gradShown = "grad ?";
      let state = "pending";
      if (frame >= node.reached) {
        gradShown = "grad " + node.gradText;
        state = "reached";
        item.box.setAttribute("data-grad", node.grad);
      } else {
        item.box.removeAttribute("data-grad");
        for (const update of node.partial) {
          if (update[0] <= frame) { gradShown = "grad " + update[1]; state = "partial"; }
        }
      }
      item.box.classList.toggle("reached", state === "reached");
      if (item.gradText) {
        setText(item.gradText, gradShown, item.room, item.fontSize);
        item.gradText.classList.toggle("pending", state === "pending");
        item.gradText.classList.toggle("partial", state === "partial");
      }
      const g = parseFloat(node.grad);
      item.box.classList.toggle("positive", g > 0);
      item.box.classList.toggle("negative", g < 0);
    }
    for (const op of svg.querySelectorAll("g.node[data-op]")) {
      op.classList.toggle("current", String(current.node) === op.getAttribute("data-op"));
    }
    for (const edge of svg.querySelectorAll("g.edge[data-op]")) {
      edge.classList.toggle("lit", String(current.node) === edge.getAttribute("data-op"));
    }
    status.textContent = current.status;
    phase.textContent = "frame " + frame + " of " + last;
    buttons.prev.disabled = frame === 0;
    buttons.reset.disabled = frame === 0;
    buttons.next.disabled = frame === last;
    if (current.node !== null && boxes.has(current.node)) {
      boxes.get(current.node).box.scrollIntoView({block: "nearest", inline: "nearest"});
    }
    if (frame === last) { pause(); }
  }

  function select(index) {
    for (const item of boxes.values()) {
      item.box.classList.toggle("selected", item.node.index === index);
    }
    explain.textContent = boxes.get(index).node.explain;
  }

  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    buttons.play.textContent = "▶ play";
  }

  function play() {
    if (timer !== null) { pause(); return; }
    if (frame === last) { show(0); }
    buttons.play.textContent = "pause";
    timer = setInterval(function () { show(frame + 1); }, 900);
  }

  buttons.next.addEventListener("click", function () { pause(); show(frame + 1); });
  buttons.prev.addEventListener("click", function () { pause(); show(frame - 1); });
  buttons.reset.addEventListener("click", function () { pause(); show(0); });
  buttons.play.addEventListener("click", play);
  const zoom = document.getElementById("zoom");
  zoom.addEventListener("click", function () {
    const actual = document.getElementById("graph").classList.toggle("actual");
    zoom.textContent = actual ? "fit to width" : "actual size";
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    const keys = {
      ArrowRight: function () { pause(); show(frame + 1); },
      ArrowLeft: function () { pause(); show(frame - 1); },
      Home: function () { pause(); show(0); },
      " ": play,
    };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  show(0);
})();
"""
