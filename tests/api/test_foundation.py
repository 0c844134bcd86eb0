"""Issue 2: the server starts from flags, serves its bundle and its own
SVID over HTTPS, keeps its keys sealed, and refuses bad start-ups without
touching anything."""
import base64
import glob
import hashlib
import json
import os
import stat

from harness import (BIN, Server, bundle_roots, openssl_text, run,
                     uri_sans)


def test_live_and_ready(server):
    st, body = server.health_get("/live")
    assert st == 200
    st, body = server.health_get("/ready")
    assert st == 200
    st, _ = server.health_get("/nope")
    assert st == 404


def test_bundle_has_root_and_jwt_key(server, tmp):
    b = server.bundle()
    x509 = [k for k in b["keys"] if k["use"] == "x509-svid"]
    jwt = [k for k in b["keys"] if k["use"] == "jwt-svid"]
    assert len(x509) == 1 and len(jwt) == 1
    assert len(x509[0]["x5c"]) == 1
    assert jwt[0]["kid"]
    assert isinstance(b["spiffe_sequence"], int) and b["spiffe_sequence"] > 0
    assert b["spiffe_refresh_hint"] == 300
    root, = bundle_roots(b, tmp)
    assert uri_sans(root) == ["spiffe://example.org"]
    text = openssl_text(root, "-text")
    assert "CA:TRUE" in text
    assert "Certificate Sign, CRL Sign" in text


def test_presented_svid_verifies_against_root(server, tmp):
    root, = bundle_roots(server.bundle(), tmp)
    chain = server.presented_chain(tmp)
    assert len(chain) >= 1
    leaf = chain[0]
    assert uri_sans(leaf) == ["spiffe://example.org/svidca/server"]
    r = run(["openssl", "verify", "-x509_strict", "-CAfile", root, leaf])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith(": OK")


def test_restart_keeps_root_and_jwt_key(tmp):
    s = Server(tmp).start()
    first = s.bundle()
    assert s.stop() == 0
    s2 = Server(tmp)
    s2.port, s2.health = s.port, s.health
    s2.start()
    try:
        again = s2.bundle()
    finally:
        s2.stop()
    key = lambda b: sorted(json.dumps(k, sort_keys=True) for k in b["keys"])
    assert key(first) == key(again)


def test_key_files_sealed(server):
    files = glob.glob(os.path.join(server.data_dir, "keys", "*"))
    # The X.509 and JWT authorities, and the audit checkpoint key.
    assert len(files) == 3
    assert os.path.join(server.data_dir, "keys", "audit-checkpoint") in files
    for f in files:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
        for form in ("DER", "PEM"):
            r = run(["openssl", "pkey", "-inform", form, "-in", f,
                     "-noout"])
            assert r.returncode != 0, f"{f} parses as a {form} key"
    assert stat.S_IMODE(os.stat(server.kek_file).st_mode) == 0o600


def _hashes(paths):
    return {p: hashlib.sha256(open(p, "rb").read()).hexdigest()
            for p in paths}


def _data_files(s):
    return [p for p in glob.glob(os.path.join(s.data_dir, "**"),
                                 recursive=True)
            if os.path.isfile(p) and not p.endswith(("-wal", "-shm"))
            and not p.endswith("admin.sock")]


def _start_fails(s):
    r = run(s.args(), timeout=30)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    return r, lines


def test_wrong_kek_refused_and_nothing_changes(tmp):
    s = Server(tmp).start()
    s.stop()
    before = _hashes(_data_files(s) + [s.kek_file])
    with open(s.kek_file, "r+b") as f:
        kek = bytearray(f.read())
        kek[0] ^= 1
        f.seek(0)
        f.write(kek)
    kek_hash = hashlib.sha256(bytes(kek)).hexdigest()
    r, lines = _start_fails(s)
    assert "key-encryption key" in r.stderr or "kek" in r.stderr.lower()
    after = _hashes(_data_files(s))
    for p, h in after.items():
        assert before[p] == h, p
    assert hashlib.sha256(open(s.kek_file, "rb").read()).hexdigest() == \
        kek_hash


