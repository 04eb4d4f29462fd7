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
#include "pd_str.h"

/* Headers and queries are small; a cap keeps a hostile input bounded. */
#define SIGV4_TEXT_CAP ((size_t)1024 * 1024)

static const char hex_upper[] = "0123456789ABCDEF";

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
        int hi = i + 1 < len ? pd_hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < len ? pd_hex_digit(s[i + 2]) : -1;
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

/* Refuse what cannot be signed; nothing in the messages is secret. */
static int
sigv4_check_input(const struct s3_sigv4_input *in, struct pd_err *err)
{
    if (in->method == NULL || *in->method == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "sigv4: no method");
    if (!valid_amz_date(in->amz_date))
        return PD_ERR_SET(err, PD_EINPUT,
                          "sigv4: malformed x-amz-date '%.32s' (want YYYYMMDDTHHMMSSZ)",
                          in->amz_date ? in->amz_date : "");
    if (!valid_payload_hash(in->payload_hash))
        return PD_ERR_SET(
            err, PD_EINPUT,
            "sigv4: payload hash must be 64 lowercase hex digits or UNSIGNED-PAYLOAD");
    if (!valid_scope_part(in->region) || !valid_scope_part(in->service) ||
        !valid_scope_part(in->access_key_id))
        return PD_ERR_SET(err, PD_EINPUT,
                          "sigv4: region, service and access key id must be "
                          "non-empty without '/' or spaces");
    if (in->secret_access_key == NULL || *in->secret_access_key == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "sigv4: no secret access key");
    return 0;
}

/* One signing's state; sigv4_free releases it. */
struct sigv4 {
    const struct s3_sigv4_input *in;
    struct canon_header *hs; /* sorted by name, then by their order in the request */
    size_t nh;
    struct pd_buf creq, sts, sh; /* canonical request, string to sign, signed headers */
    char date[9];
};

/* Canonicalise every header, insist on host, and sort them. */
static int
sigv4_headers(struct sigv4 *s, struct pd_err *err)
{
    const struct s3_sigv4_input *in = s->in;
    int have_host = 0, rc;

    s->hs = pd_xcalloc(in->n_headers ? in->n_headers : 1, sizeof(*s->hs));
    for (s->nh = 0; s->nh < in->n_headers; s->nh++) {
        struct canon_header *h = &s->hs[s->nh];

        h->order = s->nh;
        if ((rc = canon_header(h, &in->headers[s->nh], err)) != 0) {
            s->nh++; // freed with the others
            return rc;
        }
        if (strcmp(h->name, "host") == 0)
            have_host = 1;
    }
    if (!have_host)
        return PD_ERR_SET(err, PD_EINPUT, "sigv4: the host header must be signed");
    qsort(s->hs, s->nh, sizeof(*s->hs), compare_headers);
    return 0;
}

/* The canonical request: method, path, query, headers, blank, signed headers, hash. */
static int
sigv4_canonical_request(struct sigv4 *s, struct pd_err *err)
{
    const struct s3_sigv4_input *in = s->in;
    const char *p = in->path && *in->path ? in->path : "/";
    char *path = s3_sigv4_uri_encode(p, strlen(p), 1), *query = NULL;
    int rc;

    if ((rc = s3_sigv4_canonical_query(&query, in->query, err)) != 0 ||
        (rc = pd_buf_appendf(&s->creq, err, "%s\n%s\n%s\n", in->method, path, query)) != 0)
        goto out;
    for (size_t i = 0; i < s->nh; i++) {
        const struct canon_header *h = &s->hs[i];
        int same_as_prev = i > 0 && strcmp(h->name, s->hs[i - 1].name) == 0;

        if (same_as_prev)
            rc = pd_buf_appendf(&s->creq, err, ",%s", h->value);
        else
            rc = pd_buf_appendf(&s->creq, err, "%s%s:%s", i ? "\n" : "", h->name, h->value);
        if (rc == 0 && !same_as_prev)
            rc = pd_buf_appendf(&s->sh, err, "%s%s", s->sh.len ? ";" : "", h->name);
        if (rc != 0)
            goto out;
    }
    rc = pd_buf_appendf(&s->creq, err, "\n\n%s\n%s", pd_buf_str(&s->sh), in->payload_hash);
out:
    free(path);
    free(query);
    return rc;
}

/* The string to sign: algorithm, date, scope and the canonical request's hash. */
static int
sigv4_string_to_sign(struct sigv4 *s, struct pd_err *err)
{
    const struct s3_sigv4_input *in = s->in;
    char creq_hash[65];

    pd_sha256_hex(creq_hash, s->creq.data, s->creq.len);
    memcpy(s->date, in->amz_date, 8);
    s->date[8] = '\0';
    return pd_buf_appendf(&s->sts, err, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                          in->amz_date, s->date, in->region, in->service, creq_hash);
}

/* The signing key (an HMAC chain over date, region, service, "aws4_request") signs sts. */
static void
sigv4_signature(char out[65], const struct sigv4 *s)
{
    const struct s3_sigv4_input *in = s->in;
    char *key_material = pd_xasprintf("AWS4%s", in->secret_access_key);
    unsigned char k[32], sig[32];

    hmac_sha256(k, key_material, strlen(key_material), s->date);
    hmac_sha256(k, k, sizeof(k), in->region);
    hmac_sha256(k, k, sizeof(k), in->service);
    hmac_sha256(k, k, sizeof(k), "aws4_request");
    hmac_sha256(sig, k, sizeof(k), pd_buf_str(&s->sts));
    pd_hex_encode(out, sig, sizeof(sig));
    OPENSSL_cleanse(sig, sizeof(sig));
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(key_material, strlen(key_material));
    free(key_material);
}

static void
sigv4_free(struct sigv4 *s)
{
    for (size_t i = 0; i < s->nh; i++) {
        free(s->hs[i].name);
        free(s->hs[i].value);
    }
    free(s->hs);
    pd_buf_free(&s->creq);
    pd_buf_free(&s->sts);
    pd_buf_free(&s->sh);
}

int
s3_sigv4_sign(struct s3_sigv4_result *out, const struct s3_sigv4_input *in, struct pd_err *err)
{
    struct sigv4 s = {.in = in};
    int rc;

    memset(out, 0, sizeof(*out));
    pd_buf_init(&s.creq, SIGV4_TEXT_CAP);
    pd_buf_init(&s.sts, SIGV4_TEXT_CAP);
    pd_buf_init(&s.sh, SIGV4_TEXT_CAP);
    if ((rc = sigv4_check_input(in, err)) != 0 || (rc = sigv4_headers(&s, err)) != 0 ||
        (rc = sigv4_canonical_request(&s, err)) != 0 || (rc = sigv4_string_to_sign(&s, err)) != 0)
        goto out;
    sigv4_signature(out->signature, &s);
    out->authorization = pd_xasprintf(
        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
        in->access_key_id, s.date, in->region, in->service, pd_buf_str(&s.sh), out->signature);
    out->canonical_request = pd_buf_steal(&s.creq);
    out->string_to_sign = pd_buf_steal(&s.sts);
    out->signed_headers = pd_buf_steal(&s.sh);
out:
    sigv4_free(&s);
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
