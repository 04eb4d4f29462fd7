#include "s3/xml.h"

#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"

#define XML_TEXT_CAP ((size_t)64 * 1024)
#define XML_DOC_CAP  ((size_t)64 * 1024 * 1024)
/* expat joins "namespace-URI" SEP "local name"; a byte that cannot be in either */
#define NS_SEP '\x01'

struct xml_state {
    XML_Parser parser;
    const char *what;
    s3_xml_end_fn *on_end;
    void *payload;
    struct pd_err *err;
    int rc;
    char *path[S3_XML_MAX_DEPTH];
    size_t depth;
    struct pd_buf text;
    int text_overflow;
};

static const char *
local_name(const char *name)
{
    const char *sep = strrchr(name, NS_SEP);

    return sep ? sep + 1 : name;
}

static void
stop(struct xml_state *st, int rc)
{
    if (st->rc == 0)
        st->rc = rc;
    XML_StopParser(st->parser, XML_FALSE);
}

static void XMLCALL
on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_state *st = data;

    (void)attrs;
    if (st->rc != 0)
        return;
    if (st->depth == S3_XML_MAX_DEPTH) {
        stop(st, PD_ERR_SET(st->err, PD_EINPUT, "s3: %s: elements nested deeper than %d", st->what,
                            S3_XML_MAX_DEPTH));
        return;
    }
    st->path[st->depth++] = pd_xstrdup(local_name(name));
    pd_buf_reset(&st->text);
    st->text_overflow = 0;
}

static void XMLCALL
on_end(void *data, const XML_Char *name)
{
    struct xml_state *st = data;
    int rc;

    (void)name;
    if (st->rc != 0 || st->depth == 0)
        return;
    if (st->text_overflow) {
        stop(st, PD_ERR_SET(st->err, PD_EINPUT, "s3: %s: text of <%s> longer than %zu bytes",
                            st->what, st->path[st->depth - 1], XML_TEXT_CAP));
        return;
    }
    rc = st->on_end((const char *const *)st->path, st->depth, pd_buf_str(&st->text), st->text.len,
                    st->payload, st->err);
    if (rc != 0) {
        stop(st, rc);
        return;
    }
    st->depth--;
    PD_FREE(st->path[st->depth]); // PD_FREE evaluates its argument twice
    pd_buf_reset(&st->text);
}

static void XMLCALL
on_text(void *data, const XML_Char *s, int len)
{
    struct xml_state *st = data;

    if (st->rc != 0 || st->text_overflow)
        return;
    if (pd_buf_append(&st->text, s, (size_t)len, NULL) != 0)
        st->text_overflow = 1;
}

static void XMLCALL
on_doctype(void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
           int has_internal_subset)
{
    struct xml_state *st = data;

    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    stop(st, PD_ERR_SET(st->err, PD_EINPUT, "s3: %s: document type declarations are not accepted",
                        st->what));
}

int
s3_xml_parse(const char *what, const char *xml, size_t len, s3_xml_end_fn *on_end_fn, void *payload,
             struct pd_err *err)
{
    struct xml_state st;
    int rc = 0;

    memset(&st, 0, sizeof(st));
    st.what = what;
    st.on_end = on_end_fn;
    st.payload = payload;
    st.err = err;
    pd_buf_init(&st.text, XML_TEXT_CAP);
    if (len > XML_DOC_CAP)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s: document larger than %zu bytes", what,
                          XML_DOC_CAP);
    if (len == 0)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s: empty body where XML was expected", what);
    st.parser = XML_ParserCreateNS(NULL, NS_SEP);
    if (st.parser == NULL)
        return PD_ERR_SET(err, PD_EBUG, "s3: %s: cannot create an XML parser", what);
    XML_SetUserData(st.parser, &st);
    XML_SetElementHandler(st.parser, on_start, on_end);
    XML_SetCharacterDataHandler(st.parser, on_text);
    XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);

    if (XML_Parse(st.parser, xml, (int)len, XML_TRUE) != XML_STATUS_OK && st.rc == 0) {
        enum XML_Error code = XML_GetErrorCode(st.parser);
        const char *reason = XML_ErrorString(code);

        // "no element found" is what a body cut off mid-document looks like
        rc = PD_ERR_SET(err, PD_EINPUT, "s3: %s: %s XML at line %lu column %lu: %s", what,
                        code == XML_ERROR_NO_ELEMENTS || code == XML_ERROR_UNCLOSED_TOKEN ||
                                code == XML_ERROR_PARTIAL_CHAR
                            ? "truncated"
                            : "malformed",
                        (unsigned long)XML_GetCurrentLineNumber(st.parser),
                        (unsigned long)XML_GetCurrentColumnNumber(st.parser) + 1, reason);
    } else {
        rc = st.rc;
    }
    for (size_t i = 0; i < st.depth; i++)
        free(st.path[i]);
    pd_buf_free(&st.text);
    XML_ParserFree(st.parser);
    return rc;
}

struct find_state {
    const char *path; /* "a/b/c" */
    char *found;
};

static int
path_matches(const char *want, const char *const *path, size_t depth)
{
    const char *p = want;

    for (size_t i = 0; i < depth; i++) {
        size_t n = strlen(path[i]);

        if (strncmp(p, path[i], n) != 0)
            return 0;
        p += n;
        if (i + 1 < depth) {
            if (*p != '/')
                return 0;
            p++;
        }
    }
    return *p == '\0';
}

static int
find_end(const char *const *path, size_t depth, const char *text, size_t text_len, void *payload,
         struct pd_err *err)
{
    struct find_state *fs = payload;

    (void)err;
    if (fs->found == NULL && path_matches(fs->path, path, depth))
        fs->found = pd_xstrndup(text, text_len);
    return 0;
}

int
s3_xml_text(char **out, const char *what, const char *xml, size_t len, const char *path,
            struct pd_err *err)
{
    struct find_state fs = {path, NULL};
    int rc = s3_xml_parse(what, xml, len, find_end, &fs, err);

    if (rc != 0) {
        free(fs.found);
        fs.found = NULL;
    }
    *out = fs.found;
    return rc;
}

static int
root_end(const char *const *path, size_t depth, const char *text, size_t text_len, void *payload,
         struct pd_err *err)
{
    char **root = payload;

    (void)text;
    (void)text_len;
    (void)err;
    if (depth == 1 && *root == NULL)
        *root = pd_xstrdup(path[0]);
    return 0;
}

int
s3_xml_root(char **out, const char *what, const char *xml, size_t len, struct pd_err *err)
{
    char *root = NULL;
    int rc = s3_xml_parse(what, xml, len, root_end, &root, err);

    if (rc != 0)
        PD_FREE(root);
    *out = root;
    return rc;
}
