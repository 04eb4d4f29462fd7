/* JSON rendering: branches, endpoints, operations and the project as Neon shows them; replies. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pd_time.h"
#include "sandbox.h"

cJSON *
sb_json_branch(const struct branch *b)
{
    cJSON *o = cJSON_CreateObject();

    sb_jset_str(o, "id", b->id);
    sb_jset_str(o, "project_id", sb.project_id);
    if (b->parent_id[0])
        sb_jset_str(o, "parent_id", b->parent_id);
    if (b->parent_lsn[0])
        sb_jset_str(o, "parent_lsn", b->parent_lsn);
    if (b->parent_ts[0])
        sb_jset_str(o, "parent_timestamp", b->parent_ts);
    sb_jset_str(o, "name", b->name);
    sb_jset_str(o, "current_state", b->state);
    sb_jset_str(o, "state_changed_at", b->updated_at);
    cJSON_AddNumberToObject(o, "logical_size", 0);
    sb_jset_str(o, "creation_source", "console");
    cJSON_AddBoolToObject(o, "primary", b->is_default);
    cJSON_AddBoolToObject(o, "default", b->is_default);
    cJSON_AddBoolToObject(o, "protected", b->is_protected);
    cJSON_AddNumberToObject(o, "cpu_used_sec", 0);
    cJSON_AddNumberToObject(o, "compute_time_seconds", 0);
    cJSON_AddNumberToObject(o, "active_time_seconds", 0);
    cJSON_AddNumberToObject(o, "written_data_bytes", 0);
    cJSON_AddNumberToObject(o, "data_transfer_bytes", 0);
    sb_jset_str(o, "created_at", b->created_at);
    sb_jset_str(o, "updated_at", b->updated_at);
    if (b->last_reset_at[0])
        sb_jset_str(o, "last_reset_at", b->last_reset_at);
    if (b->expires_at[0])
        sb_jset_str(o, "expires_at", b->expires_at);
    sb_jset_str(o, "init_source", "parent-data");
    return o;
}

cJSON *
sb_json_endpoint(const struct branch *b)
{
    cJSON *o = cJSON_CreateObject();

    sb_jset_str(o, "host", "127.0.0.1");
    sb_jset_str(o, "id", b->ep_id);
    sb_jset_str(o, "project_id", sb.project_id);
    sb_jset_str(o, "branch_id", b->id);
    cJSON_AddNumberToObject(o, "autoscaling_limit_min_cu", 0.25);
    cJSON_AddNumberToObject(o, "autoscaling_limit_max_cu", 0.25);
    sb_jset_str(o, "region_id", "local-sandbox");
    sb_jset_str(o, "type", "read_write");
    sb_jset_str(o, "current_state", b->ep_state);
    cJSON_AddObjectToObject(o, "settings");
    cJSON_AddBoolToObject(o, "pooler_enabled", 0);
    sb_jset_str(o, "pooler_mode", "transaction");
    cJSON_AddBoolToObject(o, "disabled", 0);
    cJSON_AddBoolToObject(o, "passwordless_access", 0);
    sb_jset_str(o, "creation_source", "console");
    sb_jset_str(o, "created_at", b->ep_created);
    sb_jset_str(o, "updated_at", b->updated_at);
    sb_jset_str(o, "proxy_host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "suspend_timeout_seconds", 0);
    sb_jset_str(o, "provisioner", "k8s-neonvm");
    return o;
}

cJSON *
sb_json_op(const struct op *p)
{
    cJSON *o = cJSON_CreateObject();
    double end = p->t_finished > 0 ? p->t_finished : pd_time_mono();

    sb_jset_str(o, "id", p->id);
    sb_jset_str(o, "project_id", sb.project_id);
    if (p->branch_id[0])
        sb_jset_str(o, "branch_id", p->branch_id);
    if (p->endpoint_id[0])
        sb_jset_str(o, "endpoint_id", p->endpoint_id);
    sb_jset_str(o, "action", p->action);
    sb_jset_str(o, "status", p->status);
    if (p->error[0])
        sb_jset_str(o, "error", p->error);
    cJSON_AddNumberToObject(o, "failures_count", !strcmp(p->status, "failed") ? 1 : 0);
    sb_jset_str(o, "created_at", p->created_at);
    sb_jset_str(o, "updated_at", p->updated_at);
    cJSON_AddNumberToObject(o, "total_duration_ms", (double)(long)((end - p->t_created) * 1000.0));
    return o;
}

cJSON *
sb_json_project(void)
{
    cJSON *o = cJSON_CreateObject();
    char now[40];

    sb_now_str(now, sizeof(now));
    sb_jset_str(o, "id", sb.project_id);
    sb_jset_str(o, "platform_id", "local");
    sb_jset_str(o, "region_id", "local-sandbox");
    sb_jset_str(o, "name", sb.project_id);
    sb_jset_str(o, "provisioner", "k8s-neonvm");
    cJSON_AddObjectToObject(o, "settings");
    cJSON_AddNumberToObject(o, "pg_version", 15);
    sb_jset_str(o, "proxy_host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "branch_logical_size_limit", 0);
    cJSON_AddNumberToObject(o, "branch_logical_size_limit_bytes", 0);
    cJSON_AddBoolToObject(o, "store_passwords", 1);
    sb_jset_str(o, "creation_source", "console");
    cJSON_AddNumberToObject(o, "history_retention_seconds", (double)sb.retention);
    sb_jset_str(o, "created_at", sb.created_at);
    sb_jset_str(o, "updated_at", sb.created_at);
    sb_jset_str(o, "consumption_period_start", sb.created_at);
    sb_jset_str(o, "consumption_period_end", now);
    cJSON_AddNumberToObject(o, "active_time_seconds", 0);
    cJSON_AddNumberToObject(o, "compute_time_seconds", 0);
    cJSON_AddNumberToObject(o, "written_data_bytes", 0);
    cJSON_AddNumberToObject(o, "data_transfer_bytes", 0);
    cJSON_AddNumberToObject(o, "data_storage_bytes_hour", 0);
    cJSON_AddNumberToObject(o, "cpu_used_sec", 0);
    sb_jset_str(o, "owner_id", "sandbox-owner");
    return o;
}

struct reply
sb_error_reply(int status, const char *fmt, ...)
{
    struct reply r = {status, cJSON_CreateObject()};
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sb_jset_str(r.body, "code", "");
    sb_jset_str(r.body, "message", msg);
    return r;
}

struct reply
sb_ok_reply(int status, cJSON *body)
{
    struct reply r = {status, body};

    return r;
}
