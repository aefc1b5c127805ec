"""tests/flush.py, which ends every transactional test, leaves the database as Django's flush does: what the test
wrote is gone, and the rows post_migrate writes (content types, permissions, boundary sets) are there as they were."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from seats.models import DEFAULT_BOUNDARY_SET, BoundarySet
from tests import flush
from tests.factories import AvailabilityWindowFactory, BookingFactory, OrganiserScopeFactory, PostcodeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _contents() -> dict[str, list[str]]:
    """Every row of every table Django flushes, as text, by table; empty tables left out."""
    contents = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.django_table_names(only_existing=True, include_views=False)):
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} t ORDER BY 1")
            if rows := [row for (row,) in cursor.fetchall()]:
                contents[table] = rows
    return contents


@pytest.fixture
def djangos_flushes(monkeypatch) -> list[str]:
    """A process that has not flushed yet, and the list of the times it falls back to Django's own flush."""
    monkeypatch.setattr(flush, "_after_flush", {})
    calls = []
    django_flush = flush._django_flush

    def counted(using):
        calls.append(using.alias)
        django_flush(using)

    monkeypatch.setattr(flush, "_django_flush", counted)
    return calls


def test_rows_a_test_wrote_are_deleted_and_post_migrates_rows_kept(djangos_flushes):
    flush.flush_written_tables(connection)  # the first in a process is Django's flush
    assert djangos_flushes == ["default"]
    after_django = _contents()
    assert set(after_django) == {"django_content_type", "auth_permission", "seats_boundaryset"}

    BookingFactory()
    AvailabilityWindowFactory()
    OrganiserScopeFactory()
    PostcodeFactory()
    assert len(_contents()) > len(after_django) + 6
    flush.flush_written_tables(connection)

    assert djangos_flushes == ["default"], "deleted the rows, no second TRUNCATE"
    assert _contents() == after_django


def test_a_changed_permission_or_boundary_set_brings_djangos_flush_back(djangos_flushes):
    flush.flush_written_tables(connection)
    after_django = _contents()
    Permission.objects.create(codename="fly", name="Can fly", content_type=ContentType.objects.first())
    BoundarySet.objects.update(is_current=False)
    BookingFactory()

    flush.flush_written_tables(connection)

    assert djangos_flushes == ["default", "default"]
    assert not Permission.objects.filter(codename="fly").exists()
    assert list(BoundarySet.objects.filter(is_current=True).values_list("code", flat=True)) == [DEFAULT_BOUNDARY_SET]
    assert {table: len(rows) for table, rows in _contents().items()} == {
        table: len(rows) for table, rows in after_django.items()}
