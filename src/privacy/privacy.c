/*
 * privacy.c - the pure core of the confidentiality profile (SPEC 12): the
 * policy for one element over the generated PS3.15 table, keyed pseudonyms
 * (HMAC-SHA256 from OpenSSL's libcrypto), pseudonymous UIDs and the
 * per-patient date shift.  See dc_privacy.h for the policy in words.
 */
#include "dc_privacy.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_util.h"

/* HMAC-SHA256 (RFC 2104) with the key's inner and outer SHA-256 states
 * computed once: a message costs two context copies and two short digests,
 * where OpenSSL's one-shot HMAC() fetches the algorithm on every call. */
struct dc_privacy {
    EVP_MD_CTX *inner, *outer; /* after hashing key ^ ipad, key ^ opad */
    uint64_t id;               /* tells this key's cached digests from another's */
    dc_privacy_opts opts;
};

#define SHA256_BLOCK 64

static EVP_MD_CTX *padded_state(const uint8_t *k, uint8_t pad)
{
    uint8_t block[SHA256_BLOCK];
    for (int i = 0; i < SHA256_BLOCK; i++) block[i] = k[i] ^ pad;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, block, sizeof block) != 1) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    OPENSSL_cleanse(block, sizeof block);
    return c;
}

dc_privacy *dc_privacy_new(const uint8_t *key, size_t n, const dc_privacy_opts *o)
{
    static uint64_t next_id = 1;
    if (!key || n < DC_PRIVACY_MIN_KEY || n > DC_PRIVACY_MAX_KEY) return NULL;
    uint8_t k[SHA256_BLOCK] = {0};
    unsigned int kl = 0;
    if (n > SHA256_BLOCK) /* RFC 2104: a long key is hashed first */
        EVP_Digest(key, n, k, &kl, EVP_sha256(), NULL);
    else
        memcpy(k, key, n);
    dc_privacy *p = dc_calloc(1, sizeof *p);
    p->inner = padded_state(k, 0x36);
    p->outer = padded_state(k, 0x5c);
    OPENSSL_cleanse(k, sizeof k);
    if (!p->inner || !p->outer) {
        dc_privacy_free(p);
        return NULL;
    }
    p->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    if (o) p->opts = *o;
    return p;
}

void dc_privacy_free(dc_privacy *p)
{
    if (!p) return;
    EVP_MD_CTX_free(p->inner);
    EVP_MD_CTX_free(p->outer);
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
}

int dc_privacy_cleans_descriptors(const dc_privacy *p)
{
    return p->opts.clean_descriptors;
}

/* ---- the table ---- */

static int row_cmp(const void *key, const void *row)
{
    uint32_t t = *(const uint32_t *)key, r = ((const dc_privacy_row *)row)->tag;
    return t < r ? -1 : t > r;
}

const dc_privacy_row *dc_privacy_lookup(uint32_t tag)
{
    const dc_privacy_row *r =
        bsearch(&tag, dc_privacy_rows, dc_privacy_n_rows, sizeof *dc_privacy_rows, row_cmp);
    if (r) return r;
    for (size_t i = 0; i < dc_privacy_n_masked_rows; i++)
        if ((tag & dc_privacy_masked_rows[i].mask) == dc_privacy_masked_rows[i].tag)
            return &dc_privacy_masked_rows[i];
    return NULL;
}

/* ---- policy ---- */

#define TAG_PATIENT_NAME DC_TAG(0x0010, 0x0010)
#define TAG_PATIENT_ID DC_TAG(0x0010, 0x0020)
#define DICOM_UID_ROOT "1.2.840.10008."

/* the profile code as printed -> dcmcrawl's action (choices resolved to the
 * most protective one that keeps the output useful, see dc_privacy.h) */
