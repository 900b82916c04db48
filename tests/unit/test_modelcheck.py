"""Model definitions: names and snippets that cannot become code are refused when a model is
defined, with a clear error, instead of failing in the compiler (pynn_gpu.modelcheck)."""

import re
import shutil
import subprocess

import pytest
from pyNN import errors

from pynn_gpu._paths import kernels_dir
from pynn_gpu.modelcheck import check_snippet
from pynn_gpu.modeldef import CurrentSourceDef, NeuronModelDef, StateVar, SynapseModelDef
from pynn_gpu.targets import cpu, cuda

INJECTION = "m */\n#error INJECTED\n/*"


def neuron(name="m", params=("vt",), state=(StateVar("v"),), receptors=("exc", "inh"),
           **snippets):
    snippets = {"update": "v += dt;", "threshold": "v >= vt", "reset": "v = 0;", **snippets}
    return NeuronModelDef(name=name, params=params, state=state, receptors=receptors,
                          **snippets)


def synapse(name="s", params=("a",), state=()):
    return SynapseModelDef(name=name, params=params, state=state, on_pre="w_eff = weight;")


def source(name="c", params=("a",)):
    return CurrentSourceDef(name=name, params=params, int_params=(), code="amplitude_now = 1;")


# --- names ------------------------------------------------------------------------------

@pytest.mark.parametrize("define", [neuron, synapse, source])
def test_a_model_name_must_be_an_identifier(define):
    """A model's name goes into comments of the generated code: "*/" would end one."""
    with pytest.raises(errors.InvalidModelError, match="name .* letters, digits and '_'"):
        define(name=INJECTION)
    define(name="fine_name_2")


@pytest.mark.parametrize("receptor", [
    "x = 0; } int evil(void) { return 1; } void f(void) { double y", "a-b", "", "int"])
def test_receptor_names_are_checked(receptor):
    with pytest.raises(errors.InvalidModelError, match="receptor name"):
        neuron(receptors=("exc", receptor))


def test_names_are_given_once():
    with pytest.raises(errors.InvalidModelError, match="'v' is given twice"):
        neuron(params=("vt", "v"))
    with pytest.raises(errors.InvalidModelError, match="'exc' is given twice"):
        neuron(receptors=("exc", "exc"))
    with pytest.raises(errors.InvalidModelError, match="'a' is given twice"):
        synapse(params=("a",), state=(StateVar("a"),))


@pytest.mark.parametrize("define, name", [
    # macros, types and functions of the generated code and its headers
    (neuron, "DT"), (neuron, "RING_LENGTH"), (neuron, "PARALLEL_MIN_NEURONS"),
    (neuron, "NORMAL"), (source, "UNIFORM_AT"), (source, "UNIFORM_BLOCK_AT"),
    (neuron, "int64_t"), (synapse, "uint8_t"), (neuron, "size_t"), (neuron, "INT32_MAX"),
    (neuron, "NAN"), (neuron, "INFINITY"), (synapse, "HUGE_VAL"), (neuron, "M_PI"),
    (neuron, "linux"), (neuron, "scalar"), (neuron, "philox_uniform"), (neuron, "pg_normal"),
    (source, "atomicAdd"), (neuron, "ng0_v"), (synapse, "update_mng3"),
    # the names around each kind of snippet
    (neuron, "in_exc"), (neuron, "size"), (neuron, "spikes"), (neuron, "d0_rate"),
    (source, "amplitude_now"), (source, "record"), (source, "targets"),
    (synapse, "w_eff"), (synapse, "weight"), (synapse, "h"), (synapse, "tau_psc"),
    (synapse, "delay"), (synapse, "post"),
    # keywords of C++ (CUDA) as well as C
    (neuron, "class"), (synapse, "private"), (source, "nullptr"),
])
def test_names_the_generated_code_uses_are_refused(define, name):
    with pytest.raises(errors.InvalidModelError, match=f"{re.escape(repr(name))} cannot be used"):
        define(params=(name,))


def test_names_of_other_kinds_of_kernel_are_fine():
    neuron(params=("weight", "h", "amplitude_now", "in_ampa"))
    synapse(params=("size", "spikes", "amplitude_now"))
    source(params=("weight", "size"))


def _simulation_sources():
    """The templates and headers of the simulation's translation unit (not the separate
    host tools and generators)."""
    root = kernels_dir()
    for path in sorted(root.glob("c/*.j2")) + sorted(root.glob("cuda/*.j2")):
        yield path
    for name in ("philox.h", "portable_math.h", "procedural.h"):
        yield root / "common" / name


