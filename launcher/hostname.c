/* Hostnames: TS_HOSTNAME is checked with the real CLI's rules (refused, not
 * rewritten: the user named it); the machine's own name ("My_Dev Box!",
 * 80-char pod names) is made into a valid DNS label. */
#include "hostname.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hostname_sanitize(const char *in, char *out, size_t outlen)
{
    if (!out || outlen < HOSTNAME_LABEL_MAX + 1)
        return -EINVAL;
    size_t n = 0;
    bool dash = false;
    for (const char *p = in ? in : ""; *p && *p != '.'; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < HOSTNAME_LABEL_MAX)
                out[n++] = '-';
            dash = false;
            if (n < HOSTNAME_LABEL_MAX)
                out[n++] = c;
        } else {
            dash = true;
        }
        if (n >= HOSTNAME_LABEL_MAX)
            break;
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0)
        strcpy(out, HOSTNAME_FALLBACK);
    return 0;
}

/* why = `label "L" RULE` (no label when l is NULL); -EINVAL. */
static int refuse(char *why, size_t whylen, const char *l, size_t n, const char *rule)
{
    if (why && whylen) {
        if (l)
            snprintf(why, whylen, "label \"%.*s\" %s", (int)n, l, rule);
        else
            snprintf(why, whylen, "%s", rule);
    }
    return -EINVAL;
}

#define RULE_LONG_LABEL "is longer than 63 characters (the limit of a DNS label)"

/* IMPORTANT: the same checks in the same order as dnsname.ToFQDN then
 * dnsname.ValidLabel, so the rule named is the one the CLI would name. */
int hostname_check(const char *name, char *why, size_t whylen)
{
    const char *s = name ? name : "";
    size_t len = strlen(s);
    if (len > 0 && s[0] == '.') {
        s++;
        len--;
    }
    size_t total = len;
    if (len > 0 && s[len - 1] == '.')
        len--;
    else
        total++;
    if (len == 0)
        return refuse(why, whylen, NULL, 0, "it has no label (empty, or only dots)");
    if (total > HOSTNAME_NAME_MAX + 1)
        return refuse(why, whylen, NULL, 0,
                      "it is longer than 253 characters (the limit of a DNS name)");
    /* ToFQDN: every label before a dot is 1..63 bytes. */
    for (size_t st = 0, i = 0; i < len; i++) {
        if (s[i] != '.')
            continue;
        if (i == st)
            return refuse(why, whylen, NULL, 0, "it has an empty label (two dots in a row)");
        if (i - st > HOSTNAME_LABEL_MAX)
            return refuse(why, whylen, s + st, i - st, RULE_LONG_LABEL);
        st = i + 1;
    }
    /* ValidLabel on each label. */
    for (size_t st = 0; st <= len;) {
        size_t n = 0;
        while (st + n < len && s[st + n] != '.')
            n++;
        const char *l = s + st;
        if (n == 0)
            return refuse(why, whylen, NULL, 0, "it has an empty label (it ends in two dots)");
        if (n > HOSTNAME_LABEL_MAX)
            return refuse(why, whylen, l, n, RULE_LONG_LABEL);
        if (!is_alnum(l[0]))
            return refuse(why, whylen, l, n, "must start with a letter or a digit");
        if (!is_alnum(l[n - 1]))
            return refuse(why, whylen, l, n, "must end with a letter or a digit");
        for (size_t i = 1; i + 1 < n; i++)
            if (!is_alnum(l[i]) && l[i] != '-')
                return refuse(why, whylen, l, n,
                              "may hold only letters, digits and '-' (ASCII; no '_' or spaces)");
        st += n + 1;
    }
    return 0;
}

int hostname_pick(char *out, size_t outlen, char *why, size_t whylen)
{
    const char *env = getenv("TS_HOSTNAME");
    char buf[256] = "";
    if (!out || outlen < HOSTNAME_NAME_MAX + 2)
        return -EINVAL;
    if (env && *env) {
        if (hostname_check(env, why, whylen) < 0)
            return -EINVAL;
        snprintf(out, outlen, "%s", env); /* fits: checked above */
        return 0;
    }
    if (gethostname(buf, sizeof buf - 1) < 0)
        buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    return hostname_sanitize(buf, out, outlen);
}
