"""Small database helpers that the ORM does not offer."""

from django.db import connection, models


def insert_or_get(instance: models.Model, *, unique_fields: tuple[str, ...]) -> tuple[models.Model, bool]:
    """Save `instance` unless a row with the same `unique_fields` exists; return (row, created).

    On PostgreSQL this is one ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` instead of
    get_or_create's SELECT, SAVEPOINT, INSERT and RELEASE: it matters when the caller holds a lock
    that other requests are queueing for. Elsewhere it falls back to get_or_create.
    """
    model = type(instance)
    meta = model._meta
    unique_attnames = [meta.get_field(name).attname for name in unique_fields]
    lookup = {attname: getattr(instance, attname) for attname in unique_attnames}
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    if connection.vendor != "postgresql":
        defaults = {f.attname: getattr(instance, f.attname) for f in fields if f.attname not in lookup}
        return model.objects.get_or_create(**lookup, defaults=defaults)

    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in unique_fields)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return model.objects.get(**lookup), False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance, True
