/*
 * _labels_ext.c: the compiled core of metatensor-core's Labels.
 *
 * Hashes, looks up, deduplicates and sorts the rows of 2-D int32 numpy arrays
 * (the values of Labels):
 *
 *   LabelsIndex(values, check_unique=True)   hash index over the rows
 *       .values, len(), .position(entry), .positions(queries, columns=None)
 *   is_sorted(values), unique_rows(arrays), argsort_rows(values),
 *   readonly_copy(values), readonly_view(values)
 *
 * Every entry point has a pure-Python twin with the same behaviour and the same
 * messages in _labels_py.py, and the tests run on both. Inputs are validated at
 * the boundary (type, dtype, ndim, contiguity, sizes); every failure is a Python
 * exception, never a crash. Arrays are read in place, never copied (except by
 * readonly_copy). Where integers are expected, bools (Python or numpy) are
 * rejected with TypeError; an entry with a value outside the int32 range is
 * simply absent.
 *
 * The index is an open-addressing table with linear probing: a power-of-two
 * capacity of at least twice the number of rows (load factor <= 0.5), slots
 * holding a row number and 32 bits of the row's hash, rows compared with memcmp.
 * Loops over many rows run without the GIL; they touch no Python object.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>

#include <stdint.h>
#include <string.h>

/* a slot stores row + 1 in a uint32_t (0 marks an empty slot) */
#define MAX_ROWS ((Py_ssize_t)INT32_MAX)
/* loops over at least this many rows release the GIL */
#define NOGIL_ROWS 16384
/* entries with at most this many dimensions are converted on the stack */
#define STACK_DIMS 32

/* Run `statement` without the GIL when `big` is true; it must not touch any
 * Python object (so it can neither fail nor raise) */
#define MAYBE_WITHOUT_GIL(big, statement)                                      \
    do {                                                                       \
        if (big) {                                                             \
            Py_BEGIN_ALLOW_THREADS statement;                                  \
            Py_END_ALLOW_THREADS                                               \
        } else {                                                               \
            statement;                                                         \
        }                                                                      \
    } while (0)

/* ======================================================================== */
/*                              module state                                */
/* ======================================================================== */

typedef struct {
    PyObject *error;          /* metatensor._errors.MetatensorError */
    PyTypeObject *index_type; /* LabelsIndex */
} module_state;

/* ======================================================================== */
/*                       validation at the boundary                         */
/* ======================================================================== */

/* New reference: the `__name__` of the type of `obj`, NULL on error */
static PyObject *type_name(PyObject *obj) {
    return PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
}

/* Raise TypeError naming what `obj` is (its type, or an array's dtype);
 * always returns NULL */
static void *raise_not_int32(PyObject *obj, const char *name) {
    if (PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "expected a numpy array of int32 for `%s`, got an array of %S",
                     name, (PyObject *)PyArray_DESCR((PyArrayObject *)obj));
        return NULL;
    }
    PyObject *tname = type_name(obj);
    if (tname != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "expected a numpy array of int32 for `%s`, got %S", name, tname);
        Py_DECREF(tname);
    }
    return NULL;
}

/* Borrowed: `obj` as a 2-D int32 array in native byte order, or NULL with
 * TypeError (wrong type or dtype) or ValueError (wrong ndim) set. With
 * `contiguous`, the array must also be C-contiguous and aligned (ValueError) */
static PyArrayObject *as_int32_2d(PyObject *obj, const char *name, int contiguous) {
    if (!PyArray_Check(obj)) {
        return raise_not_int32(obj, name);
    }
    PyArrayObject *array = (PyArrayObject *)obj;
    if (!PyArray_EquivTypenums(PyArray_TYPE(array), NPY_INT32) ||
        !PyArray_ISNOTSWAPPED(array)) {
        return raise_not_int32(obj, name);
    }
    if (PyArray_NDIM(array) != 2) {
        PyErr_Format(PyExc_ValueError, "expected a 2-D array for `%s`, got a %d-D array",
                     name, PyArray_NDIM(array));
        return NULL;
    }
    if (contiguous && !(PyArray_IS_C_CONTIGUOUS(array) && PyArray_ISALIGNED(array))) {
        PyErr_Format(PyExc_ValueError,
                     "expected a C-contiguous and aligned array for `%s`, got %s; "
                     "use numpy.require(%s, requirements='CA')",
                     name,
                     PyArray_IS_C_CONTIGUOUS(array) ? "an unaligned one"
                                                    : "a non-contiguous one",
                     name);
        return NULL;
    }
    return array;
}

/* 1 if `obj` is a bool (Python or numpy), which we do not take as an integer;
 * cannot fail */
static int is_bool(PyObject *obj) {
    return PyBool_Check(obj) || PyArray_IsScalar(obj, Bool);
}

/* ======================================================================== */
/*                           hashing and the table                          */
/* ======================================================================== */

/* splitmix64's finalizer: a bijective 64-bit mix with full avalanche;
 * cannot fail */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Hash of a row of `d` int32 values, mixed two values at a time; cannot fail */
static inline uint64_t hash_row(const int32_t *row, Py_ssize_t d) {
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)d;
    Py_ssize_t j = 0;
    for (; j + 2 <= d; j += 2) {
        uint64_t word = (uint64_t)(uint32_t)row[j] | ((uint64_t)(uint32_t)row[j + 1] << 32);
        h = mix64(h ^ word);
    }
    if (j < d) {
        h = mix64(h ^ (uint64_t)(uint32_t)row[j]);
    }
    return h;
}

