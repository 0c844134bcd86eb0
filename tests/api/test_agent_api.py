"""Issue 4, items 4-6: the agent API over mTLS and agent administration.

Agents come into being the real way: a join token from POST
/v1/join-tokens on the admin socket, then POST /v1/agent/attest with a
CSR made by `openssl req`.  Each agent then calls the agent routes with
its SVID as the TLS client certificate (Python's ssl).  Certificates are
judged by `openssl verify`, never by this file.

A superseded, banned or evicted agent SVID still verifies against the
bundle, so the caller has an identity but no agent role: the routes
answer 403 (a caller without any certificate gets 401).
"""
import base64
import hashlib
import http.client
import json
import os
import sqlite3

import pytest
import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from harness import BIN, Server, bundle_roots, der_to_pem, run, uri_sans

TD = "spiffe://example.org"
SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                    "openapi.yaml")
_registry = None


def conforms(value, schema):
    """Validate an answer against a schema of docs/openapi.yaml."""
    global _registry
    if _registry is None:
        with open(SPEC) as f:
            doc = yaml.safe_load(f)
        _registry = Registry().with_resource(
            "urn:spec", DRAFT202012.create_resource(doc))
    v = OAS31Validator({"$ref": "urn:spec#/components/schemas/" + schema},
                       registry=_registry,
                       format_checker=oas31_format_checker)
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in v.iter_errors(value)]
    assert not errors, errors


@pytest.fixture
def server(tmp):
    """A server whose attestation rate limit lets a test attest at will."""
    conf = os.path.join(tmp, "svidca.conf")
    with open(conf, "w") as f:
        f.write("attest_rate = 1000;\nattest_burst = 1000;\n")
    s = Server(tmp, config=conf).start()
    yield s
    s.stop()


# ---- helpers -------------------------------------------------------------

def new_csr(tmp, name, subj="/CN=ignored"):
    """A P-256 key and a CSR for it; returns (key path, CSR base64)."""
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    r = run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-subj", subj, "-outform", "DER", "-out", csr])
    assert r.returncode == 0, r.stderr
    return key, base64.b64encode(open(csr, "rb").read()).decode()


def write_chain(tmp, name, b64s):
    path = os.path.join(tmp, name + ".pem")
    with open(path, "w") as f:
        for b in b64s:
            f.write(der_to_pem(base64.b64decode(b)))
    return path


def admin(server, method, path, body=None):
    st, text = server.socket_request(method, path, body)
    return st, (json.loads(text) if text.strip() else None)


def new_token(server, spiffe_id=None):
    body = {"ttl": 600}
    if spiffe_id:
        body["spiffe_id"] = spiffe_id
    st, tok = admin(server, "POST", "/v1/join-tokens", body)
    assert st == 201, tok
    return tok


class Agent:
    """An attested agent: its SVID and key files, and calls with them."""

    def __init__(self, server, tmp, name, alias=None):
        self.server, self.tmp, self.name = server, tmp, name
        tok = new_token(server, alias)
        self.key, csr = new_csr(tmp, name)
        st, _, body = server.https("POST", "/v1/agent/attest", {
            "attestation_type": "join_token",
            "evidence": {"token": tok["token"]}, "csr": csr})
        assert st == 200, body
        got = json.loads(body)
        assert got["spiffe_id"] == tok["agent_id"]
        self.id = got["spiffe_id"]
        self.cert = write_chain(tmp, name, got["svid"])

    def call(self, method, path, body=None, headers=None, cert=None,
             key=None):
        st, hdrs, data = self.server.https(
            method, path, body, cert=cert or self.cert, key=key or self.key,
            headers=headers)
        return st, hdrs, data

    def json(self, method, path, body=None, **kw):
        st, hdrs, data = self.call(method, path, body, **kw)
        return st, hdrs, (json.loads(data) if data else None)

    def connect(self, cert=None, key=None):
        """A kept-alive connection with this agent's (or another) SVID."""
        c = http.client.HTTPSConnection(
            "127.0.0.1", self.server.port, timeout=10,
            context=self.server.ssl_context(cert or self.cert,
                                            key or self.key))
        return c


def conn_get(c, path):
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()


def add_entries(server, *entries):
    st, res = admin(server, "POST", "/v1/entries",
                    {"entries": list(entries)})
    assert st == 200, res
    out = []
    for r in res["results"]:
        assert r["status"]["code"] == 200, r
        out.append(r["entry"])
    return out


def entry(spiffe_id, parent_id, uid, **kw):
    e = {"spiffe_id": spiffe_id, "parent_id": parent_id,
         "selectors": [{"type": "unix", "value": f"uid:{uid}"}]}
    e.update(kw)
    return e


