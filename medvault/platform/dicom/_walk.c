/* _walk: the hot loop of a DICOM header read, in C.
 *
 * Why: a pure-Python walker spends ~40 us per file stepping through ~45 elements and decoding two dozen
 * values; pydicom spends ~250 us building a whole dataset. This module does what walk.py and fast.py do
 * for explicit- and implicit-VR little endian files (the File Meta group, the elements up to the pixel
 * data, undefined-length sequences skipped, the pixel data's extent and what follows it), rule for rule,
 * and decodes the plain values (printable ASCII) itself. Every other value is decoded by fast.py's
 * `_text_of` (called back), and whatever walk.py or fast.py would refuse is refused here with the same
 * exception (NeedMore, Unsupported, NotDicom, Fallback), so the caller falls back to pydicom exactly
 * where the Python path would. native.py configures it and turns its answer into a DicomHeader.
 *
 * It never reads outside its buffer: every offset is checked against the bytes held before use, and
 * offsets are 64-bit so that 32-bit lengths cannot overflow them.
 *
 * Functions (configure() first):
 *   configure(fields, syntaxes, encodings, text_of, dictionary_sq, need_more, unsupported, not_dicom,
 *             fallback); fields: [(tag, keyword, VR, kind code, kind, may be remembered)] sorted by tag
 *   meta(buf) -> walk.Meta's fields as a tuple              (walk.parse_preamble_and_meta)
 *   scan(buf, offset, explicit, stop_tag, wanted) -> (rows, stop row or None)   (walk.scan)
 *   read(source, size, first_read, check_pixels) -> (texts, transfer syntax, size, has pixel data,
 *        native pixel bytes or None, encapsulated, bytes read, reads)          (fast.read_fast)
 *     source: a path (opened and closed here), an open file descriptor, or read_range(offset, length).
 *   remembered() -> {keyword: the last plain value kept for reuse}                  (for tests)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define UNDEFINED 0xFFFFFFFFu
#define ITEM 0xFFFEE000u
#define ITEM_END 0xFFFEE00Du
#define SEQUENCE_END 0xFFFEE0DDu
#define PIXEL_DATA 0x7FE00010u
#define FLOAT_PIXELS 0x7FE00008u
#define DOUBLE_PIXELS 0x7FE00009u
#define MAX_DEPTH 32
#define MAX_FIELDS 64

/* outcomes of the internal functions; the reason or the offset needed is kept in the Walk */
enum { OK = 0, NEED = 1, UNSUP = 2, FALLBACK = 3, NOTDICOM = 4, PYERR = 5 };
enum { VR_NONE = 0, VR_SHORT = 1, VR_LONG = 2 };
enum { KIND_LATIN = 0, KIND_UID = 1, KIND_TEXT = 2, KIND_US = 3, KIND_IS = 4 };

#define VR(a, b) ((int)(((unsigned)(a) << 8) | (unsigned)(b)))

typedef struct {
    uint32_t tag;
    int vr; /* VR(a, b), or 0 in implicit VR and for item tags */
    int64_t start, value_start;
    uint32_t length;
    int64_t end; /* -1 when undefined */
} Row;

typedef struct {
    const unsigned char *buf;
    int64_t n;
    int explicit_vr;
    int64_t needed;  /* NEED */
    const char *why; /* UNSUP, FALLBACK */
} Walk;

/* configured by configure() */
#define MEMO_BYTES 64

typedef struct {
    uint32_t tag;
    int vr;
    int kind;
    int memo;           /* fast.FIELDS' `cached`: never a UID (they hardly repeat) nor the patient's ID */
    PyObject *keyword;
    PyObject *kind_object;
    /* the last plain value decoded and its bytes: the files of one device repeat most of theirs */
    unsigned char last[MEMO_BYTES];
    int64_t last_length;
    PyObject *last_value;
} Field;

static Field fields[MAX_FIELDS];
static int n_fields = 0;
static int charset_field = -1;
static PyObject *syntaxes = NULL, *encodings = NULL, *text_of = NULL, *dictionary_sq = NULL;
static PyObject *NeedMoreError = NULL, *UnsupportedError = NULL, *NotDicomError = NULL, *FallbackError = NULL;

static unsigned char vr_class[26][26]; /* VR_NONE / VR_SHORT / VR_LONG by letters */

static void init_vrs(void) {
    static const char *long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    static const char *short_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
                                      "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    memset(vr_class, VR_NONE, sizeof vr_class);
    for (size_t i = 0; i < sizeof long_vrs / sizeof *long_vrs; i++)
        vr_class[long_vrs[i][0] - 'A'][long_vrs[i][1] - 'A'] = VR_LONG;
    for (size_t i = 0; i < sizeof short_vrs / sizeof *short_vrs; i++)
        vr_class[short_vrs[i][0] - 'A'][short_vrs[i][1] - 'A'] = VR_SHORT;
}

static inline int class_of(unsigned char a, unsigned char b) {
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return VR_NONE;
    return vr_class[a - 'A'][b - 'A'];
}

static inline uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t tag_at(const unsigned char *p) { return u16(p) << 16 | u16(p + 2); }

#define NEEDS(w, x)          \
    do {                     \
        (w)->needed = (x);   \
        return NEED;         \
    } while (0)
#define REFUSE(w, code, msg) \
    do {                     \
        (w)->why = (msg);    \
        return (code);       \
    } while (0)

/* ---- walking (walk.py) ------------------------------------------------------------------------ */

/* walk._implicit_sequence: SQ by the dictionary, else (unknown tag) a sequence when an item follows */
static int implicit_sequence(Walk *w, uint32_t tag, int64_t value_start, int *is_sequence) {
    PyObject *known = PyObject_CallFunction(dictionary_sq, "k", (unsigned long)tag);
    if (known == NULL) return PYERR;
    if (known != Py_None) {
        int truth = PyObject_IsTrue(known);
        Py_DECREF(known);
        if (truth < 0) return PYERR;
        *is_sequence = truth;
        return OK;
    }
    Py_DECREF(known);
    if (value_start + 4 > w->n) NEEDS(w, value_start + 4);
    *is_sequence = tag_at(w->buf + value_start) == ITEM;
    return OK;
}

