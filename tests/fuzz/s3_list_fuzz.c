/* libFuzzer target: an S3 ListObjectsV2 response body through s3_list_parse. */
#include <stddef.h>
#include <stdint.h>

#include "pd_err.h"
#include "s3/list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3_list_page page;
    struct pd_err err = {0};

    // the body as curl delivers it: exactly size bytes, no terminator promised
    (void)s3_list_parse(&page, (const char *)data, size, &err);
    s3_list_page_free(&page);
    return 0;
}
