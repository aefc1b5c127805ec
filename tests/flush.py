"""Empty the database after a transactional test by deleting the rows that are there, not by truncating every table.

Django ends each transactional test (`transactional_db`, `django_db(transaction=True)`, `live_server`, a Celery
worker) with `flush`: one TRUNCATE of all 57 tables, then the post_migrate signal, which writes the content types,
permissions and boundary sets back. On PostgreSQL a TRUNCATE gives every table and index a new file and its commit
syncs them all: 1.4-2.7 s a test on this 2-core machine, whether the test wrote one row or none, for ~180 tests.
A test writes to a few tables, so here one query finds the tables that have rows and one transaction deletes them
(the foreign keys are all DEFERRABLE INITIALLY DEFERRED, so the order does not matter).

What a flush leaves behind is kept exactly: the first flush in a process is Django's own, and the rows post_migrate
writes after it (content types, permissions, boundary sets) are fingerprinted then; a later flush that finds those
tables changed (a test added a permission, made another boundary set current) runs Django's flush again. Sequences
are not reset, as Django's flush does not reset them; a test that asks for `reset_sequences`,
`serialized_rollback` or `available_apps` (none does yet) gets Django's own teardown.
"""

from __future__ import annotations

from django.core.management import call_command
from django.db import connections, transaction
from django.test import TransactionTestCase

# Per database (its NAME, so each pytest-xdist worker and each alias has its own): the tables post_migrate fills
# and the fingerprint of their rows right after Django's flush.
_after_flush: dict[str, tuple[list[str], str]] = {}


def _tables(connection) -> list[str]:
    # The tables Django's flush empties: every installed model's, existing, no views.
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _fingerprint_sql(connection, tables: list[str]) -> str:
    quote = connection.ops.quote_name
    parts = [f"(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {quote(table)} t)"
             for table in tables]
    return "SELECT " + (" || ".join(parts) if parts else "''")


def _django_flush(connection) -> None:
    call_command("flush", verbosity=0, interactive=False, database=connection.alias, reset_sequences=False,
                 allow_cascade=False, inhibit_post_migrate=False)
    tables = _tables(connection)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"
                                          for table in tables), tables)
        filled = [row[0] for row in cursor.fetchall()]
        cursor.execute(_fingerprint_sql(connection, filled))
        _after_flush[connection.settings_dict["NAME"]] = (filled, cursor.fetchone()[0])


def flush_written_tables(connection) -> None:
    """Leave the database as Django's flush would, deleting only from the tables that have rows."""
    known = _after_flush.get(connection.settings_dict["NAME"])
    if known is None:
        _django_flush(connection)
        return
    filled, fingerprint = known
    tables = _tables(connection)
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # One statement: which tables have a row, and whether post_migrate's rows are as the flush left them.
        cursor.execute(
            " UNION ALL ".join([f"SELECT %s, NULL WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables]
                               + [f"SELECT NULL, ({_fingerprint_sql(connection, filled)})"]),
            tables)
        rows = cursor.fetchall()
        if [value for table, value in rows if table is None] != [fingerprint]:
            written = None
        else:
            written = [table for table, _ in rows if table is not None and table not in filled]
            if written:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED; "
                               + " ".join(f"DELETE FROM {quote(table)};" for table in written))
    if written is None:  # a test changed what post_migrate writes: Django's flush puts it back
        _django_flush(connection)


_django_fixture_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown(self) -> None:
    if self.available_apps is not None or self.serialized_rollback or self.reset_sequences:
        return _django_fixture_teardown(self)
    for db_name in self._databases_names(include_mirrors=False):
        flush_written_tables(connections[db_name])


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown
