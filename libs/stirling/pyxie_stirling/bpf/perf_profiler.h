/* Samples the CPU profiler sends to user space, and the per-process CPython layout it reads.
 * Mirrored in pyxie_stirling/perf_profiler/_events.py (ctypes); a test compares sizes and
 * offsets. Fixed-width types only, explicit padding: compiled by bcc and by the host compiler.
 */
#ifndef PYXIE_PERF_PROFILER_H
#define PYXIE_PERF_PROFILER_H

#ifdef PYXIE_HOST_BUILD
#include <stdint.h>
typedef uint32_t __u32;
typedef int32_t __s32;
typedef uint64_t __u64;
#endif

/* Python frames kept per sample (innermost first). 64 covers the call depth of web handlers
 * (framework + app ~ 30-40 frames); deeper stacks are cut at the root side and flagged. */
#ifndef MAX_PY_FRAMES
#define MAX_PY_FRAMES 64
#endif

/* Threads of one interpreter searched for the sampled thread's state. */
#ifndef MAX_PY_THREADS
#define MAX_PY_THREADS 64
#endif

#define SAMPLE_PY_TRUNCATED 1u  /* more frames than MAX_PY_FRAMES */
#define SAMPLE_PY_NO_THREAD 2u  /* a Python process, but this thread has no thread state */
#define SAMPLE_PY_READ_FAILED 4u /* a pointer of the chain could not be read */

/* Where the interpreter keeps the frame chain of a thread: one entry per CPython process,
 * written by user space once it found _PyRuntime in the process's mappings. */
struct py_layout {
    __u64 interp_head_addr; /* &_PyRuntime.interpreters.head in the process */
    __u32 interp_threads_head;
    __u32 tstate_next;
    __u32 tstate_native_thread_id;
    __u32 tstate_cframe;
    __u32 cframe_current_frame;
    __u32 frame_code;
    __u32 frame_previous;
    __u32 frame_prev_instr;
    __u32 frame_owner;     /* offset of the one-byte owner field */
    __u32 owner_cstack;    /* owner value of C-stack shim frames to skip, 0xff when none */
};

struct py_frame {
    __u64 code;       /* PyCodeObject * */
    __u64 prev_instr; /* _Py_CODEUNIT * last executed in that frame */
};

struct cpu_sample {
    __u32 tgid;
    __u32 tid;
    __s32 user_stack_id;   /* negative: no user stack (kernel thread, or the map was full) */
    __s32 kernel_stack_id; /* negative: sampled in user mode */
    __u32 py_depth;
    __u32 flags;
    struct py_frame py[MAX_PY_FRAMES];
};

#endif
