/* HTTP/1.x connection parser in C: a drop-in replacement of _http.py's HttpParser.
 *
 * Same framing, pairing, counters and row rendering as the pure-Python parser (the differential
 * test tests/test_protocol_http_native.py feeds both the same traffic and compares everything);
 * only faster. Byte streams are C buffers with a (end offset, timestamp) segment list, messages
 * are C structs, and Python strings are built only by HttpRecord.to_row().
 *
 * Where the Python parser uses Unicode str methods on decoded header values (int(), str.strip(),
 * str.isdigit(), str.lower()), values made only of ASCII bytes take a C path with the same
 * result and the others call the same Python methods. Where the Python parser would raise and its
 * safety net catch (int() of a value isdigit() accepts, such as "²"), this parser does what the
 * safety net does.
 *
 * Arguments outside the socket tracer's domain raise instead of being taken in: timestamps,
 * lost_bytes and max_body_bytes must be ints that fit a C long long (the kernel's are 64-bit), and
 * data must be a contiguous buffer (bytes, bytearray, memoryview). A Content-Length above 2**64-1
 * counts as 2**64-1 (no stream carries that many bytes, so the difference cannot be observed).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <string.h>

/* States of one direction's framing, as _http.py's _HEAD.._DEAD. */
enum {
    ST_HEAD,
    ST_BODY_LEN,
    ST_CHUNK_SIZE,
    ST_CHUNK_DATA,
    ST_CHUNK_CRLF,
    ST_TRAILERS,
    ST_BODY_CLOSE,
    ST_RESYNC,
    ST_DEAD,
};

/* Constants of _http.py (see there for why these values). */
#define MAX_HEADER_BYTES (64 * 1024)
#define GZIP_KEEP_BYTES (64 * 1024)
#define MAX_HEADERS_JSON_CHARS 8192
#define MAX_CHUNK_LINE 1024
/* Headers held inside the message struct before a heap array is needed. */
#define INLINE_HEADERS 12
/* An emptied stream buffer bigger than this is released rather than kept for reuse. */
#define KEEP_BUFFER_BYTES (64 * 1024)

/* ---- module globals (set once by module init) ---------------------------------------------- */

static PyObject *g_egress;          /* Direction.EGRESS */
static PyObject *g_ingress;         /* Direction.INGRESS */
static PyObject *g_role_client;     /* Role.CLIENT */
static PyObject *g_role_server;     /* Role.SERVER */
static PyObject *g_truncated;       /* TRUNCATED_SUFFIX */
static const char *g_truncated_utf8;
static Py_ssize_t g_truncated_len;
static Py_ssize_t g_max_pending;    /* MAX_PENDING_REQUESTS */
static long long g_timeout_ns;      /* PENDING_REQUEST_TIMEOUT_NS */
static PyObject *g_decompressobj;   /* zlib.decompressobj */
static PyObject *g_zlib_error;      /* zlib.error */
static long g_max_wbits;            /* zlib.MAX_WBITS */
static PyObject *g_empty;           /* "" */
static PyObject *g_removed_unknown; /* "<removed: unknown content-type>" */
static PyObject *g_removed_nontext; /* "<removed: non-text content-type>" */
static PyObject *g_gunzip_failed;   /* "<Failed to gunzip body>" */
static PyObject *g_str_chunked;     /* "chunked" */

enum {
    K_MAJOR,
    K_MINOR,
    K_CTYPE,
    K_REQ_HEADERS,
    K_REQ_METHOD,
    K_REQ_PATH,
    K_REQ_BODY,
    K_REQ_BODY_SIZE,
    K_RESP_HEADERS,
    K_RESP_STATUS,
    K_RESP_MESSAGE,
    K_RESP_BODY,
    K_RESP_BODY_SIZE,
    K_COUNT,
};
static const char *const ROW_KEYS[K_COUNT] = {
    "major_version", "minor_version", "content_type",  "req_headers",   "req_method",
    "req_path",      "req_body",      "req_body_size", "resp_headers",  "resp_status",
    "resp_message",  "resp_body",     "resp_body_size",
};
static PyObject *g_keys[K_COUNT];
/* A row with every key in order (values None): to_row() copies it, so no resizing per row. */
static PyObject *g_row_template;

/* ---- small byte helpers ------------------------------------------------------------------- */

static Py_ssize_t
find_bytes(const char *hay, Py_ssize_t n, const char *needle, Py_ssize_t m)
{
    if (m == 0) {
        return 0;
    }
    const char *p = hay;
    const char *end = hay + n;
    while (end - p >= m) {
        const char *q = memchr(p, needle[0], (size_t)(end - p - m + 1));
        if (q == NULL) {
            return -1;
        }
        if (memcmp(q, needle, (size_t)m) == 0) {
            return q - hay;
        }
        p = q + 1;
    }
    return -1;
}

static Py_ssize_t
find_crlfcrlf(const char *hay, Py_ssize_t n)
{
    const char *p = hay;
    const char *end = hay + n;
    while (end - p >= 4) {
        const char *q = memchr(p, '\r', (size_t)(end - p - 3));
        if (q == NULL) {
            return -1;
        }
        if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n') {
            return q - hay;
        }
        p = q + 1;
    }
    return -1;
}

static int
lower_ascii(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Case-insensitive (ASCII) search of a lower-case needle. */
static int
contains_ci(const char *hay, Py_ssize_t n, const char *needle)
{
    Py_ssize_t m = (Py_ssize_t)strlen(needle);
    for (Py_ssize_t i = 0; i + m <= n; i++) {
        Py_ssize_t j = 0;
        while (j < m && lower_ascii((unsigned char)hay[i + j]) == needle[j]) {
            j++;
        }
        if (j == m) {
            return 1;
        }
    }
    return 0;
}

static int
equals_ci(const char *s, Py_ssize_t n, const char *lower_name)
{
    Py_ssize_t m = (Py_ssize_t)strlen(lower_name);
    if (n != m) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (lower_ascii((unsigned char)s[i]) != lower_name[i]) {
            return 0;
        }
    }
    return 1;
}

