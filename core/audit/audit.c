#include "audit/audit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "compliance/compliance.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "s3/client.h"

#define AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* A last line longer than this is not one we wrote: refuse to chain from it blindly. */
#define AUDIT_TAIL_MAX (1024 * 1024)
/* Failure messages are cut to keep entries well under AUDIT_ENTRY_MAX. */
#define AUDIT_OUTCOME_MAX 1024
#define AUDIT_VALUE_MAX   1024

struct audit {
    int fd;
    char *path;
    char *operator_name;
    char host[256];
    struct audit *next_open; /* the logs open in this process, newest first */
};

const char *
audit_path(const struct audit *a)
{
    return a->path;
}

/* ---- the S3 client's own requests ---- */

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct audit *open_logs;

/* s3_own_request_fn: one entry in the newest log open in the process. */
static int
record_s3_own(const char *method, const char *target, const char *purpose, const char *outcome,
              void *payload, struct pd_err *err)
{
    const struct audit_arg args[1] = {{.key = "purpose", .str = purpose}};
    char action[32];
    int rc = 0;

    (void)payload;
    snprintf(action, sizeof(action), "s3.%s", method);
    for (char *p = action; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    pthread_mutex_lock(&open_lock);
    if (open_logs != NULL)
        rc = audit_record(open_logs, NULL, action, target, args, 1, outcome, err);
    pthread_mutex_unlock(&open_lock);
    return rc;
}

static void
open_logs_add(struct audit *a)
{
    pthread_mutex_lock(&open_lock);
    a->next_open = open_logs;
    open_logs = a;
    s3_set_own_request_auditor(record_s3_own, NULL);
    pthread_mutex_unlock(&open_lock);
}

static void
open_logs_remove(struct audit *a)
{
    pthread_mutex_lock(&open_lock);
    for (struct audit **p = &open_logs; *p != NULL; p = &(*p)->next_open) {
        if (*p == a) {
            *p = a->next_open;
            break;
        }
    }
    if (open_logs == NULL)
        s3_set_own_request_auditor(NULL, NULL);
    pthread_mutex_unlock(&open_lock);
}

/* ---- writing ---- */

/* s as a JSON string, redacted and cut to max bytes (on a UTF-8 boundary). */
static void
json_str(struct pd_buf *b, const char *s, size_t max)
{
    char *r = pd_redact(s ? s : "");
    size_t n = strlen(r);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)r[n] & 0xC0) == 0x80)
            n--;
    }
    pd_buf_append(b, "\"", 1, NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r[i];

        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};

            pd_buf_append(b, esc, 2, NULL);
        } else if (c == '\n') {
            pd_buf_append(b, "\\n", 2, NULL);
        } else if (c == '\t') {
            pd_buf_append(b, "\\t", 2, NULL);
        } else if (c == '\r') {
            pd_buf_append(b, "\\r", 2, NULL);
        } else if (c < 0x20 || c == 0x7f) {
            pd_buf_appendf(b, NULL, "\\u%04x", (unsigned int)c);
        } else {
            pd_buf_append(b, &r[i], 1, NULL);
        }
    }
    if (n < strlen(r))
        pd_buf_append(b, "\xe2\x80\xa6", 3, NULL); // "…": the value was cut
    pd_buf_append(b, "\"", 1, NULL);
    free(r);
}

int
audit_open(struct audit **out, const char *home, const char *operator_name, struct pd_err *err)
{
    struct audit *a;
    struct stat st;
    int rc;

    *out = NULL;
    rc = pd_mkdir_p(home, 0700, err);
    if (rc != 0) {
        char why[PD_ERR_MSG_MAX];

        snprintf(why, sizeof(why), "%s", err->msg);
        return PD_ERR_SET(err, PD_EIO, "audit log: %s", why);
    }
    a = pd_xcalloc(1, sizeof(*a));
    a->path = pd_xasprintf("%s/audit.log", home);
    a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: %s", a->path, strerror(errno));
        goto fail;
    }
    if (fstat(a->fd, &st) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: %s", a->path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: not a regular file", a->path);
        goto fail;
    }
    // it may predate us or have been copied in: it holds who did what, keep it private
    if ((st.st_mode & 077) != 0 && fchmod(a->fd, 0600) != 0)
        pd_log(PD_LOG_WARN, "audit log %s: cannot make it 0600: %s", a->path, strerror(errno));
    a->operator_name = pd_xstrdup(operator_name ? operator_name : "");
    if (gethostname(a->host, sizeof(a->host)) != 0)
        snprintf(a->host, sizeof(a->host), "unknown");
    a->host[sizeof(a->host) - 1] = '\0';
    open_logs_add(a);
    *out = a;
    return 0;
