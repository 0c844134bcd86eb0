"""Issue 7: code that no one on the project wrote judges every artefact
svidca produces.

The judges, each pinned (go.mod/go.sum, package-lock.json, the hashes in
requirements.txt) and each a test of its own below:

- go-spiffe v2: bundle parsing, X.509-SVID verification, JWT-SVID
  validation, SPIFFE-authorized TLS (workload to workload, and to our
  listener), the federation bundle fetcher, the SPIFFE ID parser;
- zlint v3 and pkilint: every certificate kind, RFC 5280 and friends;
- OpenSSL: RFC 5280 path validation with the TLS client and server
  purposes (EKU);
- jose (npm): every JWT-SVID kind against the bundle's JWKS;
- schemathesis: docs/openapi.yaml against a running server, as an admin.

corpus.py collects the artefacts from running servers; the policy (which
findings are expected, and why) is written here, next to the judge it
applies to, and repeated with reasons in docs/conformance.md.
"""
import base64
import json
import os
import shutil
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "api"))
sys.path.insert(0, HERE)

from harness import BIN, Server, run, scratch  # noqa: E402

import corpus as C  # noqa: E402

SHARED = os.environ.get("SVIDCA_SHARED", os.path.join(TOP, "..", "shared"))
BUILD = os.path.dirname(os.path.abspath(BIN))
OUT = os.environ.get("SVIDCA_INTEROP_OUT", os.path.join(BUILD, "interop"))
VENV_BIN = os.path.dirname(sys.executable)


# ---- building the judges ------------------------------------------------

def _sanitize_flags():
    """-fsanitize=... when the project's library was built with it."""
    try:
        opts = json.load(open(os.path.join(BUILD, "meson-info",
                                           "intro-buildoptions.json")))
    except (OSError, ValueError):
        return []
    for o in opts:
        if o["name"] == "b_sanitize":
            v = o["value"]
            v = ",".join(v) if isinstance(v, list) else v
            return [] if v in ("", "none") else [f"-fsanitize={v}"]
    return []