static int basic_action(const char *code, uint16_t vr)
{
    int sq = vr == DC_VR('S', 'Q');
    if (!strcmp(code, "X/Z/U*")) return DC_PA_KEEP; /* items keep their own rules */
    if (!strcmp(code, "U")) return DC_PA_UID;
    if (!strcmp(code, "K") || !strcmp(code, "C")) return DC_PA_KEEP;
    if (code[0] == 'X') return DC_PA_REMOVE;
    if (sq) return DC_PA_REMOVE; /* Z or D on a sequence: no items leave */
    if (code[0] == 'Z') return DC_PA_EMPTY;
    return DC_PA_DUMMY;
}

static int is_date_vr(uint16_t vr)
{
    return vr == DC_VR('D', 'A') || vr == DC_VR('D', 'T');
}

/* leading/trailing spaces and NULs are padding */
static void trim(const char **s, size_t *n)
{
    while (*n && ((*s)[0] == ' ' || (*s)[0] == '\0')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\0')) (*n)--;
}

/* a UI value made only of DICOM-defined UIDs (SOP classes, transfer syntaxes) */
static int is_dicom_uid(const char *val, size_t n)
{
    if (!val) return 0;
    trim(&val, &n);
    size_t root = sizeof DICOM_UID_ROOT - 1;
    while (n) {
        const char *bs = memchr(val, '\\', n);
        size_t len = bs ? (size_t)(bs - val) : n;
        if (len < root || memcmp(val, DICOM_UID_ROOT, root) != 0) return 0;
        if (!bs) break;
        val = bs + 1;
        n -= len + 1;
    }
    return 1;
}

/* elements the table does not list */
static int unlisted_action(const dc_privacy *p, uint16_t vr, const char *val, size_t n)
{
    if (vr == DC_VR('P', 'N')) return DC_PA_REMOVE;
    if (is_date_vr(vr)) return p->opts.shift_dates ? DC_PA_SHIFT : DC_PA_REMOVE;
    if (vr == DC_VR('U', 'I') && val && n && !is_dicom_uid(val, n)) return DC_PA_UID;
    return DC_PA_KEEP;
}

/* free text of SEG objects the table does not list (Segment Label,
 * Segment Description, Segment Algorithm Name): annotators write names and
 * IDs there, so they are descriptors like the ROI Name the table lists */
static int is_segment_text(uint32_t tag)
{
    return tag == DC_TAG(0x0062, 0x0005) || tag == DC_TAG(0x0062, 0x0006) ||
           tag == DC_TAG(0x0062, 0x0009);
}

int dc_privacy_action(const dc_privacy *p, uint32_t tag, uint16_t vr, const char *val, size_t n)
{
    if (is_segment_text(tag)) return p->opts.clean_descriptors ? DC_PA_CLEAN : DC_PA_REMOVE;
    if (DC_TAG_GROUP(tag) & 1) return DC_PA_REMOVE; /* private, and private creators */
    if (tag == TAG_PATIENT_ID || tag == TAG_PATIENT_NAME) return DC_PA_PATIENT;
    const dc_privacy_row *r = dc_privacy_lookup(tag);
    if (!r) return unlisted_action(p, vr, val, n);
    if ((r->flags & DC_PRIV_DATES) && p->opts.shift_dates && is_date_vr(vr)) return DC_PA_SHIFT;
    if ((r->flags & DC_PRIV_DATES) && p->opts.shift_dates && vr == DC_VR('T', 'M'))
        return DC_PA_KEEP; /* times stay with shifted dates */
    if ((r->flags & DC_PRIV_DESC) && p->opts.clean_descriptors && vr != DC_VR('S', 'Q'))
        return DC_PA_CLEAN;
    int a = basic_action(r->basic, vr);
    if (a == DC_PA_KEEP && vr == DC_VR('U', 'I') && val && n && !is_dicom_uid(val, n))
        return DC_PA_UID;
    return a;
}

/* ---- keyed hashing ---- */

static void hmac(const dc_privacy *p, const char *kind, const char *text, size_t n, uint8_t out[32])
{
    static _Thread_local EVP_MD_CTX *c;
    if (!c) c = EVP_MD_CTX_new();
    uint8_t in[32];
    unsigned int len = 32;
    EVP_MD_CTX_copy_ex(c, p->inner);
    EVP_DigestUpdate(c, kind, strlen(kind) + 1);
    EVP_DigestUpdate(c, text, n);
    EVP_DigestFinal_ex(c, in, &len);
    EVP_MD_CTX_copy_ex(c, p->outer);
    EVP_DigestUpdate(c, in, sizeof in);
    EVP_DigestFinal_ex(c, out, &len);
}

/* The digests of recent (kind, text) pairs, per thread: in a series every
 * file repeats the study, series and frame of reference UIDs and the patient. */
#define CACHE_SLOTS 1024
#define CACHE_TEXT 72
typedef struct {
    uint64_t key_id;
    char kind;
    uint8_t n;
    char text[CACHE_TEXT];
    uint8_t digest[32];
} cached_digest;
static _Thread_local cached_digest *g_cache;

/* HMAC-SHA256(key, kind 0 text) */
static void keyed_hash(const dc_privacy *p, const char *kind, const char *text, size_t n,
                       uint8_t out[32])
{
    if (!n) text = ""; /* an absent value hashes as an empty one */
    if (n >= CACHE_TEXT || strlen(kind) != 1) {
        hmac(p, kind, text, n, out);
        return;
    }
    if (!g_cache) g_cache = dc_calloc(CACHE_SLOTS, sizeof *g_cache);
    cached_digest *e = &g_cache[dc_hash64(text, n, (uint64_t)kind[0]) & (CACHE_SLOTS - 1)];
    if (e->key_id == p->id && e->kind == kind[0] && e->n == n && !memcmp(e->text, text, n)) {
        memcpy(out, e->digest, 32);
        return;
    }
    hmac(p, kind, text, n, out);
    e->key_id = p->id;
    e->kind = kind[0];
    e->n = (uint8_t)n;
    memcpy(e->text, text, n);
    memcpy(e->digest, out, 32);
}

void dc_privacy_uid(const dc_privacy *p, const char *uid, size_t n, char out[DC_PRIVACY_UID_LEN])
{
    trim(&uid, &n);
    uint8_t h[32];
    keyed_hash(p, "U", uid, n, h);
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++) v = (v << 8) | h[i];
    /* decimal in chunks of 19 digits: two 128-bit divisions instead of 39 */
    const uint64_t e19 = 10000000000000000000ull;
    uint64_t part[3];
    int np = 0;
    do {
        part[np++] = (uint64_t)(v % e19);
        v /= e19;
    } while (v);
    char digits[40];
    int k = 0;
    for (int j = 0; j < np; j++)
        for (int d = 0; d < 19 && (j < np - 1 || part[j]); d++) {
            digits[k++] = (char)('0' + (int)(part[j] % 10));
            part[j] /= 10;
        }
    if (k == 0) digits[k++] = '0';
    memcpy(out, "2.25.", 5);
    for (int i = 0; i < k; i++) out[5 + i] = digits[k - 1 - i];
    out[5 + k] = '\0';
    if (p->opts.note) p->opts.note(out, 'U', uid, n);
}

