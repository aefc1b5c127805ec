"""Small database helpers that the ORM does not offer."""

import functools
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection, models
from django.db.models import F, Lookup, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone


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

    values = insert_values(instance, fields)
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in unique_fields)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    # bench/sql_vs_orm.py insert_or_get: get_or_create cost 3.9x this statement's CPU (BENCHMARKS.md "Hand-written
    # statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return model.objects.get(**lookup), False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance, True


def upsert_returning(instance: models.Model, *, unique_fields: tuple[str, ...],
                     update_fields: tuple[str, ...], touch: bool = True) -> tuple[models.Model, bool]:
    """Insert `instance`, or update `update_fields` of the row with the same `unique_fields`; return
    (row as stored, created). The row stays locked until the transaction ends. With touch, auto_now
    fields are updated too.

    On PostgreSQL this is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING *``, which takes the
    row lock itself; elsewhere an upsert followed by SELECT ... FOR UPDATE.
    """
    model = type(instance)
    meta = model._meta
    lookup = {meta.get_field(name).attname: getattr(instance, meta.get_field(name).attname) for name in unique_fields}
    if connection.vendor != "postgresql":
        existed = model.objects.filter(**lookup).exists()
        model.objects.bulk_create([instance], update_conflicts=True, unique_fields=list(unique_fields),
                                  update_fields=list(update_fields))
        return model.objects.select_for_update().get(**lookup), not existed

    fields = [field for field in meta.concrete_fields if not field.primary_key]
    values = insert_values(instance, fields)
    quote = connection.ops.quote_name
    updated = [meta.get_field(name) for name in update_fields]
    if touch:
        updated += [f for f in fields if getattr(f, "auto_now", False) and f not in updated]
    columns = [field.column for field in meta.concrete_fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in unique_fields)}) DO UPDATE SET "
        + ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in updated)
        + f" RETURNING {', '.join(quote(c) for c in columns)}, (xmax = 0)"
    )
    # bench/sql_vs_orm.py upsert_returning: the ORM's upsert and locked read (the SQLite twin above) cost 3.3x this
    # statement's CPU (BENCHMARKS.md "Hand-written statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        *row, created = cursor.fetchone()
    return instance_from_row(model, meta.concrete_fields, row), created


def insert_values(instance: models.Model, fields) -> list:
    """The database values an INSERT of `instance` writes to `fields` (defaults and auto_now applied)."""
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


def instance_from_row(model: type[models.Model], fields, values) -> models.Model:
    """A model instance from raw column values of `fields`, converted as the ORM would (SQLite's
    datetimes, JSON fields' text)."""
    fields = tuple(fields)
    converted = list(values)
    for index, converters in _row_converters(model, fields):
        expression = fields[index].get_col(model._meta.db_table)
        for converter in converters:
            converted[index] = converter(converted[index], expression, connection)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


@functools.cache
def _row_converters(model: type[models.Model], fields: tuple) -> list[tuple[int, list]]:
    found = []
    for index, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            found.append((index, converters))
    return found


def get_with_related(model: type[models.Model], pk, *, related: tuple[str, ...]) -> models.Model | None:
    """``model.objects.select_related(*related).filter(pk=pk).first()`` for forward foreign keys, as
    one raw statement whose SQL is built once per (model, related): on a hot path (every booking)
    the ORM's query compilation costs several times the query itself."""
    if not pk_in_range(model, pk):
        return None  # as the ORM does: no row can have it, and PostgreSQL would raise
    sql, plan = related_select(model, related)
    # bench/sql_vs_orm.py get_with_related: select_related().filter(pk=).first() cost 4.1x this statement's CPU
    # (BENCHMARKS.md "Hand-written statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t0.{connection.ops.quote_name(model._meta.pk.column)} = %s", [pk])
        row = cursor.fetchone()
    return None if row is None else instances_from_related_row(plan, row)


