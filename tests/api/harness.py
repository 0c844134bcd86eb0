"""Drive the built svidca binary as a black box on 127.0.0.1.

A Server starts `svidca server run` in a scratch folder with free ports,
waits for /live, and offers small helpers: HTTPS GET with or without a
client certificate, the admin socket through curl, the certificate the
listener presents through `openssl s_client`.  Nothing here validates
certificates itself: tests hand PEM files to openssl.
"""
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BIN = os.environ.get("SVIDCA_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "svidca"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(args, **kw)


def der_to_pem(der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + \
        "\n-----END CERTIFICATE-----\n"


def openssl_text(pem_path, *args):
    return run(["openssl", "x509", "-in", pem_path, "-noout"] + list(args)
               ).stdout


def uri_sans(pem_path):
    out = openssl_text(pem_path, "-ext", "subjectAltName")
    return [p.strip()[4:] for part in out.splitlines()
            for p in part.split(",") if p.strip().startswith("URI:")]


class Server:
    """One svidca server process with its own data dir and ports."""

    def __init__(self, root, trust_domain="example.org", extra=None,
                 config=None, data_dir=None, kek_file=None):
        self.root = root
        self.td = trust_domain
        self.data_dir = data_dir or os.path.join(root, "data")
        self.kek_file = kek_file or self.data_dir.rstrip("/") + ".kek"
        self.port = free_port()
        self.health = free_port()
        self.socket = os.path.join(self.data_dir, "admin.sock")
        self.extra = list(extra or [])
        self.config = config
        self.proc = None
        self.log_path = os.path.join(root, "server.log")

    def args(self):
        a = [BIN, "server", "run", "--trust-domain", self.td,
             "--data-dir", self.data_dir, "--kek-file", self.kek_file,
             "--listen", f"127.0.0.1:{self.port}",
             "--health-listen", f"127.0.0.1:{self.health}"]
        if self.config:
            a += ["--config", self.config]
        return a + self.extra

    def start(self, wait=True):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args(), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_live()
        return self

    def wait_live(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %d:\n%s" % (
                    self.proc.returncode, self.read_log()))
            try:
                # Ready means the CA can sign and the listener presents
                # its SVID; live alone comes a moment earlier.
                st, _ = self.health_get("/ready")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not come up:\n" + self.read_log())

    def read_log(self):
        try:
            return open(self.log_path).read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def health_get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.health, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def ssl_context(self, cert=None, key=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def https(self, method, path, body=None, cert=None, key=None,
              headers=None):
        """One HTTPS request; returns (status, headers dict, body bytes)."""
        c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                        context=self.ssl_context(cert, key))
        try:
            h = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def bundle(self):
        st, _, body = self.https("GET", "/v1/bundle")
        assert st == 200, body
        return json.loads(body)

    def socket_request(self, method, path, body=None, user=None,
                       sock=None):
        """curl over the admin socket; returns (status, body text)."""
        cmd = ["curl", "-sS", "--unix-socket", sock or self.socket,
               "-X", method, "-o", "-", "-w", "\n%{http_code}",
               "http://localhost" + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json",
                    "--data-binary", json.dumps(body)]
        if user is not None:
            cmd = ["setpriv", "--reuid", str(user), "--regid", str(user),
                   "--clear-groups"] + cmd
        r = run(cmd)
        text, _, code = r.stdout.rpartition("\n")
        return int(code or 0), text

    def presented_chain(self, tmp):
        """The certificates the listener presents, as PEM files."""
        r = run(["openssl", "s_client", "-connect",
                 f"127.0.0.1:{self.port}", "-showcerts"],
                input="", timeout=20)
        pems, cur = [], None
        for line in r.stdout.splitlines():
            if line.startswith("-----BEGIN CERTIFICATE"):
                cur = [line]
            elif cur is not None:
                cur.append(line)
                if line.startswith("-----END CERTIFICATE"):
                    pems.append("\n".join(cur) + "\n")
                    cur = None
        paths = []
        for i, pem in enumerate(pems):
            p = os.path.join(tmp, f"presented{i}.pem")
            open(p, "w").write(pem)
            paths.append(p)
        return paths


def bundle_roots(bundle, tmp, prefix="root"):
    """Write each x509-svid key's certificate to a PEM file."""
    paths = []
    for i, k in enumerate(x for x in bundle["keys"]
                          if x.get("use") == "x509-svid"):
        p = os.path.join(tmp, f"{prefix}{i}.pem")
        open(p, "w").write(der_to_pem(base64.b64decode(k["x5c"][0])))
        paths.append(p)
    return paths


def scratch():
    return tempfile.mkdtemp(prefix="svidca-test-")