/* walk._head: (tag, VR, value_start, length) of the element at pos inside a sequence item */
static int head(Walk *w, int64_t pos, uint32_t *tag, int *vr, int64_t *value_start, uint32_t *length) {
    if (pos + 8 > w->n) NEEDS(w, pos + 8);
    const unsigned char *p = w->buf + pos;
    uint32_t group = u16(p);
    *tag = group << 16 | u16(p + 2);
    if (!w->explicit_vr || group == 0xFFFE) {
        *vr = 0;
        *value_start = pos + 8;
        *length = u32(p + 4);
        return OK;
    }
    switch (class_of(p[4], p[5])) {
    case VR_SHORT:
        *vr = VR(p[4], p[5]);
        *value_start = pos + 8;
        *length = u16(p + 6);
        return OK;
    case VR_LONG:
        if (pos + 12 > w->n) NEEDS(w, pos + 12);
        *vr = VR(p[4], p[5]);
        *value_start = pos + 12;
        *length = u32(p + 8);
        return OK;
    }
    REFUSE(w, UNSUP, "unknown VR, or implicit VR inside an explicit-VR item");
}

static int skip_item(Walk *w, int64_t pos, int defined, int64_t end, int depth, int64_t *out);

/* walk._skip_sequence: offset after the delimiter of the undefined-length sequence whose items start at pos */
static int skip_sequence(Walk *w, int64_t pos, int depth, int64_t *out) {
    if (depth > MAX_DEPTH) REFUSE(w, UNSUP, "sequences nested too deep");
    for (;;) {
        if (pos + 8 > w->n) NEEDS(w, pos + 8);
        uint32_t tag = tag_at(w->buf + pos), length = u32(w->buf + pos + 4);
        if (tag == SEQUENCE_END) {
            *out = pos + 8;
            return OK;
        }
        if (tag != ITEM) REFUSE(w, UNSUP, "sequence content that is not an item");
        pos += 8;
        int rc;
        if (length == UNDEFINED) {
            rc = skip_item(w, pos, 0, 0, depth, &pos);
        } else {
            if (pos + (int64_t)length > w->n) NEEDS(w, pos + (int64_t)length);
            rc = skip_item(w, pos, 1, pos + (int64_t)length, depth, &pos);
        }
        if (rc != OK) return rc;
    }
}

/* walk._skip_item: offset after one item's dataset (`end` when defined, else after its delimiter) */
static int skip_item(Walk *w, int64_t pos, int defined, int64_t end, int depth, int64_t *out) {
    if (w->explicit_vr && !(defined && end == pos)) {
        /* pydicom reads an item as implicit VR when its first element's VR bytes are not letters */
        if (pos + 6 > w->n) NEEDS(w, pos + 6);
        unsigned char a = w->buf[pos + 4], b = w->buf[pos + 5];
        int letters = a > 0x40 && a < 0x5B && b > 0x40 && b < 0x5B;
        if (!letters && (defined || tag_at(w->buf + pos) != ITEM_END))
            REFUSE(w, UNSUP, "implicit-VR item inside an explicit-VR dataset");
    }
    while (!defined || pos < end) {
        uint32_t tag, length;
        int vr, rc;
        int64_t value_start;
        if ((rc = head(w, pos, &tag, &vr, &value_start, &length)) != OK) return rc;
        if (tag == ITEM_END && !defined) {
            *out = value_start;
            return OK;
        }
        if (tag >> 16 == 0xFFFE) REFUSE(w, UNSUP, "item or delimiter tag out of place");
        if (length == UNDEFINED) {
            int is_sequence;
            if (w->explicit_vr) {
                is_sequence = vr == VR('S', 'Q');
            } else if ((rc = implicit_sequence(w, tag, value_start, &is_sequence)) != OK) {
                return rc;
            }
            if (!is_sequence) REFUSE(w, UNSUP, "undefined length on an element that is not a sequence");
            if ((rc = skip_sequence(w, value_start, depth + 1, &pos)) != OK) return rc;
        } else {
            pos = value_start + (int64_t)length;
            if (pos > w->n) NEEDS(w, pos);
        }
    }
    if (pos != end) REFUSE(w, UNSUP, "an item's elements overrun its length");
    *out = pos;
    return OK;
}

/* walk._after: where the top-level element `row` (not the stop) ends: past its delimiter for a sequence */
static int after(Walk *w, const Row *row, int64_t *out) {
    if (row->tag >> 16 == 0xFFFE) REFUSE(w, UNSUP, "item or delimiter tag at the top level");
    if (row->length != UNDEFINED) {
        *out = row->end;
        return OK;
    }
    int is_sequence, rc;
    if (w->explicit_vr) {
        is_sequence = row->vr == VR('S', 'Q');
    } else if ((rc = implicit_sequence(w, row->tag, row->value_start, &is_sequence)) != OK) {
        return rc;
    }
    if (!is_sequence) REFUSE(w, UNSUP, "undefined length on an element that is not a sequence");
    return skip_sequence(w, row->value_start, 1, out);
}

typedef int (*OnRow)(void *context, const Row *row); /* OK, or PYERR */

static inline void set_row(Row *row, uint32_t tag, int vr, int64_t start, int64_t value_start, uint32_t length) {
    row->tag = tag;
    row->vr = vr;
    row->start = start;
    row->value_start = value_start;
    row->length = length;
    row->end = length == UNDEFINED ? -1 : value_start + (int64_t)length;
}

/* walk.scan: every top-level element before the first whose tag is >= stop_tag goes to on_row (with
 * `end` after a sequence's delimiter); that one is *stop. NEED when the buffer ends first. */
