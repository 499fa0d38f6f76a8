"""Demo blog posts for `make run` (seed_demo): a few published posts with pictures.

The pictures are drawn here with Pillow (nothing is downloaded), so the home
page and the blog look filled on a fresh machine.
"""

from datetime import timedelta
from io import BytesIO

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from .models import Post

# (slug, title, summary, body, two colours of the picture)
DEMO_POSTS = (
    (
        "demo-first-mailing-in-ten-minutes",
        "Первая рассылка за десять минут",
        "Импортируйте клиентов из CSV, напишите письмо с именем получателя и запланируйте отправку.",
        "Начните с **импорта клиентов**: CSV-файл с колонками email и имя.\n\n"
        "Затем напишите письмо: `{{ name }}` подставит имя каждого получателя, "
        "`{{ unsubscribe_url }}` — ссылку для отписки.\n\n"
        "Остаётся выбрать время начала и конца — рассылка уйдёт сама.",
        ((13, 110, 253), (102, 16, 242)),
    ),
    (
        "demo-reading-the-delivery-report",
        "Как читать отчёт о доставке",
        "Отправлено, не доставлено, в очереди, пропущено: что значит каждая цифра и где смотреть ответ сервера.",
        "Каждая попытка отправки записывается: время, результат и **ответ почтового сервера**.\n\n"
        "Временные ошибки (4xx) повторяются с нарастающей паузой, постоянные (5xx) — нет.\n\n"
        "График показывает последние 48 часов по часам или 30 дней по дням.",
        ((25, 135, 84), (32, 201, 151)),
    ),
    (
        "demo-unsubscribe-done-right",
        "Отписка в один клик",
        "Письма несут заголовки List-Unsubscribe: почтовые программы показывают кнопку «Отписаться».",
        "Отписавшиеся клиенты больше не получают рассылок, а отчёт показывает, сколько их.\n\n"
        "Ссылка в письме подписана и не раскрывает адрес получателя.",
        ((220, 53, 69), (253, 126, 20)),
    ),
    (
        "demo-team-workspace",
        "Пространство для всей команды",
        "Пригласите коллег: владелец, редактор или читатель — у каждого свои права.",
        "У каждой команды своё пространство на своём поддомене и своя база.\n\n"
        "Редакторы пишут письма и рассылки, читатели смотрят отчёты.",
        ((111, 66, 193), (214, 51, 132)),
    ),
)


def demo_picture(colours, size=(1200, 675)) -> bytes:
    """A JPEG with a diagonal gradient between two colours and a few soft circles."""
    width, height = size
    start, end = colours
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for x in range(width):
        share = x / (width - 1)
        colour = tuple(round(a + (b - a) * share) for a, b in zip(start, end, strict=True))
        draw.line([(x, 0), (x, height)], fill=colour)
    for n, (cx, cy, r) in enumerate(((0.8, 0.25, 0.22), (0.2, 0.8, 0.3), (0.55, 0.6, 0.12))):
        shade = 255 - 25 * n
        draw.ellipse(
            [(cx - r) * width, cy * height - r * width, (cx + r) * width, cy * height + r * width],
            outline=(shade, shade, shade),
            width=6,
        )
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def add_demo_posts(author=None) -> int:
    """Publish the demo posts that do not exist yet (by address); returns how many were made."""
    made = 0
    now = timezone.now()
    for days_ago, (slug, title, summary, body, colours) in enumerate(DEMO_POSTS):
        if Post.objects.filter(slug=slug).exists():
            continue  # kept as it is, even if edited
        post = Post(
            slug=slug,
            title=title,
            summary=summary,
            body=body,
            status=Post.Status.PUBLISHED,
            published_at=now - timedelta(days=days_ago * 3 + 1),
            author=author,
        )
        post.image.save(f"{slug}.jpg", ContentFile(demo_picture(colours)), save=False)
        post.save()
        made += 1
    return made
