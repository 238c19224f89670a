"""The native recurrence kernels: built here, exact against a plain TensorFlow loop, cached.

The reference is each cell's equations written out step by step in TensorFlow, input
projection included, and differentiated by autodiff; the kernels must give the same
outputs, final cell state and gradients (of the input, both kernels, the biases and the
initial states) for every input, with random values, in float64 (to 1e-12) and float32.
Sizes are chosen to run every register tile of the float32 product and its remainders
(rows 1-6 per tile, 8- and 16-column tiles, leftover columns, fewer than 8 features) and
batches split into several row blocks (8 rows or more each), whose gradient sums are added.
"""

import stat
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tensorflow as tf

from forecaster.cells import native
from forecaster.cells.native import build
from tests.cells.util import needs_compiler

pytestmark = needs_compiler

GATES = {"rnn": 1, "lstm": 4, "cifg": 3, "gru": 3}


def reference(cell, x, W, U, h0, c0=None, bias=None, recurrent_bias=None, mask=None):
    """The cell's equations, one step at a time, in TensorFlow; `(B, T, H)` and final states."""
    h, c, outputs = h0, c0, []
    xz = tf.einsum("btf,fg->btg", x, W) + (0 if bias is None else bias)
    for t in range(x.shape[1]):
        h_in = h if mask is None else h * mask
        a = tf.matmul(h_in, U)
        if cell == "rnn":
            h = tf.tanh(xz[:, t] + a)
        elif cell == "gru":
            if recurrent_bias is not None:
                a = a + recurrent_bias
            x_z, x_r, x_h = tf.split(xz[:, t], 3, axis=-1)
            a_z, a_r, a_h = tf.split(a, 3, axis=-1)
            z, r = tf.sigmoid(x_z + a_z), tf.sigmoid(x_r + a_r)
            h = z * h + (1 - z) * tf.tanh(x_h + r * a_h)
        else:
            parts = tf.split(xz[:, t] + a, GATES[cell], axis=-1)
            if cell == "lstm":
                i, f, g, o = parts
                i = tf.sigmoid(i)
            else:  # cifg: the input gate is 1 - f
                f, g, o = parts
                i = 1 - tf.sigmoid(f)
            c = tf.sigmoid(f) * c + i * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
        outputs.append(h)
    hs = tf.stack(outputs, axis=1)
    return hs, [h, c] if cell in ("lstm", "cifg") else [h]


def inputs(cell, steps, batch, units, dtype, masked, features=5, biased=True, seed=0):
    rng = np.random.default_rng(seed)
    width = GATES[cell] * units

    def draw(*shape, scale=1.0):
        return tf.constant(scale * rng.standard_normal(shape), dtype)

    args = {
        "x": draw(batch, steps, features),
        "W": draw(features, width, scale=0.5),
        "U": draw(units, width, scale=0.4),
        "h0": draw(batch, units),
    }
    if cell in ("lstm", "cifg"):
        args["c0"] = draw(batch, units)
    if biased:
        args["bias"] = draw(width)
        if cell == "gru":
            args["recurrent_bias"] = draw(width)
    if masked:
        args["mask"] = tf.constant((rng.random((batch, units)) > 0.3) / 0.7, dtype)
    return args


def outputs_and_gradients(fn, cell, args, seed=1, with_sequence=True):
    """The outputs and the gradient of a random linear function of them wrt every input.

    With `with_sequence=False` only the final states enter the function, as in a layer
    without `return_sequences`, so no gradient reaches the kernel's sequence output.
    """
    rng = np.random.default_rng(seed)
    sources = {k: v for k, v in args.items() if k != "mask"}
    with tf.GradientTape() as tape:
        tape.watch(list(sources.values()))
        hs, states = fn(cell, **args)
        results = ([hs] if with_sequence else []) + states
        loss = sum(tf.reduce_sum(r * rng.standard_normal(r.shape)) for r in results)
    return results + tape.gradient(loss, list(sources.values()))


