"""Issue 4, items 1-3: join tokens, the node attestors and
POST /v1/agent/attest, end to end on 127.0.0.1.

Every key, certificate and CSR is made by the openssl command; JWTs are
signed by `openssl dgst` and their DER ECDSA signatures turned into the
raw r||s of JWS here.  Agent SVIDs are checked with `openssl verify`
against the bundle the server answered with.
"""
import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import threading
import time

import pytest

from harness import BIN, Server, der_to_pem, run, uri_sans

TD = "example.org"
JWT_ISS = "https://issuer.attest.test"
JWT_AUD = "svidca-attest-test"
CONTEXT = b"svidca x509pop challenge v1\x00"


def openssl(*args, **kw):
    r = subprocess.run(["openssl"] + list(args), capture_output=True,
                       **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_csr(tmp, name):
    """An EC P-256 key and its CSR (base64 DER), by openssl req."""
    key = os.path.join(tmp, name + ".key")
    der = openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                  "-outform", "DER", "-subj", "/CN=" + name)
    return key, base64.b64encode(der).decode()


def make_ca(tmp, name):
    key = os.path.join(tmp, name + ".key")
    pem = os.path.join(tmp, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
            pem, "-days", "2", "-subj", "/CN=" + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return pem, key


def make_node(tmp, name, ca, ca_key, days="1"):
    """A node certificate under ca, by openssl req and x509 -req."""
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    cert = os.path.join(tmp, name + ".pem")
    ext = os.path.join(tmp, name + ".ext")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
            csr, "-subj", "/CN=" + name)
    open(ext, "w").write("basicConstraints=critical,CA:FALSE\n"
                         "keyUsage=critical,digitalSignature\n"
                         "extendedKeyUsage=clientAuth\n"
                         f"subjectAltName=DNS:{name}.nodes.test,"
                         f"DNS:{name}.alt.test\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", days, "-extfile", ext)
    der = openssl("x509", "-in", cert, "-outform", "DER")
    return cert, key, der


def cert_der(pem):
    return openssl("x509", "-in", pem, "-outform", "DER")


def sign_file(key, data, tmp, digest="-sha256"):
    path = os.path.join(tmp, "to-sign.bin")
    open(path, "wb").write(data)
    return openssl("dgst", digest, "-sign", key, path)


def der_sig_to_raw(der, width=32):
    """A DER Ecdsa-Sig-Value (SEQUENCE of INTEGER r, s) to r||s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        assert len(v) <= width
        out += v.rjust(width, b"\x00")
        i += 2 + n
    return out


class Issuer:
    """A JWT issuer: an EC P-256 key made by openssl, its JWKS."""

    def __init__(self, tmp, kid="t1"):
        self.tmp, self.kid = tmp, kid
        self.key = os.path.join(tmp, f"issuer-{kid}.key")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", self.key)
        spki = openssl("pkey", "-in", self.key, "-pubout", "-outform",
                       "DER")
        point = spki[-65:]
        assert point[0] == 0x04
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64u(point[1:33]),
                    "y": b64u(point[33:]), "kid": kid, "use": "sig"}

    def jwks(self):
        return {"keys": [self.jwk]}

    def token(self, claims, header=None):
        h = header or {"alg": "ES256", "kid": self.kid, "typ": "JWT"}
        signing = (b64u(json.dumps(h).encode()) + "." +
                   b64u(json.dumps(claims).encode()))
        der = sign_file(self.key, signing.encode(), self.tmp)
        return signing + "." + b64u(der_sig_to_raw(der))

    def claims(self, sub, **kw):
        now = int(time.time())
        c = {"iss": JWT_ISS, "sub": sub, "aud": [JWT_AUD], "iat": now - 5,
             "exp": now + 300, "zone": "eu-1"}
        c.update(kw)
        return c


@pytest.fixture
def world(tmp):
    """A server with all three attestors and the rate limit raised."""
    ca, ca_key = make_ca(tmp, "node-ca")
    issuer = Issuer(tmp)
    jwks = os.path.join(tmp, "jwks.json")
    open(jwks, "w").write(json.dumps(issuer.jwks()))
    conf = os.path.join(tmp, "svidca.conf")
    open(conf, "w").write(f"""
