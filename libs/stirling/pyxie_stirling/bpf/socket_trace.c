/* Pyxie socket tracer: syscall tracepoints + libssl uprobes, compiled by bcc.
 *
 * Rules that keep it portable across the kernels bcc may compile it for:
 *  - no kernel struct is ever dereferenced (bcc compiles against whatever headers are linked
 *    under /lib/modules, possibly older than the running kernel); only tracepoint arguments
 *    (whose layout bcc reads from the running kernel's tracefs), BPF helpers, and user memory
 *    whose layout is the stable syscall ABI (sockaddr, iovec, msghdr);
 *  - only sockets seen in connect()/accept() are tracked, plus sockets that send or receive
 *    with an address (unconnected UDP: sendto/recvfrom/sendmsg/recvmsg with a name), and the
 *    connection a forked child inherits right after its parent accepted it (postgres); read/write
 *    on any other fd costs one hash lookup and never reaches user space;
 *  - filters arrive as -D flags (SELF_TGID, FILTER_TGIDS, FILTER_CGROUP_ID, FILTER_PIDNS_DEV/INO);
 *  - connections user space found uninteresting (no protocol after its inference attempts) are
 *    muted: their syscall data is only counted, never copied to the ring (muted_conns).
 */
#include <uapi/linux/ptrace.h>

#include "socket_trace.h"

/* Ring buffer size in pages (power of two). 1024 pages = 4 MiB, ~900 full data events: enough
 * to ride out a 200 ms sampling period at several thousand requests/s. */
#ifndef RINGBUF_PAGES
#define RINGBUF_PAGES 1024
#endif
/* Tracked connections (LRU: connections of processes that exit without close() age out). */
#ifndef MAX_CONNS
#define MAX_CONNS 65536
#endif
/* iovec entries captured per readv/writev/sendmsg/recvmsg (each becomes one event). gRPC
 * (grpcio) writes one HTTP/2 frame piece per iovec, a dozen or more per sendmsg. */
#ifndef MAX_IOV
#define MAX_IOV 64
#endif

#define PYXIE_AF_INET 2
#define PYXIE_AF_INET6 10
#define PYXIE_EINPROGRESS 115
#define PYXIE_TCP_ESTABLISHED 1
#define PYXIE_TCP_SYN_SENT 2
#define PYXIE_TCP_SYN_RECV 3
#define PYXIE_TCP_LISTEN 10
#define PYXIE_BPF_RB_NO_WAKEUP 1
#define PYXIE_BPF_RB_FORCE_WAKEUP 2

struct sockaddr_any {
    __u16 family;
    __u16 port;      /* network byte order */
    __u32 v4_or_flowinfo;
    __u8 v6[16];
};

struct conn_key {
    __u32 tgid;
    __s32 fd;
};

struct endpoint {
    __u16 family;
    __u16 port;      /* host byte order */
    __u8 addr[16];
};

struct conn_info {
    __u64 generation;
    __u64 pos[2];         /* stream offsets of syscall data, by direction */
    __u64 ssl_pos[2];     /* stream offsets of TLS plaintext, by direction */
    __u64 bytes[2];       /* bytes moved, by direction */
    struct endpoint remote;
    struct endpoint local;
    __u8 role;
    __u8 ssl;
    __u8 addressed;       /* opened by a send/receive with an address: the peer may change */
};

/* The connection a process accepted last, handed to a child forked before the parent's
 * close (postgres' postmaster accepts, forks the backend, then closes its copy). */
struct inherited_conn {
    __s32 fd;
    __u8 role;
    __u8 _pad[3];
    struct endpoint remote;
    struct endpoint local;
};

struct pending_connect {
    __s32 fd;
    struct endpoint remote;
    struct endpoint local;
};

/* A connecting socket, keyed by its opaque struct sock address (never dereferenced). */
struct connecting {
    __u64 pid_tgid;
    __s32 fd;
    __u32 _pad;
};

struct pending_accept {
    __u64 addr_ptr;
    __s32 listen_fd;
};

struct pending_io {
    __u64 buf;        /* buffer, or iovec array when is_iov */
    __u64 iovcnt;
    __u64 name;       /* sockaddr of sendto/recvfrom/sendmsg/recvmsg, 0 when none */
    __u64 name_len;   /* recvfrom: where the kernel writes the length; recvmsg: the msghdr */
    __s32 fd;
    __u8 direction;
    __u8 is_iov;
    __u16 call;
};

struct pending_ssl {
    __u64 ssl;
    __u64 buf;
    __u64 size_ptr;   /* *_ex variants: where the byte count is written; 0 otherwise */
    __s32 fd;         /* learned from a syscall nested in the SSL call, -1 until then */
    __u8 direction;
    __u8 _pad;
    __u16 call;
};

