#!/usr/bin/python3
"""SASL DIGEST-MD5 authentication of clients, on a 3-member ensemble whose
servers have a JAAS Server section (DigestLoginModule, user_NAME="PW"),
against Apache ZooKeeper 3.8 (the JAAS file as the JVM system property
java.security.auth.login.config) or zabd (the same name as a zoo.cfg
key).  Both get authProvider.1=...SASLAuthenticationProvider and
superUser=admin in zoo.cfg (ZooKeeper makes the latter the system property
zookeeper.superUser).

  * the exchange on the wire, with a DIGEST-MD5 client written here from
    RFC 2831 (independent of both servers): challenge, rspauth, whoAmI,
    AUTHFAILED and a closed connection for a wrong password, an unknown
    user and a second exchange; addauth with the sasl scheme refused;
  * Kazoo's DIGEST-MD5 (pure-sasl): the sasl ACL scheme across members
    (the identity travels with replicated writes), "auth" ACLs expanded to
    the sasl identity, zookeeper.superUser, a SASL user called "super"
    matching every sasl ACL, an invalid sasl id refused;
  * the Java CLI zkCli.sh with a JAAS Client section (CLIENT_JVMFLAGS):
    SaslAuthenticated, whoami, create with a sasl ACL, getAcl; with a wrong
    password AuthFailed and nothing done.

    ZK_IMPL=zabd /usr/bin/python3 test/cluster/test_sasl.py
"""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean

from zktestlib import IMPL, new_cluster, client, close, main  # noqa: E402
from zkproto import RawClient, ZKError, ERR, w_buf, w_str, w_int  # noqa: E402

from kazoo.exceptions import InvalidACLError, NoAuthError  # noqa: E402
from kazoo.security import make_acl, make_digest_acl  # noqa: E402

