"""The authorisation rule of every route of the app: who may call it, and for routes about one record, which
records. ``test_matrix.py`` walks the app's route table and fails on any route without a rule here, so a new
route cannot ship unexamined.

Rule kinds
    open        anyone; what they see is filtered (checked by the leak tests)
    record      about one record: 200 for a caller who may see it, 404 (as if absent) for anyone else
    write       API write: anonymous 401, roles that may not write 403; with ``record``, also 404 on what the
                writer may not see
    curator     API/page for curators: anonymous 401, others 403 (pages: 401/403)
    personal    needs an identified caller (anonymous 401)
    admin       admins only (anonymous 401, others 403)
    signed_in   a page of the signed-in account (anonymous 401)
    edit        the record edit page: writers who may see the record (anonymous 401, readers 403, unseen 404)
    form        a web form post: refused without this browser's CSRF token whoever posts it; ``then`` is the
                rule once the token is there
    capability  reached by a secret or signed link (invitation, unsubscribe, feed): no caller rule, the link
                is the right; checked by their own tests
    static      documentation and static files
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from security.conftest import NETWORK, PRIVATE, PUBLIC


@dataclass(frozen=True)
class Rule:
    kind: str
    then: str | None = None  # for forms: the rule once the CSRF token is sent
    json: Any = None  # request body (API)
    data: dict[str, Any] = field(default_factory=dict)  # form fields (web)
    query: str = ""
    targets: dict[str, str] = field(default_factory=lambda: {"public": PUBLIC, "network": NETWORK,
                                                             "private": PRIVATE})
    params: dict[str, str] = field(default_factory=dict)  # other path parameters
    ok: tuple[int, ...] = (200,)


SAME = {"kind": "organization", "name": "Lisbon City Council"}
ORG = {"kind": "organization", "name": "Matrix Test Org", "id": "org_matrix_probe"}
NOREC = {"public": "org_missing_probe"}

RULES: dict[tuple[str, str], Rule] = {
    # ------------------------------------------------------------------ REST API
    ("GET", "/api/v1/entities"): Rule("open"),
    ("POST", "/api/v1/entities"): Rule("write", json={"kind": "organization"}, ok=(201, 422)),
    ("GET", "/api/v1/entities/{entity_id}"): Rule("record"),
    ("PUT", "/api/v1/entities/{entity_id}"): Rule("write", json=SAME, ok=(200, 422)),
    ("DELETE", "/api/v1/entities/{entity_id}"): Rule("write", targets=NOREC, ok=(404,)),
    ("GET", "/api/v1/entities/{entity_id}/relations"): Rule("record"),
    ("GET", "/api/v1/entities/{entity_id}/network"): Rule("record"),
    ("GET", "/api/v1/entities/{entity_id}/similar"): Rule("record"),
    ("POST", "/api/v1/relations"): Rule("write", json={"type": "member_of"}, ok=(201, 422)),
    ("DELETE", "/api/v1/relations/{relation_id}"): Rule("write", params={"relation_id": "rel_missing_probe"},
                                                        ok=(404,)),
    ("GET", "/api/v1/stats"): Rule("open"),
    ("GET", "/api/v1/export"): Rule("open"),
    ("POST", "/api/v1/import"): Rule("curator", ok=(422,)),
    ("GET", "/api/v1/taxonomy"): Rule("open"),
    ("POST", "/api/v1/tag"): Rule("open", json={"texts": ["urban heat and cooling in cities"]}),
    ("GET", "/api/v1/map"): Rule("open"),
    ("GET", "/api/v1/analytics/network"): Rule("open"),
    ("GET", "/api/v1/analytics/trends"): Rule("open"),
    ("GET", "/api/v1/analytics/gaps"): Rule("open"),
    ("GET", "/api/v1/search"): Rule("open", query="q=heat"),
    ("GET", "/api/v1/peer-cities/{city_id}"): Rule("record", targets={"public": "plc_lisbon", "private": PRIVATE},
                                                   ok=(200, 404, 422)),
    ("POST", "/api/v1/partners"): Rule("open", json={"text": "urban heat adaptation in school streets"}),
    ("GET", "/api/v1/link"): Rule("open", query="text=urban+heat"),
    ("POST", "/api/v1/match/affiliation"): Rule("open", json={"affiliations": ["University of Porto"]}),
    ("GET", "/api/v1/merges"): Rule("curator"),
    ("GET", "/api/v1/merges/{merge_id}"): Rule("curator", params={"merge_id": "mrg_0000000000000000"},
                                               ok=(404, 422)),
    ("POST", "/api/v1/merges/{merge_id}/accept"): Rule("curator", params={"merge_id": "mrg_0000000000000000"},
                                                       ok=(404, 422)),
    ("POST", "/api/v1/merges/{merge_id}/reject"): Rule("curator", params={"merge_id": "mrg_0000000000000000"},
                                                       ok=(404, 422)),
    ("POST", "/api/v1/merges/{merge_id}/undo"): Rule("curator", params={"merge_id": "mrg_0000000000000000"},
                                                     ok=(404, 409, 422)),
    ("PUT", "/api/v1/members/{member_id}"): Rule("personal", params={"member_id": PRIVATE},
                                                 json={"email": "x@example.org"}),
    ("GET", "/api/v1/members/{member_id}/subscriptions"): Rule("personal", params={"member_id": PRIVATE}),
    ("POST", "/api/v1/members/{member_id}/subscriptions"): Rule("personal", params={"member_id": PRIVATE},
                                                                json={"type": "keyword", "value": "heat"}),
    ("DELETE", "/api/v1/subscriptions/{sub_id}"): Rule("personal", params={"sub_id": "sub_missing"}),
    ("GET", "/api/v1/members/{member_id}/digest"): Rule("personal", params={"member_id": PRIVATE}),
    # interoperability: harvesters and catalogues see public records only (tests/interop check the content)
    ("GET", "/api/v1/catalog"): Rule("open"),
    ("GET", "/oai"): Rule("open", query="verb=Identify"),
    ("POST", "/oai"): Rule("open", query="verb=Identify"),
    ("GET", "/oai/cb_jsonld.xsd"): Rule("static"),
    ("GET", "/vocab"): Rule("static"),
    ("GET", "/api/v1/health"): Rule("open", ok=(200, 503)),  # says only whether the instance can serve
    ("GET", "/api/v1/openapi.json"): Rule("static"),
    ("GET", "/api/docs"): Rule("static"),
    ("GET", "/api/redoc"): Rule("static"),
    ("GET", "/docs/oauth2-redirect"): Rule("static"),
    ("MOUNT", "/api/docs-static"): Rule("static"),
    ("MOUNT", "/static"): Rule("static"),
    # ------------------------------------------------------------------ web pages
    ("GET", "/"): Rule("open"),
    ("GET", "/browse"): Rule("open"),
    ("GET", "/entity/{entity_id}"): Rule("record"),
    ("GET", "/map"): Rule("open"),
    ("GET", "/network/{entity_id}"): Rule("record"),
    ("GET", "/analytics"): Rule("open", query="theme=sdg:11"),
    ("GET", "/analytics/{part}.csv"): Rule("open", params={"part": "gaps"}, query="keyword=heat"),
    ("GET", "/analytics/records"): Rule("open", query="part=network&theme=sdg:11&node=org_lisbon"),
    ("GET", "/search"): Rule("open", query="q=heat"),
    ("GET", "/entity/{entity_id}/similar"): Rule("record"),
    ("GET", "/partners"): Rule("open", query="text=urban+heat"),
    ("GET", "/challenge"): Rule("open", query="text=urban+heat"),
    ("GET", "/import"): Rule("curator"),
    ("POST", "/import"): Rule("form", then="curator", ok=(422, 400)),
    ("POST", "/import/preview"): Rule("form", then="curator", ok=(422, 400, 404)),
    ("POST", "/import/commit"): Rule("form", then="curator", data={"upload": "0" * 32}, ok=(404,)),
    ("GET", "/review"): Rule("curator"),
    ("POST", "/review/{merge_id}/{action}"): Rule("form", then="curator",
                                                  params={"merge_id": "mrg_0000000000000000", "action": "reject"},
                                                  ok=(404,)),
    ("GET", "/digest"): Rule("signed_in"),
    ("POST", "/digest/subscribe"): Rule("form", then="signed_in", data={"type": "keyword", "value": "heat"},
                                        ok=(303, 404, 422)),
    ("POST", "/digest/remove"): Rule("form", then="signed_in", data={"subscription": "sub_missing"}, ok=(404,)),
    ("GET", "/unsubscribe"): Rule("capability"),
    ("POST", "/unsubscribe"): Rule("capability"),
    ("GET", "/feeds/search.atom"): Rule("open", query="q=heat"),
    ("GET", "/feeds/{sub_id}.atom"): Rule("capability"),
    ("GET", "/signin"): Rule("open"),
    ("POST", "/signin"): Rule("form", then="open", data={"email": "nobody@example.org", "password": "x" * 12},
                              ok=(401, 429)),  # 429: the same wrong address from every role is throttled
    ("POST", "/signout"): Rule("form", then="open", ok=(303,)),
    ("GET", "/account"): Rule("signed_in"),
    ("POST", "/account/tokens"): Rule("form", then="signed_in", data={"name": ""}, ok=(422,)),
    ("POST", "/account/tokens/{token_id}/revoke"): Rule("form", then="signed_in",
                                                        params={"token_id": "tok_0000000000000000"}, ok=(404,)),
    ("POST", "/account/invite"): Rule("form", then="curator", data={"email": "not-an-address"}, ok=(422,)),
    ("GET", "/invite/{secret}"): Rule("capability"),
    ("POST", "/invite/{secret}"): Rule("capability"),
    ("GET", "/admin/audit"): Rule("admin"),
    ("GET", "/admin/accounts"): Rule("admin"),
    ("POST", "/admin/accounts/{account_id}"): Rule("form", then="admin", params={"account_id": "nobody"},
                                                   ok=(404,)),
    ("GET", "/entity/{entity_id}/edit"): Rule("edit"),
    ("POST", "/entity/{entity_id}/edit"): Rule("form", then="edit", data={"version": "0", "name": "x"},
                                               ok=(409,)),
}
