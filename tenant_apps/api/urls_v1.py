"""/api/v1/: the REST API (key authentication, not membership)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("clients", views.ClientViewSet, basename="client")
router.register("lists", views.MailingListViewSet, basename="list")
router.register("fields", views.CustomFieldViewSet, basename="field")
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("messages", views.MessageViewSet, basename="message")
router.register("mailings", views.MailingViewSet, basename="mailing")
router.register("runs", views.RunViewSet, basename="run")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("send", views.SendViewSet, basename="send")

urlpatterns = [path("schema/", views.SchemaView.as_view(), name="api-schema"), *router.urls]
