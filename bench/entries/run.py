#!/usr/bin/env python3
"""Registration entries at scale: create N entries in a scratch server,
then measure what an operator and the agents would feel.

    bench/entries/run.py [--bin build/svidca] [-n 1000000] [--parents N]
                         [--batch 5000] [--seed 1] [--report FILE]

The entries are made the way a fleet makes them: N / 10 parents by
default (100,000 for a million; each an agent ID), every entry with one
to four selectors drawn from unix, k8s and docker attestors, a SPIFFE ID
per workload, a DNS name on a fifth of them, a hint on a third.  They go
in over the admin socket with POST /v1/entries in batches, as
`svidca entry create --data` would send them.

Figures: create time and rate, database size on disk, the latency of
`GET /v1/entries/count` and of filtered lists (by parent, by SPIFFE ID,
by selectors in each match mode), then the cold start-up time of a
server holding them (until /ready answers) and its resident memory.
With --report FILE the "Entries at scale" section of FILE is replaced
by the figures (the rest of FILE is kept).  Only the standard library
is used, so a plain python3 runs it.
"""
import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

TD = "bench.test"
HEADING = "## Entries at scale"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=600)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(600)
        s.connect(self.unix_path)
        self.sock = s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, root):
        self.bin = binary
        self.root = root
        self.data = os.path.join(root, "data")
        self.sock = os.path.join(self.data, "admin.sock")
        self.port = free_port()
        self.health = free_port()
        self.proc = None
        self.conn = None

    def start(self):
        log = open(os.path.join(self.root, "server.log"), "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.bin, "server", "run", "--trust-domain", TD,
             "--data-dir", self.data, "--kek-file", self.data + ".kek",
             "--listen", f"127.0.0.1:{self.port}",
             "--health-listen", f"127.0.0.1:{self.health}"],
            stdout=log, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                sys.exit("server exited; see " + log.name)
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.health,
                                               timeout=2)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if time.monotonic() - t0 > 300:
                sys.exit("server not ready after 300 s")
            time.sleep(0.005)
        return time.monotonic() - t0

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)

    def rss(self):
        """(VmRSS, VmHWM) of the server in MiB."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) / 1024
        return out["VmRSS"], out["VmHWM"]

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = UnixHTTPConnection(self.sock)
            try:
                h = {}
                if body is not None:
                    h["Content-Type"] = "application/json"
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, json.loads(data) if data else None
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError


def parent_id(p):
    return f"spiffe://{TD}/svidca/agent/join_token/{p:08x}"


def make_entry(rng, i, parents):
    """One realistic entry: its parent, SPIFFE ID and 1-4 selectors."""
    p = rng.randrange(parents)
    ns = f"ns{rng.randrange(500)}"
    sa = f"sa{rng.randrange(50)}"
    pool = [("k8s", f"ns:{ns}"), ("k8s", f"sa:{sa}"),
            ("unix", f"uid:{1000 + i % 60000}"),
            ("unix", f"gid:{rng.randrange(100)}"),
            ("docker", f"label:app:{ns}-{sa}"),
            ("k8s", f"pod-uid:{i:08x}")]
    k = rng.randint(1, 4)
    sels = rng.sample(pool, k)
    e = {"spiffe_id": f"spiffe://{TD}/ns/{ns}/sa/{sa}/w{i}",
         "parent_id": parent_id(p),
         "selectors": [{"type": t, "value": v} for t, v in sels]}
    if i % 5 == 0:
        e["dns_names"] = [f"w{i}.{ns}.svc"]
    if i % 3 == 0:
        e["hint"] = ns
    return e, p, sels


def timed(server, path, samples):
    """Median and 99th percentile (ms) of GET path for each sample."""
    times = []
    for q in samples:
        t0 = time.perf_counter()
        st, doc = server.request("GET", path + "?" + urllib.parse.urlencode(
            q, doseq=True))
        times.append((time.perf_counter() - t0) * 1000)
        assert st == 200, doc
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1 if
                                           len(times) > 1 else 0]


def db_size(data):
    total = 0
    for f in os.listdir(data):
        if f.startswith("svidca.db"):
            total += os.path.getsize(os.path.join(data, f))
    return total


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "svidca"))
    ap.add_argument("-n", type=int, default=1000000)
    ap.add_argument("--parents", type=int, default=0,
                    help="distinct parents (default n / 10)")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--dir", default=None, help="scratch folder to use")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--report", default=None)
    a = ap.parse_args()
    parents = a.parents or max(1, a.n // 10)
    rng = random.Random(a.seed)
    root = a.dir or tempfile.mkdtemp(prefix="svidca-bench-entries-")
    os.makedirs(root, exist_ok=True)
    srv = Server(os.path.abspath(a.bin), root)
    srv.start()
    res = {"n": a.n, "parents": parents, "batch": a.batch}

    # Create, in batches, measuring only the requests.
    probe = []			# (i, parent, selectors) to query later
    req_s = 0.0
    t_all = time.monotonic()
    for b in range(0, a.n, a.batch):
        items = []
        for i in range(b, min(a.n, b + a.batch)):
            e, p, sels = make_entry(rng, i, parents)
            items.append(e)
            if rng.random() < a.samples * 4 / a.n:
                probe.append((i, p, sels, e["spiffe_id"]))
        body = json.dumps({"entries": items})
        t0 = time.perf_counter()
        st, doc = srv.request("POST", "/v1/entries", body)
        req_s += time.perf_counter() - t0
        assert st == 200, doc
        bad = [r for r in doc["results"] if r["status"]["code"] != 200]
        assert not bad, bad[:3]
        if (b // a.batch) % 20 == 0:
            print(f"  {b + len(items)} entries, {req_s:.1f} s in "
                  "requests", file=sys.stderr)
    res["create_s"] = req_s
    res["create_wall_s"] = time.monotonic() - t_all
    res["rate"] = a.n / req_s

    st, doc = srv.request("GET", "/v1/entries/count")
    assert doc["count"] == a.n, doc
    rng.shuffle(probe)
    probe = probe[:a.samples] or probe
    res["count_ms"] = timed(srv, "/v1/entries/count", [{}] * 20)
    res["count_parent_ms"] = timed(srv, "/v1/entries/count",
                                   [{"parent_id": parent_id(p)}
                                    for _, p, _, _ in probe])
    res["list_first_ms"] = timed(srv, "/v1/entries", [{}] * 20)
    res["list_parent_ms"] = timed(srv, "/v1/entries",
                                  [{"parent_id": parent_id(p)}
                                   for _, p, _, _ in probe])
    res["list_spiffe_ms"] = timed(srv, "/v1/entries",
                                  [{"spiffe_id": s} for _, _, _, s in probe])
    for mode in ("exact", "superset", "subset", "any"):
        qs = []
        for _, _, sels, _ in probe:
            use = sels if mode != "superset" else sels[:1]
            if mode == "subset":
                use = sels + [("unix", "uid:0")]
            qs.append({"selectors": [f"{t}:{v}" for t, v in use],
                       "selectors_match": mode})
        res[f"list_sel_{mode}_ms"] = timed(srv, "/v1/entries", qs)
    res["rss_hot_mib"] = srv.rss()
    srv.stop()
    res["db_bytes"] = db_size(srv.data)

    # Cold start: caches dropped when we may, then until /ready.
    res["caches_dropped"] = drop_caches()
    res["start_s"] = srv.start()
    res["rss_start_mib"] = srv.rss()
    res["first_list_ms"] = timed(srv, "/v1/entries",
                                 [{"parent_id": parent_id(probe[0][1])}])
    res["rss_after_list_mib"] = srv.rss()
    srv.stop()
    res["db_bytes_after"] = db_size(srv.data)

    text = report(res)
    print(text)
    if a.report:
        write_report(a.report, text)
    if not a.keep and a.dir is None:
        shutil.rmtree(root, ignore_errors=True)


def ms(pair):
    return f"{pair[0]:.2f} / {pair[1]:.2f}"


def report(r):
    mib = 1024 * 1024
    cache = "dropped" if r["caches_dropped"] else "kept: not root"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines = [
        HEADING,
        "",
        f"`bench/entries/run.py -n {r['n']}`: {r['n']:,} entries, "
        f"{r['parents']:,} parents, 1 to 4 selectors each, created over "
        f"the admin socket in batches of {r['batch']:,}.  Machine: "
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} "
        f"{platform.release()}.  Latencies are median / 99th percentile "
        "in milliseconds, measured by the client over the admin socket "
        "(one kept-alive connection).",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| create, time in requests | {r['create_s']:.1f} s "
        f"({r['rate']:,.0f} entries/s) |",
        f"| create, wall time with generating the JSON | "
        f"{r['create_wall_s']:.1f} s |",
        f"| database on disk (db + WAL) after the run | "
        f"{r['db_bytes'] / mib:.0f} MiB, "
        f"{r['db_bytes'] / r['n']:.0f} bytes/entry |",
        f"| database after a restart (WAL checkpointed) | "
        f"{r['db_bytes_after'] / mib:.0f} MiB |",
        f"| `count`, all entries | {ms(r['count_ms'])} |",
        f"| `count`, by parent | {ms(r['count_parent_ms'])} |",
        f"| `list`, first page of 500, no filter | "
        f"{ms(r['list_first_ms'])} |",
        f"| `list` by parent_id | {ms(r['list_parent_ms'])} |",
        f"| `list` by spiffe_id | {ms(r['list_spiffe_ms'])} |",
        f"| `list` by selectors, exact | {ms(r['list_sel_exact_ms'])} |",
        f"| `list` by selectors, superset (one selector) | "
        f"{ms(r['list_sel_superset_ms'])} |",
        f"| `list` by selectors, subset | {ms(r['list_sel_subset_ms'])} |",
        f"| `list` by selectors, any | {ms(r['list_sel_any_ms'])} |",
        f"| cold start-up until /ready | {r['start_s']:.2f} s "
        f"(page cache {cache}) |",
        f"| RSS after start-up (peak) | {r['rss_start_mib'][0]:.0f} MiB "
        f"({r['rss_start_mib'][1]:.0f} MiB) |",
        f"| RSS after a first list | {r['rss_after_list_mib'][0]:.0f} "
        f"MiB |",
        f"| RSS after the list benchmark (peak) | "
        f"{r['rss_hot_mib'][0]:.0f} MiB ({r['rss_hot_mib'][1]:.0f} MiB) |",
        "",
        "Targets from the issue: start-up under 2 s and RSS under 256 MiB "
        "at 1M entries.",
        "",
    ]
    return "\n".join(lines)


def write_report(path, text):
    """Replace (or add) the Entries-at-scale section of path."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# Performance\n\n"
    start = old.find(HEADING + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(HEADING))
        tail = "" if end < 0 else old[end + 1:]
        new = old[:start] + text + ("\n" + tail if tail else "")
    with open(path, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