def openssl_verify(root, leaf, purpose):
    r = run(["openssl", "verify", "-x509_strict", "-purpose", purpose,
             "-CAfile", root, leaf])
    return r.returncode == 0 and r.stdout.strip().endswith(": OK"), \
        r.stdout + r.stderr


def serial_of(pem):
    r = run(["openssl", "x509", "-in", pem, "-noout", "-serial"])
    return r.stdout.strip().split("=", 1)[1].lower()


def audit(server, action):
    """The audit rows of one action, oldest first, read from the store."""
    db = sqlite3.connect(os.path.join(server.data_dir, "svidca.db"))
    try:
        rows = db.execute(
            "SELECT actor, subject, outcome, serial, entry_id, detail "
            "FROM audit WHERE action = ? ORDER BY seq", (action,)).fetchall()
    finally:
        db.close()
    return [dict(zip(("actor", "subject", "outcome", "serial", "entry_id",
                      "detail"), row)) for row in rows]


def csr_key_sha256(tmp, csr_b64):
    """SHA-256 of the CSR's SubjectPublicKeyInfo DER, by openssl."""
    path = os.path.join(tmp, "spki.csr")
    open(path, "wb").write(base64.b64decode(csr_b64))
    pub = run(["openssl", "req", "-inform", "DER", "-in", path, "-pubkey",
               "-noout"]).stdout
    r = run(["openssl", "pkey", "-pubin", "-outform", "DER"],
            input=pub.encode(), text=False)
    assert r.stdout, r.stderr
    return hashlib.sha256(r.stdout).hexdigest()


def cli(server, *args):
    return run([BIN, "agent"] + list(args) + ["--socket", server.socket])


# ---- sync, ETag and the authorization rule ------------------------------

def test_sync_etag_alias_and_descendants(server, tmp):
    a = Agent(server, tmp, "a", alias=TD + "/node/a")
    b = Agent(server, tmp, "b")
    st, out = admin(server, "GET", "/v1/agents?spiffe_id=" + a.id)
    assert st == 200
    sel_a = out["agents"][0]["selectors"]
    assert sel_a, "an attested agent has node selectors"
    # The token's --spiffe-id made an entry (node/a, parent A).
    st, out = admin(server, "GET", "/v1/entries?parent_id=" + a.id)
    assert st == 200
    tok_entry, = out["entries"]
    assert tok_entry["spiffe_id"] == TD + "/node/a"

    server_id = TD + "/svidca/server"
    match, other, wa, wal, wsel, wnone, wch, wb = add_entries(
        server,
        {"spiffe_id": TD + "/node/sel-a", "parent_id": server_id,
         "selectors": sel_a},
        {"spiffe_id": TD + "/node/none", "parent_id": server_id,
         "selectors": sel_a + [{"type": "k", "value": "v"}]},
        entry(TD + "/wa", a.id, 1),
        entry(TD + "/wal", TD + "/node/a", 2),
        entry(TD + "/wsel", TD + "/node/sel-a", 3),
        entry(TD + "/wnone", TD + "/node/none", 4),
        entry(TD + "/wch", TD + "/wa", 5),
        entry(TD + "/wb", b.id, 6))

    st, hdrs, got = a.json("GET", "/v1/agent/entries")
    assert st == 200
    conforms(got, "AgentEntries")
    etag = hdrs["ETag"]
    assert etag == '"' + got["revision"] + '"'
    ids = {e["id"] for e in got["entries"]}
    assert ids == {tok_entry["id"], wa["id"], wal["id"], wsel["id"],
                   wch["id"]}
    assert all(e["parent_id"] != server_id for e in got["entries"]), \
        "an alias entry was handed out"

    st, hdrs, body = a.call("GET", "/v1/agent/entries",
                            headers={"If-None-Match": etag})
    assert st == 304 and body == b""
    assert hdrs["ETag"] == etag

    # A change that is not A's leaves A's revision alone.
    add_entries(server, entry(TD + "/wb2", b.id, 7))
    st, _, _ = a.call("GET", "/v1/agent/entries",
                      headers={"If-None-Match": etag})
    assert st == 304

    # A change to A's set shows at once, with a new revision.
    new, = add_entries(server, entry(TD + "/wa2", a.id, 8))
    st, hdrs, got = a.json("GET", "/v1/agent/entries",
                           headers={"If-None-Match": etag})
    assert st == 200 and hdrs["ETag"] != etag
    assert new["id"] in {e["id"] for e in got["entries"]}

    # B may have A's entries by no route.
    _, csr = new_csr(tmp, "bx")
    st, _, res = b.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": i, "csr": csr} for i in (wsel["id"], match["id"])]})
    assert [r["status"]["code"] for r in res["results"]] == [403, 403]
    # Nor may A have the alias entry itself.
    st, _, res = a.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": match["id"], "csr": csr}]})
    assert res["results"][0]["status"]["code"] == 403

    st, _, got = b.json("GET", "/v1/agent/entries")
    assert st == 200
    assert {e["spiffe_id"] for e in got["entries"]} == {TD + "/wb",
                                                        TD + "/wb2"}

    # No client certificate: no identity, 401.
    st, _, _ = server.https("GET", "/v1/agent/entries")
    assert st == 401


