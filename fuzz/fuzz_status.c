/* Fuzzes the launcher's LocalAPI status reader (status_parse) and the
 * helpers tsrun runs over its result. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsr_status st;
    char err[256];
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (status_parse(buf, size, &st, err, sizeof err) == 0) {
        if (st.backend_state == NULL || st.self.nips > STATUS_MAX_IPS)
            abort();
        for (size_t i = 0; i < st.npeers; i++)
            if (st.peers[i].nips > STATUS_MAX_IPS || st.peers[i].dns_name == NULL)
                abort();
        free(status_routes(&st));
        (void)status_state_name((long)size - 3);
    } else if (err[0] == '\0') {
        abort();
    }
    status_free(&st);
    free(buf);
    return 0;
}
