"""A real local HTTPS receiver for the webhook tests (local_receiver.py), and the engine's SMTP fixtures.

The sender trusts the receiver's self-signed certificate through
WEBHOOKS_CA_BUNDLE: TLS verification stays on. Its timeout is shorter than a
"slow" answer.
"""

from pathlib import Path

import pytest

from tenant_apps.delivery.tests.conftest import (  # noqa: F401 - fixtures shared with the engine's tests
    _fresh_worker_connection,
    engine_settings,
    make_mailing,
    smtp_server,
    smtp_sink,
)
from tenant_apps.webhooks import local_receiver


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return local_receiver.write_self_signed(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def receiver(tls_files, settings):
    cert, key = tls_files
    settings.WEBHOOKS_CA_BUNDLE = cert
    settings.WEBHOOKS_TIMEOUT = 0.5
    found = local_receiver.start(cert, key)
    yield found
    found.stop()
