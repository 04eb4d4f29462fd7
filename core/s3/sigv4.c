#include "s3/sigv4.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_sha256.h"

/* Headers and queries are small; a cap keeps a hostile input bounded. */
#define SIGV4_TEXT_CAP ((size_t)1024 * 1024)

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static int
is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

char *
s3_sigv4_uri_encode(const char *s, size_t len, int keep_slash)
{
    char *out = pd_xmalloc(len * 3 + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex_upper[c >> 4];
            out[o++] = hex_upper[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode %XX escapes of s[0..len) into a new string (length in *out_len).
 * '+' stays '+': S3 reads it as a literal plus only when encoded, and we
 * always encode it, so decoding it to a space would sign something else.
 */
static int
percent_decode(char **out, size_t *out_len, const char *s, size_t len, struct pd_err *err)
{
    char *d = pd_xmalloc(len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            d[o++] = s[i];
            continue;
        }
        int hi = i + 1 < len ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(d);
            return PD_ERR_SET(err, PD_EINPUT,
                              "sigv4: malformed percent-escape at offset %zu of the query", i);
        }
        d[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    *out_len = o;
    return 0;
}

struct query_pair {
    char *name;  /* encoded */
    char *value; /* encoded */
};

static int
compare_pairs(const void *a, const void *b)
{
    const struct query_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

int
s3_sigv4_canonical_query(char **out, const char *query, struct pd_err *err)
{
    struct query_pair *pairs = NULL;
    size_t n = 0, cap = 0;
    struct pd_buf b;
    int rc = 0;

    *out = NULL;
    pd_buf_init(&b, SIGV4_TEXT_CAP);
    for (const char *p = query ? query : ""; *p;) {
        const char *end = strchr(p, '&');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', seg);
        size_t name_len = eq ? (size_t)(eq - p) : seg;
        char *raw;
        size_t raw_len;

        if (seg > 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                pairs = pd_xrealloc(pairs, cap * sizeof(*pairs));
            }
            pairs[n].name = pairs[n].value = NULL;
            n++;
            if ((rc = percent_decode(&raw, &raw_len, p, name_len, err)) != 0)
                goto out;
            pairs[n - 1].name = s3_sigv4_uri_encode(raw, raw_len, 0);
            free(raw);
            if (eq) {
                if ((rc = percent_decode(&raw, &raw_len, eq + 1, seg - name_len - 1, err)) != 0)
                    goto out;
            } else {
                raw = pd_xstrdup("");
                raw_len = 0;
            }
            pairs[n - 1].value = s3_sigv4_uri_encode(raw, raw_len, 0);
            free(raw);
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    if (n > 0)
        qsort(pairs, n, sizeof(*pairs), compare_pairs);
    for (size_t i = 0; i < n; i++) {
        if ((rc = pd_buf_appendf(&b, err, "%s%s=%s", i ? "&" : "", pairs[i].name,
                                 pairs[i].value)) != 0)
            goto out;
    }
    *out = pd_buf_steal(&b);
    if (*out == NULL)
        *out = pd_xstrdup("");
out:
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    pd_buf_free(&b);
    return rc;
}

void
s3_sigv4_amz_date(char out[17], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    // 0 means it did not fit (a year past 9999) and leaves out undefined
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 0)
        out[0] = '\0';
}

struct canon_header {
    char *name;  /* lower-cased */
    char *value; /* trimmed, whitespace folded */
    size_t order;
};

static int
compare_headers(const void *a, const void *b)
{
    const struct canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int
is_token_char(unsigned char c)
{
    /* RFC 9110 tchar */
    return is_unreserved(c) || strchr("!#$%&'*+^`|", c) != NULL;
}

/* Lower-case, trim and fold whitespace; reject what HTTP cannot carry. */
static int
canon_header(struct canon_header *h, const struct s3_sigv4_header *in, struct pd_err *err)
{
    size_t nlen = strlen(in->name), o = 0;
    const char *v = in->value ? in->value : "";
    int pending_space = 0;

    if (nlen == 0)
        return PD_ERR_SET(err, PD_EINPUT, "sigv4: empty header name");
    h->name = pd_xmalloc(nlen + 1);
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)in->name[i];

        if (!is_token_char(c))
            return PD_ERR_SET(err, PD_EINPUT, "sigv4: invalid character in header name '%.64s'",
                              in->name);
        h->name[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    h->name[nlen] = '\0';
    h->value = pd_xmalloc(strlen(v) + 1);
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            /* line folding (obs-fold) is folded like any other whitespace run */
            pending_space = o > 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return PD_ERR_SET(err, PD_EINPUT, "sigv4: control character in header '%s'", h->name);
        if (pending_space)
            h->value[o++] = ' ';
        pending_space = 0;
        h->value[o++] = (char)c;
    }
    h->value[o] = '\0';
    return 0;
}

static int
valid_amz_date(const char *d)
{
    if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++) {
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    }
    return 1;
}

static int
valid_payload_hash(const char *h)
{
    if (h == NULL)
        return 0;
    if (strcmp(h, S3_SIGV4_UNSIGNED_PAYLOAD) == 0)
        return 1;
    if (strlen(h) != 64)
        return 0;
    for (int i = 0; i < 64; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    }
    return 1;
}

static void
hmac_sha256(unsigned char out[32], const void *key, size_t key_len, const char *msg)
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

static void
to_hex(char *out, const unsigned char *md, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_lower[md[i] >> 4];
        out[2 * i + 1] = hex_lower[md[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
valid_scope_part(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s == '/' || (unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    }
    return 1;
}

int
s3_sigv4_sign(struct s3_sigv4_result *out, const struct s3_sigv4_input *in, struct pd_err *err)
{
    struct canon_header *hs = NULL;
    size_t nh = 0;
    struct pd_buf creq, sts, sh;
    char *path = NULL, *query = NULL, *key_material = NULL;
    char creq_hash[65], date[9];
    unsigned char k[32];
    int rc = 0, have_host = 0;

    memset(out, 0, sizeof(*out));
    pd_buf_init(&creq, SIGV4_TEXT_CAP);
    pd_buf_init(&sts, SIGV4_TEXT_CAP);
    pd_buf_init(&sh, SIGV4_TEXT_CAP);

    if (in->method == NULL || *in->method == '\0') {
        rc = PD_ERR_SET(err, PD_EINPUT, "sigv4: no method");
        goto out;
    }
    if (!valid_amz_date(in->amz_date)) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "sigv4: malformed x-amz-date '%.32s' (want YYYYMMDDTHHMMSSZ)",
                        in->amz_date ? in->amz_date : "");
        goto out;
    }
    if (!valid_payload_hash(in->payload_hash)) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "sigv4: payload hash must be 64 lowercase hex digits or UNSIGNED-PAYLOAD");
        goto out;
    }
    if (!valid_scope_part(in->region) || !valid_scope_part(in->service) ||
        !valid_scope_part(in->access_key_id)) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "sigv4: region, service and access key id must be "
                        "non-empty without '/' or spaces");
        goto out;
    }
    if (in->secret_access_key == NULL || *in->secret_access_key == '\0') {
        rc = PD_ERR_SET(err, PD_EINPUT, "sigv4: no secret access key");
        goto out;
    }

    hs = pd_xcalloc(in->n_headers ? in->n_headers : 1, sizeof(*hs));
    for (nh = 0; nh < in->n_headers; nh++) {
        hs[nh].order = nh;
        if ((rc = canon_header(&hs[nh], &in->headers[nh], err)) != 0) {
            nh++;
            goto out;
        }
        if (strcmp(hs[nh].name, "host") == 0)
            have_host = 1;
    }
    if (!have_host) {
        rc = PD_ERR_SET(err, PD_EINPUT, "sigv4: the host header must be signed");
        goto out;
    }
    qsort(hs, nh, sizeof(*hs), compare_headers);

    path = s3_sigv4_uri_encode(in->path && *in->path ? in->path : "/",
                               in->path && *in->path ? strlen(in->path) : 1, 1);
    if ((rc = s3_sigv4_canonical_query(&query, in->query, err)) != 0)
        goto out;

    /* canonical request: method, path, query, headers, blank, signed headers, hash */
    if ((rc = pd_buf_appendf(&creq, err, "%s\n%s\n%s\n", in->method, path, query)) != 0)
        goto out;
    for (size_t i = 0; i < nh; i++) {
        int same_as_prev = i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0;

        if (same_as_prev)
            rc = pd_buf_appendf(&creq, err, ",%s", hs[i].value);
        else
            rc = pd_buf_appendf(&creq, err, "%s%s:%s", i ? "\n" : "", hs[i].name, hs[i].value);
        if (rc == 0 && !same_as_prev)
            rc = pd_buf_appendf(&sh, err, "%s%s", sh.len ? ";" : "", hs[i].name);
        if (rc != 0)
            goto out;
    }
    if ((rc = pd_buf_appendf(&creq, err, "\n\n%s\n%s", pd_buf_str(&sh), in->payload_hash)) != 0)
        goto out;
    pd_sha256_hex(creq_hash, creq.data, creq.len);

    memcpy(date, in->amz_date, 8);
    date[8] = '\0';
    if ((rc = pd_buf_appendf(&sts, err, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                             in->amz_date, date, in->region, in->service, creq_hash)) != 0)
        goto out;

    /* signing key: HMAC chain over date, region, service, "aws4_request" */
    key_material = pd_xasprintf("AWS4%s", in->secret_access_key);
    hmac_sha256(k, key_material, strlen(key_material), date);
    hmac_sha256(k, k, sizeof(k), in->region);
    hmac_sha256(k, k, sizeof(k), in->service);
    hmac_sha256(k, k, sizeof(k), "aws4_request");
    {
        unsigned char sig[32];

        hmac_sha256(sig, k, sizeof(k), pd_buf_str(&sts));
        to_hex(out->signature, sig, sizeof(sig));
        OPENSSL_cleanse(sig, sizeof(sig));
    }
    out->authorization = pd_xasprintf(
        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
        in->access_key_id, date, in->region, in->service, pd_buf_str(&sh), out->signature);
    out->canonical_request = pd_buf_steal(&creq);
    out->string_to_sign = pd_buf_steal(&sts);
    out->signed_headers = pd_buf_steal(&sh);
out:
    OPENSSL_cleanse(k, sizeof(k));
    if (key_material) {
        OPENSSL_cleanse(key_material, strlen(key_material));
        free(key_material);
    }
    for (size_t i = 0; i < nh; i++) {
        free(hs[i].name);
        free(hs[i].value);
    }
    free(hs);
    free(path);
    free(query);
    pd_buf_free(&creq);
    pd_buf_free(&sts);
    pd_buf_free(&sh);
    if (rc != 0)
        s3_sigv4_result_free(out);
    return rc;
}

void
s3_sigv4_result_free(struct s3_sigv4_result *r)
{
    if (r == NULL)
        return;
    PD_FREE(r->canonical_request);
    PD_FREE(r->string_to_sign);
    PD_FREE(r->signed_headers);
    if (r->authorization) {
        OPENSSL_cleanse(r->authorization, strlen(r->authorization));
        PD_FREE(r->authorization);
    }
    OPENSSL_cleanse(r->signature, sizeof(r->signature));
}
