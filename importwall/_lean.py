"""Small stand-ins for standard-library helpers that cost too much at interpreter start.

Every process with an active firewall imports the start-up path (``runtime/``,
``policy/``, ``findings``, ``errors``) before its own first line runs. ``dataclasses``
imports ``inspect``, which imports ``ast``, ``dis``, ``tokenize`` and ``re``; ``typing``
imports ``re`` and ``collections``; ``contextlib`` imports ``collections`` and
``functools``. Together they cost several times a bare ``python -c pass``
(benchmarks/README.md, "Start-up import diet"). What the start-up path needs of them is
here instead:

* :class:`Frozen`, the base of importwall's value classes (``Finding``, ``Frame``,
  ``Rule``, ``Policy``...): frozen, compared, hashed, shown, pickled and copied as the
  frozen dataclasses they were, and still accepted by ``dataclasses.fields``, ``replace``,
  ``asdict`` and ``is_dataclass`` (``dataclasses`` is imported the first time one asks);
* :func:`replace`, ``dataclasses.replace`` for them;
* :class:`suppress`, ``contextlib.suppress``.

Standard library only, and imports nothing: this module is on the start-up path.
"""

TYPE_CHECKING = False  # typing is not imported at run time
if TYPE_CHECKING:
    import dataclasses
    from types import TracebackType
    from typing import Any, ClassVar, TypeVar

    F = TypeVar("F", bound="Frozen")

_set = object.__setattr__


class _DataclassFields:
    """``__dataclass_fields__``, made the first time it is read: ``dataclasses`` looks for
    it to tell a dataclass (``is_dataclass``, ``fields``, ``replace``, ``asdict``), and
    importing ``dataclasses`` to make it up front would cost what :class:`Frozen` saves.
    The fields are those of a frozen dataclass with the same field names and annotations;
    once made they replace this descriptor on the class."""

    def __get__(self, instance: object, owner: "type[Frozen]") -> "dict[str, Any]":
        names = owner.__dict__.get("_fields")
        if names is None:  # Frozen itself, or a class that names no fields: not a dataclass
            raise AttributeError("__dataclass_fields__")
        import dataclasses
        import inspect

        annotations: dict[str, Any] = {}
        for klass in reversed(owner.__mro__):
            annotations.update(inspect.get_annotations(klass))
        shadow = dataclasses.make_dataclass(
            owner.__name__, [(name, annotations.get(name, "Any")) for name in names],
            frozen=True)
        fields = {field.name: field for field in dataclasses.fields(shadow)}
        type.__setattr__(owner, "__dataclass_fields__", fields)
        return fields


class Frozen:
    """A frozen value class without ``dataclasses``.

    A subclass names its fields, in order, in ``_fields`` (and, usually, the same tuple as
    its ``__slots__``), declares their types as annotations, and writes an ``__init__``
    that takes them in that order and sets each with ``object.__setattr__``. In return it
    behaves as ``@dataclass(frozen=True)`` would: equal to an instance of the same class
    with equal fields, hashed on its fields, shown as ``Name(field=value, ...)``, refuses
    assignment, pickles and copies (its fields passed back to ``__init__``), matches
    ``case Name(a, b)``, and answers ``dataclasses`` and ``copy.replace`` (3.13).
    """

    __slots__ = ()
    _fields: "ClassVar[tuple[str, ...]]" = ()
    if TYPE_CHECKING:
        __dataclass_fields__: "ClassVar[dict[str, dataclasses.Field[Any]]]"
        __match_args__: "ClassVar[tuple[str, ...]]"

    def __init_subclass__(cls, **kwargs: "Any") -> None:
        super().__init_subclass__(**kwargs)
        type.__setattr__(cls, "__match_args__", cls._fields)

    def _values(self) -> "tuple[Any, ...]":
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in self._fields])
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> "tuple[Any, ...]":
        return (self.__class__, self._values())

    def __replace__(self: "F", **changes: "Any") -> "F":
        for name in self._fields:
            if name not in changes:
                changes[name] = getattr(self, name)
        return self.__class__(**changes)


type.__setattr__(Frozen, "__dataclass_fields__", _DataclassFields())


def replace(obj: "F", **changes: "Any") -> "F":
    """A copy of ``obj`` with ``changes``, as ``dataclasses.replace`` makes one."""
    return obj.__replace__(**changes)


class suppress:
    """``contextlib.suppress``: ``with suppress(OSError): ...`` ignores those errors."""

    __slots__ = ("_kinds",)

    def __init__(self, *kinds: "type[BaseException]") -> None:
        self._kinds = kinds

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: "type[BaseException] | None", error: "BaseException | None",
                 traceback: "TracebackType | None") -> bool:
        return kind is not None and issubclass(kind, self._kinds)