attest_rate = 100;
attest_burst = 100;
agent_svid_ttl = 1800;
node_attestors = {{
    x509pop = {{ ca_files = [ "{ca}" ]; }};
    jwt = ( {{
        name = "test";
        issuer = "{JWT_ISS}";
        audience = "{JWT_AUD}";
        jwks_file = "{jwks}";
        node_claim = "sub";
        selector_claims = [ "zone" ];
        max_token_age = 600;
    }} );
}};
""")
    s = Server(tmp, trust_domain=TD, config=conf).start()
    yield {"srv": s, "tmp": tmp, "ca": ca, "ca_key": ca_key,
           "issuer": issuer}
    # A clean stop: under the sanitizers, a leak or fault shows here.
    assert s.stop() == 0, s.read_log()[-4000:]
    assert "runtime error" not in s.read_log()


def admin(srv, method, path, body=None):
    st, text = srv.socket_request(method, path, body)
    return st, (json.loads(text) if text.strip() else None)


def new_token(srv, **body):
    st, tok = admin(srv, "POST", "/v1/join-tokens", body or {"ttl": 600})
    assert st == 201, tok
    return tok


def attest(srv, body, headers=None):
    st, hdrs, data = srv.https("POST", "/v1/agent/attest", body,
                               headers=headers)
    return st, hdrs, (json.loads(data) if data else None)


def check_svid(tmp, got, want_id, csr_key):
    """The agent SVID verifies against the answered bundle, for its ID."""
    assert got["spiffe_id"] == want_id
    leaf = os.path.join(tmp, "agent-leaf.pem")
    open(leaf, "w").write(der_to_pem(base64.b64decode(got["svid"][0])))
    roots = os.path.join(tmp, "agent-roots.pem")
    with open(roots, "w") as f:
        for k in got["bundle"]["keys"]:
            if k.get("use") == "x509-svid":
                f.write(der_to_pem(base64.b64decode(k["x5c"][0])))
    r = run(["openssl", "verify", "-x509_strict", "-purpose", "sslclient",
             "-CAfile", roots, leaf])
    assert r.returncode == 0, r.stdout + r.stderr
    assert uri_sans(leaf) == [want_id]
    pub = openssl("pkey", "-in", csr_key, "-pubout")
    assert openssl("x509", "-in", leaf, "-noout", "-pubkey") == pub
    assert 1700 <= got["expires_at"] - int(time.time()) <= 1800


def agent_record(srv, agent_id):
    st, out = admin(srv, "GET", "/v1/agents?spiffe_id=" + agent_id)
    assert st == 200, out
    assert len(out["agents"]) == 1
    return out["agents"][0]


# ---- join tokens ---------------------------------------------------------

def test_join_token_end_to_end(world):
    srv, tmp = world["srv"], world["tmp"]
    before = int(time.time())
    tok = new_token(srv, ttl=900)
    assert len(tok["token"]) == 43
    assert len(tok["token_id"]) == 32
    assert int(tok["token_id"], 16) >= 0
    assert tok["agent_id"] == (f"spiffe://{TD}/svidca/agent/join_token/"
                               + tok["token_id"])
    assert before + 900 <= tok["expires_at"] <= int(time.time()) + 900
    assert "entry_id" not in tok

    key, csr = new_csr(tmp, "agent-jt")
    st, _, got = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": csr})
    assert st == 200, got
    check_svid(tmp, got, tok["agent_id"], key)
    assert len(got["svid"]) == 1
    assert got["bundle"]["spiffe_sequence"] >= 1

    # The token is used up: the same one again is refused.
    _, csr2 = new_csr(tmp, "agent-jt2")
    st, _, err = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": csr2})
    assert st == 401, err
    assert err["detail"] == "token already used"
    assert "attestation refused" in srv.read_log()
    assert tok["token"] not in srv.read_log()


def test_join_token_agent_record(world):
    srv, tmp = world["srv"], world["tmp"]
    tok = new_token(srv)
    _, csr = new_csr(tmp, "agent-rec")
    st, _, got = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": csr})
    assert st == 200, got
    a = agent_record(srv, tok["agent_id"])
    assert a["attestation_type"] == "join_token"
    assert a["selectors"] == [{"type": "join_token",
                               "value": "id:" + tok["token_id"]}]
    assert a["x509svid_expires_at"] == got["expires_at"]
    assert a["banned"] is False


def test_unknown_and_expired_tokens(world):
    srv, tmp = world["srv"], world["tmp"]
    _, csr = new_csr(tmp, "agent-x")
    st, _, err = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": "not-a-token"},
                              "csr": csr})
    assert st == 401 and err["detail"] == "unknown token", err

    tok = new_token(srv, ttl=1)
    time.sleep(2.2)
    st, _, err = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": csr})
    assert st == 401 and err["detail"] == "token expired", err


def test_concurrent_uses_of_one_token(world):
    srv, tmp = world["srv"], world["tmp"]
    tok = new_token(srv)
    _, csr = new_csr(tmp, "agent-race")
    body = {"attestation_type": "join_token",
            "evidence": {"token": tok["token"]}, "csr": csr}
    results = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one():
        start.wait()
        st, _, out = attest(srv, body)
        with lock:
            results.append((st, out))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(st for st, _ in results)
    assert codes == [200] + [401] * 19, codes
    assert all(out["detail"] == "token already used"
               for st, out in results if st == 401)


def test_bad_csr_does_not_use_the_token(world):
    srv, tmp = world["srv"], world["tmp"]
    tok = new_token(srv)
    key, csr = new_csr(tmp, "agent-csr")
    der = bytearray(base64.b64decode(csr))
    der[-3] ^= 0x55           # inside the signature
    st, _, err = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": base64.b64encode(bytes(der)).decode()})
    assert st == 400, err
    assert err["field"] == "csr"
    st, _, err = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": "%%%"})
    assert st == 400 and err["field"] == "csr", err
    st, _, got = attest(srv, {"attestation_type": "join_token",
                              "evidence": {"token": tok["token"]},
                              "csr": csr})
    assert st == 200, got
    check_svid(tmp, got, tok["agent_id"], key)


def test_malformed_requests(world):
    srv, tmp = world["srv"], world["tmp"]
    _, csr = new_csr(tmp, "agent-bad")
    cases = [
        ({"attestation_type": "tpm", "evidence": {}, "csr": csr},
         "attestation_type"),
        ({"attestation_type": "join_token", "evidence": {"token": "x"},
          "csr": csr, "extra": 1}, "body"),
        ({"attestation_type": "join_token", "csr": csr}, "evidence"),
        ({"attestation_type": "join_token", "evidence": {"token": "x"}},
         "csr"),
        ({"attestation_type": "join_token",
          "evidence": {"token": "x", "more": 1}, "csr": csr}, "evidence"),
        ({"session": "abc"}, "signature"),
    ]
    for body, field in cases:
        st, _, err = attest(srv, body)
        assert st == 400, (body, err)
        assert err["field"] == field, (body, err)
    st, _, err = attest(srv, "[1, 2]",
                        headers={"Content-Type": "application/json"})
    assert st == 400 and err["field"] == "body", err
    st, _, _ = srv.https("POST", "/v1/agent/attest", "{}",
                         headers={"Content-Type": "text/plain"})
    assert st == 415


def test_join_token_with_spiffe_id_makes_an_entry(world):
    srv = world["srv"]
    tok = new_token(srv, ttl=600, spiffe_id=f"spiffe://{TD}/node/rack-7")
    st, e = admin(srv, "GET", "/v1/entries/" + tok["entry_id"])
    assert st == 200, e
    assert e["spiffe_id"] == f"spiffe://{TD}/node/rack-7"
    assert e["parent_id"] == tok["agent_id"]
    assert e["selectors"] == [{"type": "join_token",
                               "value": "id:" + tok["token_id"]}]


def test_join_token_requests_refused(world):
    srv = world["srv"]
    for body, field in [
            ({"ttl": -1}, "ttl"),
            ({"ttl": "600"}, "ttl"),
            ({"ttl": 400 * 86400}, "ttl"),
            ({"spiffe_id": "spiffe://other.org/node"}, "spiffe_id"),
            ({"spiffe_id": f"spiffe://{TD}"}, "spiffe_id"),
            ({"spiffe_id": f"spiffe://{TD}/svidca/agent/x"}, "spiffe_id"),
            ({"spiffe_id": f"spiffe://{TD}/a/../b"}, "spiffe_id"),
            ({"nope": 1}, "body")]:
        st, err = admin(srv, "POST", "/v1/join-tokens", body)
        assert st == 400, (body, err)
        assert err["field"] == field, (body, err)
    # Anonymous callers over HTTPS get nothing.
    st, _, _ = srv.https("POST", "/v1/join-tokens", {"ttl": 60})
    assert st == 401


def test_cli_token_generate(world):
    srv = world["srv"]
    r = run([BIN, "token", "generate", "--data-dir", srv.data_dir,
             "--ttl", "120", "-o", "json"])
    assert r.returncode == 0, r.stderr
    tok = json.loads(r.stdout)
    assert tok["agent_id"].endswith("/join_token/" + tok["token_id"])
    assert abs(tok["expires_at"] - (int(time.time()) + 120)) <= 5

    r = run([BIN, "token", "generate", "--socket", srv.socket,
             "--spiffe-id", f"spiffe://{TD}/node/cli"])
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert len(lines["Token"].strip()) == 43
    assert lines["Agent ID"].strip().startswith(
        f"spiffe://{TD}/svidca/agent/join_token/")
    assert lines["Entry ID"].strip()
    assert "Expires at" in lines

    r = run([BIN, "token", "generate", "--data-dir", srv.data_dir,
             "--spiffe-id", "spiffe://other.org/x"])
    assert r.returncode == 1
    assert "spiffe_id" in r.stderr
    r = run([BIN, "token", "generate", "--ttl", "ten"])
    assert r.returncode == 2
    r = run([BIN, "token", "mint"])
    assert r.returncode == 2
    r = run([BIN, "token", "generate", "--socket", srv.socket + ".none"])
    assert r.returncode == 3


# ---- rate limit ----------------------------------------------------------

def test_rate_limit_default(server, tmp):
    _, csr = new_csr(tmp, "agent-rl")
    body = {"attestation_type": "join_token",
            "evidence": {"token": "nothing"}, "csr": csr}
    st, _, err = attest(server, body)
    assert st == 401, err
    # A bucket of one, refilled once a second: the next few requests
    # (well within a second, even under the sanitizers) meet a 429.
    for _ in range(3):
        st, hdrs, err = attest(server, body)
        if st == 429:
            break
    assert st == 429, err
    assert hdrs.get("Retry-After") == "1"
    assert hdrs.get("Content-Type") == "application/problem+json"
    assert err["status"] == 429 and err["rule"] == "attest_rate"
    time.sleep(1.1)
    st, _, err = attest(server, body)
    assert st == 401, err


# ---- x509pop -------------------------------------------------------------

def pop(world, cert, key, csr, sign_key=None, tamper=False):
    """Both steps of x509pop; returns the last (status, body)."""
    srv, tmp = world["srv"], world["tmp"]
    chain = [base64.b64encode(cert_der(cert)).decode()]
    st, _, ch = attest(srv, {"attestation_type": "x509pop",
                             "evidence": {"chain": chain}, "csr": csr})
    if st != 202:
        return st, ch
    assert set(ch) == {"session", "challenge", "expires_at"}
    nonce = base64.b64decode(ch["challenge"])
    assert len(nonce) == 32
    assert 0 < ch["expires_at"] - int(time.time()) <= 60
    msg = CONTEXT + (bytes([nonce[0] ^ 1]) + nonce[1:] if tamper else nonce)
    sig = sign_file(sign_key or key, msg, tmp)
    st, _, got = attest(srv, {"session": ch["session"],
                              "signature": base64.b64encode(sig).decode()})
    return st, got


def test_x509pop_end_to_end(world):
    tmp = world["tmp"]
    cert, key, der = make_node(tmp, "node-1", world["ca"], world["ca_key"])
    akey, csr = new_csr(tmp, "agent-pop")
    want = (f"spiffe://{TD}/svidca/agent/x509pop/"
            + hashlib.sha256(der).hexdigest())
    st, got = pop(world, cert, key, csr)
    assert st == 200, got
    check_svid(tmp, got, want, akey)

    a = agent_record(world["srv"], want)
    ca_hex = hashlib.sha256(cert_der(world["ca"])).hexdigest()
    assert a["attestation_type"] == "x509pop"
    assert sorted((s["type"], s["value"]) for s in a["selectors"]) == sorted([
        ("x509pop", "subject:cn:node-1"),
        ("x509pop", "san:dns:node-1.nodes.test"),
        ("x509pop", "san:dns:node-1.alt.test"),
        ("x509pop", "ca:sha256:" + ca_hex)])

    # A node may attest again with the same certificate: a new SVID.
    st, again = pop(world, cert, key, csr)
    assert st == 200, again
    assert again["spiffe_id"] == want
    assert again["svid"] != got["svid"]


def test_x509pop_refusals(world):
    srv, tmp = world["srv"], world["tmp"]
    cert, key, _ = make_node(tmp, "node-2", world["ca"], world["ca_key"])
    _, csr = new_csr(tmp, "agent-pop2")

    st, err = pop(world, cert, key, csr, tamper=True)
    assert st == 401 and "does not verify" in err["detail"], err
    other_key = os.path.join(tmp, "other.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", other_key)
    st, err = pop(world, cert, key, csr, sign_key=other_key)
    assert st == 401 and "does not verify" in err["detail"], err

    other_ca, other_ca_key = make_ca(tmp, "other-ca")
    stranger, skey, _ = make_node(tmp, "node-3", other_ca, other_ca_key)
    st, err = pop(world, stranger, skey, csr)
    assert st == 401, err
    assert "unable to get local issuer certificate" in err["detail"]
    assert err["rule"] == "RFC 5280 6.1"

    st, _, err = attest(srv, {"session": "A" * 32,
                              "signature": base64.b64encode(b"x").decode()})
    assert st == 401 and "unknown session" in err["detail"], err


def test_banned_agent_cannot_attest_again(world):
    srv, tmp = world["srv"], world["tmp"]
    cert, key, der = make_node(tmp, "node-ban", world["ca"],
                               world["ca_key"])
    _, csr = new_csr(tmp, "agent-ban")
    st, got = pop(world, cert, key, csr)
    assert st == 200, got
    st, out = admin(srv, "POST", "/v1/agents/ban",
                    {"spiffe_id": got["spiffe_id"]})
    assert st == 200, out
    st, err = pop(world, cert, key, csr)
    assert st == 403, err
    assert "banned" in err["detail"]


# ---- jwt -----------------------------------------------------------------

def jwt_attest(world, token, name):
    _, csr = new_csr(world["tmp"], name)
    return attest(world["srv"], {"attestation_type": "jwt",
                                 "evidence": {"token": token}, "csr": csr})


def test_jwt_end_to_end(world):
    iss, tmp = world["issuer"], world["tmp"]
    token = iss.token(iss.claims("node-7", groups=["x"]))
    akey, csr = new_csr(tmp, "agent-jwt")
    st, _, got = attest(world["srv"], {"attestation_type": "jwt",
                                       "evidence": {"token": token},
                                       "csr": csr})
    assert st == 200, got
    want = f"spiffe://{TD}/svidca/agent/jwt/test/node-7"
    check_svid(tmp, got, want, akey)
    a = agent_record(world["srv"], want)
    assert sorted((s["type"], s["value"]) for s in a["selectors"]) == [
        ("jwt", "claim:zone:eu-1"), ("jwt", "iss:test")]

    st, _, err = jwt_attest(world, token, "agent-jwt2")
    assert st == 401 and "token already used" in err["detail"], err


def test_jwt_refusals(world):
    iss = world["issuer"]
    now = int(time.time())
    cases = [
        (iss.claims("n1", aud=["someone-else"]), "aud does not name"),
        (iss.claims("n1", iss="https://evil.test"), "not a configured"),
        (iss.claims("n1", exp=now - 1, iat=now - 100), "expired"),
        (iss.claims("n1", nbf=now + 300), "not valid before"),
        (iss.claims("n1", iat=now - 601), "over max_token_age"),
        (iss.claims("system:serviceaccount:ns:sa"),
         "not one SPIFFE ID path segment"),
    ]
    for i, (claims, reason) in enumerate(cases):
        st, _, err = jwt_attest(world, iss.token(claims), f"jr{i}")
        assert st == 401, (claims, err)
        assert reason in err["detail"], (claims, err)

    # A key of another issuer under our kid: the signature fails.
    other = Issuer(world["tmp"], kid="t1-other")
    other.kid = "t1"
    st, _, err = jwt_attest(world, other.token(iss.claims("n1")), "jr-sig")
    assert st == 401 and "signature does not verify" in err["detail"], err
    # alg none, and HS256 keyed with the public JWK: refused before use.
    claims = iss.claims("n1")
    plain = (b64u(json.dumps({"alg": "none", "kid": "t1"}).encode()) + "." +
             b64u(json.dumps(claims).encode()) + ".")
    st, _, err = jwt_attest(world, plain, "jr-none")
    assert st == 401 and "alg none" in err["detail"], err
    hs = iss.token(claims, header={"alg": "HS256", "kid": "t1"})
    st, _, err = jwt_attest(world, hs, "jr-hs")
    assert st == 401 and "alg HS256 does not match" in err["detail"], err


def test_jwks_from_an_https_url(tmp):
    """jwks_url: fetched with libcurl over TLS from a local issuer."""
    iss = Issuer(tmp)
    ca, ca_key = make_ca(tmp, "jwks-ca")
    srv_key = os.path.join(tmp, "jwks-srv.key")
    srv_csr = os.path.join(tmp, "jwks-srv.csr")
    srv_cert = os.path.join(tmp, "jwks-srv.pem")
    ext = os.path.join(tmp, "jwks-srv.ext")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", srv_key, "-out",
            srv_csr, "-subj", "/CN=localhost")
    open(ext, "w").write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                         "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", srv_csr, "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", srv_cert, "-days", "1", "-extfile",
            ext)
    body = json.dumps(iss.jwks()).encode()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(srv_cert, srv_key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    conf = os.path.join(tmp, "svidca.conf")
    open(conf, "w").write(f"""
