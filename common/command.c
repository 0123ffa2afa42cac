/*  command — run an external command without a shell: argv only, fixed
    environment, stdin from /dev/null, a deadline, bounded output. The child
    leads its own process group so a timeout kills its descendants too. */
//  pipe2() with O_CLOEXEC is a GNU extension; AIX has no pipe2 (S_HAVE_PIPE2).
#define _GNU_SOURCE
#include "command.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const s_fixed_env[] = {"LANG=C", "LC_ALL=C",
                                          "PATH=/usr/bin:/bin:/usr/sbin:/sbin"};
#define S_FIXED_ENV_COUNT (sizeof s_fixed_env / sizeof s_fixed_env[0])
#define S_CHUNK 4096
#if defined(__linux__) && !defined(FERRY_NO_PIPE2)
#define S_HAVE_PIPE2 1
#endif
//  How often to look for the child's exit once both pipes are closed.
#define S_REAP_POLL_MS 10

//  One output stream being collected.
typedef struct {
    int fd;             // read end, -1 after EOF
    char *buf;
    size_t len;
    size_t cap;
} s_stream_t;

static void s_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

//  Held from creating a command's pipes to spawning it. Without pipe2 (AIX)
//  close-on-exec is set just after pipe(): a child spawned meanwhile by
//  another thread would inherit the write ends and keep this command's output
//  open (its reader would wait for the timeout). Every spawn in ferry goes
//  through here, so holding this lock closes that window.
static pthread_mutex_t s_spawn_lock = PTHREAD_MUTEX_INITIALIZER;

static int s_pipe_cloexec(int fds[2])
{
#ifdef S_HAVE_PIPE2
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0)
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    return 0;
#endif
}

//  Pipe with both ends close-on-exec and above 2, so dup2 onto 1/2 is never a no-op.
static int s_pipe(int fds[2])
{
    if (s_pipe_cloexec(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fds[i] > 2)
            continue;
        int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        int saved = errno;
        close(fds[i]);
        fds[i] = moved;
        if (moved < 0) {
            s_close(&fds[1 - i]);
            errno = saved;
            return -1;
        }
    }
    return 0;
}

static bool s_env_key_is_fixed(const char *entry)
{
    for (size_t i = 0; i < S_FIXED_ENV_COUNT; i++) {
        size_t key_len = strchr(s_fixed_env[i], '=') - s_fixed_env[i] + 1;
        if (strncmp(entry, s_fixed_env[i], key_len) == 0)
            return true;
    }
    return false;
}

//  Fixed environment plus extra_env; a malloc'd NULL-terminated array of borrowed strings.
static char **s_build_env(char *const extra_env[], char *errbuf, size_t errlen)
{
    size_t extra = 0;
    for (; extra_env && extra_env[extra]; extra++) {
        const char *entry = extra_env[extra];
        if (!strchr(entry, '=') || entry[0] == '=' || s_env_key_is_fixed(entry)) {
            snprintf(errbuf, errlen, "bad extra environment entry \"%s\" (want K=V, "
                     "not LANG, LC_ALL or PATH)", entry);
            return NULL;
        }
    }
    char **env = calloc(S_FIXED_ENV_COUNT + extra + 1, sizeof *env);
    if (!env) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < S_FIXED_ENV_COUNT; i++)
        env[i] = (char *) s_fixed_env[i];
    for (size_t i = 0; i < extra; i++)
        env[S_FIXED_ENV_COUNT + i] = extra_env[i];
    return env;
}

static int s_file_actions(posix_spawn_file_actions_t *fa, int out_w, int err_w)
{
    if (posix_spawn_file_actions_init(fa) != 0)
        return -1;
    if (posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) != 0
        || posix_spawn_file_actions_adddup2(fa, out_w, 1) != 0
        || posix_spawn_file_actions_adddup2(fa, err_w, 2) != 0
        || posix_spawn_file_actions_addclose(fa, out_w) != 0
        || posix_spawn_file_actions_addclose(fa, err_w) != 0) {
        posix_spawn_file_actions_destroy(fa);
        return -1;
    }
    return 0;
}

