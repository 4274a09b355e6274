"""A minimal OIDC issuer for the demo server's token check: discovery document and JWKS over
HTTP on 127.0.0.1, plus helpers that sign tokens with its keys."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter


class LocalIssuer:
    """Serves `/.well-known/openid-configuration` and `/jwks.json`; counts JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, {"kid": "key-1"}, private=True)]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": issuer.issuer,
                        "jwks_uri": f"{issuer.issuer}/jwks.json",
                    }
                elif self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = {"keys": [key.as_dict(private=False) for key in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add_key(self, kid: str) -> None:
        self.keys.append(RSAKey.generate_key(2048, {"kid": kid}, private=True))

    def sign(
        self,
        audience: str | list[str],
        *,
        kid: str = "key-1",
        expires_in: int = 300,
        issuer: str | None = None,
        key: RSAKey | None = None,
        extra_header: dict[str, Any] | None = None,
    ) -> str:
        """Sign an RS256 token. `extra_header` adds header parameters: unregistered names take
        string values and may be listed in `crit`, which the signer then accepts."""
        claims = {
            "iss": issuer or self.issuer,
            "sub": "user-1",
            "aud": audience,
            "iat": int(time.time()),
            "exp": int(time.time()) + expires_in,
        }
        signing_key = key or next(k for k in self.keys if k.kid == kid)
        header = {"alg": "RS256", "kid": kid, **(extra_header or {})}
        custom = {
            name: HeaderParameter(f"test parameter {name}", "str")
            for name in header
            if name not in JWSRegistry.default_header_registry
        }
        registry = JWSRegistry(header_registry=custom)
        return jwt.encode(header, claims, signing_key, registry=registry)

    def unsigned(self, audience: str) -> str:
        """A token with `alg: none` and no signature."""

        def segment(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        claims = {"iss": self.issuer, "aud": audience, "exp": int(time.time()) + 300}
        return f"{segment({'alg': 'none', 'kid': 'key-1'})}.{segment(claims)}."

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