static int
all_ascii(const char *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            return 0;
        }
    }
    return 1;
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* What str.isspace() says of an ASCII character (str.strip() without arguments). */
static int
is_py_space(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* bytes.strip(" \t\n\r\x0b\x0c"), i.e. _http.py's _ASCII_SPACE. */
static int
is_ascii_space(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static PyObject *
text(const char *s, Py_ssize_t n)
{
    return PyUnicode_DecodeUTF8(s, n, "replace");
}

/* ---- byte stream ---------------------------------------------------------------------------- */

typedef struct {
    long long end; /* absolute stream offset just past the segment */
    long long ts;
} Segment;

typedef struct {
    char *data;
    Py_ssize_t start, len, cap; /* live bytes: data[start : start + len] */
    long long base;             /* absolute stream offset of data[start] */
    Segment *segs;
    Py_ssize_t seg_head, seg_count, seg_cap;
} Stream;

static const char *
stream_buf(const Stream *s)
{
    return s->data + s->start;
}

/* Grows the PyMem buffer *buf (capacity *cap) to hold need bytes: doubling, at least min_cap.
 * 0, or -1 with MemoryError set (the buffer is then unchanged). */
static int
reserve_bytes(char **buf, Py_ssize_t *cap, Py_ssize_t need, Py_ssize_t min_cap)
{
    if (need <= *cap) {
        return 0;
    }
    Py_ssize_t grown = *cap * 2;
    if (grown < need) {
        grown = need;
    }
    if (grown < min_cap) {
        grown = min_cap;
    }
    char *p = PyMem_Realloc(*buf, (size_t)grown);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = p;
    *cap = grown;
    return 0;
}

static int
stream_append(Stream *s, const char *p, Py_ssize_t n, long long ts)
{
    if (s->start + s->len + n > s->cap) {
        if (s->start > 0) {
            memmove(s->data, s->data + s->start, (size_t)s->len);
            s->start = 0;
        }
        if (reserve_bytes(&s->data, &s->cap, s->len + n, 256) < 0) {
            return -1;
        }
    }
    memcpy(s->data + s->start + s->len, p, (size_t)n);
    s->len += n;
    if (s->seg_head + s->seg_count == s->seg_cap) {
        if (s->seg_head > 0) {
            memmove(s->segs, s->segs + s->seg_head, (size_t)s->seg_count * sizeof(Segment));
            s->seg_head = 0;
        } else {
            Py_ssize_t cap = s->seg_cap ? s->seg_cap * 2 : 8;
            Segment *segs = PyMem_Realloc(s->segs, (size_t)cap * sizeof(Segment));
            if (segs == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            s->segs = segs;
            s->seg_cap = cap;
        }
    }
    Segment *seg = &s->segs[s->seg_head + s->seg_count++];
    seg->end = s->base + s->len;
    seg->ts = ts;
    return 0;
}

/* Timestamp of the chunk that carried buf[pos]. */
static long long
stream_ts_at(const Stream *s, Py_ssize_t pos)
{
    long long target = s->base + pos;
    for (Py_ssize_t i = 0; i < s->seg_count; i++) {
        const Segment *seg = &s->segs[s->seg_head + i];
        if (seg->end > target) {
            return seg->ts;
        }
    }
    return s->seg_count ? s->segs[s->seg_head + s->seg_count - 1].ts : 0;
}

static void
stream_consume(Stream *s, Py_ssize_t n)
{
    if (n <= 0) {
        return;
    }
    Py_ssize_t drop = n < s->len ? n : s->len;
    s->start += drop;
    s->len -= drop;
    s->base += n;
    if (s->len == 0) {
        s->start = 0;
        if (s->cap > KEEP_BUFFER_BYTES) {
            PyMem_Free(s->data);
            s->data = NULL;
            s->cap = 0;
        }
    }
    while (s->seg_count && s->segs[s->seg_head].end <= s->base) {
        s->seg_head++;
        s->seg_count--;
    }
    if (s->seg_count == 0) {
        s->seg_head = 0;
    }
}

static void
stream_clear(Stream *s)
{
    stream_consume(s, s->len);
}

static void
stream_free(Stream *s)
{
    PyMem_Free(s->data);
    PyMem_Free(s->segs);
    memset(s, 0, sizeof(*s));
}

/* ---- messages -------------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t name_off, name_len;   /* in Msg.head */
    Py_ssize_t value_off, value_len; /* in Msg.head, or Msg.extra when value_extra */
    int value_extra;
} Header;

typedef struct {
    long long start_ts, end_ts;
    int minor, status;
    int is_head, is_connect; /* request method HEAD / CONNECT */
    char *head;              /* copy of the header block (points just past the struct) */
    Py_ssize_t head_len;
    Py_ssize_t method_len; /* the method is head[0 : method_len] */
    Py_ssize_t path_off, path_len, reason_off, reason_len;
    Header *headers;
    Py_ssize_t nheaders, headers_cap;
    Header inline_headers[INLINE_HEADERS];
    char *extra; /* folded header values */
    Py_ssize_t extra_len, extra_cap;
    /* first header of each name the parser looks up, or -1 */
    Py_ssize_t h_ctype, h_clen, h_te, h_cenc;
    long long keep;
    unsigned long long body_size;
    char *body; /* the kept part of the body */
    Py_ssize_t body_len, body_cap;
} Msg;

static void
msg_free(Msg *m)
{
    if (m == NULL) {
        return;
    }
    if (m->headers != m->inline_headers) {
        PyMem_Free(m->headers);
    }
    PyMem_Free(m->extra);
    PyMem_Free(m->body);
    PyMem_Free(m);
}

static void
header_value(const Msg *m, const Header *h, const char **p, Py_ssize_t *n)
{
    *p = (h->value_extra ? m->extra : m->head) + h->value_off;
    *n = h->value_len;
}

static int
msg_add_header(Msg *m, Header h)
{
    if (m->nheaders == m->headers_cap) {
        Py_ssize_t cap = m->headers_cap * 2;
        Header *headers;
        if (m->headers == m->inline_headers) {
            headers = PyMem_Malloc((size_t)cap * sizeof(Header));
            if (headers != NULL) {
                memcpy(headers, m->inline_headers, sizeof(m->inline_headers));
            }
        } else {
            headers = PyMem_Realloc(m->headers, (size_t)cap * sizeof(Header));
        }
        if (headers == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        m->headers = headers;
        m->headers_cap = cap;
    }
    m->headers[m->nheaders++] = h;
    return 0;
}

static int
msg_extra_reserve(Msg *m, Py_ssize_t more)
{
    return reserve_bytes(&m->extra, &m->extra_cap, m->extra_len + more, 64);
}

/* Obsolete line folding: value + " " + line.strip(_ASCII_SPACE). */
static int
msg_fold(Msg *m, Header *h, const char *line, Py_ssize_t n)
{
    while (n > 0 && is_ascii_space((unsigned char)line[0])) {
        line++;
        n--;
    }
    while (n > 0 && is_ascii_space((unsigned char)line[n - 1])) {
        n--;
    }
    if (msg_extra_reserve(m, h->value_len + n + 1) < 0) {
        return -1;
    }
    if (!(h->value_extra && h->value_off + h->value_len == m->extra_len)) {
        const char *value = (h->value_extra ? m->extra : m->head) + h->value_off;
        memcpy(m->extra + m->extra_len, value, (size_t)h->value_len);
        h->value_off = m->extra_len;
        h->value_extra = 1;
        m->extra_len += h->value_len;
    }
    m->extra[m->extra_len++] = ' ';
    memcpy(m->extra + m->extra_len, line, (size_t)n);
    m->extra_len += n;
    h->value_len += n + 1;
    return 0;
}

static int
msg_add_body(Msg *m, const char *p, Py_ssize_t take)
{
    m->body_size += (unsigned long long)take;
    long long room = m->keep - (long long)m->body_len;
    if (room <= 0) {
        return 0;
    }
    Py_ssize_t add = room < take ? (Py_ssize_t)room : take;
    if (reserve_bytes(&m->body, &m->body_cap, m->body_len + add, 0) < 0) {
        return -1;
    }
    memcpy(m->body + m->body_len, p, (size_t)add);
    m->body_len += add;
    return 0;
}

/* _parse_head: 1 with *out set, 0 when the block is not an HTTP head, -1 on a Python error. */
static int
parse_head(const char *src, Py_ssize_t len, int is_request, long long start_ts, Msg **out)
{
    *out = NULL;
    Py_ssize_t eol = find_bytes(src, len, "\r\n", 2);
    Py_ssize_t first_len = eol < 0 ? len : eol;
    int minor, status = 0;
    Py_ssize_t method_len = 0, path_off = 0, path_len = 0, reason_off = 0, reason_len = 0;
    if (is_request) {
        const char *sp1 = memchr(src, ' ', (size_t)first_len);
        if (sp1 == NULL) {
            return 0;
        }
        const char *rest = sp1 + 1;
        const char *sp2 = memchr(rest, ' ', (size_t)(src + first_len - rest));
        if (sp2 == NULL || memchr(sp2 + 1, ' ', (size_t)(src + first_len - sp2 - 1)) != NULL) {
            return 0;
        }
        method_len = sp1 - src;
        if (method_len == 0) {
            return 0;
        }
        for (Py_ssize_t i = 0; i < method_len; i++) {
            if (src[i] < 'A' || src[i] > 'Z') {
                return 0; /* bytes.isalpha() and bytes.isupper() */
            }
        }
        const char *version = sp2 + 1;
        if (src + first_len - version != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
            !is_digit((unsigned char)version[7])) {
            return 0;
        }
        minor = version[7] - '0';
        path_off = rest - src;
        path_len = sp2 - rest;
    } else {
        if (first_len < 12 || memcmp(src, "HTTP/1.", 7) != 0 || !is_digit((unsigned char)src[7]) ||
            src[8] != ' ' || !is_digit((unsigned char)src[9]) ||
            !is_digit((unsigned char)src[10]) || !is_digit((unsigned char)src[11])) {
            return 0;
        }
        minor = src[7] - '0';
        status = (src[9] - '0') * 100 + (src[10] - '0') * 10 + (src[11] - '0');
        reason_off = 13;
        reason_len = first_len > 13 ? first_len - 13 : 0;
    }
    Msg *m = PyMem_Malloc(sizeof(Msg) + (size_t)len);
    if (m == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(m, 0, sizeof(Msg));
    m->head = (char *)(m + 1);
    memcpy(m->head, src, (size_t)len);
    m->head_len = len;
    m->start_ts = start_ts;
    m->minor = minor;
    m->status = status;
    m->method_len = method_len;
    m->path_off = path_off;
    m->path_len = path_len;
    m->reason_off = reason_off;
    m->reason_len = reason_len;
    m->headers = m->inline_headers;
    m->headers_cap = INLINE_HEADERS;
    m->h_ctype = m->h_clen = m->h_te = m->h_cenc = -1;
    if (is_request) {
        m->is_head = method_len == 4 && memcmp(src, "HEAD", 4) == 0;
        m->is_connect = method_len == 7 && memcmp(src, "CONNECT", 7) == 0;
    }
    if (eol >= 0) {
        const char *h = m->head;
        Py_ssize_t pos = eol + 2;
        for (;;) {
            Py_ssize_t le = find_bytes(h + pos, len - pos, "\r\n", 2);
            Py_ssize_t line_len = le < 0 ? len - pos : le;
            const char *line = h + pos;
            if (line_len > 0 && (line[0] == ' ' || line[0] == '\t') && m->nheaders > 0) {
                if (msg_fold(m, &m->headers[m->nheaders - 1], line, line_len) < 0) {
                    msg_free(m);
                    return -1;
                }
            } else {
                const char *colon = memchr(line, ':', (size_t)line_len);
                if (colon == NULL || colon == line) {
                    msg_free(m);
                    return 0;
                }
                const char *v = colon + 1;
                const char *ve = line + line_len;
                while (v < ve && (*v == ' ' || *v == '\t')) {
                    v++;
                }
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
                    ve--;
                }
                Header hd = {pos, colon - line, v - h, ve - v, 0};
                if (msg_add_header(m, hd) < 0) {
                    msg_free(m);
                    return -1;
                }
            }
            if (le < 0) {
                break;
            }
            pos += le + 2;
        }
        for (Py_ssize_t i = m->nheaders - 1; i >= 0; i--) {
            const char *name = h + m->headers[i].name_off;
            Py_ssize_t n = m->headers[i].name_len;
            if (n == 12 && equals_ci(name, n, "content-type")) {
                m->h_ctype = i;
            } else if (n == 14 && equals_ci(name, n, "content-length")) {
                m->h_clen = i;
            } else if (n == 17 && equals_ci(name, n, "transfer-encoding")) {
                m->h_te = i;
            } else if (n == 16 && equals_ci(name, n, "content-encoding")) {
                m->h_cenc = i;
            }
        }
    }
    *out = m;
    return 1;
}

static int
msg_value_is(const Msg *m, Py_ssize_t idx, const char *expected)
{
    if (idx < 0) {
        return 0;
    }
    const char *p;
    Py_ssize_t n;
    header_value(m, &m->headers[idx], &p, &n);
    return n == (Py_ssize_t)strlen(expected) && memcmp(p, expected, (size_t)n) == 0;
}

/* "needle" in value (an ASCII needle matches the decoded text exactly where it matches bytes). */
static int
msg_value_contains(const Msg *m, Py_ssize_t idx, const char *needle)
{
    const char *p;
    Py_ssize_t n;
    header_value(m, &m->headers[idx], &p, &n);
    return find_bytes(p, n, needle, (Py_ssize_t)strlen(needle)) >= 0;
}

/* "chunked" in te.lower(): 1/0, -1 on a Python error. */
static int
value_is_chunked(const Msg *m, Py_ssize_t idx)
{
    const char *p;
    Py_ssize_t n;
    header_value(m, &m->headers[idx], &p, &n);
    if (all_ascii(p, n)) {
        return contains_ci(p, n, "chunked");
    }
    PyObject *value = text(p, n);
    if (value == NULL) {
        return -1;
    }
    PyObject *lower = PyObject_CallMethod(value, "lower", NULL);
    Py_DECREF(value);
    if (lower == NULL) {
        return -1;
    }
    int found = PySequence_Contains(lower, g_str_chunked);
    Py_DECREF(lower);
    return found;
}

static unsigned long long
saturated_u64(PyObject *number)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(number);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear(); /* above 2**64-1: counts as 2**64-1 (see the top of this file) */
        return UINT64_MAX;
    }
    return v;
}

/* length_text.strip(), .isdigit(), int(): 1 with *out, 0 when not digits, -1 on a Python error
 * (int() refusing what isdigit() accepted: the safety net's case). */
static int
content_length(const Msg *m, Py_ssize_t idx, unsigned long long *out)
{
    const char *p;
    Py_ssize_t n;
    header_value(m, &m->headers[idx], &p, &n);
    PyObject *stripped;
    if (all_ascii(p, n)) {
        while (n > 0 && is_py_space((unsigned char)p[0])) {
            p++;
            n--;
        }
        while (n > 0 && is_py_space((unsigned char)p[n - 1])) {
            n--;
        }
        if (n == 0) {
            return 0;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!is_digit((unsigned char)p[i])) {
                return 0;
            }
        }
        if (n <= 18) {
            unsigned long long v = 0;
            for (Py_ssize_t i = 0; i < n; i++) {
                v = v * 10 + (unsigned long long)(p[i] - '0');
            }
            *out = v;
            return 1;
        }
        stripped = PyUnicode_FromStringAndSize(p, n);
        if (stripped == NULL) {
            return -1;
        }
    } else {
        PyObject *value = text(p, n);
        if (value == NULL) {
            return -1;
        }
        stripped = PyObject_CallMethod(value, "strip", NULL);
        Py_DECREF(value);
        if (stripped == NULL) {
            return -1;
        }
        PyObject *isdigit = PyObject_CallMethod(stripped, "isdigit", NULL);
        if (isdigit == NULL) {
            Py_DECREF(stripped);
            return -1;
        }
        int digits = PyObject_IsTrue(isdigit);
        Py_DECREF(isdigit);
        if (digits <= 0) {
            Py_DECREF(stripped);
            return digits;
        }
    }
    PyObject *number = PyNumber_Long(stripped);
    Py_DECREF(stripped);
    if (number == NULL) {
        return -1;
    }
    *out = saturated_u64(number);
    Py_DECREF(number);
    return 1;
}

