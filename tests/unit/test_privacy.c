/*
 * test_privacy.c - the pure core of privacy.profile basic (dc_privacy.h):
 * the generated table, the policy for one element, keyed pseudonyms against
 * known answers computed with Python's hmac module (an independent
 * implementation of HMAC-SHA256), dates, and the dataset filter on a file
 * image parsed by dc_parse_memory and flattened afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_flatten.h"
#include "dc_privacy.h"

static dc_privacy *new_priv(int shift, int clean)
{
    uint8_t key[32];
    memset(key, 'k', sizeof key);
    dc_privacy_opts o = {shift, clean, NULL};
    dc_privacy *p = dc_privacy_new(key, sizeof key, &o);
    assert_non_null(p);
    return p;
}

/* ---- the table ---- */

static void test_table(void **state)
{
    (void)state;
    assert_true(dc_privacy_n_rows > 400);
    for (size_t i = 1; i < dc_privacy_n_rows; i++)
        assert_true(dc_privacy_rows[i - 1].tag < dc_privacy_rows[i].tag);
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x0010, 0x0010))->basic, "Z");
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x0008, 0x0018))->basic, "U");
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x0008, 0x0080))->basic, "X/Z/D");
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x0008, 0x1140))->basic, "X/Z/U*");
    assert_true(dc_privacy_lookup(DC_TAG(0x0008, 0x0020))->flags & DC_PRIV_DATES);
    assert_true(dc_privacy_lookup(DC_TAG(0x0008, 0x103E))->flags & DC_PRIV_DESC);
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x5012, 0x3000))->basic, "X"); /* curve */
    assert_string_equal(dc_privacy_lookup(DC_TAG(0x6002, 0x3000))->basic, "X"); /* overlay */
    assert_null(dc_privacy_lookup(DC_TAG(0x6002, 0x0010)));                     /* overlay rows */
    assert_null(dc_privacy_lookup(DC_TAG(0x0028, 0x0010)));
    assert_null(dc_privacy_lookup(DC_TAG(0x0020, 0x0032)));
}

/* ---- policy ---- */

#define UI DC_VR('U', 'I')
#define PN DC_VR('P', 'N')
#define DA DC_VR('D', 'A')
#define SQ DC_VR('S', 'Q')

static int act(const dc_privacy *p, uint32_t tag, uint16_t vr, const char *v)
{
    return dc_privacy_action(p, tag, vr, v, v ? strlen(v) : 0);
}

static void test_policy(void **state)
{
    (void)state;
    dc_privacy *p = new_priv(0, 0);
    assert_int_equal(act(p, DC_TAG(0x0010, 0x0020), DC_VR('L', 'O'), "X"), DC_PA_PATIENT);
    assert_int_equal(act(p, DC_TAG(0x0010, 0x0010), PN, "A^B"), DC_PA_PATIENT);
    assert_int_equal(act(p, DC_TAG(0x0010, 0x0030), DA, "19600101"), DC_PA_EMPTY); /* Z */
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0080), DC_VR('L', 'O'), "H"),
                     DC_PA_REMOVE);                                                /* X/Z/D */
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0023), DA, "20200101"), DC_PA_EMPTY); /* Z/D */
    assert_int_equal(act(p, DC_TAG(0x0040, 0xA123), PN, "A"), DC_PA_DUMMY);        /* D */
    assert_int_equal(act(p, DC_TAG(0x0040, 0xA730), SQ, NULL), DC_PA_REMOVE);      /* D on SQ */
    assert_int_equal(act(p, DC_TAG(0x0040, 0x0610), SQ, NULL), DC_PA_REMOVE);      /* Z on SQ */
    assert_int_equal(act(p, DC_TAG(0x0008, 0x1140), SQ, NULL), DC_PA_KEEP);        /* U* */
    assert_int_equal(act(p, DC_TAG(0x0020, 0x000E), UI, "1.2.3"), DC_PA_UID);
    assert_int_equal(act(p, DC_TAG(0x0009, 0x0010), DC_VR('L', 'O'), "ACME"), DC_PA_REMOVE);
    assert_int_equal(act(p, DC_TAG(0x0029, 0x1010), DC_VR('O', 'B'), NULL), DC_PA_REMOVE);
    /* safety nets beyond the table */
    assert_int_equal(act(p, DC_TAG(0x0018, 0x1200), DA, "20180101"), DC_PA_REMOVE);
    assert_int_equal(act(p, DC_TAG(0x0032, 0x1032) + 0x1000, PN, "Someone"), DC_PA_REMOVE);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0016), UI, "1.2.840.10008.5.1.4.1.1.2"), DC_PA_KEEP);
    assert_int_equal(
        act(p, DC_TAG(0x0008, 0x1150), UI, "1.2.840.10008.5.1.4.1.1.4\\1.2.840.10008.1"),
        DC_PA_KEEP);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x1150), UI, "1.2.840.10008.5\\1.3.6.1"), DC_PA_UID);
    assert_int_equal(act(p, DC_TAG(0x0028, 0x0010), DC_VR('U', 'S'), NULL), DC_PA_KEEP);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0030), DC_VR('T', 'M'), "101500"), DC_PA_EMPTY);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x103E), DC_VR('L', 'O'), "T1"), DC_PA_REMOVE);
    dc_privacy_free(p);
    /* options */
    p = new_priv(1, 1);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0020), DA, "20200101"), DC_PA_SHIFT);
    assert_int_equal(act(p, DC_TAG(0x0008, 0x0030), DC_VR('T', 'M'), "101500"), DC_PA_KEEP);
    assert_int_equal(act(p, DC_TAG(0x0018, 0x1200), DA, "20180101"), DC_PA_SHIFT);
    assert_int_equal(act(p, DC_TAG(0x0010, 0x0030), DA, "19600101"), DC_PA_EMPTY); /* birth: no */
    assert_int_equal(act(p, DC_TAG(0x0008, 0x103E), DC_VR('L', 'O'), "T1"), DC_PA_CLEAN);
    dc_privacy_free(p);
}