void dc_privacy_name(const dc_privacy *p, char kind, const char *text, size_t n,
                     char out[DC_PRIVACY_NAME_LEN])
{
    static const char hex[] = "0123456789abcdef";
    char k[2] = {kind, '\0'};
    uint8_t h[32];
    keyed_hash(p, k, text, n, h);
    out[0] = kind;
    for (int i = 0; i < 8; i++) {
        out[1 + 2 * i] = hex[h[i] >> 4];
        out[2 + 2 * i] = hex[h[i] & 15];
    }
    out[17] = '\0';
    if (p->opts.note) p->opts.note(out, kind, text, n);
}

int dc_privacy_date_shift(const dc_privacy *p, const char *patient, size_t n)
{
    trim(&patient, &n);
    uint8_t h[32];
    keyed_hash(p, "S", patient, n, h);
    uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return -(int)(1 + v % DC_PRIVACY_MAX_SHIFT);
}

/* ---- dates (proleptic Gregorian, days since 1970-01-01) ---- */

static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long)yoe + era * 400 + (*m <= 2);
}

static int month_days(long y, unsigned m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d[m - 1] + (m == 2 && leap);
}

int dc_privacy_shift_da(const char *in, size_t n, int days, char out[9])
{
    trim(&in, &n);
    if (n != 8) return -1;
    for (size_t i = 0; i < 8; i++)
        if (in[i] < '0' || in[i] > '9') return -1;
    long y = (in[0] - '0') * 1000 + (in[1] - '0') * 100 + (in[2] - '0') * 10 + (in[3] - '0');
    unsigned m = (unsigned)((in[4] - '0') * 10 + (in[5] - '0'));
    unsigned d = (unsigned)((in[6] - '0') * 10 + (in[7] - '0'));
    if (m < 1 || m > 12 || d < 1 || (int)d > month_days(y, m)) return -1;
    civil_from_days(days_from_civil(y, m, d) + days, &y, &m, &d);
    if (y < 0 || y > 9999) return -1;
    unsigned v[8] = {(unsigned)(y / 1000),
                     (unsigned)(y / 100 % 10),
                     (unsigned)(y / 10 % 10),
                     (unsigned)(y % 10),
                     m / 10,
                     m % 10,
                     d / 10,
                     d % 10};
    for (int i = 0; i < 8; i++) out[i] = (char)('0' + v[i]);
    out[8] = '\0';
    return 0;
}