/* ---- HttpRecord ------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    long long request_timestamp_ns;
    long long response_timestamp_ns;
    long long max_body_bytes;
    Msg *request;
    Msg *response;
} HttpRecordObject;

static PyTypeObject HttpRecordType;

static void
record_dealloc(HttpRecordObject *self)
{
    msg_free(self->request);
    msg_free(self->response);
    PyObject_Free(self);
}

/* A growable output buffer for the header JSON. */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
    char small[1024];
} Buf;

static int
buf_reserve(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap) {
        return 0;
    }
    Py_ssize_t cap = b->cap * 2;
    if (cap < b->len + more) {
        cap = b->len + more;
    }
    char *p;
    if (b->p == b->small) {
        p = PyMem_Malloc((size_t)cap);
        if (p != NULL) {
            memcpy(p, b->small, (size_t)b->len);
        }
    } else {
        p = PyMem_Realloc(b->p, (size_t)cap);
    }
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Length of the UTF-8 sequence at p (2..4) when valid; else minus the number of bytes one
 * U+FFFD replaces, as CPython's decoder with errors="replace" does (maximal subpart). */
static Py_ssize_t
utf8_sequence(const unsigned char *p, Py_ssize_t n)
{
    unsigned char c = p[0];
    if (c < 0xC2 || c > 0xF4) {
        return -1;
    }
    int need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) {
        lo = 0xA0;
    } else if (c == 0xED) {
        hi = 0x9F;
    } else if (c == 0xF0) {
        lo = 0x90;
    } else if (c == 0xF4) {
        hi = 0x8F;
    }
    if (n < 2 || p[1] < lo || p[1] > hi) {
        return -1;
    }
    for (int i = 2; i <= need; i++) {
        if (n <= i || p[i] < 0x80 || p[i] > 0xBF) {
            return -i;
        }
    }
    return need + 1;
}

/* Appends json.encoder.encode_basestring(bytes.decode("utf-8", "replace")) without quotes. */
/* The caller has reserved 6 * n bytes (the longest escape, \u00XX, per input byte). */
static void
buf_json_text(Buf *b, const char *src, Py_ssize_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)src;
    char *o = b->p + b->len;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') {
            run++;
        }
        if (run > i) {
            memcpy(o, p + i, (size_t)(run - i));
            o += run - i;
            i = run;
            if (i == n) {
                break;
            }
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            Py_ssize_t k = utf8_sequence(p + i, n - i);
            if (k > 0) {
                memcpy(o, p + i, (size_t)k);
                o += k;
                i += k;
            } else {
                *o++ = (char)0xEF;
                *o++ = (char)0xBF;
                *o++ = (char)0xBD;
                i += -k;
            }
            continue;
        }
        i++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    b->len = o - b->p;
}

/* The sort key of a header: its name lower-cased, as UTF-8 (whose byte order is code point
 * order). ASCII names are lower-cased while comparing; others hold str.lower()'s result. */
typedef struct {
    const char *p;
    Py_ssize_t n;
} Key;

