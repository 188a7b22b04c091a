"""The read-only rules of pxtrace programs and the bpftrace table convention."""

from __future__ import annotations

import pytest
from pyxie_types import DataType
from pyxie_types.tracepoints import (
    TracepointSpecError,
    UnsafeProgramError,
    bpftrace_table_schema,
    check_bpf_program,
    check_bpftrace_program,
    check_column_name,
    check_symbol,
)

SAFE = (
    "tracepoint:sched:sched_process_exec "
    '{ printf("time_:%llu pid:%d comm:%s\\n", nsecs, pid, comm); }'
)


@pytest.mark.parametrize(
    ("program", "builtin"),
    [
        ('BEGIN { system("touch /tmp/owned"); }', "system"),
        ("uprobe:/bin/bash:readline { signal(9); }", "signal"),
        ('uprobe:/bin/bash:readline { signal ("KILL"); }', "signal"),
        ("kprobe:__x64_sys_getuid { override(0); }", "override"),
        ('BEGIN { cat("/etc/shadow"); }', "cat"),
        ('BEGIN { printf("x"); } /* hidden */ END { system("id") }', "system"),
    ],
)
def test_acting_bpftrace_builtins_are_refused(program: str, builtin: str) -> None:
    with pytest.raises(UnsafeProgramError, match=rf"{builtin}\(\)"):
        check_bpftrace_program(program)


def test_the_words_inside_strings_and_comments_are_not_calls() -> None:
    check_bpftrace_program('BEGIN { printf("system(%d) cat(x)\\n", 1); } // signal(9)')


@pytest.mark.parametrize(
    "helper",
    ["bpf_probe_write_user", "bpf_override_return", "bpf_send_signal", "bpf_send_signal_thread"],
)
def test_writing_or_signalling_bpf_helpers_are_refused(helper: str) -> None:
    source = f"int f(struct pt_regs *ctx) {{ {helper}((void *)1, 0, 0); return 0; }}"
    with pytest.raises(UnsafeProgramError, match=helper):
        check_bpf_program(source)
    # bpftrace text goes through the same helper check.
    with pytest.raises(UnsafeProgramError):
        check_bpftrace_program(f"BEGIN {{ {helper}(1); }}")


def test_a_bpftrace_table_has_the_printed_fields_with_time_first() -> None:
    schema = bpftrace_table_schema("execs", SAFE)
    assert [(c.name, c.data_type) for c in schema.columns] == [
        ("time_", DataType.TIME64NS),
        ("pid", DataType.INT64),
        ("comm", DataType.STRING),
    ]


def test_a_bpftrace_table_without_time_gets_one() -> None:
    schema = bpftrace_table_schema("t", 'BEGIN { printf("n:%d\\n", 1); }')
    assert schema.relation.names == ("time_", "n")


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("BEGIN { @x = 1; }", "must printf"),
        ('BEGIN { printf("a:%d\\n", 1); } END { printf("b:%d\\n", 2); }', "same fields"),
        ('BEGIN { printf("value=%d\\n", 1); }', "name:%spec"),
        ('BEGIN { printf("a:%d a:%d\\n", 1, 2); }', "twice"),
        ('BEGIN { printf("upid:%d\\n", 1); }', "reserved"),
    ],
)
def test_bad_bpftrace_formats_are_explained(program: str, message: str) -> None:
    with pytest.raises(TracepointSpecError, match=message):
        bpftrace_table_schema("t", program)


@pytest.mark.parametrize("name", ["x); bpf_probe_write_user(0", "a b", "1abc", "", "time_"])
def test_column_names_are_plain_identifiers(name: str) -> None:
    with pytest.raises(TracepointSpecError):
        check_column_name(name)


def test_symbols_allow_go_and_cpp_names_but_not_c_code() -> None:
    assert check_symbol("main.(*Server).Handle") == "main.(*Server).Handle"
    assert check_symbol("_ZN3foo3barEv") == "_ZN3foo3barEv"
    with pytest.raises(TracepointSpecError):
        check_symbol('f"; system("id')
