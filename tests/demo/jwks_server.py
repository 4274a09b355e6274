"""A minimal OIDC issuer for the demo server's token check: discovery document and JWKS over
HTTP on 127.0.0.1, plus helpers that sign tokens with its keys."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from authlib.jose import JsonWebKey, jwt


class LocalIssuer:
    """Serves `/.well-known/openid-configuration` and `/jwks.json`; counts JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [JsonWebKey.generate_key("RSA", 2048, {"kid": "key-1"}, is_private=True)]
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
                    body = {"keys": [key.as_dict(is_private=False) for key in issuer.keys]}
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
        self.keys.append(JsonWebKey.generate_key("RSA", 2048, {"kid": kid}, is_private=True))

    def sign(
        self,
        audience: str,
        *,
        kid: str = "key-1",
        expires_in: int = 300,
        issuer: str | None = None,
        key: Any = None,
    ) -> str:
        claims = {
            "iss": issuer or self.issuer,
            "sub": "user-1",
            "aud": audience,
            "iat": int(time.time()),
            "exp": int(time.time()) + expires_in,
        }
        signing_key = key or next(k for k in self.keys if k.as_dict()["kid"] == kid)
        token = jwt.encode({"alg": "RS256", "kid": kid}, claims, signing_key)
        return token.decode() if isinstance(token, bytes) else str(token)

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
