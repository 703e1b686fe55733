# -- numbers -------------------------------------------------------------------------
# What counts as a real number, and Python's float arithmetic with its exceptions.
# The same classes and messages as the numbers section of micrograd_fast/pure.py.

cdef inline bint _is_real(object x):
    """A real number: what float() turns into a float without parsing a string."""
    if PyFloat_Check(x) or PyLong_Check(x):
        return True
    return hasattr(type(x), '__float__') or hasattr(type(x), '__index__')


cdef object _constant(object x, double* k):
    """A number operand as a node keeps it, or None when ``x`` is not a real number; its value in *k.

    An exact int or float is kept as given (``_op`` shows ``**2`` for 2). A subclass of
    float or int counts as the number it holds, as Python's arithmetic reads it (its own
    __float__ is not called); any other number (numpy scalars, Fraction, ...) goes
    through float() once, here, before any node exists.
    """
    if PyFloat_CheckExact(x):
        k[0] = PyFloat_AS_DOUBLE(x)
        return x
    if PyLong_CheckExact(x):
        k[0] = PyLong_AsDouble(x)  # OverflowError for an int beyond a float, as in Python
        return x
    if PyFloat_Check(x):
        k[0] = PyFloat_AS_DOUBLE(x)
    elif PyLong_Check(x):
        k[0] = PyLong_AsDouble(x)
    elif not _is_real(x):
        return None
    else:
        try:
            k[0] = PyFloat_AS_DOUBLE(float(x))
        except TypeError:  # a __float__ that returns something else
            return None
    return k[0]


cdef double _to_float(object x, str what) except? -1.0:
    """``x`` as a float (see _constant), or a TypeError naming ``what`` was given."""
    cdef double k
    if PyFloat_CheckExact(x):
        return PyFloat_AS_DOUBLE(x)
    if _constant(x, &k) is None:
        if isinstance(x, Value):  # (not another engine's: this one's)
            raise TypeError(f"{what} must be a real number, not a Value: its number is its .data")
        _refuse_other_engine(x)
        raise TypeError(f"{what} must be a real number, not {type(x).__name__!r}")
    return k


cdef int _refuse_other_engine(object x) except -1:
    """A Value of another engine (micrograd's, or the other of ours) is named, with the fix."""
    cls = type(x)
    if cls.__name__ == 'Value' and hasattr(cls, 'backward') and hasattr(x, 'grad'):
        raise TypeError(
            f"a {cls.__module__}.Value cannot be mixed with a {__name__}.Value: they belong "
            "to two different engines. Make every Value with one of them (from "
            "micrograd_fast.engine import Value), or call micrograd_fast.install() before "
            "micrograd is imported")
    return 0


cdef double _python_pow(double base, double exponent) except? -1.0:
    """Python's own float ** (its special cases and exceptions), but never complex."""
    try:
        result = PyNumber_Power(base, exponent, None)
    except OverflowError:
        raise OverflowError(f"{base!r} ** {exponent!r} is too large for a float") from None
    if type(result) is complex:
        raise ValueError(f"{base!r} ** {exponent!r}: a negative number has no real power "
                         f"with a fractional exponent")
    return result


cdef inline bint _is_odd(double integer) noexcept:
    return fmod(fabs(integer), 2.0) == 1.0


cdef double _pow(double base, double exponent) except? -1.0:
    """base ** exponent for floats, exactly as Python's float ** computes it, never complex.

    The common cases are computed here the way CPython's float_pow does them (a zero
    base by rule; pow() on the absolute value of a negative base, the sign put back for
    an odd integer exponent); anything else, and any result that Python might reject
    (infinite or subnormal), is left to Python itself.
    """
    cdef double r
    if exponent == 1.0:
        return base  # what pow() returns too: a representable result is exact (x**2's gradient)
    if not (isfinite(base) and isfinite(exponent)):
        return _python_pow(base, exponent)
    if base > 0.0:
        r = pow(base, exponent)
    elif base == 0.0:
        if exponent > 0.0:
            return base if _is_odd(exponent) else 0.0
        return _python_pow(base, exponent)  # 1.0, or ZeroDivisionError
    elif floor(exponent) == exponent:
        r = -pow(-base, exponent) if _is_odd(exponent) else pow(-base, exponent)
    else:
        return _python_pow(base, exponent)  # ValueError: no real power
    if r == 0.0 or DBL_MIN <= fabs(r) < INFINITY:
        return r
    return _python_pow(base, exponent)


cdef double _exp(double x) except? -1.0:
    cdef double r = exp(x)
    if isinf(r) and isfinite(x):
        raise OverflowError(f"exp({x!r}) is too large for a float")
    return r


cdef double _log(double x) except? -1.0:
    if not x > 0.0 and not isnan(x):
        raise ValueError(f"log({x!r}): the logarithm needs a positive number")
    return log(x)
