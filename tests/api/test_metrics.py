"""Issue 6, items 5 and 6: metrics, health and the log level.

An end-to-end run (agents attested with join tokens, entries, SVIDs
minted through the agent API over mTLS and through the admin socket, a
ban) is followed by a scrape of /metrics on the health listener.  The
scrape must pass `promtool check metrics` (Debian's prometheus package)
and its counters must equal what the run did.  Then /ready, `svidca
healthcheck` against the listener and against a closed port, the log
level over the API and the CLI.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from harness import BIN, Server, free_port, run
from test_agent_api import Agent, add_entries, admin, entry, new_csr

TD = "spiffe://example.org"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@pytest.fixture
def server(tmp):
    conf = os.path.join(tmp, "svidca.conf")
    with open(conf, "w") as f:
        f.write("attest_rate = 1000;\nattest_burst = 1000;\n")
    s = Server(tmp, config=conf).start()
    yield s
    s.stop()


def scrape(server):
    """The exposition text and its samples as {(name, labels): value}."""
    st, body = server.health_get("/metrics")
    assert st == 200, body
    text = body.decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "duplicate series " + line
        samples[key] = float(m.group(4))
    return text, samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def promtool():
    path = shutil.which("promtool")
    if path is None:
        r = subprocess.run(["apt-get", "install", "-y", "-q",
                            "--no-install-recommends", "prometheus"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr
        path = shutil.which("promtool")
    assert path, "promtool not found after installing prometheus"
    return path


def test_metrics_after_end_to_end_run(server, tmp):
    # Agents attested with join tokens: two SVIDs of the x509_agent kind.
    a = Agent(server, tmp, "a")
    b = Agent(server, tmp, "b")
    # A refused attestation: a token nobody issued.
    _, csr = new_csr(tmp, "bad")
    st, _, _ = server.https("POST", "/v1/agent/attest", {
        "attestation_type": "join_token",
        "evidence": {"token": "not-a-token-we-issued"}, "csr": csr})
    assert st in (400, 401, 403)

    # Entries, then workload SVIDs through the agent API over mTLS.
    w1, w2 = add_entries(server, entry(TD + "/w1", a.id, 1),
                         entry(TD + "/w2", a.id, 2))
    _, csr = new_csr(tmp, "w")
    st, _, res = a.json("POST", "/v1/agent/x509-svids", {"params": [
        {"entry_id": w1["id"], "csr": csr},
        {"entry_id": w2["id"], "csr": csr}]})
    assert st == 200, res
    assert [r["status"]["code"] for r in res["results"]] == [200, 200]
    st, _, got = a.json("POST", "/v1/agent/jwt-svids",
                        {"entry_id": w1["id"], "audience": ["db"]})
    assert st == 200, got
    # A renewal: one more x509_agent.
    _, csr = new_csr(tmp, "ar")
    st, _, got = a.json("POST", "/v1/agent/renew", {"csr": csr})
    assert st == 200, got

    # Minting by an admin over the socket.
    _, csr = new_csr(tmp, "m")
    st, got = admin(server, "POST", "/v1/svids/x509",
                    {"spiffe_id": TD + "/minted", "csr": csr})
    assert st == 200, got
    st, got = admin(server, "POST", "/v1/svids/jwt",
                    {"spiffe_id": TD + "/minted", "audience": ["x"]})
    assert st == 200, got
    # A ban.
    st, got = admin(server, "POST", "/v1/agents/ban",
                    {"spiffe_id": b.id})
    assert st == 200, got
    st, _, _ = server.https("GET", "/v1/made-up-path")
    assert st == 404
    st, entries = admin(server, "GET", "/v1/entries/count")
    assert st == 200, entries

    text, s = scrape(server)
    r = run([promtool(), "check", "metrics"], input=text)
    assert r.returncode == 0, r.stdout + r.stderr

    issued = "svidca_svids_issued_total"
    assert value(s, issued, kind="x509_agent") == 3
    assert value(s, issued, kind="x509_workload") == 2
    assert value(s, issued, kind="x509_admin") == 1
    assert value(s, issued, kind="jwt") == 2

    att = "svidca_attestations_total"
    assert value(s, att, attestor="join_token", outcome="success") == 2
    assert value(s, att, attestor="join_token", outcome="failure") == 1

    req = "svidca_http_requests_total"
    assert value(s, req, listener="api", route="/v1/agent/attest",
                 method="POST", code="200") == 2
    assert value(s, req, listener="api", route="/v1/agent/x509-svids",
                 method="POST", code="200") == 1
    assert value(s, req, listener="admin", route="/v1/svids/x509",
                 method="POST", code="200") == 1
    assert value(s, req, listener="admin", route="/v1/entries",
                 method="POST", code="200") == 1
    # A path a client made up is counted, but never becomes a label.
    assert value(s, req, listener="api", route="unmatched", method="GET",
                 code="404") == 1
    assert "made-up" not in text
    hist = "svidca_http_request_duration_seconds_count"
    assert value(s, hist, route="/v1/agent/x509-svids") == 1
    assert value(s, "svidca_http_request_duration_seconds_bucket",
                 route="/v1/agent/x509-svids", le="+Inf") == 1

    assert value(s, "svidca_agents", state="active") == 1
    assert value(s, "svidca_agents", state="banned") == 1
    assert value(s, "svidca_entries") == entries["count"]
    assert value(s, "svidca_store_write_duration_seconds_count") > 0
    seq = run(["sqlite3", os.path.join(server.data_dir, "svidca.db"),
               "SELECT count(*) FROM audit"]).stdout.strip()
    assert value(s, "svidca_audit_records") == int(seq)
    x509_active = [v for (n, ls), v in s.items()
                   if n == "svidca_authority_not_after_seconds" and
                   ("kind", "x509") in ls and ("state", "active") in ls]
    assert len(x509_active) == 1 and x509_active[0] > time.time()

    # The scrape itself is not on the API listeners.
    st, _, _ = server.https("GET", "/metrics")
    assert st == 404


def test_ready_and_healthcheck(server):
    st, body = server.health_get("/ready")
    assert st == 200, body
    r = run([BIN, "healthcheck", "--health-listen",
             f"127.0.0.1:{server.health}"])
    assert r.returncode == 0, r.stderr
    r = run([BIN, "healthcheck", "--health-listen",
             f"127.0.0.1:{free_port()}", "--timeout", "3"])
    assert r.returncode == 1
    assert "healthcheck" in r.stderr
    r = run([BIN, "healthcheck", "--bogus"])
    assert r.returncode == 2


def test_ready_needs_a_writable_store(server):
    """A database the server cannot write makes /ready answer 503."""
    if os.geteuid() == 0:
        # root ignores file modes; take the directory away instead.
        moved = server.data_dir + ".moved"
        os.rename(server.data_dir, moved)
        try:
            st, _ = server.health_get("/ready")
        finally:
            os.rename(moved, server.data_dir)
    else:
        os.chmod(server.data_dir, 0o500)
        try:
            st, _ = server.health_get("/ready")
        finally:
            os.chmod(server.data_dir, 0o700)
    assert st == 503
    st, _ = server.health_get("/ready")
    assert st == 200


def test_log_level_api(server):
    st, got = admin(server, "GET", "/v1/log-level")
    assert st == 200 and got == {"level": "info"}
    st, got = admin(server, "PUT", "/v1/log-level", {"level": "warn"})
    assert st == 200 and got == {"level": "warn"}
    st, got = admin(server, "GET", "/v1/log-level")
    assert st == 200 and got == {"level": "warn"}

    for bad in ({"level": "loud"}, {"level": "DEBUG"}, {"level": 3},
                {"level": "fatal"}, {}):
        st, prob = admin(server, "PUT", "/v1/log-level", bad)
        assert st == 400, (bad, prob)
        assert prob["field"] == "level", prob
    st, prob = admin(server, "PUT", "/v1/log-level",
                     {"level": "info", "extra": 1})
    assert st == 400 and prob["field"] == "body"
    st, got = admin(server, "GET", "/v1/log-level")
    assert got == {"level": "warn"}, "a refused PUT changed the level"
    # Only admins: a caller without identity is refused on the API port.
    st, _, _ = server.https("PUT", "/v1/log-level", {"level": "debug"})
    assert st == 401
    st, got = admin(server, "GET", "/v1/log-level")
    assert got == {"level": "warn"}


def test_log_level_cli_turns_on_debug(server):
    marker = "/v1/bundle"
    r = run([BIN, "log", "level", "--socket", server.socket])
    assert r.returncode == 0 and r.stdout.strip() == "info", r.stderr
    server.https("GET", "/v1/bundle")
    time.sleep(0.2)
    assert not [line for line in server.read_log().splitlines()
                if " debug " in line and marker in line]

    r = run([BIN, "log", "level", "debug", "--socket", server.socket])
    assert r.returncode == 0 and r.stdout.strip() == "debug", r.stderr
    server.https("GET", "/v1/bundle")
    deadline = time.time() + 5
    lines = []
    while time.time() < deadline and not lines:
        lines = [line for line in server.read_log().splitlines()
                 if " debug " in line and marker in line]
        time.sleep(0.1)
    assert lines, server.read_log()

    r = run([BIN, "log", "level", "chatty", "--socket", server.socket])
    assert r.returncode == 1 and "level" in r.stderr
