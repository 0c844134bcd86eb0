"""Issue 6, items 2-4: signed checkpoints, offline verify, queries.

One server runs a small end-to-end story (an agent attested with a join
token, entries made over the admin socket, an SVID minted over mTLS, a
second agent banned) with checkpoints every second.  Then:

- `svidca audit verify --pubkey` on a consistent copy says intact;
- on copies damaged with sqlite3 (a field changed, a record deleted, two
  swapped, the tail rewritten with recomputed hashes and checkpoints
  re-signed by a key planted in the data dir), it names the right seq
  and exits 1;
- `svidca audit trace --serial` names the entry, the agent and the admin
  who created the entry; GET /v1/audit filters and pages; bad filters
  get 400.

Hashes are recomputed here with hashlib's BLAKE2b and signatures made
with the cryptography package, following the encoding documented at the
top of store/store.c, so the test does not trust the code it checks.
"""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, \
    PublicFormat

from harness import BIN, Server, run, scratch
from test_agent_api import Agent, add_entries, admin, conforms, entry, \
    new_csr, serial_of, write_chain

TD = "spiffe://example.org"
DOMAIN = b"svidca audit checkpoint v1"
FIELDS = ("actor", "action", "subject", "outcome", "serial", "entry_id",
          "detail")


@pytest.fixture(scope="module")
def story():
    """The end-to-end run; yields a dict of what the tests need."""
    tmp = scratch()
    os.chmod(tmp, 0o755)
    conf = os.path.join(tmp, "svidca.conf")
    with open(conf, "w") as f:
        f.write("attest_rate = 1000;\nattest_burst = 1000;\n"
                "audit_checkpoint_records = 3;\n"
                "audit_checkpoint_interval = 1;\n")
    s = Server(tmp, config=conf).start()
    try:
        a = Agent(s, tmp, "a")
        b = Agent(s, tmp, "b")
        wa, _ = add_entries(s, entry(TD + "/web", a.id, 1),
                            entry(TD + "/db", a.id, 2))
        _, csr = new_csr(tmp, "w")
        st, _, res = a.json("POST", "/v1/agent/x509-svids", {"params": [
            {"entry_id": wa["id"], "csr": csr}]})
        assert st == 200 and res["results"][0]["status"]["code"] == 200
        leaf = write_chain(tmp, "leaf", res["results"][0]["svid"])
        r = run([BIN, "agent", "ban", "--spiffe-id", b.id, "--socket",
                 s.socket])
        assert r.returncode == 0, r.stderr

        # Checkpoints every second: wait until one signs the head.
        db = os.path.join(s.data_dir, "svidca.db")
        for _ in range(100):
            c = sqlite3.connect(db)
            head = c.execute("SELECT max(seq) FROM audit").fetchone()[0]
            ck = c.execute("SELECT max(seq) FROM audit_checkpoints"
                           ).fetchone()[0]
            c.close()
            if ck == head:
                break
            time.sleep(0.1)
        assert ck == head, "no checkpoint of the head after 10 s"

        r = run([BIN, "audit", "pubkey", "--data-dir", s.data_dir])
        assert r.returncode == 0, r.stderr
        pubkey = os.path.join(tmp, "audit.pub")
        open(pubkey, "w").write(r.stdout)
        yield {"server": s, "tmp": tmp, "a": a, "b": b, "entry": wa,
               "serial": serial_of(leaf), "pubkey": pubkey, "head": head}
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- helpers -------------------------------------------------------------

def copy_db(story, name):
    """A consistent copy of the live database in its own data dir."""
    d = os.path.join(story["tmp"], name)
    os.makedirs(d, exist_ok=True)
    src = sqlite3.connect(os.path.join(story["server"].data_dir,
                                       "svidca.db"))
    dst = sqlite3.connect(os.path.join(d, "svidca.db"))
    src.backup(dst)
    src.close()
    dst.execute("DROP TRIGGER audit_no_update")
    dst.execute("DROP TRIGGER audit_no_delete")
    dst.execute("DROP TRIGGER audit_checkpoints_no_update")
    dst.execute("DROP TRIGGER audit_checkpoints_no_delete")
    dst.commit()
    return d, dst


def verify(data_dir, *extra):
    return run([BIN, "audit", "verify", "--data-dir", data_dir] +
               list(extra))


def i64(v):
    return struct.pack(">q", v)


def record_hash(prev, row):
    """hash[n] as store/store.c documents it."""
    h = hashlib.blake2b(digest_size=32)
    h.update(prev + i64(row["seq"]) + i64(row["at"]))
    for f in FIELDS:
        b = (row[f] or "").encode()
        h.update(struct.pack(">Q", len(b)) + b)
    return h.digest()


def rows(db):
    cur = db.execute("SELECT seq, at, " + ", ".join(FIELDS) +
                     ", prev_hash, hash FROM audit ORDER BY seq")
    names = ("seq", "at") + FIELDS + ("prev_hash", "hash")
    return [dict(zip(names, r)) for r in cur.fetchall()]


