"""Blog images: accept only real, reasonably sized images; make a smaller copy for lists."""

from io import BytesIO
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
THUMBNAIL_SIZE = (800, 450)


def validate_blog_image(file):
    """Reject anything that is not a JPEG/PNG/GIF/WebP within the size limits."""
    if file.size > MAX_IMAGE_BYTES:
        raise ValidationError(
            _("The image is too large (%(size)s); the limit is %(limit)s."),
            code="too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(MAX_IMAGE_BYTES)},
        )
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError(_("This file is not an image we can read."), code="not_an_image") from error
    finally:
        file.seek(0)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(_("Use a JPEG, PNG, GIF or WebP image."), code="format")
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ValidationError(
            _("The image is %(width)s×%(height)s pixels; each side must be at most %(limit)s."),
            code="too_many_pixels",
            params={"width": width, "height": height, "limit": MAX_IMAGE_SIDE},
        )


def make_thumbnail(image_field):
    """A JPEG copy cropped to 16:9 and at most 800×450, for lists and the home page."""
    image_field.open("rb")
    image_field.seek(0)
    with Image.open(image_field) as original:
        image = ImageOps.exif_transpose(original).convert("RGB")
        thumb = ImageOps.fit(image, THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    image_field.seek(0)
    buffer = BytesIO()
    thumb.save(buffer, "JPEG", quality=85, optimize=True)
    name = PurePosixPath(image_field.name).stem + ".jpg"
    return ContentFile(buffer.getvalue(), name=name)
