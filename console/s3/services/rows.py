"""The rows every S3 request reads (its bucket, its object), without the ORM's query compiler.

Building a queryset's SQL costs more than running it: on the 2-core benchmark machine
`Bucket.objects.filter(name=...).first()` took ~520 µs and the same SELECT through a cursor
~60 µs (~1150 µs against ~90 µs for an object by bucket and key, whose model has more
fields). A small PUT or GET reads both rows, so the compiled SQL is kept here, built once per
database connection's vendor, and the values go through the same converters Django applies
(dates, JSON), so the instances are the ORM's own (`Model.from_db`), saved and compared as usual.
"""
from __future__ import annotations

from typing import Any, Generic, Iterable, TypeVar

from django.db import connections, models

from ..models import Bucket, S3Object

M = TypeVar("M", bound=models.Model)


class RowLookup(Generic[M]):
    """`lookup(*values)`: the one row of `model` whose `fields` equal `values`, or None."""

    def __init__(self, model: type[M], *fields: str, using: str = "default", for_update: bool = False) -> None:
        self.model = model
        self.fields = fields
        self.using = using
        self.for_update = for_update  # SELECT ... FOR UPDATE where the database has it (not SQLite)
        self._prepared: tuple[str, str, list, list[str]] | None = None  # (vendor, sql, converters, names)

    def _prepare(self, connection) -> tuple[str, list, list[str]]:
        if self._prepared is None or self._prepared[0] != connection.vendor:
            meta = self.model._meta
            table, quote = meta.db_table, connection.ops.quote_name
            concrete = meta.concrete_fields
            where = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in self.fields)
            sql = (f"SELECT {', '.join(quote(f.column) for f in concrete)} FROM {quote(table)} "
                   f"WHERE {where} LIMIT 1")
            if self.for_update and connection.features.has_select_for_update:
                sql += " FOR UPDATE"
            converters = []
            for f in concrete:
                column = f.get_col(table)
                converters.append((column, connection.ops.get_db_converters(column)
                                   + column.get_db_converters(connection)))
            self._prepared = (connection.vendor, sql, converters, [f.attname for f in concrete])
        return self._prepared[1:]

    def __call__(self, *values: Any) -> M | None:
        connection = connections[self.using]
        sql, converters, names = self._prepare(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, list(values))
            row = cursor.fetchone()
        if row is None:
            return None
        converted = []
        for value, (column, functions) in zip(row, converters):
            for function in functions:
                value = function(value, column, connection)
            converted.append(value)
        return self.model.from_db(self.using, names, converted)


_updates: dict[tuple, tuple[str, list]] = {}


def update_row(obj: models.Model, names: Iterable[str], using: str = "default") -> None:
    """`obj.save(update_fields=names)` for an existing row, with its SQL built once per set of fields."""
    connection = connections[using]
    meta = type(obj)._meta
    cache_key = (connection.vendor, meta.label, tuple(names))
    prepared = _updates.get(cache_key)
    if prepared is None:
        quote = connection.ops.quote_name
        fields = [meta.get_field(name) for name in cache_key[2]]
        sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
               f"WHERE {quote(meta.pk.column)} = %s")
        prepared = _updates[cache_key] = (sql, fields)
    sql, fields = prepared
    values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])


bucket_row: RowLookup[Bucket] = RowLookup(Bucket, "name")
object_row: RowLookup[S3Object] = RowLookup(S3Object, "bucket", "key")
object_row_for_update: RowLookup[S3Object] = RowLookup(S3Object, "bucket", "key", for_update=True)
