"""``leann serve`` in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

The index is built with the real all-MiniLM-L6-v2 model (offline); answers come from a fake Ollama on
127.0.0.1. A screenshot of the results page is saved under the test's temporary folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from serve_fakes import FakeOllama, running

from leann_cli.serve.server import make_server

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        "needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): "
        "apt-get install -y chromium chromium-driver (.ci/run does this)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the test extra)")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.model

PLANTED = "The lighthouse keeper at Bramblecove writes the tide tables into the logbook every morning."
SCRIPT = "Release notes: <script>alert('pwned')</script> is shown as plain text, never run."
TOPICS = [
    "Sourdough bread needs a starter that is fed flour and water twice a day.",
    "Red kites circle over the chalk downs looking for carrion in early spring.",
    "The quarterly budget review moved the harbour repairs to next year.",
    "A ferry leaves the island at seven and returns before the evening tide.",
    "Graph indexes store neighbours per node and walk them greedily at query time.",
    "Tomatoes ripen faster on the windowsill when kept next to bananas.",
    "The bicycle chain needs oil after every ride in the rain.",
    "Compound interest grows savings faster the earlier one starts.",
]


def build_index(base: Path) -> None:
    from leann_engine import LeannBuilder

    texts, metas = [], []
    for i in range(32):
        texts.append(f"{TOPICS[i % len(TOPICS)]} Note {i}.")
        metas.append({"source": f"notes/topic{i % len(TOPICS)}.md", "start_line": 1 + i, "end_line": 2 + i,
                      "date": f"2024-0{1 + i % 9}-1{i % 10}"})
    texts += [PLANTED, SCRIPT]
    metas += [{"source": "log/keeper.md", "start_line": 40, "end_line": 44, "date": "2024-03-05"},
              {"source": "notes/release.html", "start_line": 1, "end_line": 1, "date": "2023-01-01"}]
    builder = LeannBuilder()  # the default model: all-MiniLM-L6-v2
    builder.add_texts(texts, metas)
    engine = base / ".leann" / "indexes" / "notes" / "documents.leann"
    engine.parent.mkdir(parents=True)
    builder.build_index(engine)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    os.environ["HF_HUB_OFFLINE"] = "1"
    base = tmp_path_factory.mktemp("project")
    build_index(base)
    fake = FakeOllama(["The keeper writes the tide tables", " every morning [1]", ", not the ferry crew [2]."], delay=0.05)
    with running(fake):
        with running(make_server(base, port=0, ollama_host=fake.url, ollama_model="fake:1b")) as srv:
            srv.api.pool.get("notes").embed_query("warm up")  # the model stays warm, as in `leann serve`
            yield srv


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1100,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(driver, cond, timeout: float = 30):
    return WebDriverWait(driver, timeout).until(lambda d: cond(d) or None)


def search(driver, text: str) -> list:
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text, Keys.ENTER)
    wait(driver, lambda d: "results in" in d.find_element(By.ID, "status").text or "No results" in d.find_element(By.ID, "status").text)
    return driver.find_elements(By.CSS_SELECTOR, "#results .result")


def test_the_page_searches_filters_asks_and_shows_sizes(served, browser, tmp_path) -> None:
    t0 = time.perf_counter()
    browser.get(served.url)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#index option"))
    loaded = time.perf_counter() - t0
    assert browser.switch_to.active_element.get_attribute("id") == "q"  # keyboard-first: the box has focus

    # The index list shows passages, size on disk, the flat index size and the saving's bars.
    item = browser.find_element(By.CSS_SELECTOR, "#index-list li")
    assert "34 passages" in item.text and "on disk" in item.text and "flat vectors" in item.text
    assert len(item.find_elements(By.CSS_SELECTOR, ".bars .bar")) == 2
    assert browser.find_element(By.ID, "mode").get_attribute("value") == "hybrid"

    # Enter searches; the planted passage comes first with the query's words marked.
    t0 = time.perf_counter()
    results = search(browser, "who writes the tide tables in the lighthouse logbook")
    round_trip = time.perf_counter() - t0
    assert PLANTED in results[0].text and "log/keeper.md:40-44" in results[0].text and "2024-03-05" in results[0].text
    marks = [m.text.lower() for m in results[0].find_elements(By.TAG_NAME, "mark")]
    assert {"tide", "tables", "lighthouse", "logbook"} <= set(marks)

    # Arrows move through the results; Up from the first goes back to the box.
    active = lambda: browser.switch_to.active_element.get_attribute("id")  # noqa: E731
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert active() == "r-1"
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert active() == "r-2" and "active" in browser.find_element(By.ID, "r-2").get_attribute("class")
    browser.switch_to.active_element.send_keys(Keys.ARROW_UP, Keys.ARROW_UP)
    assert active() == "q"

    # A passage holding <script> shows as text and never runs.
    results = search(browser, "release notes script alert shown as plain text")
    assert "<script>alert('pwned')</script>" in results[0].text
    assert not browser.find_elements(By.CSS_SELECTOR, "#results script")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018

    # A filter opened from the page narrows the results to one source.
    browser.find_element(By.CSS_SELECTOR, "#filters summary").click()
    browser.find_element(By.ID, "add-filter").click()
    browser.find_element(By.CSS_SELECTOR, ".filter-row .f-field").send_keys("source")
    browser.find_element(By.CSS_SELECTOR, ".filter-row .f-value").send_keys("notes/topic3.md")
    results = search(browser, "ferry tide island")
    assert results and all("notes/topic3.md" in r.text for r in results)
    browser.find_element(By.CSS_SELECTOR, ".filter-row button").click()
    assert not browser.find_elements(By.CSS_SELECTOR, ".filter-row")

    # Ctrl+Enter asks: the answer streams in with its [n] citations linked to the results.
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("Who writes the tide tables?", Keys.CONTROL, Keys.ENTER)
    wait(browser, lambda d: "Answered from" in d.find_element(By.ID, "status").text)
    answer = browser.find_element(By.ID, "answer-text").text
    assert answer == "The keeper writes the tide tables every morning [1], not the ferry crew [2]."
    cites = browser.find_elements(By.CSS_SELECTOR, "#answer-text a.cite")
    assert [c.get_attribute("href").rsplit("#", 1)[1] for c in cites] == ["r-1", "r-2"]
    assert PLANTED in browser.find_element(By.ID, "r-1").text

    shot = tmp_path / "results.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("LEANN_SCREENSHOT_COPY"):
        Path(os.environ["LEANN_SCREENSHOT_COPY"]).write_bytes(shot.read_bytes())
    print(f"page loaded in {loaded:.3f} s, search round trip {round_trip:.3f} s")


def test_phone_width_keeps_the_page_readable(served, browser) -> None:
    browser.set_window_size(380, 800)
    try:
        browser.get(served.url)
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#index option"))
        search(browser, "lighthouse keeper")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        browser.set_window_size(1100, 1400)


def test_a_build_started_from_the_page_shows_progress_then_the_new_index(served, browser) -> None:
    docs = served.api.base / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "kites.md").write_text("# Kites\n\nRed kites circle over the chalk downs in spring.\n")
    browser.get(served.url)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#index option"))
    browser.find_element(By.ID, "build-name").send_keys("docs")
    browser.find_element(By.ID, "build-docs").send_keys("docs", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "build-progress").is_displayed())
    wait(browser, lambda d: d.find_element(By.ID, "build-status").text.startswith("docs: full build"), timeout=120)
    assert browser.find_element(By.ID, "build-progress").get_attribute("value") == "1"
    names = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#index option")]
    assert names == ["docs", "notes"]


def test_removing_an_index_from_the_page_asks_first(served, browser) -> None:
    folder = served.api.base / ".leann" / "indexes" / "gone"
    (served.api.base / "gone-docs").mkdir(exist_ok=True)
    (served.api.base / "gone-docs" / "g.md").write_text("Gannets dive for fish off the cliffs.\n")
    from leann_cli.ingest.pipeline import build_from_docs

    build_from_docs(folder, [served.api.base / "gone-docs"], base=served.api.base)
    browser.get(served.url)
    button = '#index-list button[aria-label="Remove index gone"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, button))
    browser.find_element(By.CSS_SELECTOR, button).click()
    from selenium.webdriver.support import expected_conditions

    alert = WebDriverWait(browser, 10).until(expected_conditions.alert_is_present())
    assert "gone" in alert.text and "cannot be undone" in alert.text
    alert.dismiss()  # kept
    assert folder.exists() and browser.find_elements(By.CSS_SELECTOR, button)
    browser.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(browser, 10).until(expected_conditions.alert_is_present()).accept()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, button))
    assert not folder.exists()
    assert "gone" not in [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#index option")]
