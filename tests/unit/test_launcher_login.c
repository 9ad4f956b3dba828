/* The auth key leaves the environment (login.h). Criterion runs each test in
 * a process of its own, so the key is read afresh in each. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "login.h"

static void read_all(int fd, char *buf, size_t len)
{
    size_t n = 0;
    ssize_t r;
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
}

Test(login, take_key_zeroes_and_drops_both_names)
{
    static char entry[] = "TS_AUTHKEY=tskey-auth-unit";
    cr_assert_eq(putenv(entry), 0); /* environ points at our bytes */
    cr_assert_eq(setenv("TS_AUTH_KEY", "tskey-auth-other", 1), 0);
    cr_assert_eq(setenv("KEEP_ME", "1", 1), 0);
    login_take_key();
    cr_assert_null(getenv("TS_AUTHKEY"));
    cr_assert_null(getenv("TS_AUTH_KEY"));
    cr_assert_str_eq(getenv("KEEP_ME"), "1", "other variables stay");
    for (size_t i = 0; i < sizeof entry - 1; i++)
        cr_assert_eq(entry[i], '\0', "byte %zu of the entry is still there", i);
    /* ... and the key is still there for `tailscale up`, in memory. */
    int fd = login_key_pipe();
    cr_assert_geq(fd, 0);
    char buf[64];
    read_all(fd, buf, sizeof buf);
    close(fd);
    cr_assert_str_eq(buf, "tskey-auth-unit\n");
}

Test(login, key_handed_over_on_a_descriptor_is_read_and_closed)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(write(p[1], "  tskey-auth-piped\n", 19), 19);
    close(p[1]);
    char v[64];
    snprintf(v, sizeof v, "file:" LOGIN_KEY_FD_PREFIX "%d", p[0]);
    cr_assert_eq(setenv("TS_AUTHKEY", v, 1), 0);
    login_take_key();
    cr_assert_null(getenv("TS_AUTHKEY"));
    cr_assert_eq(fcntl(p[0], F_GETFD), -1, "the pipe is closed once read");
    int fd = login_key_pipe();
    cr_assert_geq(fd, 0);
    char buf[64];
    read_all(fd, buf, sizeof buf);
    close(fd);
    cr_assert_str_eq(buf, "tskey-auth-piped\n");
}

Test(login, no_key_no_pipe)
{
    unsetenv("TS_AUTHKEY");
    unsetenv("TS_AUTH_KEY");
    login_take_key();
    cr_assert_lt(login_key_pipe(), 0);
}
