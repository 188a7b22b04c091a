/* Pyxie proc_exit: how every process ended, from tracepoints only.
 *
 * No kernel struct is read (bcc may compile against headers that do not match the running
 * kernel): the status is pieced together from the calls that end a process. exit()/exit_group()
 * carry the exit code; a signal delivered with its default (fatal) action carries the signal.
 * sched_process_exit with group_dead (the last thread of the group) then reports it.
 * Filters arrive as -D flags: SELF_TGID.
 */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

struct exit_event {
    u64 timestamp_ns;
    u32 tgid;
    s32 exit_code;
    s32 signal;
    u32 pad;
    char comm[TASK_COMM_LEN];
};

struct exit_status {
    s32 exit_code;
    s32 signal;
};

BPF_HASH(statuses, u32, struct exit_status, 65536);
/* Last signal sent to a process (by pid): a default-fatal signal is turned into SIGKILL for the
 * whole group at send time, so delivery only ever sees SIGKILL; this remembers the real one. */
BPF_HASH(generated, u32, s32, 65536);
BPF_RINGBUF_OUTPUT(exits, 64);

static __always_inline void record_code(int code) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct exit_status status = {.exit_code = code & 0xff, .signal = 0};
    statuses.update(&tgid, &status);
}

TRACEPOINT_PROBE(syscalls, sys_enter_exit_group) {
    record_code(args->error_code);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_exit) {
    record_code(args->error_code);
    return 0;
}

/* Signals whose default action is to ignore or to stop, not to terminate. */
static __always_inline bool default_is_fatal(int sig) {
    return !(sig == 17 /* CHLD */ || sig == 28 /* WINCH */ || sig == 23 /* URG */ ||
             sig == 18 /* CONT */ || sig == 19 /* STOP */ || sig == 20 /* TSTP */ ||
             sig == 21 /* TTIN */ || sig == 22 /* TTOU */);
}

TRACEPOINT_PROBE(signal, signal_deliver) {
    if (args->sa_handler != 0 || !default_is_fatal(args->sig)) {
        return 0; /* handled by the process, or harmless */
    }
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    /* The first fatal signal decides: the group exit it starts delivers SIGKILL to every
     * thread afterwards, which must not overwrite it. */
    struct exit_status *seen = statuses.lookup(&tgid);
    if (seen != NULL && seen->signal != 0) {
        return 0;
    }
    struct exit_status status = {.exit_code = 0, .signal = args->sig};
    statuses.update(&tgid, &status);
    return 0;
}

TRACEPOINT_PROBE(signal, signal_generate) {
    if (args->result != 0 || !default_is_fatal(args->sig)) {
        return 0; /* not delivered (ignored, already pending ...) or harmless */
    }
    u32 pid = args->pid;
    s32 sig = args->sig;
    generated.update(&pid, &sig);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!args->group_dead) {
        return 0;
    }
    struct exit_status *status = statuses.lookup(&tgid);
    struct exit_status found = {};
    if (status != NULL) {
        found = *status;
        statuses.delete(&tgid);
    }
    s32 *sent = generated.lookup(&tgid);
    if (sent != NULL) {
        if (found.signal == 9) {
            found.signal = *sent;
        }
        generated.delete(&tgid);
    }
#ifdef SELF_TGID
    if (tgid == SELF_TGID) {
        return 0;
    }
#endif
    struct exit_event *e = exits.ringbuf_reserve(sizeof(struct exit_event));
    if (e == NULL) {
        return 0;
    }
    e->timestamp_ns = bpf_ktime_get_ns();
    e->tgid = tgid;
    e->exit_code = found.exit_code;
    e->signal = found.signal;
    e->pad = 0;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    exits.ringbuf_submit(e, 0);
    return 0;
}