def _build_idcheck():
    exe = os.path.join(OUT, "idcheck")
    libs = run(["pkg-config", "--libs", "openssl", "gnutls", "sqlite3",
                "libmicrohttpd", "jansson", "libsodium", "libcurl",
                "libconfig", "cjose"]).stdout.split()
    r = run([os.environ.get("CC", "cc"), "-std=gnu11", "-D_GNU_SOURCE",
             "-O1", "-Wall", "-Wextra"] + _sanitize_flags() +
            ["-o", exe, os.path.join(HERE, "idcheck.c"),
             os.path.join(BUILD, "libsvidca_core.a")] + libs + ["-lpthread"],
            timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return exe


@pytest.fixture(scope="session")
def judges():
    """Build the Go judge, install jose, compile the C driver."""
    os.makedirs(OUT, exist_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=readonly -buildvcs=false",
               GOTOOLCHAIN="local")
    if not env.get("HOME"):
        # Go and npm keep their caches under HOME; give them a place.
        env.update(GOPATH=os.path.join(OUT, "gopath"),
                   GOCACHE=os.path.join(OUT, "gocache"),
                   npm_config_cache=os.path.join(OUT, "npm-cache"))
    r = run(["go", "build", "-trimpath", "-o", os.path.join(OUT, "interop"),
             "."], cwd=os.path.join(HERE, "go"), env=env, timeout=1500)
    assert r.returncode == 0, r.stdout + r.stderr

    node = os.path.join(OUT, "node")
    os.makedirs(node, exist_ok=True)
    for f in ("package.json", "package-lock.json", "verify.mjs"):
        shutil.copy(os.path.join(HERE, "node", f), node)
    r = run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=node, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    return {
        "go": os.path.join(OUT, "interop"),
        "jose": os.path.join(node, "verify.mjs"),
        "idcheck": _build_idcheck(),
        "pkilint": os.path.join(VENV_BIN, "lint_pkix_cert"),
        "pkilint_chain": os.path.join(VENV_BIN,
                                      "lint_pkix_signer_signee_cert_chain"),
        "schemathesis": os.path.join(VENV_BIN, "schemathesis"),
    }


def go(judges, *args, **kw):
    return run([judges["go"]] + [str(a) for a in args], **kw)


def go_json(judges, *args, **kw):
    r = go(judges, *args, **kw)
    assert r.returncode == 0, f"go-spiffe refused: {r.stderr.strip()}"
    return [json.loads(line) for line in r.stdout.splitlines() if line]


# ---- the artefacts ------------------------------------------------------

@pytest.fixture(scope="session")
def workdir():
    d = scratch()
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def corpus(workdir):
    """Every kind from the main server and from servers with P-384 and
    RSA authorities; the servers keep running for the TLS judges."""
    c = C.Corpus(os.path.join(workdir, "corpus"))
    servers = []
    try:
        servers.append(C.collect_main(c, workdir))
        for kt in ("ec-p384", "rsa-2048"):
            servers.append(C.collect_key_type(c, workdir, kt))
        yield c
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(scope="session")
def rotation(judges, workdir):
    """SVIDs and JWT-SVIDs from both sides of an automatic rotation
    (ca_ttl = 60).  The JWT-SVIDs from before expire with their key about
    ten seconds after this returns, so the tests that use them judge at
    once (go-spiffe's jwtsvid takes no clock) or at the recorded time."""
    c = C.Corpus(os.path.join(workdir, "rotation"))
    s, at = C.collect_rotation(c, workdir)
    try:
        yield c, at
    finally:
        s.stop()


def _src(c, name):
    return next(s for s in c.sources if s.name == name)


# ---- 1. go-spiffe ---------------------------------------------------------

def test_gospiffe_rotation_jwt_svids(judges, rotation):
    """jwtsvid validates the JWT-SVIDs signed before and after the JWT
    authority rotated, against the bundle of that moment (both keys)."""
    c, _ = rotation
    assert len(c.tokens) == 2
    for t in c.tokens:
        out, = go_json(judges, "jwt", "-td", t.source.td, "-bundle",
                       t.source.bundle_path, "-aud", t.aud[0], t.path)
        assert out["id"] == t.sub, t.name
    kids = {C.kid_of(t.token) for t in c.tokens}
    assert len(kids) == 2, "both JWT-SVIDs carry the same kid"


def test_gospiffe_rotation_x509_svids(judges, rotation):
    """x509svid verifies SVIDs issued under the old and the new root, and
    the listener's SVID after the move, against one bundle holding both,
    at the moment they were collected."""
    c, at = rotation
    leaves = c.leaves()
    issuers = {C.cert_ski_aki(x.pem)[1] for x in leaves}
    assert len(issuers) == 2, "SVIDs from two roots expected"
    for leaf in leaves:
        args = ["x509", "-td", leaf.source.td, "-bundle",
                leaf.source.bundle_path, "-at", int(at)]
        if leaf.key:
            args += ["-key", leaf.key]
        out, = go_json(judges, *args, leaf.chain)
        assert out["id"] == leaf.spiffe_id, leaf.name


def test_gospiffe_parses_every_bundle(judges, corpus, rotation):
    """spiffebundle parses each server's bundle document whole (go-spiffe
    refuses a whole bundle for one bad key: IO-02..IO-04)."""
    sources = corpus.sources + rotation[0].sources
    for src in sources:
        out, = go_json(judges, "bundle", "-td", src.td, src.bundle_path)
        want_kids = sorted(k["kid"] for k in src.bundle["keys"]
                           if k["use"] == "jwt-svid")
        assert out["jwt_kids"] == want_kids, src.name
        assert out["x509_authorities"] == \
            [f"spiffe://{src.td}"] * len(src.roots), src.name
        assert out["sequence"] == src.bundle["spiffe_sequence"], src.name
        assert out["refresh_hint"] == src.bundle["spiffe_refresh_hint"]
    assert any(len(s.roots) >= 2 for s in rotation[0].sources)


def test_gospiffe_verifies_every_x509_svid(judges, corpus):
    """x509svid.Verify on every leaf kind against its server's bundle; with
    the private key, x509svid.Load too (go-spiffe's leaf rules: non-root
    path, digitalSignature, key match).  A leaf under another server's
    root (same trust domain) must be refused."""
    for leaf in corpus.leaves():
        args = ["x509", "-td", leaf.source.td, "-bundle",
                leaf.source.bundle_path]
        if leaf.key:
            args += ["-key", leaf.key]
        out, = go_json(judges, *args, leaf.chain)
        assert out["id"] == leaf.spiffe_id, leaf.name
        assert out.get("loaded", False) == bool(leaf.key)
    if corpus.downstream is not None:
        inter, chain, key = corpus.downstream
        out, = go_json(judges, "x509", "-td", C.TD, "-bundle",
                       inter.source.bundle_path, "-key", key, chain)
        assert out["id"] == f"spiffe://{C.TD}/downstream/leaf"

    leaf = corpus.cert("main/admin-p256")
    other = _src(corpus, "ca-ec-p384")
    r = go(judges, "x509", "-td", C.TD, "-bundle", other.bundle_path,
           leaf.chain)
    assert r.returncode == 1, "a leaf verified under a foreign root"
    assert "could not verify leaf certificate" in r.stderr, r.stderr


def test_gospiffe_validates_every_jwt_svid(judges, corpus):
    """jwtsvid.ParseAndValidate with each right audience; refused with
    another audience and against another server's bundle."""
    assert corpus.tokens
    other = {"main": "ca-ec-p384", "ca-ec-p384": "main",
             "ca-rsa-2048": "main"}
    for t in corpus.tokens:
        for aud in t.aud:
            out, = go_json(judges, "jwt", "-td", t.source.td, "-bundle",
                           t.source.bundle_path, "-aud", aud, t.path)
            assert out["id"] == t.sub, t.name
            assert sorted(out["aud"]) == sorted(t.aud), t.name
        r = go(judges, "jwt", "-td", t.source.td, "-bundle",
               t.source.bundle_path, "-aud", C.WRONG_AUD, t.path)
        assert r.returncode == 1 and "expected audience" in r.stderr, \
            f"{t.name}: {r.stderr}"
        foreign = _src(corpus, other[t.source.name])
        r = go(judges, "jwt", "-td", t.source.td, "-bundle",
               foreign.bundle_path, "-aud", t.aud[0], t.path)
        assert r.returncode == 1 and "no JWT authority" in r.stderr, \
            f"{t.name}: {r.stderr}"


def _mtls_pairs(corpus):
    names = [("main/admin-p256-dns", "main/admin-rsa2048"),
             ("main/admin-p384", "main/admin-rsa4096"),
             ("main/workload-web", "main/workload-plain-rsa"),
             ("main/agent", "main/admin-identity")]
    have = {c.name for c in corpus.certs}
    return [(corpus.cert(a), corpus.cert(b)) for a, b in names
            if a in have and b in have]


def test_gospiffe_mtls_between_workloads(judges, corpus):
    """Two of our SVIDs talk mTLS through spiffetls/tlsconfig, each side
    authorizing the other by SPIFFE ID; a side that wants another ID
    refuses the handshake."""
    pairs = _mtls_pairs(corpus)
    assert pairs
    for srv, cli in pairs:
        out, = go_json(judges, "mtls", "-td", C.TD, "-bundle",
                       srv.source.bundle_path, "-server",
                       f"{srv.chain},{srv.key}", "-client",
                       f"{cli.chain},{cli.key}")
        assert out["reply"] == f"hello {cli.spiffe_id}, you said ping\n"
    srv, cli = pairs[0]
    for side in ("-client-wants", "-server-wants"):
        r = go(judges, "mtls", "-td", C.TD, "-bundle",
               srv.source.bundle_path, "-server", f"{srv.chain},{srv.key}",
               "-client", f"{cli.chain},{cli.key}", side,
               f"spiffe://{C.TD}/someone-else")
        assert r.returncode == 1, f"{side}: handshake with the wrong peer"


def test_gospiffe_tls_to_our_listener(judges, corpus):
    """spiffetls' client config reaches each server's HTTPS listener and
    authorizes it as spiffe://example.org/svidca/server (X5-08, FD-19);
    wanting another ID fails."""
    for src in corpus.sources:
        addr = f"127.0.0.1:{src.server.port}"
        out, = go_json(judges, "dial", "-td", src.td, "-bundle",
                       src.bundle_path, "-addr", addr, "-want", C.SERVER_ID)
        assert out["version"] in ("TLS 1.2", "TLS 1.3"), out
        r = go(judges, "dial", "-td", src.td, "-bundle", src.bundle_path,
               "-addr", addr, "-want", f"spiffe://{C.TD}/someone-else")
        assert r.returncode == 1


def test_gospiffe_fetches_bundle_https_spiffe(judges, corpus):
    """go-spiffe's federation.FetchBundle, https_spiffe profile: fetch the
    bundle over HTTPS with no client certificate (FD-13), authenticating
    the endpoint by its SPIFFE ID (FD-19, FD-20).  Until the dedicated
    bundle endpoint lands this is GET /v1/bundle on the API listener,
    which serves the same document."""
    for src in corpus.sources:
        url = f"https://127.0.0.1:{src.server.port}/v1/bundle"
        out, = go_json(judges, "fetch", "-td", src.td, "-url", url,
                       "-bundle", src.bundle_path, "-endpoint-id",
                       C.SERVER_ID)
        assert out["x509_authorities"] == len(src.roots)
        assert out["jwt_authorities"] == 1
        r = go(judges, "fetch", "-td", src.td, "-url", url, "-bundle",
               src.bundle_path, "-endpoint-id",
               f"spiffe://{C.TD}/someone-else")
        assert r.returncode == 1


def test_gospiffe_fetches_bundle_https_web():
    """federation.FetchBundle, https_web profile: needs the bundle endpoint
    listener with a certificate naming its host (FD-12)."""
    pytest.skip("the bundle endpoint listener (GET / on its own port, "
                "https_web) lands with federation; until then only "
                "https_spiffe can be judged")


# SPIFFE ID vectors: where go-spiffe and we may disagree, and why.  Each
# entry: rule, why, which inputs, our verdict, go-spiffe's verdict.  Any
# other disagreement fails, and so does an entry that never occurs.
EXPECTED_DISAGREEMENTS = [
    ("ID-14", "a SPIFFE ID over 2048 bytes: SPIFFE-ID 2.3 says not to "
     "generate one; we refuse to take one in, go-spiffe sets no limit",
     lambda kind, b: kind == "id" and len(b) > 2048, "reject", "accept"),
    ("ID-15", "a trust domain over 255 bytes, the maximum SPIFFE-ID 2.3 "
     "states; go-spiffe sets no limit",
     lambda kind, b: kind == "td" and len(b) > 255, "reject", "accept"),
    ("ID-06", "'spiffe://example.org' given where a bare trust domain "
     "name is expected: go-spiffe's TrustDomainFromString also takes a "
     "trust domain's SPIFFE ID, by design; ours takes the bare name only "
     "(':' and '/' are not trust-domain characters)",
     lambda kind, b: kind == "td" and b.startswith(b"spiffe://"),
     "reject", "accept"),
]


def _vector_cases():
    d = json.load(open(os.path.join(SHARED, "conformance",
                                    "spiffeid-vectors.json")))
    cases = [("id", s) for s in d["valid_ids"]]
    cases += [("id", o["id"]) for o in d["invalid_ids"]]
    cases += [("td", s) for s in d["valid_trust_domains"]]
    cases += [("td", o["td"]) for o in d["invalid_trust_domains"]]
    cases += [("id", o["id"]) for o in d["uppercase_ids"]]
    cases += [("td", o["td"]) for o in d["uppercase_trust_domains"]]
    cases += [("id", s) for s in d["valid_ids_not_for_leaf_svid"]]
    cases += [("id" if o["kind"] == "spiffe_id" else "td", o["value"])
              for o in d["length_cases"]]
    cases += [("id", o["input"]) for o in d["trust_domain_from_id"]]
    return [(k, s.encode("utf-8")) for k, s in cases]


def test_spiffe_id_vectors_gospiffe_and_ours_agree(judges):
    """Every input of spiffeid-vectors.json through go-spiffe's parser
    (spiffeid.FromString, TrustDomainFromString) and ours
    (spiffeid_parse, spiffeid_td_parse via tests/interop/idcheck.c)."""
    cases = _vector_cases()
    assert len(cases) > 500
    feed = "".join(f"{k} {b.hex()}\n" for k, b in cases)
    theirs = go(judges, "ids", input=feed)
    assert theirs.returncode == 0, theirs.stderr
    ours = run([judges["idcheck"]], input=feed)
    assert ours.returncode == 0, ours.stderr
    theirs = theirs.stdout.splitlines()
    ours = ours.stdout.splitlines()
    assert len(theirs) == len(ours) == len(cases)
    seen = set()
    unexplained = []
    for (kind, b), g, o in zip(cases, theirs, ours):
        gv, ov = g.split()[0], o.split()[0]
        if gv == ov:
            continue
        for rule, _, match, want_ours, want_theirs in EXPECTED_DISAGREEMENTS:
            if match(kind, b) and (ov, gv) == (want_ours, want_theirs):
                seen.add(rule)
                break
        else:
            unexplained.append(f"{kind} {b[:80]!r} ({len(b)} bytes): "
                               f"go-spiffe {g!r}, ours {o!r}")
    assert not unexplained, "\n".join(unexplained)
    assert seen == {e[0] for e in EXPECTED_DISAGREEMENTS}, \
        f"listed disagreements that did not occur: " \
        f"{ {e[0] for e in EXPECTED_DISAGREEMENTS} - seen}"


# ---- 2. zlint -------------------------------------------------------------

# Sources that bind a SPIFFE PKI: the RFCs and the community lints.
ZLINT_JUDGED_SOURCES = {"RFC3279", "RFC5280", "RFC5480", "RFC5891",
                        "RFC6960", "RFC6962", "RFC8813", "Community"}
# Algorithm-encoding lints that live under policy sources but are plain
# DER and key-quality rules (LINTS.md, section 1, second pass).
ZLINT_JUDGED_NAMES = {
    "e_mp_ecdsa_pub_key_encoding_correct",
    "e_mp_ecdsa_signature_encoding_correct",
    "e_algorithm_identifier_improper_encoding",
    "e_ec_improper_curves",
    "e_mp_modulus_must_be_2048_bits_or_more",
    "e_mp_modulus_must_be_divisible_by_8",
    "e_mp_rsassa-pss_in_spki",
    "e_signature_algorithm_not_supported",
}
# Judged lints that may fire on valid SPIFFE output, with the reason.
# Nothing else from the judged set may report a warning or an error.
ZLINT_EXCLUDED = {
    "e_ext_san_uri_host_not_fqdn_or_ip":
        "checks a URI host with a web-URL test; single-label and other "
        "valid trust domains fail it, and SPIFFE-ID 2.1 forbids treating "
        "a trust domain as a DNS name (SI-10, LINTS.md section 2)",
}
# Notices from the judged set that we accept, with the reason.
ZLINT_NOTICES = {}


def _zlint(judges, certs):
    r = go(judges, "zlint", *[c.pem for c in certs], timeout=600)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line]