fail:
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    free(a);
    return rc;
}

void
audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    open_logs_remove(a);
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    free(a->operator_name);
    free(a);
}

static int
read_at(int fd, char *buf, size_t len, off_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/*
 * The last line of a file of size bytes (without its newline) into *out,
 * and whether it lacks the newline (a torn write).
 */
static int
read_last_line(struct audit *a, off_t size, char **out, size_t *len, bool *torn, struct pd_err *err)
{
    off_t end = size, start;
    size_t chunk = 4096;
    char *buf = NULL;

    *out = NULL;
    *len = 0;
    *torn = false;
    if (size == 0)
        return 0;
    for (;;) {
        size_t n;

        start = end > (off_t)chunk ? end - (off_t)chunk : 0;
        n = (size_t)(end - start);
        buf = pd_xrealloc(buf, n + 1);
        if (read_at(a->fd, buf, n, start) != 0) {
            free(buf);
            return PD_ERR_SET(err, PD_EIO, "audit log %s: read: %s", a->path,
                              errno ? strerror(errno) : "short read");
        }
        buf[n] = '\0';
        {
            size_t body = n;
            const char *nl;

            *torn = buf[n - 1] != '\n';
            if (!*torn)
                body--;
            nl = NULL;
            for (size_t i = body; i > 0; i--) {
                if (buf[i - 1] == '\n') {
                    nl = &buf[i - 1];
                    break;
                }
            }
            if (nl != NULL || start == 0) {
                size_t from = nl ? (size_t)(nl - buf) + 1 : 0;

                *len = body - from;
                *out = pd_xstrndup(buf + from, *len);
                free(buf);
                return 0;
            }
        }
        if (chunk >= (size_t)AUDIT_TAIL_MAX) {
            free(buf);
            return PD_ERR_SET(err, PD_EIO, "audit log %s: last line longer than %d bytes", a->path,
                              AUDIT_TAIL_MAX);
        }
        chunk *= 4;
    }
}

/* seq of a valid entry line, or 0 when it is not one. */
static long long
entry_seq(const char *line, size_t len, char prev[65])
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *seq, *p;
    long long s = 0;

    if (j == NULL)
        return 0;
    seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    p = cJSON_GetObjectItemCaseSensitive(j, "prev");
    if (cJSON_IsObject(j) && cJSON_IsNumber(seq) && seq->valuedouble >= 1 &&
        seq->valuedouble < 9e15 && seq->valuedouble == (double)(long long)seq->valuedouble &&
        cJSON_IsString(p) && strlen(p->valuestring) == 64 &&
        strspn(p->valuestring, "0123456789abcdef") == 64) {
        s = (long long)seq->valuedouble;
        if (prev != NULL)
            memcpy(prev, p->valuestring, 65);
    }
    cJSON_Delete(j);
    return s;
}

/* Lines in the first size bytes (a torn tail counts as one). */
static int
count_lines(struct audit *a, off_t size, long long *out, struct pd_err *err)
{
    char buf[65536];
    off_t off = 0;
    long long n = 0;
    char last = '\n';

    while (off < size) {
        size_t want = size - off > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)(size - off);

        if (read_at(a->fd, buf, want, off) != 0)
            return PD_ERR_SET(err, PD_EIO, "audit log %s: read: %s", a->path,
                              errno ? strerror(errno) : "short read");
        for (size_t i = 0; i < want; i++)
            if (buf[i] == '\n')
                n++;
        last = buf[want - 1];
        off += (off_t)want;
    }
    *out = n + (last != '\n' ? 1 : 0);
    return 0;
}