//  Own process group, no blocked signals, default dispositions (the parent may ignore SIGPIPE).
static int s_attrs(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (posix_spawnattr_init(attr) != 0)
        return -1;
    if (posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                           | POSIX_SPAWN_SETSIGDEF) != 0
        || posix_spawnattr_setpgroup(attr, 0) != 0
        || posix_spawnattr_setsigmask(attr, &none) != 0
        || posix_spawnattr_setsigdefault(attr, &all) != 0) {
        posix_spawnattr_destroy(attr);
        return -1;
    }
    return 0;
}

static int s_start(char *const argv[], char **env, int out_w, int err_w, pid_t *pid,
                   char *errbuf, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (s_file_actions(&fa, out_w, err_w) != 0) {
        snprintf(errbuf, errlen, "cannot run %s: cannot set up file actions", argv[0]);
        return -1;
    }
    if (s_attrs(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        snprintf(errbuf, errlen, "cannot run %s: cannot set up spawn attributes", argv[0]);
        return -1;
    }
    int rc = posix_spawn(pid, argv[0], &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot run %s: %s", argv[0], strerror(rc));
        return -1;
    }
    return 0;
}

//  Keep up to max bytes; anything beyond is dropped and flagged.
static void s_keep(s_stream_t *stream, const char *data, size_t len, size_t max,
                   bool *truncated)
{
    size_t room = stream->len < max ? max - stream->len : 0;
    size_t take = len < room ? len : room;
    if (take < len)
        *truncated = true;
    if (take == 0)
        return;
    if (stream->len + take + 1 > stream->cap) {
        size_t cap = stream->cap ? stream->cap : S_CHUNK;
        while (cap < stream->len + take + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *buf = realloc(stream->buf, cap);
        if (!buf) {
            *truncated = true;
            return;
        }
        stream->buf = buf;
        stream->cap = cap;
    }
    memcpy(stream->buf + stream->len, data, take);
    stream->len += take;
}

static void s_drain(s_stream_t *stream, size_t max, bool *truncated)
{
    char chunk[S_CHUNK];
    ssize_t got = read(stream->fd, chunk, sizeof chunk);
    if (got > 0)
        s_keep(stream, chunk, (size_t) got, max, truncated);
    else if (got == 0 || (errno != EINTR && errno != EAGAIN))
        s_close(&stream->fd);
}

static void s_set_status(command_result_t *result, int status)
{
    if (WIFEXITED(status)) {
        result->exit_code = WEXITSTATUS(status);
        result->term_signal = 0;
    }
    else if (WIFSIGNALED(status)) {
        result->exit_code = -1;
        result->term_signal = WTERMSIG(status);
    }
}

//  Non-blocking reap; true once the child is gone.
static bool s_try_reap(pid_t pid, command_result_t *result)
{
    int status;
    pid_t rc = waitpid(pid, &status, WNOHANG);
    if (rc == pid) {
        s_set_status(result, status);
        return true;
    }
    return rc < 0 && errno == ECHILD;
}

static void s_kill_and_reap(pid_t pid, bool reaped, command_result_t *result)
{
    kill(-pid, SIGKILL);
    if (reaped)
        return;
    //  In case the child left its group (setsid); the group kill then missed it.
    kill(pid, SIGKILL);
    int status = 0;
    pid_t rc;
    while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (rc == pid)
        s_set_status(result, status);
}

//  Collect output until both pipes close and the child exits, or the deadline passes.
static void s_collect(pid_t pid, s_stream_t streams[2], int timeout_ms, size_t max_output,
                      command_result_t *result)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    bool reaped = false;
    for (;;) {
        if (!reaped)
            reaped = s_try_reap(pid, result);
        bool open = streams[0].fd >= 0 || streams[1].fd >= 0;
        if (reaped && !open)
            return;
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0) {
            result->timed_out = true;
            s_kill_and_reap(pid, reaped, result);
            return;
        }
        struct pollfd pfd[2] = {{streams[0].fd, POLLIN, 0}, {streams[1].fd, POLLIN, 0}};
        int wait_ms = open ? (int) left : (int) (left < S_REAP_POLL_MS ? left : S_REAP_POLL_MS);
        if (poll(pfd, 2, wait_ms) <= 0)
            continue;
        for (int i = 0; i < 2; i++)
            if (streams[i].fd >= 0 && pfd[i].revents)
                s_drain(&streams[i], max_output, &result->truncated);
    }
}

