"""dnsward import ddclient|inadyn: the real clients' configurations in,
dnsward.conf and secret files out, then "dnsward check" on the result.

  - the example configurations Debian's ddclient and inadyn packages ship;
  - a table of real-world forms (quoting, continuations, several hosts per
    line, globals after hosts, every translated provider);
  - secrets: each in its own mode-0600 file, never on stdout or stderr;
  - request by request: the real ddclient (dyndns2) and the real inadyn
    (custom providers, dyndns2 path and a ddns-path template) publish to an
    emulator, then dnsward with the imported configuration publishes to a
    fresh emulator of the same kind; the requests must be the same (method,
    path, decoded query, credentials).
"""
import base64
import glob
import os
import pathlib
import re
import shutil
import stat
import subprocess
import urllib.parse

import pytest

from emulators.custom import CustomEmulator
from emulators.dyndns2 import Dyndns2Emulator

DDCLIENT_EXAMPLES = ["/etc/ddclient.conf",
                     "/usr/share/doc/ddclient/examples/sample-etc_ddclient.conf"]
INADYN_EXAMPLES = ["/etc/inadyn.conf"] + sorted(glob.glob("/usr/share/doc/inadyn/examples/*.conf"))


def need(program):
    if shutil.which(program) is None:
        pytest.fail(f"{program} is not installed (scripts/deps.sh test)")


class Imported:
    def __init__(self, ws, proc, secrets_dir):
        self.ws = ws
        self.proc = proc
        self.conf = proc.stdout
        self.secrets_dir = pathlib.Path(secrets_dir)

    def record(self, name):
        """The record section's key/values, or None."""
        m = re.search(r"^\[record " + re.escape(name) + r"\]\n((?:[^\[\n][^\n]*\n|\n)*)",
                      self.conf, re.M)
        if m is None:
            return None
        return dict(line.split(" = ", 1) for line in m.group(1).splitlines() if " = " in line)

    def provider(self, name):
        m = re.search(r"^\[provider " + re.escape(name) + r"\]\n((?:[^\[\n][^\n]*\n|\n)*)",
                      self.conf, re.M)
        if m is None:
            return None
        return dict(line.split(" = ", 1) for line in m.group(1).splitlines() if " = " in line)

    def write(self, state_dir):
        """The configuration with this test's state directory."""
        text = self.conf
        if "[dnsward]\n" in text:
            text = text.replace("[dnsward]\n", f"[dnsward]\nstate-dir = {state_dir}\n", 1)
        else:
            text = f"[dnsward]\nstate-dir = {state_dir}\n" + text
        p = self.ws.path / "imported.conf"
        p.write_text(text)
        return str(p)

    def check(self):
        return self.ws.run("check", config=self.write(self.ws.state_dir))


def do_import(ws, client, text=None, path=None, expect=0, secrets=None):
    if path is None:
        path = ws.path / f"{client}.conf"
        path.write_text(text)
        os.chmod(path, 0o600)
    sdir = secrets or str(ws.path / "secrets")
    proc = ws.run("import", client, str(path), "--secrets-dir", sdir, check=expect)
    return Imported(ws, proc, sdir)


def assert_secrets(imp, *values):
    """Every value is in a mode-0600 file of its own, and nowhere in the
    output."""
    files = {}
    for p in imp.secrets_dir.iterdir():
        st = p.stat()
        assert stat.S_IMODE(st.st_mode) == 0o600, p
        files[p.read_text().rstrip("\n")] = p
    for v in values:
        assert v in files, f"no secret file holds {v!r}: {sorted(files)}"
        assert v not in imp.proc.stdout and v not in imp.proc.stderr, f"{v!r} leaked"


# ---- Debian's own examples ----------------------------------------------------

# What "dnsward check" says about a placeholder left in an example, when it
# refuses the imported file: the example's own value, not the import.
PLACEHOLDER_ERRORS = {
    "duckdns.conf": "DuckDNS records are named SUB.duckdns.org",
}
# Examples whose hosts are relative names ("@", "www": namecheap's custom
# example): nothing dnsward can name, and the import says so.
RELATIVE_ONLY = {"custom.conf"}