struct ssl_key {
    __u64 ssl;
    __u32 tgid;
    __u32 _pad;
};

struct user_iovec {
    __u64 base;
    __u64 len;
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_TABLE("lru_hash", struct conn_key, struct conn_info, conns, MAX_CONNS);
BPF_TABLE("lru_hash", struct conn_key, struct endpoint, bound, MAX_CONNS);
BPF_TABLE("lru_hash", struct ssl_key, __s32, ssl_fds, MAX_CONNS);
BPF_HASH(pending_connects, __u64, struct pending_connect, 4096);
BPF_TABLE("lru_hash", __u64, struct connecting, connecting_socks, 4096);
BPF_HASH(pending_listens, __u64, __s32, 1024);
/* Local endpoint of passively opened connections, keyed by the peer: filled when the handshake
 * completes, read by accept() when the listening socket's bind() happened before we started. */
BPF_TABLE("lru_hash", struct endpoint, struct endpoint, accepted_locals, 4096);
BPF_HASH(pending_accepts, __u64, struct pending_accept, 4096);
BPF_HASH(pending_ios, __u64, struct pending_io, 4096);
/* tgid -> fd of its last accept(); child tgid -> the connection it inherits (see fork below). */
BPF_TABLE("lru_hash", __u32, __s32, last_accepted, 16384);
BPF_TABLE("lru_hash", __u32, struct inherited_conn, inherited, 16384);
BPF_HASH(pending_ssls, __u64, struct pending_ssl, 4096);
/* Connections user space gave up on (no known protocol): key -> the generation it muted, so a
 * reused fd is never muted by mistake. Filled by user space, removed at close. */
BPF_TABLE("lru_hash", struct conn_key, __u64, muted_conns, MAX_CONNS);
/* Processes user space found to be out of scope (e.g. another network namespace). */
BPF_HASH(excluded_tgids, __u32, __u8, 16384);
#ifdef FILTER_TGIDS
BPF_HASH(target_tgids, __u32, __u8, 16384);
#endif
/* A data event with room for the verifier's view of the copy bound (see emit_data). */
struct data_event_scratch {
    struct data_event_header header;
    __u8 data[MAX_DATA_SIZE << 1];
};
BPF_PERCPU_ARRAY(scratch, struct data_event_scratch, 1);
/* 0: events lost (ring full), 1: TLS calls whose fd stayed unknown. */
BPF_PERCPU_ARRAY(counters, __u64, 2);

/* Data events do not wake the drain thread one by one (each wake-up costs it CPU whatever it
 * drains; it reads the ring on its own timeout). Every WAKE_BYTES of data submitted, one data
 * event forces a wake-up, so a burst is drained long before the ring fills. Races between CPUs
 * only move a wake-up by one event. */
#ifndef WAKE_BYTES
#define WAKE_BYTES (RINGBUF_PAGES * 4096 / 8)
#endif
BPF_ARRAY(unwoken_bytes, __u64, 1);

static __always_inline __u64 data_wakeup_flag(__u64 size) {
    __u32 zero = 0;
    __u64 *bytes = unwoken_bytes.lookup(&zero);
    if (!bytes)
        return PYXIE_BPF_RB_NO_WAKEUP;
    __sync_fetch_and_add(bytes, size);
    if (*bytes < WAKE_BYTES)
        return PYXIE_BPF_RB_NO_WAKEUP;
    *bytes = 0;
    return PYXIE_BPF_RB_FORCE_WAKEUP;
}

static __always_inline void count(__u32 index) {
    __u64 *value = counters.lookup(&index);
    if (value)
        *value += 1;
}

static __always_inline int should_trace(__u32 tgid) {
#ifdef SELF_TGID
    if (tgid == SELF_TGID)
        return 0;
#endif
#ifdef FILTER_CGROUP_ID
    if (bpf_get_current_cgroup_id() != FILTER_CGROUP_ID)
        return 0;
#endif
#if defined(FILTER_PIDNS_DEV) && defined(FILTER_PIDNS_INO)
    struct bpf_pidns_info ns = {};
    if (bpf_get_ns_current_pid_tgid(FILTER_PIDNS_DEV, FILTER_PIDNS_INO, &ns, sizeof(ns)) != 0)
        return 0;
#endif
#ifdef FILTER_TGIDS
    if (!target_tgids.lookup(&tgid))
        return 0;
#endif
    if (excluded_tgids.lookup(&tgid))
        return 0;
    return 1;
}

/* Reads a user sockaddr; returns 0 for AF_INET/AF_INET6, -1 otherwise. */
static __always_inline int read_endpoint(__u64 uaddr, struct endpoint *out) {
    struct sockaddr_any sa = {};
    if (uaddr == 0 || bpf_probe_read_user(&sa, sizeof(sa), (void *)uaddr) != 0)
        return -1;
    if (sa.family == PYXIE_AF_INET) {
        __builtin_memcpy(out->addr, &sa.v4_or_flowinfo, 4);
    } else if (sa.family == PYXIE_AF_INET6) {
        __builtin_memcpy(out->addr, sa.v6, 16);
    } else {
        return -1;
    }
    out->family = sa.family;
    out->port = (sa.port >> 8) | ((sa.port & 0xff) << 8);
    return 0;
}

static __always_inline void emit_control(__u32 kind, __u64 id, __s32 fd, struct conn_info *ci) {
    struct control_event ev = {};
    ev.kind = kind;
    ev.tgid = id >> 32;
    ev.pid = (__u32)id;
    ev.fd = fd;
    ev.timestamp_ns = bpf_ktime_get_ns();
    ev.generation = ci->generation;
    ev.family = ci->remote.family;
    ev.remote_port = ci->remote.port;
    ev.local_port = ci->local.port;
    ev.role = ci->role;
    __builtin_memcpy(ev.remote_addr, ci->remote.addr, 16);
    __builtin_memcpy(ev.local_addr, ci->local.addr, 16);
    ev.bytes_sent = ci->bytes[DIR_EGRESS];
    ev.bytes_recv = ci->bytes[DIR_INGRESS];
    /* Wake the drain thread now: it must read /proc/<pid>/stat while the process lives. */
    if (events.ringbuf_output(&ev, sizeof(ev), PYXIE_BPF_RB_FORCE_WAKEUP) != 0)
        count(0);
}

static __always_inline void open_conn_as(__u64 id, __s32 fd, __u8 role, struct endpoint *remote,
                                         struct endpoint *local, __u8 addressed) {
    struct conn_key key = {.tgid = id >> 32, .fd = fd};
    struct conn_info ci = {};
    ci.generation = bpf_ktime_get_ns();
    ci.role = role;
    ci.addressed = addressed;
    ci.remote = *remote;
    if (local)
        ci.local = *local;
    conns.update(&key, &ci);
    emit_control(EVENT_OPEN, id, fd, &ci);
}

static __always_inline void open_conn(__u64 id, __s32 fd, __u8 role, struct endpoint *remote,
                                      struct endpoint *local) {
    open_conn_as(id, fd, role, remote, local, 0);
}

static __always_inline void emit_data(__u64 id, __s32 fd, struct conn_info *ci, __u64 buf,
                                      __u32 size, __u8 direction, __u8 encrypted, __u16 call) {
    __u32 zero = 0;
    struct data_event_scratch *ev = scratch.lookup(&zero);
    if (!ev)
        return;
    ev->header.kind = EVENT_DATA;
    ev->header.tgid = id >> 32;
    ev->header.pid = (__u32)id;
    ev->header.fd = fd;
    ev->header.timestamp_ns = bpf_ktime_get_ns();
    ev->header.generation = ci->generation;
    ev->header.msg_size = size;
    ev->header.direction = direction;
    ev->header.encrypted = encrypted;
    ev->header.source_call = call;
    ev->header.local_port = ci->local.port;
    ev->header.role = ci->role;
    if (direction == DIR_EGRESS) {
        ci->bytes[DIR_EGRESS] += size;
        if (encrypted) {
            ev->header.position = ci->ssl_pos[DIR_EGRESS];
            ci->ssl_pos[DIR_EGRESS] += size;
        } else {
            ev->header.position = ci->pos[DIR_EGRESS];
            ci->pos[DIR_EGRESS] += size;
        }
    } else {
        ci->bytes[DIR_INGRESS] += size;
        if (encrypted) {
            ev->header.position = ci->ssl_pos[DIR_INGRESS];
            ci->ssl_pos[DIR_INGRESS] += size;
        } else {
            ev->header.position = ci->pos[DIR_INGRESS];
            ci->pos[DIR_INGRESS] += size;
        }
    }
    __u64 captured = size < MAX_DATA_SIZE ? size : MAX_DATA_SIZE;
    /* The barrier stops clang from reusing the unclamped register; the mask then gives the
     * verifier a bound it can see (the scratch buffer is twice MAX_DATA_SIZE for that). */
    asm volatile("" : "+r"(captured));
    captured &= (MAX_DATA_SIZE << 1) - 1;
    if (bpf_probe_read_user(ev->data, captured, (void *)buf) != 0)
        captured = 0;
    ev->header.captured = captured;
    __u64 record = sizeof(struct data_event_header) + captured;
    if (events.ringbuf_output(ev, record, data_wakeup_flag(record)) != 0)
        count(0);
}

/* ---- connect: the traced process is the client ------------------------------------------ */

TRACEPOINT_PROBE(syscalls, sys_enter_connect) {
    __u64 id = bpf_get_current_pid_tgid();
    if (!should_trace(id >> 32))
        return 0;
    struct pending_connect pc = {};
    pc.fd = args->fd;
    if (read_endpoint((__u64)args->uservaddr, &pc.remote) != 0)
        return 0;
    pending_connects.update(&id, &pc);
    return 0;
}

/* TCP state changes give the local endpoint without reading struct sock: SYN_SENT fires inside
 * connect() (local address chosen, port usually not yet), ESTABLISHED fires when the handshake
 * completes (port known), possibly in softirq context, hence the skaddr-keyed side table. */
TRACEPOINT_PROBE(sock, inet_sock_set_state) {
    __u64 skaddr = (__u64)args->skaddr;
    if (args->newstate == PYXIE_TCP_LISTEN) {
        /* listen() on a socket bound to port 0: the kernel has just picked the port. */
        __u64 id = bpf_get_current_pid_tgid();
        __s32 *fd = pending_listens.lookup(&id);
        if (!fd)
            return 0;
        struct conn_key key = {.tgid = id >> 32, .fd = *fd};
        struct endpoint local = {.family = args->family, .port = args->sport};
        if (args->family == PYXIE_AF_INET)
            __builtin_memcpy(local.addr, args->saddr, 4);
        else
            __builtin_memcpy(local.addr, args->saddr_v6, 16);
        bound.update(&key, &local);
        return 0;
    }
    if (args->newstate == PYXIE_TCP_SYN_SENT) {
        __u64 id = bpf_get_current_pid_tgid();
        struct pending_connect *pc = pending_connects.lookup(&id);
        if (!pc)
            return 0;
        pc->local.family = args->family;
        pc->local.port = args->sport;
        if (args->family == PYXIE_AF_INET)
            __builtin_memcpy(pc->local.addr, args->saddr, 4);
        else
            __builtin_memcpy(pc->local.addr, args->saddr_v6, 16);
        struct connecting c = {.pid_tgid = id, .fd = pc->fd};
        connecting_socks.update(&skaddr, &c);
        return 0;
    }
    if (args->newstate == PYXIE_TCP_ESTABLISHED && args->oldstate == PYXIE_TCP_SYN_RECV) {
        /* A server-side handshake completed (softirq: no process context). */
        struct endpoint peer = {.family = args->family, .port = args->dport};
        struct endpoint local = {.family = args->family, .port = args->sport};
        if (args->family == PYXIE_AF_INET) {
            __builtin_memcpy(peer.addr, args->daddr, 4);
            __builtin_memcpy(local.addr, args->saddr, 4);
        } else {
            __builtin_memcpy(peer.addr, args->daddr_v6, 16);
            __builtin_memcpy(local.addr, args->saddr_v6, 16);
        }
        accepted_locals.update(&peer, &local);
        return 0;
    }
    if (args->newstate != PYXIE_TCP_ESTABLISHED || args->oldstate != PYXIE_TCP_SYN_SENT)
        return 0;
    struct connecting *c = connecting_socks.lookup(&skaddr);
    if (!c)
        return 0;
    struct conn_key key = {.tgid = c->pid_tgid >> 32, .fd = c->fd};
    struct conn_info *ci = conns.lookup(&key);
    if (ci) {
        ci->local.port = args->sport;
    } else {
        /* Loopback handshakes complete before connect() returns. */
        __u64 id = c->pid_tgid;
        struct pending_connect *pc = pending_connects.lookup(&id);
        if (pc)
            pc->local.port = args->sport;
    }
    connecting_socks.delete(&skaddr);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_connect) {
    __u64 id = bpf_get_current_pid_tgid();
    struct pending_connect *pc = pending_connects.lookup(&id);
    if (!pc)
        return 0;
    if (args->ret == 0 || args->ret == -PYXIE_EINPROGRESS)
        open_conn(id, pc->fd, ROLE_CLIENT, &pc->remote, &pc->local);
    pending_connects.delete(&id);
    return 0;
}

/* ---- bind + accept: the traced process is the server ------------------------------------- */

TRACEPOINT_PROBE(syscalls, sys_enter_bind) {
    __u64 id = bpf_get_current_pid_tgid();
    if (!should_trace(id >> 32))
        return 0;
    struct endpoint local = {};
    if (read_endpoint((__u64)args->umyaddr, &local) != 0)
        return 0;
    struct conn_key key = {.tgid = id >> 32, .fd = args->fd};
    bound.update(&key, &local);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_listen) {
    __u64 id = bpf_get_current_pid_tgid();
    if (!should_trace(id >> 32))
        return 0;
    __s32 fd = args->fd;
    pending_listens.update(&id, &fd);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_listen) {
    __u64 id = bpf_get_current_pid_tgid();
    pending_listens.delete(&id);
    return 0;
}

static __always_inline int accept_enter(__s32 listen_fd, __u64 addr_ptr) {
    __u64 id = bpf_get_current_pid_tgid();
    if (!should_trace(id >> 32))
        return 0;
    struct pending_accept pa = {.addr_ptr = addr_ptr, .listen_fd = listen_fd};
    pending_accepts.update(&id, &pa);
    return 0;
}

static __always_inline int accept_exit(long ret) {
    __u64 id = bpf_get_current_pid_tgid();
    struct pending_accept *pa = pending_accepts.lookup(&id);
    if (!pa)
        return 0;
    struct pending_accept saved = *pa;
    pending_accepts.delete(&id);
    if (ret < 0)
        return 0;
    __u32 tgid = id >> 32;
    __s32 accepted_fd = (__s32)ret;
    last_accepted.update(&tgid, &accepted_fd);
    struct conn_key listen_key = {.tgid = id >> 32, .fd = saved.listen_fd};
    struct endpoint *local = bound.lookup(&listen_key);
    struct endpoint remote = {};
    if (read_endpoint(saved.addr_ptr, &remote) != 0) {
        /* accept(fd, NULL, NULL): trust the family the listening socket was bound with. */
        if (!local)
            return 0;
        remote.family = local->family;
    }
    /* The handshake's record names the actual local address (a wildcard bind says 0.0.0.0),
     * and it is the only source when bind() ran before the tracer was loaded. */
    struct endpoint *handshake = accepted_locals.lookup(&remote);
    if (handshake) {
        struct endpoint found = *handshake;
        accepted_locals.delete(&remote);
        /* With a known bind, the ports must agree (the peer key could be stale). */
        if (!local || found.port == local->port) {
            open_conn(id, (__s32)ret, ROLE_SERVER, &remote, &found);
            return 0;
        }
    }
    open_conn(id, (__s32)ret, ROLE_SERVER, &remote, local);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept) {
    return accept_enter(args->fd, (__u64)args->upeer_sockaddr);
}
TRACEPOINT_PROBE(syscalls, sys_exit_accept) { return accept_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_accept4) {
    return accept_enter(args->fd, (__u64)args->upeer_sockaddr);
}
TRACEPOINT_PROBE(syscalls, sys_exit_accept4) { return accept_exit(args->ret); }

/* ---- data ---------------------------------------------------------------------------------- */

/* A forked child's first call on the fd its parent had just accepted: the child now owns the
 * connection (the parent closes its copy), so it gets its own, as the server. */
static __always_inline struct conn_info *inherit_conn(__u64 id, __s32 fd) {
    __u32 tgid = id >> 32;
    struct inherited_conn *ic = inherited.lookup(&tgid);
    if (!ic || ic->fd != fd)
        return 0;
    struct inherited_conn saved = *ic;
    inherited.delete(&tgid);
    open_conn(id, fd, saved.role, &saved.remote, &saved.local);
    struct conn_key key = {.tgid = tgid, .fd = fd};
    return conns.lookup(&key);
}

/* name: the call's sockaddr (0 when none); name_len: see struct pending_io. */
static __always_inline int io_enter_named(__s32 fd, __u64 buf, __u64 iovcnt, __u8 direction,
                                          __u8 is_iov, __u16 call, __u64 name, __u64 name_len) {
    __u64 id = bpf_get_current_pid_tgid();
    struct conn_key key = {.tgid = id >> 32, .fd = fd};
    struct conn_info *ci = conns.lookup(&key);
    if (!ci)
        ci = inherit_conn(id, fd);
    if (!ci) {
        /* Unknown fd: only a call with an address (an unconnected socket) can open one, at the
         * exit, once the call succeeded and (for receives) the kernel filled the address in. */
        if (name == 0 || !should_trace(id >> 32))
            return 0;
    } else {
        struct pending_ssl *ssl = pending_ssls.lookup(&id);
        if (ssl) {
            /* Ciphertext moved on behalf of SSL_read/SSL_write: remember the fd for the
             * plaintext event at the SSL call's return, and do not send the ciphertext. */
            ssl->fd = fd;
            ci->ssl = 1;
            return 0;
        }
    }
    struct pending_io io = {
        .buf = buf, .iovcnt = iovcnt, .name = name, .name_len = name_len, .fd = fd,
        .direction = direction, .is_iov = is_iov, .call = call};
    pending_ios.update(&id, &io);
    return 0;
}

static __always_inline int io_enter(__s32 fd, __u64 buf, __u64 iovcnt, __u8 direction,
                                    __u8 is_iov, __u16 call) {
    return io_enter_named(fd, buf, iovcnt, direction, is_iov, call, 0, 0);
}

static __always_inline int same_endpoint(struct endpoint *a, struct endpoint *b) {
    if (a->family != b->family || a->port != b->port)
        return 0;
#pragma unroll
    for (int i = 0; i < 16; i++) {
        if (a->addr[i] != b->addr[i])
            return 0;
    }
    return 1;
}

/* The connection a successful call moved data on. A call with an address on a socket that is
 * not connected opens one (role unknown: user space infers it from the protocol), and a new
 * peer on such a socket closes the previous one and opens another, so every row names the
 * peer it was exchanged with. Connected sockets ignore the address. */
static __always_inline struct conn_info *conn_of_call(__u64 id, struct pending_io *io) {
    struct conn_key key = {.tgid = id >> 32, .fd = io->fd};
    struct conn_info *ci = conns.lookup(&key);
    if (io->name == 0 || (ci && !ci->addressed))
        return ci;
    __u32 len = 0;
    if (io->call == CALL_RECVFROM) {
        /* The kernel writes the address length back; 0 means it gave no address (TCP). */
        if (io->name_len == 0 || bpf_probe_read_user(&len, sizeof(len), (void *)io->name_len))
            return ci;
    } else if (io->call == CALL_RECVMSG) {
        /* msg_namelen, updated by the kernel, at offset 8 of the msghdr. */
        if (bpf_probe_read_user(&len, sizeof(len), (void *)(io->name_len + 8)) != 0)
            return ci;
    } else {
        len = (__u32)io->name_len;
    }
    struct endpoint remote = {};
    if (len == 0 || read_endpoint(io->name, &remote) != 0)
        return ci;
    if (ci) {
        if (same_endpoint(&ci->remote, &remote))
            return ci;
        emit_control(EVENT_CLOSE, id, io->fd, ci);
        conns.delete(&key);
    }
    struct endpoint *local = bound.lookup(&key);
    open_conn_as(id, io->fd, ROLE_UNKNOWN, &remote, local, 1);
    return conns.lookup(&key);
}

static __always_inline int io_exit(long ret) {
    __u64 id = bpf_get_current_pid_tgid();
    struct pending_io *pio = pending_ios.lookup(&id);
    if (!pio)
        return 0;
    struct pending_io io = *pio;
    pending_ios.delete(&id);
    if (ret <= 0)
        return 0;
    struct conn_info *ci = conn_of_call(id, &io);
    if (!ci)
        return 0;
    struct conn_key key = {.tgid = id >> 32, .fd = io.fd};
    __u64 *muted = muted_conns.lookup(&key);
    if (muted && *muted == ci->generation) {
        /* Counted for conn_stats (the close event carries the totals), never copied. */
        ci->bytes[io.direction & 1] += ret;
        return 0;
    }
    if (!io.is_iov) {
        emit_data(id, io.fd, ci, io.buf, (__u32)ret, io.direction, 0, io.call);
        return 0;
    }
    __u64 remaining = ret;
    for (int i = 0; i < MAX_IOV; i++) {
        if (i >= io.iovcnt || remaining == 0)
            break;
        struct user_iovec iov = {};
        if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(io.buf + i * sizeof(iov))) != 0)
            break;
        __u64 n = iov.len < remaining ? iov.len : remaining;
        emit_data(id, io.fd, ci, iov.base, (__u32)n, io.direction, 0, io.call);
        remaining -= n;
    }
    if (remaining > 0) {
        /* Bytes beyond the captured iovecs: account for them so stream offsets stay right. */
        emit_data(id, io.fd, ci, 0, (__u32)remaining, io.direction, 0, io.call);
    }
    return 0;
}

