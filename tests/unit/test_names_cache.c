/* shim/names.c: the process-wide cached map (reload, snapshots under
 * threads, fork, no fd kept). Each Criterion test runs in its own process,
 * so each sets TSRUN_NAMES before the shim's one-time config read. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "names.h"

static char dir[64], path[128];

static void write_map(const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, path), 0); /* the launcher's atomic replace */
}

#define MAP_A                                                                  \
    "tsrun-names 1\nsuffix t.ts.net\n"                                         \
    "node db.t.ts.net peer online 100.64.0.1 fd7a:115c:a1e0::1\n"              \
    "node old.t.ts.net peer offline 100.64.0.9\nend 2\n"
#define MAP_B                                                                  \
    "tsrun-names 1\nsuffix t.ts.net\n"                                         \
    "node db.t.ts.net peer offline 100.64.0.2 fd7a:115c:a1e0::2\n"             \
    "node web.t.ts.net peer online 100.64.0.3\nend 2\n"

static void setup(void)
{
    strcpy(dir, "/tmp/tsnames.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/names", dir);
    setenv("TSRUN_NAMES", path, 1);
    setenv("TSRUN_SOCKS5", "127.0.0.1:1055", 1);
    unsetenv("TSRUN_DEBUG");
}

static void teardown(void)
{
    char tmp[160];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    rmdir(dir);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Polls names_lookup until it reports want for name (bounded). */
static bool eventually(const char *name, enum names_verdict want, uint8_t last)
{
    for (int i = 0; i < 200; i++) {
        struct names_entry e;
        enum names_verdict v = names_lookup(name, &e);
        if (v == want && (want != NAMES_FOUND || e.addr[0].bytes[3] == last))
            return true;
        sleep_ms(10);
    }
    return false;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
        n += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

TestSuite(names_cache, .init = setup, .fini = teardown);

Test(names_cache, loads_and_reloads_on_rename)
{
    write_map(MAP_A);
    struct names_entry e;
    cr_assert_eq(names_lookup("db", &e), NAMES_FOUND);
    cr_assert_eq(e.addr[0].bytes[3], 1);
    cr_assert_eq(names_lookup("web.t.ts.net", &e), NAMES_MISSING);
    write_map(MAP_B);
    cr_assert(eventually("web.t.ts.net", NAMES_FOUND, 3), "new map never seen");
    cr_assert_eq(names_lookup("db", &e), NAMES_FOUND);
    cr_assert_eq(e.addr[0].bytes[3], 2);
    cr_assert_eq(names_lookup("old", &e), NAMES_NOT_TAILNET);
    cr_assert_eq(names_lookup("old.t.ts.net", &e), NAMES_MISSING);
}

Test(names_cache, staleness_is_bounded)
{
    write_map(MAP_A);
    cr_assert_eq(names_lookup("db", NULL), NAMES_FOUND);
    write_map(MAP_B);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert(eventually("web", NAMES_FOUND, 3));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_leq(ms, NAMES_RECHECK_MS + 400, "took %ld ms", ms); /* slack for loaded CI */
}

Test(names_cache, missing_then_created_then_garbage)
{
    struct names_entry e;
    cr_assert_eq(names_lookup("db", &e), NAMES_NOT_TAILNET);
    cr_assert_eq(names_lookup("db.t.ts.net", &e), NAMES_MISSING);
    write_map(MAP_A);
    cr_assert(eventually("db", NAMES_FOUND, 1));
    write_map("tsrun-names 1\nnode db.t.ts.net peer online 100.64.0.1\n"); /* truncated */
    cr_assert(eventually("db", NAMES_NOT_TAILNET, 0));
    cr_assert_eq(names_lookup("db.t.ts.net", &e), NAMES_MISSING);
    unlink(path);
    write_map(MAP_B);
    cr_assert(eventually("web", NAMES_FOUND, 3));
}

Test(names_cache, addr_state_and_reverse)
{
    write_map(MAP_A);
    uint8_t a[16] = {100, 64, 0, 9};
    cr_assert_eq(names_addr_state(AF_INET, a), NAMES_OFFLINE);
    a[3] = 1;
    cr_assert_eq(names_addr_state(AF_INET, a), NAMES_ONLINE);
    a[3] = 77;
    cr_assert_eq(names_addr_state(AF_INET, a), NAMES_UNKNOWN);
    struct names_entry e;
    cr_assert_eq(names_reverse(AF_INET, a, &e), NAMES_MISSING);
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 9};
    cr_assert_eq(names_addr_state(AF_INET6, mapped), NAMES_OFFLINE);
    uint8_t v6[16];
    inet_pton(AF_INET6, "fd7a:115c:a1e0::1", v6);
    cr_assert(names_lookup_addr(AF_INET6, v6, &e));
    cr_assert_str_eq(e.fqdn, "db.t.ts.net");
    uint8_t ten[16] = {10, 0, 0, 1};
    cr_assert_eq(names_reverse(AF_INET, ten, &e), NAMES_NOT_TAILNET);
}

Test(names_cache, no_fd_left_open)
{
    int before = count_fds();
    write_map(MAP_A);
    for (int i = 0; i < 20; i++) {
        names_lookup("db", NULL);
        write_map(i % 2 ? MAP_A : MAP_B);
        sleep_ms(NAMES_RECHECK_MS / 4);
    }
    cr_assert_eq(count_fds(), before);
}

Test(names_cache, own_host_name_is_left_to_libc)
{
    /* A private UTS namespace (root only) to set a host name that is also
     * a tailnet short name. */
    if (unshare(CLONE_NEWUTS) < 0)
        cr_skip_test("unshare(CLONE_NEWUTS): %s", strerror(errno));
    cr_assert_eq(sethostname("DB", 2), 0);
    write_map(MAP_A);
    cr_assert_eq(names_lookup("db", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_lookup("db.", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_lookup("db.t.ts.net", NULL), NAMES_FOUND);
    cr_assert_eq(names_lookup("old", NULL), NAMES_FOUND);
}

Test(names_cache, disabled_without_names_path)
{
    unsetenv("TSRUN_NAMES");
    write_map(MAP_A);
    cr_assert_eq(names_lookup("db", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_lookup("db.t.ts.net", NULL), NAMES_NOT_TAILNET);
}

/* --- snapshots under threads: every answer is all-A or all-B --- */

static atomic_int stop, torn, answers;

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        struct names_entry e;
        if (names_lookup("db.t.ts.net", &e) != NAMES_FOUND) {
            atomic_fetch_add(&torn, 1);
            continue;
        }
        bool a = e.addr[0].bytes[3] == 1 && e.addr[1].bytes[15] == 1 && e.state == NAMES_ONLINE;
        bool b = e.addr[0].bytes[3] == 2 && e.addr[1].bytes[15] == 2 && e.state == NAMES_OFFLINE;
        if (!a && !b)
            atomic_fetch_add(&torn, 1);
        atomic_fetch_add(&answers, 1);
    }
    return NULL;
}

Test(names_cache, consistent_snapshots_under_threads)
{
    pthread_t t[8];
    write_map(MAP_A);
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < 30; i++) {
        write_map(i % 2 ? MAP_A : MAP_B);
        sleep_ms(NAMES_RECHECK_MS / 2);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&torn), 0);
    cr_assert_gt(atomic_load(&answers), 100);
}

