import pytest
from django.apps import apps
from django.contrib import admin

from tests.factories import SlotFactory, UserFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"seats", "canvass", "volunteers", "dispatch", "sms"}


def test_every_project_model_has_an_admin():
    missing = [m.__name__ for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m not in admin.site._registry]
    assert missing == []


def test_coordinator_can_open_every_admin_changelist_and_a_slot_with_its_bookings(client):
    SlotFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in admin.site._registry:
        if model._meta.app_label in PROJECT_APPS:
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert client.get(url).status_code == 200, url
            assert client.get(url, {"q": "x"}).status_code == 200, url
    from sessions.models import Slot

    assert client.get(f"/admin/canvass/slot/{Slot.objects.get().pk}/change/").status_code == 200
