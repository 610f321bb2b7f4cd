"""Who gets which e-mail: admins (errors) and users (digests), globally, per site and per study.

The file is YAML the caller has already loaded (a dict):

    admins: [ops@example.org]
    users: [lab@example.org]
    sites:
      rhine_vision: {admins: [...], users: [...]}   # added to the global lists for that site
    studies:
      trc: {users: [...]}                           # added for that study's digests

Every address is checked on load, so a typo fails when the file is read (naming the entry and its YAML
path), not when a run fails and its e-mail cannot be sent. Unknown keys are errors too (`admin:` for
`admins:` would otherwise silently mail nobody).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr

_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCOPES = {"sites": ("admins", "users"), "studies": ("users",)}


class RecipientsError(ValueError):
    """The recipients file is malformed; the message names the file, the YAML path and the entry."""


@dataclass(frozen=True)
class Audience:
    """The admins and users of one scope (everyone, a site or a study)."""

    admins: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


def _dedupe(addresses: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for address in addresses:
        key = parseaddr(address)[1].lower()
        if key not in seen:
            seen.add(key)
            out.append(address)
    return out


@dataclass(frozen=True)
class Recipients:
    """Parsed recipients; the `*_for` lists are the global ones plus the scope's, deduplicated, in order."""

    everyone: Audience = field(default_factory=Audience)
    sites: Mapping[str, Audience] = field(default_factory=dict)
    studies: Mapping[str, Audience] = field(default_factory=dict)

    def admins_for(self, site: str | None = None) -> list[str]:
        scoped = self.sites.get(site, Audience()) if site else Audience()
        return _dedupe([*self.everyone.admins, *scoped.admins])

    def users_for(self, site: str | None = None, study: str | None = None) -> list[str]:
        by_site = self.sites.get(site, Audience()) if site else Audience()
        by_study = self.studies.get(study.lower(), Audience()) if study else Audience()
        return _dedupe([*self.everyone.users, *by_site.users, *by_study.users])


def _addresses(value: object, path: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise RecipientsError(
            f"{source}: {path} must be a list of e-mail addresses, got {type(value).__name__}"
        )
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if not isinstance(item, str):
            raise RecipientsError(f"{source}: {where} must be an e-mail address, got {item!r}")
        text = item.strip()
        address = parseaddr(text)[1]
        bare = _QUOTED.sub("", text)  # a quoted display name may hold a comma; an address list may not
        if (
            not _ADDRESS.match(address)
            or (text != address and not text.endswith(f"<{address}>"))
            or any(c in bare for c in ",;\r\n")
        ):
            raise RecipientsError(f"{source}: {where}: {item!r} is not an e-mail address")
        out.append(text)
    return tuple(_dedupe(out))


def _audience(data: object, path: str, source: str, allowed: tuple[str, ...]) -> Audience:
    if data is None:
        return Audience()
    if not isinstance(data, Mapping):
        raise RecipientsError(f"{source}: {path} must be a mapping of {' and '.join(allowed)}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RecipientsError(f"{source}: {path}: unknown key {unknown[0]!r} (expected {', '.join(allowed)})")
    prefix = f"{path}." if path else ""
    return Audience(
        admins=_addresses(data.get("admins"), f"{prefix}admins", source),
        users=_addresses(data.get("users"), f"{prefix}users", source),
    )


def _scoped(data: object, key: str, source: str) -> dict[str, Audience]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise RecipientsError(f"{source}: {key} must be a mapping of names to admins/users")
    out = {}
    for name, body in data.items():
        label = str(name) if key == "sites" else str(name).lower()
        out[label] = _audience(body, f"{key}.{name}", source, _SCOPES[key])
    return out


def parse_recipients(data: Mapping | None, source: str = "recipients.yaml") -> Recipients:
    """`Recipients` from the loaded YAML (None for an empty file); `source` names the file in errors."""
    if data is None:
        return Recipients()
    if not isinstance(data, Mapping):
        raise RecipientsError(f"{source}: the top level must be a mapping (admins, users, sites, studies)")
    allowed = ("admins", "users", *_SCOPES)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RecipientsError(f"{source}: unknown key {unknown[0]!r} (expected {', '.join(allowed)})")
    return Recipients(
        everyone=_audience({k: data.get(k) for k in ("admins", "users")}, "", source, ("admins", "users")),
        sites=_scoped(data.get("sites"), "sites", source),
        studies=_scoped(data.get("studies"), "studies", source),
    )
