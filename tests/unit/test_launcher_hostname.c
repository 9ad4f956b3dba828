/* Hostname -> DNS label table. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"

static const struct {
    const char *in, *want;
} cases[] = {
    {"My_Dev Box!", "my-dev-box"},
    {"sandbox-1", "sandbox-1"},
    {"SANDBOX", "sandbox"},
    {"--a--b--", "a-b"},
    {"a___b", "a-b"},
    {"box.example.com", "box"},
    {"", "tsrun"},
    {"!!!", "tsrun"},
    {"-", "tsrun"},
    {"ünïcode-ñame", "n-code-ame"},
    {"runsc-8f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", "runsc-8f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"},
    {"123", "123"},
};

Test(hostname, table)
{
    char out[HOSTNAME_LABEL_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(hostname_sanitize(cases[i].in, out, sizeof out), 0);
        cr_assert_str_eq(out, cases[i].want, "input \"%s\"", cases[i].in);
    }
}

Test(hostname, null_is_fallback)
{
    char out[64];
    cr_assert_eq(hostname_sanitize(NULL, out, sizeof out), 0);
    cr_assert_str_eq(out, "tsrun");
}

Test(hostname, limit_63)
{
    char in[200], out[64];
    memset(in, 'a', 100);
    in[100] = '\0';
    cr_assert_eq(hostname_sanitize(in, out, sizeof out), 0);
    cr_assert_eq(strlen(out), 63);
    /* A cut that would end in '-' is trimmed. */
    memset(in, 'b', 62);
    strcpy(in + 62, "_cdef");
    cr_assert_eq(hostname_sanitize(in, out, sizeof out), 0);
    cr_assert_eq(strlen(out), 62);
    cr_assert_neq(out[61], '-');
    /* Exactly 63 stays. */
    memset(in, 'c', 63);
    in[63] = '\0';
    cr_assert_eq(hostname_sanitize(in, out, sizeof out), 0);
    cr_assert_str_eq(out, in);
}

Test(hostname, small_buffer)
{
    char out[10];
    cr_assert_eq(hostname_sanitize("x", out, sizeof out), -EINVAL);
}

Test(hostname, pick_prefers_ts_hostname)
{
    char out[64];
    setenv("TS_HOSTNAME", "CI Runner #7", 1);
    cr_assert_eq(hostname_pick(out, sizeof out), 0);
    cr_assert_str_eq(out, "ci-runner-7");
    unsetenv("TS_HOSTNAME");
    cr_assert_eq(hostname_pick(out, sizeof out), 0);
    cr_assert_gt(strlen(out), 0);
}