/* Under the lock: chain entry (the line after "seq" and before "prev") and append it. */
static int
append_locked(struct audit *a, const char *body, struct pd_err *err)
{
    struct stat st;
    char *last = NULL;
    size_t last_len = 0;
    bool torn = false;
    long long seq = 1;
    char prev[65] = AUDIT_ZERO_HASH;
    struct pd_buf line;
    int rc;

    pd_buf_init(&line, 0);
    if (fstat(a->fd, &st) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: %s", a->path, strerror(errno));
        goto out;
    }
    rc = read_last_line(a, st.st_size, &last, &last_len, &torn, err);
    if (rc != 0)
        goto out;
    if (last != NULL) {
        long long s = torn ? 0 : entry_seq(last, last_len, NULL);

        pd_sha256_hex(prev, last, last_len);
        if (s > 0) {
            seq = s + 1;
        } else {
            // keep the bad line where verify will name it, and go on from it
            pd_log(PD_LOG_WARN, "audit log %s: the last line is %s; appending after it", a->path,
                   torn ? "incomplete (torn write)" : "not a valid entry");
            rc = count_lines(a, st.st_size, &s, err);
            if (rc != 0)
                goto out;
            seq = s + 1;
            if (torn)
                pd_buf_append(&line, "\n", 1, NULL);
        }
    }
    pd_buf_appendf(&line, NULL, "{\"seq\":%lld,%s,\"prev\":\"%s\"}\n", seq, body, prev);
    errno = EIO; // what a write that makes no progress reports
    if (pd_write_all(a->fd, line.data, line.len, a->path, NULL) != 0) {
        int e = errno; // the message keeps its audit log form, not pd_write_all's

        // never leave half an entry behind: the next append would chain from it
        if (ftruncate(a->fd, st.st_size) != 0)
            pd_log(PD_LOG_WARN, "audit log %s: cannot cut a partial entry: %s", a->path,
                   strerror(errno));
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: write: %s", a->path, strerror(e));
        goto out;
    }
    if (fsync(a->fd) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: fsync: %s", a->path, strerror(errno));
        goto out;
    }
out:
    pd_buf_free(&line);
    free(last);
    return rc;
}

int
audit_record(struct audit *a, const char *drill_id, const char *action, const char *target,
             const struct audit_arg *args, size_t n_args, const char *outcome, struct pd_err *err)
{
    struct pd_buf b;
    char at[32], *plain;
    int rc;

    pd_buf_init(&b, 0);
    pd_time_format(at, sizeof(at), pd_time_wall());
    pd_buf_appendf(&b, NULL, "\"at\":\"%s\",\"who\":", at);
    json_str(&b, a->operator_name, AUDIT_VALUE_MAX);
    pd_buf_appendf(&b, NULL, ",\"uid\":%u,\"host\":", (unsigned int)getuid());
    json_str(&b, a->host, AUDIT_VALUE_MAX);
    pd_buf_appendf(&b, NULL, ",\"pid\":%ld,\"drill_id\":", (long)getpid());
    if (drill_id != NULL)
        json_str(&b, drill_id, AUDIT_VALUE_MAX);
    else
        pd_buf_append(&b, "null", 4, NULL);
    pd_buf_append(&b, ",\"action\":", 10, NULL);
    json_str(&b, action, AUDIT_VALUE_MAX);
    pd_buf_append(&b, ",\"target\":", 10, NULL);
    if (target != NULL)
        json_str(&b, target, AUDIT_VALUE_MAX);
    else
        pd_buf_append(&b, "null", 4, NULL);
    pd_buf_append(&b, ",\"args\":{", 9, NULL);
    for (size_t i = 0; i < n_args && b.len < AUDIT_ENTRY_MAX / 2; i++) {
        if (i > 0)
            pd_buf_append(&b, ",", 1, NULL);
        json_str(&b, args[i].key, 128);
        pd_buf_append(&b, ":", 1, NULL);
        if (args[i].str != NULL)
            json_str(&b, args[i].str, AUDIT_VALUE_MAX);
        else
            pd_buf_appendf(&b, NULL, "%lld", args[i].num);
    }
    pd_buf_append(&b, "}", 1, NULL);
    // plain http outside loopback (PGDRILL_ALLOW_PLAIN_HTTP) is named in the entry it served
    if ((plain = compliance_take_plain_http()) != NULL) {
        pd_buf_append(&b, ",\"plain_http\":", 14, NULL);
        json_str(&b, plain, AUDIT_VALUE_MAX);
        free(plain);
    }
    pd_buf_append(&b, ",\"outcome\":", 11, NULL);
    if (outcome == NULL) {
        pd_buf_append(&b, "\"ok\"", 4, NULL);
    } else {
        char *o = pd_xasprintf("failed: %s", outcome);

        json_str(&b, o, AUDIT_OUTCOME_MAX);
        free(o);
    }
    if (flock(a->fd, LOCK_EX) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: lock: %s", a->path, strerror(errno));
        goto out;
    }
    rc = append_locked(a, pd_buf_str(&b), err);
    flock(a->fd, LOCK_UN);
out:
    pd_buf_free(&b);
    return rc;
}

/* ---- targets ---- */

