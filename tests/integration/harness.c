/*  harness — runs the real ferry binaries for integration tests. */
//  close_range() is a GNU extension (glibc 2.34).
#define _GNU_SOURCE
#include "harness.h"

#include "clock.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void s_die(const char *what)
{
    fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
    abort();
}

void it_path(it_env_t *env, char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", env->dir, name);
    if (n < 0 || (size_t) n >= size) {
        fprintf(stderr, "harness: path %s/%s too long\n", env->dir, name);
        abort();
    }
}

const char *it_run_id(void)
{
    const char *run = getenv(IT_RUN_ENV);
    if (!run || !*run || strlen(run) > 40)
        return "";
    for (const char *c = run; *c; c++)
        if (!(*c >= '0' && *c <= '9') && !(*c >= 'a' && *c <= 'z') && *c != '-')
            return "";
    return run;
}

int it_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof addr) != 0
        || getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
        s_die("free port");
    close(fd);
    return ntohs(addr.sin_port);
}

static bool s_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = connect(fd, (struct sockaddr *) &addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

//  Environments between it_setup and it_teardown, for the abort handler.
#define S_MAX_ENVS 8
static it_env_t *s_envs[S_MAX_ENVS];

//  Async-signal-safe: SIGKILL every process group the harness started.
static void s_kill_groups(void)
{
    for (int e = 0; e < S_MAX_ENVS; e++) {
        it_env_t *env = s_envs[e];
        for (int i = 0; env && i < env->proc_count; i++)
            if (env->procs[i] > 0) {
                kill(-env->procs[i], SIGKILL);
                kill(env->procs[i], SIGKILL);
            }
    }
}

//  A failed check that aborts (s_die, ASan) skips the teardown: the children
//  die of PR_SET_PDEATHSIG anyway, what they started in their groups here.
static void s_on_abort(int sig)
{
    s_kill_groups();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void s_register(it_env_t *env)
{
    static bool installed;
    if (!installed) {
        installed = true;
        signal(SIGABRT, s_on_abort);
        atexit(s_kill_groups);
    }
    for (int e = 0; e < S_MAX_ENVS; e++)
        if (!s_envs[e]) {
            s_envs[e] = env;
            return;
        }
    fprintf(stderr, "harness: more than %d test environments at once\n", S_MAX_ENVS);
    abort();
}

static void s_unregister(it_env_t *env)
{
    for (int e = 0; e < S_MAX_ENVS; e++)
        if (s_envs[e] == env)
            s_envs[e] = NULL;
}

//  In the child between fork and exec (async-signal-safe calls only): its
//  own process group, SIGKILL when the test dies, stdin from /dev/null and
//  stdout+stderr appended to log, no descriptor of the test left open.
static void s_child(pid_t parent, const char *path, const char *log, char *const argv[])
{
    if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(126);
    //  The test died before prctl: no signal would come.
    if (getppid() != parent)
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    close_range(3, ~0U, 0);
    execv(path, argv);
    _exit(127);
}

//  Start bin/argv[0] with stdout+stderr appended to log.
static pid_t s_spawn(it_env_t *env, const char *log, char *const argv[])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env->bin, argv[0]);
    if (access(path, X_OK) != 0)
        s_die(path);
    //  PR_SET_PDEATHSIG fires when the thread that forked ends, not the process.
    if (gettid() != getpid()) {
        fprintf(stderr, "harness: %s started from a thread other than the main one\n", argv[0]);
        abort();
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        s_die("fork");
    if (pid == 0)
        s_child(parent, path, log, argv);
    //  Also here, so a kill of the group right after this cannot miss it.
    setpgid(pid, pid);
    //  Reuse the slot of a process already reaped: a fleet test starts far
    //  more short commands than it keeps running, and every one still
    //  running must be killed at teardown.
    for (int i = 0; i < env->proc_count; i++)
        if (env->procs[i] == 0) {
            env->procs[i] = pid;
            return pid;
        }
    if (env->proc_count < IT_MAX_PROCS)
        env->procs[env->proc_count++] = pid;
    else
        fprintf(stderr, "harness: more than %d processes: pid %d will not be killed at teardown\n",
                IT_MAX_PROCS, (int) pid);
    return pid;
}

pid_t it_spawn(it_env_t *env, const char *logname, char *const argv[])
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", env->dir, logname);
    return s_spawn(env, log, argv);
}

