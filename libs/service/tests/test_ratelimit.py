import grpc
import pytest
from pyxie_service import status_for_exception
from pyxie_service.ratelimit import FailureLimiter, TooManyFailures


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock, **kwargs: float) -> FailureLimiter:
    options = {"max_failures": 3, "window_s": 60.0, "lockout_s": 300.0} | kwargs
    return FailureLimiter("logins", clock=clock, **options)  # type: ignore[arg-type]


def test_a_key_is_locked_after_max_failures_and_refused_even_with_the_right_secret() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for _ in range(2):
        limiter.check("a@example.com")
        assert not limiter.failed("a@example.com")
    limiter.check("a@example.com")
    assert limiter.failed("a@example.com")
    with pytest.raises(TooManyFailures) as refused:
        limiter.check("a@example.com")
    assert "too many failed logins; try again in 300 s" in str(refused.value)
    assert status_for_exception(refused.value)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Another key is not affected; the lockout ends by itself.
    limiter.check("b@example.com")
    clock.now += 301
    limiter.check("a@example.com")


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for _ in range(10):
        assert not limiter.failed("slow")
        clock.now += 31  # at most two failures inside any 60 s window
    limiter.check("slow")


def test_success_forgets_failures_but_does_not_lift_a_lockout() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    limiter.failed("k")
    limiter.failed("k")
    limiter.succeeded("k")
    assert not limiter.failed("k")
    assert not limiter.failed("k")
    assert limiter.failed("k")
    limiter.succeeded("k")
    with pytest.raises(TooManyFailures):
        limiter.check("k")


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = _limiter(clock, max_keys=100)
    for i in range(1000):
        limiter.failed(f"guess-{i}")
    assert len(limiter._records) == 100
