"""The manual pages cannot drift from the code: every configuration key
that dnsward's sources read must appear in dnsward.conf(5), and every
command and option of its usage text in dnsward(8).

Keys are found where they are read: string literals passed right after the
configuration context (dw_conf_get(ctx, "key"), dw_conf_uint(ctx, "key",
...), and helpers taking ctx the same way), plus keys built with snprintf
from a "%s"/"%d" template (ipv4-accept, web-ipv6, header1, ...), and any
literal ending in "-file" (secret keys chosen by a helper, token-a-file).  The
gateway (src/gateway) has its own configuration file: every key of its
[gateway] section (read in src/gateway, plus user/group/seccomp through the
library's sandbox) must appear in dnsward-gateway(8), and so must every
command and option of its usage text.
"""
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIRS = ["src/lib", "src/providers", "src/dnsward"]
LITERAL = re.compile(r'\b\w+\(\s*ctx\s*,\s*"([a-z][a-z0-9-]*)"')
FILE_KEY = re.compile(r'"([a-z][a-z0-9-]*-file)"')   # secret keys, wherever named
TEMPLATE = re.compile(r'snprintf\(\s*\w+\s*,\s*sizeof\(\s*\w+\s*\)\s*,\s*"([a-z0-9%-]*%[sd][a-z0-9%-]*)"')


def man_text(name):
    text = (ROOT / "man" / name).read_text()
    text = text.replace("\\-", "-").replace("\\(em", "-")
    return re.sub(r"\\f[BIRP]", "", text)


def code_keys():
    keys = set()
    for d in DIRS:
        for path in (ROOT / d).glob("*.c"):
            src = path.read_text()
            keys.update(LITERAL.findall(src))
            keys.update(FILE_KEY.findall(src))
            for t in TEMPLATE.findall(src):
                if not re.search(r"[a-z]", t.replace("%s", "").replace("%d", "")):
                    continue
                if "%d" in t:
                    keys.add(t.replace("%d", "1"))
                else:
                    keys.update(t.replace("%s", fam) for fam in ("ipv4", "ipv6"))
    return keys


def mentioned(text, word):
    return re.search(rf"(?<![a-z0-9-]){re.escape(word)}(?![a-z0-9-])", text) is not None


def test_every_configuration_key_is_documented():
    keys = code_keys()
    assert {"state-dir", "poll-interval", "ipv6-suffix", "web-ipv4", "ipv4-accept",
            "user", "seccomp", "token-a-file"} <= keys, "the key scan found too little"
    text = man_text("dnsward.conf.5")
    missing = sorted(k for k in keys if not mentioned(text, k))
    assert missing == [], f"keys read by the code but absent from dnsward.conf.5: {missing}"


def test_every_command_and_option_is_documented():
    main = (ROOT / "src/dnsward/main.c").read_text()
    usage = re.search(r"static void usage\(FILE \*f\)\n\{(.*?)\n\}", main, re.S).group(1)
    commands = set(re.findall(r'"  ([a-z][a-z-]*) ', usage))
    commands |= set(re.findall(r'"  acme ([a-z-]+)', usage))
    commands |= set(re.findall(r"\b(certbot-[a-z]+)", usage))
    options = set(re.findall(r"(--[a-z-]+)", usage))
    text = man_text("dnsward.8")
    assert {"check", "update", "addr"} <= commands
    missing = sorted(c for c in commands | options if not mentioned(text, c))
    assert missing == [], f"commands or options absent from dnsward.8: {missing}"


def gateway_keys():
    keys = set()
    for path in (ROOT / "src/gateway").glob("*.c"):
        keys.update(LITERAL.findall(path.read_text()))
    keys.update(LITERAL.findall((ROOT / "src/lib/sandbox.c").read_text()))
    return keys


def test_every_gateway_key_is_documented():
    keys = gateway_keys()
    assert {"listen", "tls-priorities", "request-timeout", "ipv6-source-prefix", "zones",
            "allow-plain-http", "user", "seccomp"} <= keys, "the key scan found too little"
    text = man_text("dnsward-gateway.8")
    missing = sorted(k for k in keys if not mentioned(text, k))
    assert missing == [], f"keys read by the gateway but absent from dnsward-gateway.8: {missing}"


def test_every_gateway_command_and_option_is_documented():
    main = (ROOT / "src/gateway/main.c").read_text()
    usage = re.search(r"static void usage\(FILE \*f\)\n\{(.*?)\n\}", main, re.S).group(1)
    words = set(re.findall(r'"  ([a-z][a-z-]*(?: [a-z]+)?) ', usage))
    options = set(re.findall(r"(--[a-z-]+)", usage))
    text = man_text("dnsward-gateway.8")
    assert {"host add", "serve", "check"} <= words and "--allow-any-name" in options
    missing = sorted(w for w in words | options if not mentioned(text, w))
    assert missing == [], f"commands or options absent from dnsward-gateway.8: {missing}"


@pytest.mark.parametrize("page", ["dnsward.8", "dnsward.conf.5", "dnsward-gateway.8"])
def test_pages_render_without_warnings(page):
    groff = subprocess.run(["sh", "-c", "command -v groff"], capture_output=True)
    if groff.returncode != 0:
        pytest.skip("groff is not installed")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(ROOT / "man" / page)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
