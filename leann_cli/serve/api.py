"""The JSON API's logic, apart from HTTP: validated inputs in, plain dicts out, :class:`ApiError` for bad input."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import backend as b
from .jobs import BuildJobs
from .llm import OllamaStream
from .results import shown

FIELD_SAMPLE = 50  # passages read to list an index's metadata fields (filter suggestions, date range)


class ApiError(Exception):
    """An error answered as JSON ``{"error": message}`` with HTTP ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _one(params: Mapping[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = params.get(name)
    return values[-1] if values else default


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {value!r}") from None


def _filters(items: list[str], date_field: str, date_from: str | None, date_to: str | None) -> Any:
    try:
        filters = b.parse_filters([str(i) for i in items if str(i).strip()]) or {}
    except ValueError as e:
        raise ApiError(400, str(e).replace("--filter", "filter")) from None
    if date_from or date_to:
        cond = filters.setdefault(date_field, {})
        if not isinstance(cond, dict):
            cond = filters[date_field] = {"==": cond}
        if date_from:
            cond[">="] = date_from
        if date_to:
            cond["<="] = date_to + ("\uffff" if len(date_to) == 10 else "")  # a day includes its times
    return filters or None


class Api:
    """What the page and scripts call; one instance per server."""

    def __init__(
        self,
        pool: Any,
        *,
        ollama_host: str | None = None,
        ollama_model: str | None = None,
        build_embedding: Any = None,
    ) -> None:
        self.pool = pool
        self.base: Path = Path(pool.base)
        self.ollama_host = ollama_host
        self.ollama_model = ollama_model
        self.build_embedding = build_embedding  # tests: an embedder instead of the index's model
        self.jobs = BuildJobs()
        self.search_lock = threading.Lock()  # one search at a time through the warm model

    # ------------------------------------------------------------------ reads

    def indexes(self) -> dict[str, Any]:
        out = []
        for info in b.list_indexes(self.base):
            row = info.to_dict()
            try:
                row["disk"] = b.disk_sizes(info.path / b.ENGINE_DIR)
            except (OSError, ValueError) as e:
                row["disk"] = {"error": str(e)}
            row["fields"] = self._fields(info.name)
            running = self.jobs.running(info.name)
            row["building"] = running.id if running else None
            out.append(row)
        return {"base_dir": str(self.base), "indexes": out, "modes": list(b.SEARCH_MODES), "default_mode": b.DEFAULT_MODE}

    def _fields(self, name: str) -> list[str]:
        try:
            searcher = self.pool.get(name)
            with self.search_lock:
                sample = searcher.get(searcher.ids()[:FIELD_SAMPLE])
        except Exception:  # a field list is a hint for the page; never fail the listing for it
            return []
        return sorted({k for r in sample for k in (r.metadata or {})})

    def _search_args(self, p: Mapping[str, Any], text_name: str = "q") -> dict[str, Any]:
        index = p.get("index")
        if not index:
            raise ApiError(400, "index is required: the name of an index (see GET /api/indexes)")
        try:
            b.check_index_name(index)
        except b.CliError as e:
            raise ApiError(400, str(e)) from None
        query = p.get(text_name)
        if not isinstance(query, str) or not query.strip():
            raise ApiError(400, f"{text_name} must be a non-empty text")
        top_k = _int(p.get("top_k", 5), "top_k")
        mode = p.get("mode") or b.DEFAULT_MODE
        filters = _filters(p.get("filter", []), p.get("date_field") or "date", p.get("date_from"), p.get("date_to"))
        try:
            b.check_options(top_k=top_k, mode=mode, filters=filters)
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        return {"index": index, "query": query, "top_k": top_k, "mode": mode, "filters": filters}

    def _retrieve(self, a: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            searcher = self.pool.get(a["index"])
        except b.CliError as e:
            raise ApiError(404, str(e)) from None
        try:
            with self.search_lock:
                results = b.run_search(
                    searcher, a["query"], top_k=a["top_k"], mode=a["mode"], filters=a["filters"]
                )
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        return shown(b.result_dicts(results), a["query"])

    def search(self, params: Mapping[str, list[str]]) -> dict[str, Any]:
        """``GET /api/search?index=&q=&top_k=&mode=&filter=KEY=VALUE&date_from=&date_to=&date_field=``."""
        flat: dict[str, Any] = {k: _one(params, k) for k in params if k != "filter"}
        flat["filter"] = params.get("filter", [])
        a = self._search_args(flat)
        t0 = time.perf_counter()
        rows = self._retrieve(a)
        took = time.perf_counter() - t0
        return {k: a[k] for k in ("index", "query", "top_k", "mode", "filters")} | {
            "took_s": round(took, 4),
            "results": rows,
        }

    # ------------------------------------------------------------------ ask

    def ask(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], OllamaStream]:
        """Retrieve, then open the Ollama stream; :class:`ApiError` 503 when Ollama is not there."""
        filters = body.get("filter", [])
        if not isinstance(filters, list):
            raise ApiError(400, 'filter must be a list of "KEY=VALUE" strings')
        a = self._search_args({**body, "filter": filters}, text_name="question")
        rows = self._retrieve(a)
        model = body.get("model") or self.ollama_model
        if model is not None and not isinstance(model, str):
            raise ApiError(400, f"model must be a string, got {model!r}")
        stream = OllamaStream(self.ollama_host, model)
        try:
            stream.open(b.build_messages(a["query"], [_Row(r) for r in rows]))
        except b.LLMUnavailableError as e:
            raise ApiError(503, str(e)) from None
        return {"type": "sources", "index": a["index"], "model": stream.model, "results": rows}, stream

    # ------------------------------------------------------------------ changes

    def _docs_inside(self, docs: Any) -> list[Path]:
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) and d.strip() for d in docs):
            raise ApiError(400, "docs must be a non-empty list of file or folder paths inside " + str(self.base))
        out = []
        for d in docs:
            path = Path(d).expanduser()
            path = (path if path.is_absolute() else self.base / path).resolve()
            if path != self.base and self.base not in path.parents:
                raise ApiError(403, f"docs path {d!r} is outside the served folder {self.base}")
            if not path.exists():
                raise ApiError(400, f"docs path {d!r} does not exist")
            out.append(path)
        return out

    def build_start(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /api/build {"index", "docs": [paths], "force"}``: an incremental build in the background."""
        from ..ingest.pipeline import build_from_docs
        from ..ingest.sources import read_sources
        from ..settings import BuildOptions

        name = body.get("index")
        try:
            b.check_index_name(name)  # type: ignore[arg-type]
        except b.CliError as e:
            raise ApiError(400, str(e)) from None
        folder = b.index_dir(name, self.base)  # type: ignore[arg-type]
        stored = read_sources(folder) if b.is_index(folder / b.ENGINE_DIR) else None
        roots = self._docs_inside(body.get("docs") or (stored.docs if stored else None))
        force = bool(body.get("force", False))
        try:
            options = BuildOptions.resolve(stored.options if stored and not force else None)
        except ValueError as e:
            raise ApiError(400, f"stored build options of {name!r} are not usable: {e}") from None

        def work(job: Any) -> dict[str, Any]:
            embedding = self.build_embedding or self._warm_model(options.embedding_model)
            report = build_from_docs(
                folder, roots, options, force=force, embedding=embedding, base=self.base, progress=job.step
            )
            return report.to_dict() | {"summary": report.summary()}

        job = self.jobs.start(name, [str(r) for r in roots], work)  # type: ignore[arg-type]
        if job is None:
            raise ApiError(409, f"a build of {name!r} is already running")
        return job.to_dict()

    def _warm_model(self, model: str | None) -> Any:
        """The model an open index already loaded, when the build uses the same one."""
        import os

        from leann_engine import DEFAULT_MODEL

        want = model or os.environ.get("LEANN_EMBEDDING_MODEL", DEFAULT_MODEL)
        try:
            return self.pool.warm_embedder(want, self.search_lock)
        except Exception:  # no warm model: the build loads its own
            return None

    def build_status(self, params: Mapping[str, list[str]]) -> dict[str, Any]:
        """``GET /api/build?id=N`` for one build, without ``id`` for every build this server ran."""
        job_id = _one(params, "id")
        if job_id is None:
            return {"builds": [j.to_dict() for j in self.jobs.all()]}
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no build with id {job_id!r}")
        return job.to_dict()

    def remove(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /api/remove {"index"}``: delete the index's folder."""
        name = body.get("index")
        try:
            b.check_index_name(name)  # type: ignore[arg-type]
        except b.CliError as e:
            raise ApiError(400, str(e)) from None
        try:
            folder = b.existing_engine_path(name, self.base).parent  # type: ignore[arg-type]
        except b.CliError as e:
            raise ApiError(404, str(e)) from None
        if self.jobs.running(name):  # type: ignore[arg-type]
            raise ApiError(409, f"a build of {name!r} is running; remove it when the build has finished")
        with self.search_lock:
            self.pool.forget(name)
            shutil.rmtree(folder)
        return {"removed": name}


class _Row:
    """A result dict seen as the object ``build_messages`` expects (``.text``, ``.metadata``)."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.text = str(row.get("text", ""))
        self.metadata = row.get("metadata") or {}
