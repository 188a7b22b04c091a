from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PXType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PX_UNKNOWN: _ClassVar[PXType]
    PX_BOOLEAN: _ClassVar[PXType]
    PX_INT64: _ClassVar[PXType]
    PX_FLOAT64: _ClassVar[PXType]
    PX_STRING: _ClassVar[PXType]
    PX_SERVICE: _ClassVar[PXType]
    PX_POD: _ClassVar[PXType]
    PX_CONTAINER: _ClassVar[PXType]
    PX_NAMESPACE: _ClassVar[PXType]
    PX_NODE: _ClassVar[PXType]
    PX_LIST: _ClassVar[PXType]
    PX_STRING_LIST: _ClassVar[PXType]
PX_UNKNOWN: PXType
PX_BOOLEAN: PXType
PX_INT64: PXType
PX_FLOAT64: PXType
PX_STRING: PXType
PX_SERVICE: PXType
PX_POD: PXType
PX_CONTAINER: PXType
PX_NAMESPACE: PXType
PX_NODE: PXType
PX_LIST: PXType
PX_STRING_LIST: PXType

class Vis(_message.Message):
    __slots__ = ("variables", "widgets", "global_funcs")
    class Variable(_message.Message):
        __slots__ = ("name", "type", "default_value", "description", "valid_values")
        NAME_FIELD_NUMBER: _ClassVar[int]
        TYPE_FIELD_NUMBER: _ClassVar[int]
        DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
        DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
        VALID_VALUES_FIELD_NUMBER: _ClassVar[int]
        name: str
        type: PXType
        default_value: _wrappers_pb2.StringValue
        description: str
        valid_values: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[PXType, str]] = ..., default_value: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., description: _Optional[str] = ..., valid_values: _Optional[_Iterable[str]] = ...) -> None: ...
    class GlobalFunc(_message.Message):
        __slots__ = ("output_name", "func")
        OUTPUT_NAME_FIELD_NUMBER: _ClassVar[int]
        FUNC_FIELD_NUMBER: _ClassVar[int]
        output_name: str
        func: Widget.Func
        def __init__(self, output_name: _Optional[str] = ..., func: _Optional[_Union[Widget.Func, _Mapping]] = ...) -> None: ...
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    WIDGETS_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_FUNCS_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedCompositeFieldContainer[Vis.Variable]
    widgets: _containers.RepeatedCompositeFieldContainer[Widget]
    global_funcs: _containers.RepeatedCompositeFieldContainer[Vis.GlobalFunc]
    def __init__(self, variables: _Optional[_Iterable[_Union[Vis.Variable, _Mapping]]] = ..., widgets: _Optional[_Iterable[_Union[Widget, _Mapping]]] = ..., global_funcs: _Optional[_Iterable[_Union[Vis.GlobalFunc, _Mapping]]] = ...) -> None: ...

