from django.db.models.signals import post_delete, post_save


def _on_post_change(sender, **kwargs):
    from .services import posts_changed_after_commit

    posts_changed_after_commit()


def connect():
    post_save.connect(_on_post_change, sender="blog.Post", dispatch_uid="blog-post-saved")
    post_delete.connect(_on_post_change, sender="blog.Post", dispatch_uid="blog-post-deleted")
