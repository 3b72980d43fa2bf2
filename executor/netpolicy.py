"""Where functions may connect: the internet and the project's own endpoints, nothing else.

Functions run on a Docker bridge network. These iptables rules, installed and removed by
the project, fence that bridge in (Docker's own way: a chain jumped from DOCKER-USER for
forwarded traffic, and one jumped from INPUT for traffic to the host itself):

- to the host (any of its addresses): only the Runtime API ports, the AWS endpoint's port
  (LAMBDA_ENDPOINT_PORT) and LAMBDA_FUNCTION_HOST_PORTS on the bridge's gateway address;
  everything else is rejected,
  so the host's Redis, console and whatever else listens beyond loopback are out of reach;
- forwarded: private and special-purpose ranges (cloud metadata at 169.254.169.254, the LAN,
  other containers) are rejected, except the host's DNS servers on port 53 and the ranges
  the operator opens with LAMBDA_FUNCTION_ALLOWED_CIDRS; the rest, the internet, goes on to
  Docker's own rules, which forward it. The chain never accepts forwarded traffic itself, so
  it only ever narrows what Docker allows (its isolation between networks stays in force).

Rejected, not dropped: a function that tries fails at once instead of hanging to its timeout.
Each network gets chains named after its bridge and jumps tagged with a comment naming the
network, so several deployments on one host never touch each other's rules, and `remove`
deletes exactly what `install` added. Usage: ``python -m executor.netpolicy up|down|show|gateway``
(`gateway` creates the network if it is missing and prints its gateway address, where the
Runtime API and the AWS endpoint listen).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

COMMENT_PREFIX = "lambda-netpolicy:"  # tags our jumps: COMMENT_PREFIX + network name
CHAIN_PREFIXES = ("LAMBDA-IN-", "LAMBDA-FWD-")

# Not globally reachable (IANA's special-purpose registries): private networks, loopback,
# link-local (cloud metadata), carrier-grade NAT, documentation, benchmarking, multicast.
BLOCKED = {
    4: ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"],
    6: ["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"],
}
REJECT = {4: "icmp-admin-prohibited", 6: "icmp6-adm-prohibited"}
TOOLS = {4: ("iptables", "iptables-restore"), 6: ("ip6tables", "ip6tables-restore")}
RESOLV_FILES = (Path("/etc/resolv.conf"), Path("/run/systemd/resolve/resolv.conf"))


class PolicyError(Exception):
    """The rules could not be installed (no iptables, not root, Docker's chains missing)."""


@dataclass(frozen=True)
class Policy:
    """Everything the rules of one network depend on: plain values."""

    network: str
    bridge: str
    gateways: dict[int, str]  # address family (4, 6) -> the bridge's address on the host
    service_ports: list[tuple[int, int]]
    allowed: list[str] = field(default_factory=list)
    nameservers: list[str] = field(default_factory=list)

    @property
    def comment(self) -> str:
        return COMMENT_PREFIX + self.network

    @property
    def input_chain(self) -> str:
        return "LAMBDA-IN-" + self.bridge  # a bridge name has at most 15 characters: fits 28

    @property
    def forward_chain(self) -> str:
        return "LAMBDA-FWD-" + self.bridge


def _family(address: str) -> int:
    return ipaddress.ip_network(address, strict=False).version


def _ports(ranges: list[tuple[int, int]]) -> list[str]:
    return [str(first) if first == last else f"{first}:{last}" for first, last in ranges]


def chain_rules(policy: Policy, family: int) -> dict[str, list[list[str]]]:
    """The two chains' rules for one address family, as iptables arguments after `-A CHAIN`."""
    established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]
    # A TCP reset, not ICMP, for TCP: the kernel rate-limits ICMP errors (a burst of six, then
    # one a second), and a function trying a few closed addresses must not wait on that.
    reject = [["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
              ["-j", "REJECT", "--reject-with", REJECT[family]]]
    nameservers = [ns for ns in policy.nameservers if _family(ns) == family]
    host: list[list[str]] = [established + ["-j", "ACCEPT"]]
    if family == 6:  # neighbour discovery: IPv6's ARP, without which nothing gets through
        host += [["-p", "ipv6-icmp", "--icmpv6-type", kind, "-j", "ACCEPT"]
                 for kind in ("neighbour-solicitation", "neighbour-advertisement")]
    gateway = policy.gateways.get(family)
    for port in _ports(policy.service_ports) if gateway else []:
        host.append(["-d", gateway, "-p", "tcp", "--dport", port, "-m", "comment",
                     "--comment", "service endpoints", "-j", "ACCEPT"])
    for ns in nameservers:  # a DNS server on the host itself
        host += [["-d", ns, "-p", proto, "--dport", "53", "-j", "ACCEPT"] for proto in ("udp", "tcp")]
    host += reject

    forward: list[list[str]] = [established + ["-j", "RETURN"]]
    # Docker's embedded DNS forwards a function's queries from the container's own network
    # namespace: the host's DNS servers, often on the LAN, must stay reachable on port 53.
    for ns in nameservers:
        forward += [["-d", ns, "-p", proto, "--dport", "53", "-j", "RETURN"] for proto in ("udp", "tcp")]
    for cidr in (c for c in policy.allowed if _family(c) == family):
        forward.append(["-d", cidr, "-m", "comment", "--comment", "LAMBDA_FUNCTION_ALLOWED_CIDRS",
                        "-j", "RETURN"])
    forward += [["-d", cidr] + rule for cidr in BLOCKED[family] for rule in reject]
    forward.append(["-m", "comment", "--comment", "the internet, forwarded by the Docker rules", "-j", "RETURN"])
    return {policy.input_chain: host, policy.forward_chain: forward}


# --- iptables --------------------------------------------------------------------------

def available() -> str | None:
    """Why the rules cannot be installed here, or None if they can."""
    if os.geteuid() != 0:
        return "not running as root"
    if not shutil.which("iptables") or not shutil.which("iptables-restore"):
        return "iptables is not installed"
    return None


def _run(family: int, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([TOOLS[family][0], "-w", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise PolicyError(f"{TOOLS[family][0]} {' '.join(args)}: {result.stderr.strip()}")
    return result


def _rules_of(family: int, chain: str) -> list[list[str]] | None:
    """The chain's rules as `iptables -S` prints them (split), or None if it does not exist."""
    result = _run(family, "-S", chain, check=False)
    if result.returncode != 0:
        return None
    return [shlex.split(line) for line in result.stdout.splitlines()]


def _forward_parent(family: int) -> str:
    # Docker creates DOCKER-USER (IPv6 too when its ip6tables support is on); without it,
    # our jump goes first in FORWARD itself.
    return "DOCKER-USER" if _rules_of(family, "DOCKER-USER") is not None else "FORWARD"


def _our_jumps(family: int, network: str) -> list[tuple[str, list[str]]]:
    """(parent chain, rule) of every jump this network's policy added."""
    tag = COMMENT_PREFIX + network
    found = []
    for parent in ("INPUT", "DOCKER-USER", "FORWARD"):
        for rule in _rules_of(family, parent) or []:
            if rule[:1] == ["-A"] and tag in rule and rule[rule.index(tag) - 1] == "--comment":
                found.append((parent, rule))
    return found


def _target(rule: list[str]) -> str:
    return rule[rule.index("-j") + 1]


def _restore_line(args: list[str]) -> str:
    # iptables-restore understands double quotes only (not shlex's single quotes).
    return " ".join(f'"{a}"' if " " in a else a for a in args)


@contextlib.contextmanager
def _locked():
    """One installer at a time: several workers may start together."""
    lock_dir = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
    with open(lock_dir / "lambda-netpolicy.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _families(policy: Policy) -> list[int]:
    # IPv6 only where the bridge has it (and ip6tables exists to fence it).
    return [f for f in (4, 6) if f in policy.gateways and (f == 4 or shutil.which("ip6tables-restore"))]


def install(policy: Policy) -> None:
    """Install or refresh the network's rules; idempotent, and atomic per address family."""
    with _locked():
        wanted = _families(policy)
        for family in (4, 6):
            if family not in wanted:
                if shutil.which(TOOLS[family][0]):
                    _remove_jumps(family, _our_jumps(family, policy.network))
                continue
            chains = chain_rules(policy, family)
            jumps = {("INPUT", policy.input_chain), (_forward_parent(family), policy.forward_chain)}
            existing = _our_jumps(family, policy.network)
            present = {(p, _target(r)) for p, r in existing
                       if "-i" in r and r[r.index("-i") + 1] == policy.bridge} & jumps
            lines = ["*filter"] + [f":{chain} - [0:0]" for chain in chains]  # creates or flushes
            for chain, rules in chains.items():
                lines += [_restore_line(["-A", chain, *rule]) for rule in rules]
            for parent, chain in sorted(jumps - present):
                lines.append(_restore_line(["-I", parent, "1", "-i", policy.bridge, "-m", "comment",
                                            "--comment", policy.comment, "-j", chain]))
            lines.append("COMMIT")
            result = subprocess.run([TOOLS[family][1], "-w", "--noflush"], input="\n".join(lines) + "\n",
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise PolicyError(f"{TOOLS[family][1]}: {result.stderr.strip()}")
            # A network recreated under the same name has another bridge: drop the old jumps.
            stale = [(p, r) for p, r in existing if (p, _target(r)) not in present]
            _remove_jumps(family, stale, keep=set(chains))


def _remove_jumps(family: int, jumps: list[tuple[str, list[str]]], keep: set[str] = frozenset()) -> set[str]:
    chains = set()
    for _parent, rule in jumps:
        _run(family, "-D", *rule[1:], check=False)
        chains.add(_target(rule))
    for chain in chains - keep:
        if chain.startswith(CHAIN_PREFIXES):
            _run(family, "-F", chain, check=False)
            _run(family, "-X", chain, check=False)
    return chains


def remove(network: str, bridge: str | None = None) -> int:
    """Delete exactly what `install` added for this network; returns the chains removed."""
    removed = 0
    with _locked():
        for family in (4, 6):
            if not shutil.which(TOOLS[family][0]):
                continue
            chains = _remove_jumps(family, _our_jumps(family, network))
            # Chains left without their jumps (an install cut short) go too.
            for chain in (prefix + bridge for prefix in CHAIN_PREFIXES) if bridge else ():
                if chain not in chains and _rules_of(family, chain) is not None:
                    _run(family, "-F", chain, check=False)
                    _run(family, "-X", chain, check=False)
                    chains.add(chain)
            removed += len(chains)
    return removed


def describe(network: str, bridge: str | None = None) -> str:
    """The network's rules as `iptables -S` prints them, for `show` and the tests."""
    out = []
    for family in (4, 6):
        if not shutil.which(TOOLS[family][0]):
            continue
        jumps = _our_jumps(family, network)
        chains = [_target(r) for _, r in jumps]
        for chain in (prefix + bridge for prefix in CHAIN_PREFIXES) if bridge else ():
            if chain not in chains and _rules_of(family, chain) is not None:
                chains.append(chain)
        if not jumps and not chains:
            continue
        out.append(f"# IPv{family}")
        out += [_restore_line(rule) for _, rule in jumps]
        for chain in dict.fromkeys(chains):
            out += [_restore_line(rule) for rule in _rules_of(family, chain) or []]
    return "\n".join(out)


# --- the policy of the configured network ---------------------------------------------

def nameservers() -> list[str]:
    """The host's DNS servers that containers' queries are forwarded to (loopback ones are
    reached by Docker from the host's own namespace, so they need no rule)."""
    found: dict[str, None] = {}
    for path in RESOLV_FILES:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                try:
                    address = ipaddress.ip_address(parts[1].split("%")[0])
                except ValueError:
                    continue
                if not address.is_loopback:
                    found[str(address)] = None
    return list(found)


def bridge_name(attrs: dict) -> str:
    return (attrs.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + attrs["Id"][:12]


def policy_for(network: str, attrs: dict) -> Policy:
    from django.conf import settings

    gateways = {}
    for config in attrs.get("IPAM", {}).get("Config") or []:
        # Docker leaves out the gateway it gave an IPv6 subnet: the subnet's first address.
        address = (config.get("Gateway") or "").split("/")[0] or (
            str(ipaddress.ip_network(config["Subnet"], strict=False)[1]) if config.get("Subnet") else "")
        if address and (_family(address) == 4 or attrs.get("EnableIPv6")):
            gateways.setdefault(_family(address), address)
    return Policy(
        network=network, bridge=bridge_name(attrs), gateways=gateways,
        service_ports=[*settings.LAMBDA_RUNTIME_API_PORTS, (settings.LAMBDA_ENDPOINT_PORT, settings.LAMBDA_ENDPOINT_PORT),
                       *settings.LAMBDA_FUNCTION_HOST_PORTS],
        allowed=list(settings.LAMBDA_FUNCTION_ALLOWED_CIDRS), nameservers=nameservers(),
    )


def up(network: str) -> Policy:
    """Create the network if it is missing and install its rules."""
    from . import containers

    why = available()
    if why:
        raise PolicyError(why)
    containers.ensure_network(network)
    policy = policy_for(network, containers.inspect_network(network))
    install(policy)
    return policy


def down(network: str) -> int:
    from . import containers

    try:
        attrs = containers.inspect_network(network)
    except Exception:  # Docker already stopped: the jumps' comments still find the chains
        attrs = None
    return remove(network, bridge_name(attrs) if attrs else None)


def ensure(network: str) -> bool:
    """The worker's call at start: install the rules if it can, else warn once and go on
    (a developer's laptop without root runs functions unfenced)."""
    from django.conf import settings

    if not settings.LAMBDA_NETWORK_POLICY:
        return False
    why = available()
    if why:
        log.warning("functions' network %s is NOT fenced (%s): they can reach the host and "
                    "the LAN; run the worker as root to install the rules", network, why)
        return False
    try:
        up(network)
    except Exception as exc:
        log.error("functions' network %s is NOT fenced: installing its rules failed: %s", network, exc)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    from django.conf import settings

    from . import containers

    ap = argparse.ArgumentParser(prog="python -m executor.netpolicy", description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("up", "down", "show", "gateway"))
    ap.add_argument("--network", default=settings.LAMBDA_DOCKER_NETWORK)
    args = ap.parse_args(argv)
    if args.action == "gateway":
        print(containers.ensure_network(args.network))
        return 0
    if args.action == "show":
        attrs = containers.inspect_network(args.network)
        print(describe(args.network, bridge_name(attrs) if attrs else None) or f"no rules for {args.network}")
        return 0
    if not settings.LAMBDA_NETWORK_POLICY and args.action == "up":
        print(f"LAMBDA_NETWORK_POLICY is off: functions on {args.network} are not fenced", file=sys.stderr)
        return 0
    why = available()
    if why:
        # As the worker does: a laptop without root still runs, with a clear warning.
        if args.action == "up":
            print(f"warning: functions on {args.network} are NOT fenced ({why})", file=sys.stderr)
        return 0
    try:
        if args.action == "up":
            policy = up(args.network)
            print(f"network policy installed for {args.network} (bridge {policy.bridge})")
        else:
            print(f"network policy removed for {args.network} ({down(args.network)} chains)")
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
