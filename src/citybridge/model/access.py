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

    @property
    def principals(self) -> frozenset[str]:
        return self.groups | ({self.user} if self.user else frozenset())


ANONYMOUS = Caller()
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