/* --- fork while other threads hold the lock: the child never deadlocks --- */

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        names_lookup("db", NULL);
    return NULL;
}

Test(names_cache, fork_while_threads_resolve, .timeout = 30)
{
    pthread_t t[4];
    write_map(MAP_A);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spinner, NULL);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        if (i % 20 == 0)
            write_map(i % 40 ? MAP_A : MAP_B); /* reloads in flight too */
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            alarm(5); /* a deadlocked child dies of SIGALRM */
            struct names_entry e;
            _exit(names_lookup("db", &e) == NAMES_FOUND ? 0 : 1);
        }
        int st;
        waitpid(pid, &st, 0);
        bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(bad, 0);
}

/* --- issue 12 kind 4: no hook waits on what an interrupted, cancelled or
 * forked-away thread holds --- */

/* A signal handler that resolves and asks for address states while the
 * thread it interrupted is itself resolving (and reloading). With a lock,
 * the first interrupt inside the critical section deadlocks. */
static atomic_int handled;

static void on_alarm(int sig)
{
    (void)sig;
    uint8_t a[16] = {100, 64, 0, 1};
    char state[NAMES_MAX_BACKEND];
    if (names_addr_state(AF_INET, a) == NAMES_ONLINE)
        atomic_fetch_add(&handled, 1);
    (void)names_backend_stopped(state);
}

Test(names_cache, signal_handler_during_lookup, .timeout = 60)
{
    write_map(MAP_A);
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 200}, {0, 200}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 20000; i++) {
        struct names_entry e;
        cr_assert_neq(names_lookup(i % 2 ? "db" : "web.t.ts.net", &e), NAMES_NOT_TAILNET);
        if (i % 2000 == 0)
            write_map(i % 4000 ? MAP_A : MAP_B); /* reloads under the handler too */
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    cr_assert_gt(atomic_load(&handled), 0);
}

/* A thread cancelled wherever it is inside a lookup or a reload leaves
 * nothing behind that stops the others. */
static void *canceller_victim(void *arg)
{
    (void)arg;
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
    for (;;) {
        names_lookup("db", NULL);
        pthread_testcancel();
    }
    return NULL;
}

Test(names_cache, cancelled_threads_leave_nothing_held, .timeout = 60)
{
    write_map(MAP_A);
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, NULL, canceller_victim, NULL);
        write_map(i % 2 ? MAP_A : MAP_B);
        sleep_ms(1 + i % 5);
        pthread_cancel(t);
        pthread_join(t, NULL);
    }
    write_map(MAP_B);
    cr_assert(eventually("web", NAMES_FOUND, 3), "reloads stopped after cancellations");
}

/* fork() while another thread reloads in a loop: the child resolves and
 * still notices a new map (no slot or claim left held by the thread that
 * does not exist in the child). */
static void *reloader(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&stop); i++) {
        write_map(i % 2 ? MAP_A : MAP_B);
        names_lookup("db", NULL);
        sleep_ms(NAMES_RECHECK_MS / 10);
    }
    return NULL;
}

Test(names_cache, fork_while_another_thread_reloads, .timeout = 60)
{
    pthread_t t;
    write_map(MAP_A);
    pthread_create(&t, NULL, reloader, NULL);
    int bad = 0;
    for (int i = 0; i < 40; i++) {
        sleep_ms(7);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            alarm(10); /* a deadlocked child dies of SIGALRM */
            if (names_lookup("db", NULL) != NAMES_FOUND)
                _exit(1);
            /* The parent's writer keeps replacing the file: the child
             * keeps reloading, so every slot must still cycle in it. */
            for (int j = 0; j < 10; j++) {
                if (names_lookup("db", NULL) != NAMES_FOUND)
                    _exit(2);
                sleep_ms(NAMES_RECHECK_MS / 4);
            }
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    cr_assert_eq(bad, 0);
}