def pk_in_range(model: type[models.Model], pk) -> bool:
    """Whether `pk` fits the primary key's integer column (a lookup outside it makes PostgreSQL raise)."""
    pk_type = model._meta.pk.get_internal_type()
    if pk_type in connection.ops.integer_field_ranges:
        low, high = connection.ops.integer_field_range(pk_type)
        return (low is None or low <= int(pk)) and (high is None or int(pk) <= high)
    return True


def instances_from_related_row(plan, row) -> models.Model:
    """The instance, with its related instances attached, from a row of a ``related_select`` statement."""
    instances: dict[str, models.Model | None] = {}
    offset = 0
    for path, path_model, fields in plan:
        values = row[offset:offset + len(fields)]
        offset += len(fields)
        parent_path, _, field_name = path.rpartition("__")
        instance = None if values[0] is None else instance_from_row(path_model, fields, values)
        instances[path] = instance
        if path and instances[parent_path] is not None:
            setattr(instances[parent_path], field_name, instance)
    return instances[""]


def get_by(model: type[models.Model], field: str, value, *, related: tuple[str, ...] = ()) -> models.Model | None:
    """``model.objects.select_related(*related).filter(<field>=value).first()`` for a unique `field`, as one raw
    statement whose SQL is built once (see get_with_related)."""
    sql, plan = related_select(model, related)
    # bench/sql_vs_orm.py get_by: filter().first() cost 2.4x this statement's CPU (BENCHMARKS.md "Hand-written
    # statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t0.{connection.ops.quote_name(model._meta.get_field(field).column)} = %s",
                       [value])
        row = cursor.fetchone()
    return None if row is None else instances_from_related_row(plan, row)


@functools.cache
def related_select(model: type[models.Model], related: tuple[str, ...], sources: tuple[tuple[str, str], ...] = ()):
    """``SELECT <model and related columns> FROM <model> t0 <joins>``, without a WHERE clause, and the
    plan ``instances_from_related_row`` reads its rows with. Built once per (model, related, sources).

    `sources` names, for some paths ("" for the model itself), a relation to read instead of the table, such as
    a CTE of a statement's ``UPDATE ... RETURNING *`` (whose rows are the ones just written)."""
    quote = connection.ops.quote_name
    source = dict(sources)
    paths = sorted({""} | {"__".join(p.split("__")[:i]) for p in related for i in range(len(p.split("__")) + 1)},
                   key=lambda p: (p.count("__") if p else -1, p))
    aliases = {"": "t0"}
    joins, columns, plan = [], [], []
    for path in paths:
        if path:
            parent_path, _, field_name = path.rpartition("__")
            parent_model = next(m for p, m, _ in plan if p == parent_path)
            field = parent_model._meta.get_field(field_name)
            path_model = field.related_model
            aliases[path] = f"t{len(aliases)}"
            join = "LEFT JOIN" if field.null else "JOIN"
            joins.append(f"{join} {source.get(path) or quote(path_model._meta.db_table)} {aliases[path]} ON "
                         f"{aliases[path]}.{quote(field.target_field.column)} = {aliases[parent_path]}.{quote(field.column)}")
        else:
            path_model = model
        # The primary key first, so an all-NULL LEFT JOIN is recognised by its first value.
        meta = path_model._meta
        fields = [meta.pk] + [f for f in meta.concrete_fields if not f.primary_key]
        columns += [f"{aliases[path]}.{quote(f.column)}" for f in fields]
        plan.append((path, path_model, tuple(fields)))
    sql = f"SELECT {', '.join(columns)} FROM {source.get('') or quote(model._meta.db_table)} t0 {' '.join(joins)}"
    return sql, plan