/* 1 if the rows `a` and `b` of `d` values are equal; cannot fail */
static inline int rows_equal(const int32_t *a, const int32_t *b, Py_ssize_t d) {
    /* labels have few dimensions: a loop beats a call to memcmp */
    for (Py_ssize_t j = 0; j < d; j++) {
        if (a[j] != b[j]) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    uint32_t row; /* row number + 1, 0 for an empty slot */
    uint32_t tag; /* high half of the row's hash, compared before the rows */
} slot_t;

typedef struct {
    slot_t *slots; /* owned, mask + 1 slots */
    size_t mask;   /* capacity - 1; the capacity is a power of two >= 2 * rows */
} table_t;

/* Allocate an empty table for up to `rows` rows (0 <= rows <= MAX_ROWS);
 * returns 0, or -1 with MemoryError set */
static int table_init(table_t *table, Py_ssize_t rows) {
    size_t capacity = 8;
    while (capacity / 2 < (size_t)rows) {
        if (capacity > SIZE_MAX / 2 / sizeof(slot_t)) {
            PyErr_NoMemory();
            return -1;
        }
        capacity *= 2;
    }
    table->slots = PyMem_Calloc(capacity, sizeof(slot_t));
    if (table->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    table->mask = capacity - 1;
    return 0;
}

/* Find `row` (of hash `hash`) in a table over the rows of `base`: returns its
 * row number, or -1 with `*empty` set to the free slot where it would go.
 * Cannot fail, needs no GIL (the load factor guarantees a free slot) */
static inline Py_ssize_t table_find(const table_t *table, const int32_t *base,
                                    Py_ssize_t d, const int32_t *row,
                                    uint64_t hash, size_t *empty) {
    const uint32_t tag = (uint32_t)(hash >> 32);
    size_t i = (size_t)hash & table->mask;
    for (;;) {
        const slot_t slot = table->slots[i];
        if (slot.row == 0) {
            *empty = i;
            return -1;
        }
        if (slot.tag == tag) {
            const Py_ssize_t found = (Py_ssize_t)slot.row - 1;
            if (rows_equal(base + found * d, row, d)) {
                return found;
            }
        }
        i = (i + 1) & table->mask;
    }
}

/* Store row number `position` (of hash `hash`) in the free slot `empty`;
 * cannot fail */
static inline void table_store(table_t *table, size_t empty, Py_ssize_t position,
                               uint64_t hash) {
    table->slots[empty].row = (uint32_t)(position + 1);
    table->slots[empty].tag = (uint32_t)(hash >> 32);
}

/* Insert the `n` rows of `data` into an empty table. Returns -1 when done, or
 * with `check_unique` the number of the first row already present. Without it,
 * repeats are skipped so that lookups give the first occurrence. Cannot fail,
 * needs no GIL */
static Py_ssize_t table_fill(table_t *table, const int32_t *data, Py_ssize_t n,
                             Py_ssize_t d, int check_unique) {
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t *row = data + i * d;
        const uint64_t hash = hash_row(row, d);
        size_t empty;
        if (table_find(table, data, d, row, hash, &empty) >= 0) {
            if (check_unique) {
                return i;
            }
            continue;
        }
        table_store(table, empty, i, hash);
    }
    return -1;
}

/* New reference: a list of the `d` values of `row`, NULL on error */
static PyObject *row_to_list(const int32_t *row, Py_ssize_t d) {
    PyObject *list = PyList_New(d);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t j = 0; j < d; j++) {
        PyObject *value = PyLong_FromLong(row[j]);
        if (value == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, j, value);
    }
    return list;
}

/* ======================================================================== */
/*                         entries given to position                        */
/* ======================================================================== */

/* Raise ValueError for an entry of `size` values; always returns -1 */
static int raise_entry_size(Py_ssize_t size, Py_ssize_t d) {
    PyErr_Format(PyExc_ValueError,
                 "entry has %zd values but the labels have %zd dimensions", size, d);
    return -1;
}

/* Convert the `d` items of the tuple `entry` into `row`. Returns 1, 0 when an
 * item is outside the int32 range (the entry can not be in the labels), or -1
 * with TypeError (non-integer item) or ValueError (wrong length) set */
static int tuple_to_row(PyObject *entry, Py_ssize_t d, int32_t *row) {
    if (PyTuple_GET_SIZE(entry) != d) {
        return raise_entry_size(PyTuple_GET_SIZE(entry), d);
    }
    int in_range = 1;
    for (Py_ssize_t j = 0; j < d; j++) {
        PyObject *item = PyTuple_GET_ITEM(entry, j);
        int overflow = 0;
        long long value;
        if (PyLong_CheckExact(item)) {
            value = PyLong_AsLongLongAndOverflow(item, &overflow);
        } else if (is_bool(item) || !PyIndex_Check(item)) {
            PyErr_Format(PyExc_TypeError, "entry values must be integers, got %R", item);
            return -1;
        } else {
            PyObject *index = PyNumber_Index(item);
            if (index == NULL) {
                return -1;
            }
            value = PyLong_AsLongLongAndOverflow(index, &overflow);
            Py_DECREF(index);
        }
        if (value == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow != 0 || value < INT32_MIN || value > INT32_MAX) {
            in_range = 0; /* keep going: later items may still be of a wrong type */
        } else {
            row[j] = (int32_t)value;
        }
    }
    return in_range;
}

/* Convert the 1-D integer array `entry` of `d` values into `row`; same
 * returns as tuple_to_row */
