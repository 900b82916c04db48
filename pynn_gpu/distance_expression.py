"""
A DistanceDependentProbabilityConnector's d_expression translated into C.

The expression is the user's text, so it is never pasted into generated code: it is parsed
with Python's `ast` (parsing executes nothing) and the C is rebuilt node by node from a short
list of allowed forms. Anything else raises UnsupportedExpression, and the projection is then
built by PyNN's own code, exactly as before.

Allowed: numbers; the name `d` (and PyNN's constants `pi` and `e`); + - * / ** and unary
+ and -; comparisons, chained ones too; and, or, not; `x if c else y`; and the functions
exp, log, sqrt, sin, cos, tan, abs, fabs, floor, ceil, pow, min, max, minimum, maximum,
bare or spelled numpy.f, np.f or math.f.

The C follows Python's meaning on numbers: every literal is a double (so 1/2 is 0.5),
comparisons and `not` give 0 or 1, `a and b` is b when a is true, else a, and `a or b` is a
when a is true, else b (the helpers pg_dd_* are in kernels/common/distance_probability.h).
exp and log use portable_math.h, and an integer power repeated multiplication, so the C and
CUDA targets give the same bits; sin, cos, tan and a non-integer power use each target's
math library, which may round the last bit differently (a connection decided by such a
last bit differs between targets with probability ~1e-16 per pair).
"""

import ast
import math

from pyNN import errors


class UnsupportedExpression(errors.ConnectionError):
    """The expression uses something the translator does not allow."""


# function name -> (C function, number of arguments; None: two or more)
_FUNCTIONS = {
    "exp": ("pg_dd_exp", 1), "log": ("pg_dd_log", 1), "sqrt": ("sqrt", 1),
    "sin": ("sin", 1), "cos": ("cos", 1), "tan": ("tan", 1),
    "abs": ("fabs", 1), "fabs": ("fabs", 1), "floor": ("floor", 1), "ceil": ("ceil", 1),
    "pow": ("pg_dd_pow", 2), "power": ("pg_dd_pow", 2),
    "minimum": ("pg_dd_min", 2), "maximum": ("pg_dd_max", 2),
    "min": ("pg_dd_min", None), "max": ("pg_dd_max", None),
}
_MODULES = ("numpy", "np", "math")
_CONSTANTS = {"pi": math.pi, "e": math.e}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARISONS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                ast.NotEq: "!="}
_LONGEST_TEXT = 2000        # a probability needs no more; keeps parsing cheap
_LARGEST_INTEGER_POWER = 64


