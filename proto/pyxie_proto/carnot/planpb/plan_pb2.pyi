from pyxie_proto.types.typespb import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AggStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGG_STAGE_FULL: _ClassVar[AggStage]
    AGG_STAGE_PARTIAL: _ClassVar[AggStage]
    AGG_STAGE_FINALIZE: _ClassVar[AggStage]

class JoinType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOIN_TYPE_INNER: _ClassVar[JoinType]
    JOIN_TYPE_LEFT_OUTER: _ClassVar[JoinType]
    JOIN_TYPE_RIGHT_OUTER: _ClassVar[JoinType]
    JOIN_TYPE_FULL_OUTER: _ClassVar[JoinType]
    JOIN_TYPE_CROSS: _ClassVar[JoinType]
AGG_STAGE_FULL: AggStage
AGG_STAGE_PARTIAL: AggStage
AGG_STAGE_FINALIZE: AggStage
JOIN_TYPE_INNER: JoinType
JOIN_TYPE_LEFT_OUTER: JoinType
JOIN_TYPE_RIGHT_OUTER: JoinType
JOIN_TYPE_FULL_OUTER: JoinType
JOIN_TYPE_CROSS: JoinType

class DistributedPlan(_message.Message):
    __slots__ = ("query_id", "agent_plans")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_PLANS_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    agent_plans: _containers.RepeatedCompositeFieldContainer[AgentPlan]
    def __init__(self, query_id: _Optional[str] = ..., agent_plans: _Optional[_Iterable[_Union[AgentPlan, _Mapping]]] = ...) -> None: ...

class AgentPlan(_message.Message):
    __slots__ = ("agent_id", "is_kelvin", "plan")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    IS_KELVIN_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    is_kelvin: bool
    plan: Plan
    def __init__(self, agent_id: _Optional[str] = ..., is_kelvin: _Optional[bool] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("query_id", "fragments", "options")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    fragments: _containers.RepeatedCompositeFieldContainer[PlanFragment]
    options: ExecutionOptions
    def __init__(self, query_id: _Optional[str] = ..., fragments: _Optional[_Iterable[_Union[PlanFragment, _Mapping]]] = ..., options: _Optional[_Union[ExecutionOptions, _Mapping]] = ...) -> None: ...

class ExecutionOptions(_message.Message):
    __slots__ = ("analyze", "memory_budget_bytes", "timeout_ns", "streaming")
    ANALYZE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_NS_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    analyze: bool
    memory_budget_bytes: int
    timeout_ns: int
    streaming: bool
    def __init__(self, analyze: _Optional[bool] = ..., memory_budget_bytes: _Optional[int] = ..., timeout_ns: _Optional[int] = ..., streaming: _Optional[bool] = ...) -> None: ...

class PlanFragment(_message.Message):
    __slots__ = ("id", "nodes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    id: int
    nodes: _containers.RepeatedCompositeFieldContainer[PlanNode]
    def __init__(self, id: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[PlanNode, _Mapping]]] = ...) -> None: ...

class PlanNode(_message.Message):
    __slots__ = ("id", "parents", "op", "output_relation")
    ID_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_RELATION_FIELD_NUMBER: _ClassVar[int]
    id: int
    parents: _containers.RepeatedScalarFieldContainer[int]
    op: Operator
    output_relation: _types_pb2.Relation
    def __init__(self, id: _Optional[int] = ..., parents: _Optional[_Iterable[int]] = ..., op: _Optional[_Union[Operator, _Mapping]] = ..., output_relation: _Optional[_Union[_types_pb2.Relation, _Mapping]] = ...) -> None: ...

