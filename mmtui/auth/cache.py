"""The OIDC token cache file: private modes, atomic writes, a cross-process lock.

The file content has the upstream client's format:
`{"issuer": ..., "client_id": ..., "token": {...authlib token...}, "audience": ...}`.
The client secret is never written. Our file lives in mmtui's data dir; the upstream file
(`~/.micromegas/tokens[-profile].json`) is only read, once, when ours does not exist yet.

A cache file owned by another user is rejected, because that user can know or choose its tokens.
Our own file is made private (0600) when group or others can read it.
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

from mmtui.auth.errors import AuthError, TokenCacheRejected
from mmtui.auth.settings import ENV_DATA_DIR, ConnectionSettings

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
        """Hold the cross-process lock; re-entrant within one thread.

        Raises AuthError when the folder cannot be made or the lock cannot be taken.
        """
        self._ensure_dir()
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise AuthError(
                f"timed out after {LOCK_TIMEOUT:.0f} s waiting for the token cache lock "
                f"{self._lock.lock_file}; another mmtui may be stuck"
            ) from exc
        except OSError as exc:
            raise _cache_error("lock", Path(self._lock.lock_file), exc) from exc
        try:
            yield
        finally:
            self._lock.release()

    def load(self) -> dict[str, Any] | None:
        """Return the cached token dict, or None when absent or for another issuer/client.

        Raises TokenCacheRejected when another user owns the file.
        """
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
        """Write the token atomically with mode 0600 (also over an existing looser file).

        Raises AuthError, naming the file, when it cannot be written.
        """
        entry: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "token": dict(token),
        }
        if self.audience:
            entry["audience"] = self.audience
        self._ensure_dir()
        try:
            _write_private(self.path, json.dumps(entry, indent=2))
        except OSError as exc:
            raise _cache_error("write", self.path, exc) from exc
        logger.debug("stored tokens in %s", self.path)

    def delete(self) -> dict[str, Any] | None:
        """Remove our cache file; return its entry (issuer, client_id, token) or None if absent.

        The upstream file is left as it is, and it is not imported again afterwards.
        """
        try:
            entry = self._read(self.path)
        except TokenCacheRejected as exc:
            # Its refresh token may be another user's, so it is deleted without a revocation.
            logger.warning("%s", exc)
            entry = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _cache_error("delete", self.path, exc) from exc
        logger.info("deleted token cache %s", self.path)
        return entry if entry is not None else {}

    def skip_upstream_import(self) -> None:
        """Never import the upstream cache into this one (after a logout)."""
        self._ensure_dir()
        marker = self._import_marker()
        try:
            _write_private(marker, "logout")
        except OSError as exc:
            raise _cache_error("write", marker, exc) from exc

    def _import_marker(self) -> Path:
        return self.path.with_name(self.path.name + ".imported")

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            mode = stat.S_IMODE(directory.stat().st_mode)
            if mode & 0o077:
                directory.chmod(DIR_MODE)
        except OSError as exc:
            raise _cache_error("create the folder of", self.path, exc) from exc

    def _read(self, path: Path) -> dict[str, Any] | None:
        """Return the JSON object in `path`, or None when it is absent, unreadable or invalid.

        Raises TokenCacheRejected when another user owns our cache file. Our file is made 0600
        when group or others can read it. The upstream file is never changed, and when another
        user owns it, it is ignored.
        """
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read token cache %s: %s", path, exc)
            return None
        with stream:
            try:
                info = os.fstat(stream.fileno())
                if not self._accept_file(path, info, stream.fileno()):
                    return None
                data = stream.read()
            except OSError as exc:
                logger.warning("cannot read token cache %s: %s", path, exc)
                return None
        try:
            # UnicodeDecodeError is a ValueError: a file that is not UTF-8 is invalid too.
            entry = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            # json raises RecursionError for arrays or objects nested too deeply.
            logger.warning("ignoring invalid token cache %s: %s", path, _first_line(exc))
            return None
        return entry if isinstance(entry, dict) else None

    def _accept_file(self, path: Path, info: os.stat_result, descriptor: int) -> bool:
        """Check the owner and mode of an open cache file.

        Returns False for an upstream file that another user owns, which is then ignored.
        """
        user = _current_user()
        if user is not None and info.st_uid != user:
            if path != self.path:
                logger.warning(
                    "not importing token cache %s: it is owned by user %d, not by user %d",
                    path,
                    info.st_uid,
                    user,
                )
                return False
            raise TokenCacheRejected(
                f"the token cache {path} is owned by user {info.st_uid}, not by you (user "
                f"{user}), so its tokens were not used. Log in again to replace it."
            )
        mode = stat.S_IMODE(info.st_mode)
        if path == self.path and mode & 0o077:
            try:
                os.fchmod(descriptor, FILE_MODE)
            except OSError as exc:
                logger.warning(
                    "cannot make token cache %s private (mode %04o): %s", path, mode, exc
                )
            else:
                logger.warning(
                    "token cache %s had mode %04o, open to other users: changed it to %04o",
                    path,
                    mode,
                    FILE_MODE,
                )
        return True

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


def _current_user() -> int | None:
    """Return the effective user id, or None where the platform has no user ids (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


def _cache_error(verb: str, path: Path, error: OSError) -> AuthError:
    """Return the AuthError for a token cache file that cannot be used, with what to do."""
    reason = error.strerror or str(error)
    return AuthError(
        f"cannot {verb} the token cache {path}: {reason}. Fix that path, or set "
        f"{ENV_DATA_DIR} to another folder, then log in again"
    )


def _first_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0]


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
