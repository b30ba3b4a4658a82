"""Named tuples whose field names can be any string: ``namedtuple``.

:py:func:`collections.namedtuple` only accepts Python identifiers, but datasets
built with ``Dataset.from_dict`` may use names such as ``"energy-per-atom"``.
The classes made here are cached by ``(name, fields)``, so that every call with
the same arguments gives the same class, and they pickle (instances and the
classes themselves) through this module: batches travel between DataLoader
worker processes by pickle.
"""

import copyreg
from typing import Dict, Sequence, Tuple

_CACHE: Dict[Tuple[str, Tuple[str, ...]], type] = {}

# attributes of the generated classes that a field must not hide
_RESERVED = frozenset(["_fields", "_asdict", "_replace"])


class _NamedTupleMeta(type):
    """Metaclass of the generated classes, registered with :py:mod:`copyreg` so
    that pickling a class rebuilds it with :py:func:`namedtuple`"""


class _NamedTuple(tuple, metaclass=_NamedTupleMeta):
    """Base of the classes created by :py:func:`namedtuple`"""

    __slots__ = ()
    _fields: Tuple[str, ...] = ()

    def __new__(cls, *args, **kwargs):
        fields = cls._fields
        if not kwargs and len(args) == len(fields):
            return tuple.__new__(cls, args)

        if len(args) > len(fields):
            raise TypeError(
                f"{cls.__name__}() takes {len(fields)} values, got {len(args)}"
            )
        values = list(args)
        for field in fields[len(args) :]:
            if field not in kwargs:
                raise TypeError(f"{cls.__name__}() is missing the field {field!r}")
            values.append(kwargs.pop(field))
        if kwargs:
            unexpected = next(iter(kwargs))
            if unexpected in fields:
                raise TypeError(
                    f"{cls.__name__}() got several values for the field {unexpected!r}"
                )
            raise TypeError(
                f"{cls.__name__}() got an unexpected field {unexpected!r}, "
                f"the fields are {list(fields)}"
            )
        return tuple.__new__(cls, values)

    def __getitem__(self, key):
        """The item at position ``key`` (or the items of a slice), or the value
        of the field named ``key``"""
        if isinstance(key, str):
            try:
                key = self._fields.index(key)
            except ValueError:
                raise KeyError(
                    f"{key!r} is not a field of {type(self).__name__}, the fields "
                    f"are {list(self._fields)}"
                ) from None
        return tuple.__getitem__(self, key)

    def __repr__(self) -> str:
        content = ", ".join(
            f"{field if field.isidentifier() else repr(field)}={value!r}"
            for field, value in zip(self._fields, self)
        )
        return f"{type(self).__name__}({content})"

    def __reduce__(self):
        return (_rebuild, (type(self).__name__, self._fields, tuple(self)))

    def _asdict(self) -> dict:
        """The fields and their values, as a new ``dict``"""
        return dict(zip(self._fields, self))

    def _replace(self, **kwargs):
        """A new tuple of the same class, where the fields given as keyword
        arguments (``**{"non-identifier": value}`` works) take new values"""
        values = [kwargs.pop(field, value) for field, value in zip(self._fields, self)]
        if kwargs:
            raise TypeError(
                f"unexpected field {next(iter(kwargs))!r} in '_replace', "
                f"the fields are {list(self._fields)}"
            )
        return tuple.__new__(type(self), values)


def _field_getter(index: int, field: str) -> property:
    def getter(self):
        return tuple.__getitem__(self, index)

    return property(getter, doc=f"value of the field {field!r} (item {index})")


def _check_fields(name: str, fields: Tuple[str, ...]):
    if not isinstance(name, str):
        raise TypeError(f"the name of a named tuple must be a str, got {type(name)}")
    seen = set()
    for field in fields:
        if not isinstance(field, str):
            raise TypeError(
                f"field names of {name!r} must be str, got {type(field).__name__} "
                f"({field!r})"
            )
        if field == "":
            raise ValueError(f"field names of {name!r} must not be empty")
        if field in _RESERVED or (field.startswith("__") and field.endswith("__")):
            raise ValueError(
                f"{field!r} can not be a field name of {name!r}: it is a reserved "
                "attribute name"
            )
        if field in seen:
            raise ValueError(f"field {field!r} is repeated in {name!r}")
        seen.add(field)


def namedtuple(name: str, fields: Sequence[str]) -> type:
    """Class of named tuples called ``name`` with the given ``fields``.

    Like :py:func:`collections.namedtuple`, but field names can be any non-empty
    string: names that are Python identifiers are attributes, the others are
    reachable with :py:func:`getattr` (and all of them by name with
    ``sample["name"]``, by position, with ``_asdict()`` or by unpacking). The
    repr quotes the names that are not identifiers. Calling this function again
    with the same arguments gives the same class.

    :param name: name of the class
    :param fields: names of the fields, in order
    :return: a subclass of :py:class:`tuple`

    >>> Sample = namedtuple("Sample", ["energy", "per-atom energy"])
    >>> sample = Sample(1.5, [0.5, 1.0])
    >>> sample
    Sample(energy=1.5, 'per-atom energy'=[0.5, 1.0])
    >>> sample.energy, getattr(sample, "per-atom energy"), sample["per-atom energy"]
    (1.5, [0.5, 1.0], [0.5, 1.0])
    >>> sample._fields
    ('energy', 'per-atom energy')
    >>> Sample(**{"energy": 1.5, "per-atom energy": [0.5, 1.0]}) == sample
    True
    """
    fields = tuple(fields)
    key = (name, fields)
    cls = _CACHE.get(key)
    if cls is None:
        _check_fields(name, fields)
        namespace = {
            "__slots__": (),
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"{name}({', '.join(fields)})",
            "_fields": fields,
        }
        for index, field in enumerate(fields):
            namespace[field] = _field_getter(index, field)
        cls = _NamedTupleMeta(name, (_NamedTuple,), namespace)
        cls = _CACHE.setdefault(key, cls)
    return cls


def _rebuild(name: str, fields: Tuple[str, ...], values: tuple):
    """Unpickle an instance of ``namedtuple(name, fields)``"""
    return tuple.__new__(namedtuple(name, fields), values)


def _reduce_class(cls):
    if cls is _NamedTuple:
        # the base class pickles by reference, like any class
        return cls.__qualname__
    return (namedtuple, (cls.__name__, cls._fields))


copyreg.pickle(_NamedTupleMeta, _reduce_class)
