#!/usr/bin/python3
"""TLS with ZooKeeper's own configuration keys, on both servers: a 3-member
ensemble with sslQuorum=true and a secureClientPort on every member (and
the plaintext clientPort, which the harness polls), certificates made here
with the openssl command (a throwaway CA, a certificate per member, a
client certificate, and a rogue signed by another CA).

  * Kazoo over TLS (use_ssl, ca, certfile, keyfile): creates, gets,
    watches; seen by a plaintext client of the same ensemble
  * refused: a TLS client without a certificate (ssl.clientAuth=need), a
    plaintext client on the TLS port; counted in mntr
  * zkCli.sh over TLS (the Netty client, PEM stores)
  * the leader is SIGKILLed: the ensemble re-forms over TLS, the Kazoo
    session carries on, the member rejoins
  * a member restarted with a certificate from another CA, or with one
    from the CA for another host, cannot join: the others refuse it and
    log it, and keep serving
  * a TLS-only standalone server (no clientPort)

    /usr/bin/python3 test/cluster/test_tls.py            # ZK_IMPL=zookeeper|zabd
    test/cluster/run.sh zabd tls
"""

import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
import unittest

import sys
sys.dont_write_bytecode = True   # keep the source tree clean

from zktestlib import IMPL, new_cluster, client, close, wait_for, main, workroot  # noqa
import zkcluster
import zkproto

from kazoo.exceptions import NoNodeError  # noqa: E402
from kazoo.handlers.threading import KazooTimeoutError  # noqa: E402

ZKCLI = os.environ.get("ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
KEY_PASSWORD = "s3cret"

_certs = None


def sh(cmd, cwd):
    r = subprocess.run(cmd, shell=True, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd, r.stdout))


def certs():
    """The certificate directory, made once per run: ca.pem (the trusted
    CA), server<N>.pem (member N's key and certificate, PEM key store),
    server<N>-enc.pem (the same with its key encrypted by KEY_PASSWORD),
    client.pem / client.crt / client.key, rogue.pem (another CA's),
    elsewhere.pem (the CA's, but for another host)."""
    global _certs
    if _certs:
        return _certs
    if not shutil.which("openssl"):
        raise unittest.SkipTest("the openssl command is missing")
    d = os.path.join(workroot(), "certs")
    os.makedirs(d, exist_ok=True)
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    for ca, cn in (("ca", "zabd test CA"), ("rogue-ca", "rogue CA")):
        sh("openssl req -x509 %s -keyout %s.key -out %s.pem -days 2 "
           "-subj '/CN=%s'" % (ec, ca, ca, cn), d)

    with open(os.path.join(d, "elsewhere.cnf"), "w") as f:
        f.write("subjectAltName=DNS:elsewhere.example.com\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")

    def leaf(name, ca, ext="ext.cnf"):
        sh("openssl req %s -keyout %s.key -out %s.csr -subj '/CN=%s'"
           % (ec, name, name, name), d)
        sh("openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key "
           "-CAcreateserial -out %s.crt -days 2 -extfile %s"
           % (name, ca, ca, name, ext), d)
        sh("cat %s.key %s.crt > %s.pem" % (name, name, name), d)

    for n in ("server1", "server2", "server3", "client"):
        leaf(n, "ca")
    leaf("rogue", "rogue-ca")
    leaf("elsewhere", "ca", "elsewhere.cnf")
    # Encrypted PKCS#8 with a scheme Java's PemReader can decrypt too.
    for n in ("server1", "server2", "server3"):
        sh("openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in %s.key -passout pass:%s "
           "-out %s-enc.key" % (n, KEY_PASSWORD, n), d)
        sh("cat %s-enc.key %s.crt > %s-enc.pem" % (n, n, n), d)
    _certs = d
    return d


def tls_cfg(d):
    """zoo.cfg lines for TLS on both sides, as ZooKeeper 3.8 reads them."""
    return [
        # ZooKeeper needs Netty for a secure client port; zabd notes it.
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
        "sslQuorum=true",
        "ssl.quorum.keyStore.location=%s/server{myid}.pem" % d,
        "ssl.quorum.keyStore.type=PEM",
        "ssl.quorum.trustStore.location=%s/ca.pem" % d,
        "ssl.quorum.trustStore.type=PEM",
        "ssl.keyStore.location=%s/server{myid}-enc.pem" % d,
        "ssl.keyStore.password=%s" % KEY_PASSWORD,
        "ssl.keyStore.type=PEM",
        "ssl.trustStore.location=%s/ca.pem" % d,
        "ssl.trustStore.type=PEM",
    ]