def test_x509_batch_statuses_and_profile(server, tmp):
    a = Agent(server, tmp, "a")
    b = Agent(server, tmp, "b")
    wa, wb = add_entries(
        server,
        entry(TD + "/web", a.id, 1, dns_names=["web.example.org"],
              x509_svid_ttl=600),
        entry(TD + "/other", b.id, 2))
    _, good = new_csr(tmp, "w1", subj="/CN=evil.example.net/O=Evil")
    _, good2 = new_csr(tmp, "w2")
    st, _, res = a.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": wa["id"], "csr": good},
        {"entry_id": wb["id"], "csr": good2},
        {"entry_id": "no-such-entry", "csr": good2},
        {"entry_id": wa["id"], "csr": base64.b64encode(b"junk").decode()},
    ]})
    assert st == 200, res
    conforms(res, "AgentX509SvidResults")
    codes = [r["status"]["code"] for r in res["results"]]
    assert codes == [200, 403, 404, 400]
    assert [r["entry_id"] for r in res["results"]] == \
        [wa["id"], wb["id"], "no-such-entry", wa["id"]]
    assert "svid" not in res["results"][1]

    ok = res["results"][0]
    assert ok["spiffe_id"] == TD + "/web"
    leaf = write_chain(tmp, "leaf", ok["svid"])
    root, = bundle_roots(server.bundle(), tmp)
    for purpose in ("sslclient", "sslserver"):
        good_v, out = openssl_verify(root, leaf, purpose)
        assert good_v, out
    assert uri_sans(leaf) == [TD + "/web"]
    text = run(["openssl", "x509", "-in", leaf, "-noout", "-text"]).stdout
    assert "DNS:web.example.org" in text
    assert "evil" not in text.lower()
    # TTL from the entry (600 s) and the CERT_BACKDATE of 10 s.
    life = run(["openssl", "x509", "-in", leaf, "-noout", "-checkend",
                "700"])
    assert life.returncode != 0, "the SVID outlives the entry's TTL"
    life = run(["openssl", "x509", "-in", leaf, "-noout", "-checkend",
                "500"])
    assert life.returncode == 0

    # One audit record, for the one SVID issued, with what it was for.
    rec, = audit(server, "svid.x509")
    assert rec["actor"] == a.id and rec["subject"] == TD + "/web"
    assert rec["serial"] == serial_of(leaf) and rec["entry_id"] == wa["id"]
    detail = json.loads(rec["detail"])
    assert detail["agent"] == a.id
    assert detail["not_after"] == ok["expires_at"]
    assert detail["key_sha256"] == csr_key_sha256(tmp, good)

    # B asking for A's entry is refused even alone.
    st, _, res = b.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": wa["id"], "csr": good}]})
    assert st == 200 and res["results"][0]["status"]["code"] == 403


def test_x509_batch_bad_requests(server, tmp):
    a = Agent(server, tmp, "a")
    _, csr = new_csr(tmp, "w")
    st, _, _ = a.call("POST", "/v1/agent/x509-svids", {"params": []})
    assert st == 400
    st, _, _ = a.call("POST", "/v1/agent/x509-svids",
                      {"params": [{"entry_id": "x", "csr": csr}],
                       "extra": 1})
    assert st == 400
    st, _, _ = a.call("POST", "/v1/agent/x509-svids",
                      {"params": [{"entry_id": "x"}]})
    assert st == 400
    st, _, _ = a.call("POST", "/v1/agent/x509-svids",
                      {"params": [{"entry_id": "x", "csr": csr}] * 501})
    assert st == 413
    st, _, _ = a.call("POST", "/v1/agent/x509-svids",
                      json.dumps({"params": [{"entry_id": "x",
                                              "csr": csr}]}),
                      headers={"Content-Type": "text/plain"})
    assert st == 415