def _zlint_judge(judges, certs):
    rows = _zlint(judges, certs)
    ran = {row["file"]: row["ran"] for row in rows if "ran" in row}
    by_file = {c.pem: c for c in certs}
    bad, ignored = [], {}
    for row in rows:
        if "lint" not in row:
            continue
        cert = by_file[row["file"]]
        judged = row["source"] in ZLINT_JUDGED_SOURCES or \
            row["lint"] in ZLINT_JUDGED_NAMES
        if not judged:
            ignored.setdefault(f"{row['source']} {row['lint']}",
                               set()).add(cert.kind)
            continue
        if row["lint"] in ZLINT_EXCLUDED:
            continue
        if row["status"] == "info" and row["lint"] in ZLINT_NOTICES:
            continue
        bad.append(f"{row['lint']} ({row['source']}, {row['status']}) on "
                   f"{cert.kind}: {cert.name} {row['details']}")
    for c in certs:
        assert ran.get(c.pem, 0) > 50, f"zlint ran few lints on {c.name}"
    print("not judged (Web PKI policy sources):")
    for k in sorted(ignored):
        print(f"  {k}: {', '.join(sorted(ignored[k]))}")
    return bad


def test_zlint_every_certificate_kind(judges, corpus, rotation):
    """zlint v3 on every certificate kind: no error or warning from the
    RFC and community sources beyond the listed exclusions."""
    known = {row["lint"]: row["source"] for row in go_json(judges, "lints")}
    for name in ZLINT_JUDGED_NAMES | set(ZLINT_EXCLUDED) | set(ZLINT_NOTICES):
        assert name in known, f"zlint has no lint {name}"
    certs = corpus.certs + rotation[0].certs
    if corpus.downstream is not None:
        certs = certs + [corpus.downstream[0]]
    bad = _zlint_judge(judges, certs)
    assert not bad, "\n".join(bad)
    print("zlint judged:", ", ".join(sorted({c.kind for c in certs})))


