"""
What a model definition may contain: names that can become C identifiers without meeting
a name of the generated code, and snippets that run to their end.

A model's names become local variables, struct fields and parts of array names in the
kernels (pynn_gpu.modeldef). A name the generated code already uses would turn into a
redeclaration, a duplicate struct field or a macro expansion, and so into a compiler
error about code the user never wrote: these checks refuse such a name when the model is
defined, saying why.
"""

import keyword
import re

from pyNN import errors

from .ctext import UnclosedText, tokens


class ModelDefinitionError(errors.InvalidModelError, ValueError):
    """A model definition that cannot become code (also a ValueError, as it always was)."""


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# C and C++ keywords (the CUDA target compiles as C++), and alternative operator names
_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
    "new", "delete", "class", "template", "this", "namespace", "alignas", "alignof", "and",
    "and_eq", "asm", "bitand", "bitor", "catch", "char16_t", "char32_t", "compl", "concept",
    "const_cast", "constexpr", "decltype", "dynamic_cast", "explicit", "export", "friend",
    "mutable", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
    "protected", "public", "reinterpret_cast", "requires", "static_assert", "static_cast",
    "thread_local", "throw", "try", "typeid", "typename", "using", "virtual", "wchar_t",
    "xor", "xor_eq", "char8_t", "co_await", "co_return", "co_yield", "consteval", "constinit",
    # GNU C and C23
    "typeof", "typeof_unqual",
}
# PyNN passes a model's parameters and initial values as keyword arguments of methods
_PYNN_ARGUMENTS = {"self"}

# Names the included headers define (stdint.h, math.h, string.h, CUDA's built-ins) and the
# GNU compilers predefine, that the kernels use or that expand as macros wherever they appear
_HEADER_NAMES = {
    "size_t", "ptrdiff_t", "NULL", "NAN", "INFINITY", "HUGE_VAL", "HUGE_VALF", "HUGE_VALL",
    "MATH_ERRNO", "MATH_ERREXCEPT", "math_errhandling", "EOF", "RAND_MAX", "CHAR_BIT",
    "EXIT_SUCCESS", "EXIT_FAILURE", "BIG_ENDIAN", "LITTLE_ENDIAN", "BYTE_ORDER", "linux",
    "unix", "stdin", "stdout", "stderr", "exp", "log", "sqrt", "pow", "fabs", "expm1",
    "min", "max", "memcpy", "memset", "threadIdx", "blockIdx", "blockDim", "gridDim",
    "warpSize", "atomicAdd", "atomicOr",
}
_HEADER_PATTERNS = (
    re.compile(r"^u?int(_least|_fast)?(8|16|32|64)_t$|^u?int(max|ptr)_t$"),   # stdint types
    re.compile(r"^U?INT(_LEAST|_FAST)?(8|16|32|64)_(MAX|MIN|C|WIDTH)$"),     # and limits
    re.compile(r"^U?INT(MAX|PTR)_(MAX|MIN|C|WIDTH)$"),
    re.compile(r"^(PTRDIFF|SIZE|SIG_ATOMIC|WCHAR|WINT)_(MAX|MIN|WIDTH)$"),
    re.compile(r"^U?(CHAR|SCHAR|SHRT|INT|LONG|LLONG)_(MAX|MIN|WIDTH)$"),       # limits.h
    re.compile(r"^FP_[A-Z0-9_]+$|^M_[0-9A-Z_]+[a-z0-9]*$"),                 # math.h
    re.compile(r"^SNAN[FL0-9X]*$|^HUGE_VAL_F[0-9X]+$|^MAXFLOAT$"),          # GNU math.h
    # families of glibc's macros (time.h, stdio.h, limits.h, sys/wait.h, ...) that the
    # compilers' GNU modes define
    re.compile(r"^(ADJ|AIO|BC|CLOCK|MOD|MQ|NL|PTHREAD|RE|RENAME|SEEK|STA|TIMER|XATTR)_[A-Z_]+$"),
    re.compile(r"^W(CONTINUED|EXITED|NOHANG|NOWAIT|STOPPED|UNTRACED)$"),
    re.compile(r"^(cuda|CUDA|CU_)"),                                         # CUDA runtime
)
# glibc's other object-like macros in those modes (tests/unit/test_modelcheck.py compares
# every list here with what the compilers on the machine define)
_HEADER_MACROS = {
    "BOOL_MAX", "BOOL_WIDTH", "BUFSIZ", "CHARCLASS_NAME_MAX", "CLOCKS_PER_SEC",
    "COLL_WEIGHTS_MAX", "DELAYTIMER_MAX", "EXPR_NEST_MAX", "FD_SETSIZE", "FILENAME_MAX",
    "FOPEN_MAX", "HOST_NAME_MAX", "IOV_MAX", "L_ctermid", "L_cuserid", "L_tmpnam", "LINE_MAX", "LOGIN_NAME_MAX", "LONG_BIT",
    "LONG_LONG_MAX", "LONG_LONG_MIN", "MAX_CANON", "MAX_INPUT", "MB_CUR_MAX", "MB_LEN_MAX",
    "NAME_MAX", "NFDBITS", "NGROUPS_MAX", "NZERO", "PATH_MAX", "PDP_ENDIAN", "PIPE_BUF",
    "P_tmpdir", "RTSIG_MAX", "SEM_VALUE_MAX", "SSIZE_MAX", "TIME_UTC", "TMP_MAX",
    "TTY_NAME_MAX", "ULONG_LONG_MAX", "WORD_BIT",
}

