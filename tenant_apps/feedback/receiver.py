"""The inbound bounce receiver: an SMTP server (aiosmtpd) for the bounce domain.

It accepts `bounces@` and `bounces+<token>@` BOUNCE_DOMAIN and refuses every
other recipient at RCPT; messages over BOUNCE_MAX_MESSAGE_BYTES are refused
at DATA (552). An accepted message is put on the huey queue as it is: the
parsing, the token check and every database write happen in the consumer,
so the SMTP session costs one Redis push. If the queue is down the sender
gets a temporary 451 and tries again later, as MTAs do.

Messages that arrive together on several sessions (Postfix opens many)
go to the queue as one task, so the consumer records them in one batch;
each session gets its 250 only once its message is in the queue.
"""

import asyncio
import logging
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings

from .tasks import receive_bounces
from .verp import is_bounce_address

log = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command at INFO: thousands of lines a second under load.
logging.getLogger("mail.log").setLevel(logging.WARNING)


MAX_GROUP = 200  # messages per queued task


class BounceHandler:
    def __init__(self, copy_dir=None):
        # Development: keep a copy of each bounce for the mail catcher's page.
        self.copy_dir = Path(copy_dir) if copy_dir else None
        self.accepted = 0
        self.waiting = []  # [(recipient, raw, future)] not yet queued
        self.flush_scheduled = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_bounce_address(address):
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        queued = loop.create_future()
        self.waiting.extend((recipient, raw, queued) for recipient in envelope.rcpt_tos)
        if len(self.waiting) >= MAX_GROUP:
            self.flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            # Flushed on the loop's next turn: messages whose data arrived in this turn (other
            # sessions) join the task, and a lone session waits for nobody.
            loop.call_soon(self.flush)
        if not await queued:
            return "451 4.3.0 Queue unavailable, try again later"
        self.accepted += 1
        if self.copy_dir is not None:
            self._keep_copy(raw)
        return "250 2.0.0 OK: queued"

    def flush(self):
        """Queue what is waiting as one task and tell each session whether it is in."""
        self.flush_scheduled = False
        group, self.waiting = self.waiting, []
        if not group:
            return
        try:
            receive_bounces([(recipient, raw) for recipient, raw, _future in group])
            ok = True
        except Exception:  # noqa: BLE001 - any queue failure is a temporary refusal, never a lost bounce
            log.exception("could not queue %s bounces", len(group))
            ok = False
        for _recipient, _raw, future in group:
            if not future.done():
                future.set_result(ok)

    def _keep_copy(self, raw):
        self.copy_dir.mkdir(parents=True, exist_ok=True)
        (self.copy_dir / f"{time.time():.6f}-bounce-{uuid.uuid4().hex[:8]}.eml").write_bytes(raw)


def start(host=None, port=None, *, max_bytes=None, copy_dir=None):
    """Start the receiver in a background thread; returns the aiosmtpd Controller (call .stop())."""
    handler = BounceHandler(copy_dir=copy_dir)
    controller = Controller(
        handler,
        hostname=host or settings.BOUNCE_SERVER_HOST,
        port=port or settings.BOUNCE_SERVER_PORT,
        data_size_limit=max_bytes or settings.BOUNCE_MAX_MESSAGE_BYTES,
        ident="Rassylka bounce receiver",
        server_hostname=settings.BOUNCE_DOMAIN,
    )
    controller.start()
    return controller