def test_every_kind_collected(corpus, rotation):
    """Each kind svidca can issue today was obtained; kinds whose route
    still answers 501 are listed (and judged once it lands)."""
    assert not corpus.broken, "\n".join(f"{k}: {v}" for k, v in
                                        corpus.broken.items())
    kinds = set(corpus.kinds()) | set(rotation[0].kinds())
    for want in ("root CA", "server SVID", "admin X.509-SVID",
                 "admin X.509-SVID with DNS names", "admin JWT-SVID",
                 "root CA (ec-p384)", "root CA (rsa-2048)",
                 "X.509-SVID before a rotation",
                 "X.509-SVID after a rotation",
                 "root CA prepared by a rotation", "agent SVID",
                 "renewed agent SVID", "workload SVID (agent API)",
                 "workload JWT-SVID (agent API)"):
        assert want in kinds, want
    key_types = {c.key_type for c in corpus.leaves() if c.key_type}
    assert {"p256", "p384", "rsa2048", "rsa4096"} <= key_types
    for kind, why in sorted(corpus.pending.items()):
        print(f"not yet issued: {kind}: {why}")


# ---- 3. pkilint -------------------------------------------------------------

# The documented misfire (LINTS.md section 2): pkilint checks SAN URIs
# with a web-URL validator that knows no spiffe scheme.
PKILINT_ALLOWED = {
    "pkix.invalid_uri_syntax":
        lambda f: f["message"] is not None and
        f["message"].startswith('Invalid URI syntax: "spiffe://'),
}
# Informational findings: how the SKI was computed (RFC 5280 4.2.1.2).
PKILINT_INFO = ("pkix.subject_key_identifier_method_",)