static int
key_less(const Key *a, const Key *b)
{
    Py_ssize_t n = a->n < b->n ? a->n : b->n;
    for (Py_ssize_t i = 0; i < n; i++) {
        int x = lower_ascii((unsigned char)a->p[i]);
        int y = lower_ascii((unsigned char)b->p[i]);
        if (x != y) {
            return x < y;
        }
    }
    return a->n < b->n;
}

/* Stable merge sort of order[0:n] by keys. */
static void
sort_headers(Py_ssize_t *order, Py_ssize_t *tmp, Py_ssize_t n, const Key *keys)
{
    if (n <= 16) { /* insertion sort: stable, and one pass over headers already in order */
        for (Py_ssize_t i = 1; i < n; i++) {
            Py_ssize_t moving = order[i];
            Py_ssize_t j = i;
            while (j > 0 && key_less(&keys[moving], &keys[order[j - 1]])) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = moving;
        }
        return;
    }
    Py_ssize_t half = n / 2;
    sort_headers(order, tmp, half, keys);
    sort_headers(order + half, tmp, n - half, keys);
    if (!key_less(&keys[order[half]], &keys[order[half - 1]])) {
        return; /* already in order */
    }
    memcpy(tmp, order, (size_t)n * sizeof(Py_ssize_t));
    Py_ssize_t i = 0, j = half, k = 0;
    while (i < half && j < n) {
        if (key_less(&keys[tmp[j]], &keys[tmp[i]])) {
            order[k++] = tmp[j++];
        } else {
            order[k++] = tmp[i++];
        }
    }
    while (i < half) {
        order[k++] = tmp[i++];
    }
    while (j < n) {
        order[k++] = tmp[j++];
    }
}

/* _headers_json: the headers sorted case-insensitively (stable), as compact JSON, cut at
 * MAX_HEADERS_JSON_CHARS characters. */
static PyObject *
headers_json(const Msg *m)
{
    Py_ssize_t n = m->nheaders;
    PyObject *result = NULL;
    Key small_keys[INLINE_HEADERS] = {{NULL, 0}};
    Py_ssize_t small_order[2 * INLINE_HEADERS];
    Key *keys = small_keys;
    Py_ssize_t *order = small_order;
    PyObject **lowered = NULL; /* str.lower() results, UTF-8 borrowed from them */
    Buf b;
    b.p = b.small;
    b.len = 0;
    b.cap = sizeof(b.small);
    if (n > INLINE_HEADERS) {
        keys = PyMem_Malloc((size_t)n * sizeof(Key));
        order = PyMem_Malloc((size_t)n * 2 * sizeof(Py_ssize_t));
        if (keys == NULL || order == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const Header *h = &m->headers[i];
        keys[i].p = m->head + h->name_off;
        keys[i].n = h->name_len;
        order[i] = i;
        if (all_ascii(keys[i].p, keys[i].n)) {
            continue;
        }
        if (lowered == NULL) {
            lowered = PyMem_Calloc((size_t)n, sizeof(PyObject *));
            if (lowered == NULL) {
                PyErr_NoMemory();
                goto done;
            }
        }
        PyObject *name = text(keys[i].p, keys[i].n);
        if (name == NULL) {
            goto done;
        }
        lowered[i] = PyObject_CallMethod(name, "lower", NULL);
        Py_DECREF(name);
        if (lowered[i] == NULL) {
            goto done;
        }
        keys[i].p = PyUnicode_AsUTF8AndSize(lowered[i], &keys[i].n);
        if (keys[i].p == NULL) {
            goto done;
        }
    }
    sort_headers(order, order + n, n, keys);
    /* Room for everything at once: 6 output bytes per input byte at most, 6 of punctuation per
     * header, the braces and the suffix. */
    Py_ssize_t room = 2 + g_truncated_len;
    for (Py_ssize_t i = 0; i < n; i++) {
        room += 6 * (m->headers[i].name_len + m->headers[i].value_len) + 6;
    }
    if (buf_reserve(&b, room) < 0) {
        goto done;
    }
    b.p[b.len++] = '{';
    for (Py_ssize_t k = 0; k < n; k++) {
        const Header *h = &m->headers[order[k]];
        const char *value;
        Py_ssize_t value_len;
        header_value(m, h, &value, &value_len);
        if (k > 0) {
            b.p[b.len++] = ',';
        }
        b.p[b.len++] = '"';
        buf_json_text(&b, m->head + h->name_off, h->name_len);
        memcpy(b.p + b.len, "\":\"", 3);
        b.len += 3;
        buf_json_text(&b, value, value_len);
        b.p[b.len++] = '"';
    }
    b.p[b.len++] = '}';
    if (b.len > MAX_HEADERS_JSON_CHARS) {
        /* Count characters (UTF-8 lead bytes); cut after the limit-th one. */
        Py_ssize_t chars = 0, cut = -1;
        for (Py_ssize_t i = 0; i < b.len; i++) {
            if (((unsigned char)b.p[i] & 0xC0) != 0x80) {
                if (chars == MAX_HEADERS_JSON_CHARS) {
                    cut = i;
                    break;
                }
                chars++;
            }
        }
        if (cut >= 0) {
            memcpy(b.p + cut, g_truncated_utf8, (size_t)g_truncated_len);
            b.len = cut + g_truncated_len;
        }
    }
    result = PyUnicode_DecodeUTF8(b.p, b.len, NULL);
done:
    if (b.p != b.small) {
        PyMem_Free(b.p);
    }
    if (lowered != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_XDECREF(lowered[i]);
        }
        PyMem_Free(lowered);
    }
    if (keys != small_keys) {
        PyMem_Free(keys);
    }
    if (order != small_order) {
        PyMem_Free(order);
    }
    return result;
}

/* _body_text: text(kept[:limit]) (Python slice semantics), + TRUNCATED_SUFFIX when cut. */
static PyObject *
body_text(const char *kept, Py_ssize_t kept_len, unsigned long long full_size, long long limit)
{
    Py_ssize_t end;
    if (limit >= 0) {
        end = (long long)kept_len < limit ? kept_len : (Py_ssize_t)limit;
    } else {
        end = (long long)kept_len + limit > 0 ? (Py_ssize_t)((long long)kept_len + limit) : 0;
    }
    PyObject *body = text(kept, end);
    if (body == NULL) {
        return NULL;
    }
    if (limit < 0 || full_size > (unsigned long long)limit) {
        PyObject *cut = PyUnicode_Concat(body, g_truncated);
        Py_DECREF(body);
        return cut;
    }
    return body;
}

static PyObject *
response_body(const Msg *resp, long long limit)
{
    if (resp->h_ctype < 0) {
        PyObject *s = resp->body_size > 0 ? g_removed_unknown : g_empty;
        Py_INCREF(s);
        return s;
    }
    if (!msg_value_contains(resp, resp->h_ctype, "json") &&
        !msg_value_contains(resp, resp->h_ctype, "text/")) {
        Py_INCREF(g_removed_nontext);
        return g_removed_nontext;
    }
    if (!msg_value_is(resp, resp->h_cenc, "gzip")) {
        return body_text(resp->body, resp->body_len, resp->body_size, limit);
    }
    PyObject *inflated = NULL;
    PyObject *inflater = PyObject_CallFunction(g_decompressobj, "l", 16 + g_max_wbits);
    if (inflater != NULL) {
        inflated = PyObject_CallMethod(inflater, "decompress", "y#L",
                                       resp->body ? resp->body : "", resp->body_len, limit + 1);
        Py_DECREF(inflater);
    }
    if (inflated == NULL) {
        if (PyErr_ExceptionMatches(g_zlib_error)) {
            PyErr_Clear();
            Py_INCREF(g_gunzip_failed);
            return g_gunzip_failed;
        }
        return NULL;
    }
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(inflated, &p, &n) < 0) {
        Py_DECREF(inflated);
        return NULL;
    }
    PyObject *body = body_text(p, n, (unsigned long long)n, limit);
    Py_DECREF(inflated);
    return body;
}

/* The 13 protocol columns (K_* order) as new references; 0, or -1 with an exception set and
 * nothing left in values. */
