"""End to end on 127.0.0.1: one server and three `svidca agent run`
processes, one per node attestor (issue 4, "Checked by").

- A attests with x509pop (a node CA and certificate made here with the
  openssl command) and matches a node alias through its selectors;
- B attests with a JWT from a test issuer (a key and JWKS file made with
  the npm jose library) and matches no alias;
- C attests with a join token.

The entries hold a 3-level chain under A's alias plus an entry that
loops back into it, an isolated parent cycle, an alias nobody matches
with a child, and B's and C's own entries.  The agents run with a 1 s
sync interval and short TTLs so that renewal and re-minting happen
while the test watches.  The tests run in file order on one shared
world and together take well under 90 s.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import BIN, Server, run, scratch  # noqa: E402

TD = "example.org"
SERVER_ID = f"spiffe://{TD}/svidca/server"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
JOSE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "jose_verify.mjs")
JWT_ISSUER = "https://issuer.agent-e2e.test"
JWT_AUDIENCE = "svidca-agent-e2e"
AGENT_TTL = 20          # agent SVIDs: renewed at about 9-10 s
SHORT_TTL = 14          # one workload SVID: re-minted at about 6-7 s


def sid(path):
    return f"spiffe://{TD}{path}"


def wait_for(what, pred, timeout=30, step=0.2):
    """Poll pred until it returns something true; fail naming what."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def openssl(*args, **kw):
    r = run(["openssl"] + list(args), **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout


def serial_of(pem_path):
    out = openssl("x509", "-in", pem_path, "-noout", "-serial")
    return out.strip().split("=", 1)[1].lower()


def jose(mode, payload=None):
    r = run(["node", JOSE, mode], input=None if payload is None else
            json.dumps(payload))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ensure_jose():
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "jose")):
        r = run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                timeout=300)
        assert r.returncode == 0, r.stderr


class Agent:
    """One `svidca agent run` with its data dir D and SVID dir S."""

    def __init__(self, root, name, server, bundle_file, evidence):
        self.name = name
        self.d = os.path.join(root, f"agent-{name}", "data")
        self.s = os.path.join(root, f"agent-{name}", "svids")
        self.log_path = os.path.join(root, f"agent-{name}.log")
        os.makedirs(os.path.dirname(self.d), exist_ok=True)
        self.server = server
        self.bundle_file = bundle_file
        self.evidence = evidence
        self.proc = None

    def start(self):
        args = [BIN, "agent", "run", "--server",
                f"127.0.0.1:{self.server.port}", "--trust-bundle",
                self.bundle_file, "--data-dir", self.d, "--svid-dir",
                self.s, "--sync-interval", "1"] + self.evidence
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()
        return self.proc.returncode

    def read_log(self):
        return open(self.log_path).read()

    def entry_dirs(self):
        """Entry IDs that have an svid.pem in S."""
        if not os.path.isdir(self.s):
            return set()
        return {n for n in os.listdir(self.s)
                if os.path.isfile(os.path.join(self.s, n, "svid.pem"))}

    def cert(self):
        return os.path.join(self.d, "agent.pem")

    def key(self):
        return os.path.join(self.d, "agent.key")

    def agent_https(self, method, path, body=None):
        """A request presenting this agent's current SVID."""
        return self.server.https(method, path, body=body, cert=self.cert(),
                                 key=self.key())


def make_node_pki(tmp):
    """A node CA and node-a's certificate, by the openssl command."""
    ca_key = os.path.join(tmp, "nodeca.key")
    ca = os.path.join(tmp, "nodeca.pem")
    key = os.path.join(tmp, "node-a.key")
    csr = os.path.join(tmp, "node-a.csr")
    cert = os.path.join(tmp, "node-a.pem")
    ext = os.path.join(tmp, "node-a.ext")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out",
            ca, "-days", "2", "-subj", "/CN=agent-e2e node CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=node-a")
    open(ext, "w").write("basicConstraints=critical,CA:FALSE\n"
                         "keyUsage=critical,digitalSignature\n"
                         "extendedKeyUsage=clientAuth\n"
                         "subjectAltName=DNS:node-a.agent-e2e.test\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    r = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                       capture_output=True, check=True)
    der = r.stdout
    return ca, cert, key, hashlib.sha256(der).hexdigest()


def socket_ok(srv, method, path, body=None, want=200):
    st, text = srv.socket_request(method, path, body)
    assert st == want, (method, path, st, text)
    return json.loads(text) if text else None


def create_entries(srv, entries):
    res = socket_ok(srv, "POST", "/v1/entries", {"entries": entries})
    out = []
    for e, r in zip(entries, res["results"]):
        assert r["status"]["code"] == 200, (e, r)
        out.append(r["entry"]["id"])
    return out


def csr_b64(tmp, name):
    key = os.path.join(tmp, f"{name}.key")
    der = os.path.join(tmp, f"{name}.csr.der")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj",
            "/CN=ignored", "-outform", "DER", "-out", der)
    return base64.b64encode(open(der, "rb").read()).decode()


