"""Moving every encrypted value onto the newest key of LAMBDA_ENCRYPTION_KEYS."""
from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models, transaction

from ..fields import EncryptedJSONField, rotate_token


@dataclass
class RotationCount:
    label: str  # "console.Function.environment"
    rotated: int = 0  # re-encrypted with the newest key
    current: int = 0  # already under it
    unreadable: int = 0  # under none of the configured keys: left as they are


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    """Every EncryptedJSONField of every installed model, found by introspection so that a
    model adding one is rotated without anyone remembering to list it here."""
    return [
        (model, field)
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
        for field in model._meta.local_concrete_fields
        if isinstance(field, EncryptedJSONField)
    ]


def encryption_keys_rotate(batch_size: int = 500) -> list[RotationCount]:
    """Re-encrypt every stored value with the newest key, a batch per transaction.

    The stored tokens are read and written as raw SQL: the field's own conversions would
    decrypt on the way in and encrypt again on the way out, hiding which key a row is under.
    A row changed by someone else meanwhile is left alone (its new value has the newest key).
    """
    counts = []
    quote = connection.ops.quote_name
    for model, field in encrypted_fields():
        count = RotationCount(f"{model._meta.label}.{field.name}")
        table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
        last = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {column} IS NOT NULL" + (f" AND {pk} > %s" if last is not None else "")
                cursor.execute(f"SELECT {pk}, {column} FROM {table} {where} ORDER BY {pk} LIMIT %s",
                               ([last] if last is not None else []) + [batch_size])
                rows = cursor.fetchall()
                for row_pk, stored in rows:
                    try:
                        rotated = rotate_token(stored)
                    except ValueError:
                        count.unreadable += 1
                        continue
                    if rotated is None:
                        count.current += 1
                        continue
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                                   [rotated, row_pk, stored])
                    count.rotated += cursor.rowcount
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
        counts.append(count)
    return counts
