"""The mail provider adapter: hands pre-built messages to an SMTP server.

It knows nothing about the ORM. One `SmtpSender` keeps one connection open
and reuses it for every message; after any error the connection is closed
and the next message opens a fresh one (a connection in an unknown state is
never reused). Every network call has a timeout. Each send returns an
`Outcome` that says whether the message was accepted, failed for now
(timeouts, disconnects, refused connections, 4xx: worth retrying) or failed
for good (5xx), with the server's code and text, and at which step of the
dialogue it failed: before RCPT a failure is about the provider or our
account, never about one recipient.
"""

import re
import smtplib
import ssl
import time
from dataclasses import dataclass

DOT_AT_LINE_START = re.compile(rb"(?m)^\.")
SENT = "sent"
TEMPORARY = "temporary"
PERMANENT = "permanent"

# The steps of the SMTP dialogue, in order.
CONNECT, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA = "connect", "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT", "DATA"
PIPELINED = "MAIL FROM/RCPT/DATA"  # their replies are awaited together: a silence there is any of them
# Until RCPT nothing names a recipient: a refusal there is about our sender, account or address.
SENDER_STAGES = frozenset({CONNECT, EHLO, STARTTLS, AUTH, MAIL})
STAGE_OF_ERROR = (  # smtplib's exception → the step it comes from (the most specific classes first)
    (smtplib.SMTPConnectError, CONNECT),
    (smtplib.SMTPHeloError, EHLO),
    (smtplib.SMTPAuthenticationError, AUTH),
    (smtplib.SMTPSenderRefused, MAIL),
    (smtplib.SMTPRecipientsRefused, RCPT),
    (smtplib.SMTPDataError, DATA),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # SENT, TEMPORARY or PERMANENT
    code: int | None
    response: str
    # True when the failure says nothing about this recipient but about the
    # provider (connection refused, timeout, disconnect, 421, a 4xx before
    # RCPT): the circuit breaker counts these, and only these.
    provider_fault: bool = False
    stage: str = ""  # the step that failed (CONNECT … DATA); empty when sent
    # The caller's deadline cut the wait short: nothing is known about the server.
    interrupted: bool = False

    @property
    def sent(self):
        return self.kind == SENT

    @property
    def sender_refused(self):
        """A 5xx before RCPT: the provider refuses our sender or account, whoever the recipient is."""
        return self.kind == PERMANENT and self.stage in SENDER_STAGES


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0
    local_hostname: str | None = None
    idle_check: float = 30.0

    @classmethod
    def from_email_settings(cls, config, *, timeout, idle_check=30.0, local_hostname=None):
        """From a django-environ email_url() dict (EMAIL_HOST, EMAIL_PORT, ...)."""
        return cls(
            host=config.get("EMAIL_HOST") or "localhost",
            port=int(config.get("EMAIL_PORT") or 25),
            username=config.get("EMAIL_HOST_USER") or "",
            password=config.get("EMAIL_HOST_PASSWORD") or "",
            use_tls=bool(config.get("EMAIL_USE_TLS")),
            use_ssl=bool(config.get("EMAIL_USE_SSL")),
            timeout=timeout,
            idle_check=idle_check,
            local_hostname=local_hostname,
        )


def classify_code(code, text, stage=""):
    """An SMTP reply code → Outcome: 4xx temporary, 5xx permanent, anything else temporary."""
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if code is not None and 500 <= code < 600:
        return Outcome(PERMANENT, code, text, stage=stage)
    # 421 means the service is going away; before RCPT no recipient is involved:
    # both are the provider's faults. A 4xx at RCPT or DATA is this recipient's.
    provider_fault = code in (421, -1, None) or stage in SENDER_STAGES
    return Outcome(TEMPORARY, code if code and code > 0 else None, text, provider_fault=provider_fault, stage=stage)


def is_timeout(exc):
    """smtplib turns a read timeout into SMTPServerDisconnected; the TimeoutError is its context."""
    return isinstance(exc, TimeoutError) or (
        isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError)
    )


def classify_exception(exc, stage="", timeout=None, interrupted=False):
    """The Outcome of an exception raised at `stage` while talking to the server.

    `timeout` is the wait that ran out (for the log); `interrupted` says the
    caller's deadline, not the provider, cut it short.
    """
    stage = next((name for cls, name in STAGE_OF_ERROR if isinstance(exc, cls)), stage)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (None, str(exc)))
        return classify_code(code, text, stage)
    if isinstance(exc, smtplib.SMTPResponseException):  # SenderRefused, DataError, ConnectError, ...
        return classify_code(exc.smtp_code, exc.smtp_error, stage)
    if is_timeout(exc):
        if interrupted:
            text = f"stopped at the time limit, no answer yet at {stage}"
            return Outcome(TEMPORARY, None, text, stage=stage, interrupted=True)
        waited = f" within {timeout:g} s" if timeout else ""
        return Outcome(TEMPORARY, None, f"timeout: no answer{waited} at {stage}", provider_fault=True, stage=stage)
    if isinstance(exc, (smtplib.SMTPException, OSError, ssl.SSLError)):
        # disconnects, refused connections, garbage that smtplib cannot parse
        return Outcome(TEMPORARY, None, f"{type(exc).__name__} at {stage}: {exc}", provider_fault=True, stage=stage)
    raise exc


