#include "s3/list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "s3/xml.h"

#define WHAT_LIST  "list response"
#define WHAT_ERROR "error response"

struct list_state {
    struct s3_list_page *page;
    struct s3_object cur;
    size_t cap_objects, cap_prefixes;
    int saw_root;
    int saw_truncated;
};

static char *
unquote(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
        return pd_xstrndup(s + 1, len - 2);
    // some servers send &quot;...&quot; which expat has already turned into '"'
    return pd_xstrndup(s, len);
}

static int
parse_u64(uint64_t *out, const char *s)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static void
object_clear(struct s3_object *o)
{
    PD_FREE(o->key);
    PD_FREE(o->etag);
    PD_FREE(o->storage_class);
    memset(o, 0, sizeof(*o));
}

static int
list_end(const char *const *path, size_t depth, const char *text, size_t len, void *payload,
         struct pd_err *err)
{
    struct list_state *st = payload;
    struct s3_list_page *pg = st->page;
    const char *name = path[depth - 1];

    if (depth == 1) {
        if (strcmp(name, "ListBucketResult") != 0)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: %s: root element is <%s>, not <ListBucketResult>", WHAT_LIST,
                              name);
        st->saw_root = 1;
        return 0;
    }
    if (strcmp(path[0], "ListBucketResult") != 0)
        return 0; // reported when the root ends
    if (depth == 3 && strcmp(path[1], "Contents") == 0) {
        struct s3_object *o = &st->cur;

        if (strcmp(name, "Key") == 0) {
            free(o->key);
            o->key = pd_xstrndup(text, len);
        } else if (strcmp(name, "Size") == 0) {
            if (parse_u64(&o->size, text) != 0)
                return PD_ERR_SET(err, PD_EINPUT,
                                  "s3: %s: <Size> '%.40s' of key '%.200s' is not a number",
                                  WHAT_LIST, text, o->key ? o->key : "?");
        } else if (strcmp(name, "LastModified") == 0) {
            if (pd_time_parse_rfc3339(&o->last_modified, text, 0) != 0)
                return PD_ERR_SET(err, PD_EINPUT,
                                  "s3: %s: <LastModified> '%.40s' of key '%.200s' is not RFC 3339",
                                  WHAT_LIST, text, o->key ? o->key : "?");
        } else if (strcmp(name, "ETag") == 0) {
            free(o->etag);
            o->etag = unquote(text, len);
        } else if (strcmp(name, "StorageClass") == 0) {
            free(o->storage_class);
            o->storage_class = pd_xstrndup(text, len);
        }
        return 0;
    }
    if (depth == 2 && strcmp(name, "Contents") == 0) {
        if (st->cur.key == NULL || st->cur.key[0] == '\0') {
            object_clear(&st->cur);
            return PD_ERR_SET(err, PD_EINPUT, "s3: %s: <Contents> #%zu has no <Key>", WHAT_LIST,
                              pg->n_objects + 1);
        }
        if (pg->n_objects == st->cap_objects) {
            st->cap_objects = st->cap_objects ? st->cap_objects * 2 : 16;
            pg->objects = pd_xrealloc(pg->objects, st->cap_objects * sizeof(*pg->objects));
        }
        pg->objects[pg->n_objects++] = st->cur;
        memset(&st->cur, 0, sizeof(st->cur));
        return 0;
    }
    if (depth == 3 && strcmp(path[1], "CommonPrefixes") == 0 && strcmp(name, "Prefix") == 0) {
        if (pg->n_common_prefixes == st->cap_prefixes) {
            st->cap_prefixes = st->cap_prefixes ? st->cap_prefixes * 2 : 8;
            pg->common_prefixes =
                pd_xrealloc(pg->common_prefixes, st->cap_prefixes * sizeof(char *));
        }
        pg->common_prefixes[pg->n_common_prefixes++] = pd_xstrndup(text, len);
        return 0;
    }
    if (depth != 2)
        return 0;
    if (strcmp(name, "Name") == 0) {
        free(pg->bucket);
        pg->bucket = pd_xstrndup(text, len);
    } else if (strcmp(name, "Prefix") == 0) {
        free(pg->prefix);
        pg->prefix = pd_xstrndup(text, len);
    } else if (strcmp(name, "IsTruncated") == 0) {
        if (strcmp(text, "true") == 0)
            pg->is_truncated = 1;
        else if (strcmp(text, "false") == 0)
            pg->is_truncated = 0;
        else
            return PD_ERR_SET(err, PD_EINPUT, "s3: %s: <IsTruncated> is '%.40s', not true or false",
                              WHAT_LIST, text);
        st->saw_truncated = 1;
    } else if (strcmp(name, "NextContinuationToken") == 0) {
        free(pg->next_continuation_token);
        pg->next_continuation_token = pd_xstrndup(text, len);
    } else if (strcmp(name, "KeyCount") == 0) {
        uint64_t v;

        if (parse_u64(&v, text) != 0 || v > 100000000)
            return PD_ERR_SET(err, PD_EINPUT, "s3: %s: <KeyCount> '%.40s' is not a number",
                              WHAT_LIST, text);
        pg->key_count = (long)v;
    }
    return 0;
}

