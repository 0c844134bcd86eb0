"""Issue 3, items 4 and 5: minting X.509- and JWT-SVIDs for any ID of the
trust domain (POST /v1/svids/x509 and /v1/svids/jwt, `svidca x509 mint`,
`svidca jwt mint`) over the admin socket and over HTTPS with an admin
SVID, the CLI's exit codes, and `svidca datastore backup`."""
import base64
import hashlib
import http.server
import json
import os
import ssl
import stat
import threading
import time

import pytest

from harness import (BIN, Server, bundle_roots, free_port, openssl_text,
                     run, uri_sans)

TD = "example.org"
WEB = "spiffe://example.org/web"
ADMIN = "spiffe://example.org/admin"


# ---- helpers ---------------------------------------------------------


def cli(*args, **kw):
    return run([BIN] + [str(a) for a in args], **kw)


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def make_csr(tmp, name, newkey=("ec", "-pkeyopt",
                                 "ec_paramgen_curve:P-256")):
    csr = os.path.join(tmp, name + ".csr")
    key = os.path.join(tmp, name + ".key")
    if newkey[0] == "ec":
        nk = ["-newkey", "ec"] + list(newkey[1:])
    else:
        nk = ["-newkey", newkey[0]]
    r = run(["openssl", "req", "-new"] + nk +
            ["-nodes", "-subj", "/CN=x", "-keyout", key, "-out", csr])
    assert r.returncode == 0, r.stderr
    return csr, key


def csr_b64(csr_pem_path):
    r = run(["openssl", "req", "-in", csr_pem_path, "-outform", "DER"],
            text=False)
    assert r.returncode == 0
    return base64.b64encode(r.stdout).decode()


def pubkey_der(args):
    """DER SubjectPublicKeyInfo printed by an openssl command."""
    if args[1] == "pkey":
        r = run(args + ["-pubout"])
    else:
        r = run(args + ["-pubkey", "-noout"])
    assert r.returncode == 0, r.stderr
    d = run(["openssl", "pkey", "-pubin", "-outform", "DER"],
            input=r.stdout.encode(), text=False)
    assert d.returncode == 0
    return d.stdout


def cert_pub(pem):
    return pubkey_der(["openssl", "x509", "-in", pem])


def lifetime(pem):
    nb = openssl_text(pem, "-startdate").strip().split("=", 1)[1]
    na = openssl_text(pem, "-enddate").strip().split("=", 1)[1]
    return (int(ssl.cert_time_to_seconds(nb)),
            int(ssl.cert_time_to_seconds(na)))


def dns_sans(pem):
    out = openssl_text(pem, "-ext", "subjectAltName")
    return [p.strip()[4:] for line in out.splitlines()
            for p in line.split(",") if p.strip().startswith("DNS:")]


def verify(root, leaf, purpose):
    return run(["openssl", "verify", "-x509_strict", "-purpose", purpose,
                "-CAfile", root, leaf])


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + der_len(len(b)) + b


def der_len(n):
    return bytes([n]) if n < 128 else bytes([0x81, n])


def raw_sig_to_der(sig):
    """An ES256 signature (raw r||s) as the DER ECDSA-Sig-Value openssl
    takes (RFC 7518 3.4)."""
    assert len(sig) == 64
    body = der_int(sig[:32]) + der_int(sig[32:])
    return b"\x30" + der_len(len(body)) + body


# SubjectPublicKeyInfo prefix of a P-256 key (id-ecPublicKey, prime256v1,
# BIT STRING of 66 bytes), followed by the uncompressed point.
P256_SPKI_PREFIX = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200")


def jwk_to_pem(jwk, path):
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    der = P256_SPKI_PREFIX + b"\x04" + b64url(jwk["x"]) + b64url(jwk["y"])
    b64 = base64.b64encode(der).decode()
    write(path, "-----BEGIN PUBLIC KEY-----\n" + "\n".join(
        b64[i:i + 64] for i in range(0, len(b64), 64)) +
        "\n-----END PUBLIC KEY-----\n")
    return path