# Names the templates define for every kernel: macros, types and functions (the tests check
# this against the templates' #defines and functions)
_TEMPLATE_NAMES = {
    "scalar", "delay_t", "DEVICE_FN", "DT", "DT_DOUBLE", "EXCHANGE_LAG", "RING_LENGTH",
    "PARALLEL_MIN_NEURONS", "PARALLEL_MIN_SYNAPSES", "UNIFORM", "NORMAL", "UNIFORM_AT",
    "UNIFORM_BLOCK_AT", "advance_step", "bind_arrays", "count_recorded_spikes", "end_step",
    "fill_rows", "lagged_step", "list_recorded_spikes",
    # what a snippet can read in every kernel (see pynn_gpu.modeldef)
    "t", "dt", "i_inj",
}
_TEMPLATE_PREFIXES = ("pg_", "PG_", "philox", "PHILOX_", "PARALLEL_MIN_")
# names generated from positions: groups (ng0, sg3, cs1, rs2, gj0), their arrays (ng0_v),
# merged groups (mng0, msg1, ...) and their kernels (update_mng0)
_GENERATED = re.compile(r"(^|_)(ng|sg|cs|rs|gj|mng|msg|mcs|mlg|mdg|mgj)\d+(_|$)")

# The names around each kind of snippet: the locals it is pasted among and the fields of the
# struct that holds a group's arrays, next to the model's own names (pynn_gpu.ir.merge)
NEURON_NAMES = frozenset({
    "spikes", "rec_spikes", "spike_history", "spike_count", "spike_list", "received",
    "delayed", "delayed_count", "delayed_list", "first", "size", "rng_key", "word_lo",
    "word_hi",
})
# a neuron kernel that computes a current source itself holds its fields as d<j>_<field>
NEURON_PATTERN = re.compile(r"^d\d+_")
SYNAPSE_NAMES = frozenset({
    "weight", "w_eff", "h", "tau_psc", "delay", "dendritic", "post", "row_ptr", "col_ptr",
    "col_syn", "last_spike", "dense_weight", "dense_delay", "mask", "pre_spikes", "post_in",
    "pre_spike_count", "pre_spike_list", "pre_history", "post_history", "first", "pre_size",
    "post_size", "rng_key", "width", "lanes", "min_dendritic", "max_dendritic", "since_step",
    "min_axonal", "max_axonal", "pair_ordinal", "delay_before", "dendritic_before",
    "delays_sent_from", "delays_since", "delays_until",
})
SOURCE_NAMES = frozenset({
    "amplitude_now", "targets", "record", "rec", "destination", "first", "n_targets",
    "target_size", "rng_stream",
})


def _fail(what, name, reason):
    raise ModelDefinitionError(f"{what} name {name!r} cannot be used in generated code: "
                               f"{reason}")