static char *
env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return pd_xstrdup(v && v[0] ? v : dflt);
}

/* Percent-decoding is not needed: the parts are shown, not used. */
static void
target_of_uri(const char *rest, char **host, char **port, char **db)
{
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = NULL;
    const char *hp, *end = rest + auth_len;

    for (const char *p = rest; p < end; p++)
        if (*p == '@')
            at = p; // the last '@': a password may hold one
    hp = at ? at + 1 : rest;
    if (hp < end) {
        const char *colon = NULL;

        if (*hp == '[') { // IPv6 literal
            const char *close = memchr(hp, ']', (size_t)(end - hp));

            if (close != NULL && close + 1 < end && close[1] == ':')
                colon = close + 1;
        } else {
            colon = memchr(hp, ':', (size_t)(end - hp));
        }
        if (colon != NULL) {
            *host = pd_xstrndup(hp, (size_t)(colon - hp));
            if (colon + 1 < end)
                *port = pd_xstrndup(colon + 1, (size_t)(end - colon - 1));
        } else {
            *host = pd_xstrndup(hp, (size_t)(end - hp));
        }
    }
    if (*end == '/') {
        size_t n = strcspn(end + 1, "?#");

        if (n > 0)
            *db = pd_xstrndup(end + 1, n);
    }
}

/* key=value conninfo: only host, hostaddr, port and dbname are looked at. */
static void
target_of_conninfo(const char *s, char **host, char **port, char **db)
{
    while (*s) {
        size_t klen;
        const char *k;
        struct pd_buf v;

        s += strspn(s, " \t\n");
        k = s;
        klen = strcspn(s, "= \t\n");
        s += klen;
        s += strspn(s, " \t\n");
        if (*s != '=')
            break;
        s++;
        s += strspn(s, " \t\n");
        pd_buf_init(&v, 0);
        if (*s == '\'') {
            for (s++; *s && *s != '\''; s++) {
                if (*s == '\\' && s[1])
                    s++;
                pd_buf_append(&v, s, 1, NULL);
            }
            if (*s == '\'')
                s++;
        } else {
            size_t n = strcspn(s, " \t\n");

            pd_buf_append(&v, s, n, NULL);
            s += n;
        }
        if (((klen == 4 && strncmp(k, "host", 4) == 0) ||
             (klen == 8 && strncmp(k, "hostaddr", 8) == 0)) &&
            *host == NULL)
            *host = pd_buf_steal(&v);
        else if (klen == 4 && strncmp(k, "port", 4) == 0)
            *port = pd_buf_steal(&v);
        else if (klen == 6 && strncmp(k, "dbname", 6) == 0)
            *db = pd_buf_steal(&v);
        pd_buf_free(&v);
    }
}

char *
audit_target_of_url(const char *url)
{
    char *host = NULL, *port = NULL, *db = NULL, *t, *r;

    if (url == NULL)
        url = "";
    if (strncmp(url, "postgresql://", 13) == 0)
        target_of_uri(url + 13, &host, &port, &db);
    else if (strncmp(url, "postgres://", 11) == 0)
        target_of_uri(url + 11, &host, &port, &db);
    else
        target_of_conninfo(url, &host, &port, &db);
    if (host == NULL || host[0] == '\0') {
        free(host);
        host = env_or("PGHOST", "localhost");
    }
    if (port == NULL || port[0] == '\0') {
        free(port);
        port = env_or("PGPORT", "5432");
    }
    if (db == NULL) {
        db = env_or("PGDATABASE", "");
    }
    t = pd_xasprintf("postgres://%s:%s/%s", host, port, db);
    r = pd_redact(t);
    free(t);
    free(host);
    free(port);
    free(db);
    return r;
}

/* ---- verifying ---- */

struct vline {
    bool valid;
    bool newline;
    long long seq;
    char prev[65];
    char hash[65];
    const char *why; /* static: why it is not valid */
};

static const char *
entry_check(const char *line, size_t len, struct vline *v)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const char *why = NULL;

    if (j == NULL || !cJSON_IsObject(j)) {
        why = "not a JSON object";
        goto out;
    }
    v->seq = entry_seq(line, len, v->prev);
    if (v->seq == 0) {
        why = "seq or prev missing or malformed";
        goto out;
    }
    {
        static const char *const need[] = {"at", "who", "action", "outcome"};

        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, need[i]))) {
                why = "a required field is missing";
                goto out;
            }
        }
    }
out:
    cJSON_Delete(j);
    return why;
}

