"""Dissemination: members follow themes, places, saved searches, records and their own profile; digests of
what is new for them go out by e-mail (safe to repeat) and as Atom feeds. Use the Hub's methods
(``subscribe``, ``digest``, ``send_digests``, ``subscription_feed``); these are the parts behind them."""

from citybridge.notify.atom import Feed, not_modified
from citybridge.notify.builder import build_digests
from citybridge.notify.model import (
    CHANNELS,
    FREQUENCIES,
    LANGUAGES,
    SECTIONS,
    SUB_TYPES,
    Digest,
    Item,
    Member,
    Reason,
    Subscription,
)
from citybridge.notify.store import NotifyStore
from citybridge.notify.strings import phrase, strings

__all__ = ["CHANNELS", "FREQUENCIES", "LANGUAGES", "SECTIONS", "SUB_TYPES", "Digest", "Feed", "Item", "Member",
           "NotifyStore", "Reason", "Subscription", "build_digests", "not_modified", "phrase", "strings"]