/* ---- sealed text: input paths in the labels ledger ---- */

/* AES-256-GCM with a key and a nonce derived from the privacy key by HMAC:
 * key = HMAC(key, "seal-key" 0), nonce = first 12 bytes of
 * HMAC(key, "seal-iv" 0 text).  The nonce is synthetic (a function of the
 * text), so equal texts seal equally (the ledger stays the same across rank
 * counts) and a nonce is only ever reused for the same text. */
#define SEAL_IV 12
#define SEAL_TAG 16

static int seal_cipher(const dc_privacy *p, int enc, const uint8_t *iv, const uint8_t *in, size_t n,
                       uint8_t *out, uint8_t tag[SEAL_TAG])
{
    uint8_t key[32];
    hmac(p, "seal-key", "", 0, key);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
                      (n == 0 || EVP_CipherUpdate(c, out, &len, in, (int)n) == 1);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1;
    if (ok) ok = EVP_CipherFinal_ex(c, out + len, &len) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

void dc_privacy_seal(const dc_privacy *p, const char *text, dc_buf *out)
{
    size_t n = strlen(text);
    uint8_t iv[32], tag[SEAL_TAG], *ct = dc_malloc(n + 1);
    hmac(p, "seal-iv", text, n, iv);
    if (seal_cipher(p, 1, iv, (const uint8_t *)text, n, ct, tag) == 0) {
        for (int i = 0; i < SEAL_IV; i++) dc_buf_printf(out, "%02x", iv[i]);
        for (size_t i = 0; i < n; i++) dc_buf_printf(out, "%02x", ct[i]);
        for (int i = 0; i < SEAL_TAG; i++) dc_buf_printf(out, "%02x", tag[i]);
    }
    free(ct);
}

static int hex_bytes(const char *hex, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

char *dc_privacy_unseal(const dc_privacy *p, const char *sealed)
{
    size_t h = strlen(sealed);
    if (h % 2 || h < 2 * (SEAL_IV + SEAL_TAG)) return NULL;
    size_t n = h / 2 - SEAL_IV - SEAL_TAG;
    uint8_t iv[SEAL_IV], tag[SEAL_TAG], *ct = dc_malloc(n + 1);
    char *text = dc_malloc(n + 1);
    int rc = hex_bytes(sealed, SEAL_IV, iv) | hex_bytes(sealed + 2 * SEAL_IV, n, ct) |
             hex_bytes(sealed + 2 * (SEAL_IV + n), SEAL_TAG, tag);
    if (rc == 0) rc = seal_cipher(p, 0, iv, ct, n, (uint8_t *)text, tag);
    free(ct);
    if (rc != 0) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}