def es256_verifies(tmp, pub_pem, signing_input, raw_sig):
    data = write(os.path.join(tmp, "jws.in"), signing_input, "wb")
    sig = write(os.path.join(tmp, "jws.sig"), raw_sig_to_der(raw_sig),
                "wb")
    r = run(["openssl", "dgst", "-sha256", "-verify", pub_pem,
             "-signature", sig, data])
    return r.returncode == 0 and "Verified OK" in r.stdout


def mint_svid(server, tmp, spiffe_id, name, *extra):
    """x509 mint over the socket with a key made by the CLI."""
    out = os.path.join(tmp, name + ".pem")
    key = os.path.join(tmp, name + ".key")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id",
            spiffe_id, "--key-out", key, "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    return out, key


def bundle_of(server):
    """The server's bundle over the admin socket.  Over HTTPS, the first
    handshakes right after start-up can fail while the server still
    installs its own SVID."""
    code, text = server.socket_request("GET", "/v1/bundle")
    assert code == 200, text
    return json.loads(text)


def post(server, path, body):
    code, text = server.socket_request("POST", path, body)
    return code, json.loads(text) if text else None


def sql(db, query):
    r = run(["sqlite3", db, query])
    assert r.returncode == 0, r.stderr
    return r.stdout


# ---- X.509 over the socket -------------------------------------------


def test_x509_mint_key_out_chain_verifies(server, tmp):
    root, = bundle_roots(bundle_of(server), tmp)
    leaf, key = mint_svid(server, tmp, WEB, "web", "--dns-name",
                          "web.example.org", "--dns-name",
                          "api.example.org", "--ttl", "600")
    assert uri_sans(leaf) == [WEB]
    assert dns_sans(leaf) == ["web.example.org", "api.example.org"]
    for purpose in ("sslclient", "sslserver"):
        r = verify(root, leaf, purpose)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.strip().endswith(": OK")
    nb, na = lifetime(leaf)
    assert na - nb == 600 + 10
    # The key written is the certified one, PKCS#8, mode 0600.
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert open(key).read().startswith("-----BEGIN PRIVATE KEY-----")
    assert pubkey_der(["openssl", "pkey", "-in", key]) == cert_pub(leaf)
    assert "ASN1 OID: prime256v1" in run(
        ["openssl", "pkey", "-in", key, "-noout", "-text"]).stdout
    # A different root does not verify it (the check can fail).
    other = os.path.join(tmp, "other")
    os.makedirs(other)
    s2 = Server(other).start()
    try:
        root2, = bundle_roots(bundle_of(s2), other)
    finally:
        s2.stop()
    assert verify(root2, leaf, "sslclient").returncode != 0


def test_x509_mint_with_csr_keeps_its_key(server, tmp):
    csr, csr_key = make_csr(tmp, "w")
    out = os.path.join(tmp, "w.pem")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--csr", csr, "--out", out)
    assert r.returncode == 0, r.stderr
    assert cert_pub(out) == pubkey_der(["openssl", "req", "-in", csr])
    assert cert_pub(out) == pubkey_der(["openssl", "pkey", "-in",
                                        csr_key])
    # Default ttl: the configured x509_svid_ttl, 1 h.
    nb, na = lifetime(out)
    assert na - nb == 3600 + 10
    assert dns_sans(out) == []


def test_x509_mint_json_output(server, tmp):
    csr, _ = make_csr(tmp, "j")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--csr", csr, "-o", "json", "--ttl", "120")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"svid", "expires_at"}
    pem = write(os.path.join(tmp, "j.pem"), doc["svid"])
    assert doc["svid"].count("BEGIN CERTIFICATE") == 1
    nb, na = lifetime(pem)
    assert doc["expires_at"] == na
    assert na - nb == 130