class _EqualsAny(Lookup):
    lookup_name = "equals_any"  # not registered on any field: built by any_of()
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def any_of(field: str, ids: Iterable[int]) -> Lookup | Q:
    """For ``filter(any_of("volunteer_id", ids))``: ``volunteer_id = ANY('{1,2,...}'::bigint[])``, thousands
    of ids in one short literal rather than ``IN`` with one parameter each (which costs more to send and
    parse, and fails past PostgreSQL's 65,535 parameters).

    The ids are written into the SQL, not bound: a bound array makes a prepared statement whose generic
    plan cannot hash it, so a scan of a table that fills up during an assignment commit compares every row
    with every id (seconds per statement). int() keeps anything but integers out.
    Elsewhere (SQLite, the embedded default) it is a plain ``IN``: the array type is PostgreSQL's.
    """
    if not _postgres():
        return Q(**{f"{field}__in": [int(pk) for pk in ids]})
    # bench/assign.py: the commit of 91,000 bookings in 13.3 s (BENCHMARKS.md "Assignment") filters by id arrays this
    # way; IN with a parameter per id fails past 65,535 ids, and a bound array hashes nothing (seconds per statement).
    literal = "'{" + ",".join(str(int(pk)) for pk in ids) + "}'::bigint[]"
    return _EqualsAny(F(field), RawSQL(literal, []))


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """Take `count` ids from the model's id sequence, for rows written by COPY (which returns nothing)."""
    if count <= 0:
        return []
    if not _postgres():
        return _sqlite_ids_reserve(model, count)
    # bench/reminders.py: rows written by COPY, 25x the one-transaction-per-booking way (BENCHMARKS.md "Reminders").
    with connection.cursor() as cursor:
        # The sequence is looked up first: pg_get_serial_sequence in the same SELECT runs once per row,
        # and costs ten times the nextval.
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in cursor.fetchall()]


def _sqlite_ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """SQLite's AUTOINCREMENT keeps the highest id handed out in sqlite_sequence: move it on by `count`
    (the UPDATE takes the database's write lock, so two transactions cannot reserve the same ids)."""
    table = model._meta.db_table
    # SQLite twin of ids_reserve (the embedded default): no figure, no ORM call moves a sequence.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s", [count, table])
        if cursor.rowcount == 0:
            cursor.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT %s, COALESCE(MAX({connection.ops.quote_name(model._meta.pk.column)}), 0) + %s "  # noqa: S608 - names from the model
                           f"FROM {connection.ops.quote_name(table)}", [table, count])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        last = cursor.fetchone()[0]
    return list(range(last - count + 1, last + 1))


def _insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """The non-PostgreSQL stand-in for COPY: one INSERT statement executed for every row."""
    quote = connection.ops.quote_name
    rows = list(rows)
    if rows:
        # SQLite twin of _copy (the embedded default): the plain INSERT bulk_create would send, without instances.
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
                               f"VALUES ({', '.join(['%s'] * len(columns))})", rows)
    return len(rows)


def copy_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence], *,
                same: dict | None = None) -> int:
    """COPY rows into the model's table in the caller's transaction: bulk_create without a model instance
    per row, many times faster for thousands of rows. Constraints are checked as for an INSERT.

    `rows` hold database-ready values for `fields` (ids for foreign keys; include "id" from ids_reserve
    when the caller needs the ids); `same` holds values shared by every row. The other columns are filled
    as bulk_create would: auto_now fields with the current time, callable defaults called for each row,
    other defaults; nullable columns without a default are left NULL.
    """
    columns, prepared = _copy_prepare(model, fields, rows, same or {})
    if not _postgres():
        return _insert_rows(model._meta.db_table, columns, prepared)
    return _copy(model._meta.db_table, columns, prepared)


