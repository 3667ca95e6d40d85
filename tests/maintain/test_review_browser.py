"""End to end: the review page in a real headless Chromium, answered with the keyboard only.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package.
Without them the test is skipped locally; with ``CI`` set it fails, since
``.ci/run`` installs them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspkit.maintain.review_server import ReviewServer, start_server
from inspkit.maintain.reviews import ReviewStore
from inspkit.store.workspace import Workspace

# Without the background-networking flags headless Chromium stalls on refused
# connections when there is no internet.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1100,1000")
# Answers by queue position: right + well-trained, right + Training FAIL, wrong.
_PLAN = (("r", "g"), ("r", "f"), ("w",))
_IDLE = "const b = document.body.dataset; return b.busy === '0' && b.view === arguments[0] && b.sample === arguments[1];"
_STAGE_2 = "const b = document.body.dataset; return b.busy === '0' && b.stage === 'stage-2' && b.sample === arguments[0];"
_PICTURES = "return ['image', 'cam'].every(id => { const i = document.getElementById(id); " \
            "return i.complete && i.naturalWidth > 0; });"


def _browser() -> tuple[str, str]:
    """Chromium and its driver, or a skip (a failure when CI is set)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, found in (("chromium", chromium), ("chromium-driver", driver),
                                        ("selenium", importlib.util.find_spec("selenium"))) if not found]
    if missing:
        reason = (f"{', '.join(missing)} not installed; 'apt-get install chromium chromium-driver' and "
                  "'pip install -e .[dev]' run this test (.ci/run does both)")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return str(chromium), str(driver)


@pytest.fixture(scope="module", autouse=True)
def browser() -> tuple[str, str]:
    """Looked up first, so a missing browser skips before the workspace is trained."""
    return _browser()


@pytest.fixture
def driver(browser: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    chromium, chromedriver = browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield browser
    browser.quit()


@pytest.fixture
def server(scored_ws: Path) -> Iterator[ReviewServer]:
    handle = start_server(scored_ws, alpha=0.5)
    yield handle
    handle.close()


def _wait(driver: Any, script: str, *args: object) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30, poll_frequency=0.05).until(lambda d: d.execute_script(script, *args))


def _press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def _text(driver: Any, element_id: str) -> str:
    return str(driver.execute_script(f"return document.getElementById('{element_id}').textContent;"))


def _review_all(driver: Any, ids: list[int]) -> None:
    """Answer every sample in queue order by the plan, checking pictures and the count as it goes."""
    from selenium.webdriver.common.keys import Keys

    for k, sid in enumerate(ids):
        _wait(driver, _IDLE, "review", str(sid))
        _wait(driver, _PICTURES)
        keys = _PLAN[k % len(_PLAN)]
        if len(keys) == 2:
            _press(driver, keys[0])
            _wait(driver, _STAGE_2, str(sid))
            assert "step 2" in _text(driver, "status")
        _press(driver, keys[-1])
        if k + 1 < len(ids):
            _wait(driver, _IDLE, "review", str(ids[k + 1]))
            assert _text(driver, "left") == f"{len(ids) - k - 1} of {len(ids)} left"
        if k == 0:  # an arrow key moves without answering: there and back again
            _press(driver, Keys.ARROW_RIGHT)
            _wait(driver, _IDLE, "review", str(ids[2]))
            _press(driver, Keys.ARROW_LEFT)
    _wait(driver, _IDLE, "alldone", "")


def _expected(ids: list[int]) -> list[tuple[int, int, str | None]]:
    """The review rows the plan should have stored: (sample, correct, attention), in order."""
    attention = {"g": "well-trained", "f": "training-fail"}
    rows: list[tuple[int, int, str | None]] = []
    for k, sid in enumerate(ids):
        keys = _PLAN[k % len(_PLAN)]
        rows += [(sid, 0, None)] if keys == ("w",) else [(sid, 1, None), (sid, 1, attention[keys[1]])]
    return rows


def _stored(ws_root: Path) -> list[tuple[int, int, str | None]]:
    with Workspace.open(ws_root) as ws:
        rows = ws.conn.execute("SELECT sample_id, correct, attention FROM reviews ORDER BY id").fetchall()
        return [tuple(r) for r in rows]


def _failed(ws_root: Path) -> dict[int, str]:
    with Workspace.open(ws_root) as ws:
        return {f.sample_id: f.label for f in ReviewStore(ws.conn).failed()}


def _history(ws_root: Path, sid: int) -> list[dict[str, object]]:
    with Workspace.open(ws_root) as ws:
        return ReviewStore(ws.conn).history(sid)


def test_a_manager_reviews_the_whole_queue_with_the_keyboard(driver: Any, server: ReviewServer,
                                                              scored_ws: Path) -> None:
    with Workspace.open(scored_ws) as ws:
        queue = ReviewStore(ws.conn).queue(0.5)
    ids = [s.prediction.sample_id for s in queue]
    predicted = {s.prediction.sample_id: s.prediction.predicted for s in queue}
    driver.get(server.url)
    assert _text(driver, "right").startswith("Right") and "W" in _text(driver, "wrong")

    _review_all(driver, ids)

    assert _text(driver, "left") == f"0 of {len(ids)} left"
    assert _stored(scored_ws) == _expected(ids)
    wrong = {sid: ("OK" if predicted[sid] == "NG" else "NG") for k, sid in enumerate(ids) if k % 3 == 2}
    fail = {sid: predicted[sid] for k, sid in enumerate(ids) if k % 3 == 1}
    assert _failed(scored_ws) == {**wrong, **fail}

    _re_review_the_last(driver, scored_ws, ids[-1], len(ids))
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def _re_review_the_last(driver: Any, ws_root: Path, sid: int, total: int) -> None:
    """Back from "all done" to the last sample (answered wrong), now right: history grows, the last counts."""
    from selenium.webdriver.common.keys import Keys

    assert sid in _failed(ws_root)
    _press(driver, Keys.ARROW_LEFT)
    _wait(driver, _IDLE, "review", str(sid))
    assert "Last answer: wrong" in _text(driver, "last")
    _press(driver, "1")  # the digit shortcuts work as well as the letters
    _wait(driver, _STAGE_2, str(sid))
    assert [h["correct"] for h in _history(ws_root, sid)] == [0, 1]
    assert sid not in _failed(ws_root) and _text(driver, "left") == f"1 of {total} left"
    _press(driver, "4")
    _wait(driver, _IDLE, "alldone", "")
    assert [h["attention"] for h in _history(ws_root, sid)] == [None, None, "training-fail"]
    assert sid in _failed(ws_root) and _text(driver, "left") == f"0 of {total} left"