@pytest.mark.parametrize("path", DDCLIENT_EXAMPLES + INADYN_EXAMPLES,
                         ids=lambda p: p.replace("/usr/share/doc/", ""))
def test_debian_examples(ws, path):
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing (the ddclient and inadyn packages: scripts/deps.sh test)")
    client = "ddclient" if "ddclient" in path else "inadyn"
    text = pathlib.Path(path).read_text()
    hosts = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    proc = ws.run("import", client, path, "--secrets-dir", str(ws.path / "s"))
    active = "\n".join(hosts)
    if client == "ddclient" and not re.search(r"(^|[\s,])[a-z0-9-]+\.[a-z0-9.-]+\s*$", active, re.M):
        # Debian's ddclient.conf (from debconf) and its sample hold settings
        # but no host line (everything else is commented out).
        assert proc.returncode == 2, proc.stderr
        assert "nothing to import: no host could be translated" in proc.stderr
        assert "no host is defined" in proc.stderr
        return
    if client == "inadyn" and not re.search(r"^\s*(provider|custom)\b", active, re.M):
        assert proc.returncode == 2, proc.stderr
        assert "no provider or custom section" in proc.stderr
        return
    if os.path.basename(path) in RELATIVE_ONLY:
        assert proc.returncode == 2, proc.stderr
        assert "is not a fully qualified DNS name" in proc.stderr
        assert "nothing to import" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    imp = Imported(ws, proc, ws.path / "s")
    # Files the other client could not know (FreeDNS update tokens) are
    # created as the notes ask.
    for m in re.finditer(r"^to do: create (\S+)", proc.stderr, re.M):
        pathlib.Path(m.group(1)).write_text("token-from-freedns\n")
        os.chmod(m.group(1), 0o600)
    chk = imp.check()
    name = os.path.basename(path)
    if name in PLACEHOLDER_ERRORS:
        assert chk.returncode == 2 and PLACEHOLDER_ERRORS[name] in chk.stderr, chk.stderr
    else:
        assert chk.returncode == 0, imp.conf + chk.stderr


# ---- real-world ddclient forms ------------------------------------------------