def setup_world(w):
    """The server, the entries and the three agents, until each agent
    holds the files of all its entries.  Everything started goes into w,
    so that the fixture stops it whatever fails."""
    tmp = w["tmp"]

    # Evidence for A (x509pop) and B (jwt).
    node_ca, node_cert, node_key, leaf_hex = make_node_pki(tmp)
    issuer = json.loads(jose("issuer"))
    jwks = os.path.join(tmp, "jwks.json")
    open(jwks, "w").write(json.dumps(issuer["jwks"]))
    now = int(time.time())
    token_b = jose("sign", {"private": issuer["private"], "claims": {
        "iss": JWT_ISSUER, "sub": "node-b", "aud": [JWT_AUDIENCE],
        "region": "earth", "iat": now, "exp": now + 600}})
    jwt_file = os.path.join(tmp, "node-b.jwt")
    open(jwt_file, "w").write(token_b + "\n")

    conf = os.path.join(tmp, "svidca.conf")
    open(conf, "w").write(f"""
agent_svid_ttl = {AGENT_TTL};
attest_rate = 100;
attest_burst = 100;
node_attestors = {{
    x509pop = {{ ca_files = [ "{node_ca}" ]; }};
    jwt = ( {{
        name = "e2e";
        issuer = "{JWT_ISSUER}";
        audience = "{JWT_AUDIENCE}";
        jwks_file = "{jwks}";
        node_claim = "sub";
        selector_claims = [ "region" ];
    }} );
}};
""")
    srv = w["srv"] = Server(tmp, trust_domain=TD, config=conf)
    srv.start()
    bundle_file = os.path.join(tmp, "bootstrap-bundle.json")
    open(bundle_file, "w").write(json.dumps(srv.bundle()))

    tok = socket_ok(srv, "POST", "/v1/join-tokens", {"ttl": 600}, want=201)
    ids = {
        "A": sid(f"/svidca/agent/x509pop/{leaf_hex}"),
        "B": sid("/svidca/agent/jwt/e2e/node-b"),
        "C": tok["agent_id"],
    }
    w["agent_ids"] = ids

    # The entries; the alias entries themselves go to nobody.
    sel = [{"type": "unix", "value": "uid:1000"}]
    spec = [
        ("alias_a", {"spiffe_id": sid("/nodes/a"), "parent_id": SERVER_ID,
                     "selectors": [{"type": "x509pop",
                                    "value": "subject:cn:node-a"}]}),
        ("w1", {"spiffe_id": sid("/a/w1"), "parent_id": sid("/nodes/a"),
                "selectors": sel, "x509_svid_ttl": SHORT_TTL,
                "dns_names": ["w1.example.org"], "hint": "first"}),
        ("w2", {"spiffe_id": sid("/a/w2"), "parent_id": sid("/a/w1"),
                "selectors": sel}),
        ("w3", {"spiffe_id": sid("/a/w3"), "parent_id": sid("/a/w2"),
                "selectors": sel}),
        # Loops back: a child of w3 carrying w1's ID (cycle-safe walk).
        ("loop", {"spiffe_id": sid("/a/w1"), "parent_id": sid("/a/w3"),
                  "selectors": [{"type": "unix", "value": "uid:1001"}]}),
        ("cyc1", {"spiffe_id": sid("/cyc/1"), "parent_id": sid("/cyc/2"),
                  "selectors": sel}),
        ("cyc2", {"spiffe_id": sid("/cyc/2"), "parent_id": sid("/cyc/1"),
                  "selectors": sel}),
        ("alias_mars", {"spiffe_id": sid("/nodes/mars"),
                        "parent_id": SERVER_ID,
                        "selectors": [{"type": "jwt",
                                       "value": "claim:region:mars"}]}),
        ("mars_w", {"spiffe_id": sid("/mars/w"),
                    "parent_id": sid("/nodes/mars"), "selectors": sel}),
        ("b1", {"spiffe_id": sid("/b/b1"), "parent_id": ids["B"],
                "selectors": sel, "hint": "bee"}),
        ("b2", {"spiffe_id": sid("/b/b2"), "parent_id": ids["B"],
                "selectors": sel}),
        ("c1", {"spiffe_id": sid("/c/c1"), "parent_id": ids["C"],
                "selectors": sel}),
    ]
    made = create_entries(srv, [e for _, e in spec])
    w["e"] = dict(zip([n for n, _ in spec], made))
    w["spec"] = dict(spec)

    w["A"] = Agent(tmp, "a", srv, bundle_file,
                   ["--x509pop-cert", node_cert, "--x509pop-key", node_key])
    w["B"] = Agent(tmp, "b", srv, bundle_file, ["--jwt-file", jwt_file])
    w["C"] = Agent(tmp, "c", srv, bundle_file,
                   ["--join-token", tok["token"]])
    for n in "ABC":
        w[n].start()
    e = w["e"]
    w["want"] = {"A": {e["w1"], e["w2"], e["w3"], e["loop"]},
                 "B": {e["b1"], e["b2"]}, "C": {e["c1"]}}
    for n in "ABC":
        wait_for(f"agent {n}'s SVIDs", lambda n=n: (
            w[n].proc.poll() is None or
            pytest.fail(f"agent {n} exited:\n" + w[n].read_log())) and
            w[n].entry_dirs() == w["want"][n], timeout=30)


