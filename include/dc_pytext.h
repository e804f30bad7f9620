/*
 * dc_pytext.h - Python's text of pydicom values, for output.csv_style: seed
 * (the old crawler wrote str(data_element.value)).  Pure.
 *
 * pydicom 2.3 prints a multi-valued element (MultiValue, or a list for
 * binary numbers) as "[" + items joined by ", " + "]", each item as
 * repr(x) when it is a str (quoted: 'ORIGINAL') and as str(x) otherwise
 * (PersonName, DSfloat, IS, int, float, BaseTag: bare).  A DS or IS value
 * with an item that is not a number keeps every item as str (quoted), and an
 * empty DS/IS item stays the str '' (quoted).
 */
#ifndef DC_PYTEXT_H
#define DC_PYTEXT_H

#include <stddef.h>
#include "dc_util.h"

/* repr() of the UTF-8 string s[0..n) appended to out: quotes chosen like
 * Python (' unless the text has ' and no "), backslash, the quote, \t \n \r
 * escaped, other non-printable code points (str.isprintable) as \xNN, \uNNNN
 * or \UNNNNNNNN.  Bytes that are not UTF-8 are escaped as \xNN. */
void dc_py_repr(dc_buf *out, const char *s, size_t n);

enum dc_py_items {
    DC_PY_QUOTED = 0, /* str items: repr each */
    DC_PY_BARE = 1,   /* PersonName: str each */
    DC_PY_NUMBER = 2, /* DS: bare numbers, unless an item is not one */
    DC_PY_INTEGER = 3 /* IS: bare integers (or integral numbers), unless an item is not one */
};

/* The text of a multi-valued text element whose items are joined by '\'
 * in s[0..n) (the dicom style's text): appended to out as pydicom prints it. */
void dc_py_multivalue(dc_buf *out, const char *s, size_t n, enum dc_py_items kind);

#endif
