"""settings.py says each thing once, and the consumer's log lines are printed once."""

import ast
import logging
import logging.config
from collections import Counter
from pathlib import Path

from django.conf import settings

SETTINGS_FILE = Path(settings.BASE_DIR) / "saas" / "settings.py"


def assigned_names(tree):
    """Every setting assigned at the top level of settings.py, including inside if/else branches."""
    names = []

    def walk(statements, branch=""):
        for node in statements:
            if isinstance(node, ast.Assign):
                names.extend((target.id, branch) for target in node.targets if isinstance(target, ast.Name))
            elif isinstance(node, ast.If):
                walk(node.body, branch + f"{node.lineno}a")
                walk(node.orelse, branch + f"{node.lineno}b")

    walk(tree.body)
    return names


def test_no_setting_is_written_twice():
    names = assigned_names(ast.parse(SETTINGS_FILE.read_text()))
    # The same name in the two branches of one `if` is one setting; twice in one branch is twice.
    twice = [name for (name, branch), count in Counter(names).items() if count > 1 and name.isupper()]

    assert twice == []


def test_section_headers_name_topics_not_issues():
    headers = [line for line in SETTINGS_FILE.read_text().splitlines() if line.startswith("# ---")]

    assert len(headers) >= 8
    assert not [header for header in headers if "issue" in header.lower()]


def test_huey_settings_are_one_dict_with_explicit_immediate_flags():
    assert settings.HUEY["name"] == "rassylka"
    assert settings.HUEY["immediate_use_memory"] is False
    assert "immediate" in settings.HUEY


def handlers_reached(logger):
    """Every handler a record logged on `logger` goes through (its own, then its parents' while it propagates)."""
    reached = []
    while logger is not None:
        reached += logger.handlers
        logger = logger.parent if logger.propagate else None
    return reached


def test_consumer_log_lines_are_printed_once():
    """run_huey gives the "huey" logger a handler of its own only when it has none."""
    from huey.consumer_options import ConsumerConfig

    logging.config.dictConfig(settings.LOGGING)
    logger = logging.getLogger("huey")
    if not logger.handlers:  # what run_huey does
        ConsumerConfig(workers=1).setup_logger(logger)

    assert len(handlers_reached(logger)) == 1