static int scan(Walk *w, int64_t offset, uint32_t stop_tag, OnRow on_row, void *context, Row *stop,
                int *stopped) {
    const unsigned char *buf = w->buf;
    int64_t n = w->n, pos = offset, last = n - 8;
    uint32_t stop_group = stop_tag >> 16 < 0xFFFE ? stop_tag >> 16 : 0xFFFE;
    Row row;
    int rc;
    *stopped = 0;
    while (pos <= last) {
        const unsigned char *p = buf + pos;
        uint32_t group = u16(p), tag = group << 16 | u16(p + 2);
        if (w->explicit_vr) {
            int cls = class_of(p[4], p[5]);
            if (cls == VR_SHORT && group < stop_group) { /* most elements: a 2-byte length */
                set_row(&row, tag, VR(p[4], p[5]), pos, pos + 8, u16(p + 6));
                if (on_row(context, &row) != OK) return PYERR;
                pos = row.end;
                continue;
            }
            if (group == 0xFFFE) {
                set_row(&row, tag, 0, pos, pos + 8, u32(p + 4));
            } else if (cls == VR_SHORT) {
                set_row(&row, tag, VR(p[4], p[5]), pos, pos + 8, u16(p + 6));
            } else if (cls != VR_LONG) {
                REFUSE(w, UNSUP, "unknown VR, or implicit VR inside an explicit-VR dataset");
            } else {
                if (pos + 12 > n) NEEDS(w, pos + 12);
                set_row(&row, tag, VR(p[4], p[5]), pos, pos + 12, u32(p + 8));
            }
        } else {
            uint32_t length = u32(p + 4);
            set_row(&row, tag, 0, pos, pos + 8, length);
            if (group < stop_group && length != UNDEFINED) {
                if (on_row(context, &row) != OK) return PYERR;
                pos = row.end;
                continue;
            }
        }
        if (tag >= stop_tag) {
            *stop = row;
            *stopped = 1;
            return OK;
        }
        if ((rc = after(w, &row, &pos)) != OK) return rc;
        row.end = pos;
        if (on_row(context, &row) != OK) return PYERR;
    }
    if (pos != n) NEEDS(w, pos > n ? pos : pos + 8); /* a value runs past the buffer, or a header is cut */
    return OK;
}

/* ---- the File Meta group (walk.parse_preamble_and_meta) ------------------------------------------ */

typedef struct {
    int has_preamble;
    int64_t dataset_offset;
    int has_meta_end;
    int64_t meta_end;
    int has_syntax;
    int64_t syntax_start, syntax_length;
    PyObject *elements; /* dict tag -> bytes, only when asked for (meta()) */
} Meta;

static int is_space(unsigned char c) { /* str.isspace() of a latin-1 character */
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85 || c == 0xA0;
}

static int parse_meta(Walk *w, Meta *m) {
    const unsigned char *buf = w->buf;
    int64_t n = w->n, pos;
    if (n >= 132 && memcmp(buf + 128, "DICM", 4) == 0) {
        m->has_preamble = 1;
        pos = 132;
    } else if (n >= 8 && buf[0] == 2 && buf[1] == 0 &&
               (!memcmp(buf + 4, "UL", 2) || !memcmp(buf + 4, "OB", 2) || !memcmp(buf + 4, "UI", 2) ||
                !memcmp(buf + 4, "SH", 2) || !memcmp(buf + 4, "AE", 2))) {
        m->has_preamble = 0;
        pos = 0;
    } else {
        return NOTDICOM;
    }
    m->has_meta_end = m->has_syntax = 0;
    int count = 0, syntax_vr = 0;
    for (;;) {
        if (pos + 8 > n) NEEDS(w, pos + 8); /* the meta may go on; at EOF pydicom would read no dataset */
        const unsigned char *p = buf + pos;
        if (u16(p) != 0x0002) break;
        uint32_t elem = u16(p + 2);
        int vr = VR(p[4], p[5]), is_long = 0, number = 0;
        switch (vr) { /* File Meta VRs pydicom converts while reading the group (walk._META_KINDS) */
        case VR('O', 'B'): is_long = 1; break;
        case VR('U', 'I'): case VR('S', 'H'): case VR('A', 'E'): case VR('C', 'S'):
        case VR('L', 'O'): case VR('S', 'T'): case VR('L', 'T'): break;
        case VR('U', 'L'): case VR('S', 'L'): case VR('F', 'L'): case VR('A', 'T'): number = 4; break;
        case VR('U', 'S'): case VR('S', 'S'): number = 2; break;
        case VR('F', 'D'): number = 8; break;
        default: REFUSE(w, UNSUP, "File Meta element with a VR pydicom would read differently");
        }
        int64_t value_start;
        uint32_t length;
        if (is_long) {
            if (pos + 12 > n) NEEDS(w, pos + 12);
            length = u32(p + 8);
            value_start = pos + 12;
        } else {
            length = u16(p + 6);
            value_start = pos + 8;
        }
        if (number && length % (uint32_t)number) REFUSE(w, UNSUP, "File Meta number of a wrong length");
        int64_t end = value_start + (int64_t)length;
        if (end > n) NEEDS(w, end);
        if (elem == 0 && count == 0 && number == 4 && length == 4) {
            m->has_meta_end = 1;
            m->meta_end = end + (int64_t)u32(buf + value_start);
        }
        if (m->elements != NULL) {
            PyObject *key = PyLong_FromUnsignedLong(0x00020000ul | elem);
            PyObject *value = PyBytes_FromStringAndSize((const char *)buf + value_start, (Py_ssize_t)length);
            int failed = key == NULL || value == NULL || PyDict_SetItem(m->elements, key, value) < 0;
            Py_XDECREF(key);
            Py_XDECREF(value);
            if (failed) return PYERR;
        }
        count++;
        if (elem == 0x0010) {
            syntax_vr = vr;
            m->has_syntax = 1;
            m->syntax_start = value_start;
            m->syntax_length = length;
        }
        pos = end;
    }
    m->dataset_offset = pos;
    if (m->has_syntax && syntax_vr != VR('U', 'I')) REFUSE(w, UNSUP, "Transfer Syntax UID without VR UI");
    return OK;
}