def translate(text):
    """The C expression (a double, of the double `d`) for a d_expression, or
    UnsupportedExpression."""
    if not isinstance(text, str):
        raise UnsupportedExpression("the expression is not text")
    if len(text) > _LONGEST_TEXT:
        raise UnsupportedExpression(f"the expression is longer than {_LONGEST_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as error:
        raise UnsupportedExpression(f"the expression does not parse: {error}") from None
    return _Translator().emit(tree.body)


class _Translator:

    def emit(self, node):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise UnsupportedExpression(f"{type(node).__name__} is not allowed in a distance "
                                        "expression")
        return method(node)

    def _Constant(self, node):
        value = node.value
        if type(value) not in (int, float, bool):
            raise UnsupportedExpression(f"only numbers are allowed (got {type(value).__name__})")
        return _literal(_double(value))

    def _Name(self, node):
        if node.id == "d":
            return "d"
        if node.id in _CONSTANTS:
            return _literal(_CONSTANTS[node.id])
        raise UnsupportedExpression(f"unknown name {node.id!r} (the distance is 'd')")

    def _Attribute(self, node):
        if (isinstance(node.value, ast.Name) and node.value.id in _MODULES
                and node.attr in _CONSTANTS):
            return _literal(_CONSTANTS[node.attr])
        raise UnsupportedExpression("attributes are allowed only as numpy/math functions")

    def _UnaryOp(self, node):
        operand = self.emit(node.operand)
        if isinstance(node.op, ast.USub):
            return f"(-{operand})"
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return f"pg_dd_not({operand})"
        raise UnsupportedExpression(f"the operator {type(node.op).__name__} is not allowed")

    def _BinOp(self, node):
        if isinstance(node.op, ast.Pow):
            return self._power(node.left, node.right)
        symbol = _ARITHMETIC.get(type(node.op))
        if symbol is None:
            raise UnsupportedExpression(f"the operator {type(node.op).__name__} is not allowed")
        return f"({self.emit(node.left)} {symbol} {self.emit(node.right)})"

    def _power(self, base, exponent):
        """An integer exponent by multiplication (exact alike on every target)."""
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
            whole = _integer(exponent.operand)
            whole = None if whole is None else -whole
        else:
            whole = _integer(exponent)
        if whole is not None and abs(whole) <= _LARGEST_INTEGER_POWER:
            return f"pg_dd_powi({self.emit(base)}, {whole})"
        return f"pg_dd_pow({self.emit(base)}, {self.emit(exponent)})"

    def _BoolOp(self, node):
        helper = "pg_dd_and" if isinstance(node.op, ast.And) else "pg_dd_or"
        values = [self.emit(value) for value in node.values]
        result = values[-1]
        for value in reversed(values[:-1]):
            result = f"{helper}({value}, {result})"
        return result

    def _Compare(self, node):
        parts, left = [], self.emit(node.left)
        for operator, comparator in zip(node.ops, node.comparators):
            symbol = _COMPARISONS.get(type(operator))
            if symbol is None:
                raise UnsupportedExpression(
                    f"the comparison {type(operator).__name__} is not allowed")
            right = self.emit(comparator)
            parts.append(f"((double) ({left} {symbol} {right}))")
            left = right
        result = parts[-1]
        for part in reversed(parts[:-1]):     # a < b < c means (a < b) and (b < c)
            result = f"pg_dd_and({part}, {result})"
        return result

    def _IfExp(self, node):
        return (f"(({self.emit(node.test)}) != 0.0 ? {self.emit(node.body)} : "
                f"{self.emit(node.orelse)})")

    def _Call(self, node):
        name = _function_name(node.func)
        if node.keywords:
            raise UnsupportedExpression(f"{name}() takes no keyword arguments here")
        function, arity = _FUNCTIONS[name]
        arguments = [self.emit(argument) for argument in node.args]
        if arity is None:
            if len(arguments) < 2:
                raise UnsupportedExpression(f"{name}() needs two or more arguments here")
            result = arguments[0]
            for argument in arguments[1:]:
                result = f"{function}({result}, {argument})"
            return result
        if len(arguments) != arity:
            raise UnsupportedExpression(f"{name}() takes {arity} argument(s)")
        if name in ("pow", "power"):
            return self._power(node.args[0], node.args[1])
        return f"{function}({', '.join(arguments)})"


def _function_name(node):
    """The name of an allowed function: f, numpy.f, np.f or math.f."""
    if isinstance(node, ast.Name) and node.id in _FUNCTIONS:
        return node.id
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in _MODULES and node.attr in _FUNCTIONS):
        return node.attr
    raise UnsupportedExpression("only these functions are allowed: "
                                + ", ".join(sorted(_FUNCTIONS)))


def _integer(node):
    """The value of an integer-valued number literal, else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = _double(node.value)
        if math.isfinite(value) and value.is_integer():
            return int(node.value)
    return None


def _double(value):
    """A number literal as the double C reads; an integer beyond the doubles (10**400 is
    valid Python) is not translated."""
    try:
        return float(value)
    except OverflowError:
        raise UnsupportedExpression(
            f"an integer of {len(str(value))} digits is beyond the range of a double") from None


def _literal(value):
    """A double literal C reads back exactly (repr is the shortest round trip)."""
    if not math.isfinite(value):
        raise UnsupportedExpression(f"the number {value} is not finite")
    text = repr(value)
    return f"({text})" if "e" in text or "." in text else f"({text}.0)"
