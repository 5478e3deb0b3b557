"""``leann serve`` in a real headless Chromium on a big index: first paint and search round trip (issue 18).

    LEANN_BENCH_CACHE=/work/bench-cache flock /work/bench.lock \\
        python -m benchmarks.bench_serve [--n 20000] [--queries 20] [--screenshot PATH]

Builds a ``--n``-passage index of linux-doc chunks (the real all-MiniLM-L6-v2 vectors from the
benchmark cache, so the build is quick; the manifest names the real model, which the server loads),
starts the server on a free 127.0.0.1 port, warms the model as ``leann serve`` does, and opens the
page in Debian's chromium (``/usr/bin/chromium`` + ``chromedriver``; no downloads). Reports, for
``--loads`` fresh page loads, the browser's first paint and first contentful paint and the time
until the index list is filled; then, for ``--queries`` corpus headings typed into the search box,
the round trip from pressing Enter to the results being drawn, measured inside the page
(``performance.now()`` around a MutationObserver on the result list), with the search the server
did (its ``/api/search`` time) beside it. A screenshot of the last results page is saved.
Writes ``benchmarks/results/serve.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.bench_size import Lookup  # noqa: E402
from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.embed_cache import cached_embeddings  # noqa: E402
from leann_engine import DEFAULT_MODEL, LeannBuilder, make_embedder  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "serve.json"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

# Resolves when the result list changes after Enter; the page's own fetch + render, no polling.
ROUND_TRIP_JS = """
const [text, done] = [arguments[0], arguments[arguments.length - 1]];
const box = document.getElementById('q'), list = document.getElementById('results');
const status = document.getElementById('status');
box.value = text;
const t0 = performance.now();
const obs = new MutationObserver(() => {
  if (/results in|No results/.test(status.textContent)) {
    obs.disconnect();
    done({ms: performance.now() - t0, status: status.textContent, n: list.children.length});
  }
});
status.textContent = '';
obs.observe(status, {childList: true, characterData: true, subtree: true});
document.getElementById('search-form').requestSubmit();
"""


def build(base: Path, n: int) -> list[str]:
    chunks, metas, queries = load_corpus(n, 200)
    real = make_embedder(DEFAULT_MODEL)
    builder = LeannBuilder(embedding_model=Lookup(real, chunks, cached_embeddings(chunks)[0]))
    builder.add_texts(chunks, [{**m, "source": m["source"]} for m in metas])
    engine = base / ".leann" / "indexes" / "linux-doc" / "documents.leann"
    engine.parent.mkdir(parents=True)
    builder.build_index(engine)
    return queries


def browser(profile: Path):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 f"--user-data-dir={profile}", "--window-size=1100,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(120)
    return driver


def page_load(driver, url: str) -> dict:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)
    WebDriverWait(driver, 60, poll_frequency=0.01).until(
        lambda d: d.execute_script("return document.querySelectorAll('#index option').length") > 0
    )
    return driver.execute_script("""
      const p = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
      const nav = performance.getEntriesByType('navigation')[0];
      return {first_paint_ms: p['first-paint'], first_contentful_paint_ms: p['first-contentful-paint'],
              dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
              indexes_listed_ms: performance.now()};""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--screenshot", type=Path, default=RESULTS.with_name("serve.png"))
    args = ap.parse_args()
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise SystemExit("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    from leann_cli.serve.server import make_server

    work = Path(tempfile.mkdtemp(prefix="leann-bench-serve-"))
    driver = None
    try:
        t = time.perf_counter()
        queries = build(work, args.n)[: args.queries]
        build_s = time.perf_counter() - t
        srv = make_server(work, port=0)
        import threading

        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        srv.api.pool.get("linux-doc").embed_query("warm up")  # what `leann serve` does at start
        driver = browser(work / "profile")
        loads = [page_load(driver, srv.url) for _ in range(args.loads)]
        driver.execute_async_script(ROUND_TRIP_JS, "warm up the searcher")
        trips = []
        for q in queries:
            r = driver.execute_async_script(ROUND_TRIP_JS, q)
            server_ms = float(r["status"].split(" results in ")[1].split(" ms")[0]) if "results in" in r["status"] else None
            trips.append({"query": q, "round_trip_ms": round(r["ms"], 1), "page_fetch_ms": server_ms, "results": r["n"]})
            print(json.dumps(trips[-1]), flush=True)
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.screenshot))
        med = lambda key, rows: round(statistics.median(x[key] for x in rows if x[key] is not None), 1)  # noqa: E731
        out = {
            "n": args.n, "build_s": round(build_s, 1), "loads": loads, "queries": trips,
            "first_paint_ms_median": med("first_paint_ms", loads),
            "first_contentful_paint_ms_median": med("first_contentful_paint_ms", loads),
            "indexes_listed_ms_median": med("indexes_listed_ms", loads),
            "round_trip_ms_median": med("round_trip_ms", trips),
            "round_trip_ms_p90": round(sorted(x["round_trip_ms"] for x in trips)[int(0.9 * (len(trips) - 1))], 1),
            "screenshot": str(args.screenshot), "load": os.getloadavg(),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=1))
        print(json.dumps({k: v for k, v in out.items() if k not in ("loads", "queries")}, indent=1))
        srv.shutdown()
        srv.server_close()
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
