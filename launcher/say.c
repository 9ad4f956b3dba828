/* User-facing messages on stderr (say.h has the format). */
#include "say.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsrun.h"

int tsr_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char line[SAY_LINE_MAX];
    int n = snprintf(line, sizeof line, "tsrun: %s", prefix);
    if (n < 0)
        return;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len++] = '\n';
    } else {
        line[len - 1] = '\n';
    }
    /* One write per line so concurrent tsruns do not interleave. */
    ssize_t w = write(2, line, len);
    (void)w;
}

void tsr_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void tsr_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void tsr_debug(const char *fmt, ...)
{
    if (!tsr_verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("debug: ", fmt, ap);
    va_end(ap);
}

void tsr_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void say_line(const char *line)
{
    fprintf(stderr, "%s\n", line);
}

void say_log_tail(const char *path, int n)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tsr_read_file(path, &text, &len);
    if (rc < 0 || len == 0) {
        if (rc < 0)
            fprintf(stderr, "tsrun: cannot read %s: %s\n", path, strerror(-rc));
        else
            fprintf(stderr, "tsrun: %s is empty (no output at all)\n", path);
        free(text);
        return;
    }
    size_t i = len;
    if (i && text[i - 1] == '\n')
        i--;
    int lines = 0;
    while (i > 0 && lines < n) {
        i--;
        if (text[i] == '\n')
            lines++;
    }
    if (text[i] == '\n')
        i++;
    fprintf(stderr, "tsrun: last lines of %s:\n", path);
    for (char *p = text + i; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        fprintf(stderr, "    %s\n", p);
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
}

void say_progress(const char *what, long long start_ms)
{
    if (!isatty(2))
        return;
    fprintf(stderr, "\rtsrun: %s (%llds) ", what, (tsr_now_ms() - start_ms) / 1000);
}

void say_progress_done(bool shown)
{
    if (shown && isatty(2))
        fprintf(stderr, "\r\033[K");
}

void say_stamp(const char *msg)
{
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s tsrun[%ld]: %s\n", when, (long)getpid(), msg);
}
