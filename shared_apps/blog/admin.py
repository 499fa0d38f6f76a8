from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "published_at", "views"]
    list_filter = ["status"]
    search_fields = ["title", "body"]
    readonly_fields = ["views"]