static int
record_values(HttpRecordObject *self, PyObject *values[K_COUNT])
{
    const Msg *req = self->request;
    const Msg *resp = self->response;
    long long limit = self->max_body_bytes;
    int json = resp->h_ctype >= 0 && msg_value_contains(resp, resp->h_ctype, "json");
    values[K_MAJOR] = PyLong_FromLong(1);
    values[K_MINOR] = PyLong_FromLong(resp->minor);
    values[K_CTYPE] = PyLong_FromLong(json ? 1 : 0);
    values[K_REQ_HEADERS] = headers_json(req);
    values[K_REQ_METHOD] = PyUnicode_FromStringAndSize(req->head, req->method_len);
    values[K_REQ_PATH] = text(req->head + req->path_off, req->path_len);
    values[K_REQ_BODY] = body_text(req->body, req->body_len, req->body_size, limit);
    values[K_REQ_BODY_SIZE] = PyLong_FromUnsignedLongLong(req->body_size);
    values[K_RESP_HEADERS] = headers_json(resp);
    values[K_RESP_STATUS] = PyLong_FromLong(resp->status);
    values[K_RESP_MESSAGE] = text(resp->head + resp->reason_off, resp->reason_len);
    values[K_RESP_BODY] = response_body(resp, limit);
    values[K_RESP_BODY_SIZE] = PyLong_FromUnsignedLongLong(resp->body_size);
    for (int k = 0; k < K_COUNT; k++) {
        if (values[k] == NULL) {
            for (int j = 0; j < K_COUNT; j++) {
                Py_CLEAR(values[j]);
            }
            return -1;
        }
    }
    return 0;
}

static PyObject *
record_to_row(HttpRecordObject *self, PyObject *unused)
{
    PyObject *values[K_COUNT];
    if (record_values(self, values) < 0) {
        return NULL;
    }
    PyObject *row = PyDict_Copy(g_row_template);
    int rc = row == NULL ? -1 : 0;
    for (int k = 0; k < K_COUNT; k++) {
        if (rc == 0) {
            rc = PyDict_SetItem(row, g_keys[k], values[k]);
        }
        Py_DECREF(values[k]);
    }
    if (rc < 0) {
        Py_XDECREF(row);
        return NULL;
    }
    return row;
}

/* Columns of a full http_events row (COLUMNS): time_, the 7 connection columns given to
 * row_values(), the 13 of to_row(), latency. */
#define N_CONN_COLUMNS 7
#define N_ROW_COLUMNS (1 + N_CONN_COLUMNS + K_COUNT + 1)
static const char *const CONN_COLUMNS[N_CONN_COLUMNS] = {
    "upid", "remote_addr", "remote_port", "local_addr", "local_port", "trace_role", "encrypted",
};

/* A whole http_events row as a tuple in COLUMNS order: what the socket tracer would build from
 * to_row(), the connection's columns, time_ and latency, without the dict. */