/* walk.ui_text of the Transfer Syntax UID, which must be one value; NULL with UNSUP set in *rc */
static PyObject *syntax_text(Walk *w, const Meta *m, int *rc) {
    const unsigned char *s = w->buf + m->syntax_start;
    int64_t a = 0, b = m->syntax_length;
    while (b > a && (s[b - 1] == 0 || s[b - 1] == ' ')) b--;
    if (b > 0 && memchr(s, '\\', (size_t)b) != NULL) {
        w->why = "several Transfer Syntax UIDs";
        *rc = UNSUP;
        return NULL;
    }
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    PyObject *text = PyUnicode_DecodeLatin1((const char *)s + a, (Py_ssize_t)(b - a), NULL);
    *rc = text == NULL ? PYERR : OK;
    return text;
}

/* ---- reading (fast.read_fast) ------------------------------------------------------------------- */

typedef struct {
    int fd;             /* >= 0: pread; else */
    PyObject *callable; /* read_range(offset, length) */
    int64_t size;
    unsigned char *buf;
    int64_t len;
    long long bytes_read, reads;
} Source;

/* fast._read: exactly `length` bytes at `offset` into dst (FALLBACK when the file is shorter now) */
static int source_read(Walk *w, Source *src, int64_t offset, int64_t length, unsigned char *dst) {
    if (length <= 0) return OK;
    src->reads++;
    if (src->fd >= 0) {
        int64_t got = 0;
        while (got < length) {
            ssize_t r;
            Py_BEGIN_ALLOW_THREADS
            r = pread(src->fd, dst + got, (size_t)(length - got), (off_t)(offset + got));
            Py_END_ALLOW_THREADS
            if (r < 0) {
                if (errno == EINTR) {
                    if (PyErr_CheckSignals() < 0) return PYERR; /* Ctrl-C stops a read */
                    continue;
                }
                PyErr_SetFromErrno(PyExc_OSError);
                return PYERR;
            }
            if (r == 0) break;
            got += r;
        }
        src->bytes_read += got;
        if (got != length) REFUSE(w, FALLBACK, "short read: the file changed while it was read");
        return OK;
    }
    PyObject *data = PyObject_CallFunction(src->callable, "LL", (long long)offset, (long long)length);
    if (data == NULL) return PYERR;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        Py_DECREF(data);
        return PYERR;
    }
    int rc = OK;
    src->bytes_read += view.len;
    if (view.len != length) {
        w->why = "short read: the file changed while it was read";
        rc = FALLBACK;
    } else {
        memcpy(dst, view.buf, (size_t)length);
    }
    PyBuffer_Release(&view);
    Py_DECREF(data);
    return rc;
}

/* append bytes [src->len, target) of the file to the buffer */
static int grow(Walk *w, Source *src, int64_t target) {
    if (target <= src->len) REFUSE(w, FALLBACK, "the header did not grow");
    if ((uint64_t)target > (uint64_t)PY_SSIZE_T_MAX) REFUSE(w, FALLBACK, "header too large");
    unsigned char *bigger = PyMem_Realloc(src->buf, (size_t)target);
    if (bigger == NULL) {
        PyErr_NoMemory();
        return PYERR;
    }
    src->buf = bigger;
    int rc = source_read(w, src, src->len, target - src->len, src->buf + src->len);
    if (rc == OK) src->len = target;
    return rc;
}

typedef struct {
    int present;
    Row row;
} Slot;

typedef struct {
    Slot slots[MAX_FIELDS];
} Found;

