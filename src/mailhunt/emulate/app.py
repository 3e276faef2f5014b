"""The emulated services, one ASGI app (Starlette) answering for every cloud host it is named as.

Hosts are virtual: a client sends its request to the emulator's address with the real host in
``Host`` (login.microsoftonline.com, manage.office.com, graph.microsoft.com, or a sovereign
cloud's), and URLs the emulator hands out (``NextPageUri``, ``contentUri``, ``@odata.nextLink``)
name that host again. Contract followed:

- token endpoint, client credentials with a secret or a certificate assertion (RS256, ``x5t``
  the certificate's SHA-1 thumbprint), and the OpenID configuration document msal reads
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow);
- Management Activity API: ``subscriptions/start``, ``subscriptions/list``,
  ``subscriptions/content`` (startTime and endTime both or neither, at most 24 h apart, start
  at most 7 days back, else AF20055; no subscription: AF20022; ``NextPageUri`` header), content
  blobs at their ``contentUri`` (expired after 7 days: AF20051), ``PublisherIdentifier``
  recorded per request
  (https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference);
- Graph ``auditLogs/signIns`` (v1.0: interactive only; beta: ``signInEventTypes/any``
  filter) and ``auditLogs/directoryAudits``, newest first, ``@odata.nextLink`` paging
  (https://learn.microsoft.com/graph/api/signin-list, https://learn.microsoft.com/graph/paging).
"""

from __future__ import annotations

import base64
import random
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mailhunt.emulate.data import (
    ALL_CONTENT_TYPES,
    Blob,
    Delivery,
    TenantData,
    Timed,
    build_blobs,
    now_utc,
    parse_time,
    signin_kind,
    timed_audits,
    timed_signins,
)
from mailhunt.emulate.faults import Fault, FaultPlan, Faults, Logged, monotonic

RETENTION = timedelta(days=7)
MAX_WINDOW = timedelta(hours=24)
GRAPH_CONTEXT = "https://graph.microsoft.com/{version}/$metadata#auditLogs/{what}"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Registration:
    """An app registration: its client id and the credential it proves itself with."""

    client_id: str
    secret: str | None = None
    certificate_thumbprint: str | None = None  # SHA-1, hex
    public_key_pem: bytes | None = None


@dataclass
class _Tenant:
    data: TenantData
    registration: Registration
    blobs: list[Blob]
    signins: list[Timed]
    audits: list[Timed]
    subscriptions: dict[str, str] = field(default_factory=dict)  # content type -> status


@dataclass(frozen=True)
class _Issued:
    tenant_id: str
    resource_host: str
    generation: int


