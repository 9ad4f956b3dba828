/* See mapview.h. */
#include "mapview.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_id.h"
#include "namemap.h"
#include "tsrun.h"

struct mapview_ref {
    unsigned refs; /* the current slot's one, plus one per holder */
    bool anon;     /* malloc'd image (status) rather than a mapping */
    void *mem;
    size_t len;
    struct nm_view view;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapview_ref *cur; /* NULL: no map */
static char *path;              /* NULL: a fixed image (or no source) */
static struct file_id cur_id;

static void ref_drop(struct mapview_ref *r) /* under lock */
{
    if (r == NULL || --r->refs > 0)
        return;
    if (r->anon)
        free(r->mem);
    else
        munmap(r->mem, r->len);
    free(r);
}

static void set_cur(struct mapview_ref *r) /* under lock; r's one ref moves in */
{
    ref_drop(cur);
    cur = r;
}

/* Maps path: a ref (refs 1) and *id, or NULL (absent or unusable; *id
 * says what was seen). IMPORTANT: the writer replaces the file by
 * rename(), never in place (a read past a truncated end is SIGBUS). */
static struct mapview_ref *map_file(const char *p, struct file_id *id)
{
    struct stat st;
    const char *why = "";
    memset(id, 0, sizeof *id);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct mapview_ref *r = NULL;
    if (fstat(fd, &st) < 0)
        goto out;
    file_id_of(&st, id);
    if (!S_ISREG(st.st_mode) || st.st_size < NM_HEADER_SIZE || st.st_size > (off_t)NM_MAX_FILE)
        goto out;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto out;
    r->len = (size_t)st.st_size;
    r->mem = mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (r->mem == MAP_FAILED || nm_open(r->mem, r->len, &r->view, &why) < 0) {
        if (r->mem != MAP_FAILED)
            munmap(r->mem, r->len);
        tsr_debug("names: %s: %s; no tailnet names from it", p, why[0] ? why : "cannot map");
        free(r);
        r = NULL;
        goto out;
    }
    r->refs = 1;
    tsr_debug("names: mapped %s: %u nodes, backend %s", p, r->view.nodes,
              r->view.backend[0] ? r->view.backend : "(not recorded)");
out:
    close(fd);
    return r;
}

/* Under lock: the current map reflects the file. */
static void refresh(void)
{
    if (path == NULL)
        return;
    struct stat st;
    struct file_id id = {0};
    if (stat(path, &st) == 0)
        file_id_of(&st, &id);
    if (file_id_eq(&id, &cur_id))
        return;
    set_cur(map_file(path, &cur_id));
}

int mapview_open_file(const char *p)
{
    if (p == NULL || *p == '\0')
        return -EINVAL;
    char *copy = strdup(p);
    if (copy == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&lock);
    free(path);
    path = copy;
    set_cur(map_file(path, &cur_id));
    pthread_mutex_unlock(&lock);
    return 0;
}

/* From now on lookups see r (a fixed image, or NULL: no names), not a file. */
static void use_fixed(struct mapview_ref *r)
{
    pthread_mutex_lock(&lock);
    free(path);
    path = NULL;
    memset(&cur_id, 0, sizeof cur_id);
    set_cur(r);
    pthread_mutex_unlock(&lock);
}

int mapview_open_status(const struct tsr_status *st)
{
    struct mapview_ref *r = calloc(1, sizeof *r);
    char *img = NULL;
    size_t len = 0;
    const char *why = "";
    if (r == NULL)
        return -ENOMEM;
    /* Without the backend state: a snapshot that said "not Running" would
     * refuse every connect for good, since it is never read again. */
    struct tsr_status snap = *st;
    snap.backend_state = NULL;
    int rc = namemap_format(&snap, time(NULL), &img, &len);
    if (rc == 0 && nm_open(img, len, &r->view, &why) < 0)
        rc = -EINVAL; /* the writer's own image: cannot happen */
    if (rc < 0) {
        free(img);
        free(r);
        return rc;
    }
    r->anon = true;
    r->mem = img;
    r->len = len;
    r->refs = 1;
    use_fixed(r);
    return 0;
}

void mapview_close(void)
{
    use_fixed(NULL);
}

struct mapview_ref *mapview_get(const struct nm_view **view)
{
    pthread_mutex_lock(&lock);
    refresh();
    struct mapview_ref *r = cur;
    if (r != NULL)
        r->refs++;
    pthread_mutex_unlock(&lock);
    *view = r != NULL ? &r->view : NULL;
    return r;
}

void mapview_put(struct mapview_ref *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&lock);
    ref_drop(r);
    pthread_mutex_unlock(&lock);
}

enum names_state mapview_addr_state(const uint8_t a16[16])
{
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool v4 = memcmp(a16, v4_mapped, sizeof v4_mapped) == 0;
    const struct nm_view *v;
    struct names_entry e;
    struct mapview_ref *r = mapview_get(&v);
    enum names_state s = NAMES_UNKNOWN;
    if (v != NULL && nm_find_addr(v, v4 ? AF_INET : AF_INET6, v4 ? a16 + 12 : a16, &e) >= 0)
        s = e.state;
    mapview_put(r);
    return s;
}

int mapview_find_name(const char *name, size_t len, struct names_entry *e)
{
    const struct nm_view *v;
    struct mapview_ref *r = mapview_get(&v);
    long i = v != NULL ? nm_find_name(v, name, len, e) : -1;
    mapview_put(r);
    return i >= 0 ? 0 : -ENOENT;
}

bool mapview_backend_stopped(char state[NAMES_MAX_BACKEND])
{
    const struct nm_view *v;
    struct mapview_ref *r = mapview_get(&v);
    bool stopped = v != NULL && v->backend[0] != '\0' && strcmp(v->backend, "Running") != 0;
    if (stopped)
        memcpy(state, v->backend, sizeof v->backend);
    mapview_put(r);
    return stopped;
}
