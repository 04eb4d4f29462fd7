/* Project handlers: the project itself and its operations. */
#include <string.h>

#include <cjson/cJSON.h>

#include "sandbox.h"

struct reply
sb_get_project(const struct request *rq)
{
    cJSON *res = cJSON_CreateObject();

    (void)rq;
    cJSON_AddItemToObject(res, "project", sb_json_project());
    return sb_ok_reply(200, res);
}

struct reply
sb_list_operations(const struct request *rq)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "operations");

    (void)rq;
    for (size_t i = sb.nops; i-- > 0;)
        cJSON_AddItemToArray(arr, sb_json_op(&sb.ops[i]));
    // Pagination requires a non-empty cursor: the oldest operation listed
    if (sb.nops > 0)
        sb_jset_str(cJSON_AddObjectToObject(res, "pagination"), "cursor", sb.ops[0].created_at);
    return sb_ok_reply(200, res);
}

struct reply
sb_get_operation(const struct request *rq)
{
    for (size_t i = 0; i < sb.nops; i++) {
        if (strcmp(sb.ops[i].id, rq->id) == 0) {
            cJSON *res = cJSON_CreateObject();

            cJSON_AddItemToObject(res, "operation", sb_json_op(&sb.ops[i]));
            return sb_ok_reply(200, res);
        }
    }
    return sb_error_reply(404, "operation %s not found", rq->id);
}

struct reply
sb_operation_path_not_found(const struct request *rq)
{
    (void)rq;
    // a path below an operation names none: the message has always left the id empty
    return sb_error_reply(404, "operation %s not found", "");
}
