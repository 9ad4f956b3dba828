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

/* What `tailscale up --hostname=X` accepts: tailscale's
 * util/dnsname.ValidHostname (ToFQDN, then ValidLabel on every label). */
static const struct {
    const char *in;
    const char *why; /* NULL: accepted; else a piece of the rule named */
} rules[] = {
    {"sandbox-1", NULL},
    {"SANDBOX", NULL},         /* capitals pass unchanged */
    {"a", NULL},               /* one character */
    {"123", NULL},             /* digits only */
    {"box.example.com", NULL}, /* dotted names are accepted, not cut */
    {"box.", NULL},            /* one trailing dot dropped */
    {".box", NULL},            /* one leading dot dropped */
    {"a-b.c-d", NULL},
    {"-box", "label \"-box\" must start with a letter or a digit"},
    {"box-", "label \"box-\" must end with a letter or a digit"},
    {"box.-x", "label \"-x\" must start"},
    {"my_box", "label \"my_box\" may hold only letters, digits and '-'"},
    {"my box", "may hold only"},
    {"b\xc3\xbcro", "may hold only"}, /* non-ASCII */
    {"_", "must start"},
    {".", "no label"},
    {"..", "no label"},
    {"a..b", "two dots in a row"},
    {"..box", "two dots in a row"},
    {"box..", "ends in two dots"},
};

Test(hostname, cli_rules)
{
    char why[256];
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        why[0] = '\0';
        int rc = hostname_check(rules[i].in, why, sizeof why);
        if (!rules[i].why) {
            cr_assert_eq(rc, 0, "\"%s\" refused: %s", rules[i].in, why);
        } else {
            cr_assert_eq(rc, -EINVAL, "\"%s\" accepted", rules[i].in);
            cr_assert(strstr(why, rules[i].why), "\"%s\": \"%s\" lacks \"%s\"", rules[i].in, why,
                      rules[i].why);
        }
    }
}

Test(hostname, cli_lengths)
{
    char in[400], why[256];
    memset(in, 'a', 63);
    in[63] = '\0';
    cr_assert_eq(hostname_check(in, why, sizeof why), 0, "63 is a label's limit");
    strcpy(in + 63, "a");
    cr_assert_eq(hostname_check(in, why, sizeof why), -EINVAL);
    cr_assert(strstr(why, "longer than 63 characters"), "%s", why);
    strcat(in, ".b"); /* a long label before a dot (ToFQDN's check) */
    cr_assert_eq(hostname_check(in, why, sizeof why), -EINVAL);
    cr_assert(strstr(why, "longer than 63 characters"), "%s", why);
    /* 253 characters of name (four labels), with or without a trailing dot. */
    memset(in, 'a', 253);
    in[63] = in[127] = in[191] = '.';
    in[253] = '\0';
    cr_assert_eq(hostname_check(in, why, sizeof why), 0, "%s", why);
    strcat(in, ".");
    cr_assert_eq(hostname_check(in, why, sizeof why), 0, "%s", why);
    in[253] = 'a';
    in[254] = '\0';
    cr_assert_eq(hostname_check(in, why, sizeof why), -EINVAL);
    cr_assert(strstr(why, "longer than 253 characters"), "%s", why);
}

Test(hostname, pick_checks_ts_hostname)
{
    char out[HOSTNAME_NAME_MAX + 2], why[256];
    setenv("TS_HOSTNAME", "CI-Runner-7.example.com", 1);
    cr_assert_eq(hostname_pick(out, sizeof out, why, sizeof why), 0);
    cr_assert_str_eq(out, "CI-Runner-7.example.com", "passed on unchanged");
    setenv("TS_HOSTNAME", "CI Runner #7", 1);
    cr_assert_eq(hostname_pick(out, sizeof out, why, sizeof why), -EINVAL, "refused, not cut");
    cr_assert(strstr(why, "may hold only"), "%s", why);
    unsetenv("TS_HOSTNAME");
    cr_assert_eq(hostname_pick(out, sizeof out, why, sizeof why), 0);
    cr_assert_gt(strlen(out), 0);
    cr_assert_eq(hostname_check(out, why, sizeof why), 0, "the machine's name, sanitised");
    cr_assert_eq(hostname_pick(out, 64, why, sizeof why), -EINVAL, "buffer too small");
}
