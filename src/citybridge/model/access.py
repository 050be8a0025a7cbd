"""Who is asking: the caller, and what a caller may see.

Visibility rules: ``public`` records are visible to everyone; ``network`` records to members of the
network (any authenticated caller marked ``member``) and to their owner; ``private`` records only to their
owner (a user id, or a group the caller belongs to) and to curators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from citybridge.model.entities import Visibility


@dataclass(frozen=True)
class Caller:
    """An identified (or anonymous) user of the services."""

    user: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    member: bool = False  # belongs to the network: may see network-only records
    curator: bool = False  # may see and change everything
    admin: bool = False  # may read the audit log and manage accounts and roles

    @property
    def principals(self) -> frozenset[str]:
        return self.groups | ({self.user} if self.user else frozenset())


ANONYMOUS = Caller()

#: what each account role may do: (network member, curator, admin, may write)
ROLE_RIGHTS: dict[str, tuple[bool, bool, bool, bool]] = {
    "admin": (True, True, True, True),
    "curator": (True, True, False, True),
    "staff": (True, False, False, True),
    "member": (True, False, False, False),
    "partner": (False, False, False, False),
}


def role_caller(user: str, role: str, groups: tuple[str, ...] | frozenset[str] = (), record_id: str | None = None,
                scopes: tuple[str, ...] | None = None) -> tuple[Caller, bool]:
    """The caller of an account with ``role`` (and, for an API token, its ``scopes``), and whether it may write.

    A token without the ``curate`` scope never carries curator or admin rights, one without ``write`` (or
    ``curate``) never writes, whatever the role: a read-only token of a curator sees what a member sees.
    The record an account stands for (its person, organisation or city) counts as one of its groups, so
    records owned by that organisation are visible to it.
    """
    member, curator, admin, write = ROLE_RIGHTS.get(role, (False, False, False, False))
    if scopes is not None:
        curate = "curate" in scopes
        curator, admin = curator and curate, admin and curate
        write = write and ("write" in scopes or curate)
    principals = frozenset(groups) | ({record_id} if record_id else frozenset())
    return Caller(user=user, groups=principals, member=member, curator=curator, admin=admin), write
CURATOR = Caller(user="curator", member=True, curator=True)


def can_see(visibility: str | Visibility, owner: str | None, caller: Caller) -> bool:
    """Whether ``caller`` may see a record or relation with this visibility and owner."""
    vis = Visibility(visibility)
    if vis == Visibility.public or caller.curator:
        return True
    if owner is not None and owner in caller.principals:
        return True
    return vis == Visibility.network and caller.member


def visible_levels(caller: Caller) -> tuple[set[str], frozenset[str]]:
    """(visibility levels always visible, owners whose restricted records are visible) for SQL/index filters."""
    if caller.curator:
        return {v.value for v in Visibility}, frozenset()
    levels = {Visibility.public.value} | ({Visibility.network.value} if caller.member else set())
    return levels, caller.principals