class Emulator:
    """The emulated Microsoft services over some tenants, a clock and a fault plan."""

    def __init__(
        self,
        tenants: list[tuple[TenantData, Registration]],
        *,
        delivery: Delivery | None = None,
        faults: Faults | None = None,
        clock: Callable[[], datetime] = now_utc,
        page_size: int = 50,
    ) -> None:
        delivery = delivery or Delivery()
        self.clock = clock
        self.shuffle = delivery.shuffle
        self.page_size = page_size
        self.plan = FaultPlan(faults or Faults())
        self.tenants = {
            data.tenant_id: _Tenant(
                data,
                registration,
                build_blobs(data.ual, delivery),
                timed_signins(data.signins, delivery),
                timed_audits(data.directory_audits, delivery),
            )
            for data, registration in tenants
        }
        self._tokens: dict[str, _Issued] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.issued_tokens: list[str] = []  # for tests: every token handed out

    def app(self) -> Starlette:
        feed = "/api/v1.0/{tenant}/activity/feed"
        routes = [
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self._openid),
            Route(f"{feed}/subscriptions/start", self._api(self._start), methods=["POST"]),
            Route(f"{feed}/subscriptions/list", self._api(self._list)),
            Route(f"{feed}/subscriptions/content", self._api(self._content)),
            Route(feed + "/audit/{content_id}", self._api(self._blob)),
            Route("/{version}/auditLogs/signIns", self._api(self._signins)),
            Route("/{version}/auditLogs/directoryAudits", self._api(self._audits)),
        ]
        return Starlette(routes=routes)

    # -- token endpoint ---------------------------------------------------------------------

    async def _openid(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        base = f"{_origin(request)}/{tenant}"
        return _json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            }
        )

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        tenant = self.tenants.get(request.path_params["tenant"])
        fields = {k: str(v) for k, v in form.items()}
        if tenant is None:
            return _oauth_error(400, "invalid_request", "AADSTS90002: Tenant not found.")
        if fields.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "AADSTS70003")
        if fields.get("client_id") != tenant.registration.client_id or not _proves(
            tenant.registration, fields
        ):
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        scope = fields.get("scope", "")
        match = re.fullmatch(r"https://([^/\s]+)/\.default", scope)
        if match is None:
            return _oauth_error(400, "invalid_scope", "AADSTS1002012: invalid scope.")
        token = "emu." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Issued(tenant.data.tenant_id, match[1], self._generation)
            self.issued_tokens.append(token)
        return _json({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    # -- API requests: faults, authentication, log --------------------------------------------

    def _api(self, handler: Callable[[Request, _Tenant], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            fault = self.plan.draw()
            response = await self._answer(request, handler, fault)
            retry = response.headers.get("retry-after")
            self.plan.record(
                Logged(
                    monotonic(),
                    request.method,
                    request.headers.get("host", ""),
                    request.url.path,
                    response.status_code,
                    request.query_params.get("PublisherIdentifier"),
                    int(retry) if retry else None,
                    fault,
                )
            )
            return response

        return endpoint

    async def _answer(
        self,
        request: Request,
        handler: Callable[[Request, _Tenant], Awaitable[Response]],
        fault: Fault | None,
    ) -> Response:
        if fault == "expire-tokens":
            with self._lock:
                self._generation += 1
        tenant = self._authorised(request)
        if tenant is None:
            return _error(401, "InvalidAuthenticationToken", "Access token has expired.")
        if fault == "reset":
            return _Dropped()
        if fault in ("throttle", "forbidden-throttle"):
            status = 429 if fault == "throttle" else 403
            message = "Too many requests. Method=GetBlob, PublisherId=" + (
                request.query_params.get("PublisherIdentifier") or tenant.data.tenant_id
            )
            retry = self.plan.faults.retry_after
            return _error(status, "AF429", message, {"Retry-After": str(retry)})
        if fault == "server-error":
            return _error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        return await handler(request, tenant)

    def _authorised(self, request: Request) -> _Tenant | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            issued = self._tokens.get(token)
            current = self._generation
        host = request.headers.get("host", "").split(":")[0]
        if issued is None or issued.generation != current or issued.resource_host != host:
            return None
        tenant = self.tenants[issued.tenant_id]
        asked = request.path_params.get("tenant")
        return tenant if asked in (None, issued.tenant_id) else None

    # -- Management Activity API --------------------------------------------------------------

    async def _start(self, request: Request, tenant: _Tenant) -> Response:
        content_type = request.query_params.get("contentType", "")
        if content_type not in ALL_CONTENT_TYPES:
            return _error(
                400, "AF20023", f"The specified content type is not valid: {content_type}"
            )
        if tenant.subscriptions.get(content_type) == "enabled":
            return _error(
                400, "AF20024", "The subscription is already enabled. No property change."
            )
        tenant.subscriptions[content_type] = "enabled"
        return _json({"contentType": content_type, "status": "enabled", "webhook": None})

    async def _list(self, request: Request, tenant: _Tenant) -> Response:
        listed = [
            {"contentType": c, "status": s, "webhook": None}
            for c, s in tenant.subscriptions.items()
        ]
        return _json(listed)

    async def _content(self, request: Request, tenant: _Tenant) -> Response:
        query = request.query_params
        content_type = query.get("contentType", "")
        if tenant.subscriptions.get(content_type) != "enabled":
            return _error(400, "AF20022", "No subscription found for the specified content type")
        now = self.clock()
        window = _window(query.get("startTime"), query.get("endTime"), now)
        if window is None:
            return _error(
                400,
                "AF20055",
                "Start time and end time must both be specified (or both omitted) and must be "
                "less than or equal to 24 hours apart, with the start time no more than 7 days "
                "in the past.",
            )
        start, end = window
        found = [
            b
            for b in tenant.blobs
            if b.content_type == content_type and start <= b.created < min(end, now)
        ]
        offset = int(query.get("nextPage") or 0)
        page = found[offset : offset + self.page_size]
        if self.shuffle:  # "not necessarily in the order in which they occurred"
            page = random.Random(f"{offset}/{start}/{content_type}").sample(page, len(page))
        base = f"{_origin(request)}/api/v1.0/{tenant.data.tenant_id}/activity/feed"
        body = [
            {
                "contentType": b.content_type,
                "contentId": b.content_id,
                "contentUri": f"{base}/audit/{b.content_id}",
                "contentCreated": _stamp(b.created),
                "contentExpiration": _stamp(b.created + RETENTION),
            }
            for b in page
        ]
        headers = {}
        if offset + self.page_size < len(found):
            params = {k: v for k, v in query.items() if k != "nextPage"}
            params["nextPage"] = str(offset + self.page_size)
            headers["NextPageUri"] = f"{base}/subscriptions/content?{urlencode(params)}"
        return _json(body, headers)

    async def _blob(self, request: Request, tenant: _Tenant) -> Response:
        content_id = request.path_params["content_id"]
        now = self.clock()
        for blob in tenant.blobs:
            if blob.content_id == content_id and blob.created <= now:
                if blob.created + RETENTION < now:
                    return _error(
                        400,
                        "AF20051",
                        f"Content requested with the key {content_id} has already expired. "
                        "Content older than 7 days cannot be retrieved.",
                    )
                return Response(blob.body, media_type="application/json")
        return _error(404, "AF20050", "The specified content does not exist.")

    # -- Graph ---------------------------------------------------------------------------------

    async def _signins(self, request: Request, tenant: _Tenant) -> Response:
        version = request.path_params["version"]
        filtered = _graph_filter(request.query_params.get("$filter", ""), "createdDateTime")
        if filtered is None:
            return _error(400, "BadRequest", "Invalid filter clause")
        start, end, kind = filtered
        if version == "v1.0" and kind not in (None, "interactiveUser"):
            return _error(400, "BadRequest", "signInEventTypes filter needs the beta endpoint")
        wanted = kind or "interactiveUser"
        chosen = [t for t in tenant.signins if signin_kind(t.record) == wanted]
        return self._graph_page(request, chosen, start, end, "signIns")

    async def _audits(self, request: Request, tenant: _Tenant) -> Response:
        filtered = _graph_filter(request.query_params.get("$filter", ""), "activityDateTime")
        if filtered is None or filtered[2] is not None:
            return _error(400, "BadRequest", "Invalid filter clause")
        start, end, _ = filtered
        return self._graph_page(request, tenant.audits, start, end, "directoryAudits")

    def _graph_page(
        self, request: Request, timed: list[Timed], start: datetime, end: datetime, what: str
    ) -> Response:
        now = self.clock()
        found = sorted(
            (t for t in timed if start <= t.time < end and t.available <= now),
            key=lambda t: (t.time, str(t.record.get("id"))),
            reverse=True,
        )
        query = request.query_params
        offset = _skip(query.get("$skiptoken"))
        size = min(int(query.get("$top") or self.page_size), 1000)
        version = request.path_params["version"]
        body: dict[str, Any] = {
            "@odata.context": GRAPH_CONTEXT.format(version=version, what=what),
            "value": [t.record for t in found[offset : offset + size]],
        }
        if offset + size < len(found):
            params = {k: v for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            path = request.url.path
            body["@odata.nextLink"] = f"{_origin(request)}{path}?{urlencode(params)}"
        return _json(body)


class _Dropped(Response):
    """A response cut short: headers promise more bytes than are sent, so the server drops
    the connection (the client sees the peer close mid-body, as after a reset)."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # the server refuses to end a message short of its length: it drops the connection
        # (server.py keeps the traceback uvicorn logs for it out of the log)
        await send({"type": "http.response.body", "body": b'[{"Id": "', "more_body": False})


def _proves(registration: Registration, fields: dict[str, str]) -> bool:
    """The client proved it holds the registration's secret or certificate key."""
    if "client_secret" in fields:
        return registration.secret is not None and secrets.compare_digest(
            fields["client_secret"], registration.secret
        )
    assertion = fields.get("client_assertion")
    if assertion is None or registration.public_key_pem is None:
        return False
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(
            assertion,
            registration.public_key_pem,
            algorithms=["RS256", "PS256"],
            options={"verify_aud": False},
        )
    except jwt.PyJWTError:
        return False
    thumbprint = base64.urlsafe_b64decode(str(header.get("x5t", "")) + "==").hex()
    return bool(
        claims.get("iss") == registration.client_id
        and thumbprint.lower() == (registration.certificate_thumbprint or "").lower()
    )


def _window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    if start is None and end is None:
        return now - MAX_WINDOW, now
    if start is None or end is None:
        return None
    try:
        first, last = parse_time(start), parse_time(end)
    except ValueError:
        return None
    if not timedelta(0) < last - first <= MAX_WINDOW or first < now - RETENTION:
        return None
    return first, last


_FILTER = re.compile(
    r"(?P<f>\w+) ge (?P<start>\S+) and (?P=f) lt (?P<end>\S+)"
    r"(?: and \(?signInEventTypes/any\(t: ?t eq '(?P<kind>\w+)'\)\)?)?"
)


def _graph_filter(text: str, time_field: str) -> tuple[datetime, datetime, str | None] | None:
    match = _FILTER.fullmatch(text.strip())
    if match is None or match["f"] != time_field:
        return None
    try:
        return parse_time(match["start"]), parse_time(match["end"]), match["kind"]
    except ValueError:
        return None


def _skip(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        return 0


def _origin(request: Request) -> str:
    """https://HOST for a named host (no port), else the address the request came to."""
    host = request.headers.get("host", "")
    return f"https://{host}" if ":" not in host else f"{request.url.scheme}://{host}"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json(body: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": {"code": code, "message": message}}, headers, status)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json({"error": error, "error_description": description}, None, status)
