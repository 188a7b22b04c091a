"""The bundled scripts as data: listing, loading, the pxviews library and vis specs."""

from __future__ import annotations

import pytest
from pyxie_scripts import (
    ExecFunc,
    ScriptNotFoundError,
    VisSpecError,
    exec_funcs_from_vis,
    library_sources,
    list_scripts,
    load_script,
)


def test_the_library_lists_every_bundled_script_with_a_pxl_file():
    names = list_scripts()
    assert names == sorted(names)
    assert {"px/http_data", "px/service_stats", "px/funcs"} <= set(names)
    assert all(load_script(name).pxl.strip() for name in names)


def test_a_script_loads_with_its_vis_spec_and_manifest():
    script = load_script("px/http_data")
    assert script.name == "px/http_data"
    assert "def http_data(" in script.pxl
    assert script.vis is not None and script.vis["widgets"][0]["func"]["name"] == "http_data"
    assert script.short == "HTTP Data"
    assert load_script("http_data") == script


def test_an_unknown_script_name_lists_the_available_ones():
    with pytest.raises(ScriptNotFoundError, match="px/http_data"):
        load_script("px/nope")


@pytest.mark.parametrize("name", ["px/../http_data", "px/http_data/../funcs", "/etc/passwd", ""])
def test_a_name_never_reaches_outside_the_bundled_scripts(name):
    with pytest.raises(ScriptNotFoundError):
        load_script(name)


def test_pxviews_is_a_library_module():
    sources = library_sources()
    assert set(sources) == {"pxviews"}
    assert "import px" in sources["pxviews"]


def test_vis_spec_gives_exec_funcs_with_defaults_and_overrides():
    vis = {
        "variables": [{"name": "n", "type": "PX_INT64", "defaultValue": "5"}],
        "globalFuncs": [{"outputName": "g", "func": {"name": "f", "args": []}}],
        "widgets": [
            {"name": "w", "func": {"name": "h", "args": [{"name": "k", "variable": "n"}]}},
            {"name": "text only"},
        ],
    }
    assert exec_funcs_from_vis(vis) == [ExecFunc("f", {}, "g"), ExecFunc("h", {"k": "5"}, "w")]
    assert exec_funcs_from_vis(vis, {"n": "7"})[1].arg_values == {"k": "7"}


def test_vis_spec_rejects_unknown_arguments_and_undeclared_variables():
    func = {"name": "h", "args": [{"name": "k", "variable": "x"}]}
    vis = {"widgets": [{"name": "w", "func": func}]}
    with pytest.raises(VisSpecError, match="unknown script argument"):
        exec_funcs_from_vis(vis, {"nope": "1"})
    with pytest.raises(VisSpecError, match="undeclared variable 'x'"):
        exec_funcs_from_vis(vis)
