"""``/members/{id}`` (register for digests), ``/members/{id}/subscriptions``, ``/subscriptions/{id}`` and
``/members/{id}/digest`` (preview): thin over the Hub's notify methods. A curator acts for any member; any
other caller only for the member bound to their user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from citybridge.api.auth import LOCAL_CURATOR, dev_local_writes, grant_for
from citybridge.api.deps import HubDep, bearer
from citybridge.api.routes.common import ID_PATTERN, errors
from citybridge.errors import Unauthorized
from citybridge.model.access import Caller
from citybridge.notify.model import Subscription

router = APIRouter(tags=["dissemination"])
MemberId = Annotated[str, Path(pattern=ID_PATTERN, description="the member's record id", examples=["per_123"])]


def personal_caller(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                    ) -> Caller:
    """Who manages subscriptions: a bearer token's caller; in development with no token configured, a local
    curator from 127.0.0.1; nobody else (a subscription is personal)."""
    settings = request.app.state.hub.settings
    token = creds.credentials if creds is not None else None
    if not token:
        host = request.client.host if request.client else None
        if dev_local_writes(settings, host):
            return LOCAL_CURATOR
        raise Unauthorized("subscriptions need a bearer token (Authorization: Bearer ...)", field="authorization")
    return grant_for(settings, token, request.app.state.hub.store).caller


PersonalDep = Annotated[Caller, Depends(personal_caller)]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320, description="default: the record's own address")
    language: str | None = Field(default=None, description="en, es, pt, fr or de")


class MemberOut(BaseModel):
    id: str
    email: str
    language: str
    status: str


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="theme, keyword, place, search, record or profile", examples=["place"])
    value: str | None = Field(default=None, max_length=1000, description="sdg:7, a place, words, a record id",
                              examples=["Lisbon"])
    filters: dict[str, Any] | None = Field(default=None, description="saved-search filters (type search)")
    frequency: str = Field(default="weekly", description="daily, weekly or monthly")
    channel: str = Field(default="email", description="email, feed or both")


class SubscriptionOut(BaseModel):
    id: str
    member: str
    type: str
    label: str
    target: str | None
    query: str | None
    filters: dict[str, Any]
    frequency: str
    channel: str
    last_digest_at: str | None
    feed: str | None = Field(default=None, description="signed Atom feed URL (channel feed or both)")


def sub_out(hub: Any, sub: Subscription) -> dict[str, Any]:
    return {"id": sub.id, "member": sub.member_id, "type": sub.type, "label": sub.label, "target": sub.target,
            "query": sub.query, "filters": sub.filters, "frequency": sub.frequency, "channel": sub.channel,
            "last_digest_at": sub.last_digest_at.isoformat() if sub.last_digest_at else None,
            "feed": hub.feed_link(sub) if sub.channel in ("feed", "both") else None}


@router.put("/members/{member_id}", response_model=MemberOut, responses=errors(401, 403, 404, 422))
def register_member(hub: HubDep, caller: PersonalDep, member_id: MemberId, body: MemberIn) -> dict[str, Any]:
    """Register a person, organisation or city record for digests (or change its address or language)."""
    m = hub.register_member(member_id, email=body.email, language=body.language, caller=caller,
                            changed_by=f"api:{caller.user}")
    return {"id": m.id, "email": m.email, "language": m.language, "status": m.status}


@router.get("/members/{member_id}/subscriptions", response_model=list[SubscriptionOut],
            responses=errors(401, 404))
def list_subscriptions(hub: HubDep, caller: PersonalDep, member_id: MemberId) -> list[dict[str, Any]]:
    """The member's subscriptions."""
    return [sub_out(hub, s) for s in hub.subscriptions(member_id, caller=caller)]


@router.post("/members/{member_id}/subscriptions", response_model=SubscriptionOut, status_code=201,
             responses=errors(401, 403, 404, 422))
def add_subscription(hub: HubDep, caller: PersonalDep, member_id: MemberId, body: SubscriptionIn,
                     response: Response) -> dict[str, Any]:
    """Follow a theme, keyword, place, saved search, record or the member's own profile (200 when the
    member already follows it: its frequency and channel are updated)."""
    sub, created = hub.subscribe(member_id, body.type, body.value, filters=body.filters, frequency=body.frequency,
                                 channel=body.channel, caller=caller, changed_by=f"api:{caller.user}")
    if not created:
        response.status_code = 200
    return sub_out(hub, sub)


@router.delete("/subscriptions/{sub_id}", status_code=204, responses=errors(401, 404))
def remove_subscription(hub: HubDep, caller: PersonalDep,
                        sub_id: Annotated[str, Path(pattern=r"^sub_[0-9a-f]{20}$")]) -> Response:
    """Stop one subscription."""
    hub.unsubscribe(sub_id, caller=caller)
    return Response(status_code=204)


@router.get("/members/{member_id}/digest", responses=errors(401, 404))
def preview_digest(hub: HubDep, caller: PersonalDep, member_id: MemberId) -> dict[str, Any]:
    """The member's next digest as it would be sent now (nothing is recorded): sections of items, each
    with the reasons it was chosen."""
    digest = hub.digest(member_id, caller=caller)
    return {**digest.to_dict(), "subject": hub.render_digest(digest)["subject"]}
