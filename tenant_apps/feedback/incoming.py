"""One bounce or complaint from any source, before it is recorded (no ORM: adapters build these)."""

from dataclasses import asdict, dataclass
from datetime import datetime


@dataclass
class Incoming:
    kind: str  # hard, soft, complaint
    source: str  # smtp, ses, sendgrid, mailgun, postmark
    email: str = ""
    delivery_id: int | None = None
    status_code: str = ""
    diagnostic: str = ""
    reporting_mta: str = ""
    occurred_at: datetime | None = None
    raw: str = ""
    provider_event_id: str | None = None

    def as_dict(self):
        """A JSON-safe dict for the queue."""
        data = asdict(self)
        data["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        return data

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        if data.get("occurred_at"):
            data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
        return cls(**data)