/* ---- pseudonyms: known answers from Python's hmac (see the file comment) ---- */

static void test_pseudonyms(void **state)
{
    (void)state;
    dc_privacy *p = new_priv(0, 0);
    char u[DC_PRIVACY_UID_LEN], n[DC_PRIVACY_NAME_LEN];
    dc_privacy_uid(p, "1.2.3", 5, u);
    assert_string_equal(u, "2.25.250900899294139863855578623579500643442");
    dc_privacy_uid(p, "1.2.3\0", 6, u); /* padding is not part of the UID */
    assert_string_equal(u, "2.25.250900899294139863855578623579500643442");
    dc_privacy_uid(p, " 1.2.3 ", 7, u);
    assert_string_equal(u, "2.25.250900899294139863855578623579500643442");
    dc_privacy_name(p, 'F', "storage/DOE_JOHN", 16, n);
    assert_string_equal(n, "F11e0b22a9d5d8a26");
    assert_int_equal(dc_privacy_date_shift(p, "MRN1", 4), -334);
    dc_privacy_uid(p, "1.2.4", 5, u);
    assert_string_not_equal(u, "2.25.250900899294139863855578623579500643442");
    /* another key: another UID */
    uint8_t key2[40];
    memset(key2, 'q', sizeof key2);
    dc_privacy *q = dc_privacy_new(key2, sizeof key2, NULL);
    dc_privacy_uid(q, "1.2.3", 5, u);
    assert_string_not_equal(u, "2.25.250900899294139863855578623579500643442");
    assert_true(strlen(u) <= 5 + 39 && strlen(u) > 5 && u[5] != '0');
    dc_privacy_free(q);
    /* a key longer than SHA-256's block is hashed first (RFC 2104) */
    uint8_t long_key[100];
    memset(long_key, 'L', sizeof long_key);
    dc_privacy *l = dc_privacy_new(long_key, sizeof long_key, NULL);
    dc_privacy_uid(l, "1.2.3", 5, u);
    assert_string_equal(u, "2.25.173291293604390724860220621893521644819");
    dc_privacy_free(l);
    /* too short a key is refused */
    assert_null(dc_privacy_new(key2, DC_PRIVACY_MIN_KEY - 1, NULL));
    for (int i = 0; i < 200; i++) {
        char in[16];
        snprintf(in, sizeof in, "1.2.%d", i);
        int s = dc_privacy_date_shift(p, in, strlen(in));
        assert_true(s <= -1 && s >= -DC_PRIVACY_MAX_SHIFT);
    }
    dc_privacy_free(p);
}

