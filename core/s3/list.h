/*
 * s3/list: parse ListObjectsV2 pages and S3 error documents.
 *
 * Both are read with s3/xml (expat, matched on local names, so any or no
 * namespace works). A page owns all its strings; s3_list_page_free releases
 * them. Parsing is strict where a wrong answer would mislead a restore: a
 * Contents without Key, a Size that is not a number, a LastModified that is
 * not RFC 3339, or IsTruncated=true without NextContinuationToken are errors
 * (PD_EINPUT) naming the element and key.
 */
#ifndef S3_LIST_H
#define S3_LIST_H

#include <stddef.h>
#include <stdint.h>

struct pd_err;

struct s3_object {
    char *key;
    uint64_t size;
    double last_modified; /* seconds since the epoch; 0 when the element was absent */
    char *etag;           /* as sent, quotes removed ("9b2cf5...-3"); NULL when absent */
    char *storage_class;  /* NULL when absent */
};

struct s3_list_page {
    char *bucket; /* <Name>, NULL when absent */
    char *prefix; /* <Prefix>, NULL when absent */
    struct s3_object *objects;
    size_t n_objects;
    char **common_prefixes;
    size_t n_common_prefixes;
    int is_truncated;
    char *next_continuation_token; /* set when is_truncated */
    long key_count;                /* <KeyCount>, -1 when absent */
};

/* Parse one ListObjectsV2 response body. On failure out is empty. */
int s3_list_parse(struct s3_list_page *out, const char *xml, size_t len, struct pd_err *err);

void s3_list_page_free(struct s3_list_page *page);

/* An S3 <Error> document. Fields are NULL when absent; all owned. */
struct s3_error_doc {
    char *code; /* "NoSuchKey", "SignatureDoesNotMatch", ... */
    char *message;
    char *request_id;
    char *resource;
};

/*
 * Parse an error body. Fails with PD_EINPUT when the body is not XML or its
 * root is not <Error> (the caller then reports the HTTP status alone).
 */
int s3_error_parse(struct s3_error_doc *out, const char *xml, size_t len, struct pd_err *err);

void s3_error_doc_free(struct s3_error_doc *doc);

#endif
