"""Cloudflare API v4 through the real `dnsward update`, against the HTTPS emulator.

Every run uses -d (debug logging) and is checked for credential leaks in
stdout and stderr.
"""
import secrets

import pytest

V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"
ZONE = "example.org"
FQDN = "home.example.org"
P = "/client/v4"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.token = "cf_" + secrets.token_hex(20)
        self.token_path = ws.secret("cf-token", self.token)
        self.gkey = secrets.token_hex(19)
        self.gkey_path = ws.secret("cf-global", self.gkey)

    def config(self, fqdn=FQDN, ipv4=f"static:{V4}", ipv6="off", provider_extra="",
               record_extra="", auth=None):
        text = "\n".join([
            "[provider cf]",
            "type = cloudflare",
            f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            auth if auth is not None else f"token-file = {self.token_path}",
            provider_extra,
            f"[record {fqdn}]",
            "provider = cf",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
            record_extra,
        ]) + "\n"
        return self.ws.config(text)

    def run(self, cfg, *args, expect, cmd="update"):
        proc = self.ws.run("-d", cmd, *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        assert self.token not in out, f"token leaked:\n{out}"
        assert self.gkey not in out, f"global key leaked:\n{out}"
        return proc


@pytest.fixture
def cf(ws, cloudflare_emulator, pki):
    s = Setup(ws, cloudflare_emulator, pki)
    cloudflare_emulator.add_token(s.token)
    s.zid = cloudflare_emulator.add_zone(ZONE)
    cloudflare_emulator.add_zone("example.net")
    return s


def calls(reqs):
    return [(r.method, r.path, r.query.get("name", [None])[-1]) for r in reqs]


def test_create_after_zone_lookup(cf):
    proc = cf.run(cf.config(), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    assert "debug:" in proc.stderr
    reqs = cf.emu.take_requests()
    assert calls(reqs) == [
        ("GET", f"{P}/zones", ZONE),
        ("GET", f"{P}/zones/{cf.zid}/dns_records", FQDN),
        ("POST", f"{P}/zones/{cf.zid}/dns_records", None),
    ]
    for r in reqs:
        assert r.header("Authorization") == f"Bearer {cf.token}"
    assert reqs[1].query["type"] == ["A"]
    assert reqs[2].header("Content-Type") == "application/json"
    assert reqs[2].json() == {"type": "A", "name": FQDN, "content": V4, "ttl": 300}
    [rec] = cf.emu.find(ZONE, "A", FQDN)
    assert (rec["content"], rec["ttl"], rec["proxied"]) == (V4, 300, False)


def test_zone_probe_from_longest_suffix(cf):
    fqdn = "a.b.home.example.org"
    cf.run(cf.config(fqdn=fqdn), expect=0)
    names = [c[2] for c in calls(cf.emu.take_requests()) if c[1] == f"{P}/zones"]
    assert names == ["b.home.example.org", "home.example.org", ZONE]
    assert cf.emu.find(ZONE, "A", fqdn)[0]["content"] == V4


def test_configured_zone_is_looked_up_once(cf):
    cf.run(cf.config(record_extra=f"zone = {ZONE}", ipv6=f"static:{V6}"), expect=0)
    zone_calls = [c for c in calls(cf.emu.take_requests()) if c[1] == f"{P}/zones"]
    assert zone_calls == [("GET", f"{P}/zones", ZONE)]   # cached for the AAAA record


def test_unchanged_record_is_not_written(cf):
    cf.emu.add_record(ZONE, "A", FQDN, V4, ttl=300)
    proc = cf.run(cf.config(), expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert cf.emu.writes == 0
    assert [r.method for r in cf.emu.take_requests()] == ["GET", "GET"]


def test_second_run_sends_nothing(cf):
    cfg = cf.config()
    cf.run(cfg, expect=0)
    cf.emu.take_requests()
    proc = cf.run(cfg, expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert cf.emu.take_requests() == []


@pytest.mark.parametrize("content, ttl", [("192.0.2.1", 300), (V4, 3600)])
def test_differing_record_is_patched(cf, content, ttl):
    rec = cf.emu.add_record(ZONE, "A", FQDN, content, ttl=ttl)
    proc = cf.run(cf.config(), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    patch = [r for r in cf.emu.take_requests() if r.method != "GET"]
    assert [(r.method, r.path) for r in patch] == [
        ("PATCH", f"{P}/zones/{cf.zid}/dns_records/{rec['id']}")]
    assert patch[0].json() == {"content": V4, "ttl": 300}   # proxied untouched
    assert (rec["content"], rec["ttl"]) == (V4, 300)


def test_proxied_is_kept_when_unset(cf):
    rec = cf.emu.add_record(ZONE, "A", FQDN, "192.0.2.1", proxied=True)
    cf.run(cf.config(), expect=0)
    patch = [r for r in cf.emu.take_requests() if r.method == "PATCH"][0]
    assert "proxied" not in patch.json()
    assert rec["proxied"] is True and rec["content"] == V4


def test_proxied_setting_is_sent(cf):
    rec = cf.emu.add_record(ZONE, "A", FQDN, V4, proxied=True)
    proc = cf.run(cf.config(record_extra="proxied = no"), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    patch = [r for r in cf.emu.take_requests() if r.method == "PATCH"][0]
    assert patch.json() == {"content": V4, "ttl": 300, "proxied": False}
    assert rec["proxied"] is False


def test_proxied_record_already_right_is_unchanged(cf):
    cf.emu.add_record(ZONE, "A", FQDN, V4, proxied=True)
    proc = cf.run(cf.config(record_extra="proxied = yes"), expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert cf.emu.writes == 0


def test_pagination_is_followed_and_extra_records_removed(cf):
    cf.emu.max_per_page = 1
    cf.emu.add_record(ZONE, "A", FQDN, "192.0.2.1")
    cf.emu.add_record(ZONE, "A", FQDN, "192.0.2.2")
    keep = cf.emu.add_record(ZONE, "A", FQDN, V4)     # on page 3
    proc = cf.run(cf.config(), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    reqs = cf.emu.take_requests()
    pages = [r.query["page"][-1] for r in reqs if r.method == "GET" and "dns_records" in r.path]
    assert pages == ["1", "2", "3"]
    assert [r.method for r in reqs if r.method != "GET"] == ["DELETE", "DELETE"]
    assert cf.emu.find(ZONE, "A", FQDN) == [keep]


def test_aaaa_and_auto_ttl(cf):
    proc = cf.run(cf.config(ipv4="off", ipv6=f"static:{V6}", record_extra="ttl = 1"), expect=0)
    assert f"updated {FQDN} AAAA {V6}" in proc.stdout
    post = [r for r in cf.emu.take_requests() if r.method == "POST"][0]
    assert post.json() == {"type": "AAAA", "name": FQDN, "content": V6, "ttl": 1}


def test_ttl_below_minimum_is_a_config_error(cf):
    proc = cf.run(cf.config(record_extra="ttl = 30"), expect=2, cmd="check")
    assert "below Cloudflare's minimum 60" in proc.stderr


def test_bad_token_is_fatal(cf):
    cf.emu.tokens.clear()
    proc = cf.run(cf.config(), expect=3)
    assert "Cloudflare refused the credentials (HTTP 401" in proc.stderr
    assert "check token-file" in proc.stderr
    assert cf.emu.writes == 0


def test_token_without_zone_permission_is_fatal(cf):
    cf.emu.add_token(cf.token, zones=["example.net"])
    proc = cf.run(cf.config(record_extra=f"zone = {ZONE}"), expect=3)
    assert f"zone {ZONE} not found, or the token cannot read it" in proc.stderr


def test_token_refused_on_write_is_fatal(cf):
    cf.emu.fault(ZONE, "write-status", status=403, code=10000, message="Authentication error")
    proc = cf.run(cf.config(), expect=3)
    assert "HTTP 403, 10000: Authentication error" in proc.stderr
    assert "Zone:DNS:Edit on zone example.org" in proc.stderr


def test_unknown_zone_by_probe_is_fatal(cf):
    proc = cf.run(cf.config(fqdn="home.nothere.test"), expect=3)
    assert "no zone of home.nothere.test found" in proc.stderr


def test_bad_request_is_fatal_with_message(cf):
    cf.emu.fault(ZONE, "write-status", status=400, code=81057, message="Record already exists.")
    proc = cf.run(cf.config(), expect=3)
    assert "81057: Record already exists." in proc.stderr


def test_rate_limit_shows_delay(cf):
    cf.emu.fault(ZONE, "ratelimit", retry_after=90)
    proc = cf.run(cf.config(), expect=1)
    assert "Cloudflare rate limit (HTTP 429): retry after 90 s" in proc.stderr
    assert f"failed {FQDN} A {V4} rate-limited" in proc.stdout


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_retries(cf, status):
    cf.emu.fault(ZONE, "server-error", status=status)
    proc = cf.run(cf.config(), expect=1)
    assert f"Cloudflare server error (HTTP {status})" in proc.stderr


@pytest.mark.parametrize("body", [
    "<html>81.2.69.160</html>",
    '{"success":true,"errors":[],"result":[]}',                       # no result_info
    '{"success":"true","errors":[],"result":[],"result_info":{"page":1,"total_pages":0}}',
    "",
])
def test_garbage_retries(cf, body):
    cf.emu.fault(ZONE, "garbage", body=body)
    proc = cf.run(cf.config(), expect=1)
    assert "unparsable reply from Cloudflare" in proc.stderr
    assert cf.emu.writes == 0


def test_global_key_is_refused(cf):
    auth = f"email = me@example.org\nglobal-key-file = {cf.gkey_path}"
    proc = cf.run(cf.config(auth=auth), expect=2)
    assert "dnsward.conf:" in proc.stderr and "global-key-file" in proc.stderr
    assert "every right on the whole Cloudflare account" in proc.stderr
    assert "allow-global-key = yes" in proc.stderr
    assert cf.emu.requests == []


def test_global_key_allowed_warns_and_works(cf):
    cf.emu.add_global_key("me@example.org", cf.gkey)
    auth = f"email = me@example.org\nglobal-key-file = {cf.gkey_path}\nallow-global-key = yes"
    proc = cf.run(cf.config(auth=auth), expect=0)
    assert "warning:" in proc.stderr
    assert "uses the Cloudflare global API key" in proc.stderr
    assert f"updated {FQDN} A {V4}" in proc.stdout
    for r in cf.emu.take_requests():
        assert r.header("X-Auth-Email") == "me@example.org"
        assert r.header("X-Auth-Key") == cf.gkey
        assert r.header("Authorization") is None
    # The warning is repeated at every start, also by "check".
    proc = cf.run(cf.config(auth=auth), expect=0, cmd="check")
    assert "uses the Cloudflare global API key" in proc.stderr


def test_token_and_global_key_together_is_a_config_error(cf):
    auth = (f"token-file = {cf.token_path}\nemail = me@example.org\n"
            f"global-key-file = {cf.gkey_path}\nallow-global-key = yes")
    proc = cf.run(cf.config(auth=auth), expect=2, cmd="check")
    assert "not both" in proc.stderr


def test_check_touches_no_network(cf):
    cf.run(cf.config(), expect=0, cmd="check")
    assert cf.emu.requests == []