static void test_dates(void **state)
{
    (void)state;
    char out[9];
    assert_int_equal(dc_privacy_shift_da("20200301", 8, -1, out), 0);
    assert_string_equal(out, "20200229");
    assert_int_equal(dc_privacy_shift_da("20190301", 8, -1, out), 0);
    assert_string_equal(out, "20190228");
    assert_int_equal(dc_privacy_shift_da("20000101", 8, -1, out), 0);
    assert_string_equal(out, "19991231");
    assert_int_equal(dc_privacy_shift_da("20240102 ", 9, -3652, out), 0);
    assert_string_equal(out, "20140102");
    assert_int_equal(dc_privacy_shift_da("19000301", 8, -1, out), 0); /* 1900: no 29 Feb */
    assert_string_equal(out, "19000228");
    assert_int_equal(dc_privacy_shift_da("20190230", 8, -1, out), -1);
    assert_int_equal(dc_privacy_shift_da("2019", 4, -1, out), -1);
    assert_int_equal(dc_privacy_shift_da("2019-3-1", 8, -1, out), -1);
    assert_int_equal(dc_privacy_shift_da("20191301", 8, -1, out), -1);
}

/* ---- the dataset filter on a parsed file image ---- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} img;

static void u16(img *m, uint16_t v)
{
    m->b[m->n++] = (uint8_t)v;
    m->b[m->n++] = (uint8_t)(v >> 8);
}

static void u32(img *m, uint32_t v)
{
    u16(m, (uint16_t)v);
    u16(m, (uint16_t)(v >> 16));
}

static void el(img *m, uint32_t tag, const char *vr, const char *s)
{
    size_t len = strlen(s) + (strlen(s) & 1);
    u16(m, (uint16_t)(tag >> 16));
    u16(m, (uint16_t)tag);
    m->b[m->n++] = (uint8_t)vr[0];
    m->b[m->n++] = (uint8_t)vr[1];
    if (!strcmp(vr, "OB") || !strcmp(vr, "UN")) {
        u16(m, 0);
        u32(m, (uint32_t)len);
    } else {
        u16(m, (uint16_t)len);
    }
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
    if (strlen(s) & 1) m->b[m->n++] = !strcmp(vr, "UI") ? 0 : ' ';
}

static void sq_open(img *m, uint32_t tag)
{
    u16(m, (uint16_t)(tag >> 16));
    u16(m, (uint16_t)tag);
    m->b[m->n++] = 'S';
    m->b[m->n++] = 'Q';
    u16(m, 0);
    u32(m, 0xFFFFFFFF);
}

static void item_open(img *m)
{
    u32(m, 0xE000FFFE);
    u32(m, 0xFFFFFFFF);
}

static void item_close(img *m)
{
    u32(m, 0xE00DFFFE);
    u32(m, 0);
}

static void sq_close(img *m)
{
    u32(m, 0xE0DDFFFE);
    u32(m, 0);
}

static void build_file(img *m)
{
    m->n = 128;
    memset(m->b, 0, 128);
    memcpy(m->b + m->n, "DICM", 4);
    m->n += 4;
    el(m, DC_TAG(0x0002, 0x0000), "UL", "");
    m->n -= 2; /* UL: 4 bytes of value */
    u16(m, 4);
    u32(m, 28);
    el(m, DC_TAG(0x0002, 0x0010), "UI", "1.2.840.10008.1.2.1");
    el(m, DC_TAG(0x0008, 0x0005), "CS", "ISO_IR 100");
    el(m, DC_TAG(0x0008, 0x0016), "UI", "1.2.840.10008.5.1.4.1.1.2");
    el(m, DC_TAG(0x0008, 0x0018), "UI", "1.2.3.4.5");
    el(m, DC_TAG(0x0008, 0x0020), "DA", "20190312");
    el(m, DC_TAG(0x0008, 0x0030), "TM", "101500");
    el(m, DC_TAG(0x0008, 0x0050), "SH", "ACC123");
    el(m, DC_TAG(0x0008, 0x0080), "LO", "Saint Zebulon");
    el(m, DC_TAG(0x0008, 0x103E), "LO", "T1 Doe scan");
    sq_open(m, DC_TAG(0x0008, 0x1115)); /* Referenced Series: not in the table */
    item_open(m);
    el(m, DC_TAG(0x0008, 0x0090), "PN", "Nested^Doctor");
    sq_open(m, DC_TAG(0x0008, 0x114A));
    item_open(m);
    el(m, DC_TAG(0x0008, 0x1150), "UI", "1.2.840.10008.5.1.4.1.1.2");
    el(m, DC_TAG(0x0008, 0x1155), "UI", "1.2.3.4.6");
    item_close(m);
    sq_close(m);
    el(m, DC_TAG(0x0020, 0x000E), "UI", "1.2.3.9");
    item_close(m);
    sq_close(m);
    el(m, DC_TAG(0x0009, 0x0010), "LO", "ACME 1.0");
    el(m, DC_TAG(0x0009, 0x1001), "LO", "John Doe");
    el(m, DC_TAG(0x0010, 0x0010), "PN", "Doe^John");
    el(m, DC_TAG(0x0010, 0x0020), "LO", "MRN1");
    el(m, DC_TAG(0x0010, 0x0030), "DA", "19600101");
    sq_open(m, DC_TAG(0x0010, 0x1002)); /* Other Patient IDs Sequence: X, with items */
    item_open(m);
    el(m, DC_TAG(0x0010, 0x0020), "LO", "ALT9");
    item_close(m);
    sq_close(m);
    el(m, DC_TAG(0x0018, 0x1200), "DA", "20180101");
    el(m, DC_TAG(0x0020, 0x0032), "DS", "1\\2\\3");
    el(m, DC_TAG(0x0028, 0x0010), "US", "");
    m->n -= 2;
    u16(m, 2);
    u16(m, 16);
}