def test_x509_api_answer_shape(server, tmp):
    csr, _ = make_csr(tmp, "a")
    code, doc = post(server, "/v1/svids/x509", {
        "spiffe_id": WEB, "csr": csr_b64(csr), "dns_names": ["a.test"],
        "ttl": 300})
    assert code == 200, doc
    assert set(doc) == {"svid", "expires_at"}
    assert isinstance(doc["svid"], list) and len(doc["svid"]) == 1
    der = base64.b64decode(doc["svid"][0], validate=True)
    pem = write(os.path.join(tmp, "a.der"), der, "wb")
    r = run(["openssl", "x509", "-inform", "DER", "-in", pem, "-noout",
             "-enddate", "-ext", "subjectAltName"])
    assert "URI:" + WEB in r.stdout and "DNS:a.test" in r.stdout
    na = r.stdout.splitlines()[0].split("=", 1)[1]
    assert doc["expires_at"] == int(ssl.cert_time_to_seconds(na))
    assert abs(doc["expires_at"] - (time.time() + 300)) < 30


# ---- JWT -------------------------------------------------------------


def test_jwt_mint_claims_and_signature(server, tmp):
    before = int(time.time())
    r = cli("jwt", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--audience", "spiffe://example.org/db", "--audience", "other",
            "--ttl", "120")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    h, p, s = token.split(".")
    header = json.loads(b64url(h))
    claims = json.loads(b64url(p))
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    assert set(header) == {"alg", "kid", "typ"}
    keys = {k["kid"]: k for k in bundle_of(server)["keys"]
            if k["use"] == "jwt-svid"}
    assert header["kid"] in keys
    assert claims["sub"] == WEB
    assert claims["aud"] == ["spiffe://example.org/db", "other"]
    assert claims["exp"] - claims["iat"] == 120
    assert before - 2 <= claims["iat"] <= int(time.time()) + 2

    pub = jwk_to_pem(keys[header["kid"]], os.path.join(tmp, "jwt.pub"))
    sig = b64url(s)
    assert es256_verifies(tmp, pub, (h + "." + p).encode(), sig)
    # A changed payload does not verify under the same signature.
    forged = base64.urlsafe_b64encode(json.dumps(
        dict(claims, sub="spiffe://example.org/evil")).encode()
    ).decode().rstrip("=")
    assert not es256_verifies(tmp, pub, (h + "." + forged).encode(), sig)


