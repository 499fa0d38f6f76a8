"""A local HTTPS webhook receiver: for the tests, the benchmark, and trying webhooks in development.

    .venv/bin/python -m tenant_apps.webhooks.local_receiver [--port 8443] [--folder var/webhooks-tls] [--quiet]

Writes a self-signed certificate for localhost / 127.0.0.1 / ::1 (point
WEBHOOKS_CA_BUNDLE at its cert.pem so verification stays on), then keeps every
POST (headers, body). GET /stats answers {"requests", "events", "unique_events"}.
`answers` scripts the next replies: a status code, or "slow" to answer after
SLOW_SECONDS (longer than the tests' sender timeout); after those, 200.
"""

import argparse
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SLOW_SECONDS = 1.5


def write_self_signed(folder: Path) -> tuple[str, str]:
    """(certificate, key) PEM paths of a new self-signed certificate for localhost, 127.0.0.1 and ::1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

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
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class Received:
    def __init__(self, headers: dict, body: str, status: int):
        self.headers = headers
        self.body = body
        self.status = status  # what the sender saw (599: it had timed out)

    @property
    def document(self):
        return json.loads(self.body)


class Receiver:
    def __init__(self, server, keep_bodies=True):
        self.server = server
        self.port = server.server_address[1]
        self.requests: list[Received] = []
        self.answers: list = []
        self.keep_bodies = keep_bodies
        self.event_count = 0
        self.event_ids: set[str] = set()
        self.lock = threading.Lock()

    def url(self, path="/hook", host="127.0.0.1"):
        return f"https://{host}:{self.port}{path}"

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if self.answers else 200

    def delivered(self):
        """The requests answered 2xx in time, in order."""
        return [r for r in self.requests if r.status < 300]

    def events(self):
        """Every event of every request answered 2xx in time."""
        return [event for r in self.delivered() for event in r.document["events"]]

    def record(self, headers, body, status):
        with self.lock:
            if self.keep_bodies:
                self.requests.append(Received(headers, body, status))
            if status < 300:
                ids = [event["id"] for event in json.loads(body)["events"]]
                self.event_count += len(ids)
                self.event_ids.update(ids)

    def stats(self):
        with self.lock:
            return {"events": self.event_count, "unique_events": len(self.event_ids)}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def make_handler(receiver, quiet=True):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            answer = receiver.next_answer()
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.record(headers, body, 599 if answer == "slow" else answer)
            if not quiet:
                print(headers.get("webhook-id"), answer, body[:200], flush=True)
            if answer == "slow":
                time.sleep(SLOW_SECONDS)
                answer = 200
            self.reply(answer, b"ok")

        def do_GET(self):  # noqa: N802
            self.reply(200, json.dumps(receiver.stats()).encode())

        def reply(self, code, content):
            self.send_response(code)
            self.send_header("Content-Length", str(len(content)))
            self._headers_buffer.append(b"\r\n" + content)  # headers and body in one write (no Nagle stall)
            self.flush_headers()

        def log_message(self, *args):
            pass

    return Handler


def start(cert: str, key: str, port: int = 0, *, keep_bodies=True, quiet=True) -> Receiver:
    """Serve HTTPS on 127.0.0.1:port in a thread."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", port), None)
    server.daemon_threads = True
    receiver = Receiver(server, keep_bodies=keep_bodies)
    server.RequestHandlerClass = make_handler(receiver, quiet=quiet)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--folder", default="var/webhooks-tls")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    cert, key = write_self_signed(Path(args.folder))
    receiver = start(cert, key, args.port, keep_bodies=False, quiet=args.quiet)
    print(f"listening on {receiver.url()}  (WEBHOOKS_CA_BUNDLE={cert})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
