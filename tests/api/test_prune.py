"""Issue 4 item 6: the scheduler deletes expired join tokens at once, and
expired entries and agents prune_after seconds past their expiry, with
one audit record."""
import json
import os
import sqlite3
import time

from harness import Server


def _entry(path, expires_at):
    return {"spiffe_id": "spiffe://example.org" + path,
            "parent_id": "spiffe://example.org/node",
            "selectors": [{"type": "unix", "value": "uid:" + path[1:]}],
            "expires_at": expires_at}


def test_expired_entries_and_tokens_pruned(tmp):
    cfg = os.path.join(tmp, "svidca.conf")
    open(cfg, "w").write("prune_after = 0;\n")
    s = Server(tmp, config=cfg).start()
    try:
        now = int(time.time())
        code, body = s.socket_request("POST", "/v1/entries", {"entries": [
            _entry("/gone", now - 5), _entry("/soon", now + 3),
            _entry("/kept", 0), _entry("/later", now + 3600)]})
        assert code == 200, body
        assert [r["status"]["code"] for r in json.loads(body)["results"]] \
            == [200] * 4
        code, body = s.socket_request("POST", "/v1/join-tokens", {"ttl": 1})
        assert code == 201, body
        token_id = json.loads(body)["token_id"]
    finally:
        assert s.stop() == 0
    time.sleep(4)
    s.start()
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            code, body = s.socket_request("GET", "/v1/entries/count")
            if code == 200 and json.loads(body)["count"] == 2:
                break
            time.sleep(0.3)
        code, body = s.socket_request("GET", "/v1/entries")
        ids = sorted(e["spiffe_id"] for e in json.loads(body)["entries"])
        assert ids == ["spiffe://example.org/kept",
                       "spiffe://example.org/later"]
    finally:
        assert s.stop() == 0
    db = sqlite3.connect(os.path.join(s.data_dir, "svidca.db"))
    try:
        left = db.execute("SELECT count(*) FROM join_tokens WHERE "
                          "token_id = ?", (token_id,)).fetchone()[0]
        assert left == 0
        rows = db.execute("SELECT actor, detail FROM audit WHERE "
                          "action = 'prune'").fetchall()
    finally:
        db.close()
    assert len(rows) == 1
    actor, detail = rows[0]
    d = json.loads(detail)
    assert actor == "server"
    assert d["entries"] == 2 and d["join_tokens"] == 1 and d["agents"] == 0