def _pkilint(exe, *files):
    # The exit status is the number of findings, so read the report.
    r = run([exe, "lint", "-s", "INFO", "-f", "JSON"] + list(files))
    assert r.stdout.startswith("{"), r.stdout + r.stderr
    out = json.loads(r.stdout)
    for res in out["results"]:
        for f in res["finding_descriptions"]:
            yield res["node_path"], f


def test_pkilint_every_certificate_kind(judges, corpus, rotation):
    """pkilint's RFC 5280 certificate linter on every certificate, and its
    issuer/subject chain linter on every issued one: nothing beyond the
    spiffe URI misfire."""
    certs = corpus.certs + rotation[0].certs
    if corpus.downstream is not None:
        certs = certs + [corpus.downstream[0]]
    bad = []
    for c in certs:
        misfires = 0
        for path, f in _pkilint(judges["pkilint"], c.pem):
            if f["code"] in PKILINT_ALLOWED and \
                    PKILINT_ALLOWED[f["code"]](f):
                misfires += 1
                continue
            if f["severity"] == "INFO" and \
                    f["code"].startswith(PKILINT_INFO):
                continue
            bad.append(f"{f['code']} ({f['severity']}) on {c.kind}: "
                       f"{c.name} at {path}: {f['message']}")
        assert misfires == 1, f"{c.name}: {misfires} spiffe URI findings"
        # A self-signed root may omit its AKI (RFC 5280 4.2.1.1): the
        # pair linter, which wants one, judges issued certificates only.
        if c.role != "ca":
            for path, f in _pkilint(judges["pkilint_chain"], c.issuer,
                                    c.pem):
                bad.append(f"chain {f['code']} ({f['severity']}) on "
                           f"{c.kind}: {c.name} at {path}: {f['message']}")
    assert not bad, "\n".join(bad)


