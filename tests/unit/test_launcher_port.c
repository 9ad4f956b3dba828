/* The SOCKS5 port: strict parsing and the fixed fallback. */
#include <criterion/criterion.h>
#include <errno.h>

#include "port.h"

Test(port, parses_plain_decimal_ports)
{
    int p = -1;
    cr_assert_eq(port_parse("1055", &p), 0);
    cr_assert_eq(p, 1055);
    cr_assert_eq(port_parse("0", &p), 0);
    cr_assert_eq(p, 0);
    cr_assert_eq(port_parse("65535", &p), 0);
    cr_assert_eq(p, 65535);
}

Test(port, rejects_what_atoi_would_take)
{
    const char *bad[] = {"",      "12x",   " 1055", "1055 ", "-1",       "+1",
                         "65536", "99999", "0x41",  "1e3",   "000001055"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int p = 7;
        cr_assert_eq(port_parse(bad[i], &p), -EINVAL, "%s", bad[i]);
        cr_assert_eq(p, 7, "untouched on error");
    }
}

Test(port, loopback_addresses_only)
{
    int p = 0;
    cr_assert_eq(port_parse_loopback_addr("127.0.0.1:1055", &p), 0);
    cr_assert_eq(p, 1055);
    cr_assert_eq(port_parse_loopback_addr("localhost:2000", &p), 0);
    cr_assert_eq(p, 2000);
    cr_assert_eq(port_parse_loopback_addr(":1055", &p), -EINVAL);
    cr_assert_eq(port_parse_loopback_addr("0.0.0.0:1055", &p), -EINVAL);
    cr_assert_eq(port_parse_loopback_addr("127.0.0.1:x", &p), -EINVAL);
    cr_assert_eq(port_parse_loopback_addr("1055", &p), -EINVAL);
}

Test(port, fallback_is_fixed_per_state_dir_and_in_range)
{
    int a = port_fallback("/home/u/.local/state/tsrun", 1000);
    cr_assert_eq(a, port_fallback("/home/u/.local/state/tsrun", 1000));
    cr_assert(a >= PORT_FALLBACK_BASE && a < PORT_FALLBACK_BASE + PORT_FALLBACK_SPAN);
    cr_assert_neq(a, port_fallback("/home/v/.local/state/tsrun", 1001));
}