static PyObject *
record_row_values(HttpRecordObject *self, PyObject *conn)
{
    if (!PyTuple_Check(conn) || PyTuple_GET_SIZE(conn) != N_CONN_COLUMNS) {
        PyErr_Format(PyExc_TypeError, "row_values() takes a tuple of the %d connection columns",
                     N_CONN_COLUMNS);
        return NULL;
    }
    long long req_ns = self->request_timestamp_ns;
    long long resp_ns = self->response_timestamp_ns;
    long long latency = req_ns && resp_ns ? (resp_ns > req_ns ? resp_ns - req_ns : 0) : 0;
    PyObject *values[K_COUNT];
    if (record_values(self, values) < 0) {
        return NULL;
    }
    PyObject *row = PyTuple_New(N_ROW_COLUMNS);
    PyObject *time_ = PyLong_FromLongLong(resp_ns ? resp_ns : req_ns);
    PyObject *lat = PyLong_FromLongLong(latency);
    if (row == NULL || time_ == NULL || lat == NULL) {
        Py_XDECREF(row);
        Py_XDECREF(time_);
        Py_XDECREF(lat);
        for (int k = 0; k < K_COUNT; k++) {
            Py_DECREF(values[k]);
        }
        return NULL;
    }
    PyTuple_SET_ITEM(row, 0, time_);
    for (int i = 0; i < N_CONN_COLUMNS; i++) {
        PyObject *item = PyTuple_GET_ITEM(conn, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(row, 1 + i, item);
    }
    for (int k = 0; k < K_COUNT; k++) {
        PyTuple_SET_ITEM(row, 1 + N_CONN_COLUMNS + k, values[k]); /* steals */
    }
    PyTuple_SET_ITEM(row, N_ROW_COLUMNS - 1, lat);
    return row;
}

static PyObject *
row_columns(void)
{
    PyObject *names = PyTuple_New(N_ROW_COLUMNS);
    if (names == NULL) {
        return NULL;
    }
    for (int i = 0; i < N_ROW_COLUMNS; i++) {
        const char *name = i == 0                             ? "time_"
                           : i <= N_CONN_COLUMNS              ? CONN_COLUMNS[i - 1]
                           : i < N_ROW_COLUMNS - 1            ? ROW_KEYS[i - 1 - N_CONN_COLUMNS]
                                                              : "latency";
        PyObject *item = PyUnicode_InternFromString(name);
        if (item == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        PyTuple_SET_ITEM(names, i, item);
    }
    return names;
}

static PyMethodDef record_methods[] = {
    {"to_row", (PyCFunction)record_to_row, METH_NOARGS,
     "The protocol-specific columns of http_events (after COMMON8, without latency)."},
    {"row_values", (PyCFunction)record_row_values, METH_O,
     "row_values(conn) -> the whole http_events row as a tuple in COLUMNS order; conn is the "
     "tuple (upid, remote_addr, remote_port, local_addr, local_port, trace_role, encrypted)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef record_members[] = {
    {"request_timestamp_ns", T_LONGLONG, offsetof(HttpRecordObject, request_timestamp_ns),
     READONLY, NULL},
    {"response_timestamp_ns", T_LONGLONG, offsetof(HttpRecordObject, response_timestamp_ns),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject HttpRecordType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pyxie_stirling.protocols._http_native.HttpRecord",
    .tp_basicsize = sizeof(HttpRecordObject),
    .tp_dealloc = (destructor)record_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One HTTP/1 request/response pair, ready to become a row of http_events.",
    .tp_methods = record_methods,
    .tp_members = record_members,
};

/* ---- HttpParser ------------------------------------------------------------------------------ */

typedef struct {
    int is_request;
    int state;
    Stream stream;
    Msg *msg;
    unsigned long long remaining;
    /* No "\r\n\r\n" starts before buf[scanned - 3] while the stream's base is scanned_base: a
     * header block arriving in many chunks is searched once, not once per chunk. */
    long long scanned_base;
    Py_ssize_t scanned;
} Half;

/* Where buf[0:len] has its first "\r\n\r\n", or -1; remembers how far it looked. */
static Py_ssize_t
find_blank_line(Half *half, const char *buf, Py_ssize_t len)
{
    Py_ssize_t from = 0;
    if (half->scanned_base == half->stream.base && half->scanned <= len && half->scanned > 3) {
        from = half->scanned - 3;
    }
    Py_ssize_t found = find_crlfcrlf(buf + from, len - from);
    if (found >= 0) {
        return found + from;
    }
    half->scanned_base = half->stream.base;
    half->scanned = len;
    return -1;
}

typedef struct {
    PyObject_HEAD
    PyObject *role;
    PyObject *records;           /* list of HttpRecord */
    PyObject *request_direction; /* NULL until known */
    long long max_body_bytes;
    long long parse_errors;
    long long dropped_requests;
    long long unmatched_responses;
    long long internal_errors;
    char closed;
    Half req, resp;
    Msg **pending; /* ring buffer of requests waiting for responses */
    Py_ssize_t pend_head, pend_count, pend_cap;
} HttpParserObject;

static void
half_reset(Half *half, int state)
{
    stream_clear(&half->stream);
    half->state = state;
    msg_free(half->msg);
    half->msg = NULL;
    half->remaining = 0;
}

static Msg *
pending_front(HttpParserObject *self)
{
    return self->pend_count ? self->pending[self->pend_head] : NULL;
}

static Msg *
pending_pop(HttpParserObject *self)
{
    Msg *m = self->pending[self->pend_head];
    self->pend_head = (self->pend_head + 1) % self->pend_cap;
    self->pend_count--;
    return m;
}

static int
pending_push(HttpParserObject *self, Msg *m)
{
    if (self->pend_count == self->pend_cap) {
        Py_ssize_t cap = self->pend_cap ? self->pend_cap * 2 : 8;
        Msg **ring = PyMem_Malloc((size_t)cap * sizeof(Msg *));
        if (ring == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < self->pend_count; i++) {
            ring[i] = self->pending[(self->pend_head + i) % self->pend_cap];
        }
        PyMem_Free(self->pending);
        self->pending = ring;
        self->pend_head = 0;
        self->pend_cap = cap;
    }
    self->pending[(self->pend_head + self->pend_count++) % self->pend_cap] = m;
    return 0;
}

static void
pending_clear(HttpParserObject *self)
{
    while (self->pend_count) {
        msg_free(pending_pop(self));
    }
}

static void
parser_reset(HttpParserObject *self)
{
    half_reset(&self->req, ST_HEAD);
    half_reset(&self->resp, ST_HEAD);
    pending_clear(self);
}

static int
emit(HttpParserObject *self, Msg *request, Msg *response)
{
    HttpRecordObject *rec = PyObject_New(HttpRecordObject, &HttpRecordType);
    if (rec == NULL) {
        msg_free(request);
        msg_free(response);
        return -1;
    }
    rec->request_timestamp_ns = request->start_ts;
    rec->response_timestamp_ns = response->end_ts;
    rec->max_body_bytes = self->max_body_bytes;
    rec->request = request;
    rec->response = response;
    int rc = PyList_Append(self->records, (PyObject *)rec);
    Py_DECREF(rec);
    return rc;
}

static int
complete(HttpParserObject *self, Half *half)
{
    Msg *m = half->msg;
    half->msg = NULL;
    half->remaining = 0;
    half->state = ST_HEAD;
    if (half->is_request) {
        if (self->pend_count >= g_max_pending) {
            msg_free(pending_pop(self));
            self->dropped_requests++;
        }
        if (pending_push(self, m) < 0) {
            msg_free(m);
            return -1;
        }
        return 0;
    }
    int status = m->status;
    if (status >= 100 && status < 200 && status != 101) {
        msg_free(m); /* interim response (100 Continue, 103 Early Hints): the real one follows */
        return 0;
    }
    if (!self->pend_count) {
        self->unmatched_responses++;
        msg_free(m);
        return 0;
    }
    Msg *request = pending_pop(self);
    int tunnel = status == 101 || (request->is_connect && status >= 200 && status < 300);
    if (emit(self, request, m) < 0) {
        return -1;
    }
    if (tunnel) {
        /* The connection now carries another protocol (WebSocket, h2c, a tunnel). */
        half_reset(&self->req, ST_DEAD);
        half_reset(&self->resp, ST_DEAD);
        pending_clear(self);
    }
    return 0;
}

static int
start_body(HttpParserObject *self, Half *half, Msg *m)
{
    m->keep = self->max_body_bytes;
    int chunked = 0;
    if (m->h_te >= 0) {
        chunked = value_is_chunked(m, m->h_te);
        if (chunked < 0) {
            return -1;
        }
    }
    if (!half->is_request) {
        if (msg_value_is(m, m->h_cenc, "gzip")) {
            m->keep = self->max_body_bytes > GZIP_KEEP_BYTES ? self->max_body_bytes : GZIP_KEEP_BYTES;
        }
        Msg *request = pending_front(self);
        int status = m->status;
        if ((request != NULL && request->is_head) || (status >= 100 && status < 200) ||
            status == 204 || status == 304) {
            return complete(self, half);
        }
        if (request != NULL && request->is_connect && status >= 200 && status < 300) {
            return complete(self, half);
        }
    }
    if (chunked) {
        half->state = ST_CHUNK_SIZE;
        return 0;
    }
    if (m->h_clen >= 0) {
        unsigned long long length = 0;
        int ok = content_length(m, m->h_clen, &length);
        if (ok < 0) {
            return -1;
        }
        if (ok == 0) {
            self->parse_errors++;
            half->state = ST_RESYNC;
            msg_free(half->msg);
            half->msg = NULL;
            return 0;
        }
        half->remaining = length;
        if (length == 0) {
            return complete(self, half);
        }
        half->state = ST_BODY_LEN;
        return 0;
    }
    if (half->is_request) {
        return complete(self, half); /* no length, no chunking: a request has no body */
    }
    half->state = ST_BODY_CLOSE; /* the body runs until the connection closes */
    return 0;
}

static void
garbage(HttpParserObject *self, Half *half)
{
    self->parse_errors++;
    msg_free(half->msg);
    half->msg = NULL;
    half->remaining = 0;
    stream_consume(&half->stream, 1); /* never re-match at the same place */
    half->state = ST_RESYNC;
}

static const char *const REQUEST_STARTS[] = {
    "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ", "TRACE ", "PATCH ",
};
#define N_REQUEST_STARTS (sizeof(REQUEST_STARTS) / sizeof(REQUEST_STARTS[0]))

static int
request_start_at(const char *p, Py_ssize_t n)
{
    for (size_t k = 0; k < N_REQUEST_STARTS; k++) {
        Py_ssize_t m = (Py_ssize_t)strlen(REQUEST_STARTS[k]);
        if (n >= m && memcmp(p, REQUEST_STARTS[k], (size_t)m) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
plausible_start(const char *buf, Py_ssize_t n, int is_request)
{
    if (is_request) {
        Py_ssize_t head = n < 8 ? n : 8;
        for (size_t k = 0; k < N_REQUEST_STARTS; k++) {
            Py_ssize_t m = (Py_ssize_t)strlen(REQUEST_STARTS[k]);
            Py_ssize_t cmp = head < m ? head : m;
            if (memcmp(buf, REQUEST_STARTS[k], (size_t)cmp) == 0) {
                return 1;
            }
        }
        return 0;
    }
    Py_ssize_t cmp = n < 7 ? n : 7;
    return memcmp(buf, "HTTP/1.", (size_t)cmp) == 0;
}

/* Skip to the next plausible message start; 0 when more data is needed. */
static int
resync(Half *half)
{
    Stream *s = &half->stream;
    const char *buf = stream_buf(s);
    Py_ssize_t best = -1;
    if (half->is_request) {
        for (Py_ssize_t i = 0; i < s->len; i++) {
            if (buf[i] >= 'C' && buf[i] <= 'T' && request_start_at(buf + i, s->len - i)) {
                best = i;
                break;
            }
        }
    } else {
        best = find_bytes(buf, s->len, "HTTP/1.", 7);
    }
    if (best < 0) {
        /* Keep a tail in case a start pattern straddles this chunk and the next. */
        stream_consume(s, s->len > 8 ? s->len - 8 : 0);
        return 0;
    }
    stream_consume(s, best);
    half->state = ST_HEAD;
    return 1;
}

static int
parse(HttpParserObject *self, Half *half)
{
    Stream *s = &half->stream;
    for (;;) {
        const char *buf = stream_buf(s);
        Py_ssize_t len = s->len;
        Msg *m = half->msg;
        switch (half->state) {
        case ST_HEAD: {
            if (len == 0) {
                return 0;
            }
            Py_ssize_t end = find_blank_line(half, buf, len);
            if (end < 0) {
                if (len > MAX_HEADER_BYTES || !plausible_start(buf, len, half->is_request)) {
                    garbage(self, half);
                    continue;
                }
                return 0;
            }
            int ok = parse_head(buf, end, half->is_request, stream_ts_at(s, 0), &m);
            if (ok < 0) {
                return -1;
            }
            if (ok == 0) {
                garbage(self, half);
                continue;
            }
            m->end_ts = stream_ts_at(s, end + 3);
            stream_consume(s, end + 4);
            half->msg = m;
            if (start_body(self, half, m) < 0) {
                return -1;
            }
            break;
        }
        case ST_BODY_LEN: {
            if (len == 0) {
                return 0;
            }
            Py_ssize_t take = half->remaining < (unsigned long long)len ? (Py_ssize_t)half->remaining
                                                                        : len;
            if (msg_add_body(m, buf, take) < 0) {
                return -1;
            }
            m->end_ts = stream_ts_at(s, take - 1);
            stream_consume(s, take);
            half->remaining -= (unsigned long long)take;
            if (half->remaining == 0 && complete(self, half) < 0) {
                return -1;
            }
            break;
        }
        case ST_CHUNK_SIZE: {
            Py_ssize_t eol = find_bytes(buf, len, "\r\n", 2);
            if (eol < 0) {
                if (len > MAX_CHUNK_LINE) {
                    garbage(self, half);
                    continue;
                }
                return 0;
            }
            const char *p = buf;
            const char *e = memchr(buf, ';', (size_t)eol);
            if (e == NULL) {
                e = buf + eol;
            }
            while (p < e && (*p == ' ' || *p == '\t')) {
                p++;
            }
            while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }
            int valid = e > p && e - p <= 16;
            unsigned long long size = 0;
            for (const char *q = p; valid && q < e; q++) {
                int d = hex_value((unsigned char)*q);
                if (d < 0) {
                    valid = 0;
                }
                size = size * 16 + (unsigned long long)d;
            }
            if (!valid) {
                garbage(self, half);
                continue;
            }
            stream_consume(s, eol + 2);
            if (size == 0) {
                half->state = ST_TRAILERS;
            } else {
                half->remaining = size;
                half->state = ST_CHUNK_DATA;
            }
            break;
        }
        case ST_CHUNK_DATA: {
            if (len == 0) {
                return 0;
            }
            Py_ssize_t take = half->remaining < (unsigned long long)len ? (Py_ssize_t)half->remaining
                                                                        : len;
            if (msg_add_body(m, buf, take) < 0) {
                return -1;
            }
            stream_consume(s, take);
            half->remaining -= (unsigned long long)take;
            if (half->remaining == 0) {
                half->state = ST_CHUNK_CRLF;
            }
            break;
        }
        case ST_CHUNK_CRLF:
            if (len < 2) {
                return 0;
            }
            if (buf[0] != '\r' || buf[1] != '\n') {
                garbage(self, half);
                continue;
            }
            stream_consume(s, 2);
            half->state = ST_CHUNK_SIZE;
            break;
        case ST_TRAILERS: {
            if (len < 2) {
                return 0;
            }
            Py_ssize_t end;
            if (buf[0] == '\r' && buf[1] == '\n') {
                end = 2;
            } else {
                Py_ssize_t found = find_blank_line(half, buf, len);
                if (found < 0) {
                    if (len > MAX_HEADER_BYTES) {
                        garbage(self, half);
                        continue;
                    }
                    return 0;
                }
                end = found + 4;
            }
            m->end_ts = stream_ts_at(s, end - 1);
            stream_consume(s, end);
            if (complete(self, half) < 0) {
                return -1;
            }
            break;
        }
        case ST_BODY_CLOSE:
            if (len > 0) {
                if (msg_add_body(m, buf, len) < 0) {
                    return -1;
                }
                m->end_ts = stream_ts_at(s, len - 1);
                stream_clear(s);
            }
            return 0;
        case ST_RESYNC:
            if (!resync(half)) {
                return 0;
            }
            break;
        default: /* ST_DEAD */
            stream_clear(s);
            return 0;
        }
    }
}

static int
on_gap(HttpParserObject *self, Half *half, long long lost, long long ts)
{
    Msg *m = half->msg;
    if (m != NULL && half->state == ST_BODY_CLOSE) {
        m->body_size += (unsigned long long)lost; /* the body just has a hole; keep counting */
        return 0;
    }
    if (m != NULL && half->state == ST_BODY_LEN && (unsigned long long)lost <= half->remaining) {
        m->body_size += (unsigned long long)lost;
        half->remaining -= (unsigned long long)lost;
        if (half->remaining == 0) {
            /* The lost bytes were exactly the rest of the body: the message is complete. */
            m->end_ts = ts;
            return complete(self, half);
        }
        return 0;
    }
    self->parse_errors++;
    half_reset(half, ST_RESYNC);
    if (!half->is_request) {
        /* Responses to requests sent before the gap may be among the lost bytes. */
        Msg *front;
        while ((front = pending_front(self)) != NULL && front->start_ts < ts) {
            msg_free(pending_pop(self));
            self->dropped_requests++;
        }
    }
    return 0;
}

static int
do_feed(HttpParserObject *self, int is_request, const char *data, Py_ssize_t n, long long ts,
        long long lost)
{
    Half *half = is_request ? &self->req : &self->resp;
    if (half->state == ST_DEAD) {
        return 0;
    }
    if (lost > 0 && on_gap(self, half, lost, ts) < 0) {
        return -1;
    }
    if (n > 0) {
        if (stream_append(&half->stream, data, n, ts) < 0) {
            return -1;
        }
        return parse(self, half);
    }
    return 0;
}

static int
expire(HttpParserObject *self, long long cutoff)
{
    Half *resp = &self->resp;
    if (resp->state == ST_BODY_CLOSE && resp->msg != NULL && resp->msg->end_ts < cutoff) {
        if (complete(self, resp) < 0) { /* a close-delimited body that went quiet */
            return -1;
        }
    }
    Msg *front;
    while ((front = pending_front(self)) != NULL && front->start_ts < cutoff) {
        msg_free(pending_pop(self));
        self->dropped_requests++;
    }
    Half *halves[2] = {&self->req, &self->resp};
    for (int i = 0; i < 2; i++) {
        Half *half = halves[i];
        long long started;
        if (half->msg != NULL) {
            started = half->msg->start_ts;
        } else if (half->stream.len > 0) {
            started = stream_ts_at(&half->stream, 0);
        } else {
            continue;
        }
        if (started < cutoff) {
            half_reset(half, ST_HEAD);
        }
    }
    return 0;
}

/* The safety net's catch: Exception subclasses only, like `except Exception`. */
static int
caught(void)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return 0;
    }
    PyErr_Clear();
    return 1;
}

static PyObject *
parser_feed(HttpParserObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* feed(direction, data, timestamp_ns, *, lost_bytes=0), parsed by hand: it runs per chunk. */
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *lost_obj = NULL;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, "lost_bytes") != 0) {
            PyErr_Format(PyExc_TypeError, "feed() got an unexpected keyword argument '%S'", name);
            return NULL;
        }
        lost_obj = args[nargs + i];
    }
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "feed() takes 3 positional arguments but %zd were given",
                     nargs);
        return NULL;
    }
    if (self->closed) {
        Py_RETURN_NONE; /* everything after close() is ignored, unlooked at */
    }
    PyObject *direction = args[0], *data = args[1];
    long long ts = PyLong_AsLongLong(args[2]);
    if (ts == -1 && PyErr_Occurred()) {
        return NULL;
    }
    long long lost = 0;
    if (lost_obj != NULL) {
        lost = PyLong_AsLongLong(lost_obj);
        if (lost == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    Py_buffer view;
    view.obj = NULL;
    if (PyBytes_CheckExact(data)) {
        view.buf = PyBytes_AS_STRING(data);
        view.len = PyBytes_GET_SIZE(data);
    } else if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (view.len == 0 && lost <= 0) {
        if (view.obj != NULL) {
            PyBuffer_Release(&view);
        }
        Py_RETURN_NONE;
    }
    if (self->request_direction == NULL) {
        PyObject *guess = direction;
        int looks_like_request = 0;
        for (size_t k = 0; k < N_REQUEST_STARTS && !looks_like_request; k++) {
            Py_ssize_t m = (Py_ssize_t)strlen(REQUEST_STARTS[k]);
            looks_like_request = view.len >= m && memcmp(view.buf, REQUEST_STARTS[k], (size_t)m) == 0;
        }
        if (!looks_like_request) {
            guess = direction == g_egress ? g_ingress : g_egress;
        }
        Py_INCREF(guess);
        self->request_direction = guess;
    }
    int rc = do_feed(self, direction == self->request_direction, view.buf, view.len, ts, lost);
    if (view.obj != NULL) {
        PyBuffer_Release(&view);
    }
    if (rc < 0) {
        if (!caught()) {
            return NULL;
        }
        self->internal_errors++;
        self->parse_errors++;
        parser_reset(self);
    }
    Py_RETURN_NONE;
}

static PyObject *
parser_records(HttpParserObject *self, PyObject *unused)
{
    PyObject *fresh = PyList_New(0);
    if (fresh == NULL) {
        return NULL;
    }
    PyObject *out = self->records;
    self->records = fresh;
    return out;
}

static PyObject *
parser_flush(HttpParserObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"now_ns", NULL};
    long long now;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "L:flush", kwlist, &now)) {
        return NULL;
    }
    if (expire(self, now - g_timeout_ns) < 0) {
        if (!caught()) {
            return NULL;
        }
        self->internal_errors++;
        parser_reset(self);
    }
    Py_RETURN_NONE;
}

