/* placeholder: the label-indexing extension is being written */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <numpy/arrayobject.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_labels_ext", NULL, 0, NULL};

PyMODINIT_FUNC PyInit__labels_ext(void) {
    import_array();
    return PyModule_Create(&module);
}
