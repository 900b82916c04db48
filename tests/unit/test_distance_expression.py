"""
The translator of distance expressions into C (pynn_gpu.distance_expression): what it
accepts gives the values Python gives, compiled by the C compiler; what it refuses is never
executed.
"""

import ctypes
import math
import re

import numpy as np
import pytest

from pynn_gpu import distance_expression
from pynn_gpu.codegen import GeneratedCode
from pynn_gpu.distance_expression import UnsupportedExpression, translate
from pynn_gpu.distance_probability import with_headers
from pynn_gpu.targets.cpu import CpuTarget

ACCEPTED = [
    "exp(-d/100)", "d<3", "0.5*(d<100)", "numpy.exp(-d**2/50)", "np.exp(-d/7)",
    "math.exp(-d) + 0.1", "1 if d < 3 else 0.2", "d > 1 and d < 5", "d < 1 or d > 8",
    "not d", "1 < d <= 3", "min(1, d/4)", "max(0, 1 - d/10, 0.1)", "minimum(1, d)",
    "maximum(0.2, sin(d))", "pow(d, 2) / 30", "d ** -2", "d ** 0.5 / 3", "sqrt(d) / 4",
    "abs(d - 3) / 5", "fabs(3 - d)", "floor(d) / 9", "ceil(d) / 9", "cos(d) ** 2",
    "tan(d / 20)", "log(d + 1) / 3", "exp(-d / pi) * e", "-d + 10", "+d / 10",
    "1/2", "True", "0.3 * (d == 2)", "(d != 0) * 0.1", "math.pow(d, 3) / 1000",
    "1.5e-1 * exp(-(d/2.0)**2)",
]

# values Python gives, with PyNN's names as they behave on single numbers
_PYTHON_NAMES = {
    "exp": math.exp, "log": lambda x: math.log(x) if x > 0 else -math.inf,
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan, "fabs": math.fabs,
    "floor": math.floor, "ceil": math.ceil, "minimum": min, "maximum": max,
    "pi": math.pi, "e": math.e, "numpy": np, "np": np, "math": math,
}


def _evaluator(expressions):
    """A compiled function value(k, d) giving expression k at distance d."""
    cases = "\n".join(f"    case {k}: return {translate(text)};"
                      for k, text in enumerate(expressions))
    body = ("double value(int k, double d)\n{\n    switch (k) {\n" + cases
            + "\n    }\n    return -1.0;\n}\n")
    source = with_headers("#include <stdint.h>\n#include <math.h>\n"
                          "#define DEVICE_FN static inline\n#define PG_POST_T int32_t\n"
                          "/* @HEADERS@ */\n" + body,
                          "0.0")
    library = CpuTarget().compile_library(GeneratedCode("c", source, []))
    library.value.argtypes = [ctypes.c_int, ctypes.c_double]
    library.value.restype = ctypes.c_double
    return library.value


def test_accepted_expressions_give_python_s_values():
    value = _evaluator(ACCEPTED)
    for k, text in enumerate(ACCEPTED):
        for d in (0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 8.0, 12.25, 100.0):
            if d == 0.0 and "d ** -2" in text:
                continue        # Python raises where C gives infinity
            expected = float(eval(text, {"__builtins__": {"min": min, "max": max,
                                                          "abs": abs, "pow": pow,
                                                          "True": True}},
                                  dict(_PYTHON_NAMES, d=d)))
            got = value(k, d)
            assert got == pytest.approx(expected, rel=1e-14, abs=1e-300), (text, d)


def test_python_s_rules_where_c_differs():
    """True division, 0/1 from comparisons, `and`/`or` giving an operand, powers."""
    assert translate("1/2") == "((1.0) / (2.0))"
    value = _evaluator(["1/2", "0.25 and d", "0 or d", "d and 0.5", "2 ** 10", "(-8) ** 2"])
    assert value(0, 0.0) == 0.5
    assert value(1, 3.0) == 3.0 and value(2, 7.0) == 7.0
    assert value(3, 0.0) == 0.0 and value(3, 1.0) == 0.5
    assert value(4, 0.0) == 1024.0 and value(5, 0.0) == 64.0


UNSAFE = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "exec(\"open('{marker}', 'w')\")",
    "eval('d')", "os.system('x')", "numpy.load('x')", "numpy.random.random()",
    "d.__class__", "d.real", "().__class__.__bases__[0]", "getattr(d, 'real')",
    "x", "d + y", "lambda: 1", "(lambda: 0)()", "[d][0]", "'text'", "d % 2", "d // 2",
    "exp(d, out=None)", "exp()", "pow(d)", "min(d)", "1e999", "d @ d", "d << 1", "{{d}}",
    "f'{{d}}'", "d if", "", "exp(-d/2); import os", "(y := 3)", "numpy.exp.__call__(d)",
    "np.linalg.norm(d)", "sum([d])", "d + " * 600 + "d",
    # integers beyond the doubles (valid Python): not translated, rather than OverflowError
    "d < 1" + "0" * 400, "d ** 1" + "0" * 400, "pow(d, 1" + "0" * 400 + ")",
]


@pytest.mark.parametrize("template", UNSAFE)
def test_unsafe_expressions_are_refused_without_running(template, tmp_path):
    marker = tmp_path / "ran"
    text = template.format(marker=marker)
    with pytest.raises(UnsupportedExpression):
        translate(text)
    assert not marker.exists()


def test_refusal_is_a_pynn_connection_error():
    from pyNN import errors
    assert issubclass(distance_expression.UnsupportedExpression, errors.ConnectionError)
    with pytest.raises(errors.ConnectionError, match="unknown name 'os'"):
        translate("os")


def test_the_c_holds_only_what_the_translator_writes():
    """Only numbers, d, operators, parentheses and the allowed C functions come out."""
    allowed = {"d", "pg_dd_exp", "pg_dd_log", "sqrt", "sin", "cos", "tan", "fabs", "floor",
               "ceil", "pg_dd_pow", "pg_dd_powi", "pg_dd_min", "pg_dd_max", "pg_dd_and",
               "pg_dd_or", "pg_dd_not", "double", "e"}
    for text in ACCEPTED:
        c = translate(text)
        assert set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", c)) <= allowed, c
        assert set(c) <= set("0123456789.e+-*/()<>=!?:, " "abcdefghijklmnopqrstuvwxyz_"), c