def seq_of(db, action):
    return db.execute("SELECT min(seq) FROM audit WHERE action = ?",
                      (action,)).fetchone()[0]


def broken_at(r):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    line = r.stdout.strip()
    assert line.startswith("broken at seq "), line
    return int(line.split()[3].rstrip(":"))


def db_max_checkpoint_below(data_dir, k):
    db = sqlite3.connect(os.path.join(data_dir, "svidca.db"))
    got = db.execute("SELECT coalesce(max(seq), 0) FROM audit_checkpoints"
                     " WHERE seq < ?", (k,)).fetchone()[0]
    db.close()
    return got


def get_audit(server, query=""):
    st, body = admin(server, "GET", "/v1/audit" + query)
    return st, body


# ---- verify ----------------------------------------------------------------

def test_verify_intact_with_outside_key(story):
    d, db = copy_db(story, "intact")
    head = rows(db)[-1]
    db.close()
    r = verify(d, "--pubkey", story["pubkey"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("intact: %d records, head %s" %
                               (story["head"], head["hash"].hex()))
    # Every checkpoint is also in the log, with the signature.
    db = sqlite3.connect(os.path.join(story["server"].data_dir,
                                      "svidca.db"))
    seq, h, sig = db.execute("SELECT seq, hash, sig FROM audit_checkpoints"
                             " ORDER BY seq DESC LIMIT 1").fetchone()
    db.close()
    assert "checkpoint signed seq=%d hash=%s sig=%s" % (
        seq, h.hex(), base64.b64encode(sig).decode()) in \
        story["server"].read_log()
    # The key as a base64 argument works the same.
    key = open(story["pubkey"]).read().strip()
    assert verify(d, "--pubkey", key).returncode == 0
    # --from starts later and still checks the rest.
    r = verify(d, "--pubkey", key, "--from", "3")
    assert r.returncode == 0 and "%d records" % (story["head"] - 2) in \
        r.stdout, r.stdout


def test_verify_changed_field(story):
    d, db = copy_db(story, "changed")
    k = seq_of(db, "svid.x509")
    db.execute("UPDATE audit SET subject = ? WHERE seq = ?",
               (TD + "/evil", k))
    db.commit()
    db.close()
    r = verify(d, "--pubkey", story["pubkey"])
    assert broken_at(r) == k
    assert "changed" in r.stdout


def test_verify_deleted_record(story):
    d, db = copy_db(story, "deleted")
    k = seq_of(db, "entry.create")
    db.execute("DELETE FROM audit WHERE seq = ?", (k,))
    db.commit()
    db.close()
    r = verify(d, "--pubkey", story["pubkey"])
    assert broken_at(r) == k
    assert "missing" in r.stdout


def test_verify_swapped_records(story):
    d, db = copy_db(story, "swapped")
    k = seq_of(db, "svid.x509")
    db.execute("UPDATE audit SET seq = 1000000 WHERE seq = ?", (k,))
    db.execute("UPDATE audit SET seq = ? WHERE seq = ?", (k, k + 1))
    db.execute("UPDATE audit SET seq = ? WHERE seq = 1000000", (k + 1,))
    db.commit()
    db.close()
    assert broken_at(verify(d, "--pubkey", story["pubkey"])) == k


def test_verify_tail_rewritten_and_resigned(story):
    """A rewrite re-signed with a key planted in the data dir passes a
    check against that key, and fails against the key kept outside."""
    d, db = copy_db(story, "rewritten")
    k = seq_of(db, "svid.x509")
    rs = rows(db)
    prev = rs[k - 2]["hash"]
    for row in rs[k - 1:]:
        if row["seq"] == k:
            row["subject"] = TD + "/evil"
        h = record_hash(prev, row)
        db.execute("UPDATE audit SET subject = ?, prev_hash = ?, hash = ?"
                   " WHERE seq = ?", (row["subject"], prev, h, row["seq"]))
        row["hash"] = h
        prev = h
    planted = Ed25519PrivateKey.generate()
    pub = planted.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    db.execute("UPDATE meta SET value = ? WHERE name = ?",
               (base64.b64encode(pub).decode(), "audit_checkpoint_pubkey"))
    cks = db.execute("SELECT seq FROM audit_checkpoints WHERE seq >= ?"
                     " ORDER BY seq", (k,)).fetchall()
    assert cks, "no checkpoint after the rewritten record"
    for (seq,) in cks:
        h = rs[seq - 1]["hash"]
        sig = planted.sign(DOMAIN + i64(seq) + h)
        db.execute("UPDATE audit_checkpoints SET hash = ?, sig = ?"
                   " WHERE seq = ?", (h, sig, seq))
    db.commit()
    db.close()

    # Against the planted key (what the data dir says) it looks intact...
    r = verify(d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" in r.stderr
    # ...against the key kept outside, the first re-signed checkpoint is
    # where the chain is found broken.
    r = verify(d, "--pubkey", story["pubkey"])
    assert broken_at(r) == cks[0][0]
    assert "signature" in r.stdout
    good = db_max_checkpoint_below(d, k)
    assert "records after seq %d (the last good checkpoint)" % good in \
        r.stdout, r.stdout


def test_verify_garbage_and_bad_flags(story):
    d = os.path.join(story["tmp"], "garbage")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "svidca.db"), "wb") as f:
        f.write(os.urandom(8192))
    r = verify(d, "--pubkey", story["pubkey"])
    assert r.returncode not in (0, 1) and r.returncode > 0, r
    r = verify(os.path.join(story["tmp"], "nowhere"), "--pubkey",
               story["pubkey"])
    assert r.returncode == 3, r
    d2, db = copy_db(story, "badkey")
    db.close()
    assert verify(d2, "--pubkey", "not-base64!").returncode == 2
    assert verify(d2, "--from", "0").returncode == 2
    # A valid but different key fails at the first checkpoint.
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key()
                             .public_bytes(Encoding.Raw, PublicFormat.Raw))
    r = verify(d2, "--pubkey", other.decode())
    assert broken_at(r) >= 1