def _defined_names(text):
    macros = re.findall(r"^\s*#\s*define\s+([A-Za-z]\w*)", text, re.M)
    functions = re.findall(r"^[A-Za-z_][\w \t*]*[ \t*]([A-Za-z]\w*)\(", text, re.M)
    return set(macros) | set(functions)


def _accepted(names):
    """Of `names`, those a model may use as a parameter's."""
    accepted = []
    for name in sorted(names):
        try:
            neuron(params=(name,))
            accepted.append(name)
        except errors.InvalidModelError:
            pass
    return accepted


def test_every_macro_and_function_of_the_templates_is_refused():
    names = set()
    for path in _simulation_sources():
        names |= _defined_names(path.read_text())
    assert {"DT", "RING_LENGTH", "UNIFORM_AT", "philox_uniform", "fill_rows"} <= names
    assert _accepted(names) == []


def _preamble(template):
    """The directives of a simulation template before its first typedef (its includes):
    what its compiler has defined where a model's names appear."""
    lines = (kernels_dir() / template).read_text().splitlines()
    first_typedef = next(k for k, line in enumerate(lines) if line.startswith("typedef"))
    return "\n".join(line for line in lines[:first_typedef] if line.startswith("#")) + "\n"


def _object_like_macros(command, source, tmp_path):
    path = tmp_path / source[0]
    path.write_text(source[1])
    result = subprocess.run([*command, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"^#define ([A-Za-z]\w*) ", result.stdout, re.M))


def test_every_object_like_macro_of_the_c_target_s_compiler_is_refused(tmp_path):
    """A model's name that a header defines as a macro would expand in the generated code
    (MAXFLOAT, SNAN, PATH_MAX, ... in the compilers' GNU modes)."""
    compiler = cpu._compiler()
    if not compiler or shutil.which(compiler[0]) is None:
        pytest.skip("no C compiler")
    command = [*compiler, *cpu._BASE_FLAGS, *cpu._openmp_flags(compiler), "-E", "-dM"]
    names = _object_like_macros(command, ("preamble.c", _preamble("c/simulation.c.j2")),
                                tmp_path)
    assert {"MAXFLOAT", "SNAN", "INT32_MAX", "M_PI"} <= names
    assert _accepted(names) == []


def test_every_object_like_macro_of_nvcc_is_refused(tmp_path):
    """As for the C target, with CUDA's own (cudaStreamPerThread, CUDART_VERSION, ...)."""
    nvcc = cuda.find_nvcc()
    if nvcc is None:
        pytest.skip("nvcc not found")
    names = _object_like_macros([nvcc, "-E", "-Xcompiler", "-dM"],
                                ("preamble.cu", _preamble("cuda/simulation.cu.j2")), tmp_path)
    assert {"cudaStreamPerThread", "MAXFLOAT", "PATH_MAX"} <= names
    assert _accepted(names) == []


@pytest.mark.parametrize("name", ["typeof", "char8_t", "co_await", "self"])
def test_gnu_and_newer_keywords_and_pynn_s_own_arguments_are_refused(name):
    """PyNN passes parameters as keyword arguments: a parameter named self could be
    defined but never given (a bare TypeError from ParameterSpace.update)."""
    with pytest.raises(errors.InvalidModelError, match=f"'{name}' cannot be used"):
        neuron(params=(name,))
    with pytest.raises(errors.InvalidModelError, match=f"'{name}' cannot be used"):
        synapse(state=(StateVar(name),))


def test_every_struct_field_of_the_kernels_is_refused(cuda_network):
    """A model's names sit next to the fields of its merged groups' structs."""
    kinds = {"neuron": neuron, "synapse": synapse, "learning": synapse, "delivery": synapse,
             "current": source}
    checked = set()
    for table in cuda_network.tables:
        if table.role not in kinds:
            continue
        model = table.model
        own = set(model.params) | {s.name for s in getattr(model, "state", ())}
        own |= set(getattr(model, "all_names", lambda: ())())
        for field in table.fields:
            if field.name in own:
                continue
            with pytest.raises(errors.InvalidModelError):
                kinds[table.role](params=(field.name,))
            checked.add(table.role)
    assert checked == set(kinds)


