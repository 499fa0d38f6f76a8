"""`make run` stops cleanly when `make` passes its SIGTERM on to the runner."""

import signal

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
