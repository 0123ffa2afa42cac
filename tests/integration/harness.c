/*  harness — runs the real ferry binaries for integration tests. */
#include "harness.h"

#include "clock.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

//  Start bin/argv[0] with stdout+stderr appended to log.
static pid_t s_spawn(it_env_t *env, const char *log, char *const argv[])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env->bin, argv[0]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        s_die(path);
    }
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
    snprintf(env->dir, sizeof env->dir, "/tmp/ferry-it-XXXXXX");
    if (!mkdtemp(env->dir))
        s_die("mkdtemp");
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

void it_teardown(it_env_t *env)
{
    for (int i = 0; i < env->proc_count; i++) {
        if (env->procs[i] > 0 && kill(env->procs[i], 0) == 0) {
            kill(env->procs[i], SIGKILL);
            waitpid(env->procs[i], NULL, 0);
        }
    }
    if (getenv("FERRY_KEEP_TEST_DIR")) {
        fprintf(stderr, "harness: kept %s\n", env->dir);
        return;
    }
    char *argv[] = { "/bin/rm", "-rf", env->dir, NULL };
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0)
        waitpid(pid, NULL, 0);
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
