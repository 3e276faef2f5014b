"""Acting as the tenant's people, for attacks and noise sources: running an Exchange cmdlet or a
directory change, reading a mailbox, signing in, each record added to the scene with its id.

Every value is drawn from the ``Random`` handed in (the attack's or noise source's own), so the
benign tenant around them is unchanged.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.admin import Caller, Change, directory_audit, exchange_cmdlet
from mailhunt.simulate.benign import actor_of, owner_of
from mailhunt.simulate.catalog import ClientProfile, Endpoint, Place
from mailhunt.simulate.ids import graph_time, new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import Message
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.signins import SignInSpec, user_signin
from mailhunt.simulate.ual import Context, FolderRead, Token

VPS_PLACE = Place("Amsterdam", "North Holland", "NL", 52.3676, 4.9041)
LOGON_OWNER, LOGON_ADMIN, LOGON_DELEGATE = 0, 1, 2
_PORT = re.compile(r"^\[?([^\]]*?)\]?(?::\d+)?$")


def bare(address: str) -> str:
    """An address as the UAL spells it (``v4:port``, ``[v6]:port``) without the port."""
    if address.count(":") > 1 and not address.startswith("["):
        return address  # a bare IPv6 address
    match = _PORT.match(address)
    return match.group(1) if match else address


def usual_ip(scene: Scene, user: User, before: datetime) -> str:
    """The address ``user``'s latest own record before ``before`` came from (else the office)."""
    latest: tuple[datetime, str] | None = None
    for at, record in scene.sink.ual:
        if at < before and record.get("UserId") == user.upn:
            address = record.get("ClientIPAddress") or record.get("ClientIP")
            if address and (latest is None or at > latest[0]):
                latest = (at, bare(address))
    return latest[1] if latest else user.office.ip


def admin_user(scene: Scene) -> User:
    """The tenant's Exchange administrator (the Graph CLI persona)."""
    return scene.cast.by_upn(scene.cast.personas.graph_cli_user)


def caller(user: User, ip: str, *, admin: bool = True) -> Caller:
    return Caller(user.upn, user.user_key, ip, 2 if admin else 0)