/* struct user_msghdr: name (8), namelen (4, padded to 8), iov (8), iovlen (8) at fixed offsets
 * of the syscall ABI. A receive's name length is read back from the msghdr at the exit. */
static __always_inline int msg_enter(__s32 fd, __u64 msg, __u8 direction, __u16 call) {
    __u64 fields[4] = {};
    if (bpf_probe_read_user(fields, sizeof(fields), (void *)msg) != 0)
        return 0;
    __u64 name = fields[0];
    __u64 name_len = direction == DIR_INGRESS ? msg : (__u32)fields[1];
    if (direction == DIR_EGRESS && name_len == 0)
        name = 0;
    return io_enter_named(fd, fields[2], fields[3], direction, 1, call, name, name_len);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) {
    return io_enter(args->fd, (__u64)args->buf, 0, DIR_INGRESS, 0, CALL_READ);
}
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    return io_enter(args->fd, (__u64)args->buf, 0, DIR_EGRESS, 0, CALL_WRITE);
}
TRACEPOINT_PROBE(syscalls, sys_exit_write) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_readv) {
    return io_enter(args->fd, (__u64)args->vec, args->vlen, DIR_INGRESS, 1, CALL_READV);
}
TRACEPOINT_PROBE(syscalls, sys_exit_readv) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_writev) {
    return io_enter(args->fd, (__u64)args->vec, args->vlen, DIR_EGRESS, 1, CALL_WRITEV);
}
TRACEPOINT_PROBE(syscalls, sys_exit_writev) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendto) {
    __u64 name = args->addr_len > 0 ? (__u64)args->addr : 0;
    return io_enter_named(args->fd, (__u64)args->buff, 0, DIR_EGRESS, 0, CALL_SENDTO, name,
                          args->addr_len);
}
TRACEPOINT_PROBE(syscalls, sys_exit_sendto) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom) {
    return io_enter_named(args->fd, (__u64)args->ubuf, 0, DIR_INGRESS, 0, CALL_RECVFROM,
                          (__u64)args->addr, (__u64)args->addr_len);
}
TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg) {
    return msg_enter(args->fd, (__u64)args->msg, DIR_EGRESS, CALL_SENDMSG);
}
TRACEPOINT_PROBE(syscalls, sys_exit_sendmsg) { return io_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvmsg) {
    return msg_enter(args->fd, (__u64)args->msg, DIR_INGRESS, CALL_RECVMSG);
}
TRACEPOINT_PROBE(syscalls, sys_exit_recvmsg) { return io_exit(args->ret); }

