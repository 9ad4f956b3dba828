/* `tsrun status`: state, mode, addresses, peers and the name map's age,
 * on stdout, as text or (json) one JSON object; starts nothing. */
#ifndef TSRUN_REPORT_H
#define TSRUN_REPORT_H

#include <stdbool.h>

#include "daemon.h"

/* d as setup_daemon() left it (d->st is freed before returning). 0 when
 * Running, TSR_EXIT_FAIL when not, TSR_EXIT_DAEMON when something answers
 * but not with a status, TSR_EXIT_INTERNAL when the JSON cannot be made. */
int report_status(struct daemon *d, bool json);

#endif
