/* SQL against a branch's cluster: its databases, its roles and its connection URI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "sandbox.h"
#include "worker.h"

static PGresult *
branch_query(const struct branch *b, const char *sql, char *err, size_t errsz)
{
    struct sb_cluster_meta m;
    char conninfo[PATH_MAX + 400];
    PGconn *c;
    PGresult *r;
    const char *dir = b->is_primary ? sb.primary : b->data;

    if (sb_cluster_meta_read(&m, dir, err, errsz) != 0)
        return NULL;
    snprintf(conninfo, sizeof(conninfo),
             "host='%.4000s' port=%d user='%.60s' dbname=postgres connect_timeout=5", dir,
             b->is_primary ? m.port : b->port, m.role);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errsz, "cannot connect to the compute of branch %s", b->id);
        PQfinish(c);
        return NULL;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errsz, "query on branch %s failed", b->id);
        PQclear(r);
        r = NULL;
    }
    PQfinish(c);
    return r;
}

cJSON *
sb_json_databases(const struct branch *b, char *err, size_t errsz)
{
    PGresult *r = branch_query(b,
                               "SELECT oid, datname, pg_get_userbyid(datdba) FROM pg_database "
                               "WHERE datallowconn AND NOT datistemplate ORDER BY oid",
                               err, errsz);
    cJSON *arr;

    if (r == NULL)
        return NULL;
    arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "id", strtod(PQgetvalue(r, i, 0), NULL));
        sb_jset_str(o, "branch_id", b->id);
        sb_jset_str(o, "name", PQgetvalue(r, i, 1));
        sb_jset_str(o, "owner_name", PQgetvalue(r, i, 2));
        sb_jset_str(o, "created_at", b->created_at);
        sb_jset_str(o, "updated_at", b->updated_at);
        cJSON_AddItemToArray(arr, o);
    }
    PQclear(r);
    return arr;
}

cJSON *
sb_json_roles(const struct branch *b, char *err, size_t errsz)
{
    PGresult *r = branch_query(
        b, "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname !~ '^pg_' ORDER BY oid", err,
        errsz);
    cJSON *arr;

    if (r == NULL)
        return NULL;
    arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();

        sb_jset_str(o, "branch_id", b->id);
        sb_jset_str(o, "name", PQgetvalue(r, i, 0));
        cJSON_AddBoolToObject(o, "protected", 0);
        sb_jset_str(o, "authentication_method", "password");
        sb_jset_str(o, "created_at", b->created_at);
        sb_jset_str(o, "updated_at", b->updated_at);
        cJSON_AddItemToArray(arr, o);
    }
    PQclear(r);
    return arr;
}

char *
sb_conn_uri(const struct branch *b, const char *db, const char *role)
{
    struct sb_cluster_meta m;
    char err[256], uri[1024];

    if (sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) != 0)
        return NULL;
    snprintf(uri, sizeof(uri), "postgresql://%s:%s@127.0.0.1:%d/%s", role, m.password,
             sb_branch_port(b), db);
    return strdup(uri);
}
