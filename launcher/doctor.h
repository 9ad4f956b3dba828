/* `tsrun doctor`: preflight checks, one OK/WARN/FAIL line each. */
#ifndef TSRUN_DOCTOR_H
#define TSRUN_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

/* Pure: the CapEff mask from /proc/PID/status text; -EINVAL if absent. */
int doctor_parse_capeff(const char *status_text, uint64_t *out);
/* Pure: the NoNewPrivs value, or -EINVAL. */
int doctor_parse_nonewprivs(const char *status_text);

/* Runs every check (argv: optional COMMAND). Returns 0 if nothing FAILed,
 * else TSR_EXIT_FAIL. */
int doctor_run(struct daemon *d, int argc, char **argv);

#endif
