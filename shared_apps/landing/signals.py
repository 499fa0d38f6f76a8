"""Keep the home page's mailing counts current without editing the campaigns app."""

from django.db.models.signals import post_delete, post_save


def _on_mailing_change(sender, **kwargs):
    from .counters import mailings_changed

    mailings_changed()


def connect():
    post_save.connect(_on_mailing_change, sender="campaigns.Mailing", dispatch_uid="landing-mailing-saved")
    post_delete.connect(_on_mailing_change, sender="campaigns.Mailing", dispatch_uid="landing-mailing-deleted")
