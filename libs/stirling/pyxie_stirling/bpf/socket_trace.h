/* Events the socket tracer sends to user space. Mirrored field by field in
 * pyxie_stirling/socket_tracer/_events.py (ctypes); tests compare the sizes and offsets.
 * Fixed-width types only, explicit padding, no kernel headers: this file is compiled both by
 * bcc (into the BPF program) and by the host C compiler (in the layout test).
 */
#ifndef PYXIE_SOCKET_TRACE_H
#define PYXIE_SOCKET_TRACE_H

#ifdef PYXIE_HOST_BUILD /* the layout test compiles this header with the host compiler */
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef int32_t __s32;
typedef uint64_t __u64;
#endif

/* Bytes of payload copied per data event. 4 KiB holds the request line, headers and the
 * first 512 body bytes (the default body truncation) of typical HTTP, SQL and Redis messages,
 * while a small event keeps the ring buffer and the Python drain loop (~220k events/s/core)
 * cheap. Larger calls are sent truncated; msg_size tells user space how much was skipped.
 * Must be a power of two (the copy bound is a mask, see emit_data in socket_trace.c). */
#ifndef MAX_DATA_SIZE
#define MAX_DATA_SIZE 4096
#endif

enum pyxie_event_kind {
    EVENT_DATA = 1,
    EVENT_OPEN = 2,
    EVENT_CLOSE = 3,
};

/* Seen from the traced process: egress = it sent the bytes, ingress = it received them. */
enum pyxie_direction {
    DIR_EGRESS = 0,
    DIR_INGRESS = 1,
};

/* Values of trace_role in Pixie's tables. */
enum pyxie_role {
    ROLE_CLIENT = 1,
    ROLE_SERVER = 2,
    ROLE_UNKNOWN = 4,
};

/* The call that produced a data event (for debugging and the probe_status table). */
enum pyxie_source_call {
    CALL_READ = 1, CALL_WRITE, CALL_READV, CALL_WRITEV, CALL_SENDTO, CALL_RECVFROM,
    CALL_SENDMSG, CALL_RECVMSG, CALL_SSL_READ, CALL_SSL_WRITE, CALL_SENDMMSG, CALL_RECVMMSG,
    CALL_SENDFILE,
};

struct data_event_header {
    __u32 kind;          /* EVENT_DATA */
    __u32 tgid;          /* process id */
    __u32 pid;           /* thread id */
    __s32 fd;
    __u64 timestamp_ns;  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) at the end of the call */
    __u64 generation;    /* ktime of the connect/accept that opened the connection */
    __u64 position;      /* offset of the first byte in this direction's stream */
    __u32 msg_size;      /* bytes the call moved */
    __u32 captured;      /* payload bytes that follow this header (<= MAX_DATA_SIZE) */
    __u8 direction;      /* enum pyxie_direction */
    __u8 encrypted;      /* 1 = TLS plaintext captured by the libssl uprobes */
    __u16 source_call;   /* enum pyxie_source_call */
    __u16 local_port;    /* learnt after connect() returns for clients; 0 until known */
    __u8 role;           /* enum pyxie_role, for user space that missed the open event */
    __u8 _pad;
};

struct data_event {
    struct data_event_header header;
    __u8 data[MAX_DATA_SIZE];
};

struct control_event {
    __u32 kind;          /* EVENT_OPEN or EVENT_CLOSE */
    __u32 tgid;
    __u32 pid;
    __s32 fd;
    __u64 timestamp_ns;
    __u64 generation;
    __u16 family;        /* AF_INET / AF_INET6 */
    __u16 remote_port;   /* host byte order */
    __u16 local_port;    /* host byte order, 0 when unknown */
    __u8 role;           /* enum pyxie_role */
    __u8 _pad;
    __u8 remote_addr[16]; /* network byte order; IPv4 in the first 4 bytes */
    __u8 local_addr[16];
    __u64 bytes_sent;    /* totals at close (0 in open events) */
    __u64 bytes_recv;
};

#endif /* PYXIE_SOCKET_TRACE_H */
