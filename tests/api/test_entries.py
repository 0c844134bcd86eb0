"""Issue 3: registration entries over REST (HTTPS with an admin SVID, and
the admin socket) and the `svidca entry` commands.  Every refusal is
checked for its status, field and rule, and for leaving nothing stored."""
import http.client
import json
import os
import signal
import socket
import ssl
import time
import urllib.parse

import pytest

from harness import BIN, Server, run

TD = "example.org"
ADMIN = "spiffe://example.org/admin"
NOBODY = "spiffe://example.org/nobody"
SHARED = os.environ.get("SVIDCA_SHARED", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared"))

ROUTES = [
    ("GET", "/v1/entries", None),
    ("POST", "/v1/entries", {"entries": []}),
    ("GET", "/v1/entries/count", None),
    ("POST", "/v1/entries/batch-delete", {"ids": ["x"]}),
    ("GET", "/v1/entries/x", None),
    ("PUT", "/v1/entries/x", {}),
    ("PATCH", "/v1/entries/x", {"hint": "h"}),
    ("DELETE", "/v1/entries/x", None),
]


# ---- helpers ---------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over the admin socket (one connection, kept alive)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(120)
        s.connect(self.unix_path)
        self.sock = s


class Api:
    """Requests to one server: over its socket, or HTTPS with a cert."""

    def __init__(self, server, cert=None, key=None):
        self.server = server
        self.cert = cert
        self.key = key
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if self.cert is None:
                self.conn = UnixHTTPConnection(self.server.socket)
            else:
                ctx = self.server.ssl_context(self.cert, self.key)
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.server.port, timeout=120,
                    context=ctx)
        return self.conn

    def raw(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return r.status, hdrs, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def call(self, method, path, body=None, headers=None):
        st, h, data = self.raw(method, path, body, headers)
        doc = json.loads(data) if data else None
        return st, h, doc

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def create(self, entries):
        st, _, doc = self.call("POST", "/v1/entries", {"entries": entries})
        assert st == 200, doc
        assert len(doc["results"]) == len(entries)
        return doc["results"]

    def count(self, **filters):
        st, _, doc = self.call("GET", "/v1/entries/count" + qs(filters))
        assert st == 200, doc
        return doc["count"]

    def list_all(self, page_size=5000, **filters):
        """Every page; returns (entries, number of pages)."""
        out, pages, token = [], 0, None
        while True:
            q = dict(filters)
            q["page_size"] = page_size
            if token:
                q["page_token"] = token
            st, _, doc = self.call("GET", "/v1/entries" + qs(q))
            assert st == 200, doc
            pages += 1
            assert set(doc) <= {"entries", "next_page_token"}
            token = doc.get("next_page_token")
            if token is not None:
                # More remains: the page is full, never empty.
                assert len(doc["entries"]) == page_size
            out += doc["entries"]
            if token is None:
                return out, pages


def qs(params):
    pairs = []
    for k, v in params.items():
        for x in (v if isinstance(v, list) else [v]):
            pairs.append((k, str(x).lower() if isinstance(x, bool)
                          else str(x)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def cli(*args, **kw):
    return run([BIN] + [str(a) for a in args], **kw)


def entry(path, parent="/agent/a", sels=(("unix", "uid:1000"),), **kw):
    e = {"spiffe_id": "spiffe://example.org" + path,
         "parent_id": "spiffe://example.org" + parent,
         "selectors": [{"type": t, "value": v} for t, v in sels]}
    e.update(kw)
    return e


def mint(server, tmp, spiffe_id, name):
    """An X.509-SVID and key for spiffe_id, minted over the socket."""
    out = os.path.join(tmp, name + ".pem")
    key = os.path.join(tmp, name + ".key")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id",
            spiffe_id, "--key-out", key, "--out", out)
    assert r.returncode == 0, r.stderr
    return out, key


def https_after_start(s, cert, key):
    """An Api for s once its HTTPS listener completes handshakes: the
    server answers /live before it has installed its own SVID."""
    deadline = time.time() + 30
    while True:
        a = Api(s, cert, key)
        try:
            a.call("GET", "/v1/entries/count")
            return a
        except (ssl.SSLError, ConnectionError):
            a.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def problem(st, h, doc, status, field, rule=None):
    assert st == status, doc
    assert h.get("content-type", "").startswith("application/problem+json")
    assert doc["status"] == status
    assert doc.get("field") == field, doc
    if rule is not None:
        assert doc.get("rule", "").startswith(rule), doc


def vectors():
    with open(os.path.join(SHARED, "conformance", "spiffeid-vectors.json"),
              encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def admin_server(tmp):
    cfg = os.path.join(tmp, "svidca.conf")
    with open(cfg, "w") as f:
        f.write('admin_ids = ["%s"];\n' % ADMIN)
    s = Server(tmp, config=cfg).start()
    yield s
    s.stop()


@pytest.fixture
def api(server):
    a = Api(server)
    yield a
    a.close()


# ---- 10,000 entries over HTTPS ----------------------------------------

N = 10000
BATCH = 500
PARENTS = 50


def big_entry(i):
    sels = [("unix", f"uid:{i}"), ("k8s", f"ns:{i % 10}")]
    if i % 3 == 0:
        sels.append(("env", "prod"))
    return entry(f"/svc/{i}", parent=f"/agent/{i % PARENTS}", sels=sels,
                 hint=f"h{i % 7}")


def big_sels(i):
    s = {("unix", f"uid:{i}"), ("k8s", f"ns:{i % 10}")}
    if i % 3 == 0:
        s.add(("env", "prod"))
    return s


def sel_args(sels):
    return [f"{t}:{v}" for t, v in sels]


def test_ten_thousand_entries_over_https(admin_server, tmp):
    s = admin_server
    cert, key = mint(s, tmp, ADMIN, "admin")
    https = Api(s, cert, key)
    ids = {}

    # Created over HTTPS with the admin SVID, in batches of 500.
    for b in range(0, N, BATCH):
        results = https.create([big_entry(i) for i in range(b, b + BATCH)])
        for i, r in zip(range(b, b + BATCH), results):
            assert r["status"] == {"code": 200, "message": "ok"}, r
            assert r["entry"]["spiffe_id"] == f"spiffe://{TD}/svc/{i}"
            assert r["entry"]["created_by"] == ADMIN
            assert r["entry"]["revision_number"] == 1
            ids[r["entry"]["id"]] = i
    assert len(ids) == N

    r = cli("entry", "count", "--socket", s.socket)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(N)

    # page_size 777 visits each entry exactly once, in ID order.
    got, pages = https.list_all(page_size=777)
    assert pages == (N + 776) // 777
    seen = [e["id"] for e in got]
    assert len(seen) == N and set(seen) == set(ids)
    assert seen == sorted(seen)

    # Filter by parent.
    parent = f"spiffe://{TD}/agent/7"
    got, _ = https.list_all(parent_id=parent)
    assert {ids[e["id"]] for e in got} == \
        {i for i in range(N) if i % PARENTS == 7}
    assert https.count(parent_id=parent) == N // PARENTS

    # Selectors, in all four match modes (list and count agree).
    def check(sels, match, want):
        got, _ = https.list_all(selectors=sel_args(sels),
                                selectors_match=match)
        assert {ids[e["id"]] for e in got} == want, (sels, match)
        assert https.count(selectors=sel_args(sels),
                           selectors_match=match) == len(want)

    q = {("unix", "uid:5"), ("k8s", "ns:5")}
    check(q, "exact", {i for i in range(N) if big_sels(i) == q})
    q = {("k8s", "ns:3")}
    check(q, "superset", {i for i in range(N) if q <= big_sels(i)})
    q = {("unix", "uid:6"), ("k8s", "ns:6"), ("env", "prod"), ("x", "y")}
    check(q, "subset", {i for i in range(N) if big_sels(i) <= q})
    q = {("unix", "uid:1"), ("unix", "uid:2"), ("env", "prod")}
    check(q, "any", {i for i in range(N) if big_sels(i) & q})
    # Filters combine: parent and selectors and hint.
    got, _ = https.list_all(parent_id=parent, selectors=["env:prod"],
                            hint="h0")
    assert {ids[e["id"]] for e in got} == {
        i for i in range(N) if i % PARENTS == 7 and i % 3 == 0 and
        i % 7 == 0}
    https.close()

    # A restart keeps everything.
    s.stop()
    s.start()
    https = https_after_start(s, cert, key)
    assert https.count() == N

    # kill -9 right after a batch returned: the batch survives.
    results = https.create([big_entry(i) for i in range(N, N + BATCH)])
    assert all(r["status"]["code"] == 200 for r in results)
    last = [r["entry"]["id"] for r in results]
    https.close()
    s.stop(sig=signal.SIGKILL)
    s.start()
    https = https_after_start(s, cert, key)
    assert https.count() == N + BATCH
    for eid in (last[0], last[-1]):
        st, _, doc = https.call("GET", "/v1/entries/" + eid)
        assert st == 200 and doc["id"] == eid
    https.close()


# ---- who gets in --------------------------------------------------------


def test_roles_on_every_entry_route(admin_server, tmp):
    s = admin_server
    admin = Api(s, *mint(s, tmp, ADMIN, "admin"))
    other = Api(s, *mint(s, tmp, NOBODY, "nobody"))
    entry_admin_id = "spiffe://example.org/ops"
    entry_admin = Api(s, *mint(s, tmp, entry_admin_id, "ops"))

    for method, path, body in ROUTES:
        # No certificate: 401 problem.
        st, h, data = s.https(method, path, body=body)
        assert st == 401, (method, path, data)
        assert json.loads(data)["status"] == 401
        # A valid SVID that is no admin: 403 problem.
        st, h, doc = other.call(method, path, body)
        assert st == 403, (method, path, doc)
        assert h["content-type"].startswith("application/problem+json")
        # The admin SVID passes the role check.
        st, h, doc = admin.call(method, path, body)
        assert st not in (401, 403), (method, path, doc)
        assert st < 500, (method, path, doc)

    # An entry marked admin makes its SPIFFE ID an admin.
    st, _, doc = entry_admin.call("GET", "/v1/entries")
    assert st == 403
    res = admin.create([entry("/ops", sels=[("unix", "uid:9")],
                              admin=True)])
    assert res[0]["status"]["code"] == 200
    entry_admin.close()
    st, _, doc = entry_admin.call("GET", "/v1/entries/count")
    assert st == 200 and doc["count"] == 1
    for a in (admin, other, entry_admin):
        a.close()


# ---- duplicates, subsets, supersets ------------------------------------


def test_duplicates_ignore_selector_order(api):
    a, b, c = ("unix", "uid:1"), ("unix", "gid:1"), ("docker", "img:x")
    first = api.create([entry("/web", sels=[a, b])])[0]
    assert first["status"]["code"] == 200
    eid = first["entry"]["id"]

    res = api.create([entry("/web", sels=[b, a]),
                      entry("/web", sels=[a]),
                      entry("/web", sels=[a, b, c]),
                      entry("/web", parent="/agent/b", sels=[a, b]),
                      entry("/web", sels=[a, b, c])])
    assert res[0]["status"]["code"] == 409
    assert eid in res[0]["status"]["message"]
    assert res[0]["entry"]["id"] == eid
    assert [r["status"]["code"] for r in res[1:4]] == [200, 200, 200]
    # A duplicate of an item of the same batch is caught too.
    assert res[4]["status"]["code"] == 409
    assert res[4]["entry"]["id"] == res[2]["entry"]["id"]
    assert api.count() == 4

    # A caller-given ID is kept, and 409 when taken.
    res = api.create([entry("/given", id="my-entry.1"),
                      entry("/given2", id="my-entry.1")])
    assert res[0]["entry"]["id"] == "my-entry.1"
    assert res[1]["status"]["code"] == 409
    assert res[1]["entry"]["spiffe_id"] == "spiffe://example.org/given"
    res2 = api.create([entry("/r1", id="count"), entry("/r2", id="a" * 65)])
    assert [r["status"]["code"] for r in res2] == [400, 400]
    assert all("(rule ENTRY-10)" in r["status"]["message"] for r in res2)

    # A change that would make a duplicate is refused, nothing changes.
    sub = res[0]["entry"]["id"]
    st, h, doc = api.call("PATCH", "/v1/entries/" + sub,
                          {"spiffe_id": "spiffe://example.org/web",
                           "selectors": [{"type": "unix", "value": "gid:1"},
                                         {"type": "unix",
                                          "value": "uid:1"}]})
    assert st == 409, doc
    st, _, doc = api.call("GET", "/v1/entries/" + sub)
    assert doc["spiffe_id"] == "spiffe://example.org/given"
    assert doc["revision_number"] == 1


# ---- If-Match ------------------------------------------------------------


def test_if_match_and_revisions(api):
    eid = api.create([entry("/web", hint="one")])[0]["entry"]["id"]
    path = "/v1/entries/" + eid
    st, h, doc = api.call("GET", path)
    assert st == 200 and h["etag"] == '"1"'

    st, h, doc = api.call("PATCH", path, {"hint": "two"},
                          {"If-Match": '"1"'})
    assert st == 200, doc
    assert h["etag"] == '"2"' and doc["revision_number"] == 2
    assert doc["hint"] == "two"
    assert doc["selectors"] == [{"type": "unix", "value": "uid:1000"}]

    # Stale: 412, and nothing changes.
    for method, body in (("PATCH", {"hint": "three"}),
                         ("PUT", entry("/other", hint="three"))):
        st, h, doc = api.call(method, path, body, {"If-Match": '"1"'})
        problem(st, h, doc, 412, "If-Match")
        assert "revision 2" in doc["detail"]
    st, h, doc = api.call("GET", path)
    assert doc["hint"] == "two" and doc["revision_number"] == 2
    assert doc["spiffe_id"] == "spiffe://example.org/web"

    # Malformed If-Match is refused, not ignored.
    for bad in ('2', '"two"', '"-1"', 'W/"2"', '""'):
        st, h, doc = api.call("PATCH", path, {"hint": "x"},
                              {"If-Match": bad})
        problem(st, h, doc, 400, "If-Match")

    # PUT replaces: absent members take their defaults.
    st, h, doc = api.call("PUT", path, entry("/web", x509_svid_ttl=60),
                          {"If-Match": '"2"'})
    assert st == 200, doc
    assert h["etag"] == '"3"' and doc["hint"] == "" and \
        doc["x509_svid_ttl"] == 60 and doc["created_by"] == "uid:0"
    # Unconditional without If-Match; an id in the body must match.
    st, h, doc = api.call("PUT", path, entry("/web", id="another"))
    problem(st, h, doc, 400, "id", "ENTRY-13")
    st, h, doc = api.call("PUT", path, entry("/web", id=eid, hint="h"))
    assert st == 200 and doc["revision_number"] == 4

    # Unknown entries: 404.
    st, h, doc = api.call("PATCH", "/v1/entries/nope", {"hint": "x"})
    problem(st, h, doc, 404, "id")
    st, h, doc = api.call("PUT", "/v1/entries/nope", entry("/web"))
    problem(st, h, doc, 404, "id")
    st, h, doc = api.call("GET", "/v1/entries/no%20such")
    assert st == 404


# ---- the SPIFFE ID vectors ---------------------------------------------


def test_every_invalid_vector_id_refused(api):
    v = vectors()
    bad = [x["id"] for x in v["invalid_ids"]] + \
        [x["id"] for x in v["uppercase_ids"]]
    assert len(bad) >= 250
    anchor = api.create([entry("/anchor")])[0]["entry"]["id"]

    # In a batch: one 400 result per item, naming spiffe_id and the rule.
    res = api.create([entry("/x", **{"spiffe_id": b}) for b in bad])
    for b, r in zip(bad, res):
        assert r["status"]["code"] == 400, (b, r)
        msg = r["status"]["message"]
        assert msg.startswith("spiffe_id: ") and "(rule ID-" in msg, \
            (b, msg)
        assert "entry" not in r

    # As a change: a problem document with the field and the rule.
    for b in bad:
        st, h, doc = api.call("PATCH", "/v1/entries/" + anchor,
                              {"spiffe_id": b})
        problem(st, h, doc, 400, "spiffe_id", "ID-")
    # The same for parent_id.
    for b in bad[:40]:
        st, h, doc = api.call("PATCH", "/v1/entries/" + anchor,
                              {"parent_id": b})
        problem(st, h, doc, 400, "parent_id", "ID-")
    assert api.count() == 1
    st, _, doc = api.call("GET", "/v1/entries/" + anchor)
    assert doc["revision_number"] == 1


# ---- bad input -------------------------------------------------------------


def test_bad_input_is_4xx_naming_the_field(api, tmp):
    eid = api.create([entry("/anchor")])[0]["entry"]["id"]
    path = "/v1/entries/" + eid

    # Malformed JSON, wrong top level, empty body, wrong media type.
    for body in ('{"entries": [', '[]', '"x"', '{"entries": []}',
                 '{"entries": {}}', '{"entries": [], "x": 1}'):
        st, h, doc = api.call("POST", "/v1/entries", body)
        assert st == 400, (body, doc)
        assert doc["field"] in ("body", "entries", "x"), doc
    st, h, doc = api.call("POST", "/v1/entries", "")
    problem(st, h, doc, 400, "body", "RFC 8259")
    st, h, doc = api.call("POST", "/v1/entries", '{"entries": [}',
                          {"Content-Type": "text/plain"})
    problem(st, h, doc, 415, "Content-Type")
    st, h, doc = api.call("POST", "/v1/entries",
                          '{"entries": [], "entries": []}')
    problem(st, h, doc, 400, "body", "RFC 8259")

    # Each member's faults, as a change (problem) and in a batch (item).
    cases = [
        ({"x509_svid_ttl": "3600"}, 400, "x509_svid_ttl", "ENTRY-13"),
        ({"x509_svid_ttl": -1}, 400, "x509_svid_ttl", "ENTRY-07"),
        ({"x509_svid_ttl": 10 ** 12}, 400, "x509_svid_ttl", "ENTRY-07"),
        ({"jwt_svid_ttl": 86401}, 400, "jwt_svid_ttl", "ENTRY-07"),
        ({"jwt_svid_ttl": 1.5}, 400, "jwt_svid_ttl", "ENTRY-13"),
        ({"admin": "true"}, 400, "admin", "ENTRY-13"),
        ({"selectors": {}}, 400, "selectors", "ENTRY-13"),
        ({"selectors": []}, 400, "selectors", "ENTRY-03"),
        ({"selectors": [{"type": "unix", "value": "v"}] * 2}, 400,
         "selectors[1]", "ENTRY-06"),
        ({"selectors": [{"type": "", "value": "v"}]}, 400,
         "selectors[0].type", "ENTRY-04"),
        ({"selectors": [{"type": "t" * 65, "value": "v"}]}, 400,
         "selectors[0].type", "ENTRY-04"),
        ({"selectors": [{"type": "t", "value": "v" * 1025}]}, 400,
         "selectors[0].value", "ENTRY-05"),
        ({"selectors": [{"type": "t", "value": "v", "x": 1}]}, 400,
         "selectors[0].x", "ENTRY-13"),
        ({"selectors": [{"type": "unix", "value": str(i)}
                        for i in range(10000)]}, 413, "selectors",
         "ENTRY-03"),
        ({"spiffe_id": "spiffe://other.org/web"}, 400, "spiffe_id",
         "ENTRY-01"),
        ({"parent_id": "spiffe://other.org/agent"}, 400, "parent_id",
         "ENTRY-01"),
        ({"spiffe_id": "spiffe://example.org"}, 400, "spiffe_id", "X5-18"),
        ({"spiffe_id": "spiffe://example.org/" + "a" * 3000}, 400,
         "spiffe_id", "ID-14"),
        ({"dns_names": ["bad_name.org"]}, 400, "dns_names[0]",
         "RFC 1123"),
        ({"dns_names": ["a.org"] * 65}, 413, "dns_names", "ENTRY-08"),
        ({"federates_with": ["example.org"]}, 400, "federates_with[0]",
         "ENTRY-09"),
        ({"federates_with": ["Bad.Org"]}, 400, "federates_with[0]",
         "ID-05"),
        ({"expires_at": -1}, 400, "expires_at", "ENTRY-11"),
        ({"expires_at": "soon"}, 400, "expires_at", "ENTRY-13"),
        ({"hint": "h" * 1025}, 400, "hint", "ENTRY-12"),
        ({"hint": "a\u0000b"}, 400, "hint", "ENTRY-13"),
        ({"spife_id": "spiffe://example.org/a"}, 400, "spife_id",
         "ENTRY-13"),
        ({"spiffe_id": {"trust_domain": "example.org", "path": "web"}},
         400, "spiffe_id.path", "ID-12"),
    ]
    for change, status, field, rule in cases:
        st, h, doc = api.call("PATCH", path, change)
        problem(st, h, doc, status, field, rule)
        item = entry("/new")
        item.update(change)
        r = api.create([item])[0]
        assert r["status"]["code"] == status, (change, r)
        assert r["status"]["message"].startswith(field + ": "), r
        assert f"(rule {rule}" in r["status"]["message"], r

    # PATCH may not touch the server's members, nor be empty.
    for change in ({"id": "x"}, {"revision_number": 9},
                   {"created_at": 1}, {"created_by": "me"}, {}):
        st, h, doc = api.call("PATCH", path, change)
        problem(st, h, doc, 400, next(iter(change), "body"), "ENTRY-13")

    # A body over max_body is 413 before parsing.
    big = os.path.join(tmp, "big.json")
    with open(big, "w") as f:
        f.write('{"entries": ["' + "x" * (5 << 20) + '"]}')
    r = run(["curl", "-sS", "--unix-socket", api.server.socket, "-H",
             "Content-Type: application/json", "--data-binary", "@" + big,
             "-o", "-", "-w", "\n%{http_code}",
             "http://localhost/v1/entries"])
    text, _, code = r.stdout.rpartition("\n")
    assert code == "413", r.stdout[-300:]
    assert json.loads(text)["field"] == "body"

    # Nothing of the above was stored or changed.
    assert api.count() == 1
    st, _, doc = api.call("GET", path)
    assert doc["revision_number"] == 1
    assert doc["selectors"] == [{"type": "unix", "value": "uid:1000"}]


def test_batch_with_one_bad_item_stores_the_others(api):
    res = api.create([entry("/a"), entry("/b", x509_svid_ttl=-5),
                      entry("/c", sels=[("k8s", "ns:c")])])
    assert [r["status"]["code"] for r in res] == [200, 400, 200]
    assert "x509_svid_ttl" in res[1]["status"]["message"]
    assert "entry" not in res[1]
    got, _ = api.list_all()
    assert sorted(e["spiffe_id"] for e in got) == [
        "spiffe://example.org/a", "spiffe://example.org/c"]


def test_spire_export_loads_as_it_is(api, tmp):
    export = {
        "entries": [{
            "id": "5d7ff9d3-6e7b-4c59-9d34-5dd1d0b56a0c",
            "spiffe_id": {"trust_domain": TD, "path": "/db"},
            "parent_id": {"trust_domain": TD,
                          "path": "/spire/agent/join_token/abc"},
            "selectors": [{"type": "unix", "value": "uid:1001"}],
            "x509_svid_ttl": 3600, "jwt_svid_ttl": 300,
            "federates_with": ["spiffe://partner.test"],
            "hint": "", "admin": False, "downstream": True,
            "expires_at": "0", "dns_names": ["db.example.org"],
            "revision_number": "3", "store_svid": False,
            "created_at": "1700000000",
        }, {
            "spiffe_id": "spiffe://example.org/web",
            "parent_id": "spiffe://example.org/spire/agent/x",
            "selectors": [{"type": "k8s", "value": "ns:web"}],
            "expires_at": 1900000000,
        }],
        "next_page_token": "",
    }
    path = os.path.join(tmp, "export.json")
    with open(path, "w") as f:
        json.dump(export, f)
    r = cli("entry", "create", "--socket", api.server.socket, "--data",
            path)
    assert r.returncode == 0, r.stderr
    assert "5d7ff9d3-6e7b-4c59-9d34-5dd1d0b56a0c" in r.stdout
    st, _, doc = api.call("GET",
                          "/v1/entries/5d7ff9d3-6e7b-4c59-9d34-5dd1d0b56a0c")
    assert st == 200
    assert doc["spiffe_id"] == "spiffe://example.org/db"
    assert doc["federates_with"] == ["partner.test"]
    assert doc["downstream"] is True and doc["revision_number"] == 1
    assert doc["created_at"] != 1700000000
    got, _ = api.list_all(spiffe_id="spiffe://example.org/web")
    assert got[0]["expires_at"] == 1900000000


# ---- filters and pages ---------------------------------------------------


def test_filters_and_pages(api):
    api.create([
        entry("/a", sels=[("t", "1")], federates_with=["p.test"],
              hint="x"),
        entry("/b", sels=[("t", "2")],
              federates_with=["p.test", "q.test"], downstream=True),
        entry("/c", sels=[("t", "3")]),
    ])

    def names(**f):
        got, _ = api.list_all(**f)
        return sorted(e["spiffe_id"][len("spiffe://example.org/"):]
                      for e in got)

    assert names(federates_with="p.test") == ["a", "b"]
    assert names(federates_with=["spiffe://q.test"]) == ["b"]
    assert names(federates_with=["p.test"],
                 federates_with_match="exact") == ["a"]
    # An entry that federates with nobody is no match for any of them.
    assert names(federates_with=["p.test", "q.test", "r.test"],
                 federates_with_match="subset") == ["a", "b"]
    assert names(federates_with=["q.test", "r.test"],
                 federates_with_match="any") == ["b"]
    assert names(downstream=True) == ["b"]
    assert names(downstream=False) == ["a", "c"]
    assert names(hint="x") == ["a"]
    assert names(spiffe_id="spiffe://example.org/c") == ["c"]
    assert names(parent_id="spiffe://example.org/none") == []

    # Pages of 2: a token only while more remains.
    got, pages = api.list_all(page_size=2)
    assert len(got) == 3 and pages == 2
    st, _, doc = api.call("GET", "/v1/entries?page_size=3")
    assert "next_page_token" not in doc and len(doc["entries"]) == 3

    for q, field in (("page_size=0", "page_size"),
                     ("page_size=5001", "page_size"),
                     ("page_size=x", "page_size"),
                     ("page_token=%25%25", "page_token"),
                     ("selectors=novalue", "selectors"),
                     ("selectors_match=some", "selectors_match"),
                     ("downstream=yes", "downstream"),
                     ("spiffe_id=spiffe://EXAMPLE.org/a", "spiffe_id"),
                     ("federates_with=Bad", "federates_with"),
                     ("parentid=x", "query")):
        st, h, doc = api.call("GET", "/v1/entries?" + q)
        problem(st, h, doc, 400, field)
    st, h, doc = api.call("GET", "/v1/entries/count?page_size=5")
    problem(st, h, doc, 400, "query")


def test_delete_and_batch_delete(api):
    res = api.create([entry("/a"), entry("/b"), entry("/c")])
    a, b, c = (r["entry"]["id"] for r in res)
    st, h, data = api.raw("DELETE", "/v1/entries/" + a)
    assert st == 204 and data == b""
    st, h, doc = api.call("DELETE", "/v1/entries/" + a)
    problem(st, h, doc, 404, "id")
    st, _, doc = api.call("POST", "/v1/entries/batch-delete",
                          {"ids": [b, "nope", "bad/id", b]})
    assert st == 200
    assert [(r["id"], r["status"]["code"]) for r in doc["results"]] == [
        (b, 200), ("nope", 404), ("bad/id", 400), (b, 404)]
    for body, field in (({"ids": []}, "ids"), ({"ids": [1]}, "ids[0]"),
                        ({"id": [c]}, "id")):
        st, h, doc = api.call("POST", "/v1/entries/batch-delete", body)
        problem(st, h, doc, 400, field)
    assert api.count() == 1


def test_audit_records_each_change(api, server, tmp):
    eid = api.create([entry("/a")])[0]["entry"]["id"]
    api.call("PATCH", "/v1/entries/" + eid, {"hint": "h"})
    api.call("DELETE", "/v1/entries/" + eid)
    api.call("PATCH", "/v1/entries/" + eid, {"hint": "again"})
    db = os.path.join(tmp, "copy.db")
    r = cli("datastore", "backup", db, "--data-dir", server.data_dir)
    assert r.returncode == 0, r.stderr
    r = run(["sqlite3", "-json", db, "SELECT actor, action, subject, "
             "entry_id, detail FROM audit WHERE action LIKE 'entry.%' "
             "ORDER BY seq"])
    rows = json.loads(r.stdout)
    assert [x["action"] for x in rows] == [
        "entry.create", "entry.update", "entry.delete"]
    assert all(x["actor"] == "uid:0" and x["subject"] == eid and
               x["entry_id"] == eid for x in rows)
    d = [json.loads(x["detail"]) for x in rows]
    assert set(d[0]) == {"after"} and d[0]["after"]["id"] == eid
    assert d[1]["before"]["hint"] == "" and d[1]["after"]["hint"] == "h"
    assert set(d[2]) == {"before"} and d[2]["before"]["revision_number"] == 2


# ---- the CLI ---------------------------------------------------------------


def test_cli_commands(server, tmp):
    sock = server.socket
    r = cli("entry", "create", "--socket", sock, "--spiffe-id",
            "spiffe://example.org/web", "--parent-id",
            "spiffe://example.org/agent/a", "--selector", "unix:uid:1",
            "--selector", "k8s:ns:a:b", "--dns-name", "web.example.org",
            "--federates-with", "partner.test", "--x509-svid-ttl", "600",
            "--jwt-svid-ttl", "60", "--admin", "--downstream",
            "--hint", "web", "--expires-at", "1900000000", "--id", "web-1")
    assert r.returncode == 0, r.stderr
    assert "web-1" in r.stdout and "k8s:ns:a:b" in r.stdout

    r = cli("entry", "show", "--socket", sock, "--id", "web-1", "-o",
            "json")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert e["selectors"] == [{"type": "k8s", "value": "ns:a:b"},
                              {"type": "unix", "value": "uid:1"}]
    assert (e["x509_svid_ttl"], e["jwt_svid_ttl"], e["admin"],
            e["downstream"], e["hint"], e["expires_at"]) == \
        (600, 60, True, True, "web", 1900000000)
    assert e["dns_names"] == ["web.example.org"]
    assert e["federates_with"] == ["partner.test"]

    r = cli("entry", "update", "--socket", sock, "--id", "web-1",
            "--admin=false", "--hint", "new")
    assert r.returncode == 0, r.stderr
    assert "Revision        : 2" in r.stdout
    e = json.loads(cli("entry", "show", "--socket", sock, "--id", "web-1",
                       "-o", "json").stdout)
    assert e["admin"] is False and e["hint"] == "new" and \
        e["downstream"] is True

    for i in range(5):
        assert cli("entry", "create", "--socket", sock, "--spiffe-id",
                   f"spiffe://example.org/s{i}", "--parent-id",
                   "spiffe://example.org/agent/b", "--selector",
                   f"unix:uid:{i}").returncode == 0
    r = cli("entry", "list", "--socket", sock, "--page-size", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ENTRY", "ID", "SPIFFE"]
    assert lines[-1] == "6 entries" and len(lines) == 8
    r = cli("entry", "list", "--socket", sock, "-o", "json",
            "--parent-id", "spiffe://example.org/agent/b",
            "--page-size", "2")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["entries"]) == 5
    r = cli("entry", "count", "--socket", sock, "--selector",
            "unix:uid:1", "--selector", "unix:uid:2", "--match", "any")
    assert r.stdout.strip() == "3"
    r = cli("entry", "show", "--socket", sock, "--selector",
            "unix:uid:3")
    assert r.returncode == 0 and "spiffe://example.org/s3" in r.stdout

    # Refusals: 1 with the reason; usage: 2; unreachable: 3.
    r = cli("entry", "create", "--socket", sock, "--spiffe-id",
            "spiffe://other.org/x", "--parent-id",
            "spiffe://example.org/a", "--selector", "a:b")
    assert r.returncode == 1 and "ENTRY-01" in r.stderr
    r = cli("entry", "show", "--socket", sock, "--id", "nope")
    assert r.returncode == 1 and "404" in r.stderr
    r = cli("entry", "delete", "--socket", sock, "--id", "web-1", "--id",
            "nope")
    assert r.returncode == 1 and "deleted  web-1" in r.stdout
    for args in (["create", "--spiffe-id", "x"], ["update", "--id", "a"],
                 ["count", "--id", "a"], ["list", "--x509-svid-ttl", "1"],
                 ["create", "--selector", "nocolon"], ["frob"],
                 ["list", "--page-size", "0"], ["count", "extra"]):
        r = cli("entry", *args, "--socket", sock)
        assert r.returncode == 2, (args, r.stderr)
    r = cli("entry", "count", "--socket", os.path.join(tmp, "none.sock"))
    assert r.returncode == 3
    assert cli("entry", "count", "--socket", sock).stdout.strip() == "5"


def test_cli_over_https(admin_server, tmp):
    s = admin_server
    cert, key = mint(s, tmp, ADMIN, "admin")
    bundle = os.path.join(tmp, "bundle.pem")
    r = cli("bundle", "show", "--socket", s.socket)
    with open(bundle, "w") as f:
        f.write(r.stdout)
    target = ["--server", f"https://127.0.0.1:{s.port}", "--cert", cert,
              "--key", key, "--trust-bundle", bundle]
    r = cli("entry", "create", *target, "--spiffe-id",
            "spiffe://example.org/h", "--parent-id",
            "spiffe://example.org/agent/h", "--selector", "unix:uid:5")
    assert r.returncode == 0, r.stderr
    r = cli("entry", "list", *target, "-o", "json")
    e = json.loads(r.stdout)["entries"][0]
    assert e["created_by"] == ADMIN
    assert cli("entry", "count", *target).stdout.strip() == "1"
