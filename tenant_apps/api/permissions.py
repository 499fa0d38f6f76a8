from django.utils.translation import gettext_lazy as _
from rest_framework import permissions


class KeyAccess(permissions.BasePermission):
    """A valid key of this workspace; writes need a read-write key."""

    message = _("This key is read-only: use a read-write key to change anything.")

    def has_permission(self, request, view):
        key = request.auth
        if key is None:
            return False
        return request.method in permissions.SAFE_METHODS or key.can_write