def test_jwt_svid_and_bundles(server, tmp):
    a = Agent(server, tmp, "a")
    b = Agent(server, tmp, "b")
    wa, = add_entries(server, entry(TD + "/api", a.id, 1))
    st, _, prob = a.json("POST", "/v1/agent/jwt-svids",
                         {"entry_id": wa["id"], "audience": []})
    assert st == 400 and prob["field"] == "audience"
    st, _, got = a.json("POST", "/v1/agent/jwt-svids",
                        {"entry_id": wa["id"],
                         "audience": ["spiffe://example.org/db"]})
    assert st == 200, got
    conforms(got, "JwtSvidResult")
    assert got["spiffe_id"] == TD + "/api"
    head, payload, sig = got["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["sub"] == TD + "/api"
    assert claims["aud"] in (["spiffe://example.org/db"],
                             "spiffe://example.org/db")
    assert claims["exp"] == got["expires_at"]
    rec, = audit(server, "svid.jwt")
    assert rec["actor"] == a.id and rec["subject"] == TD + "/api"
    assert rec["entry_id"] == wa["id"]
    detail = json.loads(rec["detail"])
    assert detail["aud"] == ["spiffe://example.org/db"]
    assert detail["exp"] == got["expires_at"]
    assert detail["kid"] == json.loads(base64.urlsafe_b64decode(
        head + "=="))["kid"]
    assert sig not in rec["detail"] and payload not in rec["detail"]

    st, _, _ = b.json("POST", "/v1/agent/jwt-svids",
                      {"entry_id": wa["id"], "audience": ["x"]})
    assert st == 403
    st, _, _ = a.json("POST", "/v1/agent/jwt-svids",
                      {"entry_id": "none", "audience": ["x"]})
    assert st == 404

    st, _, got = a.json("GET", "/v1/agent/bundles")
    assert st == 200
    conforms(got, "AgentBundles")
    assert got["trust_domain"] == "example.org"
    assert got["bundles"]["example.org"]["keys"] == server.bundle()["keys"]
    assert got["tainted_authorities"] == []


# ---- renewal ---------------------------------------------------------------

def test_renew_then_old_svid_refused(server, tmp):
    a = Agent(server, tmp, "a")
    old_cert, old_key = a.cert, a.key
    old = a.connect()
    assert conn_get(old, "/v1/agent/entries")[0] == 200

    key, csr = new_csr(tmp, "a2")
    st, _, got = a.json("POST", "/v1/agent/renew", {"csr": csr})
    assert st == 200, got
    conforms(got, "SvidResult")
    assert got["spiffe_id"] == a.id
    new_cert = write_chain(tmp, "a2", got["svid"])
    assert uri_sans(new_cert) == [a.id]
    assert serial_of(new_cert) != serial_of(old_cert)
    root, = bundle_roots(server.bundle(), tmp)
    assert openssl_verify(root, new_cert, "sslclient")[0]

    # Until the new SVID is used, the old one keeps working.
    assert conn_get(old, "/v1/agent/entries")[0] == 200
    st, _, _ = a.call("GET", "/v1/agent/entries")
    assert st == 200

    # First use of the new one; from then on the old serial is refused,
    # on new connections and on the one kept open.
    st, _, _ = a.call("GET", "/v1/agent/entries", cert=new_cert, key=key)
    assert st == 200
    st, _, _ = a.call("GET", "/v1/agent/entries", cert=old_cert,
                      key=old_key)
    assert st == 403
    assert conn_get(old, "/v1/agent/entries")[0] == 403
    old.close()
    st, _, _ = a.call("GET", "/v1/agent/entries", cert=new_cert, key=key)
    assert st == 200

    st, out = admin(server, "GET", "/v1/agents?spiffe_id=" + a.id)
    assert st == 200
    assert out["agents"][0]["x509svid_serial_number"] == serial_of(new_cert)
    rec, = audit(server, "agent.renew")
    assert rec["actor"] == a.id and rec["serial"] == serial_of(new_cert)
    assert json.loads(rec["detail"])["previous_serial"] == \
        serial_of(old_cert)


# ---- ban, evict, purge and the listing -----------------------------------

def test_ban_refuses_agent_and_spares_others(server, tmp):
    a = Agent(server, tmp, "a")
    b = Agent(server, tmp, "b")
    wa, wb = add_entries(server, entry(TD + "/wa", a.id, 1),
                         entry(TD + "/wb", b.id, 2))
    kept = a.connect()
    assert conn_get(kept, "/v1/agent/entries")[0] == 200

    r = cli(server, "ban", "--spiffe-id", a.id)
    assert r.returncode == 0, r.stderr
    assert a.id in r.stdout
    r = cli(server, "ban", "--spiffe-id", a.id, "-o", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    conforms(got, "Agent")
    assert got["banned"] is True and got["spiffe_id"] == a.id
    rec = audit(server, "agent.ban")[0]
    assert rec["actor"] == "uid:%d" % os.getuid()
    assert rec["subject"] == a.id

    _, csr = new_csr(tmp, "x")
    assert a.call("POST", "/v1/agent/renew", {"csr": csr})[0] == 403
    assert a.call("GET", "/v1/agent/entries")[0] == 403
    assert a.call("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": wa["id"], "csr": csr}]})[0] == 403
    assert conn_get(kept, "/v1/agent/entries")[0] == 403
    kept.close()

    st, _, res = b.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": wb["id"], "csr": csr}]})
    assert st == 200 and res["results"][0]["status"]["code"] == 200
    assert b.call("GET", "/v1/agent/entries")[0] == 200

    r = cli(server, "list", "-o", "json")
    assert r.returncode == 0, r.stderr
    conforms(json.loads(r.stdout), "AgentList")
    banned = {x["spiffe_id"]: x["banned"] for x in
              json.loads(r.stdout)["agents"]}
    assert banned == {a.id: True, b.id: False}
    r = cli(server, "count", "--banned", "true")
    assert r.returncode == 0 and r.stdout.strip() == "1"
    r = cli(server, "show", "--spiffe-id", a.id)
    assert r.returncode == 0 and "Banned           yes" in r.stdout
    r = cli(server, "list")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].split()[:3] == ["SPIFFE", "ID", "TYPE"]
    assert len(r.stdout.splitlines()) == 3