DD_FORMS = {
    # quoting: ddclient takes password values before comments ('#' inside)
    "quoting": ("""
daemon=300
ssl=yes
use=web, web=https://checkip.example.net/
protocol=dyndns2, server=dynupdate.no-ip.com, login=alice@example.net
password='p#ss w0rd'   # quoted, with a hash and a space
home.example.net
""", {"home.example.net": {"provider": "noip", "ipv4": "web",
                           "ipv4-web": "https://checkip.example.net/"}},
        {"noip": {"preset": "noip", "username": "alice@example.net"}}, ["p#ss w0rd"]),
    # line continuations and an escaped comma in a value
    "continuation": ("""
use=web
protocol=cloudflare, \\
  zone=example.com, \\
  login=token, \\
  password=cf-token-123 \\
  ttl=600 \\
  www.example.com
""", {"www.example.com": {"provider": "cloudflare", "ttl": "600"}},
        {"cloudflare": {"zone": "example.com"}}, ["cf-token-123"]),
    # several hosts on one line, old-style login and password after them
    "several hosts": ("""
protocol=dyndns2
use=ip, ip=192.0.2.7
server=dyndns.strato.com a.example.org,b.example.org, c.example.org strato-user strato-pw
""", {"a.example.org": {"provider": "strato", "ipv4": "static:192.0.2.7"},
      "b.example.org": {"provider": "strato"}, "c.example.org": {"provider": "strato"}},
        {"strato": {"username": "strato-user"}}, ["strato-pw"]),
    # globals after hosts: only the hosts below see them
    "globals after hosts": ("""
protocol=dyndns2, server=members.dyndns.org, login=first, password=first-pw
use=ip, ip=192.0.2.1
one.example.org
login=second, password=second-pw
two.example.org
""", {"one.example.org": {"provider": "dyn"}, "two.example.org": {"provider": "dyn-2"}},
        {"dyn": {"username": "first"}, "dyn-2": {"username": "second"}},
        ["first-pw", "second-pw"]),
    # usev4/usev6 forms, an interface and a static address
    "usev4 usev6": ("""
usev4=ipv4, ipv4=198.51.100.4
usev6=ifv6, ifv6=eth0
protocol=dyndns2, server=api.dynu.com, login=bob, password=bob-pw dual.example.net
""", {"dual.example.net": {"provider": "dynu", "ipv4": "static:198.51.100.4",
                           "ipv6": "iface:eth0"}}, {"dynu": {"preset": "dynu"}}, ["bob-pw"]),
    # nsupdate: the key file stays where it is; deSEC and Hurricane Electric
    "nsupdate desec he": ("""
use=if, if=eth0
protocol=nsupdate, server=192.0.2.53, zone=example.org, password=/etc/ddclient/tsig.key ns.example.org
protocol=dyndns2, server=update.dedyn.io, login=my.dedyn.io, password=desec-tok my.dedyn.io
protocol=dyndns2, server=dyn.dns.he.net, login=he.example.com, password=he-key he.example.com
""", {"ns.example.org": {"provider": "rfc2136", "ipv4": "iface:eth0"},
      "my.dedyn.io": {"provider": "desec"}, "he.example.com": {"provider": "he"}},
        {"rfc2136": {"server": "192.0.2.53", "key-file": "/etc/ddclient/tsig.key",
                     "zone": "example.org"}}, ["desec-tok", "he-key"]),
    # duckdns, freemyip, gandi, and a protocol dnsward lacks
    "tokens": ("""
use=web
protocol=duckdns, password=duck-tok me.duckdns.org
protocol=freemyip, password=fmi-tok me.freemyip.com
protocol=gandi, zone=example.net, password=gandi-pat www.example.net
protocol=namecheap, login=example.com, password=nc-pw www.example.com
""", {"me.duckdns.org": {"provider": "duckdns"}, "me.freemyip.com": {"provider": "freemyip"},
      "www.example.net": {"provider": "gandi"}},
        {"gandi": {"zone": "example.net"}}, ["duck-tok", "fmi-tok", "gandi-pat"]),
}


@pytest.mark.parametrize("form", list(DD_FORMS))
def test_ddclient_forms(ws, form):
    text, records, providers, secrets = DD_FORMS[form]
    if "tsig.key" in text:
        key = ws.path / "tsig.key"
        key.write_text('key "k" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";\n};\n')
        os.chmod(key, 0o600)
        text = text.replace("/etc/ddclient/tsig.key", str(key))
        providers = {k: {kk: (str(key) if vv == "/etc/ddclient/tsig.key" else vv)
                         for kk, vv in v.items()} for k, v in providers.items()}
    imp = do_import(ws, "ddclient", text)
    for name, keys in records.items():
        rec = imp.record(name)
        assert rec is not None, f"[record {name}] missing:\n{imp.conf}"
        for k, v in keys.items():
            assert rec.get(k) == v, f"{name}: {k} = {rec.get(k)!r}, want {v!r}\n{imp.conf}"
    for name, keys in providers.items():
        prov = imp.provider(name)
        assert prov is not None, f"[provider {name}] missing:\n{imp.conf}"
        for k, v in keys.items():
            assert prov.get(k) == v, f"{name}: {k} = {prov.get(k)!r}, want {v!r}\n{imp.conf}"
    assert_secrets(imp, *secrets)
    chk = imp.check()
    assert chk.returncode == 0, imp.conf + chk.stderr


