"""Gandi LiveDNS v5 through the real `dnsward update`, against the HTTPS emulator.

Every run uses -d (debug logging) and is checked for token leaks in stdout
and stderr.
"""
import json
import secrets

import pytest

V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"
ZONE = "example.org"
FQDN = "home.example.org"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.token = "pat_" + secrets.token_hex(20)
        self.token_path = ws.secret("gandi-token", self.token)

    def config(self, fqdn=FQDN, ipv4=f"static:{V4}", ipv6="off", provider_extra="",
               record_extra="", base_url=None, ca_file=None):
        text = "\n".join([
            "[provider g]",
            "type = gandi",
            f"base-url = {base_url or self.emu.url}",
            f"ca-file = {ca_file or self.pki.ca_file}",
            "timeout = 5",
            f"token-file = {self.token_path}",
            provider_extra,
            f"[record {fqdn}]",
            "provider = g",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
            record_extra,
        ]) + "\n"
        return self.ws.config(text)

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        assert self.token not in out, f"token leaked:\n{out}"
        assert "debug:" in proc.stderr   # -d took effect
        return proc


@pytest.fixture
def g(ws, gandi_emulator, pki):
    s = Setup(ws, gandi_emulator, pki)
    gandi_emulator.add_token(s.token)
    gandi_emulator.add_zone(ZONE)
    return s


def paths(reqs):
    return [(r.method, r.path) for r in reqs]


P = "/v5/livedns/domains"