int it_run(it_env_t *env, const char *logname, int timeout_ms, char *const argv[])
{
    pid_t pid = it_spawn(env, logname, argv);
    int status = it_stop(env, pid, 0, timeout_ms);
    if (status < 0) {
        it_stop(env, pid, SIGKILL, 5000);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void it_setup(it_env_t *env)
{
    memset(env, 0, sizeof *env);
    //  Named after the run: its fake AIX commands run with a fixed
    //  environment, their path tells they belong to it.
    const char *run = it_run_id();
    snprintf(env->dir, sizeof env->dir, "/tmp/ferry-it-%s%sXXXXXX", run, *run ? "-" : "");
    if (!mkdtemp(env->dir))
        s_die("mkdtemp");
    s_register(env);
    snprintf(env->bin, sizeof env->bin, "%s", FERRY_BIN_DIR);
    env->port = it_free_port();
    snprintf(env->endpoint, sizeof env->endpoint, "tcp://127.0.0.1:%d", env->port);
    it_path(env, env->db, sizeof env->db, "ferry.db");
    it_path(env, env->allowed, sizeof env->allowed, "agents.d");
    it_path(env, env->collector_log, sizeof env->collector_log, "collector.log");
    if (mkdir(env->allowed, 0700) != 0)
        s_die("mkdir allowed");
    char keys[320];
    it_path(env, keys, sizeof keys, "collector-keys");
    char *argv[] = { "ferry-collector", "keygen", keys, NULL };
    if (it_run(env, "keygen", 30000, argv) != 0)
        s_die("collector keygen");
    it_path(env, env->collector_cert, sizeof env->collector_cert, "collector-keys/collector.cert");
}

static int s_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

void it_teardown(it_env_t *env)
{
    //  The whole group: whatever a process started in it goes too.
    for (int i = 0; i < env->proc_count; i++) {
        if (env->procs[i] > 0) {
            kill(-env->procs[i], SIGKILL);
            kill(env->procs[i], SIGKILL);
            waitpid(env->procs[i], NULL, 0);
            env->procs[i] = 0;
        }
    }
    env->collector = 0;
    s_unregister(env);
    if (getenv("FERRY_KEEP_TEST_DIR")) {
        fprintf(stderr, "harness: kept %s\n", env->dir);
        return;
    }
    it_rmtree(env->dir);
}

void it_rmtree(const char *dir)
{
    nftw(dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    if (!file || fputs(text, file) < 0 || fclose(file) != 0)
        s_die(path);
}

pid_t it_start_collector(it_env_t *env, const char *extra)
{
    char conf[512], text[4096];
    it_path(env, conf, sizeof conf, "collector.conf");
    snprintf(text, sizeof text,
             "collector\n"
             "    bind = %s\n"
             "    cert = %s_secret\n"
             "    allowed_agents = %s\n"
             "    database = %s\n"
             "    verbose = 1\n"
             "%s",
             env->endpoint, env->collector_cert, env->allowed, env->db, extra ? extra : "");
    s_write_file(conf, text);
    char *argv[] = { "ferry-collector", "-c", conf, NULL };
    env->collector = s_spawn(env, env->collector_log, argv);
    int64_t deadline = clock_mono_ms() + 30000;
    while (!s_port_open(env->port)) {
        if (clock_mono_ms() > deadline || waitpid(env->collector, NULL, WNOHANG) == env->collector) {
            fprintf(stderr, "harness: collector did not start, see %s\n", env->collector_log);
            abort();
        }
        usleep(10000);
    }
    return env->collector;
}

void it_agent_keygen(it_env_t *env, const char *name, bool allow)
{
    char keys[512], cert[600];
    snprintf(keys, sizeof keys, "%s/%s-keys", env->dir, name);
    snprintf(cert, sizeof cert, "%s/agent.cert", keys);
    if (access(cert, F_OK) != 0) {
        char *argv[] = { "ferry-agent", "keygen", keys, NULL };
        if (it_run(env, "keygen", 30000, argv) != 0)
            s_die("agent keygen");
    }
    if (allow) {
        zcert_t *zc = zcert_load(cert);
        if (!zc)
            s_die("load agent cert");
        char dest[600];
        snprintf(dest, sizeof dest, "%s/%s.cert", env->allowed, name);
        zcert_save_public(zc, dest);
        zcert_destroy(&zc);
    }
}

pid_t it_start_agent(it_env_t *env, const char *name, const char *extra)
{
    char keys[512], spool[512], conf[512], log[512], text[4096];
    snprintf(keys, sizeof keys, "%s/%s-keys", env->dir, name);
    snprintf(spool, sizeof spool, "%s/%s-spool", env->dir, name);
    snprintf(conf, sizeof conf, "%s/%s.conf", env->dir, name);
    snprintf(log, sizeof log, "%s/%s.log", env->dir, name);
    if (access(keys, F_OK) != 0)
        it_agent_keygen(env, name, true);
    if (access(spool, F_OK) != 0 && mkdir(spool, 0700) != 0)
        s_die("mkdir spool");
    snprintf(text, sizeof text,
             "agent\n"
             "    collector = %s\n"
             "    collector_cert = %s\n"
             "    cert = %s/agent.cert_secret\n"
             "    spool_dir = %s\n"
             "    verbose = 1\n"
             "%s",
             env->endpoint, env->collector_cert, keys, spool, extra ? extra : "");
    s_write_file(conf, text);
    char *argv[] = { "ferry-agent", "run", "-c", conf, NULL };
    return s_spawn(env, log, argv);
}

int it_stop(it_env_t *env, pid_t pid, int sig, int timeout_ms)
{
    if (sig)
        kill(pid, sig);
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int status;
    while (clock_mono_ms() < deadline) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            for (int i = 0; i < env->proc_count; i++)
                if (env->procs[i] == pid)
                    env->procs[i] = 0;
            if (pid == env->collector)
                env->collector = 0;
            return status;
        }
        if (got < 0)
            return -1;
        usleep(5000);
    }
    return -1;
}

int64_t it_db_int(it_env_t *env, const char *sql)
{
    sqlite3 *db = NULL;
    int64_t value = -1;
    if (sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto done;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
done:
    sqlite3_close(db);
    return value;
}

int64_t it_wait_db(it_env_t *env, const char *sql, int64_t want, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int64_t value = it_db_int(env, sql);
    while (value < want && clock_mono_ms() < deadline) {
        usleep(20000);
        value = it_db_int(env, sql);
    }
    return value;
}

static int s_file_count(const char *path, const char *needle)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, file))
        found += strstr(line, needle) != NULL;
    fclose(file);
    return found;
}