static int find_field(uint32_t tag) {
    int lo = 0, hi = n_fields - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (fields[mid].tag == tag) return mid;
        if (fields[mid].tag < tag) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int keep_wanted(void *context, const Row *row) { /* a repeated tag: the last one wins */
    int i = find_field(row->tag);
    if (i >= 0) {
        Found *found = context;
        found->slots[i].present = 1;
        found->slots[i].row = *row;
    }
    return OK;
}

/* fast._check_encoding: pydicom trusts the first element over the transfer syntax */
static int check_encoding(Walk *w, int64_t pos, int64_t size) {
    if (size - pos < 6) return OK;
    if (pos + 6 > w->n) NEEDS(w, pos + 6);
    if (w->buf[pos] == 0 && w->buf[pos + 1] == 0) REFUSE(w, FALLBACK, "command set (0000,eeee) before the dataset");
    unsigned char a = w->buf[pos + 4], b = w->buf[pos + 5];
    int letters = a > 0x40 && a < 0x5B && b > 0x40 && b < 0x5B;
    if (letters != w->explicit_vr) REFUSE(w, FALLBACK, "the dataset's VR encoding differs from its transfer syntax");
    return OK;
}

/* fast._check_tail: after the pixel data, allow only what changes no value (typically padding) */
static int check_tail(Walk *w, Source *src, int64_t pos) {
    for (int i = 0; i < 16; i++) {
        if (src->size - pos < 8) return OK; /* pydicom stops at fewer than 8 bytes */
        unsigned char local[12];
        const unsigned char *h;
        int64_t have;
        if (pos + 12 <= src->len) {
            h = src->buf + pos;
            have = 12;
        } else {
            have = src->size - pos < 12 ? src->size - pos : 12;
            int rc = source_read(w, src, pos, have, local);
            if (rc != OK) return rc;
            h = local;
        }
        uint32_t group = u16(h), tag = group << 16 | u16(h + 2), length;
        if (tag <= PIXEL_DATA || group == 0xFFFE)
            REFUSE(w, FALLBACK, "elements after the pixel data that pydicom would read as header");
        int cls = class_of(h[4], h[5]);
        if (!w->explicit_vr) {
            length = u32(h + 4);
            pos += 8;
        } else if (cls == VR_SHORT) {
            length = u16(h + 6);
            pos += 8;
        } else if (cls == VR_LONG && have == 12) {
            length = u32(h + 8);
            pos += 12;
        } else {
            REFUSE(w, FALLBACK, "an element after the pixel data pydicom would read differently");
        }
        if (length == UNDEFINED) REFUSE(w, FALLBACK, "an undefined-length element after the pixel data");
        pos += (int64_t)length;
    }
    REFUSE(w, FALLBACK, "many elements after the pixel data");
}

/* fast._fragments_end: end of encapsulated pixel data, walked item by item (item headers only) */
static int fragments_end(Walk *w, Source *src, int64_t pos, int64_t *out) {
    int64_t window_start = 0, window_len = src->len;
    const unsigned char *window = src->buf;
    unsigned char *owned = NULL;
    int hops = 0, rc = OK;
    for (;;) {
        if (pos + 8 > window_start + window_len) {
            if (pos + 4 > src->size) {
                w->why = "encapsulated pixel data without its delimiter";
                rc = FALLBACK;
                break;
            }
            hops++; /* the first few item headers one by one, then the rest of the file at once */
            int64_t want = src->size - pos;
            if (hops <= 16 && want > 8) want = 8;
            PyMem_Free(owned);
            owned = PyMem_Malloc((size_t)(want > 0 ? want : 1));
            if (owned == NULL) {
                PyErr_NoMemory();
                rc = PYERR;
                break;
            }
            if ((rc = source_read(w, src, pos, want, owned)) != OK) break;
            window = owned;
            window_start = pos;
            window_len = want;
        }
        int64_t at = pos - window_start;
        int has_tag = at + 4 <= window_len;
        if (has_tag && memcmp(window + at, "\xfe\xff\xdd\xe0", 4) == 0) {
            *out = pos + 8;
            break;
        }
        if (!has_tag || memcmp(window + at, "\xfe\xff\x00\xe0", 4) != 0 || at + 8 > window_len) {
            w->why = "encapsulated pixel data that is not a run of items";
            rc = FALLBACK;
            break;
        }
        pos += 8 + (int64_t)u32(window + at + 4);
    }
    PyMem_Free(owned);
    return rc;
}

/* fast._pixel_extent: native pixel bytes a full pydicom read gets (-1: not asked) */
static int pixel_extent(Walk *w, Source *src, const Row *pixels, int encapsulated, int64_t *actual) {
    if (w->explicit_vr && pixels->vr != VR('O', 'B') && pixels->vr != VR('O', 'W'))
        REFUSE(w, FALLBACK, "pixel data with a VR other than OB/OW");
    int64_t end;
    if (pixels->length == UNDEFINED) {
        if (!encapsulated) REFUSE(w, FALLBACK, "undefined-length pixel data in a native transfer syntax");
        int rc = fragments_end(w, src, pixels->value_start, &end);
        if (rc != OK) return rc;
    } else {
        end = pixels->value_start + (int64_t)pixels->length;
    }
    int rc = check_tail(w, src, end);
    if (rc != OK) return rc;
    int64_t extent = src->size - pixels->value_start;
    if ((int64_t)pixels->length < extent) extent = pixels->length;
    *actual = extent < 0 ? 0 : extent;
    return OK;
}

/* ---- values (fast._texts / fast._text_of) --------------------------------------------------------- */

static int known_un(int vr, uint32_t length) { return vr == VR('U', 'N') && length < 0xFFFF; }

/* printable ASCII without a backslash, or NUL: where every rule of _text_of reduces to stripping
 * spaces and NULs (and decoding is the same in every character set the fast path accepts) */
static int plain(const unsigned char *s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c != 0 && (c < 0x20 || c > 0x7E || c == '\\')) return 0;
    }
    return 1;
}

/* `value.rstrip(" \0")` then header.clean (strip, strip NULs, strip) on a plain value */
static void plain_clean(const unsigned char *s, int64_t *a, int64_t *b) {
    while (*b > *a && (s[*b - 1] == ' ' || s[*b - 1] == 0)) (*b)--;
    while (*a < *b && s[*a] == ' ') (*a)++;
    while (*b > *a && s[*b - 1] == ' ') (*b)--;
    while (*a < *b && s[*a] == 0) (*a)++;
    while (*b > *a && s[*b - 1] == 0) (*b)--;
    while (*a < *b && s[*a] == ' ') (*a)++;
    while (*b > *a && s[*b - 1] == ' ') (*b)--;
}

/* fast._PLAIN_IS: " *[+-]?[0-9]+ *" over the whole value */
static int plain_integer(const unsigned char *s, int64_t n) {
    int64_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    int64_t digits = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == digits) return 0;
    while (i < n && s[i] == ' ') i++;
    return i == n;
}

static PyObject *decode(Walk *w, const Field *field, const unsigned char *raw, int64_t n, PyObject *encoding,
                        int *rc, int *plain_value);

/* the value `_text_of(kind, raw, encoding)` gives, as a new reference (Py_None for an empty value);
 * NULL with *rc set when it cannot. A plain value is remembered per field (when the field may be). */
static PyObject *text_value(Walk *w, Field *field, const unsigned char *raw, int64_t n, PyObject *encoding,
                            int *rc) {
    *rc = OK;
    if (n == 0) Py_RETURN_NONE;
    int memo = field->memo && n <= MEMO_BYTES;
    if (memo && field->last_value != NULL && field->last_length == n && memcmp(field->last, raw, (size_t)n) == 0)
        return Py_NewRef(field->last_value);
    int plain_value = 0;
    PyObject *value = decode(w, field, raw, n, encoding, rc, &plain_value);
    if (value != NULL && memo && plain_value) { /* a called-back value may depend on the character set */
        Py_XSETREF(field->last_value, Py_NewRef(value));
        memcpy(field->last, raw, (size_t)n);
        field->last_length = n;
    }
    return value;
}

