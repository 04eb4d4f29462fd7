/*
 * status: is the local sandbox up? (status.h: status_sandbox_up). The answer
 * is the one `pgdrill sandbox status` gives, so there is one check, in
 * sandbox/sandbox.sh: this runs that command and reads its exit status.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_proc.h"
#include "status/status.h"

bool
status_sandbox_up(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *out = NULL;
    int st = 0;
    struct pd_err err;
    bool up;

    if (n <= 0)
        return false; /* uncovered: /proc is always there on Linux */
    self[n] = '\0';
    {
        char a_sandbox[] = "sandbox", a_status[] = "status";
        char *const argv[] = {self, a_sandbox, a_status, NULL};

        pd_err_clear(&err);
        up = pd_proc_output(&out, &st, self, argv, (size_t)64 * 1024, &err) == 0 && WIFEXITED(st) &&
             WEXITSTATUS(st) == 0;
    }
    free(out);
    return up;
}