def test_update_probes_zone_then_puts(g):
    proc = g.run(g.config(), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    reqs = g.emu.take_requests()
    assert paths(reqs) == [
        ("GET", f"{P}/{ZONE}"),
        ("GET", f"{P}/{ZONE}/records/home/A"),
        ("PUT", f"{P}/{ZONE}/records/home/A"),
    ]
    for r in reqs:
        assert r.header("Authorization") == f"Bearer {g.token}"
        assert r.header("User-Agent").startswith("dnsward/")
    put = reqs[2]
    assert put.header("Content-Type") == "application/json"
    assert put.json() == {"rrset_ttl": 300, "rrset_values": [V4]}
    assert g.emu.rrset(ZONE, "home", "A") == {"ttl": 300, "values": [V4]}


def test_zone_probe_goes_from_longest_suffix(g):
    fqdn = "a.b.home.example.org"
    proc = g.run(g.config(fqdn=fqdn), expect=0)
    assert f"updated {fqdn} A {V4}" in proc.stdout
    assert paths(g.emu.take_requests()) == [
        ("GET", f"{P}/b.home.example.org"),
        ("GET", f"{P}/home.example.org"),
        ("GET", f"{P}/{ZONE}"),
        ("GET", f"{P}/{ZONE}/records/a.b.home/A"),
        ("PUT", f"{P}/{ZONE}/records/a.b.home/A"),
    ]


def test_zone_found_by_probing_is_remembered_and_probed_again_on_404(g):
    """A one-shot run keeps the zone it found in the state file: the next
    run (a systemd timer's) sends no GET /domains/ZONE; when the zone is
    gone (404 on write) it probes once more."""
    cfg = g.config(ipv4="static:81.2.69.161")
    g.run(cfg, expect=0)
    assert ("GET", f"{P}/{ZONE}") in paths(g.emu.take_requests())
    cfg = g.config()                                   # the address changed
    g.run(cfg, expect=0)
    assert paths(g.emu.take_requests()) == [
        ("GET", f"{P}/{ZONE}/records/home/A"),
        ("PUT", f"{P}/{ZONE}/records/home/A"),
    ]
    g.run(cfg, "--force", expect=0)                    # forced, still no probe
    assert ("GET", f"{P}/{ZONE}") not in paths(g.emu.take_requests())
    # The zone moves: home.example.org becomes a zone of its own.
    del g.emu.zones[ZONE]
    g.emu.add_zone(FQDN)
    cfg = g.config(ipv4="static:81.2.69.162")
    proc = g.run(cfg, expect=0)
    assert f"updated {FQDN} A 81.2.69.162" in proc.stdout
    assert paths(g.emu.take_requests()) == [
        ("GET", f"{P}/{ZONE}/records/home/A"),
        ("PUT", f"{P}/{ZONE}/records/home/A"),         # 404: the zone is gone
        ("GET", f"{P}/{ZONE}"),                        # probed again (404)
        ("GET", f"{P}/{FQDN}"),
        ("GET", f"{P}/{FQDN}/records/@/A"),
        ("PUT", f"{P}/{FQDN}/records/@/A"),
    ]
    assert g.emu.rrset(FQDN, "@", "A") == {"ttl": 300, "values": ["81.2.69.162"]}
    g.run(cfg, "--force", expect=0)
    assert paths(g.emu.take_requests())[0] == ("GET", f"{P}/{FQDN}/records/@/A")


def test_configured_zone_skips_probe_and_apex_is_at(g):
    cfg = g.config(fqdn=ZONE, record_extra=f"zone = {ZONE}")
    proc = g.run(cfg, expect=0)
    assert f"updated {ZONE} A {V4}" in proc.stdout
    assert paths(g.emu.take_requests()) == [
        ("GET", f"{P}/{ZONE}/records/@/A"),
        ("PUT", f"{P}/{ZONE}/records/@/A"),
    ]
    assert g.emu.rrset(ZONE, "@", "A")["values"] == [V4]


def test_provider_zone_and_base_url_without_prefix(g):
    cfg = g.config(provider_extra=f"zone = {ZONE}", base_url=g.emu.origin)
    g.run(cfg, expect=0)
    assert paths(g.emu.take_requests()) == [
        ("GET", f"/domains/{ZONE}/records/home/A"),
        ("PUT", f"/domains/{ZONE}/records/home/A"),
    ]


def test_unchanged_set_is_not_written(g):
    g.emu.set_rrset(ZONE, "home", "A", [V4], ttl=300)
    cfg = g.config(record_extra=f"zone = {ZONE}")
    proc = g.run(cfg, expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert paths(g.emu.take_requests()) == [("GET", f"{P}/{ZONE}/records/home/A")]
    assert g.emu.writes == 0


def test_second_run_sends_nothing_and_force_reads_only(g):
    cfg = g.config(record_extra=f"zone = {ZONE}")
    g.run(cfg, expect=0)
    assert g.emu.writes == 1
    g.emu.take_requests()

    proc = g.run(cfg, expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert g.emu.take_requests() == []

    proc = g.run(cfg, "--force", expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert paths(g.emu.take_requests()) == [("GET", f"{P}/{ZONE}/records/home/A")]
    assert g.emu.writes == 1


@pytest.mark.parametrize("values, ttl", [
    (["192.0.2.1"], 300),            # other address
    ([V4], 3600),                    # same address, other TTL
    ([V4, "192.0.2.1"], 300),        # extra value
])
def test_differing_set_is_replaced(g, values, ttl):
    g.emu.set_rrset(ZONE, "home", "A", values, ttl=ttl)
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    assert g.emu.rrset(ZONE, "home", "A") == {"ttl": 300, "values": [V4]}


def test_aaaa_and_ttl(g):
    cfg = g.config(ipv6=f"static:{V6}", record_extra=f"zone = {ZONE}\nttl = 900")
    proc = g.run(cfg, expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    assert f"updated {FQDN} AAAA {V6}" in proc.stdout
    puts = [r for r in g.emu.take_requests() if r.method == "PUT"]
    assert [r.path for r in puts] == [f"{P}/{ZONE}/records/home/A", f"{P}/{ZONE}/records/home/AAAA"]
    assert puts[1].json() == {"rrset_ttl": 900, "rrset_values": [V6]}


def test_ttl_below_minimum_is_raised_with_warning(g):
    proc = g.run(g.config(record_extra=f"zone = {ZONE}\nttl = 60"), expect=0)
    assert "below Gandi's minimum" in proc.stderr
    put = [r for r in g.emu.take_requests() if r.method == "PUT"][0]
    assert put.json()["rrset_ttl"] == 300


def test_sharing_id_is_sent(g):
    g.emu.add_zone("org.example", sharing_id="org-1234")
    fqdn = "home.org.example"
    cfg = g.config(fqdn=fqdn, provider_extra="sharing-id = org-1234")
    proc = g.run(cfg, expect=0)
    assert f"updated {fqdn} A {V4}" in proc.stdout
    for r in g.emu.take_requests():
        assert r.query.get("sharing_id") == ["org-1234"]


def test_bad_token_is_fatal(g):
    g.emu.tokens.clear()
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=3)
    assert "Gandi rejected the token (401): check token-file" in proc.stderr
    assert g.emu.writes == 0


def test_bad_token_during_probe_is_fatal(g):
    g.emu.tokens.clear()
    proc = g.run(g.config(), expect=3)
    assert "Gandi rejected the token (401)" in proc.stderr


def test_token_without_permission_is_fatal(g):
    g.emu.add_token(g.token, zones=["other.org"])
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=3)
    assert ("token expired or lacks permission 'Manage technical configuration' "
            f"for zone {ZONE}") in proc.stderr


def test_expired_token_during_probe_is_fatal(g):
    g.emu.add_token(g.token, expired=True)
    proc = g.run(g.config(), expect=3)
    assert "token expired or lacks permission" in proc.stderr
    assert ZONE in proc.stderr


def test_unknown_zone_is_fatal(g):
    cfg = g.config(fqdn="home.nothere.org", record_extra="zone = nothere.org")
    proc = g.run(cfg, expect=3)
    assert "zone nothere.org not found / not in this organisation" in proc.stderr
    assert g.emu.writes == 0


def test_unknown_zone_by_probe_is_fatal(g):
    proc = g.run(g.config(fqdn="home.nothere.org"), expect=3)
    assert "no zone of home.nothere.org found" in proc.stderr
    assert paths(g.emu.take_requests()) == [("GET", f"{P}/nothere.org"),
                                           ("GET", f"{P}/home.nothere.org")]


def test_rate_limit_shows_delay(g):
    g.emu.fault(ZONE, "ratelimit", retry_after=60)
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=1)
    assert "retry after 60 s" in proc.stderr
    assert f"failed {FQDN} A {V4} rate-limited" in proc.stdout


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_retries(g, status):
    g.emu.fault(ZONE, "server-error", status=status)
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=1)
    assert f"Gandi server error (HTTP {status})" in proc.stderr


@pytest.mark.parametrize("body", [
    "<html>rrset_values 81.2.69.160</html>",
    json.dumps({"rrset_ttl": "300", "rrset_values": [V4]}),
    json.dumps([{"rrset_ttl": 300, "rrset_values": [V4]}]),
    "",
])
def test_garbage_reply_retries(g, body):
    g.emu.fault(ZONE, "garbage", body=body)
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=1)
    assert "unparsable reply from Gandi" in proc.stderr
    assert g.emu.writes == 0


