"""Checking the constructor arguments the modules take once or per key"""

from typing import List

from ._backend import Labels, make_labels


def per_key(value, in_keys: Labels, name: str, kind: type) -> list:
    """``value`` (a single ``kind`` or a list of them, one per key of ``in_keys``)
    as a list with one entry per key"""
    return _per_entry(value, len(in_keys), "`in_keys`", name, kind)


def per_invariant_key(value, invariant: List[bool], name: str, kind: type) -> list:
    """``value`` (a single ``kind`` or a list of them, one per invariant key) as a
    list with one entry per key: ``None`` for the keys where ``invariant`` is
    false"""
    values = iter(_per_entry(value, sum(invariant), "invariant keys", name, kind))
    return [next(values) if selected else None for selected in invariant]


def _per_entry(value, count: int, keys: str, name: str, kind: type) -> list:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return [value] * count
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"`{name}` has {len(value)} entries but there are {count} {keys}: "
                "give one per key, or a single value for all"
            )
        for item in value:
            if not isinstance(item, kind):
                raise TypeError(
                    f"`{name}` must hold {kind.__name__} values, got "
                    f"{type(item).__name__}"
                )
        return list(value)
    raise TypeError(
        f"`{name}` must be a {kind.__name__} or a list of them (one per key), got "
        f"{type(value).__name__}"
    )


def out_properties_per_key(out_properties, in_keys: Labels):
    """``out_properties`` (None, a single Labels, or one Labels per key) as
    ``None`` or a list with one Labels per key"""
    if out_properties is None:
        return None
    return per_key(out_properties, in_keys, "out_properties", Labels)


def out_features_per_key(out_features, out_properties, in_keys: Labels) -> List[int]:
    """The number of output features for each key, from ``out_features`` and/or
    ``out_properties`` (which must agree when both are given)"""
    if out_properties is not None:
        counts = [len(labels) for labels in out_properties]
        if out_features is not None:
            features = per_key(out_features, in_keys, "out_features", int)
            if features != counts:
                raise ValueError(
                    f"`out_features` ({features}) do not match the sizes of "
                    f"`out_properties` ({counts})"
                )
        return counts
    if out_features is None:
        raise ValueError("one of `out_features` or `out_properties` must be given")
    return per_key(out_features, in_keys, "out_features", int)


def keys_mask(in_keys: Labels, invariant_keys) -> List[bool]:
    """Which keys of ``in_keys`` a module applies to: all of them when
    ``invariant_keys`` is ``False`` (the module is not invariant-only), else the
    invariant ones (see :py:func:`invariant_mask`)"""
    if invariant_keys is False:
        return [True] * len(in_keys)
    return invariant_mask(in_keys, invariant_keys)


def invariant_mask(in_keys: Labels, invariant_keys) -> List[bool]:
    """Which keys of ``in_keys`` are invariant: those matching an entry of
    ``invariant_keys`` on its dimensions (by default, ``o3_lambda=0`` and
    ``o3_sigma=1``)"""
    if invariant_keys is None:
        invariant_keys = make_labels(["o3_lambda", "o3_sigma"], [[0, 1]])
    if not isinstance(invariant_keys, Labels):
        raise TypeError(
            "`invariant_keys` must be metatensor Labels, got "
            f"{type(invariant_keys).__name__}"
        )
    missing = [name for name in invariant_keys.names if name not in in_keys.names]
    if missing:
        raise ValueError(
            f"`in_keys` have no dimension {missing} to find the invariant blocks "
            f"(`in_keys` names: {in_keys.names}): give `invariant_keys`, the "
            "key values of the invariant blocks, e.g. "
            "Labels(['o3_lambda'], [[0]])"
        )
    selected = {int(i) for i in in_keys.select(invariant_keys).tolist()}
    return [i in selected for i in range(len(in_keys))]
