/*
 * Unit tests for core/s3/list.c and core/s3/xml.c, driven by the XML
 * fixtures in tests/fixtures/s3/xml (s3rver's real answers, AWS-shaped
 * answers, and broken documents).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "s3/list.h"
#include "s3/xml.h"

static char *
slurp_fixture(const char *name, size_t *len)
{
    const char *top = getenv("PGDRILL_TOP");
    char *path = pd_xasprintf("%s/tests/fixtures/s3/xml/%s", top && *top ? top : ".", name);
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    if (f == NULL)
        fail_msg("cannot open fixture %s (set PGDRILL_TOP to the repository root)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    data = pd_xmalloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    (void)fclose(f); // read only
    free(path);
    *len = (size_t)n;
    return data;
}

static void
parse_fixture(struct s3_list_page *page, const char *name)
{
    size_t len;
    char *xml = slurp_fixture(name, &len);
    struct pd_err err = {0};

    if (s3_list_parse(page, xml, len, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    free(xml);
}

static void
test_list_aws(void **state)
{
    struct s3_list_page p;

    (void)state;
    parse_fixture(&p, "list-aws.xml");
    assert_string_equal(p.bucket, "care-commons-backups");
    assert_string_equal(p.prefix, "weekly/");
    assert_int_equal(p.key_count, 3);
    assert_true(p.is_truncated);
    assert_string_equal(p.next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_int_equal(p.n_objects, 3);
    assert_string_equal(p.objects[0].key, "weekly/care-commons-backup-20261101-020000.sql.gz");
    assert_int_equal(p.objects[0].size, 104857600);
    assert_string_equal(p.objects[0].etag, "d41d8cd98f00b204e9800998ecf8427e-12");
    assert_string_equal(p.objects[0].storage_class, "STANDARD_IA");
    assert_true(p.objects[0].last_modified == 1793498591.0); // 2026-11-01T02:03:11Z
    // sizes beyond 4 GiB must survive (uint64)
    assert_true(p.objects[1].size == UINT64_C(5368709120000));
    assert_string_equal(p.objects[2].key, "weekly/notes & \"quotes\".txt");
    assert_string_equal(p.objects[2].etag, "92eb5ffee6ae2fec3ad71c777531578f");
    assert_int_equal(p.objects[2].size, 0);
    assert_string_equal(p.objects[2].storage_class, "GLACIER");
    assert_int_equal(p.n_common_prefixes, 2);
    assert_string_equal(p.common_prefixes[0], "weekly/old/");
    assert_string_equal(p.common_prefixes[1], "weekly/tmp/");
    s3_list_page_free(&p);
}

static void
test_list_s3rver(void **state)
{
    struct s3_list_page p;

    (void)state;
    parse_fixture(&p, "list-s3rver-page1.xml");
    assert_true(p.is_truncated);
    assert_string_equal(p.next_continuation_token,
                        "1wn6/736ErmAaBqrMImTM61MIo3YqoFh51nMspYJkKxHFonkFyXsgg==");
    assert_int_equal(p.n_objects, 2);
    assert_string_equal(p.objects[0].key, "dir/&amp<>.txt");
    assert_int_equal(p.objects[0].size, 19);
    assert_string_equal(p.objects[0].etag, "4f826a2cc3b273fb130f89f4000d64aa");
    assert_string_equal(p.objects[1].key, "dir/a.txt");
    s3_list_page_free(&p);

    parse_fixture(&p, "list-s3rver-delimiter.xml");
    assert_false(p.is_truncated);
    assert_null(p.next_continuation_token);
    assert_int_equal(p.n_objects, 3);
    assert_string_equal(p.objects[2].key, "dir/b c.txt");
    assert_int_equal(p.n_common_prefixes, 1);
    assert_string_equal(p.common_prefixes[0], "dir/sub/");
    s3_list_page_free(&p);
}

static void
test_list_namespaces_and_empty(void **state)
{
    struct s3_list_page p;

    (void)state;
    parse_fixture(&p, "list-prefixed-ns.xml");
    assert_string_equal(p.bucket, "b");
    assert_int_equal(p.n_objects, 2);
    assert_string_equal(p.objects[0].key, "k1");
    assert_int_equal(p.objects[0].size, 7);
    assert_null(p.objects[0].etag);
    assert_string_equal(p.objects[1].key, "k2");
    assert_int_equal(p.objects[1].size, 8);
    assert_int_equal(p.key_count, -1);
    s3_list_page_free(&p);

    parse_fixture(&p, "list-empty.xml");
    assert_int_equal(p.n_objects, 0);
    assert_int_equal(p.n_common_prefixes, 0);
    assert_int_equal(p.key_count, 0);
    assert_false(p.is_truncated);
    s3_list_page_free(&p);
}

static void
test_list_errors(void **state)
{
    static const struct {
        const char *file;
        const char *msg;
    } cases[] = {
        {"list-truncated.xml",
         "s3: list response: truncated XML at line 10 column 42: no element found"},
        {"list-mismatched-tag.xml",
         "s3: list response: malformed XML at line 3 column 57: mismatched tag"},
        {"list-truncated-no-token.xml",
         "s3: list response: <IsTruncated> is true but <NextContinuationToken> is missing"},
        {"list-bad-size.xml", "s3: list response: <Size> '12x' of key 'big' is not a number"},
        {"list-no-key.xml", "s3: list response: <Contents> #2 has no <Key>"},
        {"list-bad-date.xml",
         "s3: list response: <LastModified> 'yesterday' of key 'a' is not RFC 3339"},
        {"list-doctype.xml", "s3: list response: document type declarations are not accepted"},
        {"list-wrong-root.xml",
         "s3: list response: root element is <ListAllMyBucketsResult>, not <ListBucketResult>"},
        {"list-no-istruncated.xml", "s3: list response: <IsTruncated> is missing"},
        {"error-html.xml", "s3: list response: root element is <html>, not <ListBucketResult>"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *xml = slurp_fixture(cases[i].file, &len);
        struct s3_list_page p;
        struct pd_err err = {0};

        assert_int_equal(s3_list_parse(&p, xml, len, &err), PD_EINPUT);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("%s: got '%s'", cases[i].file, err.msg);
        assert_null(p.objects);
        assert_int_equal(p.n_objects, 0);
        free(xml);
    }
    {
        struct s3_list_page p;
        struct pd_err err = {0};

        assert_int_equal(s3_list_parse(&p, "", 0, &err), PD_EINPUT);
        assert_string_equal(err.msg, "s3: list response: empty body where XML was expected");
    }
}

static void
test_error_doc(void **state)
{
    struct s3_error_doc d;
    struct pd_err err = {0};
    size_t len;
    char *xml;

    (void)state;
    xml = slurp_fixture("error-aws-signature.xml", &len);
    assert_int_equal(s3_error_parse(&d, xml, len, &err), 0);
    assert_string_equal(d.code, "SignatureDoesNotMatch");
    assert_string_equal(d.message, "The request signature we calculated does not match the "
                                   "signature you provided. Check your key and signing method.");
    assert_string_equal(d.request_id, "4442587FB7D0A2F9");
    assert_string_equal(d.resource, "/care-commons-backups/weekly/x.sql.gz");
    s3_error_doc_free(&d);
    free(xml);

    xml = slurp_fixture("error-s3rver-nosuchkey.xml", &len);
    assert_int_equal(s3_error_parse(&d, xml, len, &err), 0);
    assert_string_equal(d.code, "NoSuchKey");
    assert_string_equal(d.message, "The specified key does not exist.");
    assert_null(d.request_id);
    s3_error_doc_free(&d);
    free(xml);

    xml = slurp_fixture("error-html.xml", &len);
    assert_int_equal(s3_error_parse(&d, xml, len, &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: error response: root element is <html>, not <Error>");
    assert_null(d.code);
    free(xml);
}

static void
test_xml_text_and_root(void **state)
{
    static const char init[] =
        "<?xml version=\"1.0\"?><InitiateMultipartUploadResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key>"
        "<UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>";
    static const char deep[] = "<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>x</q></p></o>"
                               "</n></m></l></k></j></i></h></g></f></e></d></c></b></a>";
    char *out = NULL;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(s3_xml_text(&out, "create response", init, sizeof(init) - 1,
                                 "InitiateMultipartUploadResult/UploadId", &err),
                     0);
    assert_string_equal(out, "VXBsb2FkIElE");
    free(out);
    assert_int_equal(s3_xml_text(&out, "create response", init, sizeof(init) - 1,
                                 "InitiateMultipartUploadResult/Nope", &err),
                     0);
    assert_null(out);
    assert_int_equal(s3_xml_text(&out, "create response", init, sizeof(init) - 1, "UploadId", &err),
                     0);
    assert_null(out);
    assert_int_equal(s3_xml_root(&out, "complete response", init, sizeof(init) - 1, &err), 0);
    assert_string_equal(out, "InitiateMultipartUploadResult");
    free(out);
    assert_int_equal(s3_xml_root(&out, "x", deep, sizeof(deep) - 1, &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: x: elements nested deeper than 16");
    assert_null(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_aws),
        cmocka_unit_test(test_list_s3rver),
        cmocka_unit_test(test_list_namespaces_and_empty),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_error_doc),
        cmocka_unit_test(test_xml_text_and_root),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
