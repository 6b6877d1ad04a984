"""Tables declared as classes, as Core tables: `Subscriber.email` is the column itself.

The project writes every query with Core statements (select, insert, update) and never loads
rows as objects, so it has no use for the ORM's mapping; importing it cost every command a
tenth of its start-up. A class body lists Columns (the attribute names are the column names)
and `__table_args__` (constraints, indexes); the class becomes a Table of its base's metadata,
and Core statements take the class wherever they take a table (`insert(Subscriber)`).

Columns are annotated `ColumnElement[T]` (`email: ColumnElement[str] = Column(...)`):
SQLAlchemy's typing reads a Column taken from a class as `Never`, to keep plain column
holders from passing for mapped classes, so the annotation says what the code uses it as.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, MetaData, Table


class Tables:
    """Base of a family of tables sharing one MetaData (each family's subclass sets it)."""

    metadata: ClassVar[MetaData]
    __tablename__: ClassVar[str]
    __table__: ClassVar[Table]
    __table_args__: ClassVar[tuple[Any, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__tablename__" not in cls.__dict__:
            return  # a family's base: it only brings the metadata
        columns = []
        for name, value in vars(cls).items():
            if isinstance(value, Column):
                if value.name is None:
                    value.name = value.key = name
                columns.append(value)
        cls.__table__ = Table(cls.__tablename__, cls.metadata, *columns, *cls.__table_args__)

    @classmethod
    def __clause_element__(cls) -> Table:
        """What Core statements use when given the class."""
        return cls.__table__