static int array_to_row(PyArrayObject *entry, Py_ssize_t d, int32_t *row) {
    PyArrayObject *wide = NULL;
    int result = -1;

    if (!PyArray_ISINTEGER(entry)) {
        PyErr_Format(PyExc_TypeError,
                     "entry must be a tuple, a list or a 1-D numpy array of integers, "
                     "got an array of %S",
                     (PyObject *)PyArray_DESCR(entry));
        goto error;
    }
    if (PyArray_NDIM(entry) != 1) {
        PyErr_Format(PyExc_ValueError, "entry must be a 1-D array, got a %d-D array",
                     PyArray_NDIM(entry));
        goto error;
    }
    if (PyArray_DIM(entry, 0) != d) {
        raise_entry_size(PyArray_DIM(entry, 0), d);
        goto error;
    }
    const char *data = PyArray_BYTES(entry);
    const npy_intp stride = PyArray_STRIDE(entry, 0);
    if (PyArray_EquivTypenums(PyArray_TYPE(entry), NPY_INT32) && PyArray_ISNOTSWAPPED(entry)) {
        /* the common case, read in place (memcpy: it may be unaligned) */
        for (Py_ssize_t j = 0; j < d; j++) {
            memcpy(&row[j], data + j * stride, sizeof(int32_t));
        }
        return 1;
    }

    /* any other integer type: widen (which also aligns and byte-swaps) */
    const int is_unsigned = PyArray_ISUNSIGNED(entry);
    PyArray_Descr *descr = PyArray_DescrFromType(is_unsigned ? NPY_UINT64 : NPY_INT64);
    if (descr == NULL) {
        goto error;
    }
    wide = (PyArrayObject *)PyArray_FromArray(entry, descr, NPY_ARRAY_CARRAY_RO);
    if (wide == NULL) {
        goto error;
    }
    result = 1;
    for (Py_ssize_t j = 0; j < d; j++) {
        if (is_unsigned) {
            const uint64_t value = ((const uint64_t *)PyArray_DATA(wide))[j];
            if (value > INT32_MAX) {
                result = 0;
            } else {
                row[j] = (int32_t)value;
            }
        } else {
            const int64_t value = ((const int64_t *)PyArray_DATA(wide))[j];
            if (value < INT32_MIN || value > INT32_MAX) {
                result = 0;
            } else {
                row[j] = (int32_t)value;
            }
        }
    }

error:
    Py_XDECREF(wide);
    return result;
}

/* Convert `entry` (tuple, list or 1-D integer numpy array of `d` values) into
 * `row`; same returns as tuple_to_row */
static int entry_to_row(PyObject *entry, Py_ssize_t d, int32_t *row) {
    if (PyTuple_Check(entry)) {
        return tuple_to_row(entry, d, row);
    }
    if (PyList_Check(entry)) {
        /* a tuple snapshot: converting items may run code that edits the list */
        PyObject *tuple = PyList_AsTuple(entry);
        if (tuple == NULL) {
            return -1;
        }
        const int result = tuple_to_row(tuple, d, row);
        Py_DECREF(tuple);
        return result;
    }
    if (PyArray_Check(entry)) {
        return array_to_row((PyArrayObject *)entry, d, row);
    }
    PyObject *tname = type_name(entry);
    if (tname != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "entry must be a tuple, a list or a 1-D numpy array of integers, "
                     "got %S",
                     tname);
        Py_DECREF(tname);
    }
    return -1;
}

/* Read `columns` (a sequence of `d` integers in [0, k)) into `cols`; returns
 * 0, or -1 with TypeError, ValueError (wrong length) or IndexError set */
static int parse_columns(PyObject *columns, Py_ssize_t d, Py_ssize_t k, Py_ssize_t *cols) {
    PyObject *tuple = NULL;
    PyObject *index = NULL;
    PyObject *tname = NULL;
    int result = -1;

    tuple = PySequence_Tuple(columns);
    if (tuple == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            tname = type_name(columns);
            if (tname != NULL) {
                PyErr_Format(PyExc_TypeError,
                             "expected a sequence of integers for `columns`, got %S", tname);
            }
        }
        goto error;
    }
    if (PyTuple_GET_SIZE(tuple) != d) {
        PyErr_Format(PyExc_ValueError,
                     "`columns` has %zd values but the labels have %zd dimensions",
                     PyTuple_GET_SIZE(tuple), d);
        goto error;
    }
    for (Py_ssize_t j = 0; j < d; j++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, j);
        if (is_bool(item) || !PyIndex_Check(item)) {
            PyErr_Format(PyExc_TypeError, "expected integers in `columns`, got %R", item);
            goto error;
        }
        index = PyNumber_Index(item);
        if (index == NULL) {
            goto error;
        }
        int overflow = 0;
        const long long column = PyLong_AsLongLongAndOverflow(index, &overflow);
        if (column == -1 && PyErr_Occurred()) {
            goto error;
        }
        if (overflow != 0 || column < 0 || column >= k) {
            PyErr_Format(PyExc_IndexError,
                         "column index %R is out of range for `queries` with %zd columns",
                         index, k);
            goto error;
        }
        cols[j] = (Py_ssize_t)column;
        Py_CLEAR(index);
    }
    result = 0;

error:
    Py_XDECREF(tname);
    Py_XDECREF(index);
    Py_XDECREF(tuple);
    return result;
}

/* ======================================================================== */
/*                              LabelsIndex                                 */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    PyArrayObject *values; /* the indexed array, a strong reference */
    const int32_t *data;   /* its rows, borrowed from `values` */
    Py_ssize_t n_rows;
    Py_ssize_t n_dims;
    table_t table;         /* first occurrence of every distinct row */
} LabelsIndexObject;

/* New reference: an index over the rows of `values`; NULL with TypeError,
 * ValueError, MemoryError or MetatensorError (repeated row) set */
