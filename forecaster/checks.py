"""Checks of single values at the boundary, each raising a `ValueError` that names the value.

The bottom of the package: it imports nothing of forecaster, so every layer can use it.
"""

import numbers


class InvalidValueError(ValueError):
    """A value a check refused; `name` is the argument or field it was given as."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def positive_int(name, value, *, optional=False):
    """Returns `value` if it is an integer >= 1 (or None when `optional`), else raises.

    Example:
        >>> positive_int("epochs", 0)
        Traceback (most recent call last):
        ValueError: epochs must be a positive integer, got 0
    """
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        suffix = " or None" if optional else ""
        raise InvalidValueError(name, f"{name} must be a positive integer{suffix}, got {value!r}")
    return value


def count(name, value):
    """Returns `value` if it is an integer >= 0, else raises.

    Example:
        >>> count("skiprows", -1)
        Traceback (most recent call last):
        ValueError: skiprows must be an integer >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidValueError(name, f"{name} must be an integer >= 0, got {value!r}")
    return value


def positive_number(name, value):
    """Returns `value` if it is a real number > 0, else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
        raise InvalidValueError(name, f"{name} must be a positive number, got {value!r}")
    return value


def rate(name, value):
    """Returns a dropout-like `value` in [0, 1) as a float, else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise InvalidValueError(name, f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def fraction(name, value):
    """Returns `value` if it is a real number in (0, 1), else raises."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0 < value < 1):
        raise InvalidValueError(name, f"{name} must be in (0, 1), got {value!r}")
    return value


def choice(name, value, known):
    """Returns `value` if it is one of `known`, else raises naming them."""
    if value not in known:
        raise InvalidValueError(name, f"{name}={value!r} is not known; pass one of {tuple(known)}")
    return value


def column_names(name, value):
    """Column names as a tuple (None stays None); a single name is a one-name tuple.

    Example:
        >>> column_names("targets", "OT"), column_names("inputs", ["a", "b"])
        (('OT',), ('a', 'b'))
    """
    if value is None:
        return None
    try:
        names = (value,) if isinstance(value, str) else tuple(value)
    except TypeError:  # a single non-string value, such as 5
        names = (value,)
    if not all(isinstance(n, str) for n in names):
        raise InvalidValueError(name, f"{name} must be column names, got {value!r}")
    return names


def levels(name, value):
    """Quantile levels as a sorted tuple of distinct floats in (0, 1); () stays ().

    Example:
        >>> levels("quantiles", [0.95, 0.05, 0.5])
        (0.05, 0.5, 0.95)
        >>> levels("quantiles", [0.5, 1.5])
        Traceback (most recent call last):
        ValueError: quantiles must be levels in (0, 1), got 1.5
    """
    items = (value,) if isinstance(value, numbers.Real) else value
    try:
        items = tuple(items)
    except TypeError:
        raise InvalidValueError(name, f"{name} must be a list of levels, got {value!r}") from None
    for level in items:
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
            raise InvalidValueError(name, f"{name} must be levels in (0, 1), got {level!r}")
    if len(set(items)) != len(items):
        raise InvalidValueError(name, f"{name} has a level twice: {list(items)}")
    return tuple(sorted(float(level) for level in items))
