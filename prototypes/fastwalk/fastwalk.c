/*
 * A compiled fast path for openclaw_exec.analysis._shell.parse_raw (prototype, issue #16).
 *
 * walk(src: bytes, terminated: bool) parses *src* (ASCII, no newline: the caller checks)
 * with tree-sitter-bash built from the sources that ship on PyPI, and walks the tree the
 * way _shell._Walker does, but it only ever ACCEPTS: it returns the same RawParts value
 * (a list of (list of (argv, assignments, raw, position)), op) tuples) for texts made of
 * the plainest accepted shapes, and None for anything else -- any node kind, gap, error,
 * escape, quote content or word character it does not handle -- so the Python walker
 * decides (and names the failure) exactly as before. It never refuses, so it cannot
 * change a verdict: a wrong acceptance is the only possible bug, which the differential
 * test compares against the Python walker.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "tree_sitter/api.h"

const TSLanguage *tree_sitter_bash(void);

static TSParser *parser;

/* The characters _shell._UNQUOTED_SPECIAL finds: a word holding none decodes to itself. */
static unsigned char special[256];

typedef struct {
    const char *src;
    uint32_t limit;
    PyObject *pending; /* list of lists of segments */
    PyObject *ops;     /* list of ops (None, "&&", "||", ";") */
} Walk;

#define BAIL (-1)

static int gap_ok(const char *src, uint32_t start, uint32_t end) {
    for (uint32_t i = start; i < end; i++)
        if (src[i] != ' ' && src[i] != '\t') return 0;
    return 1;
}

static int is(TSNode n, const char *t) { return strcmp(ts_node_type(n), t) == 0; }

static int plain_word(const char *src, TSNode n) {
    if (ts_node_child_count(n) != 0) return 0;
    uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
    if (s >= e) return 0;
    for (uint32_t i = s; i < e; i++)
        if (special[(unsigned char)src[i]]) return 0;
    return 1;
}

/* A piece of an argument, or NULL (then the Python walker decides). */
static PyObject *piece(Walk *w, TSNode n) {
    const char *src = w->src;
    uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
    if (is(n, "word") || is(n, "number")) {
        if (!plain_word(src, n)) return NULL;
        return PyUnicode_DecodeASCII(src + s, e - s, NULL);
    }
    if (is(n, "raw_string")) {
        if (e - s < 2 || src[s] != '\'' || src[e - 1] != '\'') return NULL;
        for (uint32_t i = s + 1; i < e - 1; i++)
            if (src[i] == '\'') return NULL;
        return PyUnicode_DecodeASCII(src + s + 1, e - s - 2, NULL);
    }
    if (is(n, "string")) {
        uint32_t count = ts_node_child_count(n);
        for (uint32_t i = 0; i < count; i++) {
            TSNode c = ts_node_child(n, i);
            if (!is(c, "\"") && !is(c, "string_content")) return NULL;
        }
        if (e - s < 2 || src[s] != '"' || src[e - 1] != '"') return NULL;
        for (uint32_t i = s + 1; i < e - 1; i++) {
            char ch = src[i];
            if (ch == '\\' || ch == '$' || ch == '`' || ch == '"') return NULL;
        }
        return PyUnicode_DecodeASCII(src + s + 1, e - s - 2, NULL);
    }
    return NULL;
}

