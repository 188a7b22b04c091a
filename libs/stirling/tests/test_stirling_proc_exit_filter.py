"""proc_exit's view of which live processes the PEM's filter takes (no eBPF needed): a process
the filter refuses at its first look gets a second look at the next scan, because it may enter
its network namespace just after it appeared (`ip netns exec`, a container runtime's init)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pyxie_stirling.proc_exit import ProcExitSource


def _source(proc: Path, inside: set[int]) -> tuple[ProcExitSource, list[int]]:
    looked: list[int] = []

    def accepts(pid: int) -> bool:
        looked.append(pid)
        return pid in inside

    source = ProcExitSource()
    source._ctx = SimpleNamespace(  # type: ignore[assignment]
        processes=SimpleNamespace(proc=proc, start_time_ticks=lambda pid: None),
        process_filter=SimpleNamespace(accepts=accepts),
    )
    return source, looked


def test_a_refused_process_is_looked_at_again_once_and_taken_if_it_moved_in(tmp_path: Path) -> None:
    for pid in (100, 200):
        (tmp_path / str(pid)).mkdir()
    inside: set[int] = {100}
    source, looked = _source(tmp_path, inside)
    source._remember_live_processes()
    assert source._accepted == {100: True, 200: False}
    inside.add(200)  # 200 entered the namespace after the first scan
    looked.clear()
    source._remember_live_processes()
    assert looked == [200]
    assert source._accepted == {100: True, 200: True}
    looked.clear()
    source._remember_live_processes()
    assert looked == []  # two looks at most: no readlink per host process every second


def test_a_process_refused_twice_stays_refused(tmp_path: Path) -> None:
    (tmp_path / "300").mkdir()
    source, looked = _source(tmp_path, set())
    for _ in range(3):
        source._remember_live_processes()
    assert looked == [300, 300]
    assert source._accepted == {300: False}
