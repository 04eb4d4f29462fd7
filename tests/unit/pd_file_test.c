/* Tests for core/pd_file.c: whole writes, atomic replace, whole reads, mkdir -p. */
#include "pd_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"

static int
setup(void **state)
{
    char tmpl[] = "/tmp/pd_file_test.XXXXXX";

    if (mkdtemp(tmpl) == NULL)
        return -1;
    *state = pd_xstrdup(tmpl);
    return 0;
}

static int
teardown(void **state)
{
    char *cmd = pd_xasprintf("rm -rf '%s'", (char *)*state);
    int rc = system(cmd);

    free(cmd);
    free(*state);
    return rc == 0 ? 0 : -1;
}

/* Entries of dir other than . and .. */
static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void
test_write_all(void **state)
{
    struct pd_err err = {0};
    char *path = pd_xasprintf("%s/all", (char *)*state);
    size_t len = 1 << 20;
    char *data = pd_xmalloc(len), *back = NULL;
    size_t got = 0;
    int fd;

    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(pd_write_all(fd, data, len, path, &err), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(pd_read_file(&back, &got, path, len, &err), 0);
    assert_int_equal(got, len);
    assert_memory_equal(back, data, len);
    free(back);

    fd = open("/dev/full", O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pd_write_all(fd, "x", 1, "/dev/full", &err), PD_EIO);
    assert_string_equal(err.msg, "/dev/full: write: No space left on device");
    assert_int_equal(pd_write_all(fd, "x", 1, NULL, &err), PD_EIO);
    assert_non_null(strstr(err.msg, ": write: "));
    close(fd);
    free(data);
    free(path);
}

static void
test_write_atomic(void **state)
{
    const char *dir = *state;
    struct pd_err err = {0};
    char *path = pd_xasprintf("%s/report.json", dir), *back = NULL, *bad;
    struct stat st;

    assert_int_equal(pd_write_atomic(path, "old", 3, 0600, &err), 0);
    assert_int_equal(pd_write_atomic(path, "new text", 8, 0600, &err), 0);
    assert_int_equal(pd_read_file(&back, NULL, path, 100, &err), 0);
    assert_string_equal(back, "new text");
    free(back);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 1); // no temporary file left

    // rename over a folder fails: the temporary file goes too
    bad = pd_xasprintf("%s/sub", dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    assert_int_equal(pd_write_atomic(bad, "x", 1, 0600, &err), PD_EIO);
    assert_non_null(strstr(err.msg, ": rename: "));
    assert_int_equal(count_entries(dir), 2);
    free(bad);

    bad = pd_xasprintf("%s/missing/file", dir);
    assert_int_equal(pd_write_atomic(bad, "x", 1, 0600, &err), PD_EIO);
    assert_non_null(strstr(err.msg, ": create temporary file: "));
    free(bad);
    free(path);
}

static void
test_read_file(void **state)
{
    struct pd_err err = {0};
    char *path = pd_xasprintf("%s/r", (char *)*state), *missing, *back = NULL;
    size_t len = 99;

    assert_int_equal(pd_write_atomic(path, "", 0, 0600, &err), 0);
    assert_int_equal(pd_read_file(&back, &len, path, 10, &err), 0);
    assert_string_equal(back, "");
    assert_int_equal(len, 0);
    free(back);

    assert_int_equal(pd_write_atomic(path, "0123456789A", 11, 0600, &err), 0);
    back = NULL;
    assert_int_equal(pd_read_file(&back, NULL, path, 10, &err), PD_EINPUT);
    assert_null(back);
    assert_non_null(strstr(err.msg, ": larger than 10 bytes"));

    missing = pd_xasprintf("%s/none", (char *)*state);
    assert_int_equal(pd_read_file(&back, NULL, missing, 10, &err), PD_ENOENT);
    assert_null(back);
    free(missing);
    free(path);
}

static void
test_mkdir_p(void **state)
{
    struct pd_err err = {0};
    char *deep = pd_xasprintf("%s/a/b/c", (char *)*state), *file, *under;
    struct stat st;

    assert_int_equal(pd_mkdir_p(deep, 0700, &err), 0);
    assert_int_equal(pd_mkdir_p(deep, 0700, &err), 0); // exists: fine
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0077, 0);
    assert_int_equal(pd_fsync_dir(deep, &err), 0);

    file = pd_xasprintf("%s/plain", (char *)*state);
    assert_int_equal(pd_write_atomic(file, "x", 1, 0600, &err), 0);
    under = pd_xasprintf("%s/below", file);
    assert_int_equal(pd_mkdir_p(under, 0700, &err), PD_EIO);
    assert_non_null(strstr(err.msg, "mkdir "));
    assert_int_equal(pd_fsync_dir(file, &err), PD_EIO);
    free(under);
    free(file);
    free(deep);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
