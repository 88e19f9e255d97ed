"""The reference library: sound and text vectors of the user's music in a Qdrant collection.

Embedded by default (``QdrantClient(path=...)`` under the data dir, one store per user);
with a server URL (argument, ``RESONANT_QDRANT_URL`` or the ``library_url`` setting) the
same code talks to a Qdrant server. Each point has two named vectors, ``sound`` (the
analysis embedding) and ``text`` (MiniLM of title, tags and prompt), and a payload for
filters. Point ids derive from the file path (or the take id), so re-indexing updates in
place.

Not thread-safe across processes by design: a second process opening the same embedded
store gets a ``LibraryError`` saying so. Within a process, calls are serialised by a lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from engine.analysis import SOUND_DIM, AudioAnalysis, analyze_file
from engine.embedding import TEXT_DIM
from resonant_studio.library.index import IndexReport, index_folder
from resonant_studio.library.points import generation_point, payload_for, point_id, text_for  # noqa: F401
from resonant_studio.library.results import (
    LibraryError,
    SearchFilters,
    SearchResult,
    explain,
    parse_key,
)
from resonant_studio.core.settings import Settings, data_dir

COLLECTION = "library"
URL_ENV = "RESONANT_QDRANT_URL"
SOUND_WEIGHT, TEXT_WEIGHT = 0.5, 0.5
"""How a search by both a reference and text mixes the two closenesses."""
OVERSAMPLE = 20
"""Embedded store: filtered searches first look at ``OVERSAMPLE * top_k`` unfiltered hits
(the embedded engine filters point by point in Python, ~100 ms at 10k items)."""

__all__ = ["Library", "LibraryError", "SearchFilters", "SearchResult", "IndexReport", "library_path"]


def library_path() -> Path:
    return data_dir() / "library"


class Library:
    def __init__(self, path: str | os.PathLike | None = None, *, url: str | None = None,
                 api_key: str | None = None, embedder: Any = None, collection: str = COLLECTION) -> None:
        from qdrant_client import QdrantClient

        if path is None and url is None:
            url = os.environ.get(URL_ENV) or Settings().get("library_url") or None
        self.collection = collection
        self.url = url
        self.path = None if url else Path(path) if path is not None else library_path()
        self._lock = threading.RLock()
        self._embedder = embedder
        self._embedder_given = embedder is not None
        try:
            if url:
                self.client = QdrantClient(url=url, api_key=api_key, timeout=30, check_compatibility=False)
            else:
                assert self.path is not None
                self.path.mkdir(parents=True, exist_ok=True)
                self.client = QdrantClient(path=str(self.path), force_disable_check_same_thread=True)
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise LibraryError(
                    f"the library at {self.path} is open in another Resonant Studio window or command: "
                    "close that one (or wait for its indexing to finish) and try again"
                ) from None
            raise LibraryError(f"the library could not be opened: {exc}") from exc
        except OSError as exc:
            raise LibraryError(f"the library folder {self.path} cannot be used: {exc.strerror or exc}") from exc
        try:
            self._ensure_collection()
        except LibraryError:
            self.close()
            raise
        except Exception as exc:  # a server that is down, refused, or not Qdrant
            self.close()
            where = url or self.path
            raise LibraryError(f"the library at {where} could not be reached: {exc}") from exc

    # --- lifetime ------------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return self.url is None

    def close(self) -> None:
        with self._lock:
            client = getattr(self, "client", None)
            if client is not None:
                client.close()
                self.client = None

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _ensure_collection(self) -> None:
        from qdrant_client import models

        if not self.client.collection_exists(self.collection):
            self.client.create_collection(self.collection, vectors_config={
                # Every vector is unit length, so a dot product is the cosine; the embedded
                # engine would otherwise re-normalise the whole collection on every query.
                "sound": models.VectorParams(size=SOUND_DIM, distance=models.Distance.DOT),
                "text": models.VectorParams(size=TEXT_DIM, distance=models.Distance.DOT),
            })
            if not self.embedded:
                for name, schema in (("tempo", models.PayloadSchemaType.FLOAT),
                                     ("key", models.PayloadSchemaType.KEYWORD),
                                     ("source", models.PayloadSchemaType.KEYWORD),
                                     ("path", models.PayloadSchemaType.KEYWORD)):
                    self.client.create_payload_index(self.collection, name, field_schema=schema)
        else:
            vectors = self.client.get_collection(self.collection).config.params.vectors
            sizes = {name: params.size for name, params in (vectors or {}).items()} if isinstance(vectors, dict) else {}
            if sizes != {"sound": SOUND_DIM, "text": TEXT_DIM}:
                raise LibraryError(
                    f"the library at {self.url or self.path} was made by another version (vectors {sizes}): "
                    "move that folder away and index your music again"
                )
        if self.embedded:
            self._fast_commits()

    def _fast_commits(self) -> None:
        """Write-ahead logging for the embedded store's SQLite file.

        It commits once per point; with the default rollback journal each commit waits for
        the disk (10k points: ~20 s). In WAL mode with synchronous=NORMAL a commit is an
        append (10k points: ~2 s) and the file stays consistent if the process dies.
        """
        local = getattr(self.client, "_client", None)
        collection = getattr(local, "collections", {}).get(self.collection)
        conn = getattr(getattr(collection, "storage", None), "storage", None)
        if conn is not None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")

    # --- embedding -----------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from engine.embedding import shared_text_embedder

            self._embedder = shared_text_embedder()
        return self._embedder

    @property
    def uses_shared_embedder(self) -> bool:
        """True when text vectors come from ``engine.embedding.shared_text_embedder`` (what a
        helper process computes too), not from an embedder handed in."""
        return not self._embedder_given

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(list(texts))

    # --- writing -------------------------------------------------------------------------------
    def upsert(self, items: Sequence[tuple[str, np.ndarray, str, dict]]) -> None:
        """Write ``(point id, sound vector, text, payload)`` items in one batch."""
        if not items:
            return
        text_vectors = self.embed_texts([text for _, _, text, _ in items])
        self.upsert_vectors([pid for pid, _, _, _ in items], np.stack([np.asarray(s) for _, s, _, _ in items]),
                            text_vectors, [payload for _, _, _, payload in items])

    def upsert_vectors(self, ids: Sequence[str], sound: np.ndarray, text: np.ndarray, payloads: Sequence[dict]) -> None:
        """Write points whose vectors are already computed (``sound`` [N, SOUND_DIM], ``text`` [N, TEXT_DIM])."""
        from qdrant_client import models

        sound = _unit_rows(sound).tolist()
        text = _unit_rows(text).tolist()
        points = [models.PointStruct(id=pid, vector={"sound": sound[i], "text": text[i]}, payload=payloads[i])
                  for i, pid in enumerate(ids)]
        with self._lock:
            self.client.upsert(self.collection, points=points, wait=True)

    def delete(self, ids: Iterable[str]) -> None:
        from qdrant_client import models

        ids = list(ids)
        if ids:
            with self._lock:
                self.client.delete(self.collection, points_selector=models.PointIdsList(points=ids), wait=True)

    def add_take(self, analysis: AudioAnalysis, *, prompt: str, take_id: str, title: str = "",
                 path: str = "", tags: Sequence[str] = (), stems: Sequence[str] = ()) -> str:
        """Index a generation (its mix) so the user can search their own history by its prompt;
        ``stems``: the ids of the takes it made."""
        point = generation_point(analysis, prompt=prompt, take_id=take_id, title=title, path=path, tags=tags,
                                 stems=stems)
        self.upsert([point])
        return point[0]

    def index_folder(self, folder: str | os.PathLike, progress: Callable[[float, str], None] | None = None,
                     cancel: Callable[[], bool] | None = None, batch_size: int = 32,
                     analyze: Callable[[str], AudioAnalysis] = analyze_file) -> IndexReport:
        """Add the folder's audio files; skip unchanged ones, remove ones no longer there."""
        return index_folder(self, folder, progress=progress, cancel=cancel, batch_size=batch_size, analyze=analyze)

    # --- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return int(self.client.count(self.collection, exact=True).count)

    def payloads(self, keys: Sequence[str] | None = None) -> dict[str, dict]:
        """Every point's id -> payload (only ``keys`` when given)."""
        out: dict[str, dict] = {}
        offset = None
        with self._lock:
            while True:
                points, offset = self.client.scroll(self.collection, limit=1024, offset=offset,
                                                    with_payload=list(keys) if keys else True, with_vectors=False)
                out.update({str(p.id): dict(p.payload or {}) for p in points})
                if offset is None:
                    return out

    def search(self, *, like: str | os.PathLike | AudioAnalysis | None = None, text: str | None = None,
               top_k: int = 10, filters: SearchFilters | None = None) -> list[SearchResult]:
        """The ``top_k`` closest items to a reference (file or analysis), a text, or both."""
        if like is None and not (text and text.strip()):
            raise LibraryError("search needs a reference file (--like) or a text (--text)")
        if top_k < 1:
            raise LibraryError(f"top-k must be at least 1, not {top_k}")
        filters = filters or SearchFilters()
        if filters.key:
            filters = SearchFilters(filters.tempo_min, filters.tempo_max, parse_key(filters.key), filters.source)
        query_path = None
        reference = None
        if like is not None:
            reference = like if isinstance(like, AudioAnalysis) else analyze_file(like)
            query_path = reference.path or None
        queries: dict[str, np.ndarray] = {}
        if reference is not None:
            queries["sound"] = np.asarray(reference.sound_vector, dtype=np.float32)
        if text and text.strip():
            queries["text"] = self.embed_texts([text.strip()])[0]
        weights = {"sound": SOUND_WEIGHT, "text": TEXT_WEIGHT} if len(queries) == 2 else {k: 1.0 for k in queries}

        # Candidates from each vector, then an exact mixed score for each candidate.
        want = top_k + (1 if query_path else 0)
        candidates: dict[str, Any] = {}
        for using, vector in queries.items():
            for point in self._query(using, vector, want * (3 if len(queries) == 2 else 1), filters):
                candidates.setdefault(str(point.id), point)
        results = []
        for point in candidates.values():
            payload = dict(point.payload or {})
            if query_path and payload.get("path") == query_path:
                continue  # the reference itself is not a result
            scores = {u: float(np.dot(np.asarray(point.vector[u], dtype=np.float32), q)) for u, q in queries.items()}
            score = sum(weights[u] * s for u, s in scores.items())
            results.append(SearchResult(
                path=str(payload.get("path", "")), score=score, payload=payload,
                reasons=explain(payload, reference.tempo if reference else None,
                                reference.key_name if reference else None,
                                scores.get("sound"), scores.get("text")),
                sound_score=scores.get("sound"), text_score=scores.get("text"),
            ))
        results.sort(key=lambda r: r.score, reverse=True)
        return results[:top_k]

    def _query(self, using: str, vector: np.ndarray, limit: int, filters: SearchFilters) -> list:
        with self._lock, _one_blas_thread():
            if filters.empty:
                return self.client.query_points(self.collection, query=vector.tolist(), using=using, limit=limit,
                                                with_payload=True, with_vectors=True).points
            if self.embedded:
                wide = self.client.query_points(self.collection, query=vector.tolist(), using=using,
                                                limit=limit * OVERSAMPLE, with_payload=True, with_vectors=True).points
                kept = [p for p in wide if filters.accepts(p.payload or {})]
                if len(kept) >= limit or len(wide) < limit * OVERSAMPLE:
                    return kept[:limit]
            return self.client.query_points(self.collection, query=vector.tolist(), using=using, limit=limit,
                                            query_filter=qdrant_filter(filters), with_payload=True,
                                            with_vectors=True).points


_blas = None


def _one_blas_thread():
    """The embedded engine scores a query with one matrix-vector product; a multithreaded BLAS
    only adds hand-offs there (measured: 12 ms with threads on a busy 2-core machine, 0.4 ms
    without), so searches run it single-threaded."""
    global _blas
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext()
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norms > 1e-12, norms, 1.0)


def qdrant_filter(filters: SearchFilters):
    from qdrant_client import models

    must = []
    if filters.tempo_min is not None or filters.tempo_max is not None:
        must.append(models.FieldCondition(key="tempo", range=models.Range(gte=filters.tempo_min, lte=filters.tempo_max)))
    if filters.key is not None:
        must.append(models.FieldCondition(key="key", match=models.MatchValue(value=filters.key)))
    if filters.source is not None:
        must.append(models.FieldCondition(key="source", match=models.MatchValue(value=filters.source)))
    return models.Filter(must=must)