class Operator(_message.Message):
    __slots__ = ("memory_source", "map", "filter", "limit", "agg", "join", "union", "memory_sink", "grpc_source", "grpc_sink", "udtf_source", "empty_source", "otel_sink")
    MEMORY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    MAP_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AGG_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    UNION_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SINK_FIELD_NUMBER: _ClassVar[int]
    GRPC_SOURCE_FIELD_NUMBER: _ClassVar[int]
    GRPC_SINK_FIELD_NUMBER: _ClassVar[int]
    UDTF_SOURCE_FIELD_NUMBER: _ClassVar[int]
    EMPTY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OTEL_SINK_FIELD_NUMBER: _ClassVar[int]
    memory_source: MemorySourceOperator
    map: MapOperator
    filter: FilterOperator
    limit: LimitOperator
    agg: AggregateOperator
    join: JoinOperator
    union: UnionOperator
    memory_sink: MemorySinkOperator
    grpc_source: GRPCSourceOperator
    grpc_sink: GRPCSinkOperator
    udtf_source: UDTFSourceOperator
    empty_source: EmptySourceOperator
    otel_sink: OTelExportSinkOperator
    def __init__(self, memory_source: _Optional[_Union[MemorySourceOperator, _Mapping]] = ..., map: _Optional[_Union[MapOperator, _Mapping]] = ..., filter: _Optional[_Union[FilterOperator, _Mapping]] = ..., limit: _Optional[_Union[LimitOperator, _Mapping]] = ..., agg: _Optional[_Union[AggregateOperator, _Mapping]] = ..., join: _Optional[_Union[JoinOperator, _Mapping]] = ..., union: _Optional[_Union[UnionOperator, _Mapping]] = ..., memory_sink: _Optional[_Union[MemorySinkOperator, _Mapping]] = ..., grpc_source: _Optional[_Union[GRPCSourceOperator, _Mapping]] = ..., grpc_sink: _Optional[_Union[GRPCSinkOperator, _Mapping]] = ..., udtf_source: _Optional[_Union[UDTFSourceOperator, _Mapping]] = ..., empty_source: _Optional[_Union[EmptySourceOperator, _Mapping]] = ..., otel_sink: _Optional[_Union[OTelExportSinkOperator, _Mapping]] = ...) -> None: ...

class ScalarValue(_message.Message):
    __slots__ = ("data_type", "bool_value", "int64_value", "float64_value", "string_value", "time64_ns_value", "uint128_value")
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME64_NS_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT128_VALUE_FIELD_NUMBER: _ClassVar[int]
    data_type: _types_pb2.DataType
    bool_value: bool
    int64_value: int
    float64_value: float
    string_value: str
    time64_ns_value: int
    uint128_value: _types_pb2.UInt128
    def __init__(self, data_type: _Optional[_Union[_types_pb2.DataType, str]] = ..., bool_value: _Optional[bool] = ..., int64_value: _Optional[int] = ..., float64_value: _Optional[float] = ..., string_value: _Optional[str] = ..., time64_ns_value: _Optional[int] = ..., uint128_value: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ...) -> None: ...

