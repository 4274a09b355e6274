"""Bearer-token check of the demo server: JWTs signed by an OIDC issuer, verified with its JWKS.

The issuer's discovery document (`/.well-known/openid-configuration`) names the JWKS URL. Keys
are fetched on first use and fetched again when a token names a key id the cached set lacks.
A token is accepted when its signature verifies with an asymmetric algorithm, `iss` is the
issuer, `aud` contains the audience and `exp` lies in the future.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

logger = logging.getLogger(__name__)

#: Signature algorithms accepted; "none" and the HMAC family are rejected.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
#: Minimum seconds between two JWKS refreshes triggered by an unknown key id.
JWKS_REFRESH_INTERVAL = 10.0
#: Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
LEEWAY_SECONDS = 30


class TokenRejected(Exception):
    """The bearer token failed verification. The message gives the reason and never the token."""


class JwtVerifier:
    """Verify ID tokens of one issuer for one audience. Thread-safe."""

    def __init__(self, issuer: str, audience: str, http_timeout: float = 5.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.http_timeout = http_timeout
        self.refresh_interval = JWKS_REFRESH_INTERVAL
        # RFC 7515 section 4 requires a recipient to ignore header parameters it does not
        # understand unless "crit" lists them, so joserfc checks only "crit" here.
        self._registry = JWSRegistry(algorithms=ALLOWED_ALGORITHMS, strict_check_header=False)
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def _get_json(self, url: str) -> Any:
        with urllib.request.urlopen(url, timeout=self.http_timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def _fetch_keys(self) -> KeySet:
        discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        discovery = self._get_json(discovery_url)
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str):
            raise TokenRejected(f"discovery document at {discovery_url} has no jwks_uri")

        jwks = self._get_json(jwks_uri)
        key_list = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(key_list, list):
            raise TokenRejected(f"invalid JWKS at {jwks_uri}: no 'keys' list")
        try:
            keys = KeySet.import_key_set({"keys": key_list})
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise TokenRejected(f"invalid JWKS at {jwks_uri}: {error}") from error
        logger.info("fetched %d signing keys from %s", len(keys.keys), jwks_uri)
        return keys

    def _key_set(self, refresh: bool) -> KeySet:
        with self._lock:
            stale = refresh and time.monotonic() - self._fetched_at >= self.refresh_interval
            if self._keys is None or stale:
                try:
                    self._keys = self._fetch_keys()
                except OSError as error:
                    raise TokenRejected(
                        f"cannot fetch the issuer's signing keys: {error}"
                    ) from error
                except ValueError as error:
                    # json.JSONDecodeError and UnicodeDecodeError are both ValueError.
                    raise TokenRejected(
                        f"invalid discovery document or JWKS from {self.issuer}: {error}"
                    ) from error
                self._fetched_at = time.monotonic()
            return self._keys

    def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims. Raises TokenRejected when the token is not acceptable."""
        claims_registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        last_error: InvalidKeyIdError | None = None
        for refresh in (False, True):
            try:
                decoded = jwt.decode(token, self._key_set(refresh), registry=self._registry)
                claims_registry.validate(decoded.claims)
                return decoded.claims
            except InvalidKeyIdError as error:
                # No key of the cached set has the token's kid: the issuer may have rotated keys.
                last_error = error
            except JoseError as error:
                raise TokenRejected(_describe(error)) from error
        raise TokenRejected(f"no signing key of {self.issuer} matches the token ({last_error})")


def _describe(error: JoseError) -> str:
    if error.error == "unsupported_algorithm":
        return f"unsupported_algorithm: accepted algorithms are {', '.join(ALLOWED_ALGORITHMS)}"
    if error.description:
        return f"{error.error}: {error.description}"
    return error.error
