"""A real local HTTPS receiver for the webhook tests, and the engine's SMTP fixtures.

The receiver is http.server + ssl in a thread on 127.0.0.1, with a
self-signed certificate for localhost / 127.0.0.1 that the sender trusts
through WEBHOOKS_CA_BUNDLE: TLS verification stays on. Each request is kept
(headers and body); `answers` scripts the next replies (a status code, or
"slow" to answer after the sender's timeout), then it answers 200.
"""

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenant_apps.delivery.tests.conftest import (  # noqa: F401 - fixtures shared with the engine's tests
    _fresh_worker_connection,
    engine_settings,
    make_mailing,
    smtp_server,
    smtp_sink,
)

SLOW_SECONDS = 1.5


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """(certificate, key) PEM files of a self-signed certificate for localhost, 127.0.0.1 and ::1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class Received:
    def __init__(self, headers, body):
        self.headers = headers
        self.body = body

    @property
    def document(self):
        return json.loads(self.body)


class Receiver:
    def __init__(self, server):
        self.server = server
        self.port = server.server_address[1]
        self.requests: list[Received] = []
        self.answers: list = []
        self.lock = threading.Lock()

    def url(self, path="/hook", host="127.0.0.1"):
        return f"https://{host}:{self.port}{path}"

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if self.answers else 200

    def delivered(self):
        """The requests answered 2xx, in order."""
        return [r for r in self.requests if getattr(r, "status", 200) < 300]

    def events(self):
        """Every event of every request that was answered 2xx."""
        return [event for r in self.delivered() for event in r.document["events"]]


def make_handler(receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = receiver.next_answer()
            received = Received({k.lower(): v for k, v in self.headers.items()}, body.decode())
            received.status = 599 if answer == "slow" else answer
            with receiver.lock:
                receiver.requests.append(received)
            if answer == "slow":
                time.sleep(SLOW_SECONDS)
                answer = 200
            self.send_response(answer)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver(tls_files, settings):
    """Start the HTTPS receiver; the sender trusts its certificate and times out before a "slow" answer."""
    cert, key = tls_files
    settings.WEBHOOKS_CA_BUNDLE = cert
    settings.WEBHOOKS_TIMEOUT = 0.5
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    server.daemon_threads = True
    found = Receiver(server)
    server.RequestHandlerClass = make_handler(found)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
