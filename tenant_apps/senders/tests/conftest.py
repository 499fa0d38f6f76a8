"""A real DNS server for the senders' tests: dnslib on 127.0.0.1, answering from a dict the test fills.

The resolver setting (SENDERS_DNS_RESOLVER) points dnspython at it, so the
verification code does real DNS lookups over UDP.
"""

import pytest
from dnslib import QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

from tenant_apps.delivery.tests.conftest import (  # noqa: F401 - fixtures shared with the engine's tests
    _fresh_worker_connection,
    engine_settings,
    free_port,
    make_mailing,
    smtp_server,
    smtp_sink,
)


class Zone(BaseResolver):
    def __init__(self):
        self.txt = {}  # name -> list of records, each a list of strings

    def publish(self, name, value):
        from tenant_apps.senders.dkim import split_txt

        self.txt.setdefault(name.rstrip(".").lower(), []).append(split_txt(value))

    def unpublish(self, name):
        self.txt.pop(name.rstrip(".").lower(), None)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if request.q.qtype == QTYPE.TXT:
            for strings in self.txt.get(name, []):
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT([s.encode() for s in strings]), ttl=60))
        return reply


@pytest.fixture
def dns_zone(settings):
    zone = Zone()
    port = free_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    settings.SENDERS_DNS_RESOLVER = f"127.0.0.1:{port}"
    settings.SENDERS_DNS_TIMEOUT = 2.0
    yield zone
    server.stop()
