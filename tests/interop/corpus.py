"""Collect every artefact svidca produces, for the outside judges.

One Corpus holds, per running server, its bundle document and the
certificates and JWT-SVIDs obtained from it through the public routes:
the roots (from the bundle), the listener's own SVID, admin-minted
X.509-SVIDs for P-256, P-384 and RSA keys with and without DNS names,
admin-minted JWT-SVIDs, and, through attestation and the agent API, an
agent SVID, its renewal, workload SVIDs and JWT-SVIDs, and a downstream
intermediate.  Nothing here judges anything: test_interop.py hands the
files to go-spiffe, zlint, pkilint, jose and OpenSSL.

A kind whose route still answers 501 is recorded in Corpus.pending with
the route, so the tests can say which kinds are not judged yet; any
other failure to obtain a kind is recorded in Corpus.broken and fails.
"""
import base64
import json
import os
import subprocess
import time
from dataclasses import dataclass, field

from harness import Server, bundle_roots, der_to_pem, run

TD = "example.org"
ADMIN_ID = f"spiffe://{TD}/admin/interop"
SERVER_ID = f"spiffe://{TD}/svidca/server"
WRONG_AUD = f"spiffe://{TD}/not-the-audience"

# Key types the CSR path accepts (DESIGN.md): openssl genpkey options.
KEYS = {
    "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa4096": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
}

# JWT algorithm per server key type (JWT-SVID 3: ES256 for P-256...).
JWT_ALG = {"ec-p256": "ES256", "ec-p384": "ES384", "rsa-2048": "RS256",
           "rsa-3072": "RS256", "rsa-4096": "RS256"}


class Pending(Exception):
    """The route that makes this kind still answers 501."""


@dataclass
class Source:
    """One running server's view: its bundle file and roots."""
    name: str
    td: str
    bundle_path: str
    bundle: dict
    roots: list
    jwt_alg: str
    server: object = None


@dataclass
class Cert:
    name: str           # unique, e.g. "main/admin-p256-dns"
    kind: str           # e.g. "admin X.509-SVID"
    role: str           # "leaf", "ca" (root) or "intermediate"
    pem: str            # the certificate alone
    chain: str          # leaf first, as presented (== pem for roots)
    issuer: str         # PEM of the certificate that signed it
    source: Source
    key: str = None     # PKCS#8 PEM when we hold the private key
    spiffe_id: str = None
    key_type: str = None


@dataclass
class Token:
    name: str
    kind: str
    path: str
    token: str
    source: Source
    sub: str
    aud: list
    alg: str


@dataclass
class Corpus:
    root: str
    sources: list = field(default_factory=list)
    certs: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    pending: dict = field(default_factory=dict)   # kind -> reason
    broken: dict = field(default_factory=dict)    # kind -> reason
    # (intermediate Cert, PEM chain leaf first, leaf key) when built
    downstream: tuple = None

    def leaves(self):
        return [c for c in self.certs if c.role == "leaf"]

    def cert(self, name):
        return next(c for c in self.certs if c.name == name)

    def kinds(self):
        return sorted({c.kind for c in self.certs} |
                      {t.kind for t in self.tokens})


def b64(path):
    return base64.b64encode(open(path, "rb").read()).decode()


def write_pem_chain(path, ders):
    with open(path, "w") as f:
        for d in ders:
            f.write(der_to_pem(d))
    return path


def new_key(d, name, key_type):
    """A fresh private key (PKCS#8 PEM) and a DER CSR for it."""
    key = os.path.join(d, f"{name}.key")
    csr = os.path.join(d, f"{name}.csr")
    r = run(["openssl", "genpkey"] + KEYS[key_type] + ["-out", key])
    assert r.returncode == 0, r.stderr
    r = run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=ignored",
             "-outform", "DER", "-out", csr])
    assert r.returncode == 0, r.stderr
    return key, csr