class ColumnReference(_message.Message):
    __slots__ = ("index", "name")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class ScalarFunction(_message.Message):
    __slots__ = ("name", "args", "arg_types", "return_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ARG_TYPES_FIELD_NUMBER: _ClassVar[int]
    RETURN_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    args: _containers.RepeatedCompositeFieldContainer[ScalarExpression]
    arg_types: _containers.RepeatedScalarFieldContainer[_types_pb2.DataType]
    return_type: _types_pb2.DataType
    def __init__(self, name: _Optional[str] = ..., args: _Optional[_Iterable[_Union[ScalarExpression, _Mapping]]] = ..., arg_types: _Optional[_Iterable[_Union[_types_pb2.DataType, str]]] = ..., return_type: _Optional[_Union[_types_pb2.DataType, str]] = ...) -> None: ...

class ScalarExpression(_message.Message):
    __slots__ = ("constant", "column", "func")
    CONSTANT_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    FUNC_FIELD_NUMBER: _ClassVar[int]
    constant: ScalarValue
    column: ColumnReference
    func: ScalarFunction
    def __init__(self, constant: _Optional[_Union[ScalarValue, _Mapping]] = ..., column: _Optional[_Union[ColumnReference, _Mapping]] = ..., func: _Optional[_Union[ScalarFunction, _Mapping]] = ...) -> None: ...

class AggregateExpression(_message.Message):
    __slots__ = ("name", "args", "arg_types", "return_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ARG_TYPES_FIELD_NUMBER: _ClassVar[int]
    RETURN_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    args: _containers.RepeatedCompositeFieldContainer[ScalarExpression]
    arg_types: _containers.RepeatedScalarFieldContainer[_types_pb2.DataType]
    return_type: _types_pb2.DataType
    def __init__(self, name: _Optional[str] = ..., args: _Optional[_Iterable[_Union[ScalarExpression, _Mapping]]] = ..., arg_types: _Optional[_Iterable[_Union[_types_pb2.DataType, str]]] = ..., return_type: _Optional[_Union[_types_pb2.DataType, str]] = ...) -> None: ...

class MemorySourceOperator(_message.Message):
    __slots__ = ("table_name", "column_names", "start_time_ns", "stop_time_ns", "streaming")
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    table_name: str
    column_names: _containers.RepeatedScalarFieldContainer[str]
    start_time_ns: int
    stop_time_ns: int
    streaming: bool
    def __init__(self, table_name: _Optional[str] = ..., column_names: _Optional[_Iterable[str]] = ..., start_time_ns: _Optional[int] = ..., stop_time_ns: _Optional[int] = ..., streaming: _Optional[bool] = ...) -> None: ...

class UDTFSourceOperator(_message.Message):
    __slots__ = ("name", "arg_names", "arg_values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARG_NAMES_FIELD_NUMBER: _ClassVar[int]
    ARG_VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    arg_names: _containers.RepeatedScalarFieldContainer[str]
    arg_values: _containers.RepeatedCompositeFieldContainer[ScalarValue]
    def __init__(self, name: _Optional[str] = ..., arg_names: _Optional[_Iterable[str]] = ..., arg_values: _Optional[_Iterable[_Union[ScalarValue, _Mapping]]] = ...) -> None: ...

class GRPCSourceOperator(_message.Message):
    __slots__ = ("expected_senders",)
    EXPECTED_SENDERS_FIELD_NUMBER: _ClassVar[int]
    expected_senders: int
    def __init__(self, expected_senders: _Optional[int] = ...) -> None: ...

class EmptySourceOperator(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MapOperator(_message.Message):
    __slots__ = ("expressions", "column_names")
    EXPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    expressions: _containers.RepeatedCompositeFieldContainer[ScalarExpression]
    column_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, expressions: _Optional[_Iterable[_Union[ScalarExpression, _Mapping]]] = ..., column_names: _Optional[_Iterable[str]] = ...) -> None: ...

class FilterOperator(_message.Message):
    __slots__ = ("condition",)
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    condition: ScalarExpression
    def __init__(self, condition: _Optional[_Union[ScalarExpression, _Mapping]] = ...) -> None: ...

class LimitOperator(_message.Message):
    __slots__ = ("limit", "abortable_source_ids")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ABORTABLE_SOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    abortable_source_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, limit: _Optional[int] = ..., abortable_source_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class AggregateOperator(_message.Message):
    __slots__ = ("groups", "group_names", "values", "value_names", "stage", "windowed")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    VALUE_NAMES_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    WINDOWED_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[ColumnReference]
    group_names: _containers.RepeatedScalarFieldContainer[str]
    values: _containers.RepeatedCompositeFieldContainer[AggregateExpression]
    value_names: _containers.RepeatedScalarFieldContainer[str]
    stage: AggStage
    windowed: bool
    def __init__(self, groups: _Optional[_Iterable[_Union[ColumnReference, _Mapping]]] = ..., group_names: _Optional[_Iterable[str]] = ..., values: _Optional[_Iterable[_Union[AggregateExpression, _Mapping]]] = ..., value_names: _Optional[_Iterable[str]] = ..., stage: _Optional[_Union[AggStage, str]] = ..., windowed: _Optional[bool] = ...) -> None: ...

class JoinOperator(_message.Message):
    __slots__ = ("type", "equality_conditions", "output_columns", "column_names")
    class EqualityCondition(_message.Message):
        __slots__ = ("left_column_index", "right_column_index")
        LEFT_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
        RIGHT_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
        left_column_index: int
        right_column_index: int
        def __init__(self, left_column_index: _Optional[int] = ..., right_column_index: _Optional[int] = ...) -> None: ...
    class OutputColumn(_message.Message):
        __slots__ = ("parent_index", "column_index")
        PARENT_INDEX_FIELD_NUMBER: _ClassVar[int]
        COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
        parent_index: int
        column_index: int
        def __init__(self, parent_index: _Optional[int] = ..., column_index: _Optional[int] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EQUALITY_CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    type: JoinType
    equality_conditions: _containers.RepeatedCompositeFieldContainer[JoinOperator.EqualityCondition]
    output_columns: _containers.RepeatedCompositeFieldContainer[JoinOperator.OutputColumn]
    column_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, type: _Optional[_Union[JoinType, str]] = ..., equality_conditions: _Optional[_Iterable[_Union[JoinOperator.EqualityCondition, _Mapping]]] = ..., output_columns: _Optional[_Iterable[_Union[JoinOperator.OutputColumn, _Mapping]]] = ..., column_names: _Optional[_Iterable[str]] = ...) -> None: ...

class UnionOperator(_message.Message):
    __slots__ = ("column_names", "column_mappings", "time_ordered")
    class ColumnMapping(_message.Message):
        __slots__ = ("column_indexes",)
        COLUMN_INDEXES_FIELD_NUMBER: _ClassVar[int]
        column_indexes: _containers.RepeatedScalarFieldContainer[int]
        def __init__(self, column_indexes: _Optional[_Iterable[int]] = ...) -> None: ...
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    COLUMN_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    TIME_ORDERED_FIELD_NUMBER: _ClassVar[int]
    column_names: _containers.RepeatedScalarFieldContainer[str]
    column_mappings: _containers.RepeatedCompositeFieldContainer[UnionOperator.ColumnMapping]
    time_ordered: bool
    def __init__(self, column_names: _Optional[_Iterable[str]] = ..., column_mappings: _Optional[_Iterable[_Union[UnionOperator.ColumnMapping, _Mapping]]] = ..., time_ordered: _Optional[bool] = ...) -> None: ...

class MemorySinkOperator(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GRPCSinkOperator(_message.Message):
    __slots__ = ("address", "grpc_source_id", "table_name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GRPC_SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    address: str
    grpc_source_id: int
    table_name: str
    def __init__(self, address: _Optional[str] = ..., grpc_source_id: _Optional[int] = ..., table_name: _Optional[str] = ...) -> None: ...

class OTelExportSinkOperator(_message.Message):
    __slots__ = ("endpoint", "resource", "metrics", "spans", "report_address", "max_export_bytes", "org_id")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    REPORT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MAX_EXPORT_BYTES_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    endpoint: OTelEndpoint
    resource: _containers.RepeatedCompositeFieldContainer[OTelAttribute]
    metrics: _containers.RepeatedCompositeFieldContainer[OTelMetric]
    spans: _containers.RepeatedCompositeFieldContainer[OTelSpan]
    report_address: str
    max_export_bytes: int
    org_id: str
    def __init__(self, endpoint: _Optional[_Union[OTelEndpoint, _Mapping]] = ..., resource: _Optional[_Iterable[_Union[OTelAttribute, _Mapping]]] = ..., metrics: _Optional[_Iterable[_Union[OTelMetric, _Mapping]]] = ..., spans: _Optional[_Iterable[_Union[OTelSpan, _Mapping]]] = ..., report_address: _Optional[str] = ..., max_export_bytes: _Optional[int] = ..., org_id: _Optional[str] = ...) -> None: ...

class OTelEndpoint(_message.Message):
    __slots__ = ("url", "headers", "insecure", "timeout_s")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    url: str
    headers: _containers.ScalarMap[str, str]
    insecure: bool
    timeout_s: int
    def __init__(self, url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., insecure: _Optional[bool] = ..., timeout_s: _Optional[int] = ...) -> None: ...

class OTelAttribute(_message.Message):
    __slots__ = ("name", "column_index", "string_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    column_index: int
    string_value: str
    def __init__(self, name: _Optional[str] = ..., column_index: _Optional[int] = ..., string_value: _Optional[str] = ...) -> None: ...

class OTelMetric(_message.Message):
    __slots__ = ("name", "description", "unit", "attributes", "time_column_index", "gauge", "summary")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TIME_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    GAUGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    unit: str
    attributes: _containers.RepeatedCompositeFieldContainer[OTelAttribute]
    time_column_index: int
    gauge: OTelGauge
    summary: OTelSummary
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., unit: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[OTelAttribute, _Mapping]]] = ..., time_column_index: _Optional[int] = ..., gauge: _Optional[_Union[OTelGauge, _Mapping]] = ..., summary: _Optional[_Union[OTelSummary, _Mapping]] = ...) -> None: ...

class OTelGauge(_message.Message):
    __slots__ = ("value_column_index",)
    VALUE_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    value_column_index: int
    def __init__(self, value_column_index: _Optional[int] = ...) -> None: ...

class OTelSummary(_message.Message):
    __slots__ = ("count_column_index", "sum_column_index", "quantiles")
    class Quantile(_message.Message):
        __slots__ = ("quantile", "value_column_index")
        QUANTILE_FIELD_NUMBER: _ClassVar[int]
        VALUE_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
        quantile: float
        value_column_index: int
        def __init__(self, quantile: _Optional[float] = ..., value_column_index: _Optional[int] = ...) -> None: ...
    COUNT_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    SUM_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    QUANTILES_FIELD_NUMBER: _ClassVar[int]
    count_column_index: int
    sum_column_index: int
    quantiles: _containers.RepeatedCompositeFieldContainer[OTelSummary.Quantile]
    def __init__(self, count_column_index: _Optional[int] = ..., sum_column_index: _Optional[int] = ..., quantiles: _Optional[_Iterable[_Union[OTelSummary.Quantile, _Mapping]]] = ...) -> None: ...

class OTelSpan(_message.Message):
    __slots__ = ("name_string", "name_column_index", "attributes", "start_time_column_index", "end_time_column_index", "trace_id_column_index", "span_id_column_index", "parent_span_id_column_index", "kind")
    NAME_STRING_FIELD_NUMBER: _ClassVar[int]
    NAME_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    END_TIME_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    PARENT_SPAN_ID_COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name_string: str
    name_column_index: int
    attributes: _containers.RepeatedCompositeFieldContainer[OTelAttribute]
    start_time_column_index: int
    end_time_column_index: int
    trace_id_column_index: int
    span_id_column_index: int
    parent_span_id_column_index: int
    kind: int
    def __init__(self, name_string: _Optional[str] = ..., name_column_index: _Optional[int] = ..., attributes: _Optional[_Iterable[_Union[OTelAttribute, _Mapping]]] = ..., start_time_column_index: _Optional[int] = ..., end_time_column_index: _Optional[int] = ..., trace_id_column_index: _Optional[int] = ..., span_id_column_index: _Optional[int] = ..., parent_span_id_column_index: _Optional[int] = ..., kind: _Optional[int] = ...) -> None: ...
