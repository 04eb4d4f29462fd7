/*
 * libFuzzer target: an S3 error body through s3_error_parse, and the same
 * bytes through s3_xml_root, which the client uses to spot an <Error>
 * delivered with a 200 status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pd_err.h"
#include "s3/list.h"
#include "s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3_error_doc doc;
    struct pd_err err = {0};
    char *root = NULL;

    (void)s3_error_parse(&doc, (const char *)data, size, &err);
    s3_error_doc_free(&doc);
    if (s3_xml_root(&root, "fuzz response", (const char *)data, size, &err) == 0)
        free(root);
    return 0;
}