def test_jwt_mint_json_output_and_default_ttl(server):
    r = cli("jwt", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--audience", "x", "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"token", "expires_at"}
    claims = json.loads(b64url(doc["token"].split(".")[1]))
    assert claims["exp"] == doc["expires_at"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["aud"] == ["x"]


# ---- refusals ---------------------------------------------------------


def _problem(code, doc, status, field):
    assert code == status, doc
    assert doc["status"] == status
    assert doc["field"] == field, doc
    assert doc.get("rule"), doc
    return doc


@pytest.fixture
def good_csr(tmp):
    csr, _ = make_csr(tmp, "good")
    return csr_b64(csr)


@pytest.mark.parametrize("body,field,rule", [
    ({"spiffe_id": "spiffe://other.org/web"}, "spiffe_id", "X5-07"),
    ({"spiffe_id": "spiffe://example.org"}, "spiffe_id", "X5-04"),
    ({"spiffe_id": "spiffe://EXAMPLE.org/web"}, "spiffe_id", "ID-05"),
    ({"spiffe_id": "spiffe://example.org/a/../b"}, "spiffe_id", None),
    ({"spiffe_id": 7}, "spiffe_id", None),
    ({"ttl": -1}, "ttl", None),
    ({"ttl": 86401}, "ttl", None),
    ({"ttl": "60"}, "ttl", None),
    ({"dns_names": ["bad_name!"]}, "dns_names", None),
    ({"dns_names": "web.test"}, "dns_names", None),
    ({"dns_names": ["a.test"] * 65}, "dns_names", None),
    ({"csr": "not base64!"}, "csr", None),
    ({"csr": None}, "csr", None),
    ({"extra": 1}, "body", None),
])
def test_x509_refusals_name_the_field(server, good_csr, body, field, rule):
    req = {"spiffe_id": WEB, "csr": good_csr}
    req.update(body)
    if "csr" in body and body["csr"] is None:
        del req["csr"]
    code, doc = post(server, "/v1/svids/x509", req)
    p = _problem(code, doc, 400, field)
    if rule:
        assert p["rule"] == rule
    if rule == "ID-05":
        assert "spiffe://example.org/web" in p["detail"]
    assert p["title"] == "bad request"


def test_x509_bad_and_weak_csrs(server, tmp):
    junk = base64.b64encode(b"\x30\x03\x02\x01\x00").decode()
    code, doc = post(server, "/v1/svids/x509",
                     {"spiffe_id": WEB, "csr": junk})
    p = _problem(code, doc, 400, "csr")
    assert p["title"] == "bad certificate signing request"

    csr, _ = make_csr(tmp, "rsa1024", ("rsa:1024",))
    code, doc = post(server, "/v1/svids/x509",
                     {"spiffe_id": WEB, "csr": csr_b64(csr)})
    p = _problem(code, doc, 400, "csr")
    assert "2048" in p["detail"]

    # A CSR whose signature does not match its key.
    der = bytearray(base64.b64decode(csr_b64(make_csr(tmp, "flip")[0])))
    der[-5] ^= 0x01
    code, doc = post(server, "/v1/svids/x509",
                     {"spiffe_id": WEB,
                      "csr": base64.b64encode(bytes(der)).decode()})
    _problem(code, doc, 400, "csr")


def test_refusals_malformed_bodies(server):
    for path in ("/v1/svids/x509", "/v1/svids/jwt"):
        r = run(["curl", "-sS", "--unix-socket", server.socket, "-o", "-",
                 "-w", "\n%{http_code}", "-H",
                 "Content-Type: application/json", "--data-binary",
                 "{\"spiffe_id\": ", "http://localhost" + path])
        text, _, code = r.stdout.rpartition("\n")
        assert code == "400"
        assert json.loads(text)["field"] == "body"
        r = run(["curl", "-sS", "--unix-socket", server.socket, "-o", "-",
                 "-w", "\n%{http_code}", "-H", "Content-Type: text/plain",
                 "--data-binary", "{}", "http://localhost" + path])
        text, _, code = r.stdout.rpartition("\n")
        assert code == "415"
        assert json.loads(text)["field"] == "Content-Type"


@pytest.mark.parametrize("body,field", [
    ({"audience": []}, "audience"),
    ({"audience": [""]}, "audience"),
    ({"audience": "a"}, "audience"),
    ({"audience": ["a"] * 17}, "audience"),
    ({"audience": None}, "audience"),
    ({"spiffe_id": "spiffe://other.org/web"}, "spiffe_id"),
    ({"spiffe_id": "spiffe://example.org"}, "spiffe_id"),
    ({"ttl": -5}, "ttl"),
    ({"ttl": 86401}, "ttl"),
    ({"kid": "x"}, "body"),
])
def test_jwt_refusals_name_the_field(server, body, field):
    req = {"spiffe_id": WEB, "audience": ["a"]}
    req.update(body)
    if "audience" in body and body["audience"] is None:
        del req["audience"]
    code, doc = post(server, "/v1/svids/jwt", req)
    _problem(code, doc, 400, field)


def test_cli_refusal_exits_1_with_detail(server, tmp):
    csr, _ = make_csr(tmp, "r")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id",
            "spiffe://other.org/web", "--csr", csr)
    assert r.returncode == 1
    assert r.stdout == ""
    assert "other.org" in r.stderr and "spiffe_id" in r.stderr
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--csr", csr, "--ttl", "-3")
    assert r.returncode == 1
    assert "ttl" in r.stderr
    # A refused mint leaves no key file behind.
    key = os.path.join(tmp, "never.key")
    r = cli("x509", "mint", "--socket", server.socket, "--spiffe-id",
            "spiffe://example.org", "--key-out", key)
    assert r.returncode == 1
    assert not os.path.exists(key)
    r = cli("jwt", "mint", "--socket", server.socket, "--spiffe-id", WEB,
            "--audience", "a", "--ttl", "999999")
    assert r.returncode == 1
    assert "ttl" in r.stderr


