"""Access tokens for the Management Activity API and Graph: client credentials with msal.

A client secret, or a certificate (its PEM private key and SHA-1 thumbprint: msal signs the
client assertion). msal's authority is the cloud's real sign-in host
(``https://login.microsoftonline.com/<tenant>``, ``.us`` for GCC High and DoD); against the
local emulator msal still runs unchanged, only its HTTP goes through the collector's httpx
client, whose transport sends every request to the emulator with the real host in ``Host``
(msal refuses an authority that is not https, so an authority override could not reach a
loopback HTTP emulator). Tokens are cached by msal until they expire or the API answers 401.
https://learn.microsoft.com/entra/msal/python/advanced/client-credentials
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import msal

from mailhunt.collect.config import TenantConfig
from mailhunt.collect.http import CollectError

log = logging.getLogger(__name__)


class _MsalHttp:
    """The requests-like client msal expects, over the collector's httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        if isinstance(data, dict):  # msal gives the client assertion as bytes (requests takes
            # them; httpx would form-encode their repr)
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(
            url, params=params, data=data, headers=headers, timeout=kwargs.get("timeout")
        )

    def get(self, url: str, params: Any = None, headers: Any = None,
            **kwargs: Any) -> httpx.Response:  # fmt: skip
        return self._client.get(url, params=params, headers=headers, timeout=kwargs.get("timeout"))

    def close(self) -> None:
        """The httpx client belongs to the collector, which closes it."""


class MsalTokens:
    """Client-credentials tokens of one tenant's app registration, per resource host."""

    def __init__(self, tenant: TenantConfig, client: httpx.Client) -> None:
        credential: str | dict[str, str]
        if tenant.secret is not None:
            credential = tenant.secret.reveal()
        elif tenant.certificate_pem is not None and tenant.thumbprint:
            credential = {
                "private_key": tenant.certificate_pem.reveal(),
                "thumbprint": tenant.thumbprint,
            }
        else:
            raise CollectError(f"tenant {tenant.name}: no credential")
        self._tenant = tenant
        self._app = msal.ConfidentialClientApplication(
            tenant.client_id,
            client_credential=credential,
            authority=f"https://{tenant.cloud.login}/{tenant.tenant_id}",
            http_client=_MsalHttp(client),
            instance_discovery=False,
            token_cache=msal.TokenCache(),
        )

    def token(self, host: str) -> str:
        try:
            result = self._app.acquire_token_for_client([f"https://{host}/.default"])
        except (httpx.HTTPError, ValueError) as error:
            raise CollectError(
                f"tenant {self._tenant.name}: no token for {host}: {type(error).__name__}"
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            given = result if isinstance(result, dict) else {}
            refusal = str(given.get("error", "unknown"))[:60]
            code = str(given.get("error_description", "")).split(":", 1)[0][:40]  # AADSTS code
            raise CollectError(
                f"tenant {self._tenant.name}: token refused for {host}: {refusal} {code}"
            )
        return str(result["access_token"])

    def invalidate(self, host: str) -> None:
        """Forget cached tokens for `host` (the API said 401): the next call asks again."""
        cache = self._app.token_cache
        scope = [f"https://{host}/.default"]
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, target=scope)):
            cache.remove_at(item)
        log.info(
            "tenant %s: token for %s refused by the API; asking a new one", self._tenant.name, host
        )
