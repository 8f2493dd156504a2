"""The on-disk store shared by chapters II.7 and II.8 (bbdlib.duality.memo): bitwise exact."""
import numpy as np
import pytest

from bbdlib.duality import memo
from bbdlib.duality.analysis_plan import measure_exponent
from bbdlib.powerlaw import sample_truncated_powerlaw


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    return tmp_path


def _calls():
    n = {"calls": 0}

    def draw(a, scale=1.0, *, rng):
        n["calls"] += 1
        return a * scale + rng.standard_normal(a.shape)

    return draw, n


def test_hit_returns_the_same_bits_and_restores_the_generator(store):
    draw, n = _calls()
    a = np.arange(5.0)
    r1 = np.random.default_rng(3)
    first = memo.memo_call(draw, a, scale=2.0, rng=r1)
    after1 = r1.random(4)
    r2 = np.random.default_rng(3)
    second = memo.memo_call(draw, a, scale=2.0, rng=r2)
    assert n["calls"] == 1                        # loaded, not recomputed
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(after1, r2.random(4))   # the generator continues identically
    # and both equal the plain call
    r3 = np.random.default_rng(3)
    np.testing.assert_array_equal(draw(a, scale=2.0, rng=r3), first)
    np.testing.assert_array_equal(after1, r3.random(4))


def test_any_change_of_input_or_generator_state_is_a_new_entry(store):
    draw, n = _calls()
    a = np.arange(5.0)
    memo.memo_call(draw, a, rng=np.random.default_rng(3))
    memo.memo_call(draw, a + 1e-15 * (a + 1), rng=np.random.default_rng(3))   # one ulp-ish change
    memo.memo_call(draw, a, scale=1.5, rng=np.random.default_rng(3))
    memo.memo_call(draw, a, rng=np.random.default_rng(4))
    r = np.random.default_rng(3)
    r.random()
    memo.memo_call(draw, a, rng=r)                                             # advanced state
    assert n["calls"] == 5


def test_measure_exponent_through_the_store_is_bitwise_the_direct_call(store):
    x = sample_truncated_powerlaw(1.5, 1.0, 1e3, 120_000, rng=2)
    direct = measure_exponent(x, (2.0, 200.0), rng=np.random.default_rng(8), n_boot=30)
    for _ in range(2):   # miss, then hit
        r = np.random.default_rng(8)
        got = memo.memo_call(measure_exponent, x, (2.0, 200.0), rng=r, n_boot=30)
        assert got == direct
    assert len(list(store.rglob("*.pkl"))) == 1


def test_store_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv(memo.CACHE_ENV, "off")
    assert memo.cache_dir() is None
    draw, n = _calls()
    memo.memo_call(draw, np.ones(2), rng=np.random.default_rng(0))
    memo.memo_call(draw, np.ones(2), rng=np.random.default_rng(0))
    assert n["calls"] == 2
    assert not list(tmp_path.iterdir())


def test_an_unreadable_entry_is_recomputed(store):
    draw, n = _calls()
    memo.memo_call(draw, np.ones(2), rng=np.random.default_rng(0))
    for p in store.rglob("*.pkl"):
        p.write_bytes(b"not a pickle")
    r = np.random.default_rng(0)
    out = memo.memo_call(draw, np.ones(2), rng=r)
    assert n["calls"] == 2
    np.testing.assert_array_equal(out, draw(np.ones(2), rng=np.random.default_rng(0)))


def test_bad_input(store):
    with pytest.raises(TypeError, match="fn"):
        memo.memo_call(3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        memo.memo_call(lambda *, rng: 1, rng=0)


def test_the_key_covers_the_code_the_function_runs():
    """train_sgd's entry depends on training.py and what it imports (toy_model, activations,
    validate), not on unrelated modules (Part I, the book machinery)."""
    deps = {str(p.relative_to(memo._PACKAGE)) for p in memo._dependencies("bbdlib.duality.training")}
    assert {"duality/training.py", "duality/toy_model.py", "activations.py", "validate.py"} <= deps
    assert not any(d.startswith(("bulk_boundary", "book")) for d in deps)
    assert memo.source_hash("bbdlib.duality.training") != memo.source_hash("bbdlib.duality.analysis_plan")