# ---- 4. OpenSSL path validation with TLS purposes -------------------------

def test_openssl_verify_client_and_server_purpose(corpus, rotation):
    """openssl verify -x509_strict with -purpose sslclient and sslserver:
    every leaf chains to its root and may act as both TLS ends (X5-15,
    X5-16, X5-17, IO-08)."""
    leaves = corpus.leaves() + [x for x in rotation[0].leaves()]
    at = rotation[1]
    for leaf in leaves:
        for purpose in ("sslclient", "sslserver"):
            args = ["openssl", "verify", "-x509_strict", "-purpose",
                    purpose, "-CAfile", leaf.issuer]
            if leaf.source.name == "rotation":
                args += ["-attime", str(int(at))]
            r = run(args + [leaf.pem])
            assert r.returncode == 0 and r.stdout.strip().endswith(": OK"), \
                f"{leaf.name} {purpose}: {r.stdout}{r.stderr}"


# ---- 5. jose ----------------------------------------------------------------

def _jose(judges, tokens, at=None):
    cases = []
    for t in tokens:
        case = {"name": t.name, "token": t.token, "bundle": t.source.bundle,
                "sub": t.sub, "aud": t.aud, "alg": t.alg,
                "wrong_aud": C.WRONG_AUD}
        if at is not None:
            case["at"] = at
        cases.append(case)
    r = run(["node", judges["jose"]], input=json.dumps({"cases": cases}),
            cwd=os.path.dirname(judges["jose"]))
    results = [json.loads(line) for line in r.stdout.splitlines() if line]
    assert len(results) == len(cases), r.stdout + r.stderr
    return [f"{x['name']}: {'; '.join(x['problems'])}" for x in results
            if not x["ok"]]


