"""`px.cloudapi.AutocompleteService`: suggestions for the UI's command bar and the CLI.

Scripts come from the script library; namespaces, services, pods and nodes come from the
cluster itself: one small PxL query over the passthrough (cached briefly per cluster). A
cluster that is not reachable still gets script suggestions.

Input grammar (Pixie's): whitespace-separated tokens, each `kind:value` (`script:`, `svc:`,
`pod:`, `ns:`, `node:`) or a bare value; a bare first token is a script.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_service import InvalidArgument, ServiceError, get_logger

from pyxie_api.controllers.caller import Caller, current_caller
from pyxie_api.controllers.clusters import ClusterDirectory
from pyxie_api.controllers.passthrough import PassthroughProxy
from pyxie_api.controllers.scripts import ScriptLibrary

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "ENTITY_QUERY",
    "AutocompleteServicer",
    "ClusterEntities",
    "Entities",
    "PassthroughRunner",
    "match",
]

_log = get_logger("pyxie.api.autocomplete")

# The query that lists a cluster's entities (every process seen in the last 10 minutes).
ENTITY_QUERY: Final = """import px
df = px.DataFrame(table='process_stats', start_time='-10m')
df.pod = df.ctx['pod']
df.service = df.ctx['service']
df.namespace = df.ctx['namespace']
df.node = df.ctx['node']
df = df.groupby(['pod', 'service', 'namespace', 'node']).agg(processes=('upid', px.count))
px.display(df[['pod', 'service', 'namespace', 'node']], 'autocomplete_entities')
"""
# An interactive keystroke must not wait long for a cluster; then scripts only.
_ENTITY_QUERY_SECONDS: Final = 5.0
# Entities change slowly relative to typing: one query per cluster per window.
_ENTITY_CACHE_SECONDS: Final = 30.0
_MAX_INPUT_CHARS: Final = 4096
_MAX_SUGGESTIONS: Final = 20

_PREFIXES: Final = {
    "script": cpb.AEK_SCRIPT,
    "svc": cpb.AEK_SVC,
    "pod": cpb.AEK_POD,
    "ns": cpb.AEK_NAMESPACE,
    "node": cpb.AEK_NODE,
}
_PREFIX_OF: Final = {kind: prefix for prefix, kind in _PREFIXES.items()}
# Vis variable types (px.vispb.PXType) an entity kind satisfies.
_VIS_TYPE: Final[dict[int, int]] = {
    cpb.AEK_POD: 1001,
    cpb.AEK_SVC: 1000,
    cpb.AEK_NAMESPACE: 1003,
    cpb.AEK_NODE: 1004,
}


@dataclass(frozen=True)
class Entities:
    names: dict[int, tuple[str, ...]] = field(default_factory=dict)  # kind -> sorted names

    def of(self, kind: int) -> tuple[str, ...]:
        return self.names.get(kind, ())


class EntityRunner(Protocol):
    """Runs a PxL query on a cluster the caller may query; yields the replies."""

    def __call__(
        self, caller: Caller, vizier_id: str, request: cvmsgs_pb2.C2VAPIStreamRequest
    ) -> Any: ...


class ClusterLister(Protocol):
    async def list(self, caller: Caller) -> Sequence[Any]: ...


class PassthroughRunner:
    """Runs a query on a vizier the caller's org owns, as the passthrough servicer does."""

    def __init__(self, directory: ClusterDirectory, proxy: PassthroughProxy) -> None:
        self._directory = directory
        self._proxy = proxy

    async def __call__(
        self, caller: Caller, vizier_id: str, request: cvmsgs_pb2.C2VAPIStreamRequest
    ) -> AsyncGenerator[cvmsgs_pb2.V2CAPIStreamResponse, None]:
        await self._directory.get_queryable(caller, vizier_id)
        request.token = await self._directory.passthrough_token(caller, vizier_id)
        return self._proxy.stream(vizier_id, request)


def _rows(responses: Iterable[vpb.ExecuteScriptResponse]) -> list[dict[str, str]]:
    columns: dict[str, list[str]] = {}
    table_columns: dict[str, list[str]] = {}
    rows: list[dict[str, str]] = []
    for response in responses:
        if response.HasField("meta_data"):
            names = [c.column_name for c in response.meta_data.relation.columns]
            table_columns[response.meta_data.id] = names
        elif response.data.HasField("batch"):
            batch = response.data.batch
            names = table_columns.get(batch.table_id, [])
            columns = {
                name: [
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in column.string_data.data
                ]
                for name, column in zip(names, batch.cols, strict=False)
            }
            for i in range(batch.num_rows):
                rows.append(
                    {name: values[i] for name, values in columns.items() if i < len(values)}
                )
    return rows


