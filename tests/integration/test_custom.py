"""The custom HTTP provider through the real `dnsward update`, against a
configurable HTTPS endpoint: requests are checked byte for byte (escaping per
context), replies against the configured success rule.

Every run uses -d and is checked for secret leaks in stdout and stderr.
"""
import json
import secrets

import pytest

from test_daemon import daemons  # noqa: F401  (fixture)

V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"
FQDN = "home.example.org"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        # Characters every context must escape.
        self.key = "k&y=" + secrets.token_hex(12) + " \"q\"/"
        self.key_path = ws.secret("api-key", self.key)
        self.user = "u" + secrets.token_hex(8)
        self.user_path = ws.secret("api-user", self.user)

    def config(self, lines, ipv4=f"static:{V4}", ipv6="off", name="dnsward.conf"):
        text = "\n".join([
            "[provider c]",
            "type = custom",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            *lines,
            f"[record {FQDN}]",
            "provider = c",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
        ]) + "\n"
        return self.ws.config(text, name=name)

    def run(self, cfg, *args, expect, cmd="update"):
        proc = self.ws.run("-d", cmd, *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        for s in (self.key, self.key.split(" ")[0], self.user):
            assert s not in out, f"secret leaked:\n{out}"
        return proc


@pytest.fixture
def c(ws, custom_emulator, pki):
    return Setup(ws, custom_emulator, pki)


def get_lines(c, query="?host={fqdn}&ip={ip}&key={secret:key}", extra=()):
    return [f"url = {c.emu.origin}/nic/update{query}",
            f"secret-key-file = {c.key_path}", "success-line = good", *extra]


def test_get_with_query_escaping_and_success_line(c):
    proc = c.run(c.config(get_lines(c)), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    [r] = c.emu.take_requests()
    assert r.method == "GET"
    assert r.raw_query == ("host=home.example.org&ip=81.2.69.160&key=" +
                           c.key.replace("&", "%26").replace("=", "%3D").replace(" ", "%20")
                           .replace('"', "%22").replace("/", "%2F"))
    assert r.query["key"] == [c.key]
    # The URL in the debug log names the secret, never its value.
    assert "key=[secret:key]" in proc.stderr


def test_path_placeholders(c):
    lines = get_lines(c, query="")
    lines[0] = f"url = {c.emu.origin}/zones/{{fqdn}}/{{type}}?ttl={{ttl}}&k={{secret:key}}"
    c.run(c.config(lines, ipv4="off", ipv6=f"static:{V6}"), expect=0)
    [r] = c.emu.take_requests()
    assert r.path == f"/zones/{FQDN}/AAAA"
    assert r.query["ttl"] == ["300"]


def test_json_body_headers_and_success_json(c):
    c.emu.reply(201, json.dumps({"result": {"status": "ok", "id": 7}}), "application/json")
    lines = [
        f"url = {c.emu.origin}/api/records",
        "method = PUT",
        "body-format = json",
        'body = {"name":"{fqdn}","content":"{ip}","ttl":{ttl},"key":"{secret:key}"}',
        "header1 = Authorization: Bearer {secret:user}",
        "header2 = X-Client: dnsward {fqdn}",
        f"secret-key-file = {c.key_path}",
        f"secret-user-file = {c.user_path}",
        "success-status = 201",
        'success-json = /result/status = "ok"',
    ]
    proc = c.run(c.config(lines), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    [r] = c.emu.take_requests()
    assert r.method == "PUT"
    assert r.header("Content-Type") == "application/json"
    assert r.header("Authorization") == f"Bearer {c.user}"
    assert r.header("X-Client") == f"dnsward {FQDN}"
    assert r.json() == {"name": FQDN, "content": V4, "ttl": 300, "key": c.key}


def test_form_body_and_dual_stack_in_one_request(c):
    lines = [
        f"url = {c.emu.origin}/update",
        "method = POST",
        "body-format = form",
        "body = hostname={fqdn}&myipv4={ipv4}&myipv6={ipv6}&password={secret:key}",
        f"secret-key-file = {c.key_path}",
        "success-line = good",
    ]
    proc = c.run(c.config(lines, ipv6=f"static:{V6}"), expect=0)
    assert f"updated {FQDN} A {V4}" in proc.stdout
    assert f"updated {FQDN} AAAA {V6}" in proc.stdout
    [r] = c.emu.take_requests()
    assert r.header("Content-Type") == "application/x-www-form-urlencoded"
    body = r.body.decode()
    assert body == ("hostname=home.example.org&myipv4=81.2.69.160&myipv6=2a01%3A4f8%3A1%3A2%3A%3A3"
                    "&password=" + c.key.replace("&", "%26").replace("=", "%3D")
                    .replace(" ", "+").replace('"', "%22").replace("/", "%2F"))


def test_ip_placeholder_makes_one_request_per_family(c):
    proc = c.run(c.config(get_lines(c), ipv6=f"static:{V6}"), expect=0)
    assert f"updated {FQDN} AAAA {V6}" in proc.stdout
    assert [r.query["ip"] for r in c.emu.take_requests()] == [[V4], [V6]]


def test_second_run_sends_nothing(c):
    cfg = c.config(get_lines(c))
    c.run(cfg, expect=0)
    c.emu.take_requests()
    proc = c.run(cfg, expect=0)
    assert f"unchanged {FQDN} A {V4}" in proc.stdout
    assert c.emu.take_requests() == []


@pytest.mark.parametrize("body", ["nogood", "good morning", "<html>good</html>", "GOOD", ""])
def test_success_line_is_exact(c, body):
    c.emu.reply(200, body)
    proc = c.run(c.config(get_lines(c)), expect=1)
    assert "reply does not match the success rule (HTTP 200)" in proc.stderr


@pytest.mark.parametrize("body", ['{"result":{"status":"OK"}}', '{"status":"ok"}', "garbage"])
def test_success_json_is_exact(c, body):
    c.emu.reply(200, body, "application/json")
    lines = get_lines(c)[:-1] + ['success-json = /result/status = "ok"']
    proc = c.run(c.config(lines), expect=1)
    assert "does not match the success rule" in proc.stderr


@pytest.mark.parametrize("status, expect, text", [
    (401, 3, "refused (HTTP 401)"),
    (404, 3, "refused (HTTP 404)"),
    (400, 3, "refused (HTTP 400)"),
    (500, 1, "server error (HTTP 500)"),
    (503, 1, "server error (HTTP 503)"),
    (302, 3, "redirect"),
])
def test_error_classes(c, status, expect, text):
    headers = [("Location", "https://localhost:1/elsewhere")] if status == 302 else []
    c.emu.reply(status, "badauth", headers=headers)
    proc = c.run(c.config(get_lines(c)), expect=expect)
    assert text in proc.stderr


def test_long_url_and_long_record_name_are_read_whole(c):
    # A 2 kB query and a record name longer than inih's 50-byte section
    # buffer: each reaches the provider byte for byte (they were refused as
    # "line longer than 4093 bytes", or the name was cut to 49 bytes).
    pad = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(2000))
    fqdn = "a-rather-long-host-label-for-this-test." + "x" * 40 + ".example.org"
    text = "\n".join([
        "[provider c]", "type = custom", f"ca-file = {c.pki.ca_file}", "timeout = 5",
        f"url = {c.emu.origin}/nic/update?host={{fqdn}}&ip={{ip}}&pad={pad}",
        "success-line = good",
        f"[record {fqdn}]", "provider = c", f"ipv4 = static:{V4}", "ipv6 = off",
    ]) + "\n"
    cfg = c.ws.config(text)
    proc = c.run(cfg, expect=0, cmd="check")
    assert f"{fqdn} via c (custom)" in proc.stdout
    proc = c.run(cfg, expect=0)
    assert f"updated {fqdn} A {V4}" in proc.stdout
    [r] = c.emu.take_requests()
    assert r.raw_query == f"host={fqdn}&ip={V4}&pad={pad}"


def test_rate_limit_shows_delay(c):
    c.emu.reply(429, "slow down", headers=[("Retry-After", "300")])
    proc = c.run(c.config(get_lines(c)), expect=1)
    assert "rate limit (HTTP 429): retry after 300 s" in proc.stderr
    assert f"failed {FQDN} A {V4} rate-limited" in proc.stdout


@pytest.mark.parametrize("lines, key, text", [
    (["url = https://h.test/u?x={foo}"], "url", "unknown placeholder {foo}"),
    (["url = https://{fqdn}/u"], "url", "no placeholder in the scheme or host"),
    (["url = http://h.test/u"], "url", "https://"),
    (["url = https://h.test/u?k={secret:nokey}"], "url", "needs secret-nokey-file"),
    (["url = https://h.test/u", "method = POST", "body = x={ip}"], "body", "body-format"),
    (["url = https://h.test/u", "method = POST", "body-format = json", 'body = {"ip":{ip}}'],
     "body", "not valid JSON once expanded"),
    (["url = https://h.test/u", "header1 = Bad Name: x"], "header1", "Name: value"),
    (["url = https://h.test/u", "success-json = /status = ok"], "success-json", "not JSON"),
    (["url = https://h.test/u", "secret-key-file = {key}"], "secret-key-file",
     "no template uses {secret:key}"),
])
def test_config_errors_name_file_line_key(c, lines, key, text):
    lines = [ln.replace("{key}", c.key_path) if "secret-key-file" in ln else ln for ln in lines]
    cfg = c.config(lines, name="bad.conf")
    proc = c.ws.run("check", config=cfg, check=2)
    assert "bad.conf:" in proc.stderr
    assert f"] {key}:" in proc.stderr
    assert text in proc.stderr
    assert c.emu.requests == []


# -- both families in one request ---------------------------------------------

def dual_lines(c):
    return [f"url = {c.emu.origin}/update", "method = POST", "body-format = form",
            "body = h={fqdn}&a={ipv4}&aaaa={ipv6}&k={secret:key}",
            f"secret-key-file = {c.key_path}", "success-line = good"]


def test_one_family_changed_sends_the_others_published_value(c):
    """With ...&a={ipv4}&aaaa={ipv6}, changing only IPv4 sent "aaaa=" while
    dnsward reported AAAA unchanged: an API reading empty as "delete" loses
    the record."""
    c.run(c.config(dual_lines(c), ipv6=f"static:{V6}"), expect=0)
    c.emu.take_requests()
    v4b = "81.2.69.161"
    proc = c.run(c.config(dual_lines(c), ipv4=f"static:{v4b}", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {FQDN} A {v4b}" in proc.stdout
    assert f"unchanged {FQDN} AAAA {V6}" in proc.stdout
    [r] = c.emu.take_requests()
    form = r.body.decode()
    assert f"&a={v4b}&aaaa=" + V6.replace(":", "%3A") + "&" in form, form


def test_one_family_changed_in_the_daemon_sends_the_others_published_value(c, daemons):
    """The same in "dnsward run" (its published values are its own)."""
    from test_daemon import wait_for
    cfg = c.config(dual_lines(c), ipv6=f"static:{V6}")
    c.run(cfg, expect=0)
    c.emu.take_requests()
    v4b = "81.2.69.162"
    d = daemons(c.ws, c.config(dual_lines(c), ipv4=f"static:{v4b}", ipv6=f"static:{V6}"))
    wait_for(lambda: c.emu.requests, "the daemon's request")
    [r] = c.emu.take_requests()
    assert f"&a={v4b}&aaaa=" + V6.replace(":", "%3A") + "&" in r.body.decode()
    assert d.fam(FQDN, "AAAA")["state"] == "in-sync"


@pytest.mark.parametrize("tpl,ipv6,text", [
    # a family the record does not publish would be sent empty every time
    ("a={ipv4}&aaaa={ipv6}", "off", "ipv6 = off"),
    # a family the record publishes would never be sent
    ("a={ipv4}", f"static:{V6}", "no template sends {ipv6} or {ip}"),
    # one request per family and both families in one: not both
    ("ip={ip}&aaaa={ipv6}", f"static:{V6}", "{ip} and {type} name one family per request"),
])
def test_template_shapes_that_would_send_an_empty_family_are_refused(c, tpl, ipv6, text):
    lines = [f"url = {c.emu.origin}/update?{tpl}", "success-line = good"]
    proc = c.ws.run("check", config=c.config(lines, ipv6=ipv6, name="bad.conf"), check=2)
    assert "bad.conf:" in proc.stderr
    assert text in proc.stderr, proc.stderr