int
s3_list_parse(struct s3_list_page *out, const char *xml, size_t len, struct pd_err *err)
{
    struct list_state st;
    int rc;

    memset(out, 0, sizeof(*out));
    out->key_count = -1;
    memset(&st, 0, sizeof(st));
    st.page = out;
    rc = s3_xml_parse(WHAT_LIST, xml, len, list_end, &st, err);
    object_clear(&st.cur);
    if (rc == 0 && !st.saw_root)
        rc = PD_ERR_SET(err, PD_EBUG, "s3: %s: no root element", WHAT_LIST);
    if (rc == 0 && !st.saw_truncated)
        rc = PD_ERR_SET(err, PD_EINPUT, "s3: %s: <IsTruncated> is missing", WHAT_LIST);
    if (rc == 0 && out->is_truncated &&
        (out->next_continuation_token == NULL || *out->next_continuation_token == '\0'))
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "s3: %s: <IsTruncated> is true but <NextContinuationToken> is missing",
                        WHAT_LIST);
    if (rc != 0)
        s3_list_page_free(out);
    return rc;
}

void
s3_list_page_free(struct s3_list_page *page)
{
    if (page == NULL)
        return;
    for (size_t i = 0; i < page->n_objects; i++)
        object_clear(&page->objects[i]);
    free(page->objects);
    for (size_t i = 0; i < page->n_common_prefixes; i++)
        free(page->common_prefixes[i]);
    free(page->common_prefixes);
    free(page->bucket);
    free(page->prefix);
    free(page->next_continuation_token);
    memset(page, 0, sizeof(*page));
    page->key_count = -1;
}

static int
error_end(const char *const *path, size_t depth, const char *text, size_t len, void *payload,
          struct pd_err *err)
{
    struct s3_error_doc *doc = payload;
    char **slot = NULL;

    if (depth == 1 && strcmp(path[0], "Error") != 0)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s: root element is <%s>, not <Error>", WHAT_ERROR,
                          path[0]);
    if (depth != 2 || strcmp(path[0], "Error") != 0)
        return 0;
    if (strcmp(path[1], "Code") == 0)
        slot = &doc->code;
    else if (strcmp(path[1], "Message") == 0)
        slot = &doc->message;
    else if (strcmp(path[1], "RequestId") == 0)
        slot = &doc->request_id;
    else if (strcmp(path[1], "Resource") == 0)
        slot = &doc->resource;
    if (slot) {
        free(*slot);
        *slot = pd_xstrndup(text, len);
    }
    return 0;
}

int
s3_error_parse(struct s3_error_doc *out, const char *xml, size_t len, struct pd_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = s3_xml_parse(WHAT_ERROR, xml, len, error_end, out, err);
    if (rc != 0)
        s3_error_doc_free(out);
    return rc;
}

void
s3_error_doc_free(struct s3_error_doc *doc)
{
    if (doc == NULL)
        return;
    PD_FREE(doc->code);
    PD_FREE(doc->message);
    PD_FREE(doc->request_id);
    PD_FREE(doc->resource);
}
