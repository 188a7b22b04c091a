/* Pyxie CPU profiler: a perf-event program run by every CPU at the sampling frequency.
 *
 * Each sample records the kernel and user stack ids (BPF_STACK_TRACE) and, for processes user
 * space registered as CPython >= 3.11, the interpreter's frame chain of the sampled thread
 * (code object + last instruction per frame). Walking the chain here, at the moment of the
 * sample, costs a few dozen bpf_probe_read_user calls and no syscall; user space resolves code
 * objects to names and lines later, once per code object.
 * Filters arrive as -D flags: SELF_TGID (never sample the collector itself).
 */
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>

#include "perf_profiler.h"

#ifndef STACK_MAP_ENTRIES
#define STACK_MAP_ENTRIES 16384
#endif
#ifndef RINGBUF_PAGES
#define RINGBUF_PAGES 64
#endif

BPF_STACK_TRACE(stack_traces, STACK_MAP_ENTRIES);
BPF_HASH(py_procs, __u32, struct py_layout, 4096);
BPF_RINGBUF_OUTPUT(samples, RINGBUF_PAGES);
/* 0: samples dropped because the ring was full. */
BPF_PERCPU_ARRAY(counters, __u64, 1);

/* bpf_probe_read_user zeroes the destination when it fails: a failed read reads as NULL. */
static __always_inline __u64 read_ptr(__u64 addr) {
    __u64 value = 0;
    bpf_probe_read_user(&value, sizeof(value), (void *)addr);
    return value;
}

/* Branches are kept few and loops unrolled: every data-dependent branch inside a loop
 * multiplies the states the verifier explores. Shim frames (owner == owner_cstack) are sent
 * with code 0 and skipped by user space. */
static __always_inline void walk_python(struct py_layout *layout, __u32 tid,
                                        struct cpu_sample *s) {
    __u64 interp = read_ptr(layout->interp_head_addr);
    __u64 tstate = interp ? read_ptr(interp + layout->interp_threads_head) : 0;
    __u64 found = 0;
#pragma unroll
    for (int i = 0; i < MAX_PY_THREADS; i++) {
        if (tstate == 0 || found != 0) {
            break;
        }
        if ((__u32)read_ptr(tstate + layout->tstate_native_thread_id) == tid) {
            found = tstate;
        }
        tstate = read_ptr(tstate + layout->tstate_next);
    }
    if (found == 0) {
        s->flags |= interp ? SAMPLE_PY_NO_THREAD : SAMPLE_PY_READ_FAILED;
        return;
    }
    __u64 cframe = read_ptr(found + layout->tstate_cframe);
    __u64 frame = cframe ? read_ptr(cframe + layout->cframe_current_frame) : 0;
    __u32 depth = 0;
#pragma unroll
    for (int i = 0; i < MAX_PY_FRAMES; i++) {
        if (frame == 0) {
            break;
        }
        __u8 owner = 0;
        bpf_probe_read_user(&owner, 1, (void *)(frame + layout->frame_owner));
        __u64 code = read_ptr(frame + layout->frame_code);
        s->py[i].code = owner == layout->owner_cstack ? 0 : code;
        s->py[i].prev_instr = read_ptr(frame + layout->frame_prev_instr);
        depth = i + 1;
        frame = read_ptr(frame + layout->frame_previous);
    }
    if (frame != 0) {
        s->flags |= SAMPLE_PY_TRUNCATED;
    }
    s->py_depth = depth;
}

int on_cpu_sample(struct bpf_perf_event_data *ctx) {
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    __u32 tid = (__u32)id;
    if (tid == 0) {
        return 0; /* the idle task */
    }
#ifdef SELF_TGID
    if (tgid == SELF_TGID) {
        return 0;
    }
#endif
    struct cpu_sample *s = samples.ringbuf_reserve(sizeof(struct cpu_sample));
    if (s == NULL) {
        int zero = 0;
        __u64 *lost = counters.lookup(&zero);
        if (lost != NULL) {
            *lost += 1;
        }
        return 0;
    }
    s->tgid = tgid;
    s->tid = tid;
    s->user_stack_id = stack_traces.get_stackid(ctx, BPF_F_USER_STACK);
    s->kernel_stack_id = stack_traces.get_stackid(ctx, 0);
    s->py_depth = 0;
    s->flags = 0;
    struct py_layout *layout = py_procs.lookup(&tgid);
    if (layout != NULL) {
        walk_python(layout, tid, s);
    }
    /* No wake-up per sample: user space polls on its own period. */
    samples.ringbuf_submit(s, BPF_RB_NO_WAKEUP);
    return 0;
}
