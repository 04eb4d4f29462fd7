/*
 * The training's Neon outage (pgdrill sandbox incident neon-outage) and the
 * project's settings (PATCH project).
 *
 * Outage: while the file STATE/outage holds a deadline (epoch seconds) in
 * the future, every request that needs the project's history answers 503
 * with Neon's error body: a branch created at a parent_timestamp or
 * parent_lsn, and a branch restore. Everything else (the project, branch
 * lists, a branch from its parent's head, endpoints, operations) works, as
 * during a Neon incident that takes point-in-time restore down. The file is
 * the control channel: it lies in the state directory (0700), only the
 * sandbox's own tools write it, and no route of the API reads or changes
 * it. A file that cannot be read, or a deadline passed, means no outage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pd_time.h"
#include "sandbox.h"

/* The outage's deadline from STATE/outage, or 0. */
static double
outage_until(void)
{
    char path[PATH_MAX + 16], line[64];
    FILE *f;
    double t = 0;

    (void)snprintf(path, sizeof(path), "%s/outage", sb.state_dir);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof(line), f) != NULL)
        t = strtod(line, NULL);
    (void)fclose(f);
    return t;
}

/* The request needs the project's history: a branch at a point in time, or a restore. */
static bool
history_request(const char *method, const char *pattern, const cJSON *body)
{
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(body, "branch");

    if (strcmp(method, "POST") != 0)
        return false;
    if (strcmp(pattern, "branches/{branch}/restore") == 0)
        return true;
    return strcmp(pattern, "branches") == 0 && cJSON_IsObject(jb) &&
           (cJSON_GetObjectItemCaseSensitive(jb, "parent_timestamp") != NULL ||
            cJSON_GetObjectItemCaseSensitive(jb, "parent_lsn") != NULL);
}

bool
sb_outage_refuses(const char *method, const char *pattern, const cJSON *body, struct reply *out)
{
    double until;
    char when[40];

    if (!history_request(method, pattern, body))
        return false;
    until = outage_until();
    if (until <= pd_time_wall())
        return false;
    pd_time_format(when, sizeof(when), until);
    sb_log("outage: %s %s refused with 503 (history unavailable until %s)", method, pattern, when);
    *out =
        sb_error_reply(503, "service unavailable: point-in-time branching and restore are degraded "
                            "for this region (incident in progress); please retry later");
    return true;
}

/* PATCH /projects/{id}: {"project": {"history_retention_seconds": N}}, 0..2592000. */
struct reply
sb_patch_project(const struct request *rq)
{
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(rq->body, "project");
    const cJSON *hr = cJSON_GetObjectItemCaseSensitive(jp, "history_retention_seconds");
    cJSON *res;

    if (!cJSON_IsObject(jp))
        return sb_error_reply(400, "request body must contain a project object");
    if (hr != NULL && (!cJSON_IsNumber(hr) || hr->valuedouble < 0 || hr->valuedouble > 2592000 ||
                       hr->valuedouble != (double)(long)hr->valuedouble))
        return sb_error_reply(400, "history_retention_seconds must be a whole number from 0 to "
                                   "2592000");
    if (hr != NULL && sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    if (hr != NULL) {
        sb.retention = (long)hr->valuedouble;
        sb_log("project: history retention set to %ld s", sb.retention);
    }
    res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "project", sb_json_project());
    cJSON_AddArrayToObject(res, "operations");
    return sb_ok_reply(200, res);
}