class SmtpSender:
    """One reused SMTP connection; not thread-safe (one per worker thread)."""

    def __init__(self, config):
        self.config = config
        self._conn = None
        self._last_used = 0.0
        self._stage = CONNECT
        self._deadline = None  # monotonic time after which no wait may last (set per send)
        self._wait = config.timeout  # the current step's wait

    def send(self, envelope_from, recipient, message_bytes, deadline=None):
        """Send one pre-built message to one recipient; never raises for SMTP/network errors.

        With a `deadline` (time.monotonic()), no wait for the server lasts past
        it: the send is cut short and its Outcome is `interrupted`.
        """
        self._deadline, self._stage = deadline, CONNECT
        try:
            conn = self._connection()
            code, text = self._transaction(conn, envelope_from, recipient, message_bytes)
        except Exception as exc:  # noqa: BLE001 - classified below; unknown errors re-raise there
            self.close()
            capped = deadline is not None and self._wait < self.config.timeout
            return classify_exception(exc, self._stage, timeout=self._wait, interrupted=capped)
        self._last_used = time.monotonic()
        return Outcome(SENT, code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))

    def _step(self, stage, conn=None):
        """Note the step about to start; with a deadline, its wait ends there at the latest."""
        self._stage = stage
        if self._deadline is not None:
            wait = max(min(self.config.timeout, self._deadline - time.monotonic()), 0.01)
        elif self._wait != self.config.timeout:  # an earlier send's deadline shortened it
            wait = self.config.timeout
        else:
            return
        self._wait = wait
        if conn is not None and conn.sock is not None:
            conn.sock.settimeout(wait)

    def _transaction(self, conn, envelope_from, recipient, message_bytes):
        """MAIL, RCPT, DATA as smtplib.sendmail does, keeping the server's final reply for the log.

        With PIPELINING (RFC 2920) the three commands go out in one write and
        the message in a second: two round trips per message instead of four.
        """
        self._step(EHLO, conn)
        conn.ehlo_or_helo_if_needed()
        if conn.does_esmtp and conn.has_extn("pipelining") and envelope_from.isascii() and recipient.isascii():
            return self._pipelined(conn, envelope_from, recipient, message_bytes)
        self._step(MAIL, conn)
        code, text = conn.mail(envelope_from)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, envelope_from)
        self._step(RCPT, conn)
        code, text = conn.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
        self._step(DATA, conn)
        code, text = conn.data(message_bytes)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return code, text

    def _pipelined(self, conn, envelope_from, recipient, message_bytes):
        self._step(PIPELINED, conn)
        conn.send(f"MAIL FROM:<{envelope_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
        mail, rcpt, data = conn.getreply(), conn.getreply(), conn.getreply()
        # The first refusal is the reason; the connection is closed after any of them.
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], envelope_from)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        if data[0] != 354:
            raise smtplib.SMTPDataError(*data)
        body = message_bytes
        if body.startswith(b".") or b"\n." in body:  # rare (bodies are base64): skip the regex otherwise
            body = DOT_AT_LINE_START.sub(b"..", body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        conn.send(body + b".\r\n")
        self._step(DATA, conn)
        code, text = conn.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return code, text

    def close(self):
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except Exception:  # noqa: BLE001, S110 - the connection is being thrown away anyway
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110
                pass

    def _connection(self):
        if self._conn is not None and time.monotonic() - self._last_used > self.config.idle_check:
            # The server may have dropped an idle connection: check before trusting it.
            self._step(CONNECT, self._conn)
            try:
                code, _text = self._conn.noop()
                if code != 250:
                    self.close()
            except Exception:  # noqa: BLE001
                self.close()
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self):
        cfg = self.config
        cls = smtplib.SMTP_SSL if cfg.use_ssl else smtplib.SMTP
        self._step(CONNECT)
        conn = cls(cfg.host, cfg.port, local_hostname=cfg.local_hostname, timeout=self._wait)
        try:
            if cfg.use_tls:
                self._step(STARTTLS, conn)
                conn.starttls(context=ssl.create_default_context())
            if cfg.username:
                self._step(AUTH, conn)
                conn.login(cfg.username, cfg.password)
        except Exception:
            conn.close()
            raise
        self._last_used = time.monotonic()
        return conn

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