# ---- exit codes --------------------------------------------------------


def test_usage_errors_exit_2(server, tmp):
    csr, _ = make_csr(tmp, "u")
    cases = [
        ["x509", "mint", "--socket", server.socket, "--csr", csr],
        ["x509", "mint", "--socket", server.socket, "--spiffe-id", WEB],
        ["x509", "mint", "--socket", server.socket, "--spiffe-id", WEB,
         "--csr", csr, "--key-out", os.path.join(tmp, "k")],
        ["x509", "mint", "--spiffe-id", WEB, "--csr", csr, "--ttl", "1h"],
        ["x509", "mint", "--spiffe-id", WEB, "--csr", csr, "-o", "yaml"],
        ["x509", "mint", "--spiffe-id", WEB, "--csr", csr, "--bogus"],
        ["x509", "mint", "--spiffe-id", WEB, "--csr",
         os.path.join(tmp, "missing.csr")],
        ["x509", "mint", "--spiffe-id", WEB, "--csr", csr, "--server",
         "https://127.0.0.1:1"],
        ["x509", "mint", "--spiffe-id", WEB, "--csr", csr, "--server",
         "http://127.0.0.1:1", "--cert", csr, "--key", csr,
         "--trust-bundle", csr],
        ["x509", "frobnicate"],
        ["jwt", "mint", "--socket", server.socket, "--spiffe-id", WEB],
        ["datastore", "backup"],
        ["datastore", "backup", os.path.join(tmp, "b.db"), "--server",
         "https://127.0.0.1:1"],
    ]
    for args in cases:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr, args


def test_unreachable_exits_3(server, tmp):
    csr, _ = make_csr(tmp, "x")
    r = cli("x509", "mint", "--socket", os.path.join(tmp, "none.sock"),
            "--spiffe-id", WEB, "--csr", csr)
    assert r.returncode == 3, r.stderr
    r = cli("jwt", "mint", "--data-dir", os.path.join(tmp, "nowhere"),
            "--spiffe-id", WEB, "--audience", "a")
    assert r.returncode == 3, r.stderr
    # The default data dir is ./data, relative to the working directory.
    r = cli("jwt", "mint", "--spiffe-id", WEB, "--audience", "a",
            cwd=os.path.dirname(server.data_dir))
    assert r.returncode == 0, r.stderr


# ---- HTTPS with an admin SVID ------------------------------------------


@pytest.fixture
def admin_server(tmp):
    cfg = write(os.path.join(tmp, "svidca.conf"),
                'admin_ids = ["%s"];\n' % ADMIN)
    s = Server(tmp, config=cfg).start()
    deadline = time.time() + 10
    while True:
        try:
            s.https("GET", "/v1/bundle")
            break
        except (OSError, ssl.SSLError):
            assert time.time() < deadline, "HTTPS listener never ready"
            time.sleep(0.05)
    yield s
    s.stop()


def _bundles(server, tmp):
    pem = os.path.join(tmp, "bundle.pem")
    spiffe = os.path.join(tmp, "bundle.json")
    r = cli("bundle", "show", "--socket", server.socket)
    assert r.returncode == 0, r.stderr
    write(pem, r.stdout)
    r = cli("bundle", "show", "--socket", server.socket, "--format",
            "spiffe")
    assert r.returncode == 0, r.stderr
    write(spiffe, r.stdout)
    return pem, spiffe


