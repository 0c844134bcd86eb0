"""Issue 2: with a CA lifetime of 60 s the server rotates on its own for
three minutes: the bundle gains each prepared root before the listener's
certificate moves to it, and the listener answers throughout."""
import os
import time

from harness import Server, bundle_roots, run, uri_sans


def _fingerprint(pem):
    return run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint",
                "-sha256"]).stdout.strip()


def _issuer_root(leaf, roots):
    for r in roots:
        v = run(["openssl", "verify", "-x509_strict", "-CAfile", r, leaf])
        if v.returncode == 0:
            return _fingerprint(r)
    return None


def test_rotation_seen_from_outside(tmp):
    cfg = os.path.join(tmp, "svidca.conf")
    open(cfg, "w").write("ca_ttl = 60;\nx509_svid_ttl = 3600;\n")
    s = Server(tmp, config=cfg).start()
    try:
        first_seen = {}     # root fingerprint -> time first in bundle
        signers = []        # (time, root fingerprint) of listener cert
        failures = 0
        end = time.time() + 180
        i = 0
        while time.time() < end:
            i += 1
            d = os.path.join(tmp, f"poll{i}")
            os.makedirs(d)
            try:
                roots = bundle_roots(s.bundle(), d)
            except Exception:
                failures += 1
                time.sleep(1)
                continue
            now = time.time()
            for r in roots:
                first_seen.setdefault(_fingerprint(r), now)
            chain = s.presented_chain(d)
            if not chain:
                failures += 1
            else:
                assert uri_sans(chain[0]) == \
                    ["spiffe://example.org/svidca/server"]
                signer = _issuer_root(chain[0], roots)
                assert signer is not None, "listener cert not under bundle"
                signers.append((now, signer))
            time.sleep(1)
        assert failures == 0
        distinct = []
        for t, fp in signers:
            if not distinct or distinct[-1][1] != fp:
                distinct.append((t, fp))
        # 180 s with a 60 s life: activation at 50 s, so at least two
        # changes of the signing root were seen.
        assert len(distinct) >= 3, distinct
        for t, fp in distinct[1:]:
            assert first_seen[fp] < t - 5, \
                "root signed the listener before it was published"
        assert s.proc.poll() is None
    finally:
        s.stop()