static PyObject *LabelsIndex_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"values", "check_unique", NULL};
    PyObject *values_obj = NULL;
    int check_unique = 1;
    LabelsIndexObject *self = NULL;
    PyObject *row = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|p:LabelsIndex", keywords,
                                     &values_obj, &check_unique)) {
        goto error;
    }
    PyArrayObject *values = as_int32_2d(values_obj, "values", 1);
    if (values == NULL) {
        goto error;
    }
    const Py_ssize_t n = PyArray_DIM(values, 0);
    const Py_ssize_t d = PyArray_DIM(values, 1);
    if (n > MAX_ROWS) {
        PyErr_Format(PyExc_ValueError,
                     "labels with %zd entries are too large for the index, the "
                     "maximum is %zd",
                     n, MAX_ROWS);
        goto error;
    }

    self = (LabelsIndexObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto error;
    }
    Py_INCREF(values);
    self->values = values;
    self->data = (const int32_t *)PyArray_DATA(values);
    self->n_rows = n;
    self->n_dims = d;
    if (table_init(&self->table, n) < 0) {
        goto error;
    }

    Py_ssize_t repeated;
    MAYBE_WITHOUT_GIL(n >= NOGIL_ROWS,
                      repeated = table_fill(&self->table, self->data, n, d, check_unique));
    if (repeated >= 0) {
        module_state *state = PyType_GetModuleState(type);
        if (state == NULL) {
            goto error;
        }
        row = row_to_list(self->data + repeated * d, d);
        if (row == NULL) {
            goto error;
        }
        PyErr_Format(state->error,
                     "invalid parameter: can not have the same label entry multiple times: %R is already present",
                     row);
        goto error;
    }
    return (PyObject *)self;

error:
    Py_XDECREF(row);
    Py_XDECREF(self);
    return NULL;
}

