"""Headless Chromium for the page tests, and the screenshot of the page in the README.

    python tests/viz/browser.py docs/images/backprop_page.png

The browser runs from a fresh profile with its background network traffic switched off, so the
only things it loads are the pages it is given.
"""

from __future__ import annotations

import base64
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTALL = (
    "install them with `apt-get install chromium chromium-driver` (Debian/Ubuntu) "
    'and `pip install selenium` (or `pip install -e ".[dev]"`)'
)
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # Chromium's sandbox refuses to start as root, as in CI containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, with the commands that fix it; None if they can."""
    absent = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if importlib.util.find_spec("selenium") is None:
        absent.append("selenium")
    if not absent:
        return None
    return f"needs {', '.join(absent)}: {INSTALL}"


@contextmanager
def chromium(width: int = 1280, height: int = 900, scale: float = 1.0) -> Iterator[Any]:
    """A headless Chromium driven by selenium, that keeps the console log; closed on exit."""
    from selenium import webdriver

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(shutil.which("chromium"))
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument(f"--force-device-scale-factor={scale}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # an explicit driver path, so selenium never looks for one online
        service = webdriver.ChromeService(executable_path=str(shutil.which("chromedriver")))
        driver = webdriver.Chrome(options=options, service=service)
        try:
            yield driver
        finally:
            driver.quit()


def click_next(driver: Any, times: int) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.CSS_SELECTOR, "button#next")
    for _ in range(times):
        button.click()


def screenshot(driver: Any, page: Path, png: Path, steps: int, select: str | None) -> Path:
    """A PNG of the whole page after `steps` clicks on next, with the box labelled `select`
    clicked (its derivation shown)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver.get(page.resolve().as_uri())
    click_next(driver, steps)
    if select is not None:
        driver.find_element(By.CSS_SELECTOR, f'g.node[data-label="{select}"]').click()
    # the pointer away from the controls and boxes, so nothing shows as hovered
    ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()
    size = driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];"
    )
    # Chromium's own call, for the whole page rather than the window's part of it
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
        },
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(base64.b64decode(shot["data"]))
    return png


def readme_picture(png: Path) -> Path:
    """The README's picture: the lecture's neuron o = tanh(x1·w1 + x2·w2 + b), mid-sweep."""
    import viz
    from autodiff import Value

    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    with tempfile.TemporaryDirectory() as folder:
        page = viz.page(o, Path(folder) / "neuron.html")
        assert page.path is not None
        forward = 5  # the ops: two products, two sums, tanh
        with chromium(width=1200, height=800, scale=2.0) as driver:
            return screenshot(driver, page.path, png, steps=forward + 5, select="w1")


if __name__ == "__main__":
    if reason := missing():
        sys.exit(f"browser.py: {reason}")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images/backprop_page.png")
    print(f"wrote {readme_picture(target)}")
