/* Pyxie tcp_stats: bytes sent/received and retransmissions per (process, TCP socket).
 *
 * Tracepoints only (no kprobes on some kernels, no kernel struct reads):
 *  - sock:inet_sock_set_state gives a socket's addresses once it is ESTABLISHED, and its end;
 *  - sock:sock_send_length / sock:sock_recv_length (process context) give bytes per call;
 *  - tcp:tcp_retransmit_skb (softirq/timer context) is charged to the socket's last user.
 * Counters are cumulative per socket; user space reports per-period deltas and removes a
 * socket's entry after it reported the close.
 * Filters arrive as -D flags: SELF_TGID.
 */
#include <uapi/linux/ptrace.h>

#define PYXIE_AF_INET 2
#define PYXIE_AF_INET6 10
#define PYXIE_IPPROTO_TCP 6
#define PYXIE_TCP_ESTABLISHED 1
#define PYXIE_TCP_CLOSE 7

struct sock_addrs {
    u16 family;
    u16 local_port;
    u16 remote_port;
    u16 pad;
    u8 local_addr[16];
    u8 remote_addr[16];
};

struct stats_key {
    u32 tgid;
    u32 pad;
    u64 sk;
};

struct tcp_counters {
    u64 tx;
    u64 rx;
    u64 retransmits;
    u32 closed;
    u32 pad;
    struct sock_addrs addrs;
};

BPF_HASH(sockets, u64, struct sock_addrs, 65536);
BPF_HASH(owners, u64, u32, 65536);
BPF_HASH(stats, struct stats_key, struct tcp_counters, 65536);

TRACEPOINT_PROBE(sock, inet_sock_set_state) {
    if (args->protocol != PYXIE_IPPROTO_TCP) {
        return 0;
    }
    u64 sk = (u64)args->skaddr;
    if (args->newstate == PYXIE_TCP_ESTABLISHED) {
        struct sock_addrs a = {};
        a.family = args->family;
        a.local_port = args->sport;
        a.remote_port = args->dport;
        if (args->family == PYXIE_AF_INET) {
            __builtin_memcpy(a.local_addr, args->saddr, 4);
            __builtin_memcpy(a.remote_addr, args->daddr, 4);
        } else {
            __builtin_memcpy(a.local_addr, args->saddr_v6, 16);
            __builtin_memcpy(a.remote_addr, args->daddr_v6, 16);
        }
        sockets.update(&sk, &a);
    } else if (args->newstate == PYXIE_TCP_CLOSE) {
        u32 *owner = owners.lookup(&sk);
        if (owner != NULL) {
            struct stats_key key = {.tgid = *owner, .pad = 0, .sk = sk};
            struct tcp_counters *c = stats.lookup(&key);
            if (c != NULL) {
                c->closed = 1;
            }
            owners.delete(&sk);
        }
        sockets.delete(&sk);
    }
    return 0;
}

static __always_inline struct tcp_counters *counters_of(u64 sk) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
#ifdef SELF_TGID
    if (tgid == SELF_TGID) {
        return NULL;
    }
#endif
    struct stats_key key = {.tgid = tgid, .pad = 0, .sk = sk};
    struct tcp_counters *c = stats.lookup(&key);
    if (c != NULL) {
        return c;
    }
    struct sock_addrs *addrs = sockets.lookup(&sk);
    if (addrs == NULL) {
        return NULL; /* established before the probe loaded: its addresses are unknown */
    }
    struct tcp_counters fresh = {};
    fresh.addrs = *addrs;
    stats.update(&key, &fresh);
    owners.update(&sk, &tgid);
    return stats.lookup(&key);
}

static __always_inline void count_bytes(u64 sk, u16 family, u16 protocol, int ret, bool tx) {
    if (ret <= 0 || protocol != PYXIE_IPPROTO_TCP ||
        (family != PYXIE_AF_INET && family != PYXIE_AF_INET6)) {
        return;
    }
    struct tcp_counters *c = counters_of(sk);
    if (c == NULL) {
        return;
    }
    if (tx) {
        __sync_fetch_and_add(&c->tx, ret);
    } else {
        __sync_fetch_and_add(&c->rx, ret);
    }
}

TRACEPOINT_PROBE(sock, sock_send_length) {
    count_bytes((u64)args->sk, args->family, args->protocol, args->ret, true);
    return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length) {
    count_bytes((u64)args->sk, args->family, args->protocol, args->ret, false);
    return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb) {
    u64 sk = (u64)args->skaddr;
    u32 *owner = owners.lookup(&sk);
    if (owner == NULL) {
        return 0;
    }
    struct stats_key key = {.tgid = *owner, .pad = 0, .sk = sk};
    struct tcp_counters *c = stats.lookup(&key);
    if (c != NULL) {
        __sync_fetch_and_add(&c->retransmits, 1);
    }
    return 0;
}