def cert_ski_aki(pem):
    out = run(["openssl", "x509", "-in", pem, "-noout", "-ext",
               "subjectKeyIdentifier,authorityKeyIdentifier"]).stdout
    ski = aki = None
    lines = [line.strip() for line in out.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("X509v3 Subject Key Identifier"):
            ski = lines[i + 1].replace(":", "").upper()
        if line.startswith("X509v3 Authority Key Identifier"):
            aki = lines[i + 1].replace("keyid:", "").replace(":", "")
            aki = aki.upper()
    return ski, aki


def issuer_of(pem, roots):
    """The root among roots whose SKI is the certificate's AKI."""
    _, aki = cert_ski_aki(pem)
    for r in roots:
        if cert_ski_aki(r)[0] == aki:
            return r
    raise AssertionError(f"{pem}: no root in the bundle has SKI {aki}")


def socket_json(server, method, path, body=None):
    """One admin-socket request: (status, parsed body or text)."""
    st, text = server.socket_request(method, path, body)
    try:
        return st, json.loads(text)
    except ValueError:
        return st, text


def expect(st, body, ok, route):
    if st == 501:
        raise Pending(f"{route} answers 501")
    if st not in ok:
        raise AssertionError(f"{route} answered {st}: {body}")
    return body


def https_json(server, method, path, body, cert, key):
    st, _, raw = server.https(method, path, body=body, cert=cert, key=key)
    try:
        return st, json.loads(raw)
    except ValueError:
        return st, raw


class Collector:
    """Obtains each kind from one server, recording pending/broken."""

    def __init__(self, corpus, server, name, jwt_alg):
        self.c = corpus
        self.s = server
        self.dir = os.path.join(corpus.root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.refreshes = 0
        b = server.bundle()
        bpath = os.path.join(self.dir, "bundle.json")
        with open(bpath, "w") as f:
            json.dump(b, f)
        self.src = Source(name, server.td, bpath, b,
                          bundle_roots(b, self.dir), jwt_alg, server)
        corpus.sources.append(self.src)

    def refresh_bundle(self):
        """Read the bundle again (after a rotation): same files, new keys."""
        b = self.s.bundle()
        with open(self.src.bundle_path, "w") as f:
            json.dump(b, f)
        self.src.bundle = b
        self.refreshes += 1
        self.src.roots = bundle_roots(b, self.dir,
                                      prefix=f"bundle{self.refreshes}-root")

    def attempt(self, kind, fn, *args):
        try:
            return fn(*args)
        except Pending as e:
            self.c.pending.setdefault(kind, str(e))
        except (AssertionError, KeyError, ValueError, TypeError,
                OSError, subprocess.SubprocessError) as e:
            self.c.broken[f"{self.name}: {kind}"] = f"{type(e).__name__}: {e}"
        return None

    def add_cert(self, label, kind, role, ders, key=None, spiffe_id=None,
                 key_type=None, issuer=None):
        chain = write_pem_chain(os.path.join(self.dir, f"{label}.chain.pem"),
                                ders)
        pem = write_pem_chain(os.path.join(self.dir, f"{label}.pem"),
                              ders[:1])
        if issuer is None:
            issuer = pem if role == "ca" else issuer_of(pem, self.src.roots)
        c = Cert(f"{self.name}/{label}", kind, role, pem, chain, issuer,
                 self.src, key, spiffe_id, key_type)
        self.c.certs.append(c)
        return c

    def add_token(self, label, kind, token, sub, aud):
        path = os.path.join(self.dir, f"{label}.jwt")
        with open(path, "w") as f:
            f.write(token)
        t = Token(f"{self.name}/{label}", kind, path, token, self.src, sub,
                  list(aud), self.src.jwt_alg)
        self.c.tokens.append(t)
        return t

    # ---- what every server has -----------------------------------------

    def roots(self, kind):
        for i, r in enumerate(self.src.roots):
            der = run(["openssl", "x509", "-in", r, "-outform", "DER"],
                      text=False).stdout
            self.add_cert(f"root{i}", kind, "ca", [der])

    def server_svid(self, kind):
        chain = self.s.presented_chain(self.dir)
        assert chain, "the listener presented no certificate"
        ders = [run(["openssl", "x509", "-in", p, "-outform", "DER"],
                    text=False).stdout for p in chain]
        self.add_cert("server", kind, "leaf", ders, spiffe_id=SERVER_ID)

    # ---- admin minting ---------------------------------------------------

    def mint_x509(self, label, kind, key_type, spiffe_id, dns=None):
        key, csr = new_key(self.dir, label, key_type)
        body = {"spiffe_id": spiffe_id, "csr": b64(csr)}
        if dns:
            body["dns_names"] = dns
        st, r = socket_json(self.s, "POST", "/v1/svids/x509", body)
        r = expect(st, r, (200,), "POST /v1/svids/x509")
        ders = [base64.b64decode(x) for x in r["svid"]]
        return self.add_cert(label, kind, "leaf", ders, key, spiffe_id,
                             key_type)

    def mint_jwt(self, label, kind, sub, aud):
        st, r = socket_json(self.s, "POST", "/v1/svids/jwt",
                            {"spiffe_id": sub, "audience": aud})
        r = expect(st, r, (200,), "POST /v1/svids/jwt")
        return self.add_token(label, kind, r["token"], sub, aud)

    # ---- attestation and the agent API ---------------------------------

    def agent(self):
        """Join token, attestation, renewal: the agent's SVID and key."""
        st, r = socket_json(self.s, "POST", "/v1/join-tokens", {"ttl": 600})
        tok = expect(st, r, (200, 201), "POST /v1/join-tokens")
        key, csr = new_key(self.dir, "agent", "p256")
        st, r = https_json(self.s, "POST", "/v1/agent/attest",
                           {"attestation_type": "join_token",
                            "evidence": {"token": tok["token"]},
                            "csr": b64(csr)}, None, None)
        r = expect(st, r, (200,), "POST /v1/agent/attest")
        assert r["spiffe_id"] == tok["agent_id"], r["spiffe_id"]
        ders = [base64.b64decode(x) for x in r["svid"]]
        agent = self.add_cert("agent", "agent SVID", "leaf", ders, key,
                              r["spiffe_id"], "p256")
        return agent

    def renew(self, agent):
        key, csr = new_key(self.dir, "agent-renewed", "p384")
        st, r = https_json(self.s, "POST", "/v1/agent/renew",
                           {"csr": b64(csr)}, agent.chain, agent.key)
        r = expect(st, r, (200,), "POST /v1/agent/renew")
        ders = [base64.b64decode(x) for x in r["svid"]]
        return self.add_cert("agent-renewed", "renewed agent SVID", "leaf",
                             ders, key, r["spiffe_id"], "p384")

    def entries(self, agent, specs):
        """Create entries parented to the agent; return their ids."""
        items = [dict(spec, parent_id=agent.spiffe_id) for spec in specs]
        st, r = socket_json(self.s, "POST", "/v1/entries",
                            {"entries": items})
        r = expect(st, r, (200,), "POST /v1/entries")
        ids = []
        for res in r["results"]:
            assert res["status"]["code"] == 200, res
            ids.append(res["entry"]["id"])
        return ids

    def workload_x509(self, agent, label, kind, entry_id, key_type):
        key, csr = new_key(self.dir, label, key_type)
        st, r = https_json(self.s, "POST", "/v1/agent/x509-svids",
                           {"params": [{"entry_id": entry_id,
                                        "csr": b64(csr)}]},
                           agent.chain, agent.key)
        r = expect(st, r, (200,), "POST /v1/agent/x509-svids")
        res = r["results"][0]
        assert res["status"]["code"] == 200, res
        ders = [base64.b64decode(x) for x in res["svid"]]
        return self.add_cert(label, kind, "leaf", ders, key,
                             res["spiffe_id"], key_type)

    def workload_jwt(self, agent, label, kind, entry_id, aud):
        st, r = https_json(self.s, "POST", "/v1/agent/jwt-svids",
                           {"entry_id": entry_id, "audience": aud},
                           agent.chain, agent.key)
        r = expect(st, r, (200,), "POST /v1/agent/jwt-svids")
        return self.add_token(label, kind, r["token"], r["spiffe_id"], aud)

    def downstream(self, ds_svid):
        """An intermediate CA for a downstream entry, and a leaf that the
        intermediate signs (with openssl), so the chain can be judged."""
        key, csr = new_key(self.dir, "downstream-ca", "p256")
        st, r = https_json(self.s, "POST", "/v1/downstream/x509-ca",
                           {"csr": b64(csr)}, ds_svid.chain, ds_svid.key)
        r = expect(st, r, (200,), "POST /v1/downstream/x509-ca")
        ders = [base64.b64decode(x) for x in r["ca_chain"]]
        inter = self.add_cert("downstream-ca", "downstream intermediate CA",
                              "intermediate", ders[:1], key, None, "p256")
        # A leaf under it, made here: the chain [leaf, intermediate] must
        # verify against our bundle (X5-17).
        lkey, lcsr = new_key(self.dir, "downstream-leaf", "p256")
        ext = os.path.join(self.dir, "downstream-leaf.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n"
                    f"subjectAltName=critical,URI:spiffe://{self.s.td}"
                    "/downstream/leaf\n")
        leaf = os.path.join(self.dir, "downstream-leaf.der")
        r = run(["openssl", "x509", "-req", "-inform", "DER", "-in", lcsr,
                 "-CA", inter.pem, "-CAkey", key, "-set_serial",
                 str(int(time.time())), "-days", "1", "-subj", "/O=Test",
                 "-extfile", ext, "-outform", "DER", "-out", leaf])
        assert r.returncode == 0, r.stderr
        chain = write_pem_chain(
            os.path.join(self.dir, "downstream-leaf.chain.pem"),
            [open(leaf, "rb").read()] + ders[:1])
        return inter, chain, lkey


def collect_main(corpus, tmp, extra_conf=""):
    """The main server: every kind the API can give out."""
    cfg = os.path.join(tmp, "main.conf")
    with open(cfg, "w") as f:
        f.write(f'admin_ids = [ "{ADMIN_ID}" ];\n{extra_conf}')
    s = Server(os.path.join(tmp, "main-srv"), config=cfg)
    os.makedirs(s.root, exist_ok=True)
    s.start()
    col = Collector(corpus, s, "main", "ES256")
    col.attempt("root CA", col.roots, "root CA")
    col.attempt("server SVID", col.server_svid, "server SVID")

    wl = f"spiffe://{TD}/interop"
    dns = ["web.example.org", "db.example.org"]
    for key_type in KEYS:
        col.attempt("admin X.509-SVID", col.mint_x509, f"admin-{key_type}",
                    "admin X.509-SVID", key_type, f"{wl}/{key_type}")
        if key_type != "rsa4096":
            col.attempt("admin X.509-SVID with DNS names", col.mint_x509,
                        f"admin-{key_type}-dns",
                        "admin X.509-SVID with DNS names", key_type,
                        f"{wl}/{key_type}/dns", dns)
    col.attempt("admin X.509-SVID", col.mint_x509, "admin-identity",
                "admin X.509-SVID", "p256", ADMIN_ID)
    col.attempt("admin JWT-SVID", col.mint_jwt, "admin-jwt",
                "admin JWT-SVID", f"{wl}/jwt", [f"spiffe://{TD}/db"])
    col.attempt("admin JWT-SVID", col.mint_jwt, "admin-jwt-2aud",
                "admin JWT-SVID", f"{wl}/jwt",
                [f"spiffe://{TD}/db", "https://audience.example"])

    agent = col.attempt("agent SVID", col.agent)
    if agent is None:
        for k in ("renewed agent SVID", "workload SVID (agent API)",
                  "workload JWT-SVID (agent API)",
                  "downstream intermediate CA"):
            corpus.pending.setdefault(k, "needs an agent SVID: " +
                                      corpus.pending.get("agent SVID", "?"))
        return s
    ids = col.attempt("workload SVID (agent API)", col.entries, agent, [
        {"spiffe_id": f"spiffe://{TD}/workload/web",
         "selectors": [{"type": "unix", "value": "uid:1000"}],
         "dns_names": ["web.example.org"]},
        {"spiffe_id": f"spiffe://{TD}/workload/plain",
         "selectors": [{"type": "unix", "value": "uid:1001"}]},
        {"spiffe_id": f"spiffe://{TD}/downstream",
         "selectors": [{"type": "unix", "value": "uid:1002"}],
         "downstream": True},
    ])
    if ids:
        col.attempt("workload SVID (agent API)", col.workload_x509, agent,
                    "workload-web", "workload SVID (agent API)", ids[0],
                    "p256")
        col.attempt("workload SVID (agent API)", col.workload_x509, agent,
                    "workload-plain-rsa", "workload SVID (agent API)",
                    ids[1], "rsa2048")
        col.attempt("workload JWT-SVID (agent API)", col.workload_jwt,
                    agent, "workload-jwt", "workload JWT-SVID (agent API)",
                    ids[0], [f"spiffe://{TD}/db"])
        ds = col.attempt("downstream intermediate CA", col.workload_x509,
                         agent, "downstream-svid",
                         "workload SVID (agent API)", ids[2], "p256")
        if ds is not None:
            got = col.attempt("downstream intermediate CA", col.downstream,
                              ds)
            if got is not None:
                corpus.downstream = got
    col.attempt("renewed agent SVID", col.renew, agent)
    return s


def collect_key_type(corpus, tmp, key_type):
    """A server whose CA and JWT keys are key_type: its root, listener
    SVID, one minted leaf and one JWT-SVID."""
    name = f"ca-{key_type}"
    cfg = os.path.join(tmp, f"{name}.conf")
    with open(cfg, "w") as f:
        f.write(f'ca_key_type = "{key_type}";\n'
                f'jwt_key_type = "{key_type}";\n')
    s = Server(os.path.join(tmp, name + "-srv"), config=cfg)
    os.makedirs(s.root, exist_ok=True)
    s.start()
    col = Collector(corpus, s, name, JWT_ALG[key_type])
    col.attempt(f"root CA ({key_type})", col.roots, f"root CA ({key_type})")
    col.attempt(f"server SVID under a {key_type} root", col.server_svid,
                f"server SVID under a {key_type} root")
    col.attempt(f"admin X.509-SVID under a {key_type} root", col.mint_x509,
                "admin-p256", f"admin X.509-SVID under a {key_type} root",
                "p256", f"spiffe://{TD}/interop/{key_type}")
    col.attempt(f"admin JWT-SVID signed by {key_type}", col.mint_jwt,
                "admin-jwt", f"admin JWT-SVID signed by {key_type}",
                f"spiffe://{TD}/interop/{key_type}", [f"spiffe://{TD}/db"])
    return s


def collect_rotation(corpus, tmp, limit=100):
    """A server with ca_ttl = 60 runs until both its X.509 and its JWT
    authority have been replaced on their own (activation comes at five
    sixths of the life, about 50 s); SVIDs and JWT-SVIDs are taken before
    and after.  Returns (server, the moment the collection ended)."""
    name = "rotation"
    cfg = os.path.join(tmp, f"{name}.conf")
    with open(cfg, "w") as f:
        f.write("ca_ttl = 60;\nx509_svid_ttl = 3600;\n")
    s = Server(os.path.join(tmp, name + "-srv"), config=cfg)
    os.makedirs(s.root, exist_ok=True)
    s.start()
    col = Collector(corpus, s, name, "ES256")
    sub = f"spiffe://{TD}/rotation/workload"
    aud = [f"spiffe://{TD}/db"]
    before = col.mint_x509("before", "X.509-SVID before a rotation",
                           "p256", sub)
    tok_before = col.mint_jwt("jwt-before", "JWT-SVID before a rotation",
                              sub, aud)
    first_root = before.issuer
    first_kid = kid_of(tok_before.token)
    probe_key, probe_csr = new_key(col.dir, "probe", "p256")
    deadline = time.time() + limit
    x509_moved = jwt_moved = False
    while time.time() < deadline and not (x509_moved and jwt_moved):
        time.sleep(1)
        col.refresh_bundle()
        if not x509_moved:
            st, r = socket_json(s, "POST", "/v1/svids/x509",
                                {"spiffe_id": sub, "csr": b64(probe_csr)})
            assert st == 200, r
            p = write_pem_chain(os.path.join(col.dir, "probe.pem"),
                                [base64.b64decode(r["svid"][0])])
            x509_moved = cert_ski_aki(p)[1] != cert_ski_aki(first_root)[0]
        if not jwt_moved:
            st, r = socket_json(s, "POST", "/v1/svids/jwt",
                                {"spiffe_id": sub, "audience": aud})
            assert st == 200, r
            jwt_moved = kid_of(r["token"]) != first_kid
    assert x509_moved and jwt_moved, \
        f"no rotation within {limit} s (x509 {x509_moved}, jwt {jwt_moved})"
    col.refresh_bundle()
    col.mint_x509("after", "X.509-SVID after a rotation", "p256", sub)
    col.mint_jwt("jwt-after", "JWT-SVID after a rotation", sub, aud)
    col.server_svid("server SVID after a rotation")
    for i, r in enumerate(col.src.roots):
        if cert_ski_aki(r)[0] != cert_ski_aki(first_root)[0]:
            der = run(["openssl", "x509", "-in", r, "-outform", "DER"],
                      text=False).stdout
            col.add_cert(f"root-next{i}", "root CA prepared by a rotation",
                         "ca", [der])
    return s, time.time()


def kid_of(token):
    head = token.split(".")[0]
    head += "=" * (-len(head) % 4)
    return json.loads(base64.urlsafe_b64decode(head))["kid"]
