"""The functions' network policy, tried from inside a function (executor/netpolicy.py).

A function reaches the Runtime API and the internet; the cloud metadata service, the
host's other ports (on any of its addresses) and private ranges are refused at once,
unless the operator opens a range. No test sends traffic to a public address: the
internet side is checked on the rule set itself.
"""
from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import shlex
import socket
import subprocess
import threading
from urllib.parse import urlparse

import pytest
from django.conf import settings

from executor import netpolicy
from executor.invoke import invoke

from .conftest import python_function

PROBE = """
import errno, os, socket, time

def lambda_handler(event, context):
    out = {"runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
    for host, port in event.get("connect", []):
        start = time.monotonic()
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.settimeout(1.5)
        try:
            s.connect((host, port))
            what = "connected"
        except socket.timeout:
            what = "timeout"
        except OSError as exc:
            what = errno.errorcode.get(exc.errno, str(exc.errno))
        finally:
            s.close()
        out[f"{host}:{port}"] = [what, round(time.monotonic() - start, 3)]
    if event.get("resolve"):
        try:
            socket.getaddrinfo(event["resolve"], 80)
            out["dns"] = "resolved"
        except socket.gaierror as exc:
            out["dns"] = exc.errno
    return out
"""

# What our REJECT rules answer a TCP connect (a reset): it fails at once.
REJECTED = "ECONNREFUSED"


def require_iptables() -> None:
    why = netpolicy.available()
    if why:
        pytest.skip(f"the network policy needs root and iptables: {why}")


@pytest.fixture(scope="module")
def policy():
    """The rules of the tests' network, installed; afterwards as they were before."""
    require_iptables()
    network = settings.LAMBDA_DOCKER_NETWORK
    had_rules = bool(netpolicy.describe(network))
    installed = netpolicy.up(network)
    yield installed
    if had_rules:
        netpolicy.up(network)
    else:
        netpolicy.down(network)


@pytest.fixture
def listener():
    """A TCP service of the host listening on every address, as a careless one would."""
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


