/* `up --tun`: the word, and the kernel-or-userspace decision. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tun.h"

Test(tun, parse)
{
    enum tun_want w;
    cr_assert_eq(tun_parse("userspace", &w), 0);
    cr_assert_eq(w, TUN_USERSPACE);
    cr_assert_eq(tun_parse("kernel", &w), 0);
    cr_assert_eq(w, TUN_KERNEL);
    cr_assert_eq(tun_parse("auto", &w), 0);
    cr_assert_eq(w, TUN_AUTO);
    cr_assert_eq(tun_parse("tun", &w), -EINVAL);
    cr_assert_eq(tun_parse("", &w), -EINVAL);
    cr_assert_eq(tun_parse(NULL, &w), -EINVAL);
}

static const struct {
    enum tun_want want;
    int dev_err;
    bool cap;
    int rc;
    bool kernel;
    const char *why;
} cases[] = {
    {TUN_USERSPACE, ENOENT, false, 0, false, "userspace networking asked for"},
    {TUN_USERSPACE, 0, true, 0, false, "userspace networking asked for"},
    {TUN_KERNEL, 0, true, 0, true, "/dev/net/tun and CAP_NET_ADMIN are both here"},
    {TUN_KERNEL, ENOENT, true, -EPERM, false,
     "/dev/net/tun cannot be opened (No such file or directory)"},
    {TUN_KERNEL, 0, false, -EPERM, false, "no CAP_NET_ADMIN (tailscaled cannot create tailscale0)"},
    {TUN_KERNEL, EACCES, false, -EPERM, false,
     "/dev/net/tun cannot be opened (Permission denied) and there is no CAP_NET_ADMIN"},
    {TUN_AUTO, 0, true, 0, true, "/dev/net/tun and CAP_NET_ADMIN are both here"},
    {TUN_AUTO, ENOENT, true, 0, false, "/dev/net/tun cannot be opened (No such file or directory)"},
    {TUN_AUTO, 0, false, 0, false, "no CAP_NET_ADMIN (tailscaled cannot create tailscale0)"},
};

Test(tun, decide)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char why[256] = "";
        bool kernel = !cases[i].kernel;
        int rc = tun_decide(cases[i].want, "/dev/net/tun", cases[i].dev_err, cases[i].cap, &kernel,
                            why, sizeof why);
        cr_assert_eq(rc, cases[i].rc, "case %zu", i);
        cr_assert_eq(kernel, cases[i].kernel, "case %zu", i);
        cr_assert_str_eq(why, cases[i].why, "case %zu", i);
    }
}
