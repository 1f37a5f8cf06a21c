"""Hosts and addresses named in a string, and the denied networks or host patterns they
fall in. Nothing here resolves names (no DNS at start-up) or keeps the string it read."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence

from importwall.envcheck.rules import matching_rule
from importwall.policy import Rule

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Separators between the hosts of a list-like value: "h1:9092,h2:9092", "host=db port=5432".
_SEPARATORS = re.compile(r"[\s,;|\"'()<>=]+")


def hosts_in(value: str) -> Iterator[str]:
    """Each host or address a value names: URLs, ``user@host:port``, ``[v6]:port``, lists
    and ``key=value`` connection strings. Lower-cased, without port or path."""
    for token in _SEPARATORS.split(value):
        if "://" in token:  # scheme://, also jdbc:postgresql://
            token = token.split("://", 1)[1]
        token = re.split(r"[/?#]", token, maxsplit=1)[0].rsplit("@", 1)[-1]
        if token.startswith("["):
            token = token[1:].split("]", 1)[0]
        elif token.count(":") == 1:
            token = token.split(":", 1)[0]
        token = token.strip(".").lower()
        if token:
            yield token


def address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def network_rule(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                 rules: Sequence[Rule]) -> Rule | None:
    """The deny rule whose network holds ``ip`` (the narrowest, when several do)."""
    found = [(ipaddress.ip_network(rule.pattern, strict=False), rule) for rule in rules]
    holding = [(net, rule) for net, rule in found if net.version == ip.version and ip in net]
    if not holding:
        return None
    return max(holding, key=lambda pair: pair[0].prefixlen)[1]


def host_rule(host: str, rules: Sequence[Rule]) -> Rule | None:
    """The deny rule matching ``host``: a glob (``*.internal``), or a plain domain that
    also covers its subdomains (``corp.example.com`` covers ``db.corp.example.com``)."""
    plain = [rule for rule in rules if not _is_glob(rule.pattern)]
    for rule in sorted(plain, key=lambda r: -len(r.pattern)):
        domain = rule.pattern.lower().strip(".")
        if host == domain or host.endswith("." + domain):
            return rule
    return matching_rule([r for r in rules if _is_glob(r.pattern)], [host], fold_case=True)


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def denied_destination(value: str, hosts: Sequence[Rule], networks: Sequence[Rule]
                       ) -> Rule | None:
    """The first deny rule that a host or address named in ``value`` falls under."""
    for host in hosts_in(value):
        ip = address(host)
        rule = network_rule(ip, networks) if ip is not None else host_rule(host, hosts)
        if rule is not None:
            return rule
    return None
