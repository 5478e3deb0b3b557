"""A writer process killed in the middle of a build, an update or a compaction loses nothing.

Each test starts a real Python process that writes to the index, kills it with SIGKILL while it
is writing, then checks that the previous state is fully readable and that the next writer works.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import make_corpus

from leann_engine import LeannBuilder, LeannIndex, LeannSearcher

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parents[1]

PRELUDE = f"""
import sys, time, os
sys.path[:0] = [{str(ROOT)!r}, {str(TESTS.parent)!r}]
from conftest import WordHashEmbedder, make_corpus
from leann_engine import LeannBuilder, LeannIndex
from leann_engine.store.io import set_fault_hook
emb = WordHashEmbedder()

def pause(tag):
    print(tag, flush=True)
    time.sleep(120)
"""

WRITERS = {
    # Killed halfway through writing the new codes file of a rebuild (500 passages: no graph).
    "build": """
def half_write(point, path, data):
    if point == 'write' and str(path).endswith('.pq'):
        with open(path, 'wb') as f:
            f.write(data[: len(data) // 2]); f.flush()
        pause('READY')
set_fault_hook(half_write)
texts, metas = make_corpus(500, seed=9)
b = LeannBuilder(embedding_model=emb); b.add_texts(texts, metas); b.build_index(PATH)
""",
    # Killed after appending to the delta files, before the manifest names the new rows.
    "add": """
set_fault_hook(lambda point, path, data: point == 'commit' and pause('READY'))
LeannIndex(PATH, emb, auto_compact=False).add_texts(['half written passage'] * 50, ids=[f'h{i}' for i in range(50)])
""",
    # Killed after a compaction wrote its new base segment, before the commit.
    "compact": """
set_fault_hook(lambda point, path, data: point == 'commit' and pause('READY'))
LeannIndex(PATH, emb, auto_compact=False).compact()
""",
}


def start_writer(code: str, path: Path) -> subprocess.Popen:
    script = PRELUDE + f"PATH = {str(path)!r}\n" + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot_of(path, embedder):
    s = LeannSearcher(path, embedder)
    ids = sorted(s.ids())
    texts = {r.id: r.text for r in s.get(ids)}
    top = [r.id for r in s.search("storage graph compress", top_k=10)]
    return ids, texts, top


@pytest.fixture
def prepared(tmp_path, embedder):
    texts, metas = make_corpus(400)
    b = LeannBuilder(embedding_model=embedder)
    b.add_texts(texts, metas, [f"p{i}" for i in range(400)])
    path = tmp_path / "c.leann"
    b.build_index(path)
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.add_texts(["delta passage about storage"], ids=["d1"])
    ix.delete(["p1", "p2"])
    return path


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_killed_writer_leaves_previous_index_readable(prepared, embedder, kind):
    path = prepared
    before = snapshot_of(path, embedder)
    manifest_before = (path / "manifest.json").read_text()
    proc = start_writer(WRITERS[kind], path)
    line = proc.stdout.readline()
    assert line.strip() == "READY", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (path / "manifest.json").read_text() == manifest_before
    assert snapshot_of(path, embedder) == before
    # The next writer takes the lock the dead one held and cuts its leftovers off.
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.add_texts(["after the crash"], ids=["after"])
    assert ix.count() == len(before[0]) + 1
    assert ix.get(["after"])[0].text == "after the crash"
    assert not [i for i in ix.ids() if i.startswith("h")]
    ix.compact()
    assert sorted(ix.ids()) == sorted(before[0] + ["after"])


def test_random_kills_during_a_stream_of_writes(prepared, embedder):
    path = prepared
    loop = """
import random
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
ix = LeannIndex(PATH, emb, compact_ratio=0.05, compact_min_rows=30)
print('READY', flush=True)
i = 0
while True:
    i += 1
    ix.add_texts([f'stream passage {i} {j} storage graph' for j in range(7)], ids=[f's{i}-{j}' for j in range(7)])
    if i % 3 == 0:
        ix.delete([f's{i - 1}-{j}' for j in range(3)])
"""
    rng = random.Random(4)
    for _ in range(6):
        proc = start_writer(loop, path)
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(rng.uniform(0.05, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        s = LeannSearcher(path, embedder)
        m = json.loads((path / "manifest.json").read_text())
        ids = s.ids()
        assert len(ids) == s.count() == m["counts"]["passages"]
        assert len(s.get(ids)) == len(ids)
        res = s.search("stream passage storage graph", top_k=5)
        assert len(res) == 5
    assert any(i.startswith("s") for i in LeannSearcher(path, embedder).ids())


MERGE_WRITERS = {
    # Killed halfway through writing the merged codes into the writer's stage folder.
    "merge-write": """
def half_write(point, path, data):
    if point == 'write' and '.stage-' in str(path) and str(path).endswith('.pq'):
        with open(path, 'wb') as f:
            f.write(data[: len(data) // 2]); f.flush()
        pause('READY')
set_fault_hook(half_write)
LeannIndex(PATH, emb, auto_compact=False).compact()
""",
    # Killed after the passage blocks were copied into the stage, halfway through their table.
    "merge-passages": """
def half_write(point, path, data):
    if point == 'write' and '.stage-' in str(path) and str(path).endswith('.pzt'):
        assert (path.parent / 'base_blocks.pz').stat().st_size > 0  # the blocks were streamed first
        with open(path, 'wb') as f:
            f.write(data[: len(data) // 2]); f.flush()
        pause('READY')
set_fault_hook(half_write)
LeannIndex(PATH, emb, auto_compact=False).compact()
""",
    # Killed after the merged files were moved to their generation names, before the manifest.
    "merge-commit": """
set_fault_hook(lambda point, path, data: point == 'commit' and pause('READY'))
LeannIndex(PATH, emb, auto_compact=False).compact()
""",
}


@pytest.fixture
def coded(tmp_path, embedder):
    """An index with PQ codes (from 1,024 passages), a delta and tombstones to merge."""
    texts, metas = make_corpus(1100)
    b = LeannBuilder(embedding_model=embedder, calibrate=False)
    b.add_texts(texts, metas, [f"p{i}" for i in range(1100)])
    path = tmp_path / "m.leann"
    b.build_index(path)
    ix = LeannIndex(path, embedder, auto_compact=False)
    ix.add_texts(make_corpus(30, seed=3)[0], ids=[f"d{i}" for i in range(30)])
    ix.delete(["p1", "p2", "p50"])
    return path


@pytest.mark.parametrize("kind", sorted(MERGE_WRITERS))
def test_killed_merge_leaves_previous_index_readable(coded, kind):
    from conftest import WordHashEmbedder

    embedder = WordHashEmbedder()
    path = coded
    before = snapshot_of(path, embedder)
    manifest_before = (path / "manifest.json").read_text()
    proc = start_writer(MERGE_WRITERS[kind], path)
    assert proc.stdout.readline().strip() == "READY", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (path / "manifest.json").read_text() == manifest_before
    assert snapshot_of(path, embedder) == before
    assert list(path.glob(".stage-*")) or kind == "merge-commit"
    # The next writer merges, and removes the dead writer's stage folder and orphaned files.
    ix = LeannIndex(path, embedder, auto_compact=False)
    calls = embedder.calls
    assert ix.compact() is True
    assert embedder.calls == calls, "the merge re-embedded passages"
    assert sorted(ix.ids()) == before[0]
    assert not list(path.glob(".stage-*"))
    names = set(json.loads((path / "manifest.json").read_text())["files"].values())
    assert all(p.name in names or not p.name.startswith("base-") or p.name in ix.manifest["previous_files"]
               for p in path.iterdir())