def check_name(name, what: str) -> str:
    """Return `name` if it is safe in a comment of the generated code and as a Python
    class name (the name of a model)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        _fail(what, name, "use letters, digits and '_' only, starting with a letter")
    return name


def _template_name(name):
    return (name in _TEMPLATE_NAMES or name.startswith(_TEMPLATE_PREFIXES)
            or _GENERATED.search(name) is not None)


def _header_name(name):
    return (name in _HEADER_NAMES or name in _HEADER_MACROS
            or any(p.match(name) for p in _HEADER_PATTERNS))


def check_identifier(name, what: str, taken=frozenset(), pattern=None) -> str:
    """Return `name` if it can be a variable of a model: a C identifier that is no keyword
    and no name the generated code uses itself (`taken` and `pattern`: those of the kernels
    the model's snippets run in)."""
    check_name(name, what)
    if name in _KEYWORDS or keyword.iskeyword(name):
        _fail(what, name, "it is a C, C++ or Python keyword")
    if name in _PYNN_ARGUMENTS:
        _fail(what, name, "PyNN's methods take it as an argument of their own")
    if _header_name(name):
        _fail(what, name, "the C headers or CUDA define it")
    if _template_name(name) or name in taken or (pattern and pattern.search(name)):
        _fail(what, name, "the generated code uses that name itself; choose another")
    return name


def check_distinct(names, what: str):
    """Each name once: a model's names all live in one scope of the generated code."""
    seen = set()
    for name in names:
        if name in seen:
            raise ModelDefinitionError(f"{what} name {name!r} is given twice: the names of "
                                       "a model's variables must be distinct")
        seen.add(name)


# --- snippets that leave early ----------------------------------------------------------

_LEAVING = ("return", "goto")


def _leaving_message(what, word):
    return (f"{what} may not contain '{word}': it is pasted into a kernel whose threads "
            "must all run the code after it; let it set its variables and run to its end "
            "(helper functions can go in 'support')")


_ENDS_WITH_SPLICE = re.compile(r"\\[ \t\r]*\Z")


def _closed_tokens(code, what):
    """The tokens of `code`; ModelDefinitionError where a comment or literal is not closed,
    or where the code ends with a backslash (which joins the next line to its last one)."""
    try:
        found = tokens(code)
    except UnclosedText as problem:
        raise ModelDefinitionError(
            f"{what}: {problem}: pasted into a kernel, it would swallow the generated code "
            "after it") from None
    if _ENDS_WITH_SPLICE.search(code):
        raise ModelDefinitionError(
            f"{what} may not end with a backslash: it would join the generated code's next "
            "line to the snippet's last one (after a '//' comment, making it comment)")
    return found


def check_text(code: str, what: str) -> str:
    """Return `code` if every comment and literal it opens it also closes and it does not
    end with a backslash (for code that is pasted whole, such as a model's support
    functions)."""
    _closed_tokens(code, what)
    return code


def check_snippet(code: str, what: str) -> str:
    """Return `code` if it runs to its end: a snippet is pasted into a kernel whose
    threads must all reach the code after it (on CUDA, a warp's spike ballot; the rest of a
    thread's synapses), so it may not leave early: no return or goto, no break or continue
    outside a loop (or switch) of its own, no '}' that closes a block it did not open, no
    comment or literal left open and no backslash at its end (check_text). A '//' comment
    may end any snippet: the templates start a new line after each one."""
    # read as the compiler reads it: a '/*' inside a string literal opens no comment
    code_tokens = _closed_tokens(code, what)
    for token in code_tokens:
        if token in _LEAVING:
            raise ModelDefinitionError(_leaving_message(what, token))
    _Statements(code_tokens, what).check()
    return code


def check_expression(code: str, what: str) -> str:
    """Return `code` if it is a snippet (check_snippet) with something in it besides
    comments: it is pasted as the condition of an if."""
    if not _closed_tokens(code, what):
        raise ModelDefinitionError(f"{what} must be a C expression (got {code!r}); a model "
                                   "that never fires has the threshold '0'")
    return check_snippet(code, what)


# the generator's random numbers, defined in a snippet's kernel only where the model
# says it draws them (uses_rng)
RANDOM_MACROS = ("UNIFORM", "NORMAL", "UNIFORM_AT", "UNIFORM_BLOCK_AT")


def check_draws_declared(model_name, snippets, uses_rng,
                         refusal="a model that draws random numbers says so with uses_rng=True"):
    """ModelDefinitionError (saying `refusal`) where a snippet (part name -> code) calls a
    random macro of the generator and the model does not say it draws (uses_rng)."""
    if uses_rng:
        return
    for part, code in snippets.items():
        called = sorted(set(tokens(code)) & set(RANDOM_MACROS))
        if called:
            raise ModelDefinitionError(f"{model_name} {part} calls {called[0]}(): {refusal}")


_COMPOUND_OPERATORS = set("+-*/%&|^")
_STATEMENT_EDGES = {";", "{", "}", "(", ",", ")"}


def assigns(code: str, name: str) -> bool:
    """Whether `code` changes the variable `name`: by =, an operator and =, ++ or --."""
    found = tokens(code)
    for k, token in enumerate(found):
        if token != name:
            continue
        after = found[k + 1:k + 4] + [None] * 3
        if after[0] == "=" and after[1] != "=":
            return True
        if after[0] in _COMPOUND_OPERATORS and after[1] == "=":
            return True
        if after[0] in ("<", ">") and after[1] == after[0] and after[2] == "=":
            return True
        # name++ or name--: not followed by an operand ('name - -1', 'name + +x')
        if after[0] in ("+", "-") and after[1] == after[0] and not (
                after[2] is not None and (after[2][0].isalnum() or after[2] in "_(.")):
            return True
        # ++name or --name at the start of an operand
        before = found[max(k - 3, 0):k]
        if (len(before) >= 2 and before[-1] in ("+", "-") and before[-2] == before[-1]
                and (len(before) < 3 or before[-3] in _STATEMENT_EDGES | {"="})):
            return True
    return False


_CLOSING = {"(": ")", "[": "]", "{": "}"}


class _Statements:
    """Walks a snippet's statements far enough to know, at each break and continue,
    whether a loop or switch of the snippet itself encloses it."""

    def __init__(self, tokens, what):
        self.tokens, self.what, self.position = tokens, what, 0

    def check(self):
        self.block(in_loop=False, in_switch=False, closing=None)

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def block(self, in_loop, in_switch, closing):
        """Statements up to the `closing` brace (None: the end of the snippet)."""
        while self.peek() is not None and self.peek() != "}":
            self.statement(in_loop, in_switch)
        if self.take() != closing:
            raise ModelDefinitionError(
                f"{self.what}: its braces do not match; a snippet must close every "
                "block it opens and no other")

    def statement(self, in_loop, in_switch):
        token = self.take()
        if token == "{":
            self.block(in_loop, in_switch, closing="}")
        elif token in ("for", "while"):
            self.skip_parenthesised(in_loop, in_switch)
            self.statement(in_loop=True, in_switch=False)
        elif token == "do":
            self.statement(in_loop=True, in_switch=False)
            self.expression(in_loop, in_switch)         # while (...);
        elif token == "switch":
            self.skip_parenthesised(in_loop, in_switch)
            self.statement(in_loop, in_switch=True)
        elif token == "if":
            self.skip_parenthesised(in_loop, in_switch)
            self.statement(in_loop, in_switch)
            if self.peek() == "else":
                self.take()
                self.statement(in_loop, in_switch)
        elif token in ("break", "continue"):
            if not (in_loop or (token == "break" and in_switch)):
                enclosing = "loop or switch" if token == "break" else "loop"
                raise ModelDefinitionError(
                    f"{self.what} may not contain '{token}' outside a {enclosing} of its "
                    "own: it would leave the kernel's loop over neurons or synapses (on "
                    "CUDA it does not compile); let the snippet run to its end")
            self.expression(in_loop, in_switch)
        elif token != ";":
            self.position -= 1
            self.expression(in_loop, in_switch)

    def skip_parenthesised(self, in_loop, in_switch):
        if self.peek() == "(":
            self.take()
            self.nested(")", in_loop, in_switch)

    def nested(self, closing, in_loop, in_switch):
        """Tokens up to `closing`; a GNU statement expression ({ ... }) inside is walked."""
        while self.peek() is not None:
            token = self.take()
            if token == closing:
                return
            self.enter(token, in_loop, in_switch)

    def enter(self, token, in_loop, in_switch):
        """After an opening bracket: up to its closing one."""
        if token == "(" and self.peek() == "{":
            self.take()
            self.block(in_loop, in_switch, closing="}")
            self.nested(")", in_loop, in_switch)
        elif token in _CLOSING:
            self.nested(_CLOSING[token], in_loop, in_switch)

    def expression(self, in_loop, in_switch):
        """An expression or declaration, up to its ';' (or the end of a threshold); a
        statement after a label ('case 1:', 'name:') is checked as one."""
        while self.peek() not in (None, ";", "}"):
            token = self.take()
            if token == ":":
                self.statement(in_loop, in_switch)
                return
            self.enter(token, in_loop, in_switch)
        if self.peek() == ";":
            self.take()
