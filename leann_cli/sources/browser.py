"""Browser history: Chromium ``History``, Firefox ``places.sqlite``, Safari ``History.db``.

One passage per visited URL (title, URL, domain); metadata ``url``, ``title``, ``domain``, ``date``
(last visit, ISO UTC), ``visit_count``. The database is read from a private copy with its WAL
(:func:`~leann_cli.sources.base.sqlite_copy`), because the running browser locks it and keeps
recent visits in the WAL. Hidden entries (redirect hops, subframes) and never-visited places
(bookmarks, ``place:`` queries) are skipped.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from .base import COCOA, WEBKIT, Item, SourceError, columns, from_epoch, sqlite_copy

KIND = "browser"
CHROMIUM = ("chrome", "chromium", "brave", "edge")
BROWSERS = (*CHROMIUM, "firefox", "safari")
DB_FILE = {"firefox": "places.sqlite", "safari": "History.db", **{b: "History" for b in CHROMIUM}}
_EXPECT = {
    "chromium": "a Chromium History database (tables urls, visits)",
    "firefox": "a Firefox places.sqlite (tables moz_places, moz_historyvisits)",
    "safari": "a Safari History.db (tables history_items, history_visits)",
}


def _profile_roots(browser: str) -> list[Path]:
    home = Path.home()
    mac = home / "Library" / "Application Support"
    if sys.platform == "darwin":
        roots = {
            "chrome": mac / "Google/Chrome/Default",
            "chromium": mac / "Chromium/Default",
            "brave": mac / "BraveSoftware/Brave-Browser/Default",
            "edge": mac / "Microsoft Edge/Default",
            "firefox": mac / "Firefox/Profiles",
            "safari": home / "Library/Safari",
        }
    else:
        cfg = home / ".config"
        roots = {
            "chrome": cfg / "google-chrome/Default",
            "chromium": cfg / "chromium/Default",
            "brave": cfg / "BraveSoftware/Brave-Browser/Default",
            "edge": cfg / "microsoft-edge/Default",
            "firefox": home / ".mozilla/firefox",
            "safari": home / "Library/Safari",
        }
    return [roots[browser]]


def history_path(browser: str, profile: str | Path | None = None) -> Path:
    """The history database of ``browser``: ``profile`` may be the database file or its folder."""
    if browser not in BROWSERS:
        raise SourceError(f"browser {browser!r} is not supported; expected one of {', '.join(BROWSERS)}")
    name = DB_FILE[browser]
    candidates = [Path(profile).expanduser()] if profile else _profile_roots(browser)
    for c in candidates:
        if c.is_file():
            return c
        if (c / name).is_file():
            return c / name
        # Firefox keeps one folder per profile; take the most recently used one.
        found = (
            sorted(c.glob(f"*/{name}"), key=lambda p: p.stat().st_mtime, reverse=True) if c.is_dir() else []
        )
        if found:
            return found[0]
    where = ", ".join(str(c) for c in candidates)
    raise SourceError(
        f"{where}: no {name} found; expected the {browser} profile folder or its {name} (--profile)"
    )


def _item(browser: str, url: str, title: str | None, date: str, visits: int) -> Item | None:
    if not url or not date or urlsplit(url).scheme not in ("http", "https", "file", "ftp"):
        return None
    domain = urlsplit(url).hostname or ""
    title = " ".join((title or "").split())
    text = f"{title}\n{url}" if title else url
    meta = {
        "source": KIND,
        "browser": browser,
        "url": url,
        "title": title,
        "domain": domain,
        "date": date,
        "date_last": date,
        "visit_count": int(visits or 0),
    }
    return Item(f"{KIND}:{hashlib.sha1(url.encode()).hexdigest()[:20]}", text, meta)


def _chromium(con: sqlite3.Connection, browser: str) -> Iterator[Item]:
    # visits holds every visit (µs since 1601); urls.last_visit_time can lag behind a synced row.
    rows = con.execute(
        "SELECT u.url, u.title, u.visit_count, u.hidden, MAX(COALESCE(v.visit_time, 0), u.last_visit_time) AS t "
        "FROM urls u LEFT JOIN (SELECT url, MAX(visit_time) AS visit_time FROM visits GROUP BY url) v ON v.url = u.id "
        "ORDER BY u.id"
    )
    for r in rows:
        if r["hidden"]:
            continue
        it = _item(browser, r["url"], r["title"], from_epoch(r["t"], WEBKIT, 1e6), r["visit_count"])
        if it:
            yield it


def _firefox(con: sqlite3.Connection) -> Iterator[Item]:
    hidden = "p.hidden" if "hidden" in columns(con, "moz_places") else "0"
    rows = con.execute(
        f"SELECT p.url, p.title, p.visit_count, {hidden} AS hidden, "
        "MAX(COALESCE(v.visit_date, 0), COALESCE(p.last_visit_date, 0)) AS t FROM moz_places p "
        "LEFT JOIN (SELECT place_id, MAX(visit_date) AS visit_date FROM moz_historyvisits GROUP BY place_id) v "
        "ON v.place_id = p.id ORDER BY p.id"
    )
    for r in rows:
        if r["hidden"]:
            continue
        # PRTime: µs since 1970; 0/NULL means a place never visited (a bookmark, a place: query).
        it = _item("firefox", r["url"], r["title"], from_epoch(r["t"], scale=1e6), r["visit_count"])
        if it:
            yield it


def _safari(con: sqlite3.Connection) -> Iterator[Item]:
    redirect = (
        "redirect_destination IS NULL" if "redirect_destination" in columns(con, "history_visits") else "1"
    )
    # Titles live on visits; redirect hops carry '' titles, so take the newest real visit's title.
    rows = con.execute(
        "SELECT i.url, i.visit_count, v.t, "
        "(SELECT title FROM history_visits w WHERE w.history_item = i.id AND COALESCE(w.title, '') != '' "
        " ORDER BY w.visit_time DESC LIMIT 1) AS title "
        "FROM history_items i JOIN (SELECT history_item, MAX(visit_time) AS t FROM history_visits "
        f"WHERE {redirect} GROUP BY history_item) v ON v.history_item = i.id ORDER BY i.id"
    )
    for r in rows:
        it = _item("safari", r["url"], r["title"], from_epoch(r["t"], COCOA), r["visit_count"])
        if it:
            yield it


def read_history(browser: str, profile: str | Path | None = None) -> Iterator[Item]:
    """Every visited URL in ``browser``'s history (the database is never opened in place)."""
    path = history_path(browser, profile)
    if browser == "firefox":
        with sqlite_copy(path, _EXPECT["firefox"], ("moz_places", "moz_historyvisits")) as con:
            yield from list(_firefox(con))
    elif browser == "safari":
        with sqlite_copy(path, _EXPECT["safari"], ("history_items", "history_visits")) as con:
            yield from list(_safari(con))
    else:
        with sqlite_copy(path, _EXPECT["chromium"], ("urls", "visits")) as con:
            yield from list(_chromium(con, browser))
