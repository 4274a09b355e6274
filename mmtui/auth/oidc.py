"""OIDC helpers shared by the providers and the login flows: discovery, sessions, JWT claims."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws
from joserfc.errors import JoseError

from mmtui.auth.errors import AuthError, LoginRequired
from mmtui.auth.settings import ConnectionSettings

logger = logging.getLogger(__name__)

#: Timeout in seconds of each HTTP request to the IdP.
HTTP_TIMEOUT = 10.0

#: A JWS in compact serialization: three base64url segments without padding (RFC 7515).
_COMPACT_JWS_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

_discovery_lock = threading.Lock()
_discovery_cache: dict[str, dict[str, Any]] = {}


class DiscoveryError(AuthError):
    """The IdP's discovery document could not be fetched or is invalid."""


def fetch_discovery(issuer: str, *, refresh: bool = False) -> dict[str, Any]:
    """Fetch `{issuer}/.well-known/openid-configuration`, cached per issuer for the process."""
    key = issuer.rstrip("/")
    with _discovery_lock:
        if not refresh and key in _discovery_cache:
            return _discovery_cache[key]

    url = f"{key}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(
            f"failed to fetch the OIDC discovery document {url}: {exc}. Check the issuer URL "
            "and that the identity provider is reachable"
        ) from exc

    if not isinstance(document, dict) or "token_endpoint" not in document:
        raise DiscoveryError(f"invalid OIDC discovery document at {url}: no token_endpoint")
    advertised = str(document.get("issuer", "")).rstrip("/")
    if advertised != key:
        raise DiscoveryError(
            f"the discovery document at {url} names issuer {advertised!r}, expected {key!r}"
        )

    with _discovery_lock:
        _discovery_cache[key] = document
    return document


def create_session(
    settings: ConnectionSettings, *, redirect_uri: str | None = None, with_secret: bool = False
) -> OAuth2Session:
    """Create an authlib OAuth2Session for the settings' client (public unless `with_secret`)."""
    secret = settings.client_secret if with_secret else None
    session = OAuth2Session(
        client_id=settings.client_id,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        scope=settings.scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=HTTP_TIMEOUT,
    )
    return session


def audience_params(settings: ConnectionSettings) -> dict[str, str]:
    """Return the extra `audience` request parameter some IdPs (Auth0) require."""
    return {"audience": settings.audience} if settings.audience else {}


def unverified_claims(token: str) -> dict[str, Any]:
    """Return the claims of a signed JWT without checking the signature.

    The client reads `exp` to decide when to refresh; the server checks the signature.
    Raises LoginRequired for a malformed or unsigned (`alg: none`) token. A token with any
    other character, such as a line break, is malformed: gRPC would abort on it in a header.
    """
    if not _COMPACT_JWS_RE.fullmatch(token):
        raise LoginRequired(
            "the ID token is not a valid JWT: expected three base64url parts separated by "
            "dots; log in again"
        )
    try:
        compact = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise LoginRequired(f"the ID token is not a valid JWT: {exc}") from exc
    algorithm = str(compact.protected.get("alg", "")).lower()
    if algorithm in ("", "none"):
        raise LoginRequired("the ID token is unsigned (alg none); log in again")
    try:
        claims = json.loads(compact.payload)
    except (ValueError, RecursionError) as exc:
        # json raises RecursionError for arrays or objects nested too deeply.
        raise LoginRequired(f"the ID token payload is not JSON: {exc}") from exc
    if not isinstance(claims, dict):
        raise LoginRequired("the ID token payload is not a JSON object")
    return claims


def id_token_times(token: dict[str, Any]) -> tuple[float, float | None]:
    """Return the `exp` claim (Unix seconds) of the token's ID token and its lifetime.

    The lifetime is `exp - iat` in seconds, or None when `iat` is missing, not a number or not
    before `exp`. Raises LoginRequired when the ID token or its `exp` claim is unusable.
    """
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise LoginRequired("no ID token in the cached tokens; log in again")
    claims = unverified_claims(id_token)
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise LoginRequired("the ID token has no numeric exp claim; log in again")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or iat >= exp:
        return float(exp), None
    return float(exp), float(exp - iat)