def test_evict_then_attest_again(server, tmp):
    a = Agent(server, tmp, "a")
    st, _ = admin(server, "POST", "/v1/agents/evict", {"spiffe_id": a.id})
    assert st == 204
    assert a.call("GET", "/v1/agent/entries")[0] == 403
    st, prob = admin(server, "POST", "/v1/agents/evict",
                     {"spiffe_id": a.id})
    assert st == 404
    conforms(prob, "Problem")
    r = cli(server, "show", "--spiffe-id", a.id)
    assert r.returncode == 1

    again = Agent(server, tmp, "a-again")
    assert again.call("GET", "/v1/agent/entries")[0] == 200
    st, out = admin(server, "GET", "/v1/agents/count")
    assert st == 200 and out["count"] == 1
    conforms(out, "Count")


def test_agents_list_pages_filters_and_purge(server, tmp):
    agents = [Agent(server, tmp, f"p{i}") for i in range(3)]
    st, page = admin(server, "GET", "/v1/agents?page_size=2")
    assert st == 200 and len(page["agents"]) == 2
    conforms(page, "AgentList")
    tok = page["next_page_token"]
    st, rest = admin(server, "GET", "/v1/agents?page_size=2&page_token=" +
                     tok)
    assert st == 200 and len(rest["agents"]) == 1
    assert "next_page_token" not in rest
    seen = [x["spiffe_id"] for x in page["agents"] + rest["agents"]]
    assert sorted(seen) == sorted(x.id for x in agents)
    first = page["agents"][0]
    assert first["attestation_type"] == "join_token"
    assert first["can_reattest"] is False
    assert first["x509svid_expires_at"] > 0

    st, out = admin(server, "GET", "/v1/agents?attestation_type=x509pop")
    assert st == 200 and out["agents"] == []
    st, _ = admin(server, "GET", "/v1/agents?banned=maybe")
    assert st == 400
    st, _ = admin(server, "GET", "/v1/agents?page_size=0")
    assert st == 400
    st, _ = admin(server, "GET", "/v1/agents?spiffe_id=HTTP://x")
    assert st == 400

    st, out = admin(server, "POST", "/v1/agents/purge",
                    {"expired_for": 86400})
    assert st == 200 and out == {"purged": 0}
    conforms(out, "AgentPurgeResult")
    st, _ = admin(server, "POST", "/v1/agents/purge", {"expired_for": -1})
    assert st == 400
    r = cli(server, "purge", "--expired-for", "30d")
    assert r.returncode == 0 and r.stdout.strip() == "purged 0 agents"
    r = cli(server, "purge")
    assert r.returncode == 2
    st, out = admin(server, "GET", "/v1/agents/count")
    assert out["count"] == 3

    # The agent routes are not the operator's: the admin socket is 403.
    st, _ = admin(server, "GET", "/v1/agent/entries")
    assert st in (401, 403)
