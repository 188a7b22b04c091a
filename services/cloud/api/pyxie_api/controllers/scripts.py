"""`px.cloudapi.ScriptMgr`: the bundled script library (`pyxie_scripts`) as live views and
scripts with their contents.

Ids are stable UUIDs derived from the script name (the same on every api replica and after a
restart); the contents methods accept the id or the name (`px/http_data`), as the CLI sends
names. Org-owned scripts are not stored by any service yet (see the api README).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from google.protobuf import json_format
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vispb import vis_pb2
from pyxie_service import InvalidArgument, NotFound, get_logger

from pyxie_api.controllers.caller import current_caller

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["LibraryScript", "ScriptLibrary", "ScriptMgrServicer", "bundled_library"]

_log = get_logger("pyxie.api.scripts")
# Namespace of the derived script ids (uuid5 of "pyxie-script:<name>").
_ID_NAMESPACE: Final = uuid.UUID("6f1d7f3e-3d4b-5b2e-9a52-7079786965a1")
# Script names are short paths; anything longer is not a name of ours.
_MAX_REF_CHARS: Final = 256


@dataclass(frozen=True)
class LibraryScript:
    id: str
    name: str
    description: str
    pxl: str
    vis: vis_pb2.Vis | None

    def metadata(self) -> cpb.ScriptMetadata:
        return cpb.ScriptMetadata(
            id=self.id, desc=self.description, name=self.name, has_live_view=self.vis is not None
        )

    def live_view_metadata(self) -> cpb.LiveViewMetadata:
        return cpb.LiveViewMetadata(id=self.id, desc=self.description, name=self.name)


def script_id(name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"pyxie-script:{name}"))


def _vis(name: str, spec: dict[str, Any] | None) -> vis_pb2.Vis | None:
    if spec is None:
        return None
    vis = vis_pb2.Vis()
    try:
        json_format.ParseDict(spec, vis, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        # A bundled script is ours: a bad vis spec is logged and the script stays usable.
        _log.error("bundled vis spec does not parse", script=name, error=str(exc))
        return None
    return vis


class ScriptLibrary:
    """Scripts by id and by name, loaded once."""

    def __init__(self, scripts: Sequence[LibraryScript]) -> None:
        self.scripts = tuple(sorted(scripts, key=lambda s: s.name))
        self._by_ref = {s.id: s for s in self.scripts} | {s.name: s for s in self.scripts}

    def find(self, ref: str, what: str) -> LibraryScript:
        ref = ref.strip()
        if not ref:
            raise InvalidArgument(f"missing {what} (a script id or a name such as px/http_data)")
        if len(ref) > _MAX_REF_CHARS:
            raise InvalidArgument(f"{what} is longer than {_MAX_REF_CHARS} characters")
        script = self._by_ref.get(ref) or self._by_ref.get(f"px/{ref}")
        if script is None:
            raise NotFound(f"no script {ref!r}; list them with GetScripts (or `px script list`)")
        return script


def bundled_library() -> ScriptLibrary:
    from pyxie_scripts import list_scripts, load_script

    scripts = []
    for name in list_scripts():
        loaded = load_script(name)
        scripts.append(
            LibraryScript(
                id=script_id(loaded.name),
                name=loaded.name,
                description=loaded.short or loaded.long,
                pxl=loaded.pxl,
                vis=_vis(loaded.name, loaded.vis),
            )
        )
    return ScriptLibrary(scripts)


class ScriptMgrServicer(cpb_grpc.ScriptMgrServicer):
    def __init__(self, library: Callable[[], ScriptLibrary]) -> None:
        self._load = library
        self._library: ScriptLibrary | None = None

    @property
    def library(self) -> ScriptLibrary:
        if self._library is None:
            self._library = self._load()
        return self._library

    async def GetLiveViews(
        self, request: cpb.GetLiveViewsReq, context: _Context
    ) -> cpb.GetLiveViewsResp:
        current_caller()
        return cpb.GetLiveViewsResp(
            live_views=[s.live_view_metadata() for s in self.library.scripts if s.vis is not None]
        )

    async def GetLiveViewContents(
        self, request: cpb.GetLiveViewContentsReq, context: _Context
    ) -> cpb.GetLiveViewContentsResp:
        current_caller()
        script = self.library.find(request.live_view_id, "live_view_id")
        if script.vis is None:
            raise NotFound(f"{script.name} has no live view (no vis spec); use GetScriptContents")
        return cpb.GetLiveViewContentsResp(
            metadata=script.live_view_metadata(), pxl_contents=script.pxl, vis=script.vis
        )

    async def GetScripts(self, request: cpb.GetScriptsReq, context: _Context) -> cpb.GetScriptsResp:
        current_caller()
        return cpb.GetScriptsResp(scripts=[s.metadata() for s in self.library.scripts])

    async def GetScriptContents(
        self, request: cpb.GetScriptContentsReq, context: _Context
    ) -> cpb.GetScriptContentsResp:
        current_caller()
        script = self.library.find(request.script_id, "script_id")
        return cpb.GetScriptContentsResp(metadata=script.metadata(), contents=script.pxl)
