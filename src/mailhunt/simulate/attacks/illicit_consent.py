"""Illicit consent grant: a user consents a malicious multi-tenant application to read mail.

A phished user signs in (interactively, from home) to the actor's application, which asks for
``Mail.Read offline_access User.Read``; the user consents (``Consent to application.`` and
``Add delegated permission grant.``, the service principal being created by ``Add service
principal.``). Over that day and the next, the application redeems its refresh token from the
actor's servers (non-interactive sign-ins of the user, so every token was issued) and reads the
user's mail through Microsoft Graph. Key records: the consent records.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.acting import VPS_PLACE, Acting, later
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.catalog import ClientProfile, Endpoint
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene

KIND = "illicit-consent"
_NAMES = ("Mail Organizer Pro", "PDF Secure Viewer", "Inbox Cleaner 365", "DocuReview Online")
SCOPES = "Mail.Read offline_access User.Read"


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    act = Acting(scene, rng)
    actor = scene.actor_rng(KIND)
    app_id = new_uuid(actor)
    app_name = actor.choice(_NAMES)
    server_ip = catalog.vps_ip(actor)
    sp_id = new_uuid(rng)
    client = ClientProfile(
        "illicit",
        app_id,
        app_name,
        catalog.GRAPH_APP_ID,
        catalog.REST_CLIENT_INFO,
        "Browser",
        catalog.EDGE_UA,
        "Windows10",
        "Edge 125.0.0",
        catalog.GRAPH_APP_ID,
        "Microsoft Graph",
    )
    users = [u for u in scene.cast.users if u.start_day <= scene.day]
    victim = rng.choice([u for u in users if u.upn != scene.cast.personas.executive][5:])
    start = scene.tenant.midnight(scene.day) + timedelta(hours=rng.uniform(8.0, 15.0))
    session = new_uuid(rng)
    records = []
    signin_id, _ = act.sign_in(
        start, victim, client, victim.home, session=session, interactive=True
    )
    records.append(signin_id)
    at = later(start, rng, 20, 90)
    targets = [(sp_id, 2), (app_name, 1), (app_id, 2)]
    records.append(
        act.directory_change(
            at,
            victim,
            victim.home.ip,
            "Add service principal.",
            [
                ("AppAddress", f"[https://{app_name.lower().replace(' ', '')}.example/auth]"),
                ("AppId", app_id),
                ("DisplayName", app_name),
            ],
            object_id=sp_id,
            targets=targets,
        )
    )
    grant = act.directory_change(
        later(at, rng, 1, 3),
        victim,
        victim.home.ip,
        "Add delegated permission grant.",
        [
            ("DelegatedPermissionGrant.Scope", f" {SCOPES}"),
            ("DelegatedPermissionGrant.ConsentType", "Principal"),
            ("ServicePrincipal.ObjectID", sp_id),
        ],
        object_id=catalog.GRAPH_APP_ID,
        targets=[(catalog.GRAPH_APP_ID, 2)],
    )
    consent = act.directory_change(
        later(at, rng, 2, 5),
        victim,
        victim.home.ip,
        "Consent to application.",
        [
            ("ConsentContext.IsAdminConsent", "False"),
            ("ConsentContext.IsAppOnly", "False"),
            ("ConsentContext.OnBehalfOfAll", "False"),
            ("ConsentContext.Tags", "WindowsAzureActiveDirectoryIntegratedApp"),
            (
                "ConsentAction.Permissions",
                f"[] => [[Id: {new_uuid(rng)}, ClientId: {sp_id}, PrincipalId: {victim.object_id}, "
                f"ResourceId: {new_uuid(rng)}, ConsentType: Principal, Scope: {SCOPES}, "
                "CreatedDateTime: , LastModifiedDateTime ]]; ",
            ),
            ("ConsentAction.Reason", "Risky application detected"),
            ("TargetId.ServicePrincipalNames", f"{app_id};https://{app_id}"),
        ],
        object_id=sp_id,
        targets=targets,
    )
    records += [grant, consent]
    at = later(at, rng, 600, 3600)
    server = Endpoint(server_ip, VPS_PLACE)
    for day in (scene.day, scene.day + 1):
        if day >= scene.tenant.days:
            break
        if day != scene.day:
            at = scene.tenant.midnight(day) + timedelta(hours=rng.uniform(1.0, 6.0))
        signin_id, token = act.sign_in(
            at, victim, client, server, session=session, interactive=False
        )
        records.append(signin_id)
        exchange_session = new_uuid(rng)
        for _ in range(rng.randint(2, 4)):
            at = later(at, rng, 10, 240)
            records.append(
                act.read_mail(
                    at,
                    victim,
                    victim,
                    server_ip,
                    client_info=catalog.REST_CLIENT_INFO,
                    session=exchange_session,
                    app_id=catalog.GRAPH_APP_ID,
                    client_app_id=app_id,
                    token=token,
                    day=day,
                    sync=rng.random() < 0.3,
                )
            )
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id=app_id,
        client_app_id=app_id,
        client_ips=(server_ip,),
        mailboxes=(victim.upn,),
        record_ids=tuple(records),
        internet_message_ids=(),
        first_seen=start,
        last_seen=at,
        key_record_ids=(grant, consent),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="a user consents a malicious multi-tenant application Mail.Read offline_access; "
    "it then reads the user's mail from the actor's servers with issued tokens",
    inject=inject,
    expected=("consent-then-mail-access",),
)
