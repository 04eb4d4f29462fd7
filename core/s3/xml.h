/*
 * s3/xml: the small amount of XML S3 speaks, read with expat.
 *
 * Elements are matched on their local names only: S3 answers with the
 * default namespace "http://s3.amazonaws.com/doc/2006-03-01/", s3rver and
 * other compatibles without one, and a proxy may add prefixes. Namespaces
 * are resolved by expat and then ignored. Document type declarations are
 * refused (no entity tricks in a response). Text of one element is capped at
 * 64 KiB and the whole document at 64 MiB.
 *
 * Errors name the document (the "what" argument, e.g. "list response") and,
 * for malformed or truncated XML, expat's reason with line and column.
 */
#ifndef S3_XML_H
#define S3_XML_H

#include <stddef.h>

struct pd_err;

#define S3_XML_MAX_DEPTH 16

/*
 * Called at the end of every element. path[0] is the root's local name,
 * path[depth - 1] the element that ends; text is its character data (only
 * the text directly inside it, NUL-terminated, borrowed for the call).
 * Return 0 to go on, or a negative PD_E* (with err set) to stop.
 */
typedef int s3_xml_end_fn(const char *const *path, size_t depth, const char *text, size_t text_len,
                          void *payload, struct pd_err *err);

int s3_xml_parse(const char *what, const char *xml, size_t len, s3_xml_end_fn *on_end,
                 void *payload, struct pd_err *err);

/*
 * The text of the first element whose local-name path from the root is
 * "a/b/c" (root included), e.g. "InitiateMultipartUploadResult/UploadId".
 * *out is NULL when there is none (not an error). The caller owns *out.
 */
int s3_xml_text(char **out, const char *what, const char *xml, size_t len, const char *path,
                struct pd_err *err);

/*
 * The local name of the root element (caller owns it), e.g. "Error" for an
 * error document delivered with a 200 status.
 */
int s3_xml_root(char **out, const char *what, const char *xml, size_t len, struct pd_err *err);

#endif