def test_jose_verifies_every_jwt_svid(judges, corpus):
    """jose's jwtVerify with the bundle's JWKS: alg, kid, typ, sub, aud,
    exp, for every JWT-SVID kind and every signing key type; forged and
    wrong-audience tokens are refused."""
    algs = {t.alg for t in corpus.tokens}
    assert {"ES256", "ES384", "RS256"} <= algs, algs
    bad = _jose(judges, corpus.tokens)
    assert not bad, "\n".join(bad)


def test_jose_verifies_jwt_svids_across_rotation(judges, rotation):
    """Both sides of a JWT authority rotation, judged at the moment the
    collection ended, against the bundle holding both keys."""
    c, at = rotation
    bad = _jose(judges, c.tokens, at=int(at))
    assert not bad, "\n".join(bad)


# ---- 6. schemathesis ----------------------------------------------------

# Routes that answer 501 today: the contract cannot be judged on them
# yet.  test_schemathesis_exclusions_still_answer_501 fails as soon as one
# is built, so that it is taken off this list and fuzzed.
NOT_BUILT = [
    "GET /v1/bundles", "GET /v1/bundles/{trust_domain}",
    "PUT /v1/bundles/{trust_domain}", "DELETE /v1/bundles/{trust_domain}",
    "GET /v1/federation", "POST /v1/federation",
    "GET /v1/federation/{trust_domain}",
    "PUT /v1/federation/{trust_domain}",
    "DELETE /v1/federation/{trust_domain}",
    "POST /v1/federation/{trust_domain}/refresh",
    "GET /v1/authorities/x509", "GET /v1/authorities/jwt",
    "POST /v1/authorities/{kind}/prepare",
    "POST /v1/authorities/{kind}/activate",
    "POST /v1/authorities/{kind}/taint",
    "POST /v1/authorities/{kind}/revoke",
]
# Served by another listener: the health routes get their own run below;
# the bundle endpoint's listener is not built yet.
OTHER_LISTENER = {"GET /": "bundle endpoint listener, not built yet"}
HEALTH = ["GET /live", "GET /ready", "GET /metrics"]
# Health routes documented but answered 404 today; checked below like
# NOT_BUILT.
HEALTH_NOT_BUILT = []
SCHEMATHESIS_CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance",
    "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance"])


def _admin_server(root):
    cfg = os.path.join(root, "admin.conf")
    with open(cfg, "w") as f:
        f.write(f'admin_ids = [ "{C.ADMIN_ID}" ];\n')
    s = Server(root, config=cfg).start()
    key, csr = C.new_key(root, "admin", "p256")
    st, r = C.socket_json(s, "POST", "/v1/svids/x509",
                          {"spiffe_id": C.ADMIN_ID, "csr": C.b64(csr)})
    assert st == 200, r
    cert = C.write_pem_chain(os.path.join(root, "admin.pem"),
                             [base64.b64decode(x) for x in r["svid"]])
    return s, cert, key


def _agent_identity(s, root):
    """Attest one agent with a join token and give it an entry, so that
    the agent routes have something to answer with.  None while the
    routes answer 501."""
    st, tok = C.socket_json(s, "POST", "/v1/join-tokens", {"ttl": 600})
    if st == 501:
        return None
    assert st in (200, 201), tok
    key, csr = C.new_key(root, "agent", "p256")
    st, r = C.https_json(s, "POST", "/v1/agent/attest",
                         {"attestation_type": "join_token",
                          "evidence": {"token": tok["token"]},
                          "csr": C.b64(csr)}, None, None)
    assert st == 200, r
    cert = C.write_pem_chain(os.path.join(root, "agent.pem"),
                             [base64.b64decode(x) for x in r["svid"]])
    st, r = C.socket_json(s, "POST", "/v1/entries", {"entries": [
        {"spiffe_id": f"spiffe://{C.TD}/fuzzed/web",
         "parent_id": tok["agent_id"], "dns_names": ["web.example.org"],
         "selectors": [{"type": "unix", "value": "uid:1000"}]}]})
    assert st == 200, r
    return cert, key


@pytest.fixture(scope="module")
def admin_server(workdir):
    root = os.path.join(workdir, "schemathesis")
    os.makedirs(root)
    s, cert, key = _admin_server(root)
    agent = _agent_identity(s, root)
    yield s, cert, key, agent
    s.stop()