/* Free the table and drop the array (also for a half-built index); cannot fail */
static void LabelsIndex_dealloc(LabelsIndexObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    PyMem_Free(self->table.slots);
    Py_XDECREF(self->values);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* The number of rows; cannot fail */
static Py_ssize_t LabelsIndex_len(LabelsIndexObject *self) {
    return self->n_rows;
}

/* New reference: the indexed array; cannot fail */
static PyObject *LabelsIndex_get_values(LabelsIndexObject *self, void *closure) {
    (void)closure;
    return Py_NewRef((PyObject *)self->values);
}

/* New reference: the row number of `entry` as an int, or None when absent;
 * NULL with TypeError or ValueError set for a malformed entry */
static PyObject *LabelsIndex_position(LabelsIndexObject *self, PyObject *entry) {
    int32_t stack[STACK_DIMS];
    int32_t *row = stack;
    PyObject *result = NULL;
    const Py_ssize_t d = self->n_dims;

    if (d > STACK_DIMS) {
        row = PyMem_Malloc((size_t)d * sizeof(int32_t));
        if (row == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    const int converted = entry_to_row(entry, d, row);
    if (converted < 0) {
        goto error;
    }
    Py_ssize_t position = -1;
    if (converted) {
        size_t empty;
        position = table_find(&self->table, self->data, d, row, hash_row(row, d), &empty);
    }
    result = position < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(position);

error:
    if (row != stack) {
        PyMem_Free(row);
    }
    return result;
}

/* Hint the processor to load `address` into the cache; cannot fail */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif

/* Bulk lookups are bound by cache misses on the table and on the indexed rows:
 * queries are hashed LOOKAHEAD rows in advance, their slot is prefetched, and
 * half-way there the row that slot points to is prefetched too */
#define LOOKAHEAD 16

/* Look up the `m` C-contiguous rows of `queries` and write their row number
 * (-1 if absent) in `out`. Cannot fail, needs no GIL */
static void lookup_contiguous(const LabelsIndexObject *self, const int32_t *queries,
                              Py_ssize_t m, int64_t *out) {
    const Py_ssize_t d = self->n_dims;
    const table_t *table = &self->table;
    uint64_t hashes[LOOKAHEAD];
    for (Py_ssize_t i = 0; i < m && i < LOOKAHEAD; i++) {
        hashes[i] = hash_row(queries + i * d, d);
        PREFETCH(&table->slots[hashes[i] & table->mask]);
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        const uint64_t hash = hashes[i % LOOKAHEAD];
        const Py_ssize_t ahead = i + LOOKAHEAD;
        if (ahead < m) {
            const uint64_t next = hash_row(queries + ahead * d, d);
            hashes[ahead % LOOKAHEAD] = next;
            PREFETCH(&table->slots[next & table->mask]);
        }
        const Py_ssize_t half = i + LOOKAHEAD / 2;
        if (half < m) {
            const slot_t slot = table->slots[hashes[half % LOOKAHEAD] & table->mask];
            if (slot.row != 0) {
                PREFETCH(self->data + ((Py_ssize_t)slot.row - 1) * d);
            }
        }
        size_t empty;
        out[i] = table_find(table, self->data, d, queries + i * d, hash, &empty);
    }
}

/* Write in `out` the row number (-1 if absent) of the `m` queries, query i
 * being the values at `base + i * s0 + cols[j] * s1`; with `direct`, queries
 * are the C-contiguous aligned rows of `base` themselves. `buffer` holds d
 * values. Cannot fail, needs no GIL */
static void lookup_many(const LabelsIndexObject *self, const char *base, npy_intp s0,
                        npy_intp s1, const Py_ssize_t *cols, int direct, Py_ssize_t m,
                        int32_t *buffer, int64_t *out) {
    const Py_ssize_t d = self->n_dims;
    if (direct) {
        lookup_contiguous(self, (const int32_t *)base, m, out);
        return;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        for (Py_ssize_t j = 0; j < d; j++) {
            memcpy(&buffer[j], base + i * s0 + cols[j] * s1, sizeof(int32_t));
        }
        size_t empty;
        out[i] = table_find(&self->table, self->data, d, buffer, hash_row(buffer, d), &empty);
    }
}

/* New reference: an int64 array with the row number of each row of `queries`
 * (seen through `columns`), -1 where absent; NULL with TypeError, ValueError or
 * IndexError set */
static PyObject *LabelsIndex_positions(LabelsIndexObject *self, PyObject *args,
                                       PyObject *kwargs) {
    static char *keywords[] = {"queries", "columns", NULL};
    PyObject *queries_obj = NULL;
    PyObject *columns = Py_None;
    Py_ssize_t *cols = NULL;
    int32_t *buffer = NULL;
    PyArrayObject *result = NULL;
    const Py_ssize_t d = self->n_dims;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:positions", keywords,
                                     &queries_obj, &columns)) {
        goto error;
    }
    PyArrayObject *queries = as_int32_2d(queries_obj, "queries", 0);
    if (queries == NULL) {
        goto error;
    }
    npy_intp m = PyArray_DIM(queries, 0);
    const Py_ssize_t k = PyArray_DIM(queries, 1);

    cols = PyMem_Malloc((size_t)(d > 0 ? d : 1) * sizeof(Py_ssize_t));
    buffer = PyMem_Malloc((size_t)(d > 0 ? d : 1) * sizeof(int32_t));
    if (cols == NULL || buffer == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    int identity = 1;
    if (columns == Py_None) {
        if (k != d) {
            PyErr_Format(PyExc_ValueError,
                         "`queries` has %zd columns but the labels have %zd dimensions", k, d);
            goto error;
        }
        for (Py_ssize_t j = 0; j < d; j++) {
            cols[j] = j;
        }
    } else {
        if (parse_columns(columns, d, k, cols) < 0) {
            goto error;
        }
        for (Py_ssize_t j = 0; j < d; j++) {
            identity = identity && cols[j] == j;
        }
        identity = identity && k == d;
    }

    result = (PyArrayObject *)PyArray_SimpleNew(1, &m, NPY_INT64);
    if (result == NULL) {
        goto error;
    }
    const int direct = identity && PyArray_IS_C_CONTIGUOUS(queries) && PyArray_ISALIGNED(queries);
    MAYBE_WITHOUT_GIL(m >= NOGIL_ROWS,
                      lookup_many(self, PyArray_BYTES(queries), PyArray_STRIDE(queries, 0),
                                  PyArray_STRIDE(queries, 1), cols, direct, m, buffer,
                                  (int64_t *)PyArray_DATA(result)));
    PyMem_Free(cols);
    PyMem_Free(buffer);
    return (PyObject *)result;

error:
    PyMem_Free(cols);
    PyMem_Free(buffer);
    Py_XDECREF(result);
    return NULL;
}

#ifndef NDEBUG
/* Test hook. New reference: {"capacity": ..., "occupied": ..., "longest_probe":
 * ...} describing the table; NULL on error */
static PyObject *LabelsIndex_table_info(LabelsIndexObject *self, PyObject *unused) {
    (void)unused;
    const table_t *table = &self->table;
    size_t occupied = 0;
    size_t longest = 0;
    for (size_t i = 0; i <= table->mask; i++) {
        const slot_t slot = table->slots[i];
        if (slot.row == 0) {
            continue;
        }
        occupied++;
        const int32_t *row = self->data + ((Py_ssize_t)slot.row - 1) * self->n_dims;
        const size_t home = (size_t)hash_row(row, self->n_dims) & table->mask;
        const size_t probe = ((i - home) & table->mask) + 1;
        longest = probe > longest ? probe : longest;
    }
    return Py_BuildValue("{s:n,s:n,s:n}", "capacity", (Py_ssize_t)(table->mask + 1),
                         "occupied", (Py_ssize_t)occupied, "longest_probe",
                         (Py_ssize_t)longest);
}
#endif

static PyMethodDef LabelsIndex_methods[] = {
    {"position", (PyCFunction)LabelsIndex_position, METH_O,
     "position(entry, /)\n--\n\n"
     "Row number of `entry` (a tuple, list or 1-D numpy array of integers), or "
     "None when absent"},
    {"positions", (PyCFunction)(void (*)(void))LabelsIndex_positions,
     METH_VARARGS | METH_KEYWORDS,
     "positions(queries, columns=None)\n--\n\n"
     "Row number of each row of the int32 array `queries` (the row being its "
     "`columns`, in order), -1 where absent, as an int64 array"},
#ifndef NDEBUG
    {"_table_info", (PyCFunction)LabelsIndex_table_info, METH_NOARGS,
     "test hook (debug builds only): capacity, occupied slots and longest probe"},
#endif
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef LabelsIndex_getset[] = {
    {"values", (getter)LabelsIndex_get_values, NULL, "the indexed 2-D int32 array", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot LabelsIndex_slots[] = {
    {Py_tp_doc, "LabelsIndex(values, check_unique=True)\n--\n\n"
                "Hash index over the rows of a 2-D int32 array"},
    {Py_tp_new, LabelsIndex_new},
    {Py_tp_dealloc, LabelsIndex_dealloc},
    {Py_tp_methods, LabelsIndex_methods},
    {Py_tp_getset, LabelsIndex_getset},
    {Py_sq_length, LabelsIndex_len},
    {0, NULL},
};

static PyType_Spec LabelsIndex_spec = {
    .name = "metatensor._labels_ext.LabelsIndex",
    .basicsize = sizeof(LabelsIndexObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = LabelsIndex_slots,
};

/* ======================================================================== */
/*                        functions over whole arrays                       */
/* ======================================================================== */

/* -1, 0 or 1 as the row `a` sorts before, with or after `b` (signed,
 * lexicographic); cannot fail */
static inline int compare_rows(const int32_t *a, const int32_t *b, Py_ssize_t d) {
    for (Py_ssize_t j = 0; j < d; j++) {
        if (a[j] != b[j]) {
            return a[j] < b[j] ? -1 : 1;
        }
    }
    return 0;
}

/* 1 if the `n` rows of `data` are strictly increasing; cannot fail, needs no GIL */
static int rows_sorted(const int32_t *data, Py_ssize_t n, Py_ssize_t d) {
    for (Py_ssize_t i = 1; i < n; i++) {
        if (compare_rows(data + (i - 1) * d, data + i * d, d) >= 0) {
            return 0;
        }
    }
    return 1;
}

/* New reference: True if the rows of `values` are strictly increasing; NULL
 * with TypeError or ValueError set */
static PyObject *is_sorted(PyObject *module, PyObject *values_obj) {
    (void)module;
    PyArrayObject *values = as_int32_2d(values_obj, "values", 1);
    if (values == NULL) {
        return NULL;
    }
    const Py_ssize_t n = PyArray_DIM(values, 0);
    int sorted;
    MAYBE_WITHOUT_GIL(n >= NOGIL_ROWS,
                      sorted = rows_sorted((const int32_t *)PyArray_DATA(values), n,
                                           PyArray_DIM(values, 1)));
    return PyBool_FromLong(sorted);
}

typedef struct {
    const int32_t *data; /* rows of one input array */
    Py_ssize_t n;        /* its number of rows */
    int64_t *inverse;    /* its inverse, to fill */
} unique_input_t;

/* Deduplicate the rows of `inputs`, copying each new row to the end of
 * `unique` and filling the inverses; returns the number of unique rows.
 * Cannot fail, needs no GIL */
static Py_ssize_t unique_fill(table_t *table, const unique_input_t *inputs,
                              Py_ssize_t count, Py_ssize_t d, int32_t *unique) {
    Py_ssize_t n_unique = 0;
    for (Py_ssize_t a = 0; a < count; a++) {
        for (Py_ssize_t i = 0; i < inputs[a].n; i++) {
            const int32_t *row = inputs[a].data + i * d;
            const uint64_t hash = hash_row(row, d);
            size_t empty;
            Py_ssize_t position = table_find(table, unique, d, row, hash, &empty);
            if (position < 0) {
                position = n_unique++;
                if (d > 0) {
                    memcpy(unique + position * d, row, (size_t)d * sizeof(int32_t));
                }
                table_store(table, empty, position, hash);
            }
            inputs[a].inverse[i] = position;
        }
    }
    return n_unique;
}

/* New reference: (unique, [inverse, ...]) for a list or tuple of 2-D int32
 * arrays; NULL with TypeError, ValueError or MemoryError set */
static PyObject *unique_rows(PyObject *module, PyObject *arrays_obj) {
    (void)module;
    PyObject *arrays = NULL;
    PyObject *tname = NULL;
    PyObject *inverses = NULL;
    PyArrayObject *unique = NULL;
    PyObject *resized = NULL;
    unique_input_t *inputs = NULL;
    table_t table = {NULL, 0};
    PyObject *result = NULL;

    if (!PyList_Check(arrays_obj) && !PyTuple_Check(arrays_obj)) {
        tname = type_name(arrays_obj);
        if (tname != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "expected a list or tuple of arrays for `arrays`, got %S", tname);
        }
        goto error;
    }
    /* a tuple snapshot: the list can not change under us */
    arrays = PySequence_Tuple(arrays_obj);
    if (arrays == NULL) {
        goto error;
    }
    const Py_ssize_t count = PyTuple_GET_SIZE(arrays);
    if (count == 0) {
        PyErr_SetString(PyExc_ValueError, "`arrays` must contain at least one array");
        goto error;
    }
    inputs = PyMem_Calloc((size_t)count, sizeof(unique_input_t));
    if (inputs == NULL) {
        PyErr_NoMemory();
        goto error;
    }

    Py_ssize_t d = 0;
    Py_ssize_t total = 0;
    for (Py_ssize_t a = 0; a < count; a++) {
        char name[48];
        PyOS_snprintf(name, sizeof(name), "arrays[%zd]", a);
        PyArrayObject *array = as_int32_2d(PyTuple_GET_ITEM(arrays, a), name, 1);
        if (array == NULL) {
            goto error;
        }
        if (a == 0) {
            d = PyArray_DIM(array, 1);
        } else if (PyArray_DIM(array, 1) != d) {
            PyErr_Format(PyExc_ValueError,
                         "all arrays must have the same number of columns, got %zd for "
                         "`arrays[0]` and %zd for `%s`",
                         d, (Py_ssize_t)PyArray_DIM(array, 1), name);
            goto error;
        }
        if (PyArray_DIM(array, 0) > MAX_ROWS - total) {
            PyErr_Format(PyExc_ValueError,
                         "`arrays` have more than %zd rows in total, the maximum", MAX_ROWS);
            goto error;
        }
        total += PyArray_DIM(array, 0);
        inputs[a].data = (const int32_t *)PyArray_DATA(array);
        inputs[a].n = PyArray_DIM(array, 0);
    }

    inverses = PyList_New(count);
    if (inverses == NULL) {
        goto error;
    }
    for (Py_ssize_t a = 0; a < count; a++) {
        npy_intp n = inputs[a].n;
        PyObject *inverse = PyArray_SimpleNew(1, &n, NPY_INT64);
        if (inverse == NULL) {
            goto error;
        }
        PyList_SET_ITEM(inverses, a, inverse);
        inputs[a].inverse = (int64_t *)PyArray_DATA((PyArrayObject *)inverse);
    }
    npy_intp shape[2] = {total, d};
    unique = (PyArrayObject *)PyArray_SimpleNew(2, shape, NPY_INT32);
    if (unique == NULL || table_init(&table, total) < 0) {
        goto error;
    }

    Py_ssize_t n_unique;
    MAYBE_WITHOUT_GIL(total >= NOGIL_ROWS,
                      n_unique = unique_fill(&table, inputs, count, d,
                                             (int32_t *)PyArray_DATA(unique)));
    if (n_unique < total) {
        shape[0] = n_unique;
        PyArray_Dims new_shape = {shape, 2};
        /* no reference check needed: nothing else has seen `unique` yet */
        resized = PyArray_Resize(unique, &new_shape, 0, NPY_CORDER);
        if (resized == NULL) {
            goto error;
        }
    }
    result = PyTuple_Pack(2, (PyObject *)unique, inverses);

error:
    PyMem_Free(table.slots);
    PyMem_Free(inputs);
    Py_XDECREF(resized);
    Py_XDECREF(unique);
    Py_XDECREF(inverses);
    Py_XDECREF(tname);
    Py_XDECREF(arrays);
    return result;
}

/* Number of bits needed to write `x`; cannot fail */
static unsigned bit_length(uint32_t x) {
    unsigned bits = 0;
    while (x != 0) {
        bits++;
        x >>= 1;
    }
    return bits;
}

/* Stable LSD radix sort of the row numbers of `data` (n >= 0 rows of d
 * columns, signed lexicographic order) into `order`; `scratch` holds n int64,
 * `lowest` and `bits` d values. Each column is read as its offset from the
 * column's minimum, in digits of 8 or 11 bits, last column first; digits
 * equal in all rows are skipped. Cannot fail, needs no GIL */
static void radix_argsort(const int32_t *data, Py_ssize_t n, Py_ssize_t d, int64_t *order,
                          int64_t *scratch, uint32_t *lowest, unsigned *bits) {
    for (Py_ssize_t i = 0; i < n; i++) {
        order[i] = i;
    }
    if (n < 2) {
        return;
    }
    for (Py_ssize_t j = 0; j < d; j++) {
        int32_t min = data[j];
        int32_t max = data[j];
        for (Py_ssize_t i = 1; i < n; i++) {
            const int32_t value = data[i * d + j];
            min = value < min ? value : min;
            max = value > max ? value : max;
        }
        lowest[j] = (uint32_t)min;
        bits[j] = bit_length((uint32_t)max - (uint32_t)min);
    }

    Py_ssize_t counts[1 << 11];
    const unsigned width = n < 4096 ? 8 : 11;
    const uint32_t mask = (UINT32_C(1) << width) - 1;
    int64_t *from = order;
    int64_t *to = scratch;
    for (Py_ssize_t j = d - 1; j >= 0; j--) {
        for (unsigned shift = 0; shift < bits[j]; shift += width) {
#define DIGIT(row) (((((uint32_t)data[(row) * d + j]) - lowest[j]) >> shift) & mask)
            memset(counts, 0, ((size_t)mask + 1) * sizeof(Py_ssize_t));
            for (Py_ssize_t i = 0; i < n; i++) {
                counts[DIGIT(i)]++;
            }
            if (counts[DIGIT(0)] == n) {
                continue;
            }
            Py_ssize_t start = 0;
            for (uint32_t digit = 0; digit <= mask; digit++) {
                const Py_ssize_t count = counts[digit];
                counts[digit] = start;
                start += count;
            }
            for (Py_ssize_t i = 0; i < n; i++) {
                const int64_t row = from[i];
                to[counts[DIGIT(row)]++] = row;
            }
#undef DIGIT
            int64_t *swap = from;
            from = to;
            to = swap;
        }
    }
    if (from != order) {
        memcpy(order, from, (size_t)n * sizeof(int64_t));
    }
}

/* New reference: the int64 permutation sorting the rows of `values` (stable,
 * lexicographic, signed); NULL with TypeError, ValueError or MemoryError set */
static PyObject *argsort_rows(PyObject *module, PyObject *values_obj) {
    (void)module;
    PyArrayObject *order = NULL;
    int64_t *scratch = NULL;
    uint32_t *lowest = NULL;
    unsigned *bits = NULL;

    PyArrayObject *values = as_int32_2d(values_obj, "values", 1);
    if (values == NULL) {
        goto error;
    }
    npy_intp n = PyArray_DIM(values, 0);
    const Py_ssize_t d = PyArray_DIM(values, 1);
    order = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64);
    if (order == NULL) {
        goto error;
    }
    scratch = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    lowest = PyMem_Malloc((size_t)(d > 0 ? d : 1) * sizeof(uint32_t));
    bits = PyMem_Malloc((size_t)(d > 0 ? d : 1) * sizeof(unsigned));
    if (scratch == NULL || lowest == NULL || bits == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    MAYBE_WITHOUT_GIL(n >= NOGIL_ROWS,
                      radix_argsort((const int32_t *)PyArray_DATA(values), n, d,
                                    (int64_t *)PyArray_DATA(order), scratch, lowest, bits));
    PyMem_Free(scratch);
    PyMem_Free(lowest);
    PyMem_Free(bits);
    return (PyObject *)order;

error:
    PyMem_Free(scratch);
    PyMem_Free(lowest);
    PyMem_Free(bits);
    Py_XDECREF(order);
    return NULL;
}

/* New reference: a view of `array` (2-D int32, C-contiguous and aligned) that
 * numpy refuses to make writeable again, nor any view of it: its base is a
 * read-only memoryview. `array` is made read-only; NULL with an exception set */
static PyObject *seal(PyArrayObject *array) {
    PyArray_CLEARFLAGS(array, NPY_ARRAY_WRITEABLE);
    PyObject *memory = PyMemoryView_FromObject((PyObject *)array);
    if (memory == NULL) {
        return NULL;
    }
    PyArray_Descr *descr = PyArray_DescrFromType(NPY_INT32);
    if (descr == NULL) {
        Py_DECREF(memory);
        return NULL;
    }
    /* steals `descr`; without NPY_ARRAY_WRITEABLE in the flags, read-only */
    PyObject *view = PyArray_NewFromDescr(&PyArray_Type, descr, 2, PyArray_DIMS(array),
                                          NULL, PyArray_DATA(array),
                                          NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, NULL);
    if (view == NULL) {
        Py_DECREF(memory);
        return NULL;
    }
    /* steals the reference to `memory`, also on failure */
    if (PyArray_SetBaseObject((PyArrayObject *)view, memory) < 0) {
        Py_DECREF(view);
        return NULL;
    }
    return view;
}

/* New reference: `values_obj` (2-D int32, C-contiguous and aligned), read-only
 * for good without a copy (see seal): nothing may write to it afterwards; NULL
 * with TypeError or ValueError set */
static PyObject *readonly_view(PyObject *module, PyObject *values_obj) {
    (void)module;
    PyArrayObject *values = as_int32_2d(values_obj, "values", 1);
    if (values == NULL) {
        return NULL;
    }
    return seal(values);
}

/* New reference: a C-contiguous copy of the 2-D int32 array `values_obj`,
 * read-only for good (see seal); NULL with TypeError, ValueError or MemoryError
 * set */
static PyObject *readonly_copy(PyObject *module, PyObject *values_obj) {
    (void)module;
    PyArrayObject *values = as_int32_2d(values_obj, "values", 0);
    if (values == NULL) {
        return NULL;
    }
    PyArrayObject *copy = (PyArrayObject *)PyArray_NewCopy(values, NPY_CORDER);
    if (copy == NULL) {
        return NULL;
    }
    PyObject *sealed = seal(copy);
    Py_DECREF(copy);
    return sealed;
}

/* ======================================================================== */
/*                                 module                                   */
/* ======================================================================== */

static PyMethodDef module_methods[] = {
    {"is_sorted", is_sorted, METH_O,
     "is_sorted(values, /)\n--\n\n"
     "True if the rows of `values` are strictly increasing (signed, lexicographic)"},
    {"unique_rows", unique_rows, METH_O,
     "unique_rows(arrays, /)\n--\n\n"
     "The distinct rows of `arrays` in order of first appearance, and for each "
     "array the int64 row of the result matching each of its rows"},
    {"argsort_rows", argsort_rows, METH_O,
     "argsort_rows(values, /)\n--\n\n"
     "The stable int64 permutation sorting the rows of `values` (signed, lexicographic)"},
    {"readonly_view", readonly_view, METH_O,
     "readonly_view(values, /)\n--\n\n"
     "The C-contiguous 2-D int32 array `values`, read-only for good without a copy: "
     "a view that numpy refuses to make writeable; nothing may write to `values` "
     "afterwards"},
    {"readonly_copy", readonly_copy, METH_O,
     "readonly_copy(values, /)\n--\n\n"
     "A C-contiguous copy of the 2-D int32 array `values`, read-only for good: a "
     "view that numpy refuses to make writeable"},
    {NULL, NULL, 0, NULL},
};

/* Fill the module: numpy's API, the error class, the LabelsIndex type;
 * returns 0, or -1 with an exception set */
static int module_exec(PyObject *module) {
    PyObject *errors = NULL;
    int result = -1;

    module_state *state = PyModule_GetState(module);
    if (state == NULL) {
        goto error;
    }
    if (_import_array() < 0) {
        goto error;
    }
    errors = PyImport_ImportModule("metatensor._errors");
    if (errors == NULL) {
        goto error;
    }
    state->error = PyObject_GetAttrString(errors, "MetatensorError");
    if (state->error == NULL) {
        goto error;
    }
    state->index_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &LabelsIndex_spec, NULL);
    if (state->index_type == NULL) {
        goto error;
    }
    if (PyModule_AddObjectRef(module, "LabelsIndex", (PyObject *)state->index_type) < 0) {
        goto error;
    }
    result = 0;

error:
    Py_XDECREF(errors);
    return result;
}

/* Visit the references held in the module state; returns the visitor's result */
static int module_traverse(PyObject *module, visitproc visit, void *arg) {
    module_state *state = PyModule_GetState(module);
    Py_VISIT(state->error);
    Py_VISIT(state->index_type);
    return 0;
}

/* Drop the references held in the module state; cannot fail */
static int module_clear(PyObject *module) {
    module_state *state = PyModule_GetState(module);
    Py_CLEAR(state->error);
    Py_CLEAR(state->index_type);
    return 0;
}

/* Free the module state; cannot fail */
static void module_free(void *module) {
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_gil
    /* safe without the GIL: there is no global state (the module state is
     * written once, by module_exec); a LabelsIndex is never modified once built;
     * lists given as input are read through a tuple snapshot; the arrays read
     * are kept alive (and so can not be resized) by a reference for the whole
     * call. A caller writing to an array while it is read gets wrong answers,
     * never invalid memory accesses; Labels index arrays that can not be
     * written at all (see seal) */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "metatensor._labels_ext",
    .m_doc = "Hashing, lookup, deduplication and sorting of the rows of int32 label values",
    .m_size = sizeof(module_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

/* New reference: the module definition, for multi-phase initialisation */
PyMODINIT_FUNC PyInit__labels_ext(void) {
    return PyModuleDef_Init(&module_def);
}
