"""Talking to the Hugging Face hub (or a mirror): what a repository holds, and one file's bytes.

Everything goes through ``huggingface_hub``: ``HfApi.model_info(files_metadata=True)`` for
the file list with the hub's sizes and hashes (the LFS sha256, or the git blob id of a small
file), ``hf_hub_url`` for the resolve URL, ``build_hf_headers`` for the token (``HF_TOKEN`` or
the file ``hf auth login`` writes), and its HTTP session. ``HF_ENDPOINT`` and
``HF_HUB_OFFLINE`` are read when a call is made, not when the library was imported.

Files are streamed here rather than with ``hf_hub_download``: the huggingface_hub in use (2.x,
after its PR #4228) writes to a per-process temporary file and deletes it on any failure, so an
interrupted multi-GB download would start again from zero. Here the bytes go to ``<file>.incomplete`` and
the next attempt asks for the rest with a ``Range`` header.

Network problems become one ``AppError`` sentence; nothing is retried behind the person's back.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from resonant_studio.core.errors import AppError

CHUNK = 1 << 16  # small enough that a dropped connection loses little, big enough to be cheap
OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None
    """The LFS sha256 the hub reports; None for a small file kept in git."""
    git_sha1: str | None
    """The git blob id (sha1 of ``blob <size>\\0`` + content) the hub reports."""


@dataclass(frozen=True)
class RemoteSnapshot:
    repo: str
    commit: str
    files: tuple[RemoteFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class DownloadCancelled(AppError):
    """The person pressed Cancel; what was fetched stays in the partial folder for a resume."""


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def offline() -> bool:
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE")
    return value.upper() in OFFLINE_VALUES if value is not None else bool(constants.HF_HUB_OFFLINE)


def _check_online(repo: str) -> None:
    if offline():
        raise AppError(f"HF_HUB_OFFLINE is set, so {repo} cannot be downloaded: unset it, or copy the model folder "
                       "in by hand (see models/README.md)")


def _network_error(exc: Exception, repo: str) -> AppError:
    """One sentence for whatever went wrong between us and the hub."""
    from huggingface_hub import errors

    where = endpoint()
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, errors.GatedRepoError) or status in (401, 403):
        return AppError(f"{where} refused {repo} ({status or 'gated'}): accept its licence on the hub and log in "
                        "with `hf auth login`, or set HF_TOKEN")
    if isinstance(exc, (errors.RepositoryNotFoundError, errors.RevisionNotFoundError, errors.EntryNotFoundError)) \
            or status == 404:
        return AppError(f"{where} has no {repo} (404): check the name, or the mirror set in HF_ENDPOINT")
    if status is not None:
        return AppError(f"{where} answered {status} for {repo}: try again later")
    return AppError(f"cannot reach the Hugging Face hub at {where} ({exc.__class__.__name__}): check the connection, "
                    "set HF_ENDPOINT to a mirror, or copy the model folder in by hand")


def _network_exceptions() -> tuple[type[Exception], ...]:
    import importlib

    from huggingface_hub import errors

    kinds: list[type[Exception]] = [errors.HfHubHTTPError, ConnectionError, TimeoutError]
    for client in ("httpx", "httpx2", "requests"):  # huggingface_hub 0.x: requests, 1.x: httpx, 2.x: httpx2
        try:
            module = importlib.import_module(client)
        except ImportError:
            continue
        kinds.append(module.HTTPError if client != "requests" else module.RequestException)
    return tuple(kinds)


def snapshot(repo: str, revision: str, allow_patterns: tuple[str, ...]) -> RemoteSnapshot:
    """The files of ``repo`` at ``revision`` that match ``allow_patterns``, with the hub's sizes and hashes."""
    from huggingface_hub import HfApi

    _check_online(repo)
    try:
        info = HfApi(endpoint=endpoint()).model_info(repo, revision=revision, files_metadata=True, timeout=20)
    except _network_exceptions() as exc:
        raise _network_error(exc, repo) from None
    files = []
    for s in info.siblings or []:
        if not any(fnmatch.fnmatch(s.rfilename, p) for p in allow_patterns):
            continue
        size = s.lfs.size if s.lfs is not None else s.size
        if size is None:
            raise AppError(f"{endpoint()} gave no size for {repo}/{s.rfilename}: the hub or mirror is not answering "
                           "as the Hugging Face hub does")
        files.append(RemoteFile(s.rfilename, int(size), s.lfs.sha256 if s.lfs is not None else None, s.blob_id))
    if not files:
        raise AppError(f"{repo} holds none of the files this app needs ({', '.join(allow_patterns)})")
    return RemoteSnapshot(repo, info.sha or revision, tuple(sorted(files, key=lambda f: f.path)))


def fetch(repo: str, commit: str, remote: RemoteFile, target: Path, on_bytes: Callable[[int], None],
          cancelled: Callable[[], bool]) -> None:
    """Stream ``remote`` into ``target`` via ``target.incomplete``, resuming what is already there.

    ``on_bytes(n)`` is called per chunk; ``cancelled()`` is checked per chunk and stops the
    download with ``DownloadCancelled``, keeping the bytes so far. The finished file is renamed
    to ``target`` only once it has exactly the size the hub reported.
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session

    _check_online(repo)
    incomplete = target.with_name(target.name + ".incomplete")
    incomplete.parent.mkdir(parents=True, exist_ok=True)
    have = incomplete.stat().st_size if incomplete.is_file() else 0
    if have > remote.size:  # not ours to trust: start again
        incomplete.unlink()
        have = 0
    if have < remote.size:
        headers = build_hf_headers(library_name="resonant-studio")
        if have:
            headers["Range"] = f"bytes={have}-"
        url = hf_hub_url(repo, remote.path, revision=commit, endpoint=endpoint())
        try:
            with get_session().stream("GET", url, headers=headers, timeout=30, follow_redirects=True) as response:
                if response.status_code >= 400:
                    response.read()
                    response.raise_for_status()
                mode = "ab" if have and response.status_code == 206 else "wb"
                if mode == "wb" and have:
                    on_bytes(-have)  # the server ignored the Range: those bytes come again
                with incomplete.open(mode) as out:
                    for chunk in response.iter_bytes(CHUNK):
                        if cancelled():
                            raise DownloadCancelled(f"download of {repo} cancelled: what was fetched is kept, "
                                                    "pull again to resume")
                        out.write(chunk)
                        on_bytes(len(chunk))
        except DownloadCancelled:
            raise
        except OSError as exc:
            if not isinstance(exc, (ConnectionError, TimeoutError)):
                raise AppError(f"cannot write {incomplete} ({exc.strerror or exc}): free some disk space or set "
                               "RESONANT_MODELS_DIR to another disk") from None
            raise _network_error(exc, repo) from None
        except _network_exceptions() as exc:
            if incomplete.is_file() and incomplete.stat().st_size > have:
                raise AppError(f"the connection to {endpoint()} broke while fetching {remote.path} of {repo} "
                               f"({exc.__class__.__name__}): what came is kept, pull again to resume") from None
            raise _network_error(exc, repo) from None
    got = incomplete.stat().st_size
    if got != remote.size:
        raise AppError(f"{remote.path} of {repo} came with {got} bytes, not the {remote.size} the hub reported: "
                       "pull again to resume")
    os.replace(incomplete, target)