def copy_insert_new(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence], *,
                    unique_fields: Sequence[str], returning: Sequence[str], same: dict | None = None) -> list[tuple]:
    """copy_insert that skips rows whose `unique_fields` already exist (COPY into a temporary table, then one
    ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``); returns the `returning` columns of the rows inserted."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns, prepared = _copy_prepare(model, fields, rows, same or {})
    column_list = ", ".join(quote(column) for column in columns)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in unique_fields)
    returned = ", ".join(quote(meta.get_field(name).column) for name in returning)
    staging = f"copy_staging_{meta.db_table}"
    # bench/reminders.py: COPY, 2,000 rows a transaction, 25x one transaction a row (BENCHMARKS.md "Reminders").
    if not _postgres():  # one INSERT ... ON CONFLICT DO NOTHING RETURNING per row (SQLite 3.35+)
        inserted = []
        with connection.cursor() as cursor:
            for row in prepared:
                cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({column_list}) "  # noqa: S608
                               f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT ({conflict}) DO NOTHING "
                               f"RETURNING {returned}", list(row))
                inserted.extend(cursor.fetchall())
        return inserted
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {quote(staging)} ON COMMIT DROP AS "
                       f"SELECT {column_list} FROM {quote(meta.db_table)} WITH NO DATA")
        _copy(staging, columns, prepared)
        cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({column_list}) SELECT {column_list} "  # noqa: S608
                       f"FROM {quote(staging)} ON CONFLICT ({conflict}) DO NOTHING RETURNING {returned}")
        inserted = cursor.fetchall()
        cursor.execute(f"DROP TABLE {quote(staging)}")
    return inserted


def copy_update(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Set `fields` on many rows at once: rows are (pk, *values); COPY into a temporary table, then one
    ``UPDATE ... FROM``. Django's bulk_update builds a CASE per row and is far slower."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.pk.column] + [meta.get_field(name).column for name in fields]
    staging = f"copy_staging_{meta.db_table}"
    pk = quote(meta.pk.column)
    if not _postgres():
        rows = [(*row[1:], row[0]) for row in rows]
        if not rows:
            return 0
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {quote(meta.db_table)} SET "  # noqa: S608 - names from the model
                               + ", ".join(f"{quote(c)} = %s" for c in columns[1:]) + f" WHERE {pk} = %s", rows)
        return len(rows)
    # bench/assign.py: the commit's bulk updates, 91,000 bookings in 13.3 s (BENCHMARKS.md "Assignment").
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {quote(staging)} ON COMMIT DROP AS "
                       f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(meta.db_table)} WITH NO DATA")
        _copy(staging, columns, rows)
        assignments = ", ".join(f"{quote(c)} = staged.{quote(c)}" for c in columns[1:])
        cursor.execute(f"UPDATE {quote(meta.db_table)} AS target SET {assignments} "  # noqa: S608
                       f"FROM {quote(staging)} AS staged WHERE target.{pk} = staged.{pk}")
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {quote(staging)}")
    return updated


def _copy_prepare(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence],
                  same: dict) -> tuple[list[str], Iterator[tuple]]:
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    named = {field.name for field in given} | set(same)
    constants = [(meta.get_field(name), value) for name, value in same.items()]
    per_row = []
    now = timezone.now()
    for field in meta.concrete_fields:
        if field.name in named or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants.append((field, now))
        elif field.has_default() and callable(field.default):
            per_row.append(field)
        elif field.has_default() or not field.null:
            constants.append((field, field.get_default()))
    constant_values = tuple(field.get_db_prep_save(value, connection) for field, value in constants)
    columns = [f.column for f in given] + [f.column for f in per_row] + [f.column for f, _ in constants]

    def prepared() -> Iterator[tuple]:
        for row in rows:
            yield (*row, *(f.get_db_prep_save(f.get_default(), connection) for f in per_row), *constant_values)

    return columns, prepared()


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    quote = connection.ops.quote_name
    count = 0
    # COPY goes to psycopg directly: wrap its errors so callers see IntegrityError and friends, as with the ORM.
    # bench/reminders.py: COPY, 25x one transaction a row (BENCHMARKS.md "Reminders"); bench/import_postcodes.py: 7.4x
    # bulk_create (BENCHMARKS.md "Postcode import").
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