attest_rate = 100;
attest_burst = 100;
node_attestors = {{
    jwt = ( {{
        name = "remote";
        issuer = "{JWT_ISS}";
        audience = "{JWT_AUD}";
        jwks_url = "https://127.0.0.1:{port}/keys";
        jwks_ca_file = "{ca}";
        node_claim = "sub";
    }} );
}};
""")
    s = Server(tmp, trust_domain=TD, config=conf).start()
    try:
        _, csr = new_csr(tmp, "agent-url")
        st, _, got = attest(s, {"attestation_type": "jwt",
                                "evidence": {"token": iss.token(
                                    iss.claims("node-url"))},
                                "csr": csr})
        assert st == 200, got
        assert got["spiffe_id"] == (f"spiffe://{TD}/svidca/agent/jwt/"
                                    "remote/node-url")
        assert hits == ["/keys"]
        assert "jwks loaded issuer=remote keys=1" in s.read_log()
    finally:
        s.stop()
        httpd.shutdown()


def test_bad_attestor_config_refused_at_start(tmp):
    conf = os.path.join(tmp, "bad.conf")
    open(conf, "w").write("""
node_attestors = {
    jwt = ( {
        name = "k8s";
        issuer = "https://kubernetes.default.svc";
        audience = "svidca";
        jwks_file = "/nonexistent/jwks.json";
    } );
};
""")
    s = Server(tmp, trust_domain=TD, config=conf)
    r = run(s.args())
    assert r.returncode == 1
    assert "node_claim: must be set" in r.stderr
    open(conf, "w").write(f"""
node_attestors = {{ x509pop = {{ ca_files = [ "{tmp}/none.pem" ]; }}; }};
""")
    r = run(s.args())
    assert r.returncode == 1
    assert "none.pem: cannot open" in r.stderr