@pytest.fixture
def cuda_network():
    """The CUDA code of a network with every kind of kernel that runs a model's code."""
    import pynn_gpu as sim
    from pynn_gpu import codegen
    sim.setup(timestep=0.1, target="cpu")
    try:
        cells = sim.Population(40, sim.IF_curr_exp())
        stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                                 weight_dependence=sim.AdditiveWeightDependence(),
                                 weight=0.1, delay=1.0, dendritic_delay_fraction=0.5)
        sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2), stdp)
        sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2),
                       sim.TsodyksMarkramSynapse(weight=0.1))
        sim.NoisyCurrentSource(mean=0.1, stdev=0.1).inject_into(cells[:5])
        sim.run(0.1)
        yield codegen.generate(sim.simulator.state.engine.graph, "cuda")
    finally:
        sim.end()


# --- state variables ----------------------------------------------------------------------

@pytest.mark.parametrize("ctype", ["int x; int", "double", "float", "int", "uint32_t"])
def test_a_state_variable_s_type_is_one_of_the_allowed(ctype):
    with pytest.raises(errors.InvalidModelError, match="ctype must be one of scalar, int32_t, "
                                                      "int64_t"):
        StateVar("c", ctype)


# --- snippets -----------------------------------------------------------------------------

@pytest.mark.parametrize("code, word", [
    ("if (v > 3) break;", "break"),
    ("v += 1; continue;", "continue"),
    ("switch ((int) v) { case 0: continue; }", "continue"),
    ("for (int k = 0; k < 3; ++k) v += 1; break;", "break"),
    ("v = ({ if (v > 1) break; v; });", "break"),
    ("done: break;", "break"),
])
def test_break_or_continue_outside_a_loop_of_the_snippet_is_refused(code, word):
    """They would leave the kernel's loop over neurons (the C target) or not compile (CUDA)."""
    with pytest.raises(errors.InvalidModelError, match=f"may not contain '{word}' outside"):
        check_snippet(code, "m update")


@pytest.mark.parametrize("code", [
    "for (int k = 0; k < 10; ++k) { if (k == 3) break; v += 1; }",
    "while (v > 1) { v -= 1; if (v < 5) continue; }",
    "do { v += 1; if (v > 3) break; } while (v < 10);",
    "switch ((int) v) { case 0: v = 1; break; default: break; }",
    "for (;;) switch ((int) v) { case 0: continue; default: v = 0; } ",
    "/* break */ v = 1; // continue",
    "v > 1 && ({ int q = 0; for (;;) { if (++q > 2) break; } q > 1; })",
])
def test_break_and_continue_inside_the_snippet_s_own_loops_are_fine(code):
    check_snippet(code, "m update")


@pytest.mark.parametrize("code", ["v += 1; } if (v > 1) {", "{ v += 1;"])
def test_a_snippet_closes_the_blocks_it_opens_and_no_other(code):
    with pytest.raises(errors.InvalidModelError, match="braces do not match"):
        check_snippet(code, "m update")


@pytest.mark.parametrize("code, word", [
    ("if (v > 0) return; v += 1;", "return"),
    ("goto done; done: v = 1;", "goto"),
    # a '/*' inside a string literal opens no comment: the return after it is code
    ('(void) "/*"; if (v > 0) return; /* */ v += 1;', "return"),
    ("(void) '\"'; if (v > 0) return; /* \" */", "return"),
])
def test_a_snippet_that_leaves_early_is_refused(code, word):
    with pytest.raises(errors.InvalidModelError, match=f"may not contain '{word}'"):
        check_snippet(code, "m update")


@pytest.mark.parametrize("code", [
    "/* return */ v = 1; // goto",
    '(void) "return; // goto"; v = 1;',
    "// a '/*' here opens no comment\nv = 1;",
    "// a line comment goes on over a line splice \\\nreturn;\nv = 1;",
])
def test_return_and_goto_in_comments_and_literals_are_fine(code):
    check_snippet(code, "m update")


@pytest.mark.parametrize("code, problem", [
    ("v += 1; /* TODO: leak", r"comment opened by '/\*' at line 1, column 9 is never closed"),
    ("v += 1;\n  /* v -= 1; */ v -= 2; /*", r"'/\*' at line 2, column 25 is never closed"),
    ('(void) "abc; v += 1;', r"string literal opened by '\"' at line 1, column 8 is not "
                             "closed"),
    ('(void) "abc\n"; v += 1;', r"string literal opened by '\"' at line 1, column 8"),
    ("(void) 'a; v += 1;", r"character literal opened by \"'\" at line 1, column 8"),
])
def test_a_comment_or_literal_left_open_is_refused(code, problem):
    """An unclosed '/*' or quote would swallow the generated code after the snippet, and
    the compiler would report errors in code the user never wrote."""
    with pytest.raises(errors.InvalidModelError, match=f"m update: .*{problem}.*swallow"):
        check_snippet(code, "m update")
    with pytest.raises(errors.InvalidModelError, match=f"m update: .*{problem}"):
        neuron(update=code)


