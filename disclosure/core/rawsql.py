"""Model instances from a hand-written statement, converted as the ORM
converts them.

For the few reads on every request (the API token's lookup) where compiling
an ORM query costs more than running it: the statement names its columns
through ``ModelColumns.select`` (taken from the model's own metadata, so a
new field is read without touching the SQL) and each row's slice becomes an
instance through the same converters the ORM applies (SQLite's text
datetimes, integer booleans, JSON).
"""

from django.db import connections
from django.db.models import Model


class ModelColumns:
    """The concrete columns of ``model`` under a table alias of a statement."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.columns = [f.get_col(alias) for f in self.fields]
        self._converters: dict[str, list[list]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, using: str = "default") -> str:
        """The statement's select list for these columns (quoted)."""
        qn = connections[using].ops.quote_name
        return ", ".join(f"{qn(self.alias)}.{qn(f.column)}" for f in self.fields)

    def instance(self, values, using: str = "default") -> Model:
        """The instance whose columns are ``values`` (in ``select`` order), as
        the ORM would have loaded it from database ``using``."""
        connection = connections[using]
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = [
                connection.ops.get_db_converters(col) + f.get_db_converters(connection)
                for f, col in zip(self.fields, self.columns, strict=True)
            ]
            self._converters[connection.vendor] = converters
        row = []
        for col, value, field_converters in zip(self.columns, values, converters, strict=True):
            for convert in field_converters:
                value = convert(value, col, connection)
            row.append(value)
        return self.model.from_db(using, self.attnames, row)