def test_ddclient_notes(ws):
    imp = do_import(ws, "ddclient", """
daemon=300
syslog=yes
mail=root
postscript=/usr/local/bin/notify
protocol=namecheap, login=example.com, password=nc-pw www.example.com
protocol=dyndns2, use=ip, ip=192.0.2.9, login=u, password=p, mx=mx.example.org, wildcard=yes h.example.org
login=late
""")
    err = imp.proc.stderr
    for what in ("'syslog' is not translated", "'mail' is not translated",
                 "'postscript' is not translated", "protocol namecheap: dnsward has no provider",
                 "'mx' is not translated", "'wildcard' is not translated",
                 "'login' set after host lines"):
        assert what in err, f"no note {what!r}:\n{err}"
        comments = " ".join(ln[1:].strip() for ln in imp.conf.splitlines() if ln.startswith(";"))
        assert what in comments   # also as comments in the file
    assert "nc-pw" not in err + imp.conf


# ---- real-world inadyn forms --------------------------------------------------

IN_FORMS = {
    "lists and quoting": ("""
# global settings may come anywhere
period = 600
iface = eth0
provider default@no-ip.com {
    username = "user@example.net"
    password = 'q"uote'          // a comment
    hostname = { "a.example.net", b.example.net,
                 "c.example.net" }
}
""", {"a.example.net": {"provider": "noip", "ipv4": "iface:eth0"},
      "c.example.net": {"provider": "noip"}},
        {"noip": {"username": "user@example.net"}}, ['q"uote']),
    "ipv6 and checkip": ("""
allow-ipv6 = true
provider default@dynu.com:1 {
    username = u1
    password = p1
    hostname = dual.example.net
    checkip-server = api.ipify.org
}
provider ipv6@dynu.com:2 {
    username = u1
    password = p1
    hostname = dual.example.net
    iface = eth1
}
""", {"dual.example.net": {"provider": "dynu", "ipv4": "web",
                           "ipv4-web": "https://api.ipify.org/", "ipv6": "iface:eth1"}},
        {"dynu": {"preset": "dynu"}}, ["p1"]),
    "cloudflare duckdns he": ("""
provider cloudflare.com {
    username = example.com
    password = cf-api-token
    hostname = www.example.com
    ttl = 120
    proxied = true
}
provider duckdns.org {
    username = duck-token
    password = unused
    hostname = me.duckdns.org
}
provider default@dns.he.net {
    username = he.example.org
    password = he-dyn-key
    hostname = he.example.org
}
""", {"www.example.com": {"provider": "cloudflare", "ttl": "120", "proxied": "yes"},
      "me.duckdns.org": {"provider": "duckdns"}, "he.example.org": {"provider": "he"}},
        {"cloudflare": {"zone": "example.com"}}, ["cf-api-token", "duck-token", "he-dyn-key"]),
    "custom template": ("""
custom example {
    username = alice
    password = "s3cret"
    ddns-server = dyn.example.net
    ddns-path = "/api/update?u=%u&host=%h&addr=%i&key=%p"
    ddns-response = OK
    hostname = x.example.net
    checkip-command = /usr/local/bin/myip
}
""", {"x.example.net": {"provider": "custom", "ipv4": "cmd:/usr/local/bin/myip"}},
        {"custom": {"url": "https://dyn.example.net/api/update?u=alice&host={fqdn}&addr={ip}"
                           "&key={secret:password}",
                    "header1": "Authorization: Basic {secret:basic}", "success-line": "OK"}},
        ["s3cret", base64.b64encode(b"alice:s3cret").decode()]),
}


@pytest.mark.parametrize("form", list(IN_FORMS))
def test_inadyn_forms(ws, form):
    text, records, providers, secrets = IN_FORMS[form]
    imp = do_import(ws, "inadyn", text)
    for name, keys in records.items():
        rec = imp.record(name)
        assert rec is not None, f"[record {name}] missing:\n{imp.conf}"
        for k, v in keys.items():
            assert rec.get(k) == v, f"{name}: {k} = {rec.get(k)!r}, want {v!r}\n{imp.conf}"
    for name, keys in providers.items():
        prov = imp.provider(name)
        assert prov is not None, f"[provider {name}] missing:\n{imp.conf}"
        for k, v in keys.items():
            assert prov.get(k) == v, f"{name}: {k} = {prov.get(k)!r}, want {v!r}\n{imp.conf}"
    assert_secrets(imp, *secrets)
    if "checkip-command" in text:
        # the program must exist for check: a script of the test's own
        prog = ws.path / "myip"
        prog.write_text("#!/bin/sh\necho 192.0.2.1\n")
        os.chmod(prog, 0o755)
        imp.conf = imp.conf.replace("/usr/local/bin/myip", str(prog))
    chk = imp.check()
    assert chk.returncode == 0, imp.conf + chk.stderr