@pytest.mark.parametrize("code", [
    "v += 1; /* closed */", '(void) "/* in a literal"; v += 1;', "// '/*' and '\"'\nv += 1;",
    "(void) '\"'; (void) \"'\"; v += 1; /* \" ' */",
])
def test_closed_comments_and_literals_are_fine(code):
    check_snippet(code, "m update")


def test_support_code_leaving_a_comment_open_is_refused():
    with pytest.raises(errors.InvalidModelError, match=r"m support: the comment opened by"):
        neuron(support="static double f(double x) { return x; } /* helper")
    with pytest.raises(errors.InvalidModelError, match=r"s support: the comment opened by"):
        SynapseModelDef(name="s", on_pre="w_eff = weight;", support="/*")
    with pytest.raises(errors.InvalidModelError, match=r"c support: the string literal"):
        CurrentSourceDef(name="c", params=(), int_params=(), code="amplitude_now = 1;",
                         support='static const char *s = "x;')


@pytest.mark.parametrize("code", ["v += 1; // to rest \\", "v += 1; \\", "v += 1; \\ \t"])
def test_a_snippet_ending_with_a_backslash_is_refused(code):
    """A final backslash joins the template's next line to the snippet's last one: after a
    '//' comment that line would become comment."""
    with pytest.raises(errors.InvalidModelError, match="m threshold may not end with a "
                                                      "backslash"):
        check_snippet(code, "m threshold")
    check_snippet(code.rstrip().rstrip("\\") + " // a comment", "m threshold")


@pytest.mark.parametrize("threshold", ["", "   ", "// never", "/* never */"])
def test_a_threshold_must_be_an_expression(threshold):
    """It is pasted as the condition of an if: empty, it was a compiler error."""
    with pytest.raises(errors.InvalidModelError, match="threshold must be a C expression"):
        neuron(threshold=threshold)
    neuron(threshold="0  // never")


def test_a_model_that_draws_random_numbers_says_so():
    """UNIFORM() and the other random macros are defined only for a model with uses_rng:
    without it, the C target's library failed to load ('undefined symbol: UNIFORM')."""
    with pytest.raises(errors.InvalidModelError, match="update calls UNIFORM.*uses_rng=True"):
        neuron(update="v += UNIFORM();")
    neuron(update="v += UNIFORM();  // UNIFORM", uses_rng=True)
    neuron(update='v += 1;  // not UNIFORM() in a comment or "UNIFORM()" in a literal')
    with pytest.raises(errors.InvalidModelError, match="on_pre calls UNIFORM"):
        SynapseModelDef(name="s", on_pre="w_eff = weight * UNIFORM();")
    with pytest.raises(errors.InvalidModelError,
                       match="on_post calls UNIFORM.*only on_pre may draw"):
        SynapseModelDef(name="s", state=(StateVar("k"),), on_post="k += UNIFORM();")
    with pytest.raises(errors.InvalidModelError, match="code calls NORMAL"):
        CurrentSourceDef(name="c", params=(), int_params=(), per_target=True,
                         code="amplitude_now = NORMAL(_step);")


@pytest.mark.parametrize("code", ["weight += 0.1;", "weight = 0;", "weight *= 2;",
                                  "weight++;", "--weight;", "if (k) { weight -= k; }",
                                  "k = weight++ + 1;", "k = weight-- * 2;"])
def test_a_synapse_that_changes_its_weight_says_so(code):
    """Without changes_weight the weight is read-only in the kernels: it was a compiler
    error ("assignment of read-only variable")."""
    for part in ("on_pre", "on_post"):
        with pytest.raises(errors.InvalidModelError,
                           match=f"{part} changes 'weight'.*changes_weight=True"):
            SynapseModelDef(name="s", state=(StateVar("k"),), **{part: code})
        SynapseModelDef(name="s", state=(StateVar("k"),), changes_weight=True, **{part: code})


@pytest.mark.parametrize("code", ["w_eff = weight * 2;", "k = (weight == 1) ? 1 : weight;",
                                  "k = weight - -1;", "k = weight + +k;", "k = weight <= 0;",
                                  "k += weight;"])
def test_reading_the_weight_is_no_change(code):
    SynapseModelDef(name="s", state=(StateVar("k"),), on_pre=code)