def test_https_admin_svid_mints(admin_server, tmp):
    s = admin_server
    cert, key = mint_svid(s, tmp, ADMIN, "admin")
    pem, spiffe = _bundles(s, tmp)
    url = f"https://127.0.0.1:{s.port}"
    for i, bundle in enumerate((pem, spiffe)):
        out = os.path.join(tmp, f"h{i}.pem")
        r = cli("x509", "mint", "--server", url, "--cert", cert, "--key",
                key, "--trust-bundle", bundle, "--spiffe-id",
                f"spiffe://example.org/https{i}", "--key-out",
                os.path.join(tmp, f"h{i}.key"), "--out", out)
        assert r.returncode == 0, r.stderr
        assert uri_sans(out) == [f"spiffe://example.org/https{i}"]
    r = cli("jwt", "mint", "--server", url + "/", "--cert", cert, "--key",
            key, "--trust-bundle", spiffe, "--spiffe-id", WEB,
            "--audience", "a")
    assert r.returncode == 0, r.stderr
    assert json.loads(b64url(r.stdout.split(".")[1]))["sub"] == WEB
    # The audit names the admin SVID as the actor.
    db = os.path.join(tmp, "after-https.db")
    r = cli("datastore", "backup", db, "--data-dir", s.data_dir)
    assert r.returncode == 0, r.stderr
    actors = sql(db, "SELECT actor FROM audit WHERE subject = "
                 "'spiffe://example.org/https1'").split()
    assert actors == [ADMIN]


def test_https_non_admin_svid_refused(admin_server, tmp):
    s = admin_server
    cert, key = mint_svid(s, tmp, "spiffe://example.org/nobody", "nobody")
    pem, _ = _bundles(s, tmp)
    r = cli("x509", "mint", "--server", f"https://127.0.0.1:{s.port}",
            "--cert", cert, "--key", key, "--trust-bundle", pem,
            "--spiffe-id", WEB, "--key-out", os.path.join(tmp, "n.key"))
    assert r.returncode == 1, r.stderr
    assert "403" in r.stderr and "permission denied" in r.stderr
    assert not os.path.exists(os.path.join(tmp, "n.key"))


def test_https_wrong_bundle_or_server_is_unreachable(admin_server, tmp):
    s = admin_server
    cert, key = mint_svid(s, tmp, ADMIN, "admin")
    other = os.path.join(tmp, "other")
    os.makedirs(other)
    s2 = Server(other).start()
    try:
        foreign, = bundle_roots(bundle_of(s2), other)
    finally:
        s2.stop()
    # Our server's chain does not end at the foreign root.
    r = cli("jwt", "mint", "--server", f"https://127.0.0.1:{s.port}",
            "--cert", cert, "--key", key, "--trust-bundle", foreign,
            "--spiffe-id", WEB, "--audience", "a")
    assert r.returncode == 3, r.stderr
    # Nothing listens there.
    pem, _ = _bundles(s, tmp)
    r = cli("jwt", "mint", "--server", f"https://127.0.0.1:{free_port()}",
            "--cert", cert, "--key", key, "--trust-bundle", pem,
            "--spiffe-id", WEB, "--audience", "a")
    assert r.returncode == 3, r.stderr