class ClusterEntities:
    """A cluster's namespaces/services/pods/nodes, by running `ENTITY_QUERY` on it."""

    def __init__(
        self,
        clusters: ClusterLister,
        run: EntityRunner,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clusters = clusters
        self._run = run
        self._clock = clock
        self._cache: dict[str, tuple[float, Entities]] = {}

    async def _vizier_for(self, caller: Caller, cluster: str) -> str | None:
        if not cluster:
            return None
        for vz in await self._clusters.list(caller):
            if cluster in (vz.cluster_uid, vz.vizier_id):
                return str(vz.vizier_id)
        return None

    async def get(self, caller: Caller, cluster: str) -> Entities:
        vizier_id = await self._vizier_for(caller, cluster)
        if vizier_id is None:
            return Entities()
        cached = self._cache.get(vizier_id)
        now = self._clock()
        if cached is not None and now - cached[0] < _ENTITY_CACHE_SECONDS:
            return cached[1]
        try:
            entities = await asyncio.wait_for(self._query(caller, vizier_id), _ENTITY_QUERY_SECONDS)
        except (ServiceError, TimeoutError) as exc:
            _log.info("cluster entities unavailable", vizier=vizier_id, reason=str(exc))
            return Entities()
        self._cache[vizier_id] = (now, entities)
        return entities

    async def _query(self, caller: Caller, vizier_id: str) -> Entities:
        request = cvmsgs_pb2.C2VAPIStreamRequest(
            exec_req=vpb.ExecuteScriptRequest(query_str=ENTITY_QUERY, cluster_id=vizier_id)
        )
        replies = await self._run(caller, vizier_id, request)
        responses = []
        async with contextlib.aclosing(replies):
            async for reply in replies:
                if reply.WhichOneof("msg") == "exec_resp":
                    responses.append(reply.exec_resp)
        found: dict[int, set[str]] = {kind: set() for kind in _VIS_TYPE}
        for row in _rows(responses):
            for kind, column in (
                (cpb.AEK_POD, "pod"),
                (cpb.AEK_SVC, "service"),
                (cpb.AEK_NAMESPACE, "namespace"),
                (cpb.AEK_NODE, "node"),
            ):
                value = row.get(column, "")
                # A process can belong to several services: Pixie renders them as a JSON list.
                for name in value.strip("[]").replace('"', "").split(","):
                    if name.strip():
                        found[kind].add(name.strip())
        return Entities({kind: tuple(sorted(names)) for kind, names in found.items()})


def match(query: str, name: str) -> list[int] | None:
    """Indexes of `name` matching `query` as a case-insensitive subsequence (None: no match);
    a contiguous match is preferred."""
    if not query:
        return []
    lowered, wanted = name.lower(), query.lower()
    start = lowered.find(wanted)
    if start >= 0:
        return list(range(start, start + len(wanted)))
    indexes, position = [], 0
    for ch in wanted:
        position = lowered.find(ch, position)
        if position < 0:
            return None
        indexes.append(position)
        position += 1
    return indexes


def _rank(query: str, name: str, indexes: list[int]) -> tuple[int, int, str]:
    contiguous = bool(indexes) and indexes[-1] - indexes[0] == len(indexes) - 1
    prefix = name.lower().startswith(query.lower())
    return (0 if prefix else 1 if contiguous else 2, len(name), name)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    kind: int  # AEK_UNKNOWN: any entity kind
    prefix: str
    value: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for raw in text.split():
        start = text.index(raw, position)
        position = start + len(raw)
        prefix, sep, value = raw.partition(":")
        if sep and prefix in _PREFIXES:
            kind = _PREFIXES[prefix]
        else:
            prefix, value = "", raw
            kind = cpb.AEK_SCRIPT if not tokens else cpb.AEK_UNKNOWN
        tokens.append(_Token(start, position, kind, prefix, value))
    return tokens


class AutocompleteServicer(cpb_grpc.AutocompleteServiceServicer):
    def __init__(self, library: Callable[[], ScriptLibrary], entities: ClusterEntities) -> None:
        self._library = library
        self._entities = entities

    def _scripts(self, required: Sequence[int] = ()) -> list[tuple[str, str]]:
        scripts = []
        for script in self._library().scripts:
            if required:
                types = {v.type for v in script.vis.variables} if script.vis else set()
                if not all(_VIS_TYPE.get(kind) in types for kind in required):
                    continue
            scripts.append((script.name, script.description))
        return scripts

    def _suggest(
        self,
        kind: int,
        query: str,
        entities: Entities,
        required: Sequence[int] = (),
    ) -> tuple[list[cpb.AutocompleteSuggestion], bool]:
        kinds = [kind] if kind != cpb.AEK_UNKNOWN else [*_VIS_TYPE, cpb.AEK_SCRIPT]
        candidates: list[tuple[tuple[int, int, str], cpb.AutocompleteSuggestion]] = []
        for each in kinds:
            if each == cpb.AEK_SCRIPT:
                named = self._scripts(required)
            else:
                named = [(name, "") for name in entities.of(each)]
            for name, description in named:
                indexes = match(query, name)
                if indexes is None:
                    continue
                suggestion = cpb.AutocompleteSuggestion(
                    kind=cast("cpb.AutocompleteEntityKind", each),
                    name=name,
                    description=description,
                    matched_indexes=indexes,
                    state=cpb.AES_RUNNING if each == cpb.AEK_POD else cpb.AES_UNKNOWN,
                )
                candidates.append((_rank(query, name, indexes), suggestion))
        candidates.sort(key=lambda pair: pair[0])
        return [s for _, s in candidates[:_MAX_SUGGESTIONS]], len(candidates) > _MAX_SUGGESTIONS

    async def Autocomplete(
        self, request: cpb.AutocompleteRequest, context: _Context
    ) -> cpb.AutocompleteResponse:
        caller = current_caller()
        text = request.input
        if len(text) > _MAX_INPUT_CHARS:
            raise InvalidArgument(f"input is longer than {_MAX_INPUT_CHARS} characters")
        if not 0 <= request.cursor_pos <= len(text):
            raise InvalidArgument(f"cursor_pos {request.cursor_pos} is outside the input")
        entities = await self._entities.get(caller, request.cluster_uid)
        tokens = _tokens(text)
        if not tokens or text[request.cursor_pos - 1 : request.cursor_pos].isspace():
            # The cursor starts a new token: suggest what may come next.
            tokens.append(
                _Token(
                    request.cursor_pos,
                    request.cursor_pos,
                    cpb.AEK_SCRIPT if not tokens else cpb.AEK_UNKNOWN,
                    "",
                    "",
                )
            )
        script_names = {name for name, _ in self._scripts()}
        executable = any(
            t.kind in (cpb.AEK_SCRIPT, cpb.AEK_UNKNOWN) and t.value in script_names for t in tokens
        )
        tabs, parts = [], []
        for index, token in enumerate(tokens, start=1):
            suggestions, _more = self._suggest(token.kind, token.value, entities)
            shown = f"{token.prefix}:{token.value}" if token.prefix else token.value
            parts.append(f"${{{index}:{shown}}}")
            tabs.append(
                cpb.TabSuggestion(
                    tab_index=index,
                    executable_after_select=executable
                    or any(s.kind == cpb.AEK_SCRIPT for s in suggestions),
                    suggestions=suggestions,
                )
            )
        return cpb.AutocompleteResponse(
            formatted_input=" ".join(parts) + "$0",
            is_executable=executable,
            tabSuggestions=tabs,
        )

    async def AutocompleteField(
        self, request: cpb.AutocompleteFieldRequest, context: _Context
    ) -> cpb.AutocompleteFieldResponse:
        caller = current_caller()
        if len(request.input) > _MAX_INPUT_CHARS:
            raise InvalidArgument(f"input is longer than {_MAX_INPUT_CHARS} characters")
        if request.field_type not in (cpb.AEK_SCRIPT, *_VIS_TYPE):
            raise InvalidArgument(
                "field_type must be one of AEK_POD, AEK_SVC, AEK_SCRIPT, AEK_NAMESPACE, AEK_NODE"
            )
        entities = Entities()
        if request.field_type != cpb.AEK_SCRIPT:
            entities = await self._entities.get(caller, request.cluster_uid)
        suggestions, more = self._suggest(
            request.field_type, request.input.strip(), entities, list(request.required_arg_types)
        )
        return cpb.AutocompleteFieldResponse(suggestions=suggestions, has_additional_matches=more)