def tls_client(hosts, d, **kw):
    return client(hosts, use_ssl=True, ca=os.path.join(d, "ca.pem"),
                  certfile=os.path.join(d, "client.crt"),
                  keyfile=os.path.join(d, "client.key"), **kw)


def connect_request():
    body = (zkproto.w_int(0) + zkproto.w_long(0) + zkproto.w_int(4000) +
            zkproto.w_long(0) + zkproto.w_buf(b"\0" * 16) + zkproto.w_bool(False))
    return zkproto.w_int(len(body)) + body


def read_all(sock, timeout=5.0):
    """Everything the server sends until it closes (or the time is up:
    then None)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            b = sock.recv(4096)
            if not b:
                return out
            out += b
    except (ConnectionResetError, ssl.SSLError):
        return out
    except socket.timeout:
        return None


def mntr(cl, i):
    text = cl.four_letter(i, "mntr")
    return dict(l.split("\t", 1) for l in text.splitlines() if "\t" in l)


class TlsEnsemble(unittest.TestCase):
    """Tests run in name order on one ensemble (test_1..., test_2...)."""

    @classmethod
    def setUpClass(cls):
        cls.d = certs()
        cls.cl = new_cluster(3, cls.__name__, secure=True, extra_cfg=tls_cfg(cls.d))
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        close(*self.clients)

    def tls(self, members=None, **kw):
        c = tls_client(self.cl.secure_connect_string(members), self.d, **kw)
        self.clients.append(c)
        return c

    def grep_logs(self, members, pattern):
        found = []
        for i in members:
            with open(self.cl.log_path(i), errors="replace") as f:
                found += [l for l in f if re.search(pattern, l)]
        return found

    def test_1_kazoo_over_tls(self):
        zk = self.tls([0])
        plain = client(self.cl.connect_string([1]))
        self.clients.append(plain)
        zk.create("/tls", b"root")
        for k in range(20):
            zk.create("/tls/n-", b"v%d" % k, sequence=True)
        self.assertEqual(len(zk.get_children("/tls")), 20)
        self.assertEqual(zk.get("/tls")[0], b"root")
        # a watch set over TLS fires for a change made in clear elsewhere
        fired = []
        zk.get("/tls", watch=lambda ev: fired.append(ev))
        plain.set("/tls", b"changed")
        wait_for(lambda: fired, what="the data watch over TLS")
        self.assertEqual(fired[0].path, "/tls")
        zk.sync("/tls")
        self.assertEqual(zk.get("/tls")[0], b"changed")
        # every member serves TLS
        for i in range(3):
            c = self.tls([i])
            c.sync("/tls")
            self.assertEqual(c.get("/tls")[0], b"changed")

    def test_2_refused(self):
        port = self.cl.secure_port(0)
        base = int(mntr(self.cl, 0).get("zk_unsuccessful_handshake", "0"))
        # A TLS client without a certificate (ssl.clientAuth=need).
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(self.d, "ca.pem"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            # TLS 1.3: the client's handshake ends before the server has
            # checked it; the refusal comes as an alert on the first read.
            s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(connect_request())
            got = read_all(s)
        except (ssl.SSLError, ConnectionError):
            got = b""
        finally:
            raw.close()
        self.assertEqual(got, b"", "no session without a client certificate")
        # Kazoo without a certificate never gets a session.
        k = client(self.cl.secure_connect_string([0]), start=False, use_ssl=True,
                   ca=os.path.join(self.d, "ca.pem"))
        self.clients.append(k)
        with self.assertRaises(KazooTimeoutError):
            k.start(timeout=3)
        k.stop()
        # A plaintext client on the TLS port: closed at once, no reply
        # (at most a TLS alert record).
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.time()
        s.sendall(connect_request())
        got = read_all(s)
        s.close()
        self.assertIsNotNone(got, "the server did not close the connection")
        self.assertLess(time.time() - t0, 3)
        self.assertTrue(got == b"" or got[0] == 0x15, got)   # 0x15: alert
        # The server is fine, and counted the failures as ZooKeeper does.
        zk = self.tls([0])
        zk.exists("/")
        n = int(mntr(self.cl, 0).get("zk_unsuccessful_handshake", "0"))
        self.assertGreaterEqual(n, base + 2)

    def test_3_zkcli(self):
        if not os.access(ZKCLI, os.X_OK) or not shutil.which("java"):
            self.skipTest("zkCli.sh or java missing")
        flags = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m",
                 "-Dzookeeper.client.secure=true",
                 "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
                 "-Dzookeeper.ssl.keyStore.location=%s/client.pem" % self.d,
                 "-Dzookeeper.ssl.keyStore.type=PEM",
                 "-Dzookeeper.ssl.trustStore.location=%s/ca.pem" % self.d,
                 "-Dzookeeper.ssl.trustStore.type=PEM"]
        # Debian's zookeeper.jar names the Netty jars it needs in its
        # manifest, but not netty-codec and netty-resolver, which Netty's
        # SslHandler needs: a later -cp wins over zkCli.sh's.
        extra = ["/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar"]
        if all(os.path.exists(j) for j in extra):
            flags += ["-cp", ":".join(["/usr/share/java/zookeeper.jar"] + extra)]
        env = dict(os.environ, CLIENT_JVMFLAGS=" ".join(flags))
        script = "create /zkcli-tls hello\nget /zkcli-tls\nquit\n"
        r = subprocess.run([ZKCLI, "-server", self.cl.secure_connect_string([1])],
                           input=script, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=90, env=env)
        self.assertIn("Created /zkcli-tls", r.stdout)
        self.assertIn("\nhello\n", r.stdout)
        zk = self.tls([2])
        zk.sync("/zkcli-tls")
        self.assertEqual(zk.get("/zkcli-tls")[0], b"hello")

    def test_4_leader_failover(self):
        cl = self.cl
        zk = self.tls(timeout=6.0)
        zk.ensure_path("/fo")
        for k in range(50):
            zk.create("/fo/a-", b"x", sequence=True)
        old = cl.leader()
        self.assertIsNotNone(old)
        cl.kill(old)
        cl.wait_ready(timeout=60)
        new = cl.leader()
        self.assertNotEqual(new, old)
        # the session lives on over TLS with the survivors
        wait_for(lambda: zk.connected, timeout=30, what="Kazoo reconnected over TLS")
        for k in range(50):
            zk.create("/fo/b-", b"y", sequence=True)
        self.assertEqual(len(zk.get_children("/fo")), 100)
        # the killed member comes back and catches up over the TLS quorum
        cl.start_one(old)
        cl.wait_ready(timeout=60)
        back = self.tls([old])
        back.sync("/fo")
        self.assertEqual(len(back.get_children("/fo")), 100)
        if IMPL == "zabd":
            self.assertTrue(self.grep_logs([old], r"peer \d up \(.*TLSv1\.[23] "),
                            "no peer came up over TLS")

    def impostor(self, keystore, zabd_log, zk_log):
        """A follower restarted with another quorum key store cannot join:
        the others keep serving and log why (zabd_log or zk_log); then it
        is restarted as it was."""
        cl = self.cl
        rogue = cl.followers()[-1]
        others = [i for i in range(3) if i != rogue]
        cl.stop_one(rogue)
        path = cl.cfg_path(rogue)
        with open(path) as f:
            good = f.read()
        bad = re.sub(r"(ssl\.quorum\.keyStore\.location=).*",
                     r"\g<1>%s/%s" % (self.d, keystore), good)
        self.assertNotEqual(bad, good)
        with open(path, "w") as f:
            f.write(bad)
        try:
            cl.start_one(rogue)
            zk = self.tls(others)
            deadline = time.time() + 4
            while time.time() < deadline:
                self.assertIsNone(cl.mode(rogue), "the impostor joined")
                zk.create("/impostor-", b"", sequence=True)   # still served
                time.sleep(0.2)
            pattern = zabd_log if IMPL == "zabd" else zk_log
            self.assertTrue(self.grep_logs(others, pattern),
                            "the refusal is not logged (%s)" % pattern)
        finally:
            cl.stop_one(rogue)
            with open(path, "w") as f:
                f.write(good)
        cl.start_one(rogue)
        cl.wait_ready(timeout=60)
        return others

    def test_5_member_with_other_ca(self):
        others = self.impostor(
            "rogue.pem",
            r"TLS handshake with 127\.0\.0\.1:\d+ on the quorum port failed: "
            r"certificate verify failed",
            r"SSLHandshakeException|PKIX path|certificate_unknown|unknown_ca")
        if IMPL == "zabd":
            n = sum(int(mntr(self.cl, i)["zabd_quorum_unsuccessful_handshake"])
                    for i in others)
            self.assertGreater(n, 0)

    def test_6_member_certificate_for_another_host(self):
        # Signed by the trusted CA, but not for this member's host: its
        # claimed id is refused (ZooKeeper checks the address it comes
        # from, zabd the host of the server.N line it claims).
        self.impostor(
            "elsewhere.pem",
            r"(refusing a peer connection claiming id \d: its certificate does "
            r"not name server\.\d's host 127\.0\.0\.1|hostname mismatch|"
            r"IP address mismatch)",
            r"Failed to verify|CertificateException|SSLHandshakeException")


class TlsOnly(unittest.TestCase):
    """A standalone server with a secureClientPort and no clientPort."""

    def test_tls_only_standalone(self):
        d = certs()
        cfg = [l for l in tls_cfg(d) if not l.startswith(("sslQuorum", "ssl.quorum"))]
        cl = new_cluster(1, "TlsOnly", secure=True, plain=False, extra_cfg=cfg)
        try:
            cl.start(wait=False)
            zk = tls_client(cl.secure_connect_string(), d, start=False)
            try:
                zk.start(timeout=60)
                zk.create("/only", b"tls")
                self.assertEqual(zk.get("/only")[0], b"tls")
                with self.assertRaises(NoNodeError):
                    zk.get("/nope")
            finally:
                close(zk)
            # nothing listens in clear
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", cl.client_port(0)), timeout=2)
        finally:
            cl.stop()
            cl.kill_all()


class StartupErrors(unittest.TestCase):
    """zabd refuses bad TLS settings at start-up, naming the key and the
    file (ZooKeeper's messages are Java exceptions: zabd only)."""

    def run_zabd(self, lines):
        if IMPL != "zabd":
            self.skipTest("zabd's messages")
        d = certs()
        w = os.path.join(workroot(), "startup")
        os.makedirs(w, exist_ok=True)
        cfg = os.path.join(w, "zoo.cfg")
        with open(cfg, "w") as f:
            port = zkcluster.pick_base_port(2)
            f.write("dataDir=%s\nclientPort=%d\nsecureClientPort=%d\n" % (
                w, port, port + 1))
            f.write("".join(l.replace("@D", d) + "\n" for l in lines))
        zabd = os.environ.get("ZABD") or os.path.join(zkcluster.REPO, "build", "zabd")
        r = subprocess.run([zabd, cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        return r.returncode, r.stdout

    def test_refused(self):
        ca = "ssl.trustStore.location=@D/ca.pem"
        cases = [
            (["ssl.keyStore.location=@D/missing.pem", ca], 1,
             "zabd: ssl.keyStore.location: cannot read %s/missing.pem: No such file "
             "or directory"),
            (["ssl.keyStore.location=@D/server1-enc.pem", ca], 1,
             "zabd: ssl.keyStore.location: the private key in %s/server1-enc.pem is "
             "encrypted and ssl.keyStore.password is not set"),
            (["ssl.keyStore.location=@D/server1-enc.pem",
              "ssl.keyStore.password=wrong", ca], 1,
             "zabd: ssl.keyStore.location: cannot decrypt the private key in "
             "%s/server1-enc.pem with ssl.keyStore.password (wrong password?)"),
            (["ssl.keyStore.location=@D/server1.pem",
              "ssl.trustStore.location=@D/server1.key",
              "ssl.trustStore.type=PEM"], 1,
             "zabd: ssl.trustStore.location: no certificate in %s/server1.key"),
            (["ssl.keyStore.location=@D/server1.pem"], 2,
             "secureClientPort needs ssl.trustStore.location"),
            (["ssl.keyStore.location=@D/server1.jks", ca], 2,
             "ssl.keyStore.location: zabd reads PEM (or PKCS12) stores, not JKS"),
        ]
        d = certs()
        for lines, rc, want in cases:
            got_rc, out = self.run_zabd(lines)
            want = want % d if "%s" in want else want
            self.assertEqual(got_rc, rc, out)
            self.assertIn(want, out)


if __name__ == "__main__":
    main()
