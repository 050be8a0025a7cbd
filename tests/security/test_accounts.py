"""Accounts, roles, personal tokens, sign-in, invitations and the audit log, end to end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from citybridge.api import create_app
from citybridge.errors import Conflict, Invalid, NotFound
from citybridge.model.access import role_caller
from security.conftest import NETWORK, PASSWORD, PRIVATE, PUBLIC, Network, sign_in
from webforms import csrf_of


def test_roles_map_onto_callers() -> None:
    admin, w = role_caller("a", "admin")
    assert admin.admin and admin.curator and admin.member and w
    staff, w = role_caller("s", "staff")
    assert staff.member and not staff.curator and w
    member, w = role_caller("m", "member")
    assert member.member and not w
    partner, w = role_caller("p", "partner", ("lab",), record_id="org_x")
    assert not partner.member and not w and partner.principals == {"p", "lab", "org_x"}
    # a read-only token of a curator carries neither curation nor writes
    cur, w = role_caller("c", "curator", scopes=("read",))
    assert not cur.curator and not w and cur.member
    cur, w = role_caller("c", "curator", scopes=("read", "write"))
    assert not cur.curator and w


def test_passwords_and_tokens_are_stored_hashed(writable: Network) -> None:
    hub = writable.hub
    with hub.store.engine.connect() as conn:
        pw = conn.execute(text("SELECT password_hash FROM accounts WHERE id = 'member'")).scalar_one()
        hashes = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert pw.startswith("$argon2id$") and PASSWORD not in pw
    assert writable.tokens["member"] not in hashes and all(len(h) == 64 for h in hashes)
    assert hub.accounts.verify_password("member@example.org", PASSWORD).id == "member"
    assert hub.accounts.verify_password("member@example.org", "wrong password") is None
    assert hub.accounts.verify_password("nobody@example.org", PASSWORD) is None
    with pytest.raises(Invalid):
        hub.create_account("bad-address", "X", "member")
    with pytest.raises(Conflict):
        hub.create_account("member@example.org", "X", "member")
    with pytest.raises(Invalid):
        hub.create_account("new@example.org", "X", "overlord")


def test_personal_tokens_scopes_expiry_and_revocation(writable: Network) -> None:
    hub = writable.hub
    read, info = hub.create_token("staff", "laptop", ["read"], 30)
    write, winfo = hub.create_token("staff", "sync", "read,write", None)
    with TestClient(create_app(hub, web=False), raise_server_exceptions=False, client=("10.0.0.7", 1)) as c:
        def h(tok: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tok}"}

        assert c.get(f"/api/v1/entities/{NETWORK}").status_code == 404
        assert c.get(f"/api/v1/entities/{NETWORK}", headers=h(read)).status_code == 200
        body = {"kind": "organization", "name": "Lisbon City Council (edited)"}
        assert c.put(f"/api/v1/entities/{PUBLIC}", json=body, headers=h(read)).status_code == 403
        assert c.put(f"/api/v1/entities/{PUBLIC}", json=body, headers=h(write)).status_code == 200
        # listed by the owner, revoked by the owner only
        assert {t.id for t in hub.tokens("staff")} >= {info.id, winfo.id}
        with pytest.raises(NotFound):
            hub.revoke_token("member", info.id)
        hub.revoke_token("staff", info.id)
        assert c.get(f"/api/v1/entities/{NETWORK}", headers=h(read)).status_code == 401
        # an expired token is refused
        with hub.store.engine.begin() as conn:
            conn.execute(text("UPDATE api_tokens SET expires_at = :t WHERE id = :i"),
                         {"t": datetime.now(UTC) - timedelta(minutes=1), "i": winfo.id})
        assert c.get(f"/api/v1/entities/{PUBLIC}", headers=h(write)).status_code == 401
        assert c.get(f"/api/v1/entities/{PUBLIC}", headers=h("cbt_" + "x" * 43)).status_code == 401
        # a disabled account's tokens stop working
        assert c.get(f"/api/v1/entities/{NETWORK}", headers=writable.headers("member")).status_code == 200
        hub.update_account("member", status="disabled", changed_by="cli:admin")
        assert c.get(f"/api/v1/entities/{NETWORK}", headers=writable.headers("member")).status_code == 401


def test_newcomer_invites_colleague_who_signs_in_and_sees_network_records(writable: Network) -> None:
    """The issue's 'done when': invite, accept, sign in, make a token, see network records; the admin sees it all."""
    hub = writable.hub
    app = create_app(hub)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.7", 1)) as cur:
        assert sign_in(cur, "curator@example.org").status_code == 303
        page = cur.get("/account").text
        assert 'id="invite-form"' in page
        resp = cur.post("/account/invite", data={"email": "Colleague@Example.org", "display_name": "Col League",
                                                 "role": "member", "groups": "porto-office",
                                                 "csrf": csrf_of(cur, "/account")})
        assert resp.status_code == 200, resp.text[:300]
        link = re.search(r'id="invite-link">([^<]+)<', resp.text).group(1)
        # a curator may not invite an admin
        assert cur.post("/account/invite", data={"email": "boss@example.org", "role": "admin",
                                                 "csrf": csrf_of(cur, "/account")}).status_code == 403
    path = "/invite/" + link.rsplit("/invite/", 1)[1]
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.8", 1)) as new:
        assert new.get(f"/entity/{NETWORK}").status_code == 404  # anonymous
        assert "member" in new.get(path).text
        bad = new.post(path, data={"password": "short", "password2": "short", "csrf": csrf_of(new, path)})
        assert bad.status_code == 422
        done = new.post(path, data={"password": "a long new password", "password2": "a long new password",
                                    "csrf": csrf_of(new, path)}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert new.get(path).status_code == 404  # the link is spent
        assert new.get(f"/entity/{NETWORK}").status_code == 200
        assert new.get(f"/entity/{PRIVATE}").status_code == 404
        made = new.post("/account/tokens", data={"name": "scripts", "scopes": ["read"], "expires_days": "30",
                                                 "csrf": csrf_of(new, "/account")})
        token = re.search(r'id="new-token-value">([^<]+)<', made.text).group(1)
        assert token.startswith("cbt_") and "scripts" in new.get("/account").text
        assert new.post("/signout", data={"csrf": csrf_of(new, "/account")}).status_code == 200
        assert new.get(f"/entity/{NETWORK}").status_code == 404
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.9", 1)) as api:
        assert api.get(f"/api/v1/entities/{NETWORK}").status_code == 404
        assert api.get(f"/api/v1/entities/{NETWORK}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    colleague = hub.accounts.find("colleague@example.org")
    assert colleague.role == "member" and colleague.groups == ("porto-office",)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.7", 1)) as adm:
        assert adm.get("/admin/audit").status_code == 401
        sign_in(adm, "admin@example.org")
        audit = adm.get("/admin/audit").text
        assert "invite" in audit and colleague.id in audit and "token" in audit
        mine = adm.get(f"/admin/audit?user={colleague.id}").text
        assert "curator</td>" not in mine and "account" in mine
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1", client=("10.0.0.7", 1)) as cur:
        sign_in(cur, "curator@example.org")
        assert cur.get("/admin/audit").status_code == 403


def test_login_throttling(writable: Network) -> None:
    with TestClient(create_app(writable.hub), raise_server_exceptions=False, base_url="http://127.0.0.1",
                    client=("10.0.0.7", 1)) as c:
        for _ in range(5):
            assert sign_in(c, "staff@example.org", "not the password").status_code == 401
        assert sign_in(c, "staff@example.org").status_code == 429  # even the right password, for a while
        assert sign_in(c, "member@example.org").status_code == 303  # another account is not locked out
    with writable.hub.store.engine.begin() as conn:
        conn.execute(text("UPDATE login_failures SET at = :t"), {"t": datetime.now(UTC) - timedelta(hours=1)})
    with TestClient(create_app(writable.hub), raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        assert sign_in(c, "staff@example.org").status_code == 303


def test_session_cookie_flags_and_fixation(writable: Network) -> None:
    app = create_app(writable.hub)
    with TestClient(app, raise_server_exceptions=False, base_url="https://citybridge.example") as c:
        planted = "attacker-chosen-session-id-0123456789"
        c.cookies.set("citybridge_session", planted)
        resp = sign_in(c, "staff@example.org")
        cookie = resp.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        sid = resp.cookies.get("citybridge_session") or re.search(r"citybridge_session=([^;]+)", cookie).group(1)
        assert sid != planted and len(sid) >= 40
        assert writable.hub.accounts.session_account(planted) is None
        assert writable.hub.accounts.session_account(sid).id == "staff"
        c.post("/signout", data={"csrf": csrf_of(c, "/account")})
        assert writable.hub.accounts.session_account(sid) is None  # ended on the server, not just forgotten
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        resp = sign_in(c, "staff@example.org")
        assert "Secure" not in resp.headers["set-cookie"]


def test_audit_log_records_writes_and_is_append_only(writable: Network) -> None:
    hub = writable.hub
    with TestClient(create_app(hub, web=False), raise_server_exceptions=False, client=("10.0.0.7", 1)) as c:
        h = writable.headers("staff")
        r = c.put(f"/api/v1/entities/{NETWORK}", json={"kind": "organization", "name": "Heat Network Office",
                                                      "visibility": "public"}, headers=h)
        assert r.status_code == 200, r.text
        c.delete(f"/api/v1/entities/{PUBLIC}", headers=h)
    entries = hub.audit_log(user="staff")
    actions = [e.action for e in entries]
    assert actions[:3] == ["delete", "visibility", "update"]
    vis = entries[1]
    assert vis.interface == "api" and vis.entity_ids == [NETWORK] and vis.detail["visibility"] == ["network", "public"]
    assert "visibility" in entries[2].fields
    setup = hub.audit_log(user="setup", limit=1000)
    assert {e.action for e in setup} == {"account", "token"} and {e.interface for e in setup} == {"cli"}
    with pytest.raises(Exception) as denied:
        hub.audit_log(caller=role_caller("m", "member")[0])
    assert getattr(denied.value, "status", None) == 403
    for sql in ("UPDATE audit_log SET actor = 'someone'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), hub.store.engine.begin() as conn:
            conn.execute(text(sql))
    assert hub.audit_log(user="staff") == entries  # nothing changed


def test_role_change_is_audited(writable: Network) -> None:
    hub = writable.hub
    hub.update_account("member", role="staff", groups=["porto-office"], changed_by="web:admin")
    entry = hub.audit_log(action="role")[0]
    assert entry.actor == "admin" and entry.interface == "web" and entry.entity_ids == ["member"]
    assert entry.detail["role"] == ["member", "staff"] and set(entry.fields) == {"role", "groups"}
    with pytest.raises(Exception) as denied:
        hub.update_account("member", role="admin", caller=role_caller("c", "curator")[0])
    assert getattr(denied.value, "status", None) == 403
