#include "core/npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outfile.h"

static const struct {
    const char *descr;
    size_t size;
} dtypes[] = {
    [WW_NPY_F32] = {"<f4", 4}, [WW_NPY_F64] = {"<f8", 8},  [WW_NPY_I64] = {"<i8", 8},
    [WW_NPY_I32] = {"<i4", 4}, [WW_NPY_I16] = {"<i2", 2},  [WW_NPY_I8] = {"|i1", 1},
    [WW_NPY_U8] = {"|u1", 1},  [WW_NPY_BOOL] = {"|b1", 1},
};

const char *ww_npy_descr(ww_npy_dtype dtype)
{
    return dtypes[dtype].descr;
}
size_t ww_npy_dtype_size(ww_npy_dtype dtype)
{
    return dtypes[dtype].size;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p)) p++;
    return p;
}

/* Finds the value that follows 'key': in the header dict; the result may
 * equal end, so callers check it before reading. */
static const char *find_key(const char *hdr, const char *end, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = hdr; p + klen + 2 < end; p++) {
        if ((*p == '\'' || *p == '"') && p[klen + 1] == *p && memcmp(p + 1, key, klen) == 0) {
            p = skip_ws(p + klen + 2, end);
            if (p >= end || *p != ':') return NULL;
            return skip_ws(p + 1, end);
        }
    }
    return NULL;
}

static int parse_header(const char *hdr, size_t hlen, ww_npy *out, ww_error *err)
{
    const char *end = hdr + hlen;
    const char *v = find_key(hdr, end, "descr");
    if (!v || v >= end || (*v != '\'' && *v != '"'))
        return ww_fail(err, WW_EFORMAT, "npy header has no descr");
    char q = *v++;
    const char *ve = memchr(v, q, (size_t)(end - v));
    if (!ve) return ww_fail(err, WW_EFORMAT, "npy header: unterminated descr");
    size_t dl = (size_t)(ve - v);
    int found = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        const char *d = dtypes[i].descr;
        /* one-byte types may be written with '|' or '<'; '=' means native (little here) */
        if (dl == 3 && memcmp(v + 1, d + 1, 2) == 0 &&
            (v[0] == d[0] || v[0] == '=' || (d[0] == '|' && v[0] == '<'))) {
            out->dtype = (ww_npy_dtype)i;
            found = 1;
        }
    }
    if (!found)
        return ww_fail(err, WW_EUNSUPPORTED, "npy dtype '%.*s' is not supported", (int)dl, v);

    v = find_key(hdr, end, "fortran_order");
    if (!v) return ww_fail(err, WW_EFORMAT, "npy header has no fortran_order");
    if ((size_t)(end - v) >= 4 && memcmp(v, "True", 4) == 0)
        return ww_fail(err, WW_EUNSUPPORTED, "npy fortran_order=True is not supported");

    v = find_key(hdr, end, "shape");
    if (!v || v >= end || *v != '(')
        return ww_fail(err, WW_EFORMAT, "npy header has no shape tuple");
    v++;
    out->ndim = 0;
    out->count = 1;
    for (;;) {
        v = skip_ws(v, end);
        if (v >= end) return ww_fail(err, WW_EFORMAT, "npy header: unterminated shape");
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v)) return ww_fail(err, WW_EFORMAT, "npy header: bad shape");
        errno = 0;
        char *num_end;
        unsigned long long d = strtoull(v, &num_end, 10);
        if (errno || (const char *)num_end > end || d > WW_NPY_MAX_ELEMS)
            return ww_fail(err, WW_EFORMAT, "npy header: dimension too large");
        if (out->ndim == WW_NPY_MAX_DIMS)
            return ww_fail(err, WW_EUNSUPPORTED, "npy array has more than %d dimensions",
                           WW_NPY_MAX_DIMS);
        out->shape[out->ndim++] = (int64_t)d;
        if (d && out->count > WW_NPY_MAX_ELEMS / d)
            return ww_fail(err, WW_ENOMEM, "npy array has more than %zu elements",
                           WW_NPY_MAX_ELEMS);
        out->count *= (size_t)d;
        v = skip_ws(num_end, end);
        if (v < end && *v == ',') v++;
    }
    out->elem_size = dtypes[out->dtype].size;
    return WW_OK;
}

int ww_npy_parse(const void *buf, size_t len, ww_npy *out, ww_error *err)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return ww_fail(err, WW_EFORMAT, "not a .npy file (bad magic)");
    size_t hlen, off;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (len < 12) return ww_fail(err, WW_EFORMAT, "truncated .npy header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        return ww_fail(err, WW_EUNSUPPORTED, ".npy format version %d is not supported", b[6]);
    }
    if (hlen > len - off) return ww_fail(err, WW_EFORMAT, "truncated .npy header");
    if (hlen > 65536) return ww_fail(err, WW_EFORMAT, ".npy header is too long");
    /* a terminated copy, so number parsing cannot run past the header */
    char *hdr = malloc(hlen + 1);
    if (!hdr) return ww_fail(err, WW_ENOMEM, "out of memory reading .npy");
    memcpy(hdr, b + off, hlen);
    hdr[hlen] = '\0';
    int rc = parse_header(hdr, hlen, out, err);
    free(hdr);
    if (rc) return rc;
    off += hlen;
    size_t bytes = out->count * out->elem_size;
    if (len - off < bytes)
        return ww_fail(err, WW_EFORMAT, ".npy data is truncated (%zu of %zu bytes)", len - off,
                       bytes);
    if (len - off > bytes)
        return ww_fail(err, WW_EFORMAT, ".npy has %zu trailing bytes", len - off - bytes);
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) return ww_fail(err, WW_ENOMEM, "out of memory reading .npy");
    memcpy(out->data, b + off, bytes);
    return WW_OK;
}

int ww_npy_read(const char *path, ww_npy *out, ww_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    int rc = WW_OK;
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap) break;
        if (cap >= WW_NPY_MAX_ELEMS * 8 + 65536) {
            rc = ww_fail(err, WW_ENOMEM, "%s: file too large", path);
            break;
        }
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf)
        rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    else if (!rc && ferror(fp))
        rc = ww_fail(err, WW_EIO, "%s: read error", path);
    fclose(fp);
    if (!rc) {
        rc = ww_npy_parse(buf, len, out, err);
        if (rc) ww_error_prefix(err, rc, path);
    }
    free(buf);
    return rc;
}

void ww_npy_free(ww_npy *npy)
{
    free(npy->data);
    npy->data = NULL;
}

int ww_npy_write(const char *path, ww_npy_dtype dtype, const void *data, int ndim,
                 const int64_t *shape, ww_error *err)
{
    if (ndim < 0 || ndim > WW_NPY_MAX_DIMS)
        return ww_fail(err, WW_EINVAL, "%s: cannot write %d dimensions", path, ndim);
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtypes[dtype].descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld,%s", (long long)shape[i],
                      i + 1 < ndim ? " " : "");
        count *= (size_t)shape[i];
    }
    if (ndim > 1) n--; /* numpy writes (3, 4) but (3,) */
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    /* pad so that magic + len + header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + n, ' ', pad);
    hdr[n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;

    ww_outfile of;
    int rc = ww_outfile_open(&of, path, err);
    if (rc) return rc;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, sizeof pre, of.fp);
    fwrite(hdr, 1, hlen, of.fp);
    fwrite(data, dtypes[dtype].size, count, of.fp);
    return ww_outfile_commit(&of, err);
}