def host_address() -> str:
    """The host's address on its own LAN (not the bridge): a UDP connect sends nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.123", 9))
        return s.getsockname()[0]
    finally:
        s.close()


def probe(fn, **event) -> dict:
    result = invoke(fn, json.dumps(event), log_type="Tail")
    assert result.status_code == 200 and result.function_error is None, base64.b64decode(result.log_result)
    return json.loads(result.payload)


def probe_function(account):
    return python_function(account, PROBE, timeout=30)


def assert_rejected(out: dict, target: str) -> None:
    what, seconds = out[target]
    assert what == REJECTED, f"{target}: {what}"
    assert seconds < 1.0, f"{target} took {seconds} s to fail"


@pytest.mark.integration
def test_function_reaches_the_runtime_api_and_nothing_else_on_the_host(worker, alice_account, policy,
                                                                        listener):
    gateway = policy.gateways[4]
    redis_port = urlparse(settings.REDIS_URL).port or 6379
    targets = [(gateway, listener), (host_address(), listener), (gateway, redis_port), (gateway, 8000),
               ("169.254.169.254", 80), ("10.255.255.1", 80), ("192.168.255.1", 80)]
    out = probe(probe_function(alice_account), connect=targets)  # the Runtime API served this call
    for host, port in targets:
        assert_rejected(out, f"{host}:{port}")
    api_host, api_port = out["runtime_api"].split(":")
    assert api_host == gateway
    assert any(first <= int(api_port) <= last for first, last in settings.LAMBDA_RUNTIME_API_PORTS)


@pytest.mark.integration
def test_without_the_rules_the_host_listener_is_reachable(worker, alice_account, policy, listener):
    """The control: the probes above fail because of the rules, not for another reason.
    DNS (the host's resolvers are often on the LAN) answers the same either way."""
    fn = probe_function(alice_account)
    targets = [(policy.gateways[4], listener), (host_address(), listener)]
    fenced = probe(fn, connect=targets, resolve="netpolicy-check.invalid")
    netpolicy.down(policy.network)
    try:
        open_ = probe(fn, connect=targets, resolve="netpolicy-check.invalid")
    finally:
        netpolicy.up(policy.network)
    for host, port in targets:
        assert open_[f"{host}:{port}"][0] == "connected"
        assert_rejected(fenced, f"{host}:{port}")
    assert fenced["dns"] == open_["dns"]


def counters(family: int, chain: str) -> dict[str, int]:
    """Packets matched per destination rule of a chain."""
    out = subprocess.run([netpolicy.TOOLS[family][0], "-w", "-S", chain, "-v"], capture_output=True,
                         text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        rule = shlex.split(line)
        if "-d" in rule and "-c" in rule:
            net = rule[rule.index("-d") + 1]
            found[net] = found.get(net, 0) + int(rule[rule.index("-c") + 1])
    return found


@pytest.mark.integration
def test_an_operator_allowed_range_is_not_rejected(worker, alice_account, policy):
    fn = probe_function(alice_account)
    opened = dataclasses.replace(policy, allowed=["10.255.255.0/24"])
    netpolicy.install(opened)
    try:
        before = counters(4, policy.forward_chain)
        out = probe(fn, connect=[("10.255.255.1", 80), ("10.255.254.1", 80)])
        after = counters(4, policy.forward_chain)
    finally:
        netpolicy.install(policy)
    assert after["10.255.255.0/24"] > before["10.255.255.0/24"]  # let through to Docker's rules
    assert_rejected(out, "10.255.254.1:80")  # the rest of 10/8 stays closed
    assert after["10.0.0.0/8"] - before["10.0.0.0/8"] == 1  # that one probe, not the allowed one


def rejected_networks(text: str, family: int) -> list:
    nets = []
    for line in text.splitlines():
        rule = shlex.split(line)
        if "REJECT" in rule and "-d" in rule:
            net = ipaddress.ip_network(rule[rule.index("-d") + 1])
            if net.version == family:
                nets.append(net)
    return nets


@pytest.mark.integration
def test_the_rule_set_lets_the_internet_through(policy):
    text = netpolicy.describe(policy.network, policy.bridge)
    forward = [shlex.split(line) for line in text.splitlines() if line.startswith(f"-A {policy.forward_chain} ")]
    # The last rule hands everything else (the internet) on to Docker's rules, which forward it.
    assert forward[-1] == ["-A", policy.forward_chain, "-m", "comment", "--comment",
                           "the internet, forwarded by the Docker rules", "-j", "RETURN"]
    assert not any("ACCEPT" in rule for rule in forward)  # never wider than Docker's own policy
    blocked = rejected_networks(text, 4)
    for public in ("8.8.8.8", "1.1.1.1", "151.101.1.69"):
        assert not any(ipaddress.ip_address(public) in net for net in blocked), public
    for private in ("169.254.169.254", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1"):
        assert any(ipaddress.ip_address(private) in net for net in blocked), private
    # The host: the service ports on the gateway are open, then everything else is refused.
    host = [line for line in text.splitlines() if line.startswith(f"-A {policy.input_chain} ")]
    assert f"-d {policy.gateways[4]}/32 -p tcp -m tcp --dport 29001:29032" in "\n".join(host) or \
        settings.LAMBDA_RUNTIME_API_PORTS != [(29001, 29032)]
    assert host[-2:] == [f"-A {policy.input_chain} -p tcp -j REJECT --reject-with tcp-reset",
                         f"-A {policy.input_chain} -j REJECT --reject-with icmp-admin-prohibited"]


def test_the_ipv6_rules_block_the_special_ranges():
    """No IPv6 on the test bridge, so the rules are checked as built."""
    policy = netpolicy.Policy(network="n", bridge="br-x", gateways={4: "172.30.0.1", 6: "fd00:30::1"},
                              service_ports=[(29001, 29032)], allowed=["fd00:99::/64", "10.9.0.0/16"])
    chains = netpolicy.chain_rules(policy, 6)
    forward = chains["LAMBDA-FWD-br-x"]
    rejected = [ipaddress.ip_network(r[1]) for r in forward if "REJECT" in r]
    for address in ("fd00:ec2::254", "fe80::1", "::1", "ff02::1"):
        assert any(ipaddress.ip_address(address) in net for net in rejected), address
    assert not any(ipaddress.ip_address("2001:4860:4860::8888") in net for net in rejected)
    allowed_at = forward.index(["-d", "fd00:99::/64", "-m", "comment", "--comment",
                                "LAMBDA_FUNCTION_ALLOWED_CIDRS", "-j", "RETURN"])
    assert allowed_at < min(i for i, r in enumerate(forward) if "REJECT" in r)
    assert not any("10.9.0.0/16" in r for r in forward)  # IPv4 ranges stay in the IPv4 rules
    assert ["-d", "fd00:30::1", "-p", "tcp", "--dport", "29001:29032", "-m", "comment", "--comment",
            "service endpoints", "-j", "ACCEPT"] in chains["LAMBDA-IN-br-x"]


def whole_rule_set() -> str:
    return "\n".join(subprocess.run([tool, "-w", "-S"], capture_output=True, text=True).stdout
                     for tool in ("iptables", "ip6tables"))


@pytest.mark.integration
def test_down_leaves_no_rule_and_no_chain_and_spares_other_networks(policy):
    other = netpolicy.Policy(network=policy.network + "-other", bridge="br-0ther0ther0",
                             gateways={4: "172.31.255.1"}, service_ports=[(29001, 29032)])
    netpolicy.install(other)
    netpolicy.install(other)  # idempotent: still one jump each
    try:
        netpolicy.down(policy.network)
        rules = whole_rule_set()
        assert policy.input_chain not in rules and policy.forward_chain not in rules
        assert policy.comment not in shlex.split(rules)
        assert rules.count(f"-j LAMBDA-IN-{other.bridge}") == 1
        assert rules.count(f"-j LAMBDA-FWD-{other.bridge}") == 1
    finally:
        netpolicy.remove(other.network, other.bridge)
        netpolicy.up(policy.network)
    assert other.bridge not in whole_rule_set()
    assert whole_rule_set().count(f"-j {policy.forward_chain}") == 1


def test_without_root_the_worker_warns_once_and_carries_on(monkeypatch, caplog):
    monkeypatch.setattr(netpolicy.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(netpolicy, "up", lambda network: pytest.fail("must not try to install"))
    with caplog.at_level("WARNING", logger="executor.netpolicy"):
        assert netpolicy.ensure("lambda-fn-laptop") is False
    assert [r.getMessage() for r in caplog.records] == [
        "functions' network lambda-fn-laptop is NOT fenced (not running as root): they can reach "
        "the host and the LAN; run the worker as root to install the rules"]


@pytest.mark.integration
def test_a_starting_worker_installs_the_rules(worker, policy):
    """Rules do not survive a reboot, while Docker's networks do: each worker start puts them back."""
    netpolicy.down(policy.network)
    assert not netpolicy.describe(policy.network, policy.bridge)
    worker.restart()
    rules = netpolicy.describe(policy.network, policy.bridge)
    assert f"-j {policy.input_chain}" in rules and f"-j {policy.forward_chain}" in rules