static const char *col(const dc_row *r, uint32_t tag, int depth)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cols[i].depth == depth && r->cols[i].path[depth - 1] == tag) return r->vals[i];
    return NULL;
}

static void check_indices(const dc_dataset *v)
{
    for (size_t i = 0; i < v->n_el; i++) {
        const dc_elem *e = &v->el[i];
        if (e->parent >= 0) {
            assert_true(e->parent < (int32_t)i);
            assert_int_equal(v->el[e->parent].vr, SQ);
            assert_true(v->el[e->parent].val > i);
        }
        if (e->vr == SQ) assert_true(e->val <= v->n_el && e->val > i);
        if (e->charset >= 0) assert_int_equal(v->el[e->charset].tag, DC_TAG(0x0008, 0x0005));
    }
    for (size_t k = 0; k < v->n_top; k++) assert_int_equal(v->el[v->top[k]].depth, 0);
}

static void filter_and_flatten(dc_privacy *p, dc_row *row, dc_dataset *view)
{
    static img m;
    build_file(&m);
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    char err[256];
    assert_int_equal(dc_parse_memory(m.b, m.n, &o, &ds, err, sizeof err), DC_PARSE_OK);
    dc_dataset_init(view);
    dc_privacy_filter(p, NULL, &ds, view);
    check_indices(view);
    dc_row_init(row);
    dc_flatten(view, row);
    dc_dataset_free(&ds);
}

static void test_filter(void **state)
{
    (void)state;
    dc_privacy *p = new_priv(0, 0);
    dc_row row;
    dc_dataset view;
    filter_and_flatten(p, &row, &view);
    char u[DC_PRIVACY_UID_LEN], pat[DC_PRIVACY_NAME_LEN];
    dc_privacy_uid(p, "1.2.3.4.5", 9, u);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0018), 1), u);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0016), 1), "1.2.840.10008.5.1.4.1.1.2");
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0020), 1), ""); /* Z */
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0050), 1), "");
    assert_null(col(&row, DC_TAG(0x0008, 0x0080), 1)); /* X/Z/D -> X */
    assert_null(col(&row, DC_TAG(0x0008, 0x103E), 1)); /* X */
    assert_null(col(&row, DC_TAG(0x0009, 0x0010), 1)); /* private */
    assert_null(col(&row, DC_TAG(0x0009, 0x1001), 1));
    assert_null(col(&row, DC_TAG(0x0018, 0x1200), 1)); /* safety net */
    assert_null(col(&row, DC_TAG(0x0010, 0x0020), 2)); /* X sequence's items */
    dc_privacy_name(p, 'P', "MRN1", 4, pat);
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0020), 1), pat);
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0010), 1), pat);
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0030), 1), "");
    assert_string_equal(col(&row, DC_TAG(0x0020, 0x0032), 1), "1\\2\\3");
    assert_string_equal(col(&row, DC_TAG(0x0028, 0x0010), 1), "16");
    /* nested two deep: UIDs replaced, the SOP class kept, the PN emptied (Z) */
    dc_privacy_uid(p, "1.2.3.4.6", 9, u);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x1155), 3), u);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x1150), 3), "1.2.840.10008.5.1.4.1.1.2");
    dc_privacy_uid(p, "1.2.3.9", 7, u);
    assert_string_equal(col(&row, DC_TAG(0x0020, 0x000E), 2), u);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0090), 2), "");
    for (size_t i = 0; i < row.n; i++) {
        assert_null(strstr(row.vals[i], "Doe"));
        assert_null(strstr(row.vals[i], "1.2.3.4"));
        assert_null(strstr(row.vals[i], "2019"));
    }
    dc_row_free(&row);
    dc_dataset_free(&view);
    dc_privacy_free(p);
}

