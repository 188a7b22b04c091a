"""PL_PEM_SYNTHETIC_ROWS (benchmarks): off unless asked; when asked, exactly N http_events rows."""

from pyxie_pem.controllers.synthetic import fill_synthetic_http_events
from pyxie_pem.settings import PemSettings
from pyxie_table_store import TableStore
from pyxie_types.tables import HTTP_EVENTS


def test_synthetic_rows_fill_the_store_with_exactly_n_rows() -> None:
    store = TableStore()
    store.add_table(HTTP_EVENTS)
    fill_synthetic_http_events(store, 3_001)
    cursor = store.table(HTTP_EVENTS.name).cursor()
    rows = 0
    while (batch := cursor.next_batch()) is not None:
        rows += batch.num_rows
    assert rows == 3_001


def test_synthetic_rows_are_off_unless_asked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", "k" * 32)
    assert PemSettings.load().pem_synthetic_rows == 0
    monkeypatch.setenv("PL_PEM_SYNTHETIC_ROWS", "1000")
    assert PemSettings.load().pem_synthetic_rows == 1000
