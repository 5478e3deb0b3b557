"""Browser history: generated Chromium/Firefox/Safari databases with real schemas and epochs, WAL, bad input, real samples."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sources_helpers import CHROME_SCHEMA, FIREFOX_SCHEMA, SAFARI_SCHEMA, cocoa_s, exports, make_db, webkit_us

from leann_cli.sources.base import SourceError
from leann_cli.sources.browser import history_path, read_history

UTC = timezone.utc
T1 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 3, 17, 45, 10, tzinfo=UTC)


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "" for p in paths]


def test_chromium_history_in_wal_is_read_and_files_untouched(tmp_path: Path) -> None:
    profile = tmp_path / "Default"
    profile.mkdir()
    db = profile / "History"
    con = make_db(db, CHROME_SCHEMA, wal=True)
    con.execute(
        "INSERT INTO urls VALUES (1,'https://docs.python.org/3/library/sqlite3.html','sqlite3 — DB-API',3,0,?,0)",
        (webkit_us(T1),),
    )
    con.execute("INSERT INTO urls VALUES (2,'https://example.com/redirect','',1,0,?,1)", (webkit_us(T1),))
    con.execute("INSERT INTO visits (url, visit_time, transition) VALUES (1, ?, 805306368)", (webkit_us(T2),))
    con.commit()  # the browser keeps the connection open: these rows sit in History-wal, not in History
    assert Path(str(db) + "-wal").stat().st_size > 0
    before = _digest(db, Path(str(db) + "-wal"))
    (item,) = list(read_history("chrome", profile))
    assert _digest(db, Path(str(db) + "-wal")) == before
    con.close()
    m = item.metadata
    assert m["url"] == "https://docs.python.org/3/library/sqlite3.html" and m["domain"] == "docs.python.org"
    assert m["title"] == "sqlite3 — DB-API" and m["visit_count"] == 3
    assert m["date"] == "2024-05-03T17:45:10Z"  # the newest visit in `visits`, not the stale urls row
    assert item.text == "sqlite3 — DB-API\nhttps://docs.python.org/3/library/sqlite3.html"
    assert item.id.startswith("browser:")


def test_chromium_locked_database_is_still_read(tmp_path: Path) -> None:
    db = tmp_path / "History"
    con = make_db(db, CHROME_SCHEMA)
    con.execute("INSERT INTO urls VALUES (1,'https://a.example/','A',1,0,?,0)", (webkit_us(T1),))
    con.commit()
    con.execute("BEGIN EXCLUSIVE")  # as a running browser may hold it
    try:
        assert [i.metadata["title"] for i in read_history("brave", db)] == ["A"]
    finally:
        con.rollback()
        con.close()


def test_firefox_prtime_and_never_visited_places(tmp_path: Path) -> None:
    db = tmp_path / "places.sqlite"
    con = make_db(db, FIREFOX_SCHEMA)
    us = int(T2.timestamp() * 1_000_000)
    con.execute(
        "INSERT INTO moz_places (id,url,title,visit_count,hidden,last_visit_date) VALUES (1,'https://mozilla.org/','Mozilla',2,0,?)",
        (us,),
    )
    con.execute(
        "INSERT INTO moz_places (id,url,title,visit_count,hidden,last_visit_date) VALUES (2,'place:sort=8&maxResults=10','Recent',0,1,NULL)"
    )
    con.execute(
        "INSERT INTO moz_places (id,url,title,visit_count,hidden,last_visit_date) VALUES (3,'https://bookmark.only/','Bookmark',0,0,NULL)"
    )
    con.execute("INSERT INTO moz_historyvisits (place_id, visit_date, visit_type) VALUES (1, ?, 1)", (us,))
    con.commit()
    con.close()
    profiles = tmp_path / "Profiles"
    (profiles / "abcd.default-release").mkdir(parents=True)
    db.rename(profiles / "abcd.default-release" / "places.sqlite")
    assert history_path("firefox", profiles).name == "places.sqlite"
    (item,) = list(read_history("firefox", profiles))
    assert item.metadata["date"] == "2024-05-03T17:45:10Z" and item.metadata["title"] == "Mozilla"


def test_safari_cocoa_seconds_titles_and_redirect_hops(tmp_path: Path) -> None:
    db = tmp_path / "History.db"
    con = make_db(db, SAFARI_SCHEMA, wal=True)
    con.execute(
        "INSERT INTO history_items (id,url,visit_count,daily_visit_counts,should_recompute_derived_visit_counts,visit_count_score) VALUES (1,'http://apple.com/',1,x'',0,0)"
    )
    con.execute(
        "INSERT INTO history_items (id,url,visit_count,daily_visit_counts,should_recompute_derived_visit_counts,visit_count_score) VALUES (2,'https://www.apple.com/',2,x'',0,0)"
    )
    con.execute(
        "INSERT INTO history_visits (id,history_item,visit_time,title,redirect_destination) VALUES (1,1,?,'',2)",
        (cocoa_s(T1),),
    )
    con.execute(
        "INSERT INTO history_visits (id,history_item,visit_time,title,redirect_source) VALUES (2,2,?,'Apple',1)",
        (cocoa_s(T1) + 0.5,),
    )
    con.execute(
        "INSERT INTO history_visits (id,history_item,visit_time,title) VALUES (3,2,?,NULL)", (cocoa_s(T2),)
    )
    con.commit()
    items = list(read_history("safari", db))
    con.close()
    assert [i.metadata["url"] for i in items] == ["https://www.apple.com/"]  # the redirect hop is not a page
    assert items[0].metadata["title"] == "Apple" and items[0].metadata["date"] == "2024-05-03T17:45:10Z"


def test_bad_databases_get_one_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "History"
    junk.write_bytes(b"SQLite format 3\x00" + b"\xff" * 3000)
    with pytest.raises(SourceError, match=r"History: not a readable SQLite database.*Chromium History"):
        list(read_history("chrome", junk))
    other = tmp_path / "places.sqlite"
    make_db(other, CHROME_SCHEMA).close()
    with pytest.raises(SourceError, match=r"places\.sqlite: no table moz_places, moz_historyvisits"):
        list(read_history("firefox", other))
    with pytest.raises(SourceError, match="no History found"):
        history_path("chrome", tmp_path / "nowhere")
    with pytest.raises(SourceError, match="not supported"):
        history_path("netscape", tmp_path)


def test_real_samples() -> None:
    chrome = list(read_history("chrome", exports("browser", "plaso-chrome-History.v20.sqlite")))
    # 55 urls, 25 of them hidden redirect/subframe entries with empty titles
    assert len(chrome) == 30 and all(i.metadata["title"] for i in chrome)
    assert all("2011-" in i.metadata["date"] for i in chrome)
    start = next(i for i in chrome if i.metadata["title"] == "Ubuntu Start Page")
    assert start.metadata["date"] == "2011-05-16T11:29:45Z" and start.metadata["visit_count"] == 4
    (c59,) = read_history("chrome", exports("browser", "plaso-chrome-History-59.0.3071.86.v36.sqlite"))
    assert (
        c59.metadata["date"].startswith("2018-01-21")
        and c59.metadata["domain"] == "raw.githubusercontent.com"
    )
    (ff,) = read_history(
        "firefox", exports("browser", "plaso-firefox-places.v10.sqlite")
    )  # one visited place
    assert ff.metadata["url"] == "http://news.google.com/" and ff.metadata["date"] == "2011-07-01T11:16:21Z"
    safari = list(read_history("safari", exports("browser", "plaso-safari-History.v13.db")))
    assert len(safari) == 13 and all(i.metadata["date"].startswith("2017-11-") for i in safari)
    assert {"Facebook - Log In or Sign Up", "Ubuntu Start Page"} <= {i.metadata["title"] for i in safari}