static const char *
plural(long long n)
{
    return n == 1 ? "y" : "ies";
}

static int
classify(const struct vline *v, size_t n, size_t *bad, char *msg, size_t msg_size)
{
    long long prev_seq = 0;
    const char *prev_hash = AUDIT_ZERO_HASH;

    for (size_t i = 0; i < n; i++) {
        long long want = prev_seq + 1;

        *bad = i + 1;
        if (!v[i].newline) {
            snprintf(msg, msg_size, "line %zu: truncated last line (incomplete write)", i + 1);
            return -1;
        }
        if (!v[i].valid) {
            snprintf(msg, msg_size, "line %zu: not a valid audit entry (%s)", i + 1, v[i].why);
            return -1;
        }
        if (v[i].seq == want && strcmp(v[i].prev, prev_hash) == 0) {
            prev_seq = v[i].seq;
            prev_hash = v[i].hash;
            continue;
        }
        if (v[i].seq == want || strcmp(v[i].prev, prev_hash) == 0) {
            /*
             * One of seq or prev fits: an entry's bytes changed. Line i-1
             * was edited when line i is intact (the next line still chains
             * from it); line i itself when its own hash broke the next link.
             */
            bool next_breaks = i + 1 < n && v[i + 1].valid && strcmp(v[i + 1].prev, v[i].hash) != 0;
            size_t who = v[i].seq != want || next_breaks || i == 0 ? i : i - 1;
            *bad = who + 1;
            snprintf(msg, msg_size, "line %zu: hash chain broken (entry edited or replaced)",
                     who + 1);
            return -1;
        }
        if (v[i].seq > want) {
            bool later = false;

            for (size_t k = i + 1; k < n && !later; k++)
                later = v[k].valid && v[k].seq == want;
            if (later)
                snprintf(msg, msg_size,
                         "line %zu: entries reordered (seq %lld where %lld was "
                         "expected)",
                         i + 1, v[i].seq, want);
            else if (i == 0)
                snprintf(msg, msg_size,
                         "line 1: %lld entr%s removed before this line (seq starts at %lld)",
                         v[i].seq - 1, plural(v[i].seq - 1), v[i].seq);
            else
                snprintf(msg, msg_size,
                         "line %zu: %lld entr%s removed before this line (seq jumps from %lld to "
                         "%lld)",
                         i + 1, v[i].seq - want, plural(v[i].seq - want), prev_seq, v[i].seq);
            return -1;
        }
        snprintf(msg, msg_size, "line %zu: entry repeated or reordered (seq %lld after %lld)",
                 i + 1, v[i].seq, prev_seq);
        return -1;
    }
    *bad = 0;
    return 0;
}

int
audit_verify(struct audit_summary *out, const char *path, audit_report_fn report, void *payload,
             struct pd_err *err)
{
    struct audit_summary sum = {0};
    struct vline *v = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    char msg[256];
    FILE *f;
    int rc = 0;

    f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return PD_ERR_SET(err, PD_ENOENT, "audit log %s: no such file", path);
        return PD_ERR_SET(err, PD_EIO, "audit log %s: %s", path, strerror(errno));
    }
    // a writer appends under LOCK_EX: never read half an entry
    if (flock(fileno(f), LOCK_SH) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: lock: %s", path, strerror(errno));
        goto out;
    }
    errno = 0;
    while ((len = getline(&line, &line_cap, f)) > 0) {
        size_t l = (size_t)len;
        struct vline *x;

        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = pd_xrealloc(v, cap * sizeof(*v));
        }
        x = &v[n++];
        memset(x, 0, sizeof(*x));
        x->newline = line[l - 1] == '\n';
        if (x->newline)
            l--;
        pd_sha256_hex(x->hash, line, l);
        x->why = entry_check(line, l, x);
        x->valid = x->why == NULL;
    }
    if (ferror(f)) {
        rc = PD_ERR_SET(err, PD_EIO, "audit log %s: read: %s", path, strerror(errno));
        goto out;
    }
    sum.n_entries = n;
    if (n > 0)
        memcpy(sum.head, v[n - 1].hash, 65);
    if (classify(v, n, &sum.bad_line, msg, sizeof(msg)) != 0) {
        if (report != NULL)
            report(sum.bad_line, msg, payload);
        rc = PD_ERR_SET(err, PD_ECHECK, "audit log %s: %s", path, msg);
    }
out:
    if (out != NULL)
        *out = sum;
    free(line);
    free(v);
    (void)fclose(f); // opened for reading: a failed close loses nothing
    return rc;
}