static int name_ok(const char *p, uint32_t len) {
    if (len == 0) return 0;
    char c = p[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) return 0;
    for (uint32_t i = 1; i < len; i++) {
        c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* NAME=value with a plain value (or none), else NULL. */
static PyObject *assignment(Walk *w, TSNode n) {
    uint32_t count = ts_node_child_count(n);
    if (count != 2 && count != 3) return NULL;
    TSNode name = ts_node_child(n, 0), eq = ts_node_child(n, 1);
    if (!is(eq, "=") || !is(name, "variable_name")) return NULL;
    uint32_t ns = ts_node_start_byte(name), ne = ts_node_end_byte(name);
    if (!name_ok(w->src + ns, ne - ns) || ne != ts_node_start_byte(eq)) return NULL;
    PyObject *value;
    if (count == 2) {
        if (ts_node_end_byte(eq) != ts_node_end_byte(n)) return NULL;
        value = PyUnicode_FromStringAndSize("", 0);
    } else {
        TSNode v = ts_node_child(n, 2);
        if (ts_node_start_byte(v) != ts_node_end_byte(eq) || ts_node_end_byte(v) != ts_node_end_byte(n))
            return NULL;
        value = piece(w, v);
    }
    if (value == NULL) return NULL;
    PyObject *key = PyUnicode_DecodeASCII(w->src + ns, ne - ns, NULL);
    PyObject *pair = PyTuple_Pack(2, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
    return pair;
}

static PyObject *command(Walk *w, TSNode node) {
    const char *src = w->src;
    uint32_t first = ts_node_start_byte(node), cursor = first;
    PyObject *argv = PyList_New(0), *assigns = PyList_New(0), *result = NULL;
    int seen_name = 0;
    /* A cursor: ts_node_child(node, i) walks the siblings from the first (quadratic). */
    TSTreeCursor tc = ts_tree_cursor_new(node);
    int more = ts_tree_cursor_goto_first_child(&tc);
    for (; more; more = ts_tree_cursor_goto_next_sibling(&tc)) {
        TSNode c = ts_tree_cursor_current_node(&tc);
        uint32_t s = ts_node_start_byte(c);
        if (!gap_ok(src, cursor, s)) goto done;
        cursor = ts_node_end_byte(c);
        PyObject *item;
        if (!seen_name && is(c, "command_name")) {
            seen_name = 1;
            if (ts_node_child_count(c) != 1) goto done;
            TSNode word = ts_node_child(c, 0);
            if (!is(word, "word")) goto done;
            item = piece(w, word);
        } else if (!seen_name && is(c, "variable_assignment")) {
            item = assignment(w, c);
            if (item == NULL) goto done;
            PyList_Append(assigns, item);
            Py_DECREF(item);
            continue;
        } else if (seen_name) {
            item = piece(w, c);
        } else {
            goto done;
        }
        if (item == NULL) goto done;
        PyList_Append(argv, item);
        Py_DECREF(item);
    }
    if (PyList_GET_SIZE(argv) == 0) goto done;
    {
        uint32_t end = ts_node_end_byte(node);
        PyObject *a = PyList_AsTuple(argv), *b = PyList_AsTuple(assigns);
        PyObject *raw = PyUnicode_DecodeASCII(src + first, end - first, NULL);
        PyObject *pos = PyLong_FromUnsignedLong(first);
        result = PyTuple_Pack(4, a, b, raw, pos);
        Py_DECREF(a); Py_DECREF(b); Py_DECREF(raw); Py_DECREF(pos);
    }
done:
    ts_tree_cursor_delete(&tc);
    Py_DECREF(argv);
    Py_DECREF(assigns);
    return result;
}

static int push_segments(Walk *w, PyObject *segs) {
    PyList_Append(w->pending, segs);
    PyList_Append(w->ops, Py_None);
    return 0;
}

static int statement(Walk *w, TSNode node) {
    if (ts_node_has_error(node)) return BAIL;
    const char *src = w->src;
    if (is(node, "command")) {
        PyObject *seg = command(w, node);
        if (seg == NULL) return BAIL;
        PyObject *segs = PyList_New(1);
        PyList_SET_ITEM(segs, 0, seg);
        push_segments(w, segs);
        Py_DECREF(segs);
        return 0;
    }
    if (is(node, "list")) {
        if (ts_node_child_count(node) != 3) return BAIL;
        TSNode left = ts_node_child(node, 0), op = ts_node_child(node, 1), right = ts_node_child(node, 2);
        const char *op_kind = ts_node_type(op);
        if (strcmp(op_kind, "&&") != 0 && strcmp(op_kind, "||") != 0) return BAIL;
        if (!gap_ok(src, ts_node_end_byte(left), ts_node_start_byte(op))) return BAIL;
        if (!gap_ok(src, ts_node_end_byte(op), ts_node_start_byte(right))) return BAIL;
        if (statement(w, left) < 0) return BAIL;
        PyObject *o = PyUnicode_FromString(op_kind);
        PyList_SetItem(w->ops, PyList_GET_SIZE(w->ops) - 1, o); /* steals o */
        if (is(right, "list")) return BAIL;
        return statement(w, right);
    }
    if (is(node, "pipeline")) {
        PyObject *segs = PyList_New(0);
        int expect_command = 1;
        uint32_t cursor = ts_node_start_byte(node);
        uint32_t count = ts_node_child_count(node);
        for (uint32_t i = 0; i < count; i++) {
            TSNode c = ts_node_child(node, i);
            if (!gap_ok(src, cursor, ts_node_start_byte(c))) goto bail;
            cursor = ts_node_end_byte(c);
            if (expect_command && is(c, "command")) {
                PyObject *seg = command(w, c);
                if (seg == NULL) goto bail;
                PyList_Append(segs, seg);
                Py_DECREF(seg);
                expect_command = 0;
            } else if (!expect_command && is(c, "|")) {
                expect_command = 1;
            } else {
                goto bail;
            }
        }
        if (expect_command || PyList_GET_SIZE(segs) < 2) goto bail;
        push_segments(w, segs);
        Py_DECREF(segs);
        return 0;
    bail:
        Py_DECREF(segs);
        return BAIL;
    }
    return BAIL;
}

static PyObject *walk(PyObject *self, PyObject *args) {
    const char *data;
    Py_ssize_t len;
    int terminated;
    if (!PyArg_ParseTuple(args, "y#p", &data, &len, &terminated)) return NULL;
    if (len <= 0 || len > 65536) Py_RETURN_NONE;
    TSTree *tree;
    if (terminated) {
        char *buf = PyMem_Malloc(len + 1);
        if (buf == NULL) return PyErr_NoMemory();
        memcpy(buf, data, len);
        buf[len] = '\n';
        tree = ts_parser_parse_string(parser, NULL, buf, (uint32_t)len + 1);
        PyMem_Free(buf);
    } else {
        tree = ts_parser_parse_string(parser, NULL, data, (uint32_t)len);
    }
    if (tree == NULL) Py_RETURN_NONE;
    TSNode root = ts_tree_root_node(tree);
    Walk w = {data, (uint32_t)len, PyList_New(0), PyList_New(0)};
    PyObject *result = NULL;
    if (!is(root, "program")) goto out;
    int expect_statement = 1;
    uint32_t cursor = 0;
    uint32_t count = ts_node_child_count(root);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_child(root, i);
        uint32_t s = ts_node_start_byte(c), e = ts_node_end_byte(c);
        if (e > w.limit) goto out;
        if (!gap_ok(data, cursor, s)) goto out;
        cursor = e;
        const char *kind = ts_node_type(c);
        if (strcmp(kind, "command") == 0 || (ts_node_is_named(c) && strcmp(kind, "comment") != 0)) {
            if (!expect_statement) goto out;
            if (statement(&w, c) < 0) goto out;
            expect_statement = 0;
        } else if (strcmp(kind, ";") == 0 && !expect_statement) {
            PyList_SetItem(w.ops, PyList_GET_SIZE(w.ops) - 1, PyUnicode_FromString(";"));
            expect_statement = 1;
        } else {
            goto out;
        }
    }
    if (!gap_ok(data, cursor, w.limit)) goto out;
    if (PyList_GET_SIZE(w.pending) == 0 || expect_statement) goto out;
    {
        Py_ssize_t n = PyList_GET_SIZE(w.pending);
        result = PyList_New(n);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *pair = PyTuple_Pack(2, PyList_GET_ITEM(w.pending, i), PyList_GET_ITEM(w.ops, i));
            PyList_SET_ITEM(result, i, pair);
        }
    }
out:
    ts_tree_delete(tree);
    Py_DECREF(w.pending);
    Py_DECREF(w.ops);
    if (result == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"walk", walk, METH_VARARGS, "walk(src, terminated) -> RawParts or None (let Python decide)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastwalk", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fastwalk(void) {
    const char *chars = "$`*?[]{}()<>|&;'\"\\~#=: \t";
    for (const char *p = chars; *p; p++) special[(unsigned char)*p] = 1;
    for (int i = 0; i < 32; i++) special[i] = 1;
    for (int i = 127; i < 256; i++) special[i] = 1;
    parser = ts_parser_new();
    if (!ts_parser_set_language(parser, tree_sitter_bash())) {
        PyErr_SetString(PyExc_ImportError, "tree-sitter-bash ABI not supported by this runtime");
        return NULL;
    }
    return PyModule_Create(&module);
}
