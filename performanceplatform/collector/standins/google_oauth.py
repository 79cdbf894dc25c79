"""A stand-in for Google's OAuth 2.0 authorization server: the token endpoint and the consent page.

Endpoints:
- `POST /token` (form-encoded, client credentials in the body or as HTTP basic auth) with the
  grants pp-collector uses: `refresh_token` (checks the client ID, secret and refresh token it was
  configured with, and that any `scope` asked for was granted), `urn:ietf:params:oauth:grant-type:
  jwt-bearer` (decodes the RS256 assertion, checks `iss`, `aud`, `scope`, `iat`/`exp`, and the
  signature when the service account was registered with a public key) and `authorization_code`
  (with PKCE, as google-auth-oauthlib sends it). Each success issues a new access token.
- `GET /auth`: the consent page, approved at once. It redirects to the loopback `redirect_uri`
  with `state`, `code` and `scope`, as Google does, so `tools/generate-ga-credentials.py` can be
  tested without a browser. `deny_consent = True` makes it answer `error=access_denied` instead.
- `GET /v1/userinfo`: a bearer-protected endpoint, so tests can drive credentials through an
  authorised transport (google-auth-httplib2) and see the 401 Google APIs give for a bad token.

Errors use Google's OAuth body `{"error": "invalid_grant", "error_description": "..."}` (400; 401
for `invalid_client`), injected faults included (`fail_next(503)`, `fail_next(429)`).

Other stand-ins check bearer tokens with `is_valid_access_token` (or `check_bearer`, which builds
Google's 401/403 API error response).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from performanceplatform.collector.standins.server import (
    Fault,
    RecordedRequest,
    Response,
    StandIn,
    route,
)

ANALYTICS_READONLY = "https://www.googleapis.com/auth/analytics.readonly"
ANALYTICS = "https://www.googleapis.com/auth/analytics"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audiences Google accepts in a JWT-bearer assertion; google-auth always sends the first,
# whatever token URI it posts to.
GOOGLE_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
)
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
DEFAULT_SUBJECT = "analyst@example.com"


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client registered with the stand-in (what a client secrets file describes)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass
class IssuedToken:
    """An access token the stand-in handed out."""

    token: str = field(repr=False)
    subject: str
    scopes: frozenset[str]
    expires_at: float
    grant: str
    client_id: str | None = None


@dataclass
class _RefreshGrant:
    client_id: str
    scopes: frozenset[str]
    subject: str
    revoked: bool = False


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    subject: str
    challenge: str | None
    challenge_method: str | None


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return Response(self.status, {"error": self.error, "error_description": self.description})


class GoogleOAuthStandIn(StandIn):
    """Google's token endpoint and consent page, for the clients and keys a test registers."""

    name = "google-oauth"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token_lifetime: int = 3600):
        super().__init__(host, port)
        self.token_lifetime = token_lifetime
        self.clients: dict[str, OAuthClient] = {}
        self.service_accounts: dict[str, rsa.RSAPublicKey | None] = {}
        self.issued: dict[str, IssuedToken] = {}
        self.deny_consent = False
        # Grant type of every access token issued, in order ("refresh_token", "jwt-bearer", ...).
        self.grants: list[str] = []
        self._refresh_grants: dict[str, _RefreshGrant] = {}
        self._codes: dict[str, _Code] = {}

    # URLs -----------------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth"

    @property
    def userinfo_url(self) -> str:
        return f"{self.url}/v1/userinfo"

    # Configuration --------------------------------------------------------------------------------

    def add_client(self, client_id: str | None = None, client_secret: str | None = None) -> OAuthClient:
        client = OAuthClient(
            client_id or f"{secrets.token_hex(6)}-standin.apps.googleusercontent.com",
            client_secret or f"GOCSPX-{secrets.token_urlsafe(18)}",
        )
        with self._lock:
            self.clients[client.client_id] = client
        return client

    def client_secrets(self, client: OAuthClient, kind: str = "installed") -> dict[str, Any]:
        """A client secrets file's contents for `client`, naming this server's endpoints."""
        return {
            kind: {
                "client_id": client.client_id,
                "project_id": "pp-collector-stand-in",
                "auth_uri": self.auth_url,
                "token_uri": self.token_url,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_secret": client.client_secret,
                "redirect_uris": ["http://localhost"],
            }
        }

    def add_refresh_token(
        self,
        client: OAuthClient,
        *,
        refresh_token: str | None = None,
        scopes: Iterable[str] = (ANALYTICS_READONLY,),
        subject: str = DEFAULT_SUBJECT,
    ) -> str:
        """Accept `refresh_token` (a new one if not given) from `client`, granting `scopes`."""
        token = refresh_token or f"1//standin-{secrets.token_urlsafe(32)}"
        with self._lock:
            self._refresh_grants[token] = _RefreshGrant(client.client_id, frozenset(scopes), subject)
        return token

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self._lock:
            self._refresh_grants[refresh_token].revoked = True

    def add_service_account(self, email: str, public_key: rsa.RSAPublicKey | bytes | None = None) -> None:
        """Accept JWT-bearer grants from `email`, signed by `public_key`'s private key if given."""
        if isinstance(public_key, bytes):
            loaded = serialization.load_pem_public_key(public_key)
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise TypeError("expected an RSA public key")
            public_key = loaded
        with self._lock:
            self.service_accounts[email] = public_key

    # Tokens ---------------------------------------------------------------------------------------

    def issue_access_token(
        self,
        *,
        subject: str = DEFAULT_SUBJECT,
        scopes: Iterable[str] = (ANALYTICS_READONLY,),
        grant: str = "manual",
        client_id: str | None = None,
        lifetime: int | None = None,
    ) -> str:
        """A new access token, as a grant would issue; tests may also mint one directly."""
        token = f"ya29.standin-{secrets.token_urlsafe(32)}"
        lifetime = self.token_lifetime if lifetime is None else lifetime
        with self._lock:
            self.issued[token] = IssuedToken(
                token, subject, frozenset(scopes), time.time() + lifetime, grant, client_id
            )
            self.grants.append(grant)
        return token

    def is_valid_access_token(self, token: str, scope: str | None = None) -> bool:
        """Whether this server issued `token`, it has not expired, and it carries `scope` if given.

        The full `analytics` scope covers `analytics.readonly`, as it does at Google.
        """
        with self._lock:
            issued = self.issued.get(token)
        if issued is None or time.time() >= issued.expires_at:
            return False
        if scope is None or scope in issued.scopes:
            return True
        return scope == ANALYTICS_READONLY and ANALYTICS in issued.scopes

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired, as if an hour had passed at Google."""
        with self._lock:
            for issued in self.issued.values():
                issued.expires_at = 0.0

    def check_bearer(self, request: RecordedRequest, scope: str | None = None) -> Response | None:
        """None if `request` carries a valid bearer token (with `scope`); else Google's API error."""
        authorization = request.header("Authorization") or ""
        token = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
        if not token or not self.is_valid_access_token(token):
            return google_api_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.",
                reason="authError",
                status="UNAUTHENTICATED",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        if scope is not None and not self.is_valid_access_token(token, scope):
            return google_api_error(
                403,
                "Request had insufficient authentication scopes.",
                reason="insufficientPermissions",
                status="PERMISSION_DENIED",
            )
        return None

    def count(self, grant: str) -> int:
        """How many access tokens were issued by `grant` ("refresh_token", "jwt-bearer", ...)."""
        with self._lock:
            return self.grants.count(grant)

    @property
    def refreshes(self) -> int:
        return self.count("refresh_token")

    # Endpoints ------------------------------------------------------------------------------------

    @route("POST", r"/token")
    def token(self, request: RecordedRequest) -> Response:
        form = _form(request)
        grant_type = form.get("grant_type", "")
        try:
            if grant_type == "refresh_token":
                return self._refresh_token_grant(request, form)
            if grant_type == JWT_BEARER:
                return self._jwt_bearer_grant(form)
            if grant_type == "authorization_code":
                return self._authorization_code_grant(request, form)
            if not grant_type:
                raise _OAuthError(400, "unsupported_grant_type", "Invalid grant_type: ")
            raise _OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        except _OAuthError as error:
            return error.response()

    @route("GET", r"/auth")
    def consent(self, request: RecordedRequest) -> Response:
        client_id = request.param("client_id") or ""
        redirect_uri = request.param("redirect_uri") or ""
        with self._lock:
            client = self.clients.get(client_id)
        if client is None:
            return Response(401, "Error 401: invalid_client\nThe OAuth client was not found.")
        if not _is_loopback_redirect(redirect_uri):
            return Response(
                400,
                "Error 400: redirect_uri_mismatch\nThis stand-in only redirects to http://localhost or "
                f"http://127.0.0.1 on any port, as Google does for desktop clients; got {redirect_uri!r}.",
            )
        if request.param("response_type") != "code":
            return Response(400, "Error 400: unsupported_response_type")
        scopes = frozenset((request.param("scope") or "").split())
        if not scopes:
            return Response(400, "Error 400: invalid_request\nMissing required parameter: scope")
        state = request.param("state")
        if self.deny_consent:
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        challenge_method = request.param("code_challenge_method")
        if challenge_method not in (None, "plain", "S256"):
            return Response(400, "Error 400: invalid_request\nInvalid code_challenge_method")
        code = f"4/standin-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._codes[code] = _Code(
                client_id,
                redirect_uri,
                scopes,
                DEFAULT_SUBJECT,
                request.param("code_challenge"),
                challenge_method,
            )
        return _redirect(redirect_uri, {"state": state, "code": code, "scope": " ".join(sorted(scopes))})

    @route("GET", r"/v1/userinfo")
    def userinfo(self, request: RecordedRequest) -> Response:
        refusal = self.check_bearer(request)
        if refusal is not None:
            return refusal
        token = (request.header("Authorization") or "")[7:].strip()
        with self._lock:
            issued = self.issued[token]
        return Response(200, {"sub": issued.subject, "email": issued.subject})

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        if fault.body is not None:
            return super().fault_response(fault, request)
        phrase = HTTPStatus(fault.status).phrase if fault.status in HTTPStatus._value2member_map_ else ""
        error = (
            "rate_limit_exceeded"
            if fault.status == 429
            else "server_error"
            if fault.status >= 500
            else "invalid_request"
        )
        body = {"error": error, "error_description": f"injected {fault.status} {phrase}".strip()}
        return Response(fault.status, body, dict(fault.headers))

    # Grants ---------------------------------------------------------------------------------------

    def _authenticate_client(self, request: RecordedRequest, form: dict[str, str]) -> OAuthClient:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        authorization = request.header("Authorization") or ""
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _OAuthError(401, "invalid_client", "Unauthorized") from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, client_secret = basic_id, basic_secret
        if not client_id:
            raise _OAuthError(400, "invalid_request", "Could not determine client ID from request.")
        with self._lock:
            client = self.clients.get(client_id)
        if client is None:
            raise _OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if not client_secret or not secrets.compare_digest(client_secret, client.client_secret):
            raise _OAuthError(401, "invalid_client", "Unauthorized")
        return client

    def _refresh_token_grant(self, request: RecordedRequest, form: dict[str, str]) -> Response:
        client = self._authenticate_client(request, form)
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise _OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        with self._lock:
            grant = self._refresh_grants.get(refresh_token)
        if grant is None or grant.revoked:
            raise _OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        if grant.client_id != client.client_id:
            raise _OAuthError(400, "unauthorized_client", "Unauthorized")
        scopes = grant.scopes
        if form.get("scope"):
            asked = frozenset(form["scope"].split())
            if not asked <= grant.scopes:
                raise _OAuthError(400, "invalid_scope", "Bad Request")
            scopes = asked
        token = self.issue_access_token(
            subject=grant.subject, scopes=scopes, grant="refresh_token", client_id=client.client_id
        )
        return Response(200, self._token_body(token, scopes))

    def _authorization_code_grant(self, request: RecordedRequest, form: dict[str, str]) -> Response:
        client = self._authenticate_client(request, form)
        code = form.get("code") or ""
        with self._lock:
            issued_code = self._codes.pop(code, None)
        if issued_code is None:
            raise _OAuthError(400, "invalid_grant", "Malformed auth code.")
        if issued_code.client_id != client.client_id:
            raise _OAuthError(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != issued_code.redirect_uri:
            raise _OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        if issued_code.challenge is not None:
            verifier = form.get("code_verifier") or ""
            if issued_code.challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                expected = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
            else:
                expected = verifier
            if not verifier or not secrets.compare_digest(expected, issued_code.challenge):
                raise _OAuthError(400, "invalid_grant", "Invalid code verifier.")
        refresh_token = self.add_refresh_token(client, scopes=issued_code.scopes, subject=issued_code.subject)
        token = self.issue_access_token(
            subject=issued_code.subject,
            scopes=issued_code.scopes,
            grant="authorization_code",
            client_id=client.client_id,
        )
        return Response(200, {**self._token_body(token, issued_code.scopes), "refresh_token": refresh_token})

    def _jwt_bearer_grant(self, form: dict[str, str]) -> Response:
        assertion = form.get("assertion") or ""
        header, claims, signing_input, signature = _decode_jwt(assertion)
        if header.get("alg") != "RS256":
            raise _OAuthError(400, "invalid_grant", "Invalid JWT: only RS256 assertions are accepted.")
        issuer = claims.get("iss")
        with self._lock:
            known = issuer in self.service_accounts
            public_key = self.service_accounts.get(issuer) if known else None
        if not known:
            raise _OAuthError(400, "invalid_grant", "Invalid grant: account not found")
        if public_key is not None:
            try:
                public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                raise _OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("aud") not in (*GOOGLE_AUDIENCES, self.token_url):
            raise _OAuthError(
                400,
                "invalid_grant",
                f"Invalid JWT: Failed audience check. The expected value was {GOOGLE_AUDIENCES[0]}",
            )
        now = time.time()
        issued_at, expires = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(issued_at, int | float)
            or not isinstance(expires, int | float)
            or issued_at > now + CLOCK_SKEW
            or expires <= now - CLOCK_SKEW
            or expires - issued_at > MAX_ASSERTION_LIFETIME
        ):
            raise _OAuthError(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.",
            )
        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise _OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = self.issue_access_token(subject=str(issuer), scopes=scopes, grant="jwt-bearer")
        # Google's answer to a JWT-bearer grant carries no scope.
        return Response(200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _token_body(self, token: str, scopes: frozenset[str]) -> dict[str, Any]:
        return {
            "access_token": token,
            "expires_in": self.token_lifetime,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }


def google_api_error(
    code: int,
    message: str,
    *,
    reason: str,
    status: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error response in the shape every Google API (Analytics included) uses."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }
    }
    return Response(code, body, dict(headers or {}))


def _form(request: RecordedRequest) -> dict[str, str]:
    """The token request's parameters (Google takes a form body, or JSON)."""
    text = request.body.decode("utf-8", "replace")
    if "json" in (request.header("Content-Type") or ""):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return {str(key): str(value) for key, value in data.items()} if isinstance(data, dict) else {}
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _decode_jwt(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise _OAuthError(400, "invalid_grant", "Invalid JWT: the assertion must have three parts.")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        raise _OAuthError(400, "invalid_grant", "Invalid JWT: cannot decode the assertion.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _OAuthError(400, "invalid_grant", "Invalid JWT: the header and claims must be objects.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_loopback_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")


def _redirect(redirect_uri: str, parameters: dict[str, str | None]) -> Response:
    query = urlencode({key: value for key, value in parameters.items() if value is not None})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return Response(302, b"", {"Location": f"{redirect_uri}{separator}{query}"})