ZKCLI = os.environ.get("ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
DIGEST_MODULE = "org.apache.zookeeper.server.auth.DigestLoginModule"

SERVER_JAAS = """
Server {
    %s required
    user_super="super_secret"
    user_admin="admin_pw"
    user_jaasuser="jaas_password"
    user_other="other_pw"
    "user_j\u00fcrgen"="p\u00e4ssword";
};
""" % DIGEST_MODULE


# -- DIGEST-MD5, client side (RFC 2831 2.1.2) ---------------------------------

def _h(b):
    return hashlib.md5(b).digest()


def _hex(b):
    return hashlib.md5(b).hexdigest().encode()


def _latin1_or_utf8(s):
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8")


def digest_response(challenge, user, password, cnonce=b"0a4f113b2c", uri=b"zookeeper/zk-sasl-md5"):
    """The digest-response to `challenge` and the rspauth to expect."""
    d = {k: a or b for k, a, b in re.findall(rb'([a-z-]+)=(?:"([^"]*)"|([^,]*))', challenge)}
    realm, nonce = d[b"realm"], d[b"nonce"]
    a1 = (_h(_latin1_or_utf8(user) + b":" + realm + b":" + _latin1_or_utf8(password)) +
          b":" + nonce + b":" + cnonce)

    def value(method):
        return _hex(_hex(a1) + b":" + nonce + b":00000001:" + cnonce + b":auth:" +
                    _hex(method + b":" + uri))
    resp = (b'charset=utf-8,username="' + user.encode() + b'",realm="' + realm +
            b'",nonce="' + nonce + b'",nc=00000001,cnonce="' + cnonce +
            b'",digest-uri="' + uri + b'",maxbuf=65536,response=' + value(b"AUTHENTICATE") +
            b",qop=auth")
    return resp, b"rspauth=" + value(b"")


def sasl_call(c, token):
    """One OpCode.sasl request: (err, token or None)."""
    zxid, err, r = c.call("sasl", w_buf(token))
    return err, r.buf() if r.rest() >= 4 else None


def whoami(c):
    zxid, err, r = c.call("whoAmI")
    assert err == 0, err
    return [(r.str(), r.str()) for _ in range(r.int())]


def connection_closed(c):
    try:
        c.call("exists", w_str("/") + b"\0", timeout=5)
    except (ConnectionError, OSError, socket.timeout):
        return True
    return False


class Sasl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(3, cls.__name__, extra_cfg=[], java_opts=[])
        jaas = os.path.join(cls.cl.workdir, "server.jaas")
        with open(jaas, "w", encoding="utf-8") as f:
            f.write(SERVER_JAAS)
        cls.cl.extra_cfg += [
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            "superUser=admin",
            # ZooKeeper stores it as zookeeper.java.security..., unused.
            "java.security.auth.login.config=%s" % jaas]
        cls.cl.java_opts += ["-Djava.security.auth.login.config=%s" % jaas]
        cls.cl.write_config()
        cls.cl.start(timeout=90)
        cls.jaas = jaas

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def raw(self, member=0):
        host, port = self.cl.address(member).split(":")
        c = RawClient(host, int(port))
        self.addCleanup(c.close_socket)
        return c

    def authenticate(self, c, user, password):
        err, challenge = sasl_call(c, b"")
        self.assertEqual(err, 0)
        self.assertRegex(challenge, rb'^realm="zk-sasl-md5",nonce="[A-Za-z0-9+/]{40}",'
                                    rb'charset=utf-8,algorithm=md5-sess$')
        resp, rspauth = digest_response(challenge, user, password)
        err, token = sasl_call(c, resp)
        return err, token, rspauth

    def sasl_client(self, user, password, member=0):
        zk = client(self.cl.connect_string([member]),
                    sasl_options={"mechanism": "DIGEST-MD5", "username": user,
                                  "password": password})
        self.addCleanup(close, zk)
        return zk

    # -- the wire -------------------------------------------------------------
    def test_exchange(self):
        c = self.raw(1)
        err, token, rspauth = self.authenticate(c, "jaasuser", "jaas_password")
        self.assertEqual((err, token), (0, rspauth))
        self.assertEqual(c.last_reply_zxid, 0)   # ZooKeeper answers zxid 0
        self.assertIn(("sasl", "jaasuser"), whoami(c))
        self.assertNotIn("super", [s for s, _ in whoami(c)])
        # A second exchange on the same connection: AUTHFAILED, closed.
        err, token = sasl_call(c, b"")
        self.assertEqual((err, token), (ERR["AUTHFAILED"], None))
        self.assertTrue(connection_closed(c))
        # ISO 8859-1 user and password (hashed as Latin-1 by both sides).
        c = self.raw(2)
        err, token, rspauth = self.authenticate(c, "j\u00fcrgen", "p\u00e4ssword")
        self.assertEqual((err, token), (0, rspauth))
        self.assertIn(("sasl", "j\u00fcrgen"), whoami(c))

    def test_super_user(self):
        c = self.raw(0)
        self.assertEqual(self.authenticate(c, "admin", "admin_pw")[0], 0)
        ids = whoami(c)
        self.assertIn(("sasl", "admin"), ids)
        self.assertIn(("super", ""), ids)

    def test_refused(self):
        # (An unknown user with a password that is some user's: ZooKeeper
        # 3.8's SaslServerCallbackHandler keeps the name of the previous
        # user it found and may authenticate the unknown name with that
        # user's password; zabd refuses.  Not tested here.)
        for user, password in (("jaasuser", "wrong"), ("nobody", "nobody_pw")):
            c = self.raw(0)
            err, token, _ = self.authenticate(c, user, password)
            self.assertEqual((err, token), (ERR["AUTHFAILED"], None), user)
            self.assertTrue(connection_closed(c), user)
        # Garbage instead of a digest-response.
        c = self.raw(1)
        sasl_call(c, b"")
        self.assertEqual(sasl_call(c, b'username="a,=\x00'), (ERR["AUTHFAILED"], None))
        self.assertTrue(connection_closed(c))
        # addauth sasl: SASLAuthenticationProvider.handleAuthentication.
        c = self.raw(2)
        with self.assertRaises(ZKError) as e:
            c.add_auth("sasl", b"jaasuser:jaas_password")
        self.assertEqual(e.exception.code, ERR["AUTHFAILED"])

    # -- Kazoo and ACLs ------------------------------------------------------
    def test_acls_across_members(self):
        p = "/sasl-acl-%d" % os.getpid()
        admin = self.sasl_client("admin", "admin_pw", 2)
        self.addCleanup(lambda: admin.delete(p, recursive=True))
        owner = self.sasl_client("jaasuser", "jaas_password", 0)
        owner.create(p, b"x", acl=[make_acl("sasl", "jaasuser", all=True)])
        # "auth" expands to the sasl identity (and nothing else).
        owner.create(p + "/auth", b"y", acl=[make_acl("auth", "", all=True)])
        acl, _ = owner.get_acls(p + "/auth")
        self.assertEqual([(a.id.scheme, a.id.id, a.perms) for a in acl],
                         [("sasl", "jaasuser", 31)])
        # The same user on another member: its writes carry the identity.
        same = self.sasl_client("jaasuser", "jaas_password", 1)
        same.sync(p)
        same.set(p, b"written on member 1")
        self.assertEqual(same.get(p + "/auth")[0], b"y")
        # No identity, or another user: NoAuth.
        anon = client(self.cl.connect_string([2]))
        self.addCleanup(close, anon)
        anon.sync(p)
        with self.assertRaises(NoAuthError):
            anon.get(p)
        other = self.sasl_client("other", "other_pw", 2)
        with self.assertRaises(NoAuthError):
            other.set(p, b"no")
        # zookeeper.superUser passes every check.
        admin.sync(p)
        self.assertEqual(admin.get(p)[0], b"written on member 1")
        # A SASL user named "super" matches every sasl ACL
        # (SASLAuthenticationProvider.matches) -- but no other scheme.
        sup = self.sasl_client("super", "super_secret", 1)
        self.assertEqual(sup.get(p)[0], b"written on member 1")
        owner.create(p + "/digest", b"z", acl=[make_digest_acl("bob", "pw", all=True)])
        sup.sync(p)
        with self.assertRaises(NoAuthError):
            sup.get(p + "/digest")
        # An id KerberosName refuses is an invalid sasl ACL.
        with self.assertRaises(InvalidACLError):
            owner.create(p + "/bad", acl=[make_acl("sasl", "a@b@c", all=True)])
        owner.create(p + "/krb", acl=[make_acl("sasl", "svc/host@REALM", read=True)])

    # -- zkCli.sh --------------------------------------------------------------
    def zkcli(self, user, password, script):
        if not os.access(ZKCLI, os.X_OK) or not shutil.which("java"):
            self.skipTest("zkCli.sh or java missing")
        jaas = os.path.join(self.cl.workdir, "client-%s.jaas" % password)
        with open(jaas, "w") as f:
            f.write('Client {\n  %s required\n  username="%s"\n  password="%s";\n};\n' %
                    (DIGEST_MODULE, user, password))
        env = dict(os.environ)
        env["CLIENT_JVMFLAGS"] = ("-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto "
                                  "-Xmx128m -Djava.security.auth.login.config=" + jaas)
        return subprocess.run([ZKCLI, "-server", self.cl.connect_string([1])],
                              input=script, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60,
                              env=env).stdout

    def test_zkcli(self):
        p = "/zkcli-sasl-%d" % os.getpid()
        out = self.zkcli("jaasuser", "jaas_password",
                         "whoami\ncreate %s hello sasl:jaasuser:cdrwa\ngetAcl %s\n"
                         "get %s\nquit\n" % (p, p, p))
        self.assertIn("state:SaslAuthenticated", out)
        self.assertIn("\nsasl: jaasuser\n", out)
        self.assertIn("Created %s" % p, out)
        self.assertIn("'sasl,'jaasuser\n: cdrwa", out)
        self.assertIn("\nhello\n", out)
        zk = self.sasl_client("jaasuser", "jaas_password", 0)
        zk.sync(p)
        acl, _ = zk.get_acls(p)
        self.assertEqual([(a.id.scheme, a.id.id) for a in acl], [("sasl", "jaasuser")])
        zk.delete(p)
        # A wrong password: AuthFailed, and the commands are not run.
        out = self.zkcli("jaasuser", "wrong", "create %s x\nquit\n" % p)
        self.assertIn("state:AuthFailed", out)
        self.assertNotIn("Created", out)
        zk.sync(p)
        self.assertIsNone(zk.exists(p))


if __name__ == "__main__":
    main()