def assert_same(cell, args, atol, with_sequence=True, relative=False):
    """The kernel's outputs and gradients against the reference's, computed in float64."""
    got = outputs_and_gradients(native.recurrence, cell, args, with_sequence=with_sequence)
    exact = {k: tf.cast(v, tf.float64) for k, v in args.items()}
    expected = outputs_and_gradients(reference, cell, exact, with_sequence=with_sequence)
    states = ["h", "c"] if cell in ("lstm", "cifg") else ["h"]
    names = ["hs"] * with_sequence + states + [k for k in args if k != "mask"]
    for name, a, b in zip(names, got, expected, strict=True):
        scale = max(1.0, float(tf.reduce_max(tf.abs(b)))) if relative else 1.0
        np.testing.assert_allclose(
            tf.cast(a, tf.float64).numpy(), b.numpy(), rtol=0, atol=atol * scale, err_msg=name
        )


def test_the_kernels_build_and_load_here():
    """Wherever there is a compiler the fast path must be there, not silently off."""
    reason = native.available()
    assert reason is None, reason  # the compiler's first error line
    assert callable(native.load().forecaster_recurrence)


@pytest.mark.parametrize("with_sequence", [True, False], ids=["sequence", "final-only"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize(("batch", "units"), [(1, 3), (7, 8), (13, 20), (37, 6)])
@pytest.mark.parametrize("cell", list(GATES))
def test_matches_the_step_by_step_loop_in_float64(cell, batch, units, masked, with_sequence):
    args = inputs(cell, 5, batch, units, tf.float64, masked)
    assert_same(cell, args, 1e-12, with_sequence=with_sequence)


@pytest.mark.parametrize(("batch", "units", "features"), [(13, 20, 3), (64, 64, 7), (40, 24, 19)])
@pytest.mark.parametrize("cell", list(GATES))
def test_matches_the_step_by_step_loop_in_float32(cell, batch, units, features):
    """The float32 products run in the AVX2 register tiles; values stay within rounding.

    Against the float64 reference: at 64 units the random recurrence amplifies rounding
    about 3x a step, and TensorFlow's own float32 loop is 1.2e-5 from it there.
    """
    args = inputs(cell, 6, batch, units, tf.float32, masked=True, features=features)
    assert_same(cell, args, 5e-5, relative=True)


@pytest.mark.parametrize("cell", list(GATES))
def test_without_biases(cell):
    args = inputs(cell, 4, 6, 5, tf.float64, masked=False, biased=False)
    assert_same(cell, args, 1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_final_states_only_in_a_graph(cell):
    """sequence=False, as a layer without return_sequences, runs exact in a graph.

    In a tf.function TensorFlow would send zeros for the unused sequence; the final states
    and every gradient must match the reference, and the sequence is not differentiated.
    """
    args = inputs(cell, 5, 9, 6, tf.float64, masked=True)

    @tf.function
    def final_only(cell, **kwargs):
        hs, states = native.recurrence(cell, **kwargs, sequence=False)
        return hs, states

    got = outputs_and_gradients(final_only, cell, args, with_sequence=False)
    expected = outputs_and_gradients(reference, cell, args, with_sequence=False)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12)
    with tf.GradientTape() as tape:
        tape.watch(args["x"])
        hs, _ = native.recurrence(cell, **args, sequence=False)
        loss = tf.reduce_sum(hs)
    np.testing.assert_allclose(hs.numpy(), reference(cell, **args)[0].numpy(), atol=1e-12)
    assert tape.gradient(loss, args["x"]) is None


def test_a_single_step_with_only_the_sequence_differentiated():
    """One step, and unused final states (their incoming gradients are None)."""
    args = inputs("lstm", 1, 4, 5, tf.float64, masked=False)
    grads = []
    for fn in (native.recurrence, reference):
        with tf.GradientTape() as tape:
            tape.watch(args["x"])
            loss = tf.reduce_sum(fn("lstm", **args)[0])
        grads.append(tape.gradient(loss, args["x"]).numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)


def test_runs_inside_a_tf_function_with_unknown_batch():
    fn = tf.function(
        lambda x, W, U, h0: native.recurrence("rnn", x, W, U, h0),
        input_signature=[
            tf.TensorSpec((None, 5, 3), tf.float32),
            tf.TensorSpec((3, 12), tf.float32),
            tf.TensorSpec((12, 12), tf.float32),
            tf.TensorSpec((None, 12), tf.float32),
        ],
    )
    args = inputs("rnn", 5, 9, 12, tf.float32, masked=False, features=3, biased=False)
    hs, (h,) = fn(args["x"], args["W"], args["U"], args["h0"])
    assert hs.shape == (9, 5, 12)
    np.testing.assert_allclose(hs.numpy(), reference("rnn", **args)[0].numpy(), atol=1e-5)
    np.testing.assert_array_equal(h.numpy(), hs[:, -1].numpy())


def test_a_wrong_kernel_width_is_refused_with_the_shapes():
    args = inputs("lstm", 3, 2, 4, tf.float32, masked=False, biased=False)
    args["W"] = args["W"][:, :-1]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"kernels \(features, 16\)"):
        native.recurrence("lstm", **args)


def test_an_unknown_cell_is_named():
    args = inputs("rnn", 2, 2, 3, tf.float32, masked=False)
    with pytest.raises(ValueError, match=r"cell='lstmp' has no native kernel; pass one of"):
        native.recurrence("lstmp", **args)


def test_the_build_is_cached_by_source_and_toolchain():
    cxx = build.compiler()
    path = build.build(cxx)
    modified = path.stat().st_mtime_ns
    assert build.build(cxx) == path
    assert path.stat().st_mtime_ns == modified  # loaded from the cache, not rebuilt
    assert path.parent == build.cache_dir()
    assert path.with_suffix(".log").is_file()  # the compiler commands, for a bug report


def fake_compiler(folder, body):
    """A `c++` that records each call in `calls.txt` and then runs `body` (sh)."""
    cxx = folder / "fake-c++"
    cxx.write_text(f'#!/bin/sh\necho "$@" >> {folder}/calls.txt\n{body}\n')
    cxx.chmod(cxx.stat().st_mode | stat.S_IEXEC)
    return str(cxx)


def calls(folder):
    path = folder / "calls.txt"
    return [line for line in path.read_text().splitlines() if "-c " in line + " "]


def test_a_failing_build_is_refused_with_the_first_error_and_remembered(tmp_path, monkeypatch):
    broken = fake_compiler(
        tmp_path,
        'case "$*" in *-dM*) exit 0;; *--version*) echo "fake 1.0"; exit 0;; esac\n'
        "echo 'kernels.cc:1:1: warning: unused' >&2\n"
        "echo 'kernels.cc:9:3: error: no space left' >&2\n"
        "echo 'kernels.cc:10:3: error: second' >&2\nexit 1",
    )
    monkeypatch.setenv("FORECASTER_CACHE", str(tmp_path / "cache"))
    with pytest.raises(build.NativeUnavailableError) as first:
        build.build(broken)
    assert str(first.value).startswith(
        "compiling kernels.cc failed: kernels.cc:9:3: error: no space"
    )
    tried = len(calls(tmp_path))
    with pytest.raises(build.NativeUnavailableError) as second:
        build.build(broken)
    assert str(second.value) == str(first.value)
    assert len(calls(tmp_path)) == tried  # the failure is read back, not compiled again
    assert not list((tmp_path / "cache").rglob("*.so"))  # nothing half-written left behind
    assert "error: second" in build.library_path(broken).with_suffix(".log").read_text()


def test_only_the_first_failure_warns_in_one_line_on_stderr(tmp_path, monkeypatch, capfd):
    broken = fake_compiler(
        tmp_path, 'case "$*" in *-dM*) exit 0;; esac\necho "x.cc:1:1: error: boom" >&2\nexit 1'
    )
    monkeypatch.setenv("FORECASTER_CACHE", str(tmp_path / "cache"))
    for _ in range(2):
        with pytest.raises(build.NativeUnavailableError):
            build.build(broken)
    out, err = capfd.readouterr()
    assert out == ""  # build notices never go to stdout
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "forecaster: warning: the native kernels did not build, so the recurrent layers run "
        "Keras's step-by-step loop instead (slower); compiling kernels.cc failed: x.cc:1:1: "
        "error: boom"
    )
    assert warnings[0].endswith(
        f"delete {build.library_path(broken).with_suffix('.failed')} to try again"
    )