def test_flipped_byte_in_key_file_refused(tmp):
    s = Server(tmp).start()
    s.stop()
    key = sorted(glob.glob(os.path.join(s.data_dir, "keys", "*")))[0]
    data = bytearray(open(key, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(key, "wb").write(data)
    before = _hashes(_data_files(s) + [s.kek_file])
    r, lines = _start_fails(s)
    assert os.path.basename(key) in r.stderr
    assert _hashes(_data_files(s) + [s.kek_file]) == before


def test_missing_kek_refused_when_keys_exist(tmp):
    s = Server(tmp).start()
    s.stop()
    os.unlink(s.kek_file)
    before = _hashes(_data_files(s))
    r, lines = _start_fails(s)
    assert s.kek_file in r.stderr
    assert not os.path.exists(s.kek_file)
    assert _hashes(_data_files(s)) == before


def test_other_trust_domain_refused(tmp):
    s = Server(tmp).start()
    s.stop()
    before = _hashes(_data_files(s))
    s.td = "other.test"
    r, lines = _start_fails(s)
    assert "example.org" in r.stderr and "other.test" in r.stderr
    assert _hashes(_data_files(s)) == before


def test_invalid_trust_domain_refused(tmp):
    for td in ("Example.org", "exa mple.org", "spiffe://example.org", ""):
        s = Server(tmp, trust_domain=td)
        r, lines = _start_fails(s)
        assert len(lines) == 1, r.stderr
        assert "trust" in r.stderr.lower()
        assert not os.path.exists(s.data_dir)
    s = Server(tmp, trust_domain="EXAMPLE.ORG")
    r, _ = _start_fails(s)
    assert "example.org" in r.stderr


def test_data_dir_not_a_directory(tmp):
    blocker = os.path.join(tmp, "file")
    open(blocker, "w").write("x")
    s = Server(tmp, data_dir=os.path.join(blocker, "data"),
               kek_file=os.path.join(tmp, "k.kek"))
    r, lines = _start_fails(s)
    assert blocker in r.stderr
    assert len(lines) == 1, r.stderr


def test_port_in_use_refused(tmp, server):
    second = os.path.join(tmp, "second")
    os.makedirs(second)
    s = Server(second)
    s.port = server.port
    r, lines = _start_fails(s)
    assert f"127.0.0.1:{server.port}" in r.stderr
    assert "in use" in r.stderr


def test_malformed_config_refused(tmp):
    cfg = os.path.join(tmp, "bad.conf")
    open(cfg, "w").write('trust_domain = "example.org";\nbogus_key = 1;\n')
    r = run([BIN, "server", "validate", "--config", cfg])
    assert r.returncode != 0
    assert "bogus_key" in r.stderr and ":2" in r.stderr
    open(cfg, "w").write('trust_domain = "example.org"\nlisten = ;\n')
    r = run([BIN, "server", "validate", "--config", cfg])
    assert r.returncode != 0 and ":2" in r.stderr


def test_example_config_validates():
    example = os.path.join(os.path.dirname(__file__), "..", "..", "deploy",
                           "svidca.conf.example")
    r = run([BIN, "server", "validate", "--config", example])
    assert r.returncode == 0, r.stderr


def test_sigterm_stops_cleanly(tmp):
    s = Server(tmp).start()
    assert s.stop() == 0
    assert "stopping on signal" in s.read_log()
    assert not os.path.exists(s.socket)


def test_log_lines_have_the_house_format(server):
    for line in server.read_log().splitlines():
        parts = line.split(" ", 3)
        assert parts[0].endswith("Z") and "T" in parts[0], line
        assert parts[1] in ("debug", "info", "warn", "error", "fatal"), line
        assert parts[2].endswith(":"), line
