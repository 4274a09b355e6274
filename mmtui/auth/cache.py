"""The OIDC token cache file: private modes, atomic writes, a cross-process lock.

The file content has the upstream client's format:
`{"issuer": ..., "client_id": ..., "token": {...authlib token...}, "audience": ...}`.
The client secret is never written. Our file lives in mmtui's data dir; the upstream file
(`~/.micromegas/tokens[-profile].json`) is only read, once, when ours does not exist yet.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from mmtui.auth.errors import AuthError
from mmtui.auth.settings import ConnectionSettings

logger = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
#: Seconds to wait for another process that holds the cache lock (it may be refreshing).
LOCK_TIMEOUT = 60.0


class TokenCache:
    """One profile's token cache file and its lock file."""

    def __init__(
        self,
        path: Path,
        *,
        issuer: str | None,
        client_id: str | None,
        audience: str | None = None,
        upstream_path: Path | None = None,
    ) -> None:
        self.path = path
        self.issuer = issuer
        self.client_id = client_id
        self.audience = audience
        self.upstream_path = upstream_path
        self._lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT, mode=FILE_MODE)

    @classmethod
    def for_settings(cls, settings: ConnectionSettings) -> TokenCache:
        return cls(
            settings.token_cache_path,
            issuer=settings.issuer,
            client_id=settings.client_id,
            audience=settings.audience,
            upstream_path=settings.upstream_token_path,
        )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock; re-entrant within one thread."""
        self._ensure_dir()
        try:
            with self._lock:
                yield
        except Timeout as exc:
            raise AuthError(
                f"timed out after {LOCK_TIMEOUT:.0f} s waiting for the token cache lock "
                f"{self._lock.lock_file}; another mmtui may be stuck"
            ) from exc

    def load(self) -> dict[str, Any] | None:
        """Return the cached token dict, or None when absent or for another issuer/client."""
        entry = self._read(self.path)
        if entry is None and not self.path.exists():
            entry = self._import_upstream()
        if entry is None:
            return None
        if entry.get("issuer") != self.issuer or entry.get("client_id") != self.client_id:
            logger.info(
                "ignoring token cache %s: it belongs to issuer %s client %s",
                self.path,
                entry.get("issuer"),
                entry.get("client_id"),
            )
            return None
        token = entry.get("token")
        return dict(token) if isinstance(token, dict) else None

    def store(self, token: dict[str, Any]) -> None:
        """Write the token atomically with mode 0600 (also over an existing looser file)."""
        entry: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "token": dict(token),
        }
        if self.audience:
            entry["audience"] = self.audience
        self._ensure_dir()
        _write_private(self.path, json.dumps(entry, indent=2))
        logger.debug("stored tokens in %s", self.path)

    def delete(self) -> dict[str, Any] | None:
        """Remove our cache file; return its entry (issuer, client_id, token) or None if absent.

        The upstream file is left as it is, and it is not imported again afterwards.
        """
        entry = self._read(self.path)
        try:
            self.path.unlink()
        except FileNotFoundError:
            return None
        logger.info("deleted token cache %s", self.path)
        return entry if entry is not None else {}

    def skip_upstream_import(self) -> None:
        """Never import the upstream cache into this one (after a logout)."""
        self._ensure_dir()
        _write_private(self._import_marker(), "logout")

    def _import_marker(self) -> Path:
        return self.path.with_name(self.path.name + ".imported")

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & 0o077:
            directory.chmod(DIR_MODE)

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read token cache %s: %s", path, exc)
            return None
        try:
            # UnicodeDecodeError is a ValueError: a file that is not UTF-8 is invalid too.
            entry = json.loads(data.decode("utf-8"))
        except ValueError as exc:
            logger.warning("ignoring invalid token cache %s: %s", path, exc)
            return None
        return entry if isinstance(entry, dict) else None

    def _import_upstream(self) -> dict[str, Any] | None:
        """Copy the upstream client's cache into ours once; never write the upstream file."""
        if self.upstream_path is None:
            return None
        marker = self._import_marker()
        if marker.exists():
            return None
        entry = self._read(self.upstream_path)
        if entry is None:
            return None
        token = entry.get("token")
        if (
            entry.get("issuer") != self.issuer
            or entry.get("client_id") != self.client_id
            or not isinstance(token, dict)
        ):
            logger.info("not importing %s: another issuer or client", self.upstream_path)
            return None
        self.store(token)
        self._ensure_dir()
        _write_private(marker, str(self.upstream_path))
        logger.info("imported tokens from %s into %s", self.upstream_path, self.path)
        return self._read(self.path)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a new 0600 temp file beside `path`, then rename it over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
