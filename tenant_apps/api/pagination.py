from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor pages in id order: a page costs the same at any depth, and rows added meanwhile are not skipped."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "limit"
    page_size_query_description = _("Rows per page (up to 1000).")
    max_page_size = 1000
