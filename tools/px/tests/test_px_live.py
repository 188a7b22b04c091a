"""``px live`` driven headlessly with Textual's pilot over the in-process runner (the real
compiler and engine over synthetic data): tables appear, sort, switch and re-run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyxie_cli.live import LiveApp, ScriptChoice, SortableCell
from pyxie_client import ScriptResult
from pyxie_pxl_runner import run_local
from pyxie_scripts import list_scripts, load_script
from textual.widgets import DataTable, OptionList, TabbedContent

# Only manual re-runs in tests: the interval never fires while a test runs.
_NEVER = 3600.0


class LocalRunner:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail_next = False

    async def __call__(self, name: str) -> ScriptResult:
        self.calls.append(name)
        if self.fail_next:
            self.fail_next = False
            raise OSError("connection refused")
        script = load_script(name)
        # The engine runs its own event loop: off the app's loop, in a thread.
        tables = await asyncio.to_thread(run_local, script.pxl, script.vis)
        return ScriptResult(tables=tables)


def _choices() -> list[ScriptChoice]:
    return [ScriptChoice(n, load_script(n).short) for n in list_scripts()]


def _grid(app: LiveApp) -> DataTable[Any]:
    pane = app.query_one(TabbedContent).active_pane
    assert pane is not None
    return pane.query_one(DataTable)


def _column(grid: DataTable[Any], name: str) -> list[Any]:
    return [cell.raw if isinstance(cell, SortableCell) else cell for cell in grid.get_column(name)]


async def _settle(app: LiveApp, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_live_shows_sorts_and_switches_scripts() -> None:
    runner = LocalRunner()
    app = LiveApp("px/service_stats", runner, _choices(), interval_seconds=_NEVER)
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        tabs = app.query_one(TabbedContent)
        assert tabs.tab_count == 2 and app.runs == 1
        grid = _grid(app)
        assert grid.row_count > 0 and "service" in [c.value for c in grid.columns]

        # Keyboard: move the cursor to the latency_p99 column, sort, sort again (reversed).
        assert app.focused is grid
        await pilot.press("right", "right", "right", "right", "down", "down")
        assert (grid.cursor_coordinate.row, grid.cursor_coordinate.column) == (2, 4)
        column = str(list(grid.columns)[4].value)
        await pilot.press("o")
        values = _column(grid, column)
        assert values == sorted(values)
        await pilot.press("o")
        assert _column(grid, column) == sorted(values, reverse=True)

        # The next table, then a re-run keeps the sort order of the first.
        await pilot.press("]")
        assert _grid(app) is not grid and app.focused is _grid(app)
        await pilot.press("[", "r")
        await _settle(app, pilot)
        assert app.runs == 2
        refreshed = _column(_grid(app), column)
        assert refreshed == sorted(refreshed, reverse=True)

        # Switch to px/http_data through the picker.
        await pilot.press("s")
        await pilot.pause()
        picker = app.screen.query_one(OptionList)
        names = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        picker.highlighted = names.index("px/http_data")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.script == "px/http_data" and runner.calls[-1] == "px/http_data"
        assert tabs.tab_count == 1 and _grid(app).row_count > 0


async def test_live_shows_errors_and_keeps_running() -> None:
    runner = LocalRunner()
    runner.fail_next = True
    app = LiveApp("px/http_data", runner, _choices(), interval_seconds=_NEVER)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        assert "could not run: connection refused" in app.last_error
        await pilot.press("r")
        await _settle(app, pilot)
        assert not app.last_error and _grid(app).row_count > 0
        await pilot.press("p")
        assert app.paused


@pytest.mark.parametrize("name", ["px/pods", "px/network_stats"])
async def test_every_table_of_a_script_gets_a_tab(name: str) -> None:
    runner = LocalRunner()
    app = LiveApp(name, runner, _choices(), interval_seconds=_NEVER)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        script = load_script(name)
        expected = await asyncio.to_thread(run_local, script.pxl, script.vis)
        assert app.query_one(TabbedContent).tab_count == len(expected)
