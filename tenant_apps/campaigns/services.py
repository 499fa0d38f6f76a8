from tenant_apps.audience.models import Client

from .models import Mailing


def dashboard_counts():
    """The workspace's headline numbers (runs inside the workspace schema)."""
    return {
        "mailings": Mailing.objects.count(),
        "active_mailings": Mailing.objects.filter(status=Mailing.Status.RUNNING).count(),
        "clients": Client.objects.count(),
    }
