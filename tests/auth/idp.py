"""A local OIDC identity provider for the tests, built on authlib's server side (Flask).

It serves discovery, JWKS, the authorization code grant with required PKCE (auto-approved for
the default user, so a test plays the browser by following the redirect), the device
authorization grant, refresh with rotation and reuse detection, client credentials and
revocation. ID tokens are RS256 JWTs. Test hooks approve or deny device codes, revoke a user,
change token lifetimes and count refreshes. Everything is in memory on 127.0.0.1.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

PUBLIC_CLIENT_ID = "mmtui-test"
SERVICE_CLIENT_ID = "mmtui-service"
SERVICE_CLIENT_SECRET = "service-secret-" + "x" * 16
DEFAULT_SUB = "user-alice"
DEFAULT_EMAIL = "alice@example.com"
SCOPES = ("openid", "email", "profile", "offline_access")


_key_lock = threading.Lock()
_keys: list[RSAKey] = []


def _signing_key() -> RSAKey:
    """Return the process's RSA signing key, generated on first use (it takes a while)."""
    with _key_lock:
        if not _keys:
            _keys.append(RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"}))
        return _keys[0]


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str | None
    grant_types: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri.startswith("http://localhost:") and redirect_uri.endswith("/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):
    client_id: str
    sub: str | None
    scope: str
    access_token: str
    refresh_token: str | None
    expires_at: float
    #: Tokens that descend from one login share a family; reuse revokes the whole family.
    family: str
    revoked: bool = False
    #: Set when a rotation replaced this refresh token.
    rotated: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return self.expires_at < time.time()

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str | None:
        return self.sub

    def get_client(self) -> ClientMixin:
        raise NotImplementedError


class TestIdP:
    """State and hooks of one running test IdP."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, device_interval: int = 1, rotate_refresh_tokens: bool = True) -> None:
        self.lock = threading.RLock()
        self.key = _signing_key()
        self.key_rotations = 0
        self.clients = {
            PUBLIC_CLIENT_ID: Client(
                PUBLIC_CLIENT_ID,
                None,
                ("authorization_code", "refresh_token", DeviceCodeGrant.GRANT_TYPE),
            ),
            SERVICE_CLIENT_ID: Client(
                SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, ("client_credentials",)
            ),
        }
        self.users = {DEFAULT_SUB: DEFAULT_EMAIL}
        self.codes: dict[str, AuthCode] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.device_credentials: dict[str, DeviceCredentialDict] = {}
        self.device_grants: dict[str, tuple[str, bool]] = {}
        self.issued: list[str] = []
        self.issuer = ""

        # Settings the tests change.
        self.device_interval = device_interval
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.id_token_lifetime = 3600
        #: Seconds to back-date `iat` (and so `exp`) of new ID tokens, as for a cached token.
        self.id_token_issued_ago = 0
        self.access_token_lifetime = 3600
        self.omit_id_token_on_refresh = False
        self.refresh_delay = 0.0
        #: Set when a refresh request reaches the IdP.
        self.refresh_started = threading.Event()
        #: When set to an Event, refresh requests wait for it before the IdP responds.
        self.refresh_gate: threading.Event | None = None
        self.slow_down_responses = 0

        # Counters the tests read.
        self.refresh_count = 0
        self.reuse_detected = 0
        self.device_polls = 0

    # ---- hooks ----------------------------------------------------------------------------

    def approve_device(self, user_code: str, sub: str = DEFAULT_SUB) -> None:
        with self.lock:
            self.device_grants[user_code] = (sub, True)

    def deny_device(self, user_code: str) -> None:
        with self.lock:
            self.device_grants[user_code] = (DEFAULT_SUB, False)

    def expire_device(self, user_code: str) -> None:
        with self.lock:
            for credential in self.device_credentials.values():
                if credential["user_code"] == user_code:
                    credential["expires_at"] = time.time() - 1

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [
                c["user_code"]
                for c in self.device_credentials.values()
                if c["user_code"] not in self.device_grants
            ]

    def revoke_user(self, sub: str) -> None:
        with self.lock:
            for token in self.by_access.values():
                if token.sub == sub:
                    token.revoked = True

    def rotate_signing_key(self) -> None:
        """Sign new ID tokens with a new key under a new key id, and publish only that key."""
        with self.lock:
            self.key_rotations += 1
            kid = f"test-key-{self.key_rotations + 1}"
            self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})

    def issued_secrets(self) -> list[str]:
        """Every access, refresh and ID token issued so far (for leak checks)."""
        with self.lock:
            return list(self.issued)

    def public_jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def public_key_pem(self) -> bytes:
        return self.key.as_pem(private=False)

    # ---- token generation ------------------------------------------------------------------

    def make_id_token(self, client_id: str, sub: str) -> str:
        issued_at = int(time.time()) - self.id_token_issued_ago
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "sub": sub,
            "email": self.users.get(sub, ""),
            "iat": issued_at,
            "exp": issued_at + self.id_token_lifetime,
        }
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def generate(
        self,
        grant_type: str,
        client: Client,
        user: str | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        bearer = BearerTokenGenerator(
            lambda **_: secrets.token_urlsafe(32),
            lambda **_: secrets.token_urlsafe(40),
            lambda client, grant_type: self.access_token_lifetime,
        )
        token: dict[str, Any] = bearer.generate(
            grant_type,
            client,
            user=user,
            scope=scope,
            include_refresh_token=include_refresh_token,
        )
        omit = grant_type == "refresh_token" and self.omit_id_token_on_refresh
        if user is not None and "openid" in (scope or "").split() and not omit:
            token["id_token"] = self.make_id_token(client.client_id, user)
        with self.lock:
            self.issued.extend(
                str(token[k]) for k in ("access_token", "refresh_token", "id_token") if k in token
            )
        return token

    def save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        previous = getattr(oauth_request, "refresh_token", None)
        family = previous.family if isinstance(previous, Token) else secrets.token_hex(8)
        record = Token(
            client_id=oauth_request.client.get_client_id(),
            sub=oauth_request.user,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            expires_at=time.time() + token.get("expires_in", 3600),
            family=family,
        )
        with self.lock:
            self.by_access[record.access_token] = record
            if record.refresh_token:
                self.by_refresh[record.refresh_token] = record

    def revoke_family(self, family: str) -> None:
        with self.lock:
            for token in self.by_access.values():
                if token.family == family:
                    token.revoked = True


def _build_app(idp: TestIdP) -> Flask:
    app = Flask("mmtui-test-idp")
    server = AuthorizationServer(app, query_client=idp.clients.get, save_token=idp.save_token)
    server.register_token_generator("default", idp.generate)

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

        def save_authorization_code(self, code: str, oauth_request: Any) -> None:
            data = oauth_request.payload.data
            with idp.lock:
                idp.codes[code] = AuthCode(
                    code=code,
                    client_id=oauth_request.client.get_client_id(),
                    redirect_uri=oauth_request.payload.redirect_uri,
                    scope=oauth_request.payload.scope,
                    sub=oauth_request.user,
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    expires_at=time.time() + 300,
                )

        def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
            with idp.lock:
                item = idp.codes.get(code)
            if item and item.client_id == client.client_id and item.expires_at > time.time():
                return item
            return None

        def delete_authorization_code(self, authorization_code: AuthCode) -> None:
            with idp.lock:
                idp.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: AuthCode) -> str:
            return authorization_code.sub

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.INCLUDE_NEW_REFRESH_TOKEN = idp.rotate_refresh_tokens

        def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
            idp.refresh_started.set()
            if idp.refresh_gate is not None:
                idp.refresh_gate.wait(30)
            if idp.refresh_delay:
                time.sleep(idp.refresh_delay)  # widens the window for concurrent refreshes
            with idp.lock:
                idp.refresh_count += 1
                token = idp.by_refresh.get(refresh_token)
                if token is None or token.revoked:
                    return None
                if token.rotated:
                    # A rotated refresh token came back: treat it as stolen.
                    idp.reuse_detected += 1
                    idp.revoke_family(token.family)
                    return None
                return token

        def authenticate_user(self, refresh_token: Token) -> str | None:
            return refresh_token.sub

        def revoke_old_credential(self, refresh_token: Token) -> None:
            if idp.rotate_refresh_tokens:
                with idp.lock:
                    refresh_token.rotated = True

    class DeviceGrant(DeviceCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

        def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
            with idp.lock:
                idp.device_polls += 1
                return idp.device_credentials.get(device_code)

        def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
            with idp.lock:
                return idp.device_grants.get(user_code)

        def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
            with idp.lock:
                now = time.time()
                last = credential.get("last_poll", 0.0)
                credential["last_poll"] = now
                if idp.slow_down_responses > 0:
                    idp.slow_down_responses -= 1
                    return True
                # Polling faster than half the interval breaks the client's contract.
                return bool(now - last < idp.device_interval / 2)

    class DeviceEndpoint(DeviceAuthorizationEndpoint):
        CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["none"]
        INTERVAL = idp.device_interval
        EXPIRES_IN = 600

        def get_verification_uri(self) -> str:
            return idp.issuer + "/device"

        def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
            credential = DeviceCredentialDict(
                client_id=client_id,
                scope=scope,
                user_code=data["user_code"],
                device_code=data["device_code"],
                expires_at=time.time() + data["expires_in"],
            )
            with idp.lock:
                idp.device_credentials[data["device_code"]] = credential

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS: ClassVar[list[str]] = [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ]

        def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
            with idp.lock:
                return idp.by_refresh.get(token_string) or idp.by_access.get(token_string)

        def revoke_token(self, token: Token, oauth_request: Any) -> None:
            idp.revoke_family(token.family)

    class ServiceGrant(grants.ClientCredentialsGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
            "client_secret_basic",
            "client_secret_post",
        ]

    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshGrant)
    server.register_grant(DeviceGrant)
    server.register_grant(ServiceGrant)
    server.register_endpoint(DeviceEndpoint)
    server.register_endpoint(Revocation)

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        base = idp.issuer
        return jsonify(
            issuer=base,
            authorization_endpoint=base + "/authorize",
            token_endpoint=base + "/token",
            device_authorization_endpoint=base + "/device_authorization",
            revocation_endpoint=base + "/revoke",
            jwks_uri=base + "/jwks",
            response_types_supported=["code"],
            grant_types_supported=[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                DeviceCodeGrant.GRANT_TYPE,
            ],
            code_challenge_methods_supported=["S256"],
            id_token_signing_alg_values_supported=["RS256"],
            scopes_supported=list(SCOPES),
            subject_types_supported=["public"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(idp.public_jwks())

    @app.get("/authorize")
    def authorize() -> Any:
        # Auto-approve as the default user: the test follows the redirect like a browser.
        try:
            grant = server.get_consent_grant(end_user=DEFAULT_SUB)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant=grant, grant_user=DEFAULT_SUB)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.post("/device_authorization")
    def device_authorization() -> Any:
        return server.create_endpoint_response(DeviceEndpoint.ENDPOINT_NAME)

    @app.get("/device")
    def device_page() -> Any:
        return "Enter the code shown in the terminal.", 200, {"Content-Type": "text/plain"}

    @app.post("/revoke")
    def revoke() -> Any:
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.get("/userinfo")
    def userinfo() -> Any:
        header = request.headers.get("Authorization", "")
        with idp.lock:
            record = idp.by_access.get(header.removeprefix("Bearer "))
        if record is None or record.revoked or record.is_expired():
            return jsonify(error="invalid_token"), 401
        return jsonify(sub=record.sub, email=idp.users.get(record.sub or "", ""))

    return app


class TestIdPHandle(TestIdP):
    """A running test IdP: `.issuer`, the hooks of TestIdP, and `.stop()`."""

    __test__ = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = make_server("127.0.0.1", 0, _build_app(self), threaded=True)
        self.port = self._server.server_port
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="test-idp",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def start_test_idp(**kwargs: Any) -> TestIdPHandle:
    """Start a test IdP on a free 127.0.0.1 port; returns when it accepts connections."""
    return TestIdPHandle(**kwargs)
