"""viz.page: one self-contained HTML file, stepped through in a real (headless) browser.

The page's text is checked here directly; its behaviour in Chromium, driven by selenium, with
one browser for the whole module. Without chromium, chromedriver or selenium those tests skip and
say how to install them.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import viz
from autodiff import Value, topological_order

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
pytestmark = needs_dot

HOSTILE = "</script><script>alert(1)</script>"


def load_browser() -> ModuleType:
    path = Path(__file__).with_name("browser.py")
    spec = importlib.util.spec_from_file_location("page_browser", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser = load_browser()


def shared_graph() -> tuple[Value, dict[str, Value]]:
    """Fan-out, a shared subexpression, a node used twice by one op, and a fixed exponent.

    L = tanh(a·b + a) · (a·b) + c², with a·b computed once and read by two ops.
    """
    a, b, c = Value(0.7, label="a"), Value(-1.3, label="b"), Value(0.4, label="c")
    d = a * b
    d.label = "d"
    e = (d + a).tanh()
    e.label = "e"
    L = e * d + c * c
    L.label = "L"
    return L, {"a": a, "b": b, "c": c, "d": d, "e": e, "L": L}


def embedded(page: viz.Page) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page.html)
    assert found, "the page carries its numbers as JSON"
    return json.loads(found[1])


# ---- the page's text ----


def test_the_page_is_one_self_contained_html_file(tmp_path):
    L, _ = shared_graph()
    page = viz.page(L, tmp_path / "sub" / "page.html")
    assert page.path == tmp_path / "sub" / "page.html"
    assert page.path.read_text(encoding="utf-8") == page.html == str(page)
    text = page.html
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, flags=re.I)
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*stylesheet|@import|url\(", text)
    for hook in ('<button id="next"', '<button id="prev"', 'id="status"', 'id="explain"'):
        assert hook in text


def test_every_drawn_value_has_a_box_with_its_label_and_the_sweep_in_order():
    L, _ = shared_graph()
    page = viz.page(L)
    labels = re.findall(r'<g [^>]*data-label="([^"]*)"', page.html)
    assert len(labels) == len(topological_order(L)) == 9  # a b c d e L, d+a, e·d, c·c
    assert {"a", "b", "c", "d", "e", "L"} <= set(labels)
    data = embedded(page)
    statuses = [f["status"] for f in data["frames"]]
    backward = [s for s in statuses if s.startswith("backward step")]
    n = len(backward)
    assert [s.split(":")[0] for s in backward] == [
        f"backward step {k} of {n}" for k in range(1, n + 1)
    ]
    assert backward[0].startswith("backward step 1 of") and "L.grad = 1" in backward[0]
    assert statuses[0].startswith("start") and statuses[-1].startswith("done")


def test_the_page_changes_no_gradient():
    L, v = shared_graph()
    v["a"].grad = 5.0
    viz.page(L)
    assert v["a"].grad == 5.0
    assert all(node.grad == 0.0 for node in topological_order(L) if node is not v["a"])


def test_a_leaf_alone_and_a_top_to_bottom_drawing_make_pages_too():
    x = Value(3.0, label="x")
    statuses = [frame["status"] for frame in embedded(viz.page(x))["frames"]]
    assert statuses[1] == "backward step 1 of 1: x.grad = 1 (the seed: ∂x/∂x = 1)"
    L, _ = shared_graph()
    page = viz.page(L, rankdir="TB")
    assert page.html.count("data-label=") == len(topological_order(L))


def test_a_label_cannot_break_out_of_the_page():
    x = Value(2.0, label=HOSTILE)
    y = Value(-1.0, label='"quoted" & <tagged>')
    page = viz.page((x * y).tanh())
    assert "<script>alert" not in page.html
    assert page.html.count("</script>") == 2  # the JSON's and the script's own
    labels = [node["label"] for node in embedded(page)["nodes"]]
    assert HOSTILE in labels and '"quoted" & <tagged>' in labels


def test_jupyter_shows_the_page_in_an_iframe_so_its_script_runs():
    L, _ = shared_graph()
    page = viz.page(L)
    shown = page._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in shown
    assert "<script" not in shown  # the page is inside the attribute, escaped
    assert "&lt;script" in shown


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: viz.page(3.0), TypeError, "page: root must be a Value, got float"),
        (lambda: viz.page(Value(1.0), path=7), TypeError, r"path must be a str .*\(got int 7\)"),
        (
            lambda: viz.page(Value(1.0), rankdir="up"),
            ValueError,
            r"page: rankdir must be one of 'LR', .*\(got 'up'\)",
        ),
        (lambda: viz.page(Value(1.0), precision=0), ValueError, "page: precision must be"),
    ],
)
def test_bad_arguments_get_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- in the browser ----


@pytest.fixture(scope="module")
def driver():
    if reason := browser.missing():
        pytest.skip(reason)
    with browser.chromium() as chromium:
        yield chromium


def open_page(driver: Any, page: viz.Page) -> None:
    assert page.path is not None
    driver.get_log("browser")  # only this page's messages count from here
    driver.get(page.path.resolve().as_uri())


BOXES = """
return Array.from(document.querySelectorAll('g.node[data-label]')).map(function (g) {
  return [g.getAttribute('data-label'), g.getAttribute('data-grad')];
});
"""


def shown_grads(driver: Any) -> dict[str, str | None]:
    return dict(driver.execute_script(BOXES))


def status(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "status").text


def assert_clean(driver: Any) -> None:
    """No console errors, and nothing loaded from anywhere but the file itself."""
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"
    )
    assert all(name.startswith(("file:", "data:")) for name in fetched), fetched


def test_stepping_through_shows_the_engines_gradients(driver, tmp_path):
    from selenium.webdriver.common.by import By

    L, _ = shared_graph()
    page = viz.page(L, tmp_path / "page.html")
    L.backward()  # the reference: the engine's own sweep, from zero grads
    open_page(driver, page)
    assert status(driver).startswith("start")
    assert all(grad is None for grad in shown_grads(driver).values())

    next_button = driver.find_element(By.CSS_SELECTOR, "button#next")
    seen_backward, reached = 0, 0
    while next_button.is_enabled():
        next_button.click()
        grads = shown_grads(driver)
        now = sum(grad is not None for grad in grads.values())
        assert now >= reached  # a gradient, once complete, stays
        reached = now
        line = status(driver)
        if line.startswith("backward step"):
            seen_backward += 1
            assert re.match(rf"backward step {seen_backward} of \d+: ", line), line
    assert status(driver).startswith("done")
    assert seen_backward > 0

    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('g.node[data-grad]')).map(function (g) "
        "{ return [Number(g.getAttribute('data-index')), g.getAttribute('data-grad')]; });"
    )
    order = topological_order(L)
    assert sorted(i for i, _ in shown) == list(range(len(order)))
    for i, grad in shown:
        assert float(grad) == pytest.approx(order[i].grad, rel=1e-12, abs=1e-15), order[i]
    # each number fits in its box at the drawing's type size, though the drawing was made
    # with every grad still 0
    overflow = driver.execute_script(
        "return Array.from(document.querySelectorAll('g.node[data-grad]')).filter(function (g) {"
        "  const box = g.querySelector('.box').getBBox();"
        "  const grad = g.querySelector('text.grad'), data = g.querySelector('text.data');"
        "  const text = grad.getBBox();"
        "  return text.x < box.x - 0.5 || text.x + text.width > box.x + box.width + 0.5"
        "    || grad.getAttribute('font-size') !== data.getAttribute('font-size');"
        "}).map(function (g) { return g.getAttribute('data-label'); });"
    )
    assert overflow == []
    grads = shown_grads(driver)
    # closed form, independent of the engine: dL/dc = 2c, dL/da = b(e + d·(1-e²)) + d(1-e²)
    a, b, c = 0.7, -1.3, 0.4
    d = a * b
    e = math.tanh(d + a)
    assert float(grads["c"]) == pytest.approx(2 * c, rel=1e-12)
    slope = 1 - e * e
    assert float(grads["a"]) == pytest.approx(b * (e + d * slope) + d * slope, rel=1e-12)
    assert_clean(driver)


def test_previous_and_reset_take_back_what_the_sweep_filled_in(driver, tmp_path):
    from selenium.webdriver.common.by import By

    L, _ = shared_graph()
    page = viz.page(L, tmp_path / "page.html")
    statuses = [frame["status"] for frame in embedded(page)["frames"]]
    n_frames = len(statuses)
    n_backward = sum(s.startswith("backward step") for s in statuses)
    open_page(driver, page)
    browser.click_next(driver, n_frames - 1)
    assert status(driver).startswith("done")
    assert all(grad is not None for grad in shown_grads(driver).values())
    driver.find_element(By.CSS_SELECTOR, "button#prev").click()
    assert status(driver).startswith(f"backward step {n_backward} of {n_backward}:")
    driver.find_element(By.CSS_SELECTOR, "button#reset").click()
    assert status(driver).startswith("start")
    assert all(grad is None for grad in shown_grads(driver).values())
    assert_clean(driver)


def test_arrow_keys_and_play_move_through_the_steps(driver, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    L, _ = shared_graph()
    page = viz.page(L, tmp_path / "page.html")
    open_page(driver, page)
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert status(driver).startswith("forward step 2 of")
    body.send_keys(Keys.ARROW_LEFT)
    assert status(driver).startswith("forward step 1 of")
    driver.find_element(By.CSS_SELECTOR, "button#play").click()
    WebDriverWait(driver, 5).until(lambda d: status(d).startswith("forward step 2 of"))
    driver.find_element(By.CSS_SELECTOR, "button#reset").click()
    assert status(driver).startswith("start")
    assert_clean(driver)


def test_clicking_a_box_shows_that_values_derivation(driver, tmp_path):
    from selenium.webdriver.common.by import By

    L, v = shared_graph()
    page = viz.page(L, tmp_path / "page.html")
    open_page(driver, page)
    panel = driver.find_element(By.ID, "explain")
    for label in ("a", "d"):
        driver.find_element(By.CSS_SELECTOR, f'g.node[data-label="{label}"]').click()
        shown = driver.execute_script("return document.getElementById('explain').textContent;")
        assert shown == str(viz.explain(L, v[label]))
    assert panel.text.startswith("∂L/∂d by the chain rule")
    assert_clean(driver)


def test_a_hostile_label_is_shown_as_text_and_runs_nothing(driver, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    x = Value(2.0, label=HOSTILE)
    w = Value(-0.5, label="w")
    root = (x * w).tanh()
    page = viz.page(root, tmp_path / "page.html")
    open_page(driver, page)
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.accept()
    boxes = driver.find_elements(By.CSS_SELECTOR, "g.node[data-label]")
    labels = [box.get_attribute("data-label") for box in boxes]
    assert HOSTILE in labels
    browser.click_next(driver, len(embedded(page)["frames"]) - 1)
    root.backward()
    assert float(shown_grads(driver)[HOSTILE]) == pytest.approx(x.grad, rel=1e-12)
    boxes[labels.index(HOSTILE)].click()
    assert HOSTILE in driver.find_element(By.ID, "explain").text
    assert_clean(driver)


def test_the_screenshot_helper_writes_a_png(driver, tmp_path):
    L, _ = shared_graph()
    page = viz.page(L, tmp_path / "page.html")
    png = browser.screenshot(driver, page.path, tmp_path / "shot.png", steps=8, select="a")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_the_browser_the_tests_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    reason = browser.missing()
    assert reason is not None and reason.startswith("needs chromium, chromedriver")
    assert "apt-get install chromium chromium-driver" in reason
    assert "pip install selenium" in reason


def test_the_jupyter_iframe_runs_the_page(driver, tmp_path):
    from selenium.webdriver.common.by import By

    L, _ = shared_graph()
    notebook_output = tmp_path / "output.html"
    notebook_output.write_text(f"<!DOCTYPE html><body>{viz.page(L)._repr_html_()}</body>")
    driver.get_log("browser")
    driver.get(notebook_output.as_uri())
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    try:
        assert status(driver).startswith("start")
        driver.find_element(By.CSS_SELECTOR, "button#next").click()
        assert status(driver).startswith("forward step 1 of")
    finally:
        driver.switch_to.default_content()
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
