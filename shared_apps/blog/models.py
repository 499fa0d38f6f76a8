"""Blog posts on the public site (public schema)."""

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .images import make_thumbnail, validate_blog_image
from .text import render_markdown, summary_of, unique_slug


class PostQuerySet(models.QuerySet):
    def visible(self, now=None):
        """Posts a visitor may see: published, with a publication date already reached."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__lte=now or timezone.now())


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("address"),
        max_length=220,
        unique=True,
        blank=True,
        help_text=_("Part of the post's URL. Left empty, it is made from the title."),
    )
    summary = models.CharField(
        _("summary"),
        max_length=300,
        blank=True,
        help_text=_("Shown in lists and search results. Left empty, it is taken from the text."),
    )
    body = models.TextField(_("text"), help_text=_("Markdown: **bold**, *italics*, # headings, [links](https://…)."))
    body_html = models.TextField(editable=False, default="")
    image = models.ImageField(_("image"), upload_to="blog/%Y/%m/", blank=True, validators=[validate_blog_image])
    thumbnail = models.ImageField(upload_to="blog/thumbs/%Y/%m/", blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        _("publication date"),
        default=timezone.now,
        help_text=_("A post with a date in the future stays hidden until then."),
    )
    views = models.PositiveIntegerField(_("views"), default=0, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="blog_posts",
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "-published_at"], name="blog_post_visible_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(self.title, Post.objects.exclude(pk=self.pk))
        self.body_html = render_markdown(self.body)
        replaced_files = []
        if self.image_changed():
            loaded = (getattr(self, "_loaded_image", ""), getattr(self, "_loaded_thumbnail", ""))
            replaced_files = [name for name in loaded if name]
            self.thumbnail = make_thumbnail(self.image) if self.image else None
        elif self.image and not self.thumbnail:
            self.thumbnail = make_thumbnail(self.image)
        super().save(*args, **kwargs)
        self._remember_files()
        for name in replaced_files:
            # Only once the new row is committed: a rollback keeps the old files in use.
            transaction.on_commit(lambda name=name: self.image.storage.delete(name))

    def get_absolute_url(self):
        # Posts live on the public site, also when linked from elsewhere (tasks, workspace pages).
        return reverse("blog:detail", kwargs={"slug": self.slug}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)

    @property
    def is_visible(self):
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()

    @property
    def meta_description(self):
        return self.summary or summary_of(self.body_html)

    def as_card(self):
        """What a teaser shows; the home page caches the same dict in Redis."""
        return {
            "title": self.title,
            "url": self.get_absolute_url(),
            "summary": self.meta_description,
            "thumbnail_url": self.thumbnail.url if self.thumbnail else "",
            "published_at": self.published_at,
        }

    @classmethod
    def from_db(cls, db, field_names, values):
        post = super().from_db(db, field_names, values)
        post._remember_files()
        return post

    def _remember_files(self):
        self._loaded_image = str(self.__dict__.get("image") or "")
        self._loaded_thumbnail = str(self.__dict__.get("thumbnail") or "")

    def image_changed(self):
        return str(self.image or "") != getattr(self, "_loaded_image", "")
