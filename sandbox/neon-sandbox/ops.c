/* The operations ticker: scheduling, running (a worker process), then finished or failed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pd_time.h"
#include "sandbox.h"
#include "worker.h"

static void
op_set(struct op *p, const char *status, const char *error)
{
    sb_scpy(p->status, sizeof(p->status), status);
    if (error != NULL)
        sb_scpy(p->error, sizeof(p->error), error);
    sb_now_str(p->updated_at, sizeof(p->updated_at));
    if (!strcmp(status, "running"))
        p->t_started = pd_time_mono();
    if (!strcmp(status, "finished") || !strcmp(status, "failed"))
        p->t_finished = pd_time_mono();
    sb_log("operation %s (%s, branch %s): %s%s%s", p->id, p->action, p->branch_id, status,
           error ? ": " : "", error ? error : "");
}

static void
op_finished(struct op *p)
{
    struct branch *b = NULL;

    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0)
            b = &sb.br[i];
    if (b == NULL)
        return;
    if (!strcmp(p->action, "create_branch") || !strcmp(p->action, "create_timeline")) {
        snprintf(b->state, sizeof(b->state), "ready");
        sb_now_str(b->updated_at, sizeof(b->updated_at));
        if (p->preserve_branch[0]) {
            for (size_t i = 0; i < sb.nbr; i++)
                if (strcmp(sb.br[i].id, p->preserve_branch) == 0)
                    snprintf(sb.br[i].state, sizeof(sb.br[i].state), "ready");
        }
    } else if (!strcmp(p->action, "start_compute")) {
        snprintf(b->ep_state, sizeof(b->ep_state), "active");
    } else if (!strcmp(p->action, "delete_timeline")) {
        size_t idx = (size_t)(b - sb.br);

        memmove(&sb.br[idx], &sb.br[idx + 1], (sb.nbr - idx - 1) * sizeof(sb.br[0]));
        sb.nbr--;
    }
}

static void
op_spawn(struct op *p)
{
    struct branch *b = NULL;
    char port[16], pport[16], errfile[PATH_MAX + 64];
    const char *argv[32];
    size_t n = 0;

    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0)
            b = &sb.br[i];
    if (b == NULL) {
        op_set(p, "failed", "branch vanished");
        return;
    }
    snprintf(port, sizeof(port), "%d", b->port);
    snprintf(errfile, sizeof(errfile), "%s/ops/%s.err", sb.state_dir, p->id);
    argv[n++] = sb.self;
    argv[n++] = "--worker";
    argv[n++] = (p->kind == OPK_PITR ? "pitr" : "delete");
    argv[n++] = "--pg-cluster";
    argv[n++] = sb.pg_cluster;
    argv[n++] = "--data";
    argv[n++] = b->data;
    argv[n++] = "--errfile";
    argv[n++] = errfile;
    if (p->kind == OPK_PITR) {
        argv[n++] = "--primary";
        argv[n++] = sb.primary;
        argv[n++] = "--base";
        argv[n++] = sb.base;
        argv[n++] = "--port";
        argv[n++] = port;
        if (p->target_time[0]) {
            argv[n++] = "--target-time";
            argv[n++] = p->target_time;
        } else if (p->target_lsn[0]) {
            argv[n++] = "--target-lsn";
            argv[n++] = p->target_lsn;
        }
        if (p->replace)
            argv[n++] = b->is_primary ? "--primary-in-place" : "--replace";
        if (p->preserve_to[0]) {
            struct branch *pb = NULL;

            for (size_t i = 0; i < sb.nbr; i++)
                if (strcmp(sb.br[i].id, p->preserve_branch) == 0)
                    pb = &sb.br[i];
            snprintf(pport, sizeof(pport), "%d", pb ? pb->port : 0);
            argv[n++] = "--preserve-to";
            argv[n++] = p->preserve_to;
            argv[n++] = "--preserve-port";
            argv[n++] = pport;
        }
    }
    argv[n] = NULL;
    unlink(errfile);
    p->pid = sb_worker_spawn(sb.self, argv);
    if (p->pid < 0)
        op_set(p, "failed", "cannot start the worker process");
    else
        op_set(p, "running", NULL);
}

static void
op_reap(struct op *p)
{
    char errfile[PATH_MAX + 64], msg[512] = "";
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    FILE *f;

    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        op_set(p, "finished", NULL);
        op_finished(p);
        return;
    }
    snprintf(errfile, sizeof(errfile), "%s/ops/%s.err", sb.state_dir, p->id);
    f = fopen(errfile, "r");
    if (f != NULL) {
        if (fgets(msg, sizeof(msg), f) != NULL)
            msg[strcspn(msg, "\n")] = '\0';
        (void)fclose(f); // read only
    }
    op_set(p, "failed", msg[0] ? msg : "the worker process failed");
    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0 && strcmp(p->action, "delete_timeline") != 0)
            snprintf(sb.br[i].state, sizeof(sb.br[i].state), "error");
}

void
sb_ops_tick(void)
{
    double now = pd_time_mono();
    int changed = 0;

    for (size_t i = 0; i < sb.nops; i++) {
        struct op *p = &sb.ops[i];

        if (!strcmp(p->status, "scheduling")) {
            if (p->dep >= 0) {
                const char *ds = sb.ops[p->dep].status;

                if (!strcmp(ds, "failed") || !strcmp(ds, "error") || !strcmp(ds, "cancelled")) {
                    op_set(p, "failed", "a preceding operation failed");
                    changed = 1;
                    continue;
                }
                if (strcmp(ds, "finished") != 0)
                    continue;
            }
            if (now - p->t_created < 0.1)
                continue;
            if (p->kind == OPK_SIMPLE)
                op_set(p, "running", NULL);
            else
                op_spawn(p);
            changed = 1;
        } else if (!strcmp(p->status, "running")) {
            if (p->kind == OPK_SIMPLE) {
                if (now - p->t_started >= 0.2) {
                    op_set(p, "finished", NULL);
                    op_finished(p);
                    changed = 1;
                }
            } else {
                op_reap(p);
                changed |= strcmp(p->status, "running") != 0;
            }
        }
    }
    if (changed)
        sb_state_save();
}

void
sb_expire_tick(void)
{
    double now = pd_time_wall(), t;

    for (size_t i = 0; i < sb.nbr; i++) {
        struct branch *b = &sb.br[i];

        if (b->deleted || b->expires_at[0] == '\0' || b->is_default || b->is_primary ||
            pd_time_parse_rfc3339(&t, b->expires_at, 0) != 0 || t > now ||
            sb_branch_has_children(b->id) || sb_project_busy())
            continue;
        sb_log("branch %s (%s) expired at %s: deleting it", b->id, b->name, b->expires_at);
        sb_branch_remove(b);
        sb_state_save();
    }
}

void *
sb_ticker(void *arg)
{
    (void)arg;
    while (!sb_stopping) {
        struct timespec ts = {0, 50 * 1000000L};

        pthread_mutex_lock(&sb_lock);
        sb_ops_tick();
        sb_expire_tick();
        pthread_mutex_unlock(&sb_lock);
        nanosleep(&ts, NULL);
    }
    return NULL;
}
