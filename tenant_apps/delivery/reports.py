"""Numbers built from the delivery log (run inside a workspace schema)."""

from django.db.models import Count, Q

from .models import Delivery


def delivery_totals(since):
    """{"sent": n, "failed": n}: deliveries that reached that state since `since`."""
    return Delivery.objects.filter(finished_at__gte=since).aggregate(
        sent=Count("id", filter=Q(status=Delivery.Status.SENT)),
        failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
    )
