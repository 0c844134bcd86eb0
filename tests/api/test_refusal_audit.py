"""Issue 6, item 1: refusals of authenticated callers in the audit chain.

A caller with an identity (a local uid on the admin socket here) that is
refused gets a "refused" record: actor, "<METHOD> <path>", the status as
outcome, and {status, field, rule, detail}.  At most 10 a caller and
minute are recorded; the rest are counted and their number lands in one
"refused.dropped" record when the caller's next minute begins, or at
shutdown (the server writes the drops still counted before its last
checkpoint), which is how these tests see it without waiting a minute.
Anonymous refusals (a 401 over HTTPS) leave no record.
"""
import json
import os
import sqlite3
import time

from test_socket import NOBODY, _open_socket_server

WEB = "spiffe://example.org/web"
PER_MINUTE = 10


def records(server, action):
    """Audit rows of action, read from the stopped server's database."""
    db = sqlite3.connect(os.path.join(server.data_dir, "svidca.db"))
    db.row_factory = sqlite3.Row
    got = [dict(r) for r in db.execute(
        "SELECT * FROM audit WHERE action = ? ORDER BY seq", (action,))]
    db.close()
    return got


def same_minute_ahead(seconds):
    """Wait, if need be, until seconds fit in the current minute."""
    if time.time() % 60 > 60 - seconds:
        time.sleep(61 - time.time() % 60)


def bad_mint(server):
    code, body = server.socket_request(
        "POST", "/v1/svids/x509", {"spiffe_id": "spiffe://other.org/web"})
    assert code == 400, body
    return json.loads(body)


def test_refusals_of_local_admin_recorded(server):
    # A bad batch (400 for the request), a batch refusing one item (200),
    # a bad mint (400); then an anonymous HTTPS caller refused (401).
    code, body = server.socket_request(
        "POST", "/v1/entries", {"entries": [], "bogus": 1})
    assert code == 400, body
    code, body = server.socket_request("POST", "/v1/entries", {
        "entries": [{"spiffe_id": WEB, "bogus": 2}]})
    assert code == 200, body
    assert json.loads(body)["results"][0]["status"]["code"] == 400
    bad_mint(server)
    st, _, _ = server.https("GET", "/v1/entries")
    assert st == 401
    st, _, _ = server.https("POST", "/v1/agent/attest", {"bogus": 1})
    assert st == 400

    # Visible over the API while the server runs.
    code, body = server.socket_request("GET", "/v1/audit?action=refused")
    assert code == 200, body
    assert len(json.loads(body)["records"]) == 3
    server.stop()

    got = records(server, "refused")
    assert [r["actor"] for r in got] == ["uid:0"] * 3
    assert [r["subject"] for r in got] == [
        "POST /v1/entries", "POST /v1/entries", "POST /v1/svids/x509"]
    assert [r["outcome"] for r in got] == ["400"] * 3
    d = [json.loads(r["detail"]) for r in got]
    assert d[0]["status"] == 400 and d[0]["field"] == "bogus"
    assert d[0]["rule"] == "ENTRY-13" and "bogus" in d[0]["detail"]
    assert d[1]["field"] == "entries[0]" and "bogus" in d[1]["detail"]
    assert d[2] == {"status": 400, "field": "spiffe_id", "rule": "X5-07",
                    "detail": d[2]["detail"]}
    assert "other.org" in d[2]["detail"]
    # Nothing for the strangers, and nothing dropped.
    assert records(server, "refused.dropped") == []


def test_refusals_bounded_per_minute_and_drops_counted(server):
    same_minute_ahead(30)
    start = time.time()
    for _ in range(PER_MINUTE + 5):
        bad_mint(server)
    code, body = server.socket_request("GET", "/v1/audit?action=refused")
    assert code == 200, body
    assert len(json.loads(body)["records"]) == PER_MINUTE
    assert int(time.time() // 60) == int(start // 60), "minute changed"

    # The five beyond the bound are counted into one record at shutdown.
    server.stop()
    assert len(records(server, "refused")) == PER_MINUTE
    dropped = records(server, "refused.dropped")
    assert len(dropped) == 1
    assert dropped[0]["actor"] == "uid:0"
    assert json.loads(dropped[0]["detail"]) == {
        "dropped": 5, "minute": int(start // 60) * 60}


def test_route_refusal_of_other_uid_recorded(tmp):
    s = _open_socket_server(tmp)
    try:
        code, body = s.socket_request("GET", "/v1/entries", user=NOBODY)
        assert code == 403, body
    finally:
        s.stop()
    got = records(s, "refused")
    assert len(got) == 1
    assert got[0]["actor"] == "uid:%d" % NOBODY
    assert got[0]["subject"] == "GET /v1/entries"
    assert got[0]["outcome"] == "403"
    d = json.loads(got[0]["detail"])
    assert d["field"] == "uid" and d["rule"] == "authz.default-deny"
