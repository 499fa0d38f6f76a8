from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from .models import Post


class LatestPostsFeed(Feed):
    """Atom feed of the 20 latest visible posts. Anyone may read it."""

    feed_type = Atom1Feed
    title = _("Rassylka blog")
    subtitle = _("News and advice on email campaigns")
    link = reverse_lazy("blog:list")

    def items(self):
        return Post.objects.visible()[:20]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.body_html

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated
