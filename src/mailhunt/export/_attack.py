"""MITRE ATT&CK names of the technique ids mailhunt's analytics declare (OCSF's technique
object requires a name). An id not listed keeps its id as its name.
See https://attack.mitre.org/techniques/enterprise/."""

from __future__ import annotations

NAMES = {
    "T1098": "Account Manipulation",
    "T1098.002": "Additional Email Delegate Permissions",
    "T1114": "Email Collection",
    "T1114.002": "Remote Email Collection",
    "T1114.003": "Email Forwarding Rule",
    "T1528": "Steal Application Access Token",
    "T1550": "Use Alternate Authentication Material",
    "T1550.001": "Application Access Token",
    "T1562": "Impair Defenses",
    "T1562.008": "Disable or Modify Cloud Logs",
    "T1564": "Hide Artifacts",
    "T1564.008": "Email Hiding Rules",
    "T1583": "Acquire Infrastructure",
}
URL = "https://attack.mitre.org/techniques/"


def name(technique: str) -> str:
    return NAMES.get(technique, technique)


def url(technique: str) -> str:
    return URL + technique.replace(".", "/") + "/"
