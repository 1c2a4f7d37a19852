#!/usr/bin/python3
"""Markdown tables from the JSON of bench/daemons.py (reaction, idle, memory,
oneshot)."""
import json
import sys


def reaction(r):
    print(f"Address family: {r['family']}; {r['cpus']} CPUs, kernel {r['kernel']}.\n")
    print("| client | poll period | changes | missed | p50 ms | p99 ms | min ms | max ms "
          "| p50 ratio to inadyn |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = next((x["from_usable"]["p50"] for x in r["results"]
                 if x["client"].startswith("inadyn") and x["from_usable"]), None)
    for x in r["results"]:
        s = x["from_usable"]
        per = "none (netlink events)" if x["period_s"] == "event" else f"{x['period_s']} s"
        if not s:
            print(f"| {x['client']} | {per} | 0 | {x['missed']} | - | - | - | - | - |")
            continue
        ratio = f"{s['p50'] / base:.4f}" if base else "-"
        print(f"| {x['client']} | {per} | {s['n']} | {x['missed']} | {s['p50']:.1f} "
              f"| {s['p99']:.1f} | {s['min']:.1f} | {s['max']:.1f} | {ratio} |")
    for x in r["results"]:
        if "from_ip_start" in x:
            s = x["from_ip_start"]
            print(f"\n{x['client']}, measured from the start of `ip addr add` instead "
                  f"(includes starting ip): p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms")


def idle(r):
    print(f"Window: {r['duration_s']} s for context switches, then another "
          f"{r['duration_s']} s under `strace -f -c`; inadyn period {r['inadyn_period_s']} s, "
          f"ddclient daemon={r['ddclient_period_s']}; {r['cpus']} CPUs, kernel {r['kernel']}.\n")
    print("| daemon | threads | voluntary switches | per minute | involuntary | system calls "
          "| updates sent | most frequent calls |")
    print("|---|---|---|---|---|---|---|---|")
    for x in r["results"]:
        top = ", ".join(f"{k} {v}" for k, v in x["top_syscalls"]) or "none"
        print(f"| {x['daemon']} | {x['threads']} | {x['voluntary']} | "
              f"{x['wakeups_per_min']:.1f} | {x['involuntary']} | {x['syscalls']} | "
              f"{x['requests_during']} | {top} |")


# $DNSWARD_BEFORE's daemon (bench/daemons.py): a build from before the split
NAMES = {"before": "dnsward run, before the split"}


def memory(r):
    ca = {"single": "a ca-file holding the endpoint's one CA",
          "system": "the system's CA bundle (plus the endpoint's CA)"}.get(r.get("ca"), "?")
    print(f"Trust: {ca}; {r['cpus']} CPUs, kernel {r['kernel']}.\n")
    print("| daemon | processes | VmHWM KiB | VmRSS KiB | ratio to inadyn | RssAnon KiB "
          "| RssFile KiB | Pss KiB | ratio | private (USS) KiB | ratio | threads | updates |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = next(x for x in r["results"] if x["daemon"] == "inadyn")
    for x in r["results"]:
        print(f"| {NAMES.get(x['daemon'], x['daemon'])} | {x.get('processes', 1)} | {x['VmHWM_kB']} | {x['VmRSS_kB']} | "
              f"{x['VmRSS_kB'] / base['VmRSS_kB']:.2f} | {x['RssAnon_kB']} | "
              f"{x['RssFile_kB']} | {x['Pss_kB']} | {x['Pss_kB'] / base['Pss_kB']:.2f} | "
              f"{x['USS_kB']} | {x['USS_kB'] / base['USS_kB']:.2f} | {x['threads']} | "
              f"{x['updates']} |")
    for x in r["results"]:
        p = x.get("publisher")
        if p:
            print(f"\n{x['daemon']}'s publisher during the publish: peak {p['VmHWM_kB']} KiB "
                  f"(VmHWM), {p['shared_objects']} shared objects; the tree's peak is at most "
                  f"{p['VmHWM_kB'] + x['VmHWM_kB']} KiB (both peaks added), returned when it "
                  f"exits")
    print("\n| daemon | shared objects mapped | their RSS KiB | largest mappings (RSS KiB) |")
    print("|---|---|---|---|")
    for x in r["results"]:
        if "top_mappings" in x:
            top = ", ".join(f"{k} {v}" for k, v in x["top_mappings"][:8])
            print(f"| {NAMES.get(x['daemon'], x['daemon'])} | {x['shared_objects']} | {x['shared_objects_kB']} | {top} |")


def oneshot(r):
    print(f"{r['cpus']} CPUs, kernel {r['kernel']}.\n")
    print("| command | runs | wall mean ms | wall median ms | ratio | CPU mean ms "
          "| CPU median ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    res = {x["command"]: x for x in r["results"]}
    base = {"dnsward update --force": "inadyn -1 --force",
            "dnsward check": "inadyn --check-config",
            "dnsward before the split: update --force": "inadyn -1 --force",
            "dnsward before the split: check": "inadyn --check-config"}
    for x in r["results"]:
        b = res.get(base.get(x["command"], x["command"]))
        print(f"| {x['command']} | {x['runs']} | {x['wall_mean_ms']:.1f} | "
              f"{x['wall_median_ms']:.1f} | {x['wall_mean_ms'] / b['wall_mean_ms']:.2f} | "
              f"{x['cpu_mean_ms']:.1f} | {x['cpu_median_ms']:.1f} | "
              f"{x['cpu_mean_ms'] / b['cpu_mean_ms']:.2f} |")


for path in sys.argv[1:]:
    with open(path) as f:
        r = json.load(f)
    print()
    {"reaction": reaction, "idle": idle, "memory": memory,
     "oneshot": oneshot}[r["benchmark"]](r)