def test_put_other_than_201_is_not_success(g):
    g.emu.fault(ZONE, "put-status", status=200)
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=1)
    assert "unexpected HTTP status 200" in proc.stderr


def test_wrong_hostname_certificate_fails(ws, gandi_wrong_host, pki):
    s = Setup(ws, gandi_wrong_host, pki)
    gandi_wrong_host.add_token(s.token)
    gandi_wrong_host.add_zone(ZONE)
    proc = s.run(s.config(record_extra=f"zone = {ZONE}"), expect=3)   # needs the user
    assert "the certificate is for wrong.test" in proc.stderr and "base-url" in proc.stderr
    assert gandi_wrong_host.requests == []


def test_untrusted_ca_fails(g, pki):
    proc = g.run(g.config(record_extra=f"zone = {ZONE}", ca_file=pki.other_ca_file), expect=3)
    assert "set ca-file in [provider" in proc.stderr
    assert g.emu.requests == []


def test_redirect_to_other_origin_is_refused(g):
    g.emu.fault(ZONE, "redirect",
                location=f"https://localhost:{g.emu.port}{P}/{ZONE}/records/home/A")
    proc = g.run(g.config(record_extra=f"zone = {ZONE}"), expect=3)
    assert "redirect" in proc.stderr
    reqs = g.emu.take_requests()
    assert len(reqs) == 1     # the bearer token never went to "localhost"


def test_missing_token_file_is_a_config_error(g):
    text = open(g.config()).read().replace(f"token-file = {g.token_path}\n", "")
    cfg = g.ws.config(text, name="notoken.conf")
    proc = g.ws.run("-d", "update", config=cfg, check=2)
    assert "token-file" in proc.stderr
    assert g.emu.requests == []


def test_record_outside_configured_zone_is_a_config_error(g):
    proc = g.ws.run("-d", "check", config=g.config(record_extra="zone = example.net"), check=2)
    assert "not inside zone example.net" in proc.stderr


def test_check_touches_no_network(g):
    proc = g.ws.run("-d", "check", config=g.config(), check=0)
    assert g.token not in proc.stdout + proc.stderr
    assert g.emu.requests == []
