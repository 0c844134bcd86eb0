"""Issue 2: the local admin socket, its uid check, default deny, and the
`svidca bundle show` command."""
import json
import os
import stat

from harness import BIN, Server, bundle_roots, run, uri_sans

NOBODY = 65534


def test_socket_mode_and_bundle_as_root(server):
    st = os.stat(server.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    code, body = server.socket_request("GET", "/v1/bundle")
    assert code == 200
    assert json.loads(body) == server.bundle()


def _open_socket_server(tmp, admin_uids=None):
    sockdir = os.path.join(tmp, "sock")
    os.makedirs(sockdir)
    os.chmod(sockdir, 0o755)
    cfg = os.path.join(tmp, "svidca.conf")
    lines = ['admin_socket_group = "nogroup";']
    if admin_uids is not None:
        lines.append("admin_uids = [%s];" % ", ".join(map(str, admin_uids)))
    open(cfg, "w").write("\n".join(lines) + "\n")
    s = Server(tmp, config=cfg,
               extra=["--admin-socket", os.path.join(sockdir, "a.sock")])
    s.socket = os.path.join(sockdir, "a.sock")
    return s.start()


def test_other_uid_gets_403_problem(tmp):
    s = _open_socket_server(tmp)
    try:
        code, body = s.socket_request("GET", "/v1/entries", user=NOBODY)
        assert code == 403
        p = json.loads(body)
        assert p["status"] == 403
        # Anonymous routes stay open to any local caller.
        code, _ = s.socket_request("GET", "/v1/bundle", user=NOBODY)
        assert code == 200
    finally:
        s.stop()


def test_configured_admin_uid_gets_in(tmp):
    s = _open_socket_server(tmp, admin_uids=[NOBODY])
    try:
        code, body = s.socket_request("GET", "/v1/entries", user=NOBODY)
        assert code != 403 and code != 401, body
    finally:
        s.stop()


def test_https_without_cert_gets_401_on_admin_route(server):
    st, h, body = server.https("GET", "/v1/entries")
    assert st == 401
    assert h.get("Content-Type", "").startswith("application/problem+json")
    assert json.loads(body)["status"] == 401


def test_unknown_route_404_and_wrong_method_405(server):
    st, _, _ = server.https("GET", "/v1/nope")
    assert st == 404
    st, h, _ = server.https("DELETE", "/v1/bundle")
    assert st == 405


def test_bundle_show_pem_and_spiffe(server, tmp):
    r = run([BIN, "bundle", "show", "--socket", server.socket])
    assert r.returncode == 0, r.stderr
    p = os.path.join(tmp, "shown.pem")
    open(p, "w").write(r.stdout)
    assert uri_sans(p) == ["spiffe://example.org"]
    root, = bundle_roots(server.bundle(), tmp)
    assert open(root).read().strip() == r.stdout.strip()
    r = run([BIN, "bundle", "show", "--socket", server.socket,
             "--format", "spiffe"])
    assert r.returncode == 0
    assert json.loads(r.stdout) == server.bundle()


def test_bundle_show_exit_codes(tmp):
    r = run([BIN, "bundle", "show", "--socket", os.path.join(tmp, "none")])
    assert r.returncode == 3
    r = run([BIN, "bundle", "show", "--format", "xml"])
    assert r.returncode == 2
