/*  ferry-testrun — ties every process a ctest run starts to that run, so
    the run can tell, at its end, whether one outlived it.

        ferry-testrun exec PROGRAM [ARGS...]  run a test with FERRY_TEST_RUN set
        ferry-testrun begin                   fixture setup: prove the check below
                                              finds this run's processes and only them
        ferry-testrun end                     fixture cleanup (no_leftover_processes):
                                              list, SIGKILL and fail on what is left

    The mark is FERRY_TEST_RUN=<ctest pid>-<ctest start time in clock ticks
    since boot>. ctest is the parent of every test it runs, begin and end
    included, so all derive the same mark; pid and start time together never
    repeat, so another run on the machine (another worktree, CI, a run before
    this one) has another mark. A FERRY_TEST_RUN already set is kept (a run by
    hand, a nested run).

    A process belongs to the run when its environment holds the mark
    (children inherit it) or its program lies under /tmp/ferry-it-<mark>-
    (the harness's temp dirs: an agent runs its fake AIX commands there with
    a fixed environment). Linux only (/proc). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_ENV "FERRY_TEST_RUN"
#define S_ID_MAX 64
#define S_MAX_FOUND 1024
#define S_GRACE_MS 1000       // a process SIGKILLed by its dying test is gone well within this
#define S_KILL_WAIT_MS 5000   // SIGKILLed leftovers must be gone by then
#define S_START_WAIT_MS 10000 // self-test children must have exec'd by then

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

//  The whole of a /proc file (malloc'd, NUL-terminated, caller frees) and its
//  length; NULL when it cannot be read (gone, another user's).
static char *s_slurp(const char *path, size_t *len)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        used += fread(buf + used, 1, cap - used, file);
        if (used < cap)
            break;
        char *grown = realloc(buf, cap * 2 + 1);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    fclose(file);
    if (buf) {
        buf[used] = '\0';
        *len = used;
    }
    return buf;
}

//  State letter and start time (field 22) of pid from /proc/PID/stat; -1 when gone.
static int s_stat(pid_t pid, char *state, unsigned long long *start)
{
    char path[64];
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    char *text = s_slurp(path, &len);
    //  The command name may hold spaces and parentheses: fields follow the last ')'.
    char *close = text ? strrchr(text, ')') : NULL;
    int rc = -1;
    if (close && sscanf(close + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d"
                        " %*d %*d %*d %*d %llu", state, start) == 2)
        rc = 0;
    free(text);
    return rc;
}

//  The run's mark into out: FERRY_TEST_RUN, else derived from the parent (ctest).
static int s_run_id(char *out, size_t size)
{
    const char *set = getenv(S_ENV);
    if (set && *set) {
        snprintf(out, size, "%s", set);
        return 0;
    }
    char state;
    unsigned long long start;
    pid_t parent = getppid();
    if (s_stat(parent, &state, &start) != 0) {
        fprintf(stderr, "ferry-testrun: cannot read /proc/%d/stat\n", (int) parent);
        return -1;
    }
    snprintf(out, size, "%d-%llu", (int) parent, start);
    return 0;
}

//  True when one of the NUL-separated entries of buf is entry.
static bool s_has(const char *buf, size_t len, const char *entry)
{
    for (size_t at = 0; at < len; at += strlen(buf + at) + 1)
        if (strcmp(buf + at, entry) == 0)
            return true;
    return false;
}

//  Does the live (not zombie) process pid carry the run's mark?
static bool s_marked(pid_t pid, const char *mark_env, const char *mark_dir)
{
    char state, path[64];
    unsigned long long start;
    if (s_stat(pid, &state, &start) != 0 || state == 'Z' || state == 'X')
        return false;
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/environ", (int) pid);
    char *text = s_slurp(path, &len);
    bool marked = text && s_has(text, len, mark_env);
    free(text);
    if (marked)
        return true;
    //  The program, not any argument: "less /tmp/ferry-it-.../collector.log"
    //  is someone reading a log, not a leftover.
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    text = s_slurp(path, &len);
    marked = text && strstr(text, mark_dir) != NULL;
    free(text);
    return marked;
}

//  Processes of run id other than this one into found (at most max); their count.
static size_t s_scan(const char *id, pid_t *found, size_t max)
{
    char mark_env[S_ID_MAX + 32], mark_dir[S_ID_MAX + 32];
    snprintf(mark_env, sizeof mark_env, "%s=%s", S_ENV, id);
    snprintf(mark_dir, sizeof mark_dir, "/ferry-it-%s-", id);
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) && count < max) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long) getpid())
            continue;
        if (s_marked((pid_t) pid, mark_env, mark_dir))
            found[count++] = (pid_t) pid;
    }
    closedir(proc);
    return count;
}

static void s_describe(pid_t pid)
{
    char path[64];
    size_t len = 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    char *text = s_slurp(path, &len);
    for (size_t i = 0; text && i + 1 < len; i++)
        if (text[i] == '\0')
            text[i] = ' ';
    fprintf(stderr, "  pid %d: %s\n", (int) pid, text && *text ? text : "(gone)");
    free(text);
}

//  Wait until none of found[] is alive (or a zombie) or deadline_ms passes;
//  how many still are.
static size_t s_wait_gone(pid_t *found, size_t count, int deadline_ms)
{
    int64_t deadline = s_now_ms() + deadline_ms;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < count; i++) {
            char state;
            unsigned long long start;
            if (s_stat(found[i], &state, &start) == 0 && state != 'Z' && state != 'X')
                found[alive++] = found[i];
        }
        count = alive;
        if (count == 0 || s_now_ms() >= deadline)
            return count;
        s_sleep_ms(20);
    }
}

static int s_exec(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ferry-testrun exec PROGRAM [ARGS...]\n");
        return 2;
    }
    char id[S_ID_MAX];
    if (s_run_id(id, sizeof id) != 0 || setenv(S_ENV, id, 1) != 0)
        return 2;
    execv(argv[2], argv + 2);
    fprintf(stderr, "ferry-testrun: cannot run %s: %s\n", argv[2], strerror(errno));
    return 2;
}

static int s_end(void)
{
    char id[S_ID_MAX];
    if (s_run_id(id, sizeof id) != 0)
        return 2;
    pid_t found[S_MAX_FOUND];
    size_t count = s_scan(id, found, S_MAX_FOUND);
    //  Processes SIGKILLed as their test died may still be on their way out.
    count = s_wait_gone(found, count, S_GRACE_MS);
    if (count == 0) {
        printf("no process of run %s is left\n", id);
        return 0;
    }
    fprintf(stderr, "%zu process(es) of run %s outlived their test; killing them:\n", count, id);
    for (size_t i = 0; i < count; i++) {
        s_describe(found[i]);
        //  Its group too when it leads one (the harness's children do), never ctest's.
        if (getpgid(found[i]) == found[i] && found[i] != getpgrp())
            kill(-found[i], SIGKILL);
        kill(found[i], SIGKILL);
    }
    size_t left = s_wait_gone(found, count, S_KILL_WAIT_MS);
    if (left)
        fprintf(stderr, "%zu of them still alive after SIGKILL\n", left);
    return 1;
}

//  ---------------------------------------------------------------------------
//  begin: the check must see this run's processes, marked either way, and
//  none of another run whose mark merely starts like this one's.

//  A stand-in test child: idle until killed, or until its parent dies.
static int s_idle(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 0;
    for (;;)
        pause();
}

//  Fork argv0 = path (this program through a link, or itself) in "idle"
//  mode with the single environment entry env ("" for none).
static pid_t s_start_idle(const char *self, const char *path, const char *env)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(126);
    char *args[] = {(char *) path, "idle", NULL};
    char *envs[] = {(char *) env, NULL};
    execve(self, args, *env ? envs : envs + 1);
    _exit(127);
}

//  Wait until pid runs "idle" (exec done, so /proc shows its new
//  environment and arguments).
static bool s_wait_idle(pid_t pid)
{
    int64_t deadline = s_now_ms() + S_START_WAIT_MS;
    while (s_now_ms() < deadline) {
        char path[64];
        size_t len;
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        char *text = s_slurp(path, &len);
        bool ready = text && s_has(text, len, "idle");
        free(text);
        if (ready)
            return true;
        s_sleep_ms(10);
    }
    return false;
}

//  A directory named like a harness temp dir of run id with a link to self.
static int s_link_dir(const char *id, const char *self, char *dir, size_t dsize, char *link,
                      size_t lsize)
{
    snprintf(dir, dsize, "/tmp/ferry-it-%s-selftest-%d", id, (int) getpid());
    snprintf(link, lsize, "%s/ferry-agent", dir);
    if (mkdir(dir, 0700) != 0 || symlink(self, link) != 0) {
        fprintf(stderr, "ferry-testrun: cannot make %s: %s\n", link, strerror(errno));
        return -1;
    }
    return 0;
}

static bool s_in(pid_t pid, const pid_t *set, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (set[i] == pid)
            return true;
    return false;
}

//  Start the stand-ins, check what the scan finds, kill them. 0 when it
//  found exactly the two of this run.
static int s_selftest(const char *id, const char *self)
{
    char own_env[S_ID_MAX + 32], other_env[S_ID_MAX + 32], dir[256], link[300];
    char other_dir[256], other_link[300], other_id[S_ID_MAX + 8];
    snprintf(own_env, sizeof own_env, "%s=%s", S_ENV, id);
    snprintf(other_id, sizeof other_id, "%s0", id);
    snprintf(other_env, sizeof other_env, "%s=%s", S_ENV, other_id);
    if (s_link_dir(id, self, dir, sizeof dir, link, sizeof link) != 0
        || s_link_dir(other_id, self, other_dir, sizeof other_dir, other_link,
                      sizeof other_link) != 0)
        return -1;
    //  Ours: by environment, by path. Another run's: by environment, by path.
    pid_t kids[4] = {s_start_idle(self, self, own_env), s_start_idle(self, link, ""),
                     s_start_idle(self, self, other_env), s_start_idle(self, other_link, "")};
    int rc = 0;
    for (int i = 0; i < 4; i++)
        if (kids[i] < 0 || !s_wait_idle(kids[i])) {
            fprintf(stderr, "ferry-testrun: stand-in %d did not start\n", i);
            rc = -1;
        }
    pid_t found[S_MAX_FOUND];
    size_t count = rc == 0 ? s_scan(id, found, S_MAX_FOUND) : 0;
    if (rc == 0 && (count != 2 || !s_in(kids[0], found, count) || !s_in(kids[1], found, count))) {
        fprintf(stderr, "ferry-testrun: the scan found %zu process(es), want pids %d and %d:\n",
                count, (int) kids[0], (int) kids[1]);
        for (size_t i = 0; i < count; i++)
            s_describe(found[i]);
        rc = -1;
    }
    for (int i = 0; i < 4; i++)
        if (kids[i] > 0) {
            kill(kids[i], SIGKILL);
            waitpid(kids[i], NULL, 0);
        }
    unlink(link);
    unlink(other_link);
    rmdir(dir);
    rmdir(other_dir);
    if (rc == 0 && s_scan(id, found, S_MAX_FOUND) != 0) {
        fprintf(stderr, "ferry-testrun: the scan still finds killed processes\n");
        rc = -1;
    }
    return rc;
}

static int s_begin(void)
{
    char id[S_ID_MAX], self[4096];
    if (s_run_id(id, sizeof id) != 0)
        return 2;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "ferry-testrun: cannot find my own path\n");
        return 2;
    }
    self[n] = '\0';
    pid_t found[S_MAX_FOUND];
    size_t early = s_scan(id, found, S_MAX_FOUND);
    if (early) {
        fprintf(stderr, "ferry-testrun: %zu process(es) of run %s before it began:\n", early, id);
        for (size_t i = 0; i < early; i++)
            s_describe(found[i]);
        return 1;
    }
    if (s_selftest(id, self) != 0)
        return 1;
    printf("run %s: the leftover check finds this run's processes and only them\n", id);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "exec") == 0)
        return s_exec(argc, argv);
    if (strcmp(mode, "begin") == 0 && argc == 2)
        return s_begin();
    if (strcmp(mode, "end") == 0 && argc == 2)
        return s_end();
    if (strcmp(mode, "idle") == 0 && argc == 2)
        return s_idle();
    fprintf(stderr, "usage: ferry-testrun exec PROGRAM [ARGS...] | begin | end\n");
    return 2;
}