class _Fake(http.server.BaseHTTPRequestHandler):
    """Answers every POST as a server that minted a token."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"token": "fake.jwt.token",
                           "expires_at": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _fake_server(cert, key):
    """An HTTPS server on loopback presenting cert; (httpd, port)."""
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Fake)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def test_https_server_must_carry_the_server_id(admin_server, tmp):
    """A TLS server whose SVID chains to our root but names another ID is
    not our server; one named spiffe://<td>/svidca/server is."""
    s = admin_server
    cert, key = mint_svid(s, tmp, ADMIN, "admin")
    pem, _ = _bundles(s, tmp)
    impostor, ikey = mint_svid(s, tmp, "spiffe://example.org/impostor",
                               "impostor")
    lookalike, lkey = mint_svid(s, tmp,
                                "spiffe://example.org/svidca/server",
                                "lookalike")
    for leaf, lk, want in ((impostor, ikey, 3), (lookalike, lkey, 0)):
        httpd, port = _fake_server(leaf, lk)
        try:
            r = cli("jwt", "mint", "--server", f"https://127.0.0.1:{port}",
                    "--cert", cert, "--key", key, "--trust-bundle", pem,
                    "--spiffe-id", WEB, "--audience", "a", timeout=30)
        finally:
            httpd.shutdown()
            httpd.server_close()
        assert r.returncode == want, (leaf, r.stderr)
        if want == 3:
            assert "spiffe://example.org/impostor" in r.stderr
            assert r.stdout == ""
        else:
            assert r.stdout == "fake.jwt.token\n"


# ---- audit and backup ---------------------------------------------------


def test_backup_while_running_holds_the_mint_records(server, tmp):
    leaf, _ = mint_svid(server, tmp, WEB, "b", "--ttl", "900")
    serial = openssl_text(leaf, "-serial").strip().split("=", 1)[1].lower()
    r = cli("jwt", "mint", "--socket", server.socket, "--spiffe-id",
            "spiffe://example.org/jwt", "--audience", "aud-1")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    kid = json.loads(b64url(token.split(".")[0]))["kid"]
    exp = json.loads(b64url(token.split(".")[1]))["exp"]

    dest = os.path.join(tmp, "backup.db")
    r = cli("datastore", "backup", dest, "--data-dir", server.data_dir)
    assert r.returncode == 0, r.stderr
    assert server.proc.poll() is None
    assert sql(dest, "PRAGMA integrity_check").strip() == "ok"

    rows = sql(dest, "SELECT actor, subject, serial, detail FROM audit "
               "WHERE action = 'svid.x509.admin'").splitlines()
    assert len(rows) == 1
    actor, subject, got_serial, detail = rows[0].split("|", 3)
    assert actor == "uid:%d" % os.getuid()
    assert subject == WEB
    assert got_serial.lstrip("0") == serial.lstrip("0")
    d = json.loads(detail)
    _, na = lifetime(leaf)
    assert d["not_after"] == na
    assert d["spki_sha256"] == hashlib.sha256(cert_pub(leaf)).hexdigest()

    rows = sql(dest, "SELECT subject, serial, detail FROM audit WHERE "
               "action = 'svid.jwt.admin'").splitlines()
    assert len(rows) == 1
    subject, serial_j, detail = rows[0].split("|", 2)
    assert subject == "spiffe://example.org/jwt" and serial_j == ""
    d = json.loads(detail)
    assert d == {"aud": ["aud-1"], "exp": exp, "kid": kid}
    assert token.split(".")[2] not in open(dest, "rb").read().decode(
        "latin-1")

    # The destination must not exist: a second backup to it is refused.
    before = open(dest, "rb").read()
    r = cli("datastore", "backup", dest, "--data-dir", server.data_dir)
    assert r.returncode == 1, r.stderr
    assert open(dest, "rb").read() == before


def test_refused_mint_writes_no_audit(server, tmp):
    code, _ = post(server, "/v1/svids/jwt",
                   {"spiffe_id": WEB, "audience": []})
    assert code == 400
    dest = os.path.join(tmp, "r.db")
    r = cli("datastore", "backup", dest, "--data-dir", server.data_dir)
    assert r.returncode == 0, r.stderr
    assert sql(dest, "SELECT count(*) FROM audit WHERE action LIKE "
               "'svid.%.admin'").strip() == "0"
