"""A micrograd program that starts a spawn Pool: tests/test_dropin.py runs it with
``python -m micrograd_fast run`` and checks that the children get micrograd_fast too."""
import importlib.util
import multiprocessing

from micrograd.engine import Value


def where_value_comes_from(_):
    from micrograd.engine import Value
    return type(Value(1.0)).__module__, importlib.util.find_spec("micrograd.nn") is not None


if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        print("children", sorted(set(pool.map(where_value_comes_from, range(4)))))
    print("parent", type(Value(1.0)).__module__)
