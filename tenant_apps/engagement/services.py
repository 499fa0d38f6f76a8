"""Tracking switches (run inside a workspace schema)."""

from .models import TrackingSettings


def tracking_settings() -> TrackingSettings:
    return TrackingSettings.objects.first() or TrackingSettings()


def save_tracking_settings(*, track_opens: bool, track_clicks: bool) -> TrackingSettings:
    current = TrackingSettings.objects.first() or TrackingSettings()
    current.track_opens, current.track_clicks = track_opens, track_clicks
    current.save()
    return current