//  Move a collected stream into the result as a NUL-terminated string (never NULL).
static int s_finish(s_stream_t *stream, char **text, size_t *len)
{
    if (!stream->buf) {
        stream->buf = malloc(1);
        if (!stream->buf)
            return -1;
    }
    stream->buf[stream->len] = '\0';
    *text = stream->buf;
    *len = stream->len;
    stream->buf = NULL;
    return 0;
}

static bool s_check_args(char *const argv[], int timeout_ms, command_result_t *result,
                         char *errbuf, size_t errlen)
{
    if (!result || !argv || !argv[0]) {
        snprintf(errbuf, errlen, "command: no command given");
        return false;
    }
    if (argv[0][0] != '/') {
        snprintf(errbuf, errlen, "%s: not an absolute path", argv[0]);
        return false;
    }
    if (timeout_ms <= 0) {
        snprintf(errbuf, errlen, "%s: timeout must be positive", argv[0]);
        return false;
    }
    return true;
}

int command_run(char *const argv[], char *const extra_env[], int timeout_ms, size_t max_output,
              command_result_t *result, char *errbuf, size_t errlen)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    s_stream_t streams[2] = {{-1, NULL, 0, 0}, {-1, NULL, 0, 0}};
    char **env = NULL;
    pid_t pid;

    if (result)
        *result = (command_result_t) {.exit_code = -1};
    if (!s_check_args(argv, timeout_ms, result, errbuf, errlen))
        return -1;
    env = s_build_env(extra_env, errbuf, errlen);
    if (!env)
        goto fail;
    pthread_mutex_lock(&s_spawn_lock);
    int started = -1;
    if (s_pipe(out_pipe) != 0 || s_pipe(err_pipe) != 0)
        snprintf(errbuf, errlen, "cannot run %s: pipe: %s", argv[0], strerror(errno));
    else
        started = s_start(argv, env, out_pipe[1], err_pipe[1], &pid, errbuf, errlen);
    pthread_mutex_unlock(&s_spawn_lock);
    if (started != 0)
        goto fail;
    s_close(&out_pipe[1]);
    s_close(&err_pipe[1]);
    streams[0].fd = out_pipe[0];
    streams[1].fd = err_pipe[0];
    out_pipe[0] = err_pipe[0] = -1;
    s_collect(pid, streams, timeout_ms, max_output, result);
    s_close(&streams[0].fd);
    s_close(&streams[1].fd);
    free(env);
    if (s_finish(&streams[0], &result->out, &result->out_len) != 0
        || s_finish(&streams[1], &result->err, &result->err_len) != 0) {
        free(streams[1].buf);
        command_result_free(result);
        snprintf(errbuf, errlen, "%s: out of memory", argv[0]);
        return -1;
    }
    return 0;
fail:
    free(env);
    s_close(&out_pipe[0]);
    s_close(&out_pipe[1]);
    s_close(&err_pipe[0]);
    s_close(&err_pipe[1]);
    return -1;
}

void command_result_free(command_result_t *result)
{
    if (!result)
        return;
    free(result->out);
    free(result->err);
    //  The same "not run" state command_run begins with, so nothing left in
    //  the struct can be mistaken for a command's outcome.
    *result = (command_result_t) {.exit_code = -1};
}
