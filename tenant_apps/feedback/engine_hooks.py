"""What the sending engine needs from deliverability feedback, in one place.

- the VERP return path of each message (verp.ReturnPaths, one key per run);
- SQL that keeps suppressed addresses out of a run (when its deliveries are
  created, and again when a batch is claimed: a suppression may come while
  the run is going);
- whether the reputation guard paused the workspace.
"""

from shared_apps.deliverability.services import sending_paused

from .verp import ReturnPaths

# `c` is audience_client; feedback_suppression.email is stored lower-cased.
NOT_SUPPRESSED_SQL = "NOT EXISTS (SELECT 1 FROM feedback_suppression s WHERE s.email = lower(c.email))"

__all__ = ["NOT_SUPPRESSED_SQL", "ReturnPaths", "sending_paused"]