static PyObject *decode(Walk *w, const Field *field, const unsigned char *raw, int64_t n, PyObject *encoding,
                        int *rc, int *plain_value) {
    if (field->kind == KIND_US) {
        if (n != 2) {
            w->why = "US value that is not exactly one number";
            *rc = FALLBACK;
            return NULL;
        }
        *plain_value = 1;
        return PyUnicode_FromFormat("%u", (unsigned)u16(raw));
    }
    if (plain(raw, n)) {
        *plain_value = 1;
        int64_t a = 0, b = n;
        if (field->kind == KIND_IS) {
            int64_t end = n;
            while (end > 0 && (raw[end - 1] == ' ' || raw[end - 1] == 0)) end--;
            int64_t first = 0;
            while (first < end && raw[first] == ' ') first++;
            if (first < end && !plain_integer(raw, end)) {
                w->why = "IS value that is not a plain integer";
                *rc = FALLBACK;
                return NULL;
            }
        }
        plain_clean(raw, &a, &b);
        if (a == b) Py_RETURN_NONE;
        PyObject *text = PyUnicode_DecodeLatin1((const char *)raw + a, (Py_ssize_t)(b - a), NULL);
        if (text == NULL) *rc = PYERR;
        return text;
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)raw, (Py_ssize_t)n);
    if (bytes == NULL) {
        *rc = PYERR;
        return NULL;
    }
    PyObject *text = PyObject_CallFunctionObjArgs(text_of, field->kind_object, bytes, encoding, NULL);
    Py_DECREF(bytes);
    if (text == NULL) *rc = PYERR; /* Fallback (or any error) propagates */
    return text;
}

static int decode_texts(Walk *w, const Found *found, PyObject *texts) {
    PyObject *encoding = NULL;
    int rc = OK;
    if (charset_field >= 0 && found->slots[charset_field].present) {
        const Row *row = &found->slots[charset_field].row;
        if (w->explicit_vr && row->vr != VR('C', 'S') && !known_un(row->vr, row->length))
            REFUSE(w, FALLBACK, "SpecificCharacterSet without VR CS");
        int64_t a = row->value_start, b = a + (int64_t)row->length;
        if (b > w->n) b = w->n;
        while (b > a && (w->buf[b - 1] == ' ' || w->buf[b - 1] == 0)) b--;
        PyObject *name = PyUnicode_DecodeLatin1((const char *)w->buf + a, (Py_ssize_t)(b - a), NULL);
        if (name == NULL) return PYERR;
        encoding = PyDict_GetItemWithError(encodings, name); /* borrowed */
        Py_DECREF(name);
        if (encoding == NULL) {
            if (PyErr_Occurred()) return PYERR;
            REFUSE(w, FALLBACK, "character set not decoded by the fast path");
        }
    } else {
        encoding = PyDict_GetItemString(encodings, ""); /* borrowed: latin-1, pydicom's default */
        if (encoding == NULL) encoding = Py_None;
    }
    Py_INCREF(encoding);
    for (int i = 0; i < n_fields && rc == OK; i++) {
        if (!found->slots[i].present) continue;
        const Row *row = &found->slots[i].row;
        Field *field = &fields[i];
        if (w->explicit_vr && row->vr != field->vr && !known_un(row->vr, row->length)) {
            w->why = "a VR that differs from the dictionary";
            rc = FALLBACK;
            break;
        }
        int64_t a = row->value_start, b = row->end;
        if (b < a) b = a; /* never: wanted values have a defined length */
        if (b > w->n) b = w->n;
        PyObject *value = text_value(w, field, w->buf + a, b - a, encoding, &rc);
        if (value == NULL) break;
        if (PyDict_SetItem(texts, field->keyword, value) < 0) rc = PYERR;
        Py_DECREF(value);
    }
    Py_DECREF(encoding);
    return rc;
}

typedef struct {
    PyObject *syntax;
    int has_pixels, encapsulated;
    int64_t actual; /* -1: not computed */
} Outcome;

/* fast._from_buffer, without header.py's rules: the texts of the wanted tags into `texts` */
static int from_buffer(Walk *w, Source *src, int check_pixels, PyObject *texts, Outcome *out) {
    Meta meta = {0};
    int rc = parse_meta(w, &meta);
    if (rc != OK) return rc;
    Py_CLEAR(out->syntax);
    if (!meta.has_syntax) REFUSE(w, FALLBACK, "transfer syntax absent, unknown, big endian or deflated");
    out->syntax = syntax_text(w, &meta, &rc);
    if (out->syntax == NULL) return rc;
    PyObject *kind = PyUnicode_GET_LENGTH(out->syntax) ? PyDict_GetItemWithError(syntaxes, out->syntax) : NULL;
    if (kind == NULL) {
        if (PyErr_Occurred()) return PYERR;
        REFUSE(w, FALLBACK, "transfer syntax absent, unknown, big endian or deflated");
    }
    if (!PyTuple_Check(kind) || PyTuple_GET_SIZE(kind) != 2) {
        PyErr_SetString(PyExc_TypeError, "_walk: syntaxes must map to (explicit, encapsulated)");
        return PYERR;
    }
    int explicit_vr = PyObject_IsTrue(PyTuple_GET_ITEM(kind, 0));
    int encapsulated = PyObject_IsTrue(PyTuple_GET_ITEM(kind, 1));
    if (explicit_vr < 0 || encapsulated < 0) return PYERR;
    w->explicit_vr = explicit_vr;
    if ((rc = check_encoding(w, meta.dataset_offset, src->size)) != OK) return rc;

    Found found;
    memset(&found, 0, sizeof found);
    Row pixels;
    int stopped;
    if ((rc = scan(w, meta.dataset_offset, FLOAT_PIXELS, keep_wanted, &found, &pixels, &stopped)) != OK) return rc;
    if (!stopped && src->len < src->size) NEEDS(w, src->len + 8); /* the read ended, not the file */

    out->has_pixels = 0;
    out->encapsulated = encapsulated;
    out->actual = -1;
    if (stopped) {
        if (pixels.tag != PIXEL_DATA) {
            if (check_pixels || (pixels.tag != FLOAT_PIXELS && pixels.tag != DOUBLE_PIXELS))
                REFUSE(w, FALLBACK, "an element pydicom reads past the header");
        } else {
            out->has_pixels = 1;
            if (check_pixels && (rc = pixel_extent(w, src, &pixels, encapsulated, &out->actual)) != OK) return rc;
        }
    }
    return decode_texts(w, &found, texts);
}

static PyObject *raise_for(Walk *w, int rc) {
    switch (rc) {
    case NEED: {
        PyObject *needed = PyLong_FromLongLong(w->needed);
        if (needed != NULL) {
            PyErr_SetObject(NeedMoreError, needed);
            Py_DECREF(needed);
        }
        return NULL;
    }
    case UNSUP: PyErr_SetString(UnsupportedError, w->why); return NULL;
    case FALLBACK: PyErr_SetString(FallbackError, w->why); return NULL;
    case NOTDICOM: PyErr_SetNone(NotDicomError); return NULL;
    }
    return NULL; /* PYERR: already set */
}

