"""``px live``: a terminal UI that re-runs a script every few seconds and shows its tables.

Keys: ``tab``/arrows move between and within tables, ``o`` sorts by the column under the cursor
(again: reverse), ``s`` switches script, ``r`` re-runs now, ``p`` pauses, ``q`` quits. Clicking
a column header sorts too.

The app does not know how scripts run: it is given a ``LiveRunner`` (``px live`` passes one that
executes on the vizier or through the cloud, as ``px run`` does; tests pass the in-process
runner), so the UI is tested headlessly with Textual's pilot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import pyarrow as pa
from pyxie_client import ClientError, PxLError, ScriptError, ScriptResult
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from ._output import table_rows

__all__ = ["DEFAULT_INTERVAL_SECONDS", "LiveApp", "LiveRunner", "ScriptChoice"]

# Pixie's live view refreshes on demand; a terminal dashboard every few seconds is enough to
# follow traffic without loading the vizier.
DEFAULT_INTERVAL_SECONDS: Final = 5.0
# Rows shown per table: a terminal cannot show more usefully, and the app stays responsive.
_MAX_ROWS: Final = 1000
_MAX_CELL_CHARS: Final = 60

LiveRunner = Callable[[str], Awaitable[ScriptResult]]
"""Runs the named script (with its defaults) and returns its tables."""


@dataclass(frozen=True)
class ScriptChoice:
    name: str
    description: str


class SortableCell(Text):
    """A cell that shows a formatted value but sorts by the raw one (numbers as numbers)."""

    def __init__(self, shown: str, raw: Any) -> None:
        super().__init__(shown)
        self.raw = raw


def _sort_key(value: Any) -> tuple[int, Any]:
    raw = value.raw if isinstance(value, SortableCell) else value
    if raw is None:
        return (2, 0)
    if isinstance(raw, bool | int | float):
        return (0, raw)
    return (1, str(raw))


def _pane_id(name: str) -> str:
    return "table-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _clip(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


class ScriptPicker(ModalScreen[str | None]):
    """Pick the script to show (enter), or keep the current one (escape)."""

    BINDINGS: ClassVar = [Binding("escape", "dismiss_none", "Cancel")]
    DEFAULT_CSS = """
    ScriptPicker { align: center middle; }
    ScriptPicker > Vertical { width: 80%; height: 80%; border: thick $accent; }
    """

    def __init__(self, scripts: Sequence[ScriptChoice], current: str) -> None:
        super().__init__()
        self._scripts = scripts
        self._current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(f"{s.name}  [dim]{s.description}[/dim]", id=s.name) for s in self._scripts
        ]
        with Vertical():
            yield Static("Switch script (enter to pick, escape to cancel)")
            yield OptionList(*options, id="scripts")

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        names = [s.name for s in self._scripts]
        if self._current in names:
            picker.highlighted = names.index(self._current)
        picker.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class LiveApp(App[None]):
    TITLE = "px live"
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Re-run now"),
        Binding("p", "pause", "Pause/resume"),
        Binding("s", "switch_script", "Switch script"),
        Binding("o", "sort", "Sort by column"),
        Binding("]", "next_table", "Next table"),
        Binding("[", "previous_table", "Previous table"),
    ]

    def __init__(
        self,
        script: str,
        run: LiveRunner,
        scripts: Sequence[ScriptChoice],
        *,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        super().__init__()
        self.script = script
        self.paused = False
        self.runs = 0
        self.last_error = ""
        self._run = run
        self._scripts = scripts
        self._interval = interval_seconds
        self._sorts: dict[str, tuple[str, bool]] = {}  # table -> (column, reverse)
        self._columns: dict[str, tuple[str, ...]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="status")
        yield TabbedContent(id="tables")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.script
        self.refresh_tables()
        self.set_interval(self._interval, self._tick)

    def _tick(self) -> None:
        if not self.paused:
            self.refresh_tables()

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Text(text, style="bold red" if error else ""))

    # -- running ------------------------------------------------------------------------

    @work(exclusive=True, group="run")
    async def refresh_tables(self) -> None:
        script = self.script
        started = time.monotonic()
        self._status(f"{script}: running…")
        try:
            result = await self._run(script)
        except PxLError as exc:
            self.last_error = f"{script} does not compile:\n{exc.render()}"
        except ScriptError as exc:
            self.last_error = f"{script} failed: {exc.message}"
        except (ClientError, OSError) as exc:
            self.last_error = f"{script} could not run: {exc}"
        else:
            if script != self.script:
                return  # switched while it ran; the new script's run follows
            self.last_error = ""
            self.runs += 1
            await self._show(result)
            rows = sum(t.num_rows for t in result.tables.values())
            took = time.monotonic() - started
            state = "paused" if self.paused else f"every {self._interval:g}s"
            self._status(
                f"{script}: {len(result.tables)} table(s), {rows} row(s) in {took:.2f}s "
                f"(run {self.runs}, {state}; s: switch script, o: sort, q: quit)"
            )
            return
        self._status(self.last_error + "\n(r: retry, s: switch script, q: quit)", error=True)

    async def _show(self, result: ScriptResult) -> None:
        tabs = self.query_one(TabbedContent)
        wanted = {_pane_id(name): name for name in result.tables}
        for pane in list(tabs.query(TabPane)):
            if pane.id not in wanted:
                await tabs.remove_pane(pane.id or "")
        for name, table in result.tables.items():
            pane_id = _pane_id(name)
            existing = tabs.query(f"#{pane_id}")
            if not existing:
                await tabs.add_pane(TabPane(name, DataTable(cursor_type="cell"), id=pane_id))
            grid = tabs.get_pane(pane_id).query_one(DataTable)
            self._fill(name, grid, table, result)
        self._focus_table()

    def _focus_table(self) -> None:
        """Keys go to the shown table (arrows move its cursor), unless a dialog is open."""
        active = self._active()
        if active is not None and not isinstance(self.screen, ModalScreen):
            active[1].focus()

    def _fill(self, name: str, grid: DataTable[Any], table: pa.Table, result: ScriptResult) -> None:
        cursor = grid.cursor_coordinate
        columns = tuple(table.column_names)
        if self._columns.get(name) != columns:
            grid.clear(columns=True)
            for column in columns:
                grid.add_column(column, key=column)
            self._columns[name] = columns
            self._sorts.pop(name, None)
        else:
            grid.clear()
        relation = result.relations.get(name)
        shown = table.slice(0, _MAX_ROWS)
        raw_rows = table_rows(shown, relation, human=False)
        human_rows = table_rows(shown, relation, human=True)
        for index, (raw, human) in enumerate(zip(raw_rows, human_rows, strict=True)):
            cells = [SortableCell(_clip(str(h)), r) for h, r in zip(human, raw, strict=True)]
            grid.add_row(*cells, key=str(index))
        if name in self._sorts:
            column, reverse = self._sorts[name]
            grid.sort(column, key=_sort_key, reverse=reverse)
        if grid.row_count:
            grid.cursor_coordinate = grid.validate_cursor_coordinate(cursor)

    # -- keys ---------------------------------------------------------------------------

    def _active(self) -> tuple[str, DataTable[Any]] | None:
        tabs = self.query_one(TabbedContent)
        pane = tabs.active_pane
        if pane is None:
            return None
        name = next((n for n in self._columns if _pane_id(n) == pane.id), "")
        return name, pane.query_one(DataTable)

    def _sort_by(self, name: str, grid: DataTable[Any], column: str) -> None:
        previous = self._sorts.get(name)
        reverse = previous is not None and previous[0] == column and not previous[1]
        self._sorts[name] = (column, reverse)
        grid.sort(column, key=_sort_key, reverse=reverse)

    def action_sort(self) -> None:
        active = self._active()
        if active is None or not active[1].columns:
            return
        name, grid = active
        column = list(grid.columns)[grid.cursor_coordinate.column]
        self._sort_by(name, grid, str(column.value))

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        active = self._active()
        if active is not None:
            self._sort_by(active[0], event.data_table, str(event.column_key.value))

    def action_refresh(self) -> None:
        self.refresh_tables()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._status(f"{self.script}: {'paused (p: resume)' if self.paused else 'resumed'}")

    def _switch_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane)]
        if not panes:
            return
        current = panes.index(tabs.active) if tabs.active in panes else 0
        tabs.active = panes[(current + step) % len(panes)] or ""
        self._focus_table()

    def action_next_table(self) -> None:
        self._switch_tab(1)

    def action_previous_table(self) -> None:
        self._switch_tab(-1)

    def action_switch_script(self) -> None:
        def chosen(name: str | None) -> None:
            if name and name != self.script:
                self.script = name
                self.sub_title = name
                self._sorts.clear()
                self.refresh_tables()

        self.push_screen(ScriptPicker(self._scripts, self.script), chosen)