static PyObject *
parser_close(HttpParserObject *self, PyObject *unused)
{
    if (self->closed) {
        Py_RETURN_NONE;
    }
    int rc = 0;
    if (self->resp.state == ST_BODY_CLOSE && self->resp.msg != NULL) {
        rc = complete(self, &self->resp);
    }
    if (rc == 0) {
        self->dropped_requests += self->pend_count;
    } else {
        if (!caught()) {
            return NULL;
        }
        self->internal_errors++;
    }
    parser_reset(self);
    self->closed = 1;
    Py_RETURN_NONE;
}

static PyObject *
parser_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"role", "max_body_bytes", NULL};
    PyObject *role;
    long long max_body_bytes = 512;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$L:HttpParser", kwlist, &role,
                                     &max_body_bytes)) {
        return NULL;
    }
    HttpParserObject *self = (HttpParserObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->records = PyList_New(0);
    if (self->records == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    Py_INCREF(role);
    self->role = role;
    self->max_body_bytes = max_body_bytes;
    self->req.is_request = 1;
    if (role == g_role_client) {
        Py_INCREF(g_egress);
        self->request_direction = g_egress;
    } else if (role == g_role_server) {
        Py_INCREF(g_ingress);
        self->request_direction = g_ingress;
    }
    return (PyObject *)self;
}

static int
parser_traverse(HttpParserObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->role);
    Py_VISIT(self->records);
    Py_VISIT(self->request_direction);
    return 0;
}

