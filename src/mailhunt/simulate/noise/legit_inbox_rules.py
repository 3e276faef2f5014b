"""Ordinary inbox rules: newsletters filed, notifications deleted, a holiday forward inside.

Three ordinary users create a rule in Outlook on the web from where they usually work: one files
a newsletter sender's mail in "Newsletters" (and marks it read), one deletes a service's
notification mail, one forwards everything to a colleague while on holiday (and later changes
the rule with ``Set-InboxRule``). ``inbox-rule-abuse`` must stay quiet.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.acting import Acting, usual_ip
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.scene import Scene

NAME = "legit-inbox-rules"


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    act = Acting(scene, rng)
    pool = list(scene.cast.users[1:-1])
    filer, cleaner, traveller, colleague = rng.sample(pool, 4)
    days = scene.tenant.days
    rules = (
        (
            filer,
            "Newsletters",
            {
                "From": f"news@{rng.choice(catalog.EXTERNAL_DOMAINS)}",
                "MoveToFolder": "Newsletters",
                "MarkAsRead": "True",
                "StopProcessingRules": "True",
            },
        ),
        (
            cleaner,
            "Delete build notifications",
            {"From": "noreply@notifications.github.com", "DeleteMessage": "True"},
        ),
        (
            traveller,
            "Holiday forward",
            {"ForwardTo": colleague.upn, "StopProcessingRules": "False"},
        ),
    )
    for user, name, parameters in rules:
        day = rng.randrange(max(1, days - 2))
        at = scene.tenant.midnight(day) + timedelta(hours=rng.uniform(9.0, 17.0))
        ip = usual_ip(scene, user, at)
        params = {
            "AlwaysDeleteOutlookRulesBlob": "False",
            "Force": "False",
            "Name": name,
            **parameters,
        }
        object_id = f"{user.upn}\\{name}"
        act.cmdlet(at, user, ip, "New-InboxRule", params, object_id=object_id, admin=False)
        if name == "Holiday forward":
            at += timedelta(days=1, minutes=rng.randint(1, 120))
            act.cmdlet(
                at,
                user,
                usual_ip(scene, user, at),
                "Set-InboxRule",
                {"Identity": object_id, "Enabled": "False", "ForwardTo": colleague.upn},
                object_id=object_id,
                admin=False,
            )


NOISE = NoiseKind(
    name=NAME,
    summary="users file newsletters, delete notifications and forward to a colleague on "
    "holiday with inbox rules",
    plant=plant,
)