/* ---- the burned-in block and the map hook ---- */

static struct {
    char pseudonym[DC_PRIVACY_UID_LEN], kind, original[64];
} g_notes[64];
static size_t g_n_notes;

static void note(const char *pseudonym, char kind, const char *original, size_t n)
{
    if (g_n_notes == 64 || n >= 64) return;
    snprintf(g_notes[g_n_notes].pseudonym, DC_PRIVACY_UID_LEN, "%s", pseudonym);
    g_notes[g_n_notes].kind = kind;
    memcpy(g_notes[g_n_notes].original, original, n);
    g_notes[g_n_notes++].original[n] = '\0';
}

static int noted(const char *pseudonym, char kind, const char *original)
{
    for (size_t i = 0; i < g_n_notes; i++)
        if (!strcmp(g_notes[i].pseudonym, pseudonym) && g_notes[i].kind == kind &&
            !strcmp(g_notes[i].original, original))
            return 1;
    return 0;
}

/* a file with only a SOP class and, when burned is not NULL, Burned In Annotation */
static void parse_small(const char *sop_class, const char *burned, dc_dataset *ds)
{
    static img m;
    m.n = 128;
    memset(m.b, 0, 128);
    memcpy(m.b + m.n, "DICM", 4);
    m.n += 4;
    el(&m, DC_TAG(0x0002, 0x0010), "UI", "1.2.840.10008.1.2.1");
    el(&m, DC_TAG(0x0008, 0x0016), "UI", sop_class);
    if (burned) el(&m, DC_TAG(0x0028, 0x0301), "CS", burned);
    dc_dataset_init(ds);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    char err[256];
    assert_int_equal(dc_parse_memory(m.b, m.n, &o, ds, err, sizeof err), DC_PARSE_OK);
}

static void test_burned_in_and_map(void **state)
{
    (void)state;
    uint8_t key[32];
    memset(key, 'k', sizeof key);
    dc_privacy_opts o = {0, 0, note};
    dc_privacy *p = dc_privacy_new(key, sizeof key, &o);
    g_n_notes = 0;
    dc_row row;
    dc_dataset view;
    filter_and_flatten(p, &row, &view);
    /* the block: found by dc_find (top stays in tag order), named like a private tag */
    assert_true(dc_find(&view, DC_PRIVACY_FLAG_TAG) >= 0);
    assert_true(dc_find(&view, DC_TAG(0x0010, 0x0020)) >= 0);
    assert_true(dc_find(&view, DC_TAG(0x0028, 0x0010)) >= 0);
    assert_string_equal(col(&row, DC_PRIVACY_FLAG_CREATOR_TAG, 1), "DCMCRAWL");
    assert_string_equal(col(&row, DC_PRIVACY_FLAG_TAG, 1), "NO"); /* CT, no Burned In Annotation */
    /* every pseudonym made was told, with its original */
    char u[DC_PRIVACY_UID_LEN], pat[DC_PRIVACY_NAME_LEN];
    dc_privacy_uid(p, "1.2.3.4.6", 9, u);
    assert_true(noted(u, 'U', "1.2.3.4.6")); /* nested two deep */
    dc_privacy_uid(p, "1.2.3.9", 7, u);
    assert_true(noted(u, 'U', "1.2.3.9"));
    dc_privacy_name(p, 'P', "MRN1", 4, pat);
    assert_true(noted(pat, 'P', "MRN1"));
    dc_row_free(&row);
    dc_dataset_free(&view);
    /* the risk itself */
    static const struct {
        const char *cls, *burned;
        int risk;
    } cases[] = {{"1.2.840.10008.5.1.4.1.1.2", NULL, 0},   {"1.2.840.10008.5.1.4.1.1.2", "NO", 0},
                 {"1.2.840.10008.5.1.4.1.1.2", "YES", 1},  {"1.2.840.10008.5.1.4.1.1.7", NULL, 1},
                 {"1.2.840.10008.5.1.4.1.1.7.4", "NO", 1}, {"1.2.840.10008.5.1.4.1.1.77.1", NULL, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_dataset ds;
        parse_small(cases[i].cls, cases[i].burned, &ds);
        assert_int_equal(dc_privacy_burned_in_risk(&ds), cases[i].risk);
        dc_dataset_free(&ds);
    }
    dc_privacy_free(p);
}

static void test_filter_options(void **state)
{
    (void)state;
    dc_privacy *p = new_priv(1, 1);
    dc_row row;
    dc_dataset view;
    filter_and_flatten(p, &row, &view);
    char d[9];
    int shift = dc_privacy_date_shift(p, "MRN1", 4);
    assert_int_equal(dc_privacy_shift_da("20190312", 8, shift, d), 0);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0020), 1), d);
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0030), 1), "101500");
    assert_int_equal(dc_privacy_shift_da("20180101", 8, shift, d), 0);
    assert_string_equal(col(&row, DC_TAG(0x0018, 0x1200), 1), d);
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0030), 1), ""); /* birth date: still Z */
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x103E), 1), "T1 X scan"); /* cleaned */
    dc_row_free(&row);
    dc_dataset_free(&view);
    dc_privacy_free(p);
}