static int configured(void) {
    if (n_fields == 0 || syntaxes == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_walk.configure() has not been called");
        return 0;
    }
    return 1;
}

static PyObject *walk_read(PyObject *self, PyObject *args) {
    PyObject *source;
    long long size, first_read;
    int check_pixels;
    if (!PyArg_ParseTuple(args, "OLLp:read", &source, &size, &first_read, &check_pixels)) return NULL;
    if (!configured()) return NULL;
    Source src = {.fd = -1, .callable = NULL, .size = size};
    int own_fd = 0;
    Walk w = {0};
    int rc = OK;
    if (PyLong_Check(source)) {
        long fd = PyLong_AsLong(source);
        if (fd == -1 && PyErr_Occurred()) return NULL;
        if (fd < 0 || fd > INT_MAX) return PyErr_Format(PyExc_ValueError, "_walk.read: not a file descriptor");
        src.fd = (int)fd;
    } else if (PyCallable_Check(source)) {
        src.callable = source;
    } else {
        PyObject *path = NULL;
        if (!PyUnicode_FSConverter(source, &path)) return NULL;
        struct stat st;
        int fd, failed;
        Py_BEGIN_ALLOW_THREADS
        fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_CLOEXEC);
        failed = fd < 0 || fstat(fd, &st) < 0;
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
            Py_DECREF(path);
            if (fd >= 0) close(fd);
            return NULL;
        }
        Py_DECREF(path);
        src.fd = fd;
        own_fd = 1;
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            PyErr_SetString(FallbackError, "not a regular file");
            return NULL;
        }
        src.size = (long long)st.st_size;
    }
    if (src.size < 0 || first_read < 0) {
        if (own_fd) close(src.fd);
        return PyErr_Format(PyExc_ValueError, "_walk.read: negative size");
    }
    PyObject *texts = PyDict_New(), *result = NULL;
    Outcome out = {0};
    if (texts == NULL) goto done;
    int64_t first = first_read > 132 ? first_read : 132;
    if (first > src.size) first = src.size;
    src.buf = PyMem_Malloc((size_t)(first > 0 ? first : 1));
    if (src.buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    rc = source_read(&w, &src, 0, first, src.buf);
    src.len = first;
    while (rc == OK) {
        w.buf = src.buf;
        w.n = src.len;
        PyDict_Clear(texts);
        rc = from_buffer(&w, &src, check_pixels, texts, &out);
        if (rc != NEED) break;
        if (w.needed > src.size) {
            w.why = "the file ends inside its header";
            rc = FALLBACK;
            break;
        }
        /* grow to at least twice what was read: few reads, never more than about twice the header */
        int64_t target = w.needed + first_read > 2 * src.len ? w.needed + first_read : 2 * src.len;
        if (target > src.size) target = src.size;
        if ((rc = grow(&w, &src, target)) != OK) break;
    }
    if (rc == OK) {
        PyObject *actual = out.actual >= 0 ? PyLong_FromLongLong(out.actual) : Py_NewRef(Py_None);
        if (actual != NULL)
            result = Py_BuildValue("(OOLOOOLL)", texts, out.syntax, (long long)src.size,
                                   out.has_pixels ? Py_True : Py_False, actual,
                                   out.encapsulated ? Py_True : Py_False, src.bytes_read, src.reads);
        Py_XDECREF(actual);
    } else {
        raise_for(&w, rc);
    }
done:
    if (own_fd) {
        Py_BEGIN_ALLOW_THREADS
        close(src.fd);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(src.buf);
    Py_XDECREF(out.syntax);
    Py_XDECREF(texts);
    return result;
}

/* ---- the walker as walk.py's functions, for tests and other callers ---------------------------- */

static PyObject *walk_meta(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*:meta", &view)) return NULL;
    Walk w = {.buf = view.buf, .n = view.len};
    Meta m = {0};
    PyObject *result = NULL, *syntax = NULL;
    m.elements = PyDict_New();
    int rc = m.elements == NULL ? PYERR : parse_meta(&w, &m);
    if (rc == OK && m.has_syntax) syntax = syntax_text(&w, &m, &rc);
    if (rc == OK) {
        if (syntax == NULL) syntax = Py_NewRef(Py_None);
        PyObject *meta_end = m.has_meta_end ? PyLong_FromLongLong(m.meta_end) : Py_NewRef(Py_None);
        if (meta_end != NULL)
            result = Py_BuildValue("(OOOLO)", m.has_preamble ? Py_True : Py_False, m.elements, syntax,
                                   (long long)m.dataset_offset, meta_end);
        Py_XDECREF(meta_end);
    } else {
        raise_for(&w, rc);
    }
    Py_XDECREF(syntax);
    Py_XDECREF(m.elements);
    PyBuffer_Release(&view);
    return result;
}

typedef struct {
    const unsigned char *buf;
    PyObject *rows;
    PyObject *wanted; /* dict: (element << 16 | group) -> tag reported; NULL: every element */
} Rows;

static PyObject *row_tuple(const unsigned char *buf, const Row *row, PyObject *tag) {
    PyObject *vr = row->vr ? PyBytes_FromStringAndSize((const char *)buf + row->start + 4, 2) : Py_NewRef(Py_None);
    if (vr == NULL) return NULL;
    PyObject *t = tag ? Py_NewRef(tag) : PyLong_FromUnsignedLong(row->tag);
    PyObject *out = t == NULL ? NULL
                              : Py_BuildValue("(OOLLkL)", t, vr, (long long)row->start, (long long)row->value_start,
                                              (unsigned long)row->length, (long long)row->end);
    Py_XDECREF(t);
    Py_DECREF(vr);
    return out;
}

static int add_row(void *context, const Row *row) {
    Rows *rows = context;
    PyObject *tag = NULL;
    if (rows->wanted != NULL) {
        PyObject *key = PyLong_FromUnsignedLong((row->tag & 0xFFFF) << 16 | row->tag >> 16);
        if (key == NULL) return PYERR;
        tag = PyDict_GetItemWithError(rows->wanted, key); /* borrowed */
        Py_DECREF(key);
        if (tag == NULL) return PyErr_Occurred() ? PYERR : OK;
    }
    PyObject *t = row_tuple(rows->buf, row, tag);
    if (t == NULL) return PYERR;
    int failed = PyList_Append(rows->rows, t) < 0;
    Py_DECREF(t);
    return failed ? PYERR : OK;
}

static PyObject *walk_scan(PyObject *self, PyObject *args) {
    Py_buffer view;
    long long offset;
    int explicit_vr;
    unsigned long stop_tag;
    PyObject *wanted;
    if (!PyArg_ParseTuple(args, "y*LpkO:scan", &view, &offset, &explicit_vr, &stop_tag, &wanted)) return NULL;
    if (wanted != Py_None && !PyDict_Check(wanted)) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_TypeError, "_walk.scan: wanted must be a dict or None");
    }
    if (!configured()) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (offset < 0) offset = 0; /* walk.scan would index from the end; nobody passes one */
    Walk w = {.buf = view.buf, .n = view.len, .explicit_vr = explicit_vr};
    Rows rows = {.buf = view.buf, .rows = PyList_New(0), .wanted = wanted == Py_None ? NULL : wanted};
    PyObject *result = NULL;
    Row stop;
    int stopped = 0;
    int rc = rows.rows == NULL ? PYERR : scan(&w, offset, (uint32_t)stop_tag, add_row, &rows, &stop, &stopped);
    if (rc == OK) {
        PyObject *last = stopped ? row_tuple(view.buf, &stop, NULL) : Py_NewRef(Py_None);
        if (last != NULL) result = PyTuple_Pack(2, rows.rows, last);
        Py_XDECREF(last);
    } else {
        raise_for(&w, rc);
    }
    Py_XDECREF(rows.rows);
    PyBuffer_Release(&view);
    return result;
}