static int
parser_clear(HttpParserObject *self)
{
    /* Only role and the request direction can be arbitrary objects (and so close a cycle); the
     * records list holds HttpRecords, which hold no Python objects. */
    Py_CLEAR(self->role);
    Py_CLEAR(self->request_direction);
    return 0;
}

static void
parser_dealloc(HttpParserObject *self)
{
    PyObject_GC_UnTrack(self);
    parser_clear(self);
    Py_CLEAR(self->records);
    parser_reset(self);
    stream_free(&self->req.stream);
    stream_free(&self->resp.stream);
    PyMem_Free(self->pending);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
parser_get_role(HttpParserObject *self, void *closure)
{
    PyObject *role = self->role ? self->role : Py_None;
    Py_INCREF(role);
    return role;
}

static PyMethodDef parser_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))parser_feed, METH_FASTCALL | METH_KEYWORDS,
     "feed(direction, data, timestamp_ns, *, lost_bytes=0): add one chunk."},
    {"records", (PyCFunction)parser_records, METH_NOARGS,
     "Return and forget the pairs completed so far."},
    {"flush", (PyCFunction)(void (*)(void))parser_flush, METH_VARARGS | METH_KEYWORDS,
     "flush(now_ns): finish or drop state older than PENDING_REQUEST_TIMEOUT_NS."},
    {"close", (PyCFunction)parser_close, METH_NOARGS,
     "The connection ended: finish close-delimited messages, drop partial state."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef parser_members[] = {
    {"max_body_bytes", T_LONGLONG, offsetof(HttpParserObject, max_body_bytes), 0, NULL},
    {"parse_errors", T_LONGLONG, offsetof(HttpParserObject, parse_errors), 0, NULL},
    {"dropped_requests", T_LONGLONG, offsetof(HttpParserObject, dropped_requests), 0, NULL},
    {"unmatched_responses", T_LONGLONG, offsetof(HttpParserObject, unmatched_responses), 0, NULL},
    {"internal_errors", T_LONGLONG, offsetof(HttpParserObject, internal_errors), 0, NULL},
    {"closed", T_BOOL, offsetof(HttpParserObject, closed), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef parser_getset[] = {
    {"role", (getter)parser_get_role, NULL, "The traced process's side of the connection.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject HttpParserType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pyxie_stirling.protocols._http_native.HttpParser",
    .tp_basicsize = sizeof(HttpParserObject),
    .tp_dealloc = (destructor)parser_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "HttpParser(role, *, max_body_bytes=512): frames and pairs HTTP/1 messages of one "
              "connection (the C twin of _http.HttpParser).",
    .tp_traverse = (traverseproc)parser_traverse,
    .tp_clear = (inquiry)parser_clear,
    .tp_methods = parser_methods,
    .tp_members = parser_members,
    .tp_getset = parser_getset,
    .tp_new = parser_new,
};

/* ---- module ---------------------------------------------------------------------------------- */

static PyObject *
attr(PyObject *obj, const char *name)
{
    return PyObject_GetAttrString(obj, name);
}

static int
set_class_attr(PyTypeObject *type, const char *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(type->tp_dict, name, value);
    Py_DECREF(value);
    return rc;
}

static int
load_constants(void)
{
    PyObject *common = PyImport_ImportModule("pyxie_stirling.protocols._common");
    if (common == NULL) {
        return -1;
    }
    int rc = -1;
    PyObject *direction = NULL, *role = NULL, *value = NULL, *zlib = NULL;
    if ((direction = attr(common, "Direction")) == NULL ||
        (g_egress = attr(direction, "EGRESS")) == NULL ||
        (g_ingress = attr(direction, "INGRESS")) == NULL || (role = attr(common, "Role")) == NULL ||
        (g_role_client = attr(role, "CLIENT")) == NULL ||
        (g_role_server = attr(role, "SERVER")) == NULL ||
        (g_truncated = attr(common, "TRUNCATED_SUFFIX")) == NULL) {
        goto done;
    }
    g_truncated_utf8 = PyUnicode_AsUTF8AndSize(g_truncated, &g_truncated_len);
    if (g_truncated_utf8 == NULL || (value = attr(common, "MAX_PENDING_REQUESTS")) == NULL) {
        goto done;
    }
    g_max_pending = PyLong_AsSsize_t(value);
    Py_CLEAR(value);
    if ((g_max_pending == -1 && PyErr_Occurred()) ||
        (value = attr(common, "PENDING_REQUEST_TIMEOUT_NS")) == NULL) {
        goto done;
    }
    g_timeout_ns = PyLong_AsLongLong(value);
    Py_CLEAR(value);
    if ((g_timeout_ns == -1 && PyErr_Occurred()) || (zlib = PyImport_ImportModule("zlib")) == NULL ||
        (g_decompressobj = attr(zlib, "decompressobj")) == NULL ||
        (g_zlib_error = attr(zlib, "error")) == NULL || (value = attr(zlib, "MAX_WBITS")) == NULL) {
        goto done;
    }
    g_max_wbits = PyLong_AsLong(value);
    if (g_max_wbits == -1 && PyErr_Occurred()) {
        goto done;
    }
    if ((g_empty = PyUnicode_FromString("")) == NULL ||
        (g_removed_unknown = PyUnicode_InternFromString("<removed: unknown content-type>")) ==
            NULL ||
        (g_removed_nontext = PyUnicode_InternFromString("<removed: non-text content-type>")) ==
            NULL ||
        (g_gunzip_failed = PyUnicode_InternFromString("<Failed to gunzip body>")) == NULL ||
        (g_str_chunked = PyUnicode_InternFromString("chunked")) == NULL) {
        goto done;
    }
    if ((g_row_template = PyDict_New()) == NULL) {
        goto done;
    }
    for (int k = 0; k < K_COUNT; k++) {
        if ((g_keys[k] = PyUnicode_InternFromString(ROW_KEYS[k])) == NULL ||
            PyDict_SetItem(g_row_template, g_keys[k], Py_None) < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    Py_XDECREF(common);
    Py_XDECREF(direction);
    Py_XDECREF(role);
    Py_XDECREF(value);
    Py_XDECREF(zlib);
    return rc;
}

static struct PyModuleDef http_native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyxie_stirling.protocols._http_native",
    .m_doc = "HTTP/1.x connection parser in C: a drop-in replacement of _http.HttpParser.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__http_native(void)
{
    if (load_constants() < 0 || PyType_Ready(&HttpRecordType) < 0 ||
        PyType_Ready(&HttpParserType) < 0) {
        return NULL;
    }
    PyObject *common = PyImport_ImportModule("pyxie_stirling.protocols._common");
    if (common == NULL) {
        return NULL;
    }
    PyObject *protocol = attr(common, "Protocol");
    Py_DECREF(common);
    if (protocol == NULL) {
        return NULL;
    }
    PyObject *http = attr(protocol, "HTTP");
    Py_DECREF(protocol);
    if (set_class_attr(&HttpParserType, "protocol", http) < 0 ||
        set_class_attr(&HttpParserType, "table_name", PyUnicode_InternFromString("http_events")) <
            0 ||
        set_class_attr(&HttpRecordType, "table_name", PyUnicode_InternFromString("http_events")) <
            0 ||
        set_class_attr(&HttpRecordType, "COLUMNS", row_columns()) < 0) {
        return NULL;
    }
    PyType_Modified(&HttpParserType);
    PyType_Modified(&HttpRecordType);
    PyObject *module = PyModule_Create(&http_native_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&HttpParserType);
    Py_INCREF(&HttpRecordType);
    if (PyModule_AddObject(module, "HttpParser", (PyObject *)&HttpParserType) < 0 ||
        PyModule_AddObject(module, "HttpRecord", (PyObject *)&HttpRecordType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