# ---- queries -------------------------------------------------------------

def test_trace_serial(story):
    s = story["server"]
    r = run([BIN, "audit", "trace", "--serial", story["serial"], "-o",
             "json", "--socket", s.socket])
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["entry_id"] == story["entry"]["id"]
    assert got["agent_id"] == story["a"].id
    assert got["spiffe_id"] == TD + "/web"
    assert got["entry_created_by"] == "uid:%d" % os.getuid()
    assert got["entry_created_at"] <= got["issued_at"]
    r = run([BIN, "audit", "trace", "--serial", story["serial"],
             "--socket", s.socket])
    assert r.returncode == 0 and story["a"].id in r.stdout
    r = run([BIN, "audit", "trace", "--serial", "abcdef01", "--socket",
             s.socket])
    assert r.returncode == 1


def test_get_audit_filters_and_pages(story):
    s, a = story["server"], story["a"]
    st, body = get_audit(s, "?serial=" + story["serial"])
    assert st == 200, body
    conforms(body, "AuditList")
    rec, = body["records"]
    assert rec["action"] == "svid.x509" and rec["actor"] == a.id
    assert rec["entry_id"] == story["entry"]["id"]

    st, body = get_audit(s, "?action=entry.create&entry_id=" +
                         story["entry"]["id"])
    assert st == 200 and len(body["records"]) == 1
    assert body["records"][0]["actor"] == "uid:%d" % os.getuid()

    st, body = get_audit(s, "?agent_id=" + story["b"].id)
    acts = [x["action"] for x in body["records"]]
    assert "agent.ban" in acts and "agent.attest" in acts
    assert all(story["b"].id in (x["actor"], x["subject"])
               for x in body["records"])

    st, body = get_audit(s, "?since=4000000000")
    assert st == 200 and body["records"] == []

    # Pages of 2 give every record once, in order, with the chain hashes.
    db = sqlite3.connect(os.path.join(s.data_dir, "svidca.db"))
    want = [(r[0], r[1].hex()) for r in
            db.execute("SELECT seq, hash FROM audit ORDER BY seq")]
    db.close()
    got, token = [], None
    for _ in range(1000):
        q = "?page_size=2" + ("&page_token=" + token if token else "")
        st, body = get_audit(s, q)
        assert st == 200 and len(body["records"]) <= 2
        conforms(body, "AuditList")
        got += [(x["seq"], x["hash"]) for x in body["records"]]
        token = body.get("next_page_token")
        if token is None:
            break
    assert got[:len(want)] == want

    r = run([BIN, "audit", "show", "--agent", a.id, "-o", "json",
             "--page-size", "1", "--socket", s.socket])
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)["records"]
    assert {x["action"] for x in shown} >= {"agent.attest", "svid.x509"}
    r = run([BIN, "audit", "show", "--action", "agent.ban", "--socket",
             s.socket])
    assert r.returncode == 0 and story["b"].id in r.stdout
    # A bad filter is the server's 400, its reason on stderr.
    r = run([BIN, "audit", "show", "--serial", "XYZ", "--socket",
             s.socket])
    assert r.returncode == 1 and "serial" in r.stderr, r


@pytest.mark.parametrize("query", [
    "?serial=XYZ", "?since=-1", "?until=soon", "?bogus=1",
    "?spiffe_id=not-an-id", "?agent_id=spiffe://", "?page_size=0",
    "?page_token=garbage!", "?action=", "?actor=a&actor=b",
])
def test_get_audit_bad_filter(story, query):
    st, body = get_audit(story["server"], query)
    assert st == 400, (query, body)
    assert body["status"] == 400