class Acting:
    """One attack's or noise source's hand on the scene: its records, from its ``Random``."""

    def __init__(self, scene: Scene, rng: random.Random) -> None:
        self.scene = scene
        self.rng = rng

    def cmdlet(
        self,
        at: datetime,
        user: User,
        ip: str,
        operation: str,
        parameters: Mapping[str, str],
        *,
        object_id: str,
        admin: bool = True,
    ) -> str:
        """Run an Exchange cmdlet as ``user`` from ``ip``; returns the record id."""
        record_id = new_uuid(self.rng)
        record = exchange_cmdlet(
            record_id,
            at,
            self.scene.tenant.tenant_id,
            caller(user, render_ip(self.rng, ip), admin=admin),
            domain=self.scene.tenant.domain,
            operation=operation,
            object_id=object_id,
            parameters=parameters,
            server=user.server,
        )
        self.scene.add_ual(at, record)
        return record_id

    def directory_change(
        self,
        at: datetime,
        user: User,
        ip: str,
        operation: str,
        changes: Sequence[tuple[str, str]],
        *,
        object_id: str,
        targets: Sequence[tuple[str, int]],
        admin: bool = False,
    ) -> str:
        """An Entra directory audit made by ``user`` from ``ip``; returns the record id."""
        record_id = new_uuid(self.rng)
        record = directory_audit(
            record_id,
            at,
            self.scene.tenant.tenant_id,
            Caller(user.upn, user.object_id, ip, 2 if admin else 0),
            operation=operation,
            object_id=object_id,
            changes=[Change(name, value) for name, value in changes],
            targets=targets,
        )
        self.scene.add_ual(at, record)
        return record_id

    def sign_in(
        self,
        at: datetime,
        user: User,
        client: ClientProfile,
        endpoint: Endpoint,
        *,
        session: str,
        interactive: bool,
        error_code: int = 0,
    ) -> tuple[str, Token]:
        """A user sign-in (failed with ``error_code``); returns its id and the token it issued."""
        spec = SignInSpec(
            at, user, client, endpoint, session, token_id(self.rng), interactive, error_code
        )
        record = user_signin(self.rng, self.scene.tenant.tenant_id, spec)
        self.scene.add_signin(at, record)
        if interactive and error_code == 0:
            self.scene.add_ual(at, ual.user_logged_in(new_uuid(self.rng), record))
        token = Token(
            spec.token_id,
            session,
            at,
            client.app_id if client.ual_app_id is not None else None,
            client.ual_app_id,
        )
        return str(record["id"]), token

    def app_only_signin(
        self,
        at: datetime,
        *,
        app_id: str,
        app_name: str,
        sp_id: str,
        ip: str,
    ) -> Token:
        """A client-credentials sign-in of an application; returns the token it issued."""
        token = Token(token_id(self.rng), None, at, app_id, catalog.GRAPH_APP_ID)
        record = {
            "id": new_uuid(self.rng),
            "createdDateTime": graph_time(at),
            "userDisplayName": None,
            "userPrincipalName": None,
            "userId": None,
            "appId": app_id,
            "appDisplayName": app_name,
            "ipAddress": ip,
            "clientAppUsed": None,
            "correlationId": new_uuid(self.rng),
            "conditionalAccessStatus": "notApplied",
            "isInteractive": False,
            "resourceDisplayName": "Microsoft Graph",
            "resourceId": catalog.GRAPH_APP_ID,
            "resourceTenantId": self.scene.tenant.tenant_id,
            "homeTenantId": self.scene.tenant.tenant_id,
            "userAgent": None,
            "sessionId": None,
            "uniqueTokenIdentifier": token.token_id,
            "tokenIssuerType": "AzureAD",
            "signInEventTypes": ["servicePrincipal"],
            "servicePrincipalId": sp_id,
            "servicePrincipalName": app_name,
            "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
            "deviceDetail": None,
            "location": {
                "city": catalog.DATACENTER_PLACE.city,
                "state": catalog.DATACENTER_PLACE.state,
                "countryOrRegion": catalog.DATACENTER_PLACE.country,
                "geoCoordinates": None,
            },
        }
        self.scene.add_signin(at, record, app_only=True)
        return token

    def read_mail(
        self,
        at: datetime,
        reader: User | ual.Actor,
        owner: User,
        ip: str,
        *,
        client_info: str,
        logon_type: int = LOGON_OWNER,
        session: str,
        app_id: str | None = None,
        client_app_id: str | None = None,
        token: Token | None = None,
        day: int,
        sync: bool = False,
    ) -> str:
        """A MailItemsAccessed of ``owner``'s mailbox by ``reader``: a Bind of 1-4 recent
        messages, or a Sync of the Inbox; returns the record id."""
        actor = reader if isinstance(reader, ual.Actor) else actor_of(reader)
        ctx = Context(
            new_uuid(self.rng),
            at,
            actor,
            owner_of(owner),
            logon_type,
            render_ip(self.rng, ip),
            client_info,
            session,
            app_id,
            client_app_id,
            token,
        )
        store = self.scene.store
        if sync:
            folders: tuple[FolderRead, ...] = (
                FolderRead("\\Inbox", store.folder_id(owner.upn, "\\Inbox")),
            )
            access = "Sync"
        else:
            pool = store.recent(owner.upn, day, 3, first_day=owner.start_day)
            picked = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 4)))
            by_folder: dict[str, list[Message]] = {}
            for message in picked:
                by_folder.setdefault(message.folder, []).append(message)
            folders = tuple(
                FolderRead(path, store.folder_id(owner.upn, path), tuple(items))
                for path, items in sorted(by_folder.items())
            )
            access = "Bind"
        record = ual.mail_items_accessed(
            ctx, self.scene.tenant.tenant_id, self.scene.tenant.domain, access, folders
        )
        self.scene.add_ual(at, record)
        return ctx.record_id


def later(at: datetime, rng: random.Random, low: int, high: int) -> datetime:
    """``at`` plus ``low``..``high`` seconds."""
    return at + timedelta(seconds=rng.randint(low, high))
