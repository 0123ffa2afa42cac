/*  harness — runs the real ferry binaries for integration tests: a temp
    directory with keys and configs, processes started and stopped with
    signals, and polling of the collector's database with deadlines.

    Every process started here dies with the test, however it ends: each
    leads its own process group (killed as a group at teardown and, on
    abort(), by a SIGABRT handler) and gets SIGKILL from PR_SET_PDEATHSIG
    when the test process dies (a crash, ctest's SIGKILL at its timeout).
    The children inherit FERRY_TEST_RUN (set by ferry-testrun under ctest),
    and the temp directory is named after it, which is how the suite's
    no_leftover_processes check finds what outlived a test. */
#ifndef FERRY_HARNESS_H
#define FERRY_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define IT_MAX_PROCS 256
//  Marks every process of one ctest run (see tests/tools/testrun.c).
#define IT_RUN_ENV "FERRY_TEST_RUN"

typedef struct {
    char dir[256];              // private temp directory of this test
    char bin[256];              // where ferry-* binaries are
    int port;                   // collector port on 127.0.0.1
    char endpoint[64];          // tcp://127.0.0.1:PORT
    char db[320];               // collector database
    char allowed[320];          // allowed agent certificates
    char collector_cert[320];   // collector certificate (public; _secret beside)
    char collector_log[320];    // collector's stderr
    pid_t collector;            // running collector, 0 if none
    pid_t procs[IT_MAX_PROCS];  // every process started, for teardown
    int proc_count;             // entries in procs
} it_env_t;

//  FERRY_TEST_RUN of this run (borrowed), "" when unset or not a plain
//  [0-9a-z-] word.
const char *it_run_id(void);

//  A TCP port on 127.0.0.1 nobody listens on right now.
int it_free_port(void);

//  Remove dir (borrowed) and everything below it; what cannot be removed stays.
void it_rmtree(const char *dir);

//  Temp dir (/tmp/ferry-it-RUN-XXXXXX), collector key, allowed dir, free
//  port. Aborts the test on failure.
void it_setup(it_env_t *env);

//  cmocka setup / teardown of a test whose state is a bare it_env_t: it_setup
//  into a new env (*state, owned by the test until it_env_teardown), and
//  it_teardown then free.
int it_env_setup(void **state);
int it_env_teardown(void **state);

//  ferry-loadgen keys: COUNT simulated agents in DIR/loadgen-keys, allowed by
//  the collector. Aborts the test on failure.
void it_loadgen_keys(it_env_t *env, int count);

//  SIGKILL the process group of whatever still runs, reap it, remove the
//  temp dir (unless FERRY_KEEP_TEST_DIR is set, for post-mortems).
void it_teardown(it_env_t *env);

//  Write DIR/collector.conf (with extra ZPL lines under "collector", may be
//  NULL) and start the collector; waits until it accepts TCP connections.
pid_t it_start_collector(it_env_t *env, const char *extra);

//  Create keys for agent NAME under DIR/NAME (once); copy its public cert to
//  the allowed dir when allow is true.
void it_agent_keygen(it_env_t *env, const char *name, bool allow);

//  Start agent NAME (keys made and allowed if missing), config with extra
//  lines under "agent". Its stderr goes to DIR/NAME.log.
pid_t it_start_agent(it_env_t *env, const char *name, const char *extra);

//  Send sig and wait up to timeout_ms for the process to end. Returns its
//  wait status, or -1 when it did not end in time.
int it_stop(it_env_t *env, pid_t pid, int sig, int timeout_ms);

//  Start a binary from the bin dir (argv[0] is its name) in the background,
//  output appended to DIR/LOGNAME.log. Returns its pid (= its process
//  group). Call from the main thread only (PR_SET_PDEATHSIG follows the
//  thread that forked); it aborts otherwise. Every it_start_* goes here.
pid_t it_spawn(it_env_t *env, const char *logname, char *const argv[]);

//  Run a binary from the bin dir to completion (argv[0] is the binary's name);
//  output appended to DIR/NAME.log. Returns the exit code, -1 on timeout/signal.
int it_run(it_env_t *env, const char *logname, int timeout_ms, char *const argv[]);

//  First column of the first row of sql on the collector database (read-only
//  connection); -1 when the query fails (e.g. no database yet).
int64_t it_db_int(it_env_t *env, const char *sql);

//  Poll until it_db_int(sql) >= want or timeout_ms passes. Returns the last value.
int64_t it_wait_db(it_env_t *env, const char *sql, int64_t want, int timeout_ms);

//  Poll until the file contains needle or timeout_ms passes.
bool it_wait_file(const char *path, const char *needle, int timeout_ms);

//  Poll until the file has at least count lines containing needle.
bool it_wait_file_count(const char *path, const char *needle, int count, int timeout_ms);

//  Public key (Z85) of agent NAME into out (41 bytes).
void it_agent_key(it_env_t *env, const char *name, char *out);

//  Path of a file in the test dir.
void it_path(it_env_t *env, char *out, size_t size, const char *name);

//  Parse the last "next seq N" from an agent's log; 0 when absent.
uint64_t it_agent_logged_next_seq(it_env_t *env, const char *name);

#endif