def _schemathesis(judges, url, extra, report):
    cmd = [judges["schemathesis"], "--config-file",
           os.path.join(HERE, "schemathesis.toml"), "run",
           os.path.join(TOP, "docs", "openapi.yaml"),
           "--url", url, "--checks", SCHEMATHESIS_CHECKS,
           "--max-examples", "25", "--seed", "7", "--workers", "1",
           "--phases", "examples,fuzzing", "--request-timeout", "10",
           "--suppress-health-check", "all",
           "--report", "junit", "--report-junit-path", report] + extra
    env = dict(os.environ, NO_COLOR="1", SCHEMATHESIS_HOOKS="")
    return run(cmd, env=env, cwd=OUT, timeout=400)


def _operation_filter(ops, include):
    """--include/--exclude-operation-id options for METHOD PATH pairs,
    each looked up in docs/openapi.yaml (so a typo fails here)."""
    spec = yaml.safe_load(open(os.path.join(TOP, "docs", "openapi.yaml")))
    flag = "--include-operation-id" if include else "--exclude-operation-id"
    args = []
    for op in ops:
        method, path = op.split(" ", 1)
        args += [flag, spec["paths"][path][method.lower()]["operationId"]]
    return args


def test_schemathesis_api_as_admin(judges, admin_server, workdir):
    """schemathesis fuzzes every built route of docs/openapi.yaml on the
    HTTPS listener, presenting an admin X.509-SVID: no 5xx, and status,
    content type, headers and body match the document."""
    s, cert, key, _ = admin_server
    exclude = NOT_BUILT + list(OTHER_LISTENER) + HEALTH + HEALTH_NOT_BUILT
    r = _schemathesis(judges, f"https://127.0.0.1:{s.port}",
                      ["--tls-verify", "false", "--request-cert", cert,
                       "--request-cert-key", key] +
                      _operation_filter(exclude, include=False),
                      os.path.join(OUT, "schemathesis-api.xml"))
    assert r.returncode == 0, r.stdout[-12000:] + r.stderr[-4000:]
    assert s.proc.poll() is None, "the server died under the fuzzer"


def test_schemathesis_agent_routes_as_agent(judges, admin_server):
    """The agent routes again, presenting an attested agent's SVID, so
    that their 200 answers are judged too."""
    s, _, _, agent = admin_server
    if agent is None:
        pytest.skip("attestation answers 501")
    cert, key = agent
    r = _schemathesis(judges, f"https://127.0.0.1:{s.port}",
                      ["--tls-verify", "false", "--request-cert", cert,
                       "--request-cert-key", key, "--include-tag", "agent"],
                      os.path.join(OUT, "schemathesis-agent.xml"))
    assert r.returncode == 0, r.stdout[-12000:] + r.stderr[-4000:]
    assert s.proc.poll() is None, "the server died under the fuzzer"


def test_schemathesis_health_listener(judges, admin_server):
    """The same judge on the health listener's routes."""
    s, _, _, _ = admin_server
    r = _schemathesis(judges, f"http://127.0.0.1:{s.health}",
                      _operation_filter(HEALTH, include=True),
                      os.path.join(OUT, "schemathesis-health.xml"))
    assert r.returncode == 0, r.stdout[-12000:] + r.stderr[-4000:]


def test_schemathesis_exclusions_still_answer_501(admin_server):
    """Every route excluded above as not built still answers 501 to an
    admin; once one is built, take it off NOT_BUILT."""
    s, cert, key, _ = admin_server
    built = []
    for op in NOT_BUILT:
        method, path = op.split(" ", 1)
        path = path.replace("{id}", "6f1d3c1e-2b8a-4f1e-9a57-0c8e4b2d7a31")
        path = path.replace("{trust_domain}", "partner.test")
        path = path.replace("{kind}", "x509")
        body = {} if method in ("POST", "PUT", "PATCH") else None
        st, _, _ = s.https(method, path, body=body, cert=cert, key=key)
        if st != 501:
            built.append(f"{op} answers {st}")
    for op in HEALTH_NOT_BUILT:
        st, _ = s.health_get(op.split(" ", 1)[1])
        if st != 404:
            built.append(f"{op} answers {st} (HEALTH_NOT_BUILT)")
    assert not built, "built now; remove from NOT_BUILT in " \
        "tests/interop/test_interop.py: " + "; ".join(built)
