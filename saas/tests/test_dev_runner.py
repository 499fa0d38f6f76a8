"""`make run`: stops cleanly on SIGTERM, listens on loopback unless told otherwise, links keep its port."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from saas import dev


@pytest.fixture
def restore_sigterm():
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_first_sigterm_stops_the_runner_and_a_second_cannot_cut_the_clean_up_short(restore_sigterm):
    signal.signal(signal.SIGTERM, dev.stop_on_sigterm)

    with pytest.raises(KeyboardInterrupt):
        dev.stop_on_sigterm(signal.SIGTERM, None)

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN


ROOT = Path(__file__).resolve().parents[2]
PRINT = {
    "listen": "from saas import dev; print(dev.runserver_address(dev.BIND_ADDRESS, dev.PORT))",
    "site": "from saas import dev; print(dev.site_url(dev.PORT))",
}


def runner_setting(what, **env):
    """What saas.dev computes in a fresh process with only this environment."""
    result = subprocess.run(
        [sys.executable, "-c", PRINT[what]],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_make_run_listens_on_loopback_only_by_default():
    assert runner_setting("listen") == "127.0.0.1:8000"
    assert runner_setting("listen", PORT="8107") == "127.0.0.1:8107"


def test_bind_address_opens_make_run_to_the_network_when_asked():
    assert runner_setting("listen", BIND_ADDRESS="0.0.0.0") == "0.0.0.0:8000"  # noqa: S104
    assert runner_setting("listen", BIND_ADDRESS="::", PORT="8107") == "[::]:8107"


def test_make_run_sets_site_url_from_the_port_it_serves_on():
    assert runner_setting("site", PORT="8107") == "http://localhost:8107"