def test_import_refuses_to_overwrite(ws):
    text = "protocol=duckdns, use=web, password=tok-1 me.duckdns.org\n"
    do_import(ws, "ddclient", text)
    do_import(ws, "ddclient", text)        # the same secret again: fine
    imp = do_import(ws, "ddclient", text.replace("tok-1", "tok-2"), expect=2)
    assert "exists with another content" in imp.proc.stderr
    assert imp.proc.stdout == ""
    assert (ws.path / "secrets" / "duckdns.token").read_text() == "tok-1\n"


def test_import_syntax_errors(ws):
    imp = do_import(ws, "inadyn", "provider default@no-ip.com {\n username = u\n", expect=2)
    assert "never closed" in imp.proc.stderr
    (ws.path / "nul.conf").write_bytes(b"login=a\0b\n")
    proc = ws.run("import", "ddclient", str(ws.path / "nul.conf"), "--secrets-dir",
                  str(ws.path / "s"), check=2)
    assert "NUL" in proc.stderr


# ---- request by request against the real clients ------------------------------

V4 = "81.2.69.160"   # a public address: the policy refuses documentation ranges from sources


def requests_of(emu):
    """(method, path, decoded query as sorted pairs, Authorization) per request."""
    out = []
    for r in emu.requests:
        q = sorted((k, v) for k, vs in r.query.items() for v in vs)
        out.append((r.method, urllib.parse.unquote(r.path), q, r.header("Authorization")))
    return out


def run_client(cmd, cwd):
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120, env=env)


def fresh_dyndns2(pki, host, user, password):
    emu = Dyndns2Emulator(pki.server)
    emu.add_account(user, password)
    emu.add_host(host, owner=user)
    emu.start()
    return emu


def dnsward_update(ws, imp):
    proc = ws.run("-d", "update", config=imp.write(ws.state_dir))
    return proc


def test_ddclient_dyndns2_same_requests(ws, pki):
    need("ddclient")
    host, user, password = "home.example.net", "someone", "pw-Ab3#x"
    conf = f"""daemon=0
syslog=no
ssl=yes
ssl_ca_file={pki.ca_file}
protocol=dyndns2
server=127.0.0.1:PORT
login={user}
password='{password}'
use=ip, ip={V4}
{host}
"""
    emu = fresh_dyndns2(pki, host, user, password)
    try:
        d = ws.path / "ddclient"
        d.mkdir()
        cfile = d / "ddclient.conf"
        cfile.write_text(conf.replace("PORT", str(emu.port)))
        os.chmod(cfile, 0o600)
        p = run_client(["ddclient", "-foreground", "-daemon=0", "-file", str(cfile),
                        "-cache", str(d / "cache")], d)
        assert emu.hosts[host].a == V4, p.stdout + p.stderr
        theirs = requests_of(emu)
    finally:
        emu.stop()
    emu = fresh_dyndns2(pki, host, user, password)
    try:
        (ws.path / "dd.conf").write_text(conf.replace("PORT", str(emu.port)))
        imp = do_import(ws, "ddclient", path=ws.path / "dd.conf")
        proc = dnsward_update(ws, imp)
        assert proc.returncode == 0, proc.stderr
        assert emu.hosts[host].a == V4
        ours = requests_of(emu)
    finally:
        emu.stop()
    assert password not in proc.stdout + proc.stderr
    # ddclient adds Dyn's legacy "system=dyndns" (and its wildcard/mx/backupmx
    # defaults when set); every parameter dnsward sends, the path, the method
    # and the credentials must be ddclient's.
    assert len(ours) == len(theirs) == 1, (ours, theirs)
    (m1, p1, q1, a1), (m2, p2, q2, a2) = theirs[0], ours[0]
    assert (m2, p2, a2) == (m1, p1, a1)
    extra = [kv for kv in q1 if kv not in q2]
    assert all(k == "system" for k, _ in extra), (q1, q2)
    assert all(kv in q1 for kv in q2), (q1, q2)


