"""Telling machines from people, and keeping only what privacy allows of a visitor.

At the endpoint (no database): the address is cut to its network (IPv4 /24,
IPv6 /48) and the user agent to a family name; a hit from a known privacy
proxy, a bot's user agent or a HEAD request is marked machine. The drain
adds what needs the delivery's history: a click within
TRACKING_SCANNER_SECONDS of the delivery, and several links of one message
clicked within one second (link scanners follow every link at once).
"""

import bisect
import ipaddress
import json
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "machines.json"

PROXY, BOT, HEAD, SCANNER, BURST = "proxy", "bot", "head", "scanner", "burst"

# (substring of the lower-cased user agent, family), first match wins: order matters
# (Edge and Opera say "chrome", Chrome says "safari").
FAMILIES = (
    ("googleimageproxy", "Gmail image proxy"),
    ("yandex", "Yandex"),
    ("edg/", "Edge"),
    ("edge/", "Edge"),
    ("opr/", "Opera"),
    ("firefox", "Firefox"),
    ("thunderbird", "Thunderbird"),
    ("outlook", "Outlook"),
    ("microsoft office", "Outlook"),
    ("chrome", "Chrome"),
    ("chromium", "Chrome"),
    ("iphone", "Apple Mail"),
    ("ipad", "Apple Mail"),
    ("safari", "Safari"),
    ("applewebkit", "Apple Mail"),
)


@cache
def machine_data():
    data = json.loads(DATA_FILE.read_text())
    ranges = {4: [], 6: []}
    proxy_agents = set()
    for proxy in data["proxies"]:
        for network in proxy["networks"]:
            net = ipaddress.ip_network(network)
            ranges[net.version].append((int(net.network_address), int(net.broadcast_address)))
        proxy_agents.update(proxy["user_agents"])
    for version in ranges:
        ranges[version].sort()
    bots = tuple(s.lower() for s in data["bots"]["user_agent_substrings"])
    return ranges, frozenset(proxy_agents), bots


def _in_ranges(address, ranges):
    starts = [start for start, _end in ranges]
    i = bisect.bisect_right(starts, int(address)) - 1
    return i >= 0 and int(address) <= ranges[i][1]


def network_of(ip: str):
    """(parsed address or None, its /24 or /48 network as text)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None, ""
    prefix = 24 if address.version == 4 else 48
    return address, str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def agent_family(user_agent: str) -> str:
    ua = user_agent.lower()
    if not ua:
        return ""
    _ranges, _proxy_agents, bots = machine_data()
    if any(s in ua for s in bots):
        return "Bot"
    for needle, family in FAMILIES:
        if needle in ua:
            return family
    return "Other"


def classify_request(ip: str, user_agent: str, method: str) -> tuple[str, str, str]:
    """(network, agent family, machine reason or "") for one hit, from what the request shows."""
    ranges, proxy_agents, _bots = machine_data()
    address, network = network_of(ip)
    family = agent_family(user_agent)
    if method == "HEAD":
        reason = HEAD
    elif (address is not None and _in_ranges(address, ranges[address.version])) or user_agent.strip() in proxy_agents:
        reason, family = PROXY, family if family != "Other" else "Proxy"
    elif family == "Bot":
        reason = BOT
    else:
        reason = ""
    return network, family, reason