bool it_wait_file(const char *path, const char *needle, int timeout_ms)
{
    return it_wait_file_count(path, needle, 1, timeout_ms);
}

bool it_wait_file_count(const char *path, const char *needle, int count, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (s_file_count(path, needle) < count) {
        if (clock_mono_ms() > deadline)
            return false;
        usleep(20000);
    }
    return true;
}

void it_agent_key(it_env_t *env, const char *name, char *out)
{
    char cert[600];
    snprintf(cert, sizeof cert, "%s/%s-keys/agent.cert", env->dir, name);
    zcert_t *zc = zcert_load(cert);
    if (!zc)
        s_die("load agent cert");
    snprintf(out, 41, "%s", zcert_public_txt(zc));
    zcert_destroy(&zc);
}

uint64_t it_agent_logged_next_seq(it_env_t *env, const char *name)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", env->dir, name);
    FILE *file = fopen(log, "r");
    if (!file)
        return 0;
    char line[4096];
    uint64_t next = 0;
    while (fgets(line, sizeof line, file)) {
        char *at = strstr(line, "next seq ");
        if (at)
            next = strtoull(at + 9, NULL, 10);
    }
    fclose(file);
    return next;
}

int it_env_setup(void **state)
{
    it_env_t *env = calloc(1, sizeof *env);
    if (!env)
        abort();
    it_setup(env);
    *state = env;
    return 0;
}

int it_env_teardown(void **state)
{
    it_teardown(*state);
    free(*state);
    *state = NULL;
    return 0;
}

void it_loadgen_keys(it_env_t *env, int count)
{
    char keys[320], n[16];
    it_path(env, keys, sizeof keys, "loadgen-keys");
    snprintf(n, sizeof n, "%d", count);
    char *argv[] = { "ferry-loadgen", "keys", "--count", n, "--out", keys, "--allowed",
                     env->allowed, NULL };
    if (it_run(env, "loadgen-keys", 60000, argv) != 0) {
        fprintf(stderr, "harness: ferry-loadgen keys failed, see %s/loadgen-keys.log\n", env->dir);
        abort();
    }
}