def inadyn_run(ws, name, conf):
    need("inadyn")
    d = ws.path / name
    (d / "cache").mkdir(parents=True)
    cfile = d / "inadyn.conf"
    cfile.write_text(conf)
    os.chmod(cfile, 0o600)
    return run_client(["inadyn", "-1", "-n", "--cache-dir", str(d / "cache"), "-P",
                       str(d / "pid"), "-l", "debug", "-f", str(cfile)], d)


def checkip_script(ws):
    p = ws.path / "checkip.sh"
    p.write_text(f"#!/bin/sh\necho {V4}\n")
    os.chmod(p, 0o755)
    return p


def test_inadyn_custom_dyndns2_same_requests(ws, pki):
    host, user, password = "in.example.net", "inuser", "in-pw-9"
    script = checkip_script(ws)
    conf = f"""period = 300
ca-trust-file = {pki.ca_file}
custom mydyn {{
    ssl = true
    ddns-server = 127.0.0.1:PORT
    ddns-path = "/nic/update?hostname=%h&myip=%i"
    username = {user}
    password = {password}
    hostname = {host}
    checkip-command = "{script}"
}}
"""
    emu = fresh_dyndns2(pki, host, user, password)
    try:
        p = inadyn_run(ws, "in1", conf.replace("PORT", str(emu.port)))
        assert emu.hosts[host].a == V4, p.stdout + p.stderr
        theirs = requests_of(emu)
    finally:
        emu.stop()
    emu = fresh_dyndns2(pki, host, user, password)
    try:
        (ws.path / "in.conf").write_text(conf.replace("PORT", str(emu.port)))
        imp = do_import(ws, "inadyn", path=ws.path / "in.conf")
        assert imp.provider("dyndns2")["type"] == "dyndns2", imp.conf
        proc = dnsward_update(ws, imp)
        assert proc.returncode == 0, proc.stderr
        ours = requests_of(emu)
    finally:
        emu.stop()
    assert ours == theirs


def test_inadyn_custom_template_same_requests(ws, pki):
    # (a password without URL-special characters: inadyn puts it into the
    # URL unescaped, dnsward percent-encodes it; both reach the same value)
    host, user, password = "tpl.example.net", "tuser", "t-pw-1"
    script = checkip_script(ws)
    conf = f"""ca-trust-file = {pki.ca_file}
custom tpl {{
    ddns-server = 127.0.0.1:PORT
    ddns-path = "/api/set?user=%u&name=%h&addr=%i&key=%p"
    ddns-response = good
    username = {user}
    password = {password}
    hostname = {host}
    checkip-command = "{script}"
}}
"""
    results = []
    for who in ("inadyn", "dnsward"):
        emu = CustomEmulator(pki.server)
        emu.start()
        try:
            text = conf.replace("PORT", str(emu.port))
            if who == "inadyn":
                p = inadyn_run(ws, "in2", text)
                assert emu.requests, p.stdout + p.stderr
            else:
                (ws.path / "tpl.conf").write_text(text)
                imp = do_import(ws, "inadyn", path=ws.path / "tpl.conf")
                assert imp.provider("custom") is not None, imp.conf
                proc = dnsward_update(ws, imp)
                assert proc.returncode == 0, imp.conf + proc.stderr
                assert password not in proc.stdout + proc.stderr
            results.append(requests_of(emu))
        finally:
            emu.stop()
    assert results[1] == results[0]