static void clear_config(void) {
    for (int i = 0; i < n_fields; i++) {
        Py_CLEAR(fields[i].keyword);
        Py_CLEAR(fields[i].kind_object);
        Py_CLEAR(fields[i].last_value);
    }
    n_fields = 0;
    charset_field = -1;
    Py_CLEAR(syntaxes);
    Py_CLEAR(encodings);
    Py_CLEAR(text_of);
    Py_CLEAR(dictionary_sq);
    Py_CLEAR(NeedMoreError);
    Py_CLEAR(UnsupportedError);
    Py_CLEAR(NotDicomError);
    Py_CLEAR(FallbackError);
}

static PyObject *walk_configure(PyObject *self, PyObject *args) {
    PyObject *field_list, *syn, *enc, *decode, *sq, *need, *unsup, *notdicom, *fallback;
    if (!PyArg_ParseTuple(args, "O!O!O!OOOOOO:configure", &PyList_Type, &field_list, &PyDict_Type, &syn,
                          &PyDict_Type, &enc, &decode, &sq, &need, &unsup, &notdicom, &fallback))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(field_list);
    if (count < 1 || count > MAX_FIELDS) return PyErr_Format(PyExc_ValueError, "_walk: 1 to %d fields", MAX_FIELDS);
    clear_config();
    for (Py_ssize_t i = 0; i < count; i++) {
        unsigned long tag;
        const char *vr;
        Py_ssize_t vr_len;
        int kind, memo;
        PyObject *keyword, *kind_object;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(field_list, i), "kUy#iOp", &tag, &keyword, &vr, &vr_len, &kind,
                              &kind_object, &memo)) {
            clear_config();
            return NULL;
        }
        if (vr_len != 2 || kind < KIND_LATIN || kind > KIND_IS || (i && tag <= fields[i - 1].tag)) {
            clear_config();
            return PyErr_Format(PyExc_ValueError, "_walk: bad field %zd (sorted tags, 2-letter VR, kind 0-4)", i);
        }
        fields[i].tag = (uint32_t)tag;
        fields[i].vr = VR(vr[0], vr[1]);
        fields[i].kind = kind;
        fields[i].memo = memo;
        fields[i].last_value = NULL;
        fields[i].last_length = 0;
        fields[i].keyword = Py_NewRef(keyword);
        fields[i].kind_object = Py_NewRef(kind_object);
        if (tag == 0x00080005ul) charset_field = (int)i;
        n_fields = (int)i + 1;
    }
    syntaxes = Py_NewRef(syn);
    encodings = Py_NewRef(enc);
    text_of = Py_NewRef(decode);
    dictionary_sq = Py_NewRef(sq);
    NeedMoreError = Py_NewRef(need);
    UnsupportedError = Py_NewRef(unsup);
    NotDicomError = Py_NewRef(notdicom);
    FallbackError = Py_NewRef(fallback);
    Py_RETURN_NONE;
}

static PyObject *walk_remembered(PyObject *self, PyObject *unused) {
    PyObject *out = PyDict_New();
    for (int i = 0; out != NULL && i < n_fields; i++) {
        if (fields[i].last_value != NULL && PyDict_SetItem(out, fields[i].keyword, fields[i].last_value) < 0)
            Py_CLEAR(out);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"remembered", walk_remembered, METH_NOARGS, "keyword -> the value each field remembers (for tests)."},
    {"configure", walk_configure, METH_VARARGS, "Set the wanted fields, tables, callbacks and exceptions."},
    {"meta", walk_meta, METH_VARARGS, "walk.parse_preamble_and_meta's fields as a tuple."},
    {"scan", walk_scan, METH_VARARGS, "walk.scan(buf, offset, explicit, stop_tag, wanted dict or None)."},
    {"read", walk_read, METH_VARARGS, "fast.read_fast's walk and texts: (source, size, first_read, check_pixels)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_walk", "The hot loop of a DICOM header read (see native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__walk(void) {
    init_vrs();
    return PyModule_Create(&module);
}
