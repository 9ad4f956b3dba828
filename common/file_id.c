#include "file_id.h"

#include <string.h>

void file_id_of(const struct stat *st, struct file_id *id)
{
    memset(id, 0, sizeof *id);
    id->present = true;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtim = st->st_mtim;
}

bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
    if (a->present != b->present)
        return false;
    return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec);
}
