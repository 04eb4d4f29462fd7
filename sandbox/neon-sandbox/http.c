/* HTTP plumbing: the Bearer key, request bodies and the libmicrohttpd callbacks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "sandbox.h"

static char empty_body[1];

struct conn_state {
    char *data;
    size_t len;
    int too_big;
};

static int
authorized(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    size_t kl = strlen(sb.key);

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    // constant-time compare: the key is a secret
    if (strlen(h) != kl)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < kl; i++)
        diff |= (unsigned char)(h[i] ^ sb.key[i]);
    return diff == 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct conn_state *cs = *con_cls;
    const char *rid_in;
    char rid[40];
    struct reply r;
    struct MHD_Response *resp;
    char *text = NULL;
    cJSON *body = NULL;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    if (cs == NULL) {
        cs = calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (cs->len + *upload_size > (size_t)1024 * 1024) {
            cs->too_big = 1;
        } else {
            char *p = realloc(cs->data, cs->len + *upload_size + 1);

            if (p == NULL)
                return MHD_NO;
            cs->data = p;
            memcpy(cs->data + cs->len, upload_data, *upload_size);
            cs->len += *upload_size;
            cs->data[cs->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    rid_in = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
    if (rid_in != NULL && strlen(rid_in) < sizeof(rid) && rid_in[0] != '\0')
        sb_scpy(rid, sizeof(rid), rid_in);
    else
        sb_new_uuid(rid);
    if (!authorized(conn)) {
        r = sb_error_reply(401, "authentication required: send Authorization: Bearer <api key>");
    } else if (cs->too_big) {
        r = sb_error_reply(413, "request body too large");
    } else {
        int bad = 0;

        if (cs->len > 0) {
            body = cJSON_ParseWithLength(cs->data, cs->len);
            bad = body == NULL;
        }
        pthread_mutex_lock(&sb_lock);
        sb_ops_tick();
        r = sb_route_dispatch(conn, method, url, body, bad);
        pthread_mutex_unlock(&sb_lock);
    }
    if (r.body != NULL && r.status >= 400)
        sb_jset_str(r.body, "request_id", rid);
    if (r.body != NULL)
        text = cJSON_PrintUnformatted(r.body);
    resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : empty_body,
                                           MHD_RESPMEM_MUST_COPY);
    if (text != NULL)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "X-Request-ID", rid);
    MHD_add_response_header(resp, "X-Neon-Ret-Request-Id", rid);
    ret = MHD_queue_response(conn, (unsigned int)r.status, resp);
    MHD_destroy_response(resp);
    sb_log("%s %s -> %d (request_id %s)", method, url, r.status, rid);
    if (text != NULL)
        cJSON_free(text);
    cJSON_Delete(r.body);
    cJSON_Delete(body);
    return ret;
}

static void
on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct conn_state *cs = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (cs != NULL) {
        free(cs->data);
        free(cs);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *
sb_http_start(int port)
{
    struct sockaddr_in addr;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_ERROR_LOG,
                            (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_END);
}