@pytest.fixture(scope="module")
def world():
    ensure_jose()
    tmp = scratch()
    os.chmod(tmp, 0o755)
    w = {"tmp": tmp}
    try:
        setup_world(w)
        yield w
    finally:
        for n in "ABC":
            if n in w:
                w[n].stop()
        if "srv" in w:
            w["srv"].stop()
        if os.environ.get("SVIDCA_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)


def test_each_agent_gets_exactly_its_entries(world):
    e = world["e"]
    for n in "ABC":
        assert world[n].entry_dirs() == world["want"][n], n
    # The aliases, the cycle and the unmatched alias's child: nobody's.
    nobody = {e["alias_a"], e["alias_mars"], e["mars_w"], e["cyc1"],
              e["cyc2"]}
    for n in "ABC":
        assert not nobody & set(os.listdir(world[n].s)), n
    assert not world["want"]["B"] & world["A"].entry_dirs()
    assert not world["want"]["A"] & world["B"].entry_dirs()


def test_every_svid_verifies_for_client_and_server(world):
    spec, e = world["spec"], world["e"]
    by_id = {v: k for k, v in e.items()}
    for n in "ABC":
        a = world[n]
        for eid in a.entry_dirs():
            d = os.path.join(a.s, eid)
            svid, bundle = os.path.join(d, "svid.pem"), \
                os.path.join(d, "bundle.pem")
            for purpose in ("sslclient", "sslserver"):
                r = run(["openssl", "verify", "-x509_strict", "-purpose",
                         purpose, "-CAfile", bundle, "-untrusted", svid,
                         svid])
                assert r.returncode == 0 and ": OK" in r.stdout, \
                    (n, eid, purpose, r.stdout, r.stderr)
            # The one URI SAN is the entry's SPIFFE ID.
            sans = openssl("x509", "-in", svid, "-noout", "-ext",
                           "subjectAltName")
            uris = [p.strip()[4:] for p in sans.replace("\n", ",").split(",")
                    if p.strip().startswith("URI:")]
            assert uris == [spec[by_id[eid]]["spiffe_id"]], (eid, uris)
            # bundle.pem holds every root of the trust domain's bundle.
            roots = [k for k in world["srv"].bundle()["keys"]
                     if k["use"] == "x509-svid"]
            assert open(bundle).read().count("BEGIN CERTIFICATE") == \
                len(roots)


def test_keys_are_pkcs8_0600_and_match(world):
    for n in "ABC":
        a = world[n]
        for eid in a.entry_dirs():
            d = os.path.join(a.s, eid)
            key = os.path.join(d, "key.pem")
            assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
            assert open(key).read().startswith("-----BEGIN PRIVATE KEY-----")
            pub_cert = openssl("x509", "-in", os.path.join(d, "svid.pem"),
                               "-noout", "-pubkey")
            pub_key = openssl("pkey", "-in", key, "-pubout")
            assert pub_cert == pub_key, (n, eid)
        assert stat.S_IMODE(os.stat(a.key()).st_mode) == 0o600
        assert open(a.key()).read().startswith("-----BEGIN PRIVATE KEY-----")
        uri = openssl("x509", "-in", a.cert(), "-noout", "-ext",
                      "subjectAltName")
        assert world["agent_ids"][n] in uri, (n, uri)


def test_entries_json_maps_ids_to_spiffe_ids_and_hints(world):
    spec, e = world["spec"], world["e"]
    doc = json.load(open(os.path.join(world["A"].s, "entries.json")))
    m = doc["entries"]
    assert set(m) == world["want"]["A"]
    assert m[e["w1"]]["spiffe_id"] == sid("/a/w1")
    assert m[e["w1"]]["hint"] == "first"
    assert m[e["loop"]]["spiffe_id"] == sid("/a/w1")
    assert m[e["w2"]]["hint"] == ""
    docb = json.load(open(os.path.join(world["B"].s, "entries.json")))
    assert docb["entries"][e["b1"]] == {
        **docb["entries"][e["b1"]], "spiffe_id": spec["b1"]["spiffe_id"],
        "hint": "bee"}


def test_other_agents_entry_is_403(world):
    e, b = world["e"], world["B"]
    csr = csr_b64(world["tmp"], "steal")
    st, _, body = b.agent_https("POST", "/v1/agent/x509-svids",
                                {"params": [{"entry_id": e["w1"], "csr": csr},
                                            {"entry_id": e["b1"], "csr": csr}]})
    assert st == 200, body
    res = json.loads(body)["results"]
    assert res[0]["status"]["code"] == 403 and "svid" not in res[0]
    assert res[1]["status"]["code"] == 200 and res[1]["svid"]
    st, _, body = b.agent_https("POST", "/v1/agent/jwt-svids",
                                {"entry_id": e["w1"],
                                 "audience": ["spiffe://example.org/db"]})
    assert st == 403, body
    # Nor may A have the alias entry minted.
    st, _, body = world["A"].agent_https(
        "POST", "/v1/agent/x509-svids",
        {"params": [{"entry_id": e["alias_a"], "csr": csr}]})
    assert st == 200 and json.loads(body)["results"][0]["status"]["code"] \
        == 403, body


def test_jwt_svid_verifies_with_jose(world):
    e, a = world["e"], world["A"]
    aud = ["spiffe://example.org/db", "https://api.example.org"]
    st, _, body = a.agent_https("POST", "/v1/agent/jwt-svids",
                                {"entry_id": e["w2"], "audience": aud})
    assert st == 200, body
    tok = json.loads(body)
    assert tok["spiffe_id"] == sid("/a/w2")
    out = json.loads(jose("verify", {"token": tok["token"],
                                     "bundle": world["srv"].bundle(),
                                     "sub": sid("/a/w2"), "aud": aud}))
    assert out["ok"], out["problems"]
    assert out["header"]["alg"] == "ES256" and out["header"]["kid"]
    kids = [k["kid"] for k in world["srv"].bundle()["keys"]
            if k["use"] == "jwt-svid"]
    assert out["header"]["kid"] in kids
    assert out["payload"]["sub"] == sid("/a/w2")
    assert out["payload"]["exp"] == tok["expires_at"]
    assert out["wrong_aud_refused"]
    # The judge can say no: another subject fails.
    bad = json.loads(jose("verify", {"token": tok["token"],
                                     "bundle": world["srv"].bundle(),
                                     "sub": sid("/a/w3"), "aud": aud}))
    assert not bad["ok"]
    # An empty audience is refused.
    st, _, body = a.agent_https("POST", "/v1/agent/jwt-svids",
                                {"entry_id": e["w2"], "audience": []})
    assert st == 400, body


def test_healthcheck(world, tmp):
    r = run([BIN, "agent", "healthcheck", "--data-dir", world["A"].d])
    assert r.returncode == 0, r.stdout + r.stderr
    assert world["agent_ids"]["A"] in r.stdout
    r = run([BIN, "agent", "healthcheck", "--data-dir", tmp])
    assert r.returncode == 1, r.stdout + r.stderr


def test_lost_entries_are_removed(world):
    e, a, srv = world["e"], world["A"], world["srv"]
    # Deleting w3 cuts w3 and the loop entry under it off A's chain.
    st, text = srv.socket_request("DELETE", f"/v1/entries/{e['w3']}")
    assert st in (200, 204), text
    wait_for("w3 and loop gone from A", lambda: not os.path.exists(
        os.path.join(a.s, e["w3"])) and not os.path.exists(
        os.path.join(a.s, e["loop"])), timeout=10)
    assert a.entry_dirs() == {e["w1"], e["w2"]}
    # The index dropped them before the directories went.
    doc = json.load(open(os.path.join(a.s, "entries.json")))
    assert set(doc["entries"]) == {e["w1"], e["w2"]}
    # A new entry shows up at the next sync.
    (w4,) = create_entries(srv, [{"spiffe_id": sid("/a/w4"),
                                  "parent_id": sid("/a/w2"),
                                  "selectors": [{"type": "unix",
                                                 "value": "uid:4"}]}])
    e["w4"] = w4
    wait_for("w4 at A", lambda: w4 in a.entry_dirs(), timeout=10)


def test_hostile_entry_ids_stay_inside_the_svid_dir(world):
    """An entry ID becomes a directory name: "..", or a name starting
    with a dot, must never be written, whether or not the server takes
    such an ID."""
    srv, b = world["srv"], world["B"]
    taken = []
    for i, eid in enumerate(["..", ".hidden"]):
        st, text = srv.socket_request("POST", "/v1/entries", {"entries": [{
            "id": eid, "spiffe_id": sid(f"/b/hostile{i}"),
            "parent_id": world["agent_ids"]["B"],
            "selectors": [{"type": "unix", "value": f"uid:{70 + i}"}]}]})
        assert st == 200, text
        if json.loads(text)["results"][0]["status"]["code"] == 200:
            taken.append(eid)
    if not taken:
        pytest.skip("the server refuses such entry IDs")
    mark = len(b.read_log())
    wait_for("B skipping the hostile IDs", lambda: b.read_log()[mark:].count(
        "unusable as a directory name") >= len(taken), timeout=10)
    parent = os.path.dirname(b.s)
    assert not os.path.exists(os.path.join(parent, "svid.pem"))
    assert not os.path.exists(os.path.join(parent, "key.pem"))
    assert not os.path.exists(os.path.join(b.s, ".hidden"))
    doc = json.load(open(os.path.join(b.s, "entries.json")))
    assert not set(taken) & set(doc["entries"])
    for eid in taken:
        st, text = srv.socket_request("POST", "/v1/entries/batch-delete",
                                      {"ids": [eid]})
        assert st == 200, text


def test_short_svid_is_reminted_and_agent_svid_renewed(world):
    e, a = world["e"], world["A"]
    w1 = os.path.join(a.s, e["w1"], "svid.pem")
    first = serial_of(w1)
    na = int(json.load(open(os.path.join(a.s, "entries.json")))
             ["entries"][e["w1"]]["svid_expires_at"])
    # Half of SHORT_TTL, less jitter: a new SVID before the old expires.
    second = wait_for("w1 re-minted",
                      lambda: serial_of(w1) != first and serial_of(w1),
                      timeout=SHORT_TTL + 5)
    seen = time.time()
    assert second != first
    # Due at half of its life less up to a tenth (jitter), seen within a
    # second of the 1 s sync: neither right away nor after expiry.
    assert seen < na, "re-minted only after the old one expired"
    assert seen >= na - SHORT_TTL / 2 - SHORT_TTL / 10 - 1.5, \
        f"re-minted {na - seen:.1f} s before expiry: too early"
    # Each agent renews its own SVID at about half of AGENT_TTL.
    agent_serials = {n: serial_of(world[n].cert()) for n in "AB"}
    wait_for("agent SVIDs renewed", lambda: all(
        serial_of(world[n].cert()) != agent_serials[n] for n in "AB"),
        timeout=AGENT_TTL + 5)
    assert "agent svid renewed" in a.read_log()
    # After renewing, A still syncs: a new entry reaches it.
    (w5,) = create_entries(world["srv"], [{"spiffe_id": sid("/a/w5"),
                                           "parent_id": sid("/a/w1"),
                                           "selectors": [{"type": "unix",
                                                          "value": "uid:5"}]}])
    wait_for("w5 at A after renewal", lambda: w5 in a.entry_dirs(),
             timeout=10)
    e["w5"] = w5


def test_restart_reuses_saved_svid(world):
    a = world["A"]
    before = serial_of(a.cert())
    assert a.stop() == 0
    assert "agent stopped" in a.read_log()
    dirs = a.entry_dirs()
    a.start()
    wait_for("A restarted with its saved SVID", lambda: (
        f"using the saved agent svid id={world['agent_ids']['A']} "
        f"serial={before}") in a.read_log())
    assert a.read_log().count("attested id=") == 1
    assert a.entry_dirs() == dirs
    # The restarted agent syncs: its next sync adds nothing, removes
    # nothing, and the SVIDs it restored are not minted again.
    time.sleep(2)
    assert a.entry_dirs() == dirs
    assert "first sync done" in a.read_log().split("agent started")[-1]


def test_server_restart_keeps_files_and_agents_recover(world):
    srv, e, b = world["srv"], world["e"], world["B"]
    dirs = {n: world[n].entry_dirs() for n in "ABC"}
    srv.stop()
    time.sleep(3)
    for n in "ABC":
        assert world[n].proc.poll() is None, f"agent {n} exited"
        assert world[n].entry_dirs() == dirs[n]
    srv.start()
    (b3,) = create_entries(srv, [{"spiffe_id": sid("/b/b3"),
                                  "parent_id": world["agent_ids"]["B"],
                                  "selectors": [{"type": "unix",
                                                 "value": "uid:3"}]}])
    wait_for("b3 at B after the server restart",
             lambda: b3 in b.entry_dirs(), timeout=20)
    e["b3"] = b3


def test_banned_agent_is_refused_and_others_continue(world):
    c, b, srv = world["C"], world["B"], world["srv"]
    cid = world["agent_ids"]["C"]
    st, _, body = c.agent_https("GET", "/v1/agent/entries")
    assert st == 200, body
    log_mark = len(c.read_log())
    r = run([BIN, "agent", "ban", "--socket", srv.socket, "--spiffe-id",
             cid])
    assert r.returncode == 0, r.stdout + r.stderr
    agents = socket_ok(srv, "GET", "/v1/agents")["agents"]
    assert [x["banned"] for x in agents if x["spiffe_id"] == cid] == [True]
    csr = csr_b64(world["tmp"], "banned")
    st, _, body = c.agent_https("POST", "/v1/agent/renew", {"csr": csr})
    assert st in (401, 403), body
    st, _, body = c.agent_https("GET", "/v1/agent/entries")
    assert st in (401, 403), body
    st, _, body = c.agent_https("POST", "/v1/agent/x509-svids",
                                {"params": [{"entry_id": world["e"]["c1"],
                                             "csr": csr}]})
    assert st in (401, 403), body
    wait_for("C's agent sees the refusal",
             lambda: re.search(r"refused .*status=403", c.read_log()[log_mark:]),
             timeout=10)
    # C keeps serving what it has; B carries on.
    assert c.proc.poll() is None
    assert c.entry_dirs() == world["want"]["C"]
    (b4,) = create_entries(srv, [{"spiffe_id": sid("/b/b4"),
                                  "parent_id": world["agent_ids"]["B"],
                                  "selectors": [{"type": "unix",
                                                 "value": "uid:6"}]}])
    wait_for("b4 at B after C's ban", lambda: b4 in b.entry_dirs(),
             timeout=10)


def test_agents_stop_cleanly(world):
    """SIGTERM: exit 0, a last log line, no sanitizer report."""
    for n in "ABC":
        a = world[n]
        assert a.stop() == 0, n
        log = a.read_log()
        assert "info agent: agent stopped" in \
            log.rstrip().splitlines()[-1], (n, log[-500:])
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:"):
            assert bad not in log, (n, log[log.find(bad) - 200:][:2000])