class Widget(_message.Message):
    __slots__ = ("name", "position", "func", "global_func_output_name", "display_spec")
    class Position(_message.Message):
        __slots__ = ("x", "y", "w", "h")
        X_FIELD_NUMBER: _ClassVar[int]
        Y_FIELD_NUMBER: _ClassVar[int]
        W_FIELD_NUMBER: _ClassVar[int]
        H_FIELD_NUMBER: _ClassVar[int]
        x: int
        y: int
        w: int
        h: int
        def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., w: _Optional[int] = ..., h: _Optional[int] = ...) -> None: ...
    class Func(_message.Message):
        __slots__ = ("name", "args")
        class FuncArg(_message.Message):
            __slots__ = ("name", "value", "variable")
            NAME_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            VARIABLE_FIELD_NUMBER: _ClassVar[int]
            name: str
            value: str
            variable: str
            def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., variable: _Optional[str] = ...) -> None: ...
        NAME_FIELD_NUMBER: _ClassVar[int]
        ARGS_FIELD_NUMBER: _ClassVar[int]
        name: str
        args: _containers.RepeatedCompositeFieldContainer[Widget.Func.FuncArg]
        def __init__(self, name: _Optional[str] = ..., args: _Optional[_Iterable[_Union[Widget.Func.FuncArg, _Mapping]]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FUNC_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_FUNC_OUTPUT_NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_SPEC_FIELD_NUMBER: _ClassVar[int]
    name: str
    position: Widget.Position
    func: Widget.Func
    global_func_output_name: str
    display_spec: _any_pb2.Any
    def __init__(self, name: _Optional[str] = ..., position: _Optional[_Union[Widget.Position, _Mapping]] = ..., func: _Optional[_Union[Widget.Func, _Mapping]] = ..., global_func_output_name: _Optional[str] = ..., display_spec: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class Axis(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class BarChart(_message.Message):
    __slots__ = ("bar", "title", "x_axis", "y_axis")
    class Bar(_message.Message):
        __slots__ = ("value", "label", "stack_by", "group_by", "horizontal")
        VALUE_FIELD_NUMBER: _ClassVar[int]
        LABEL_FIELD_NUMBER: _ClassVar[int]
        STACK_BY_FIELD_NUMBER: _ClassVar[int]
        GROUP_BY_FIELD_NUMBER: _ClassVar[int]
        HORIZONTAL_FIELD_NUMBER: _ClassVar[int]
        value: str
        label: str
        stack_by: str
        group_by: str
        horizontal: bool
        def __init__(self, value: _Optional[str] = ..., label: _Optional[str] = ..., stack_by: _Optional[str] = ..., group_by: _Optional[str] = ..., horizontal: _Optional[bool] = ...) -> None: ...
    BAR_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    X_AXIS_FIELD_NUMBER: _ClassVar[int]
    Y_AXIS_FIELD_NUMBER: _ClassVar[int]
    bar: BarChart.Bar
    title: str
    x_axis: Axis
    y_axis: Axis
    def __init__(self, bar: _Optional[_Union[BarChart.Bar, _Mapping]] = ..., title: _Optional[str] = ..., x_axis: _Optional[_Union[Axis, _Mapping]] = ..., y_axis: _Optional[_Union[Axis, _Mapping]] = ...) -> None: ...

class PieChart(_message.Message):
    __slots__ = ("label", "value", "title")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    label: str
    value: str
    title: str
    def __init__(self, label: _Optional[str] = ..., value: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class HistogramChart(_message.Message):
    __slots__ = ("histogram", "title", "x_axis", "y_axis")
    class Histogram(_message.Message):
        __slots__ = ("value", "maxbins", "minstep", "horizontal", "prebin_count")
        VALUE_FIELD_NUMBER: _ClassVar[int]
        MAXBINS_FIELD_NUMBER: _ClassVar[int]
        MINSTEP_FIELD_NUMBER: _ClassVar[int]
        HORIZONTAL_FIELD_NUMBER: _ClassVar[int]
        PREBIN_COUNT_FIELD_NUMBER: _ClassVar[int]
        value: str
        maxbins: int
        minstep: float
        horizontal: bool
        prebin_count: str
        def __init__(self, value: _Optional[str] = ..., maxbins: _Optional[int] = ..., minstep: _Optional[float] = ..., horizontal: _Optional[bool] = ..., prebin_count: _Optional[str] = ...) -> None: ...
    HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    X_AXIS_FIELD_NUMBER: _ClassVar[int]
    Y_AXIS_FIELD_NUMBER: _ClassVar[int]
    histogram: HistogramChart.Histogram
    title: str
    x_axis: Axis
    y_axis: Axis
    def __init__(self, histogram: _Optional[_Union[HistogramChart.Histogram, _Mapping]] = ..., title: _Optional[str] = ..., x_axis: _Optional[_Union[Axis, _Mapping]] = ..., y_axis: _Optional[_Union[Axis, _Mapping]] = ...) -> None: ...

class GaugeChart(_message.Message):
    __slots__ = ("value", "title")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    value: str
    title: str
    def __init__(self, value: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class TimeseriesChart(_message.Message):
    __slots__ = ("timeseries", "title", "x_axis", "y_axis")
    class Timeseries(_message.Message):
        __slots__ = ("value", "series", "stack_by_series", "mode")
        class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            MODE_UNKNOWN: _ClassVar[TimeseriesChart.Timeseries.Mode]
            MODE_LINE: _ClassVar[TimeseriesChart.Timeseries.Mode]
            MODE_POINT: _ClassVar[TimeseriesChart.Timeseries.Mode]
            MODE_AREA: _ClassVar[TimeseriesChart.Timeseries.Mode]
        MODE_UNKNOWN: TimeseriesChart.Timeseries.Mode
        MODE_LINE: TimeseriesChart.Timeseries.Mode
        MODE_POINT: TimeseriesChart.Timeseries.Mode
        MODE_AREA: TimeseriesChart.Timeseries.Mode
        VALUE_FIELD_NUMBER: _ClassVar[int]
        SERIES_FIELD_NUMBER: _ClassVar[int]
        STACK_BY_SERIES_FIELD_NUMBER: _ClassVar[int]
        MODE_FIELD_NUMBER: _ClassVar[int]
        value: str
        series: str
        stack_by_series: bool
        mode: TimeseriesChart.Timeseries.Mode
        def __init__(self, value: _Optional[str] = ..., series: _Optional[str] = ..., stack_by_series: _Optional[bool] = ..., mode: _Optional[_Union[TimeseriesChart.Timeseries.Mode, str]] = ...) -> None: ...
    TIMESERIES_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    X_AXIS_FIELD_NUMBER: _ClassVar[int]
    Y_AXIS_FIELD_NUMBER: _ClassVar[int]
    timeseries: _containers.RepeatedCompositeFieldContainer[TimeseriesChart.Timeseries]
    title: str
    x_axis: Axis
    y_axis: Axis
    def __init__(self, timeseries: _Optional[_Iterable[_Union[TimeseriesChart.Timeseries, _Mapping]]] = ..., title: _Optional[str] = ..., x_axis: _Optional[_Union[Axis, _Mapping]] = ..., y_axis: _Optional[_Union[Axis, _Mapping]] = ...) -> None: ...

class StatChart(_message.Message):
    __slots__ = ("stat", "title")
    class Stat(_message.Message):
        __slots__ = ("value",)
        VALUE_FIELD_NUMBER: _ClassVar[int]
        value: str
        def __init__(self, value: _Optional[str] = ...) -> None: ...
    STAT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    stat: StatChart.Stat
    title: str
    def __init__(self, stat: _Optional[_Union[StatChart.Stat, _Mapping]] = ..., title: _Optional[str] = ...) -> None: ...

class TextChart(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class VegaChart(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: str
    def __init__(self, spec: _Optional[str] = ...) -> None: ...

class Table(_message.Message):
    __slots__ = ("gutter_column",)
    GUTTER_COLUMN_FIELD_NUMBER: _ClassVar[int]
    gutter_column: str
    def __init__(self, gutter_column: _Optional[str] = ...) -> None: ...

class Graph(_message.Message):
    __slots__ = ("dot_column", "adjacency_list", "edge_weight_column", "node_weight_column", "edge_color_column", "edge_thresholds", "edge_hover_info", "edge_length", "enable_default_hierarchy")
    class AdjacencyList(_message.Message):
        __slots__ = ("from_column", "to_column")
        FROM_COLUMN_FIELD_NUMBER: _ClassVar[int]
        TO_COLUMN_FIELD_NUMBER: _ClassVar[int]
        from_column: str
        to_column: str
        def __init__(self, from_column: _Optional[str] = ..., to_column: _Optional[str] = ...) -> None: ...
    class EdgeThresholds(_message.Message):
        __slots__ = ("medium_threshold", "high_threshold")
        MEDIUM_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
        HIGH_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
        medium_threshold: int
        high_threshold: int
        def __init__(self, medium_threshold: _Optional[int] = ..., high_threshold: _Optional[int] = ...) -> None: ...
    DOT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    ADJACENCY_LIST_FIELD_NUMBER: _ClassVar[int]
    EDGE_WEIGHT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    NODE_WEIGHT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    EDGE_COLOR_COLUMN_FIELD_NUMBER: _ClassVar[int]
    EDGE_THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    EDGE_HOVER_INFO_FIELD_NUMBER: _ClassVar[int]
    EDGE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ENABLE_DEFAULT_HIERARCHY_FIELD_NUMBER: _ClassVar[int]
    dot_column: str
    adjacency_list: Graph.AdjacencyList
    edge_weight_column: str
    node_weight_column: str
    edge_color_column: str
    edge_thresholds: Graph.EdgeThresholds
    edge_hover_info: _containers.RepeatedScalarFieldContainer[str]
    edge_length: int
    enable_default_hierarchy: bool
    def __init__(self, dot_column: _Optional[str] = ..., adjacency_list: _Optional[_Union[Graph.AdjacencyList, _Mapping]] = ..., edge_weight_column: _Optional[str] = ..., node_weight_column: _Optional[str] = ..., edge_color_column: _Optional[str] = ..., edge_thresholds: _Optional[_Union[Graph.EdgeThresholds, _Mapping]] = ..., edge_hover_info: _Optional[_Iterable[str]] = ..., edge_length: _Optional[int] = ..., enable_default_hierarchy: _Optional[bool] = ...) -> None: ...

class RequestGraph(_message.Message):
    __slots__ = ("requestor_pod_column", "responder_pod_column", "requestor_service_column", "responder_service_column", "requestor_i_p_column", "responder_i_p_column", "p50_column", "p90_column", "p99_column", "error_rate_column", "requests_per_second_column", "inbound_bytes_per_second_column", "outbound_bytes_per_second_column", "total_request_count_column")
    REQUESTOR_POD_COLUMN_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_POD_COLUMN_FIELD_NUMBER: _ClassVar[int]
    REQUESTOR_SERVICE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_SERVICE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    REQUESTOR_I_P_COLUMN_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_I_P_COLUMN_FIELD_NUMBER: _ClassVar[int]
    P50_COLUMN_FIELD_NUMBER: _ClassVar[int]
    P90_COLUMN_FIELD_NUMBER: _ClassVar[int]
    P99_COLUMN_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_SECOND_COLUMN_FIELD_NUMBER: _ClassVar[int]
    INBOUND_BYTES_PER_SECOND_COLUMN_FIELD_NUMBER: _ClassVar[int]
    OUTBOUND_BYTES_PER_SECOND_COLUMN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_REQUEST_COUNT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    requestor_pod_column: str
    responder_pod_column: str
    requestor_service_column: str
    responder_service_column: str
    requestor_i_p_column: str
    responder_i_p_column: str
    p50_column: str
    p90_column: str
    p99_column: str
    error_rate_column: str
    requests_per_second_column: str
    inbound_bytes_per_second_column: str
    outbound_bytes_per_second_column: str
    total_request_count_column: str
    def __init__(self, requestor_pod_column: _Optional[str] = ..., responder_pod_column: _Optional[str] = ..., requestor_service_column: _Optional[str] = ..., responder_service_column: _Optional[str] = ..., requestor_i_p_column: _Optional[str] = ..., responder_i_p_column: _Optional[str] = ..., p50_column: _Optional[str] = ..., p90_column: _Optional[str] = ..., p99_column: _Optional[str] = ..., error_rate_column: _Optional[str] = ..., requests_per_second_column: _Optional[str] = ..., inbound_bytes_per_second_column: _Optional[str] = ..., outbound_bytes_per_second_column: _Optional[str] = ..., total_request_count_column: _Optional[str] = ...) -> None: ...

class StackTraceFlameGraph(_message.Message):
    __slots__ = ("stacktrace_column", "count_column", "percentage_column", "namespace_column", "pod_column", "container_column", "pid_column", "node_column", "percentage_label", "difference_column")
    STACKTRACE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    COUNT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    POD_COLUMN_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_COLUMN_FIELD_NUMBER: _ClassVar[int]
    PID_COLUMN_FIELD_NUMBER: _ClassVar[int]
    NODE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_LABEL_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    stacktrace_column: str
    count_column: str
    percentage_column: str
    namespace_column: str
    pod_column: str
    container_column: str
    pid_column: str
    node_column: str
    percentage_label: str
    difference_column: str
    def __init__(self, stacktrace_column: _Optional[str] = ..., count_column: _Optional[str] = ..., percentage_column: _Optional[str] = ..., namespace_column: _Optional[str] = ..., pod_column: _Optional[str] = ..., container_column: _Optional[str] = ..., pid_column: _Optional[str] = ..., node_column: _Optional[str] = ..., percentage_label: _Optional[str] = ..., difference_column: _Optional[str] = ...) -> None: ...