# Predefines AVX2 and FMA when asked (-dM); refuses -march=native; otherwise "compiles" by
# writing the -o file.
NEW_PROCESSOR = (
    'case "$*" in *-dM*) printf "#define __AVX2__ 1\\n#define __FMA__ 1\\n"; exit 0;;\n'
    '*-march=native*-c*) echo "e.h:1: error: new" >&2; exit 1;; esac\n'
    'prev=""; for a in "$@"; do [ "$prev" = "-o" ] && : > "$a"; prev="$a"; done'
)


def test_a_processor_newer_than_the_exclusions_falls_back_to_x86_64_v3(tmp_path, monkeypatch):
    """-march=native failing (an extension TensorFlow's headers cannot take) is not the end."""
    if not build.is_x86_64():
        pytest.skip("the x86-64 levels exist only on x86-64")
    cxx = fake_compiler(tmp_path, NEW_PROCESSOR)
    monkeypatch.setenv("FORECASTER_CACHE", str(tmp_path / "cache"))
    assert build.build(cxx).is_file()
    kernels = [line.split() for line in calls(tmp_path) if "kernels.cc" in line]
    assert [args[3] for args in kernels] == ["-march=native", "-march=x86-64-v3"]


def test_without_avx2_and_fma_there_is_no_lower_fallback(tmp_path, monkeypatch):
    """Built for x86-64-v2 the kernels lose to Keras's loop, so a failure stays a failure."""
    if not build.is_x86_64():
        pytest.skip("the x86-64 levels exist only on x86-64")
    cxx = fake_compiler(tmp_path, NEW_PROCESSOR.replace("__AVX2__", "__AVX__"))
    monkeypatch.setenv("FORECASTER_CACHE", str(tmp_path / "cache"))
    assert build.candidates(cxx) == [["-march=native"]]
    with pytest.raises(build.NativeUnavailableError, match="error: new"):
        build.build(cxx)