static void test_filter_columns(void **state)
{
    (void)state;
    dc_strvec inc, exc;
    dc_strvec_init(&inc);
    dc_strvec_init(&exc);
    dc_strvec_push(&inc, "ReferencedSeriesSequence");
    dc_strvec_push(&inc, "(0020,0032)");
    dc_strvec_push(&inc, "PatientID");
    dc_strvec_push(&exc, "(0008,114A)");
    dc_columns cols;
    dc_columns_init(&cols, &inc, &exc);
    static img m;
    build_file(&m);
    dc_dataset ds, view;
    dc_dataset_init(&ds);
    dc_dataset_init(&view);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    char err[256];
    assert_int_equal(dc_parse_memory(m.b, m.n, &o, &ds, err, sizeof err), DC_PARSE_OK);
    dc_privacy_filter(NULL, &cols, &ds, &view); /* no profile: values as they are */
    check_indices(&view);
    dc_row row;
    dc_row_init(&row);
    dc_flatten(&view, &row);
    assert_int_equal(row.n,
                     5); /* IPP, PatientID, and the sequence's PN and UID, the ID in 0010,1002 */
    assert_string_equal(col(&row, DC_TAG(0x0020, 0x0032), 1), "1\\2\\3");
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0020), 1), "MRN1");
    assert_string_equal(col(&row, DC_TAG(0x0010, 0x0020), 2), "ALT9");
    assert_string_equal(col(&row, DC_TAG(0x0008, 0x0090), 2), "Nested^Doctor");
    assert_string_equal(col(&row, DC_TAG(0x0020, 0x000E), 2), "1.2.3.9");
    assert_null(col(&row, DC_TAG(0x0008, 0x1155), 3)); /* excluded sequence inside */
    dc_row_free(&row);
    dc_dataset_free(&view);
    dc_dataset_free(&ds);
    dc_columns_free(&cols);
    dc_strvec_free(&inc);
    dc_strvec_free(&exc);
}

static void test_scrub_paths(void **state)
{
    (void)state;
    dc_privacy *p = new_priv(0, 0);
    const char *prefix[] = {"storage/DOE_JOHN"};
    char msg[256] = "storage/DOE_JOHN/x.dcm: cannot stat: No such file";
    dc_privacy_scrub_paths(p, prefix, 1, msg, sizeof msg);
    char f[DC_PRIVACY_NAME_LEN], n[DC_PRIVACY_NAME_LEN], want[256];
    dc_privacy_name(p, 'F', "storage/DOE_JOHN", 16, f);
    dc_privacy_name(p, 'N', "x.dcm", 5, n);
    snprintf(want, sizeof want, "%s/%s: cannot stat: No such file", f, n);
    assert_string_equal(msg, want);
    char msg2[256] = "12 scans to do, 3 already done";
    dc_privacy_scrub_paths(p, prefix, 1, msg2, sizeof msg2);
    assert_string_equal(msg2, "12 scans to do, 3 already done");
    dc_privacy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),          cmocka_unit_test(test_policy),
        cmocka_unit_test(test_pseudonyms),     cmocka_unit_test(test_dates),
        cmocka_unit_test(test_filter),         cmocka_unit_test(test_filter_options),
        cmocka_unit_test(test_filter_columns), cmocka_unit_test(test_scrub_paths),
        cmocka_unit_test(test_burned_in_and_map),
    };
    /* values below are written in csv_style dicom (backslash-joined) */
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