/* ---- sendmmsg / recvmmsg: several messages per call (glibc's resolver sends its A and AAAA
 * queries with one sendmmsg). The exit value is the number of messages; the kernel wrote each
 * message's byte count into its mmsghdr.msg_len. Up to MAX_MMSG messages of MAX_MMSG_IOV iovecs
 * each are captured; bytes past those iovecs are accounted for (not captured). */
#ifndef MAX_MMSG
#define MAX_MMSG 8
#endif
#define MAX_MMSG_IOV 2
#define MMSGHDR_SIZE 64 /* struct mmsghdr: msghdr (56) + msg_len (4) + padding */

static __always_inline int mmsg_exit(long ret) {
    __u64 id = bpf_get_current_pid_tgid();
    struct pending_io *pio = pending_ios.lookup(&id);
    if (!pio)
        return 0;
    struct pending_io io = *pio;
    pending_ios.delete(&id);
    if (ret <= 0)
        return 0;
    struct conn_key key = {.tgid = id >> 32, .fd = io.fd};
    struct conn_info *ci = conns.lookup(&key);
    if (!ci)
        return 0;
    for (int i = 0; i < MAX_MMSG; i++) {
        if (i >= ret || i >= io.iovcnt)
            break;
        __u64 hdr = io.buf + i * MMSGHDR_SIZE;
        __u64 iov_fields[2] = {};
        __u32 msg_len = 0;
        if (bpf_probe_read_user(iov_fields, sizeof(iov_fields), (void *)(hdr + 16)) != 0 ||
            bpf_probe_read_user(&msg_len, sizeof(msg_len), (void *)(hdr + 56)) != 0)
            break;
        __u64 remaining = msg_len;
        for (int j = 0; j < MAX_MMSG_IOV; j++) {
            if (j >= iov_fields[1] || remaining == 0)
                break;
            struct user_iovec iov = {};
            if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iov_fields[0] + j * sizeof(iov))) != 0)
                break;
            __u64 n = iov.len < remaining ? iov.len : remaining;
            emit_data(id, io.fd, ci, iov.base, (__u32)n, io.direction, 0, io.call);
            remaining -= n;
        }
        if (remaining > 0)
            emit_data(id, io.fd, ci, 0, (__u32)remaining, io.direction, 0, io.call);
    }
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendmmsg) {
    return io_enter(args->fd, (__u64)args->mmsg, args->vlen, DIR_EGRESS, 1, CALL_SENDMMSG);
}
TRACEPOINT_PROBE(syscalls, sys_exit_sendmmsg) { return mmsg_exit(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvmmsg) {
    return io_enter(args->fd, (__u64)args->mmsg, args->vlen, DIR_INGRESS, 1, CALL_RECVMMSG);
}
TRACEPOINT_PROBE(syscalls, sys_exit_recvmmsg) { return mmsg_exit(args->ret); }

/* ---- sendfile: file bytes go out without passing through user memory. Nothing to capture, but
 * the bytes are counted and the stream position moves on, so parsers see a gap of the right size
 * (an HTTP body sent with sendfile becomes a row with the body size and no body text). */
TRACEPOINT_PROBE(syscalls, sys_enter_sendfile64) {
    return io_enter(args->out_fd, 0, 0, DIR_EGRESS, 0, CALL_SENDFILE);
}
TRACEPOINT_PROBE(syscalls, sys_exit_sendfile64) { return io_exit(args->ret); }

/* ---- fork: postgres' postmaster accepts, forks a backend that serves the connection, and
 * closes its own copy. The child's first call on that fd opens the connection for the child
 * (inherit_conn). task_newtask runs in the parent as the child is created; new threads (which
 * share the parent's connections already) are skipped by their clone flags. */
#define PYXIE_CLONE_THREAD 0x00010000

TRACEPOINT_PROBE(task, task_newtask) {
    if (args->clone_flags & PYXIE_CLONE_THREAD)
        return 0;
    __u32 parent = bpf_get_current_pid_tgid() >> 32;
    __s32 *fd = last_accepted.lookup(&parent);
    if (!fd)
        return 0;
    struct conn_key key = {.tgid = parent, .fd = *fd};
    struct conn_info *ci = conns.lookup(&key);
    if (!ci)
        return 0;
    __u32 child = args->pid;
    struct inherited_conn ic = {.fd = *fd, .role = ci->role};
    ic.remote = ci->remote;
    ic.local = ci->local;
    inherited.update(&child, &ic);
#ifdef FILTER_TGIDS
    __u8 one = 1;
    if (target_tgids.lookup(&parent))
        target_tgids.update(&child, &one);
#endif
    return 0;
}

/* ---- close --------------------------------------------------------------------------------- */

TRACEPOINT_PROBE(syscalls, sys_enter_close) {
    __u64 id = bpf_get_current_pid_tgid();
    struct conn_key key = {.tgid = id >> 32, .fd = args->fd};
    struct conn_info *ci = conns.lookup(&key);
    if (ci) {
        emit_control(EVENT_CLOSE, id, key.fd, ci);
        conns.delete(&key);
        muted_conns.delete(&key);
    }
    bound.delete(&key);
    return 0;
}

/* ---- libssl uprobes: plaintext of SSL_read/SSL_write(_ex) ----------------------------------
 * The fd comes from the read()/write() the SSL call makes on its socket (io_enter records it);
 * calls served from OpenSSL's buffer make no syscall, so each SSL* remembers its last fd. */

static __always_inline int ssl_enter(struct pt_regs *ctx, __u8 direction, __u16 call, int ex) {
    __u64 id = bpf_get_current_pid_tgid();
    if (!should_trace(id >> 32))
        return 0;
    struct pending_ssl ps = {};
    ps.ssl = PT_REGS_PARM1(ctx);
    ps.buf = PT_REGS_PARM2(ctx);
    ps.size_ptr = ex ? PT_REGS_PARM4(ctx) : 0;
    ps.fd = -1;
    ps.direction = direction;
    ps.call = call;
    pending_ssls.update(&id, &ps);
    return 0;
}

static __always_inline int ssl_exit(struct pt_regs *ctx) {
    __u64 id = bpf_get_current_pid_tgid();
    struct pending_ssl *pps = pending_ssls.lookup(&id);
    if (!pps)
        return 0;
    struct pending_ssl ps = *pps;
    pending_ssls.delete(&id);
    /* SSL_read/SSL_write return int: only the low 32 bits of the register are meaningful. */
    int rc = (int)PT_REGS_RC(ctx);
    __u64 size = 0;
    if (ps.size_ptr) {
        if (rc != 1 || bpf_probe_read_user(&size, sizeof(size), (void *)ps.size_ptr) != 0)
            return 0;
    } else {
        if (rc <= 0)
            return 0;
        size = rc;
    }
    struct ssl_key sk = {.ssl = ps.ssl, .tgid = id >> 32};
    if (ps.fd >= 0) {
        ssl_fds.update(&sk, &ps.fd);
    } else {
        __s32 *known = ssl_fds.lookup(&sk);
        if (!known) {
            count(1);
            return 0;
        }
        ps.fd = *known;
    }
    struct conn_key key = {.tgid = id >> 32, .fd = ps.fd};
    struct conn_info *ci = conns.lookup(&key);
    if (!ci)
        return 0;
    ci->ssl = 1;
    emit_data(id, ps.fd, ci, ps.buf, (__u32)size, ps.direction, 1, ps.call);
    return 0;
}

int probe_enter_ssl_write(struct pt_regs *ctx) { return ssl_enter(ctx, DIR_EGRESS, CALL_SSL_WRITE, 0); }
int probe_enter_ssl_write_ex(struct pt_regs *ctx) { return ssl_enter(ctx, DIR_EGRESS, CALL_SSL_WRITE, 1); }
int probe_enter_ssl_read(struct pt_regs *ctx) { return ssl_enter(ctx, DIR_INGRESS, CALL_SSL_READ, 0); }
int probe_enter_ssl_read_ex(struct pt_regs *ctx) { return ssl_enter(ctx, DIR_INGRESS, CALL_SSL_READ, 1); }
int probe_return_ssl(struct pt_regs *ctx) { return ssl_exit(ctx); }