def test_on_x86_the_kernels_are_built_for_native_less_the_excluded_extensions():
    cxx = build.compiler()
    if not build.is_x86_64():
        assert build.candidates(cxx) == [[]]
        return
    native, *fallback = build.candidates(cxx)
    assert native[0] == "-march=native"
    assert fallback == ([["-march=x86-64-v3"]] if "__AVX2__" in build.macros(cxx, "native") else [])
    if build.macros(cxx, "sapphirerapids") and "__AVX512FP16__" in build.macros(
        cxx, "sapphirerapids"
    ):
        assert build.target_flags(cxx, "sapphirerapids") == [
            "-march=sapphirerapids",
            "-mno-avx512fp16",
        ]


TARGETS = ["sapphirerapids", "znver4", "x86-64-v3", "x86-64-v2"]


@pytest.fixture(scope="module")
def syntax_checks():
    """Each target's syntax check, all started at once: {march: first error or None}."""
    cxx = build.compiler()
    known = [march for march in TARGETS if build.macros(cxx, march) is not None]
    with ThreadPoolExecutor(len(known) or 1) as pool:
        checks = {march: pool.submit(build.syntax_check, cxx, march) for march in known}
    return {march: check.result() for march, check in checks.items()}


@pytest.mark.parametrize("march", TARGETS)
def test_the_kernels_compile_for(march, syntax_checks):
    """Intel with AVX-512 FP16, AMD Zen 4, and the AVX2 and SSE4.2 levels, from any machine."""
    if not build.is_x86_64():
        pytest.skip("the targets are x86-64 processors; this machine is not one")
    if march not in syntax_checks:
        pytest.skip(f"{build.compiler()} does not know -march={march}")
    assert syntax_checks[march] is None


def test_an_unknown_target_is_named():
    if not build.is_x86_64():
        pytest.skip("the targets are x86-64 processors; this machine is not one")
    with pytest.raises(ValueError, match=r"does not know -march=pentium9000$"):
        build.syntax_check(build.compiler(), "pentium9000")


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("FORECASTER_NATIVE", "0")
    with pytest.raises(build.NativeUnavailableError, match="FORECASTER_NATIVE=0"):
        build._build_and_load()


def test_an_unknown_forecaster_march_is_refused_with_the_remedy(monkeypatch):
    if not build.is_x86_64():
        pytest.skip("FORECASTER_MARCH names x86-64 targets")
    monkeypatch.setenv("FORECASTER_MARCH", "pentium9000")
    cxx = build.compiler()
    with pytest.raises(build.NativeUnavailableError) as refused:
        build.candidates(cxx)
    assert str(refused.value) == (
        f"FORECASTER_MARCH is 'pentium9000', which {cxx} does not know as -march=; unset it, "
        "or name a processor it knows (e.g. x86-64-v3)"
    )
    monkeypatch.setenv("FORECASTER_MARCH", "x86-64-v2")
    assert build.candidates(cxx) == [["-march=x86-64-v2"]]
