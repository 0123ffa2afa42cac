/*  hmcsim — a simulated IBM HMC for tests: the REST API subset ferry uses
    (logon, managed systems, logical partitions, Migrate* jobs) over HTTPS,
    with partition moves that act on simulated AIX partitions and agents.

    Internal header shared by the files of ferry-hmcsim:
      model.c   configuration, systems, partitions, sessions, faults, stats
      jobs.c    job threads: validation, moves, recover, abort
      render.c  the XML the HMC answers with (Atom feeds and entries)
      server.c  libmicrohttpd: routing, authentication, fault injection
      gencert.c a self-signed certificate for 127.0.0.1 / localhost

    Concurrency: one mutex (hs_sim_t.lock) guards every mutable field of the
    model, the jobs and the sessions; one condition variable (cond, on the
    monotonic clock) is broadcast on every change a waiter may care about.
    Systems and partitions live in arrays that never move after loading, so
    indexes and pointers stay valid. Blocking work (agent notifications,
    signals, state directory writes) happens outside the lock. */
#ifndef FERRY_HMCSIM_H
#define FERRY_HMCSIM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_NAME_MAX 96          // system / partition names (the HMC allows 47 for partitions)
#define HS_UUID_MAX 40          // 36 characters and a NUL
#define HS_WORD_MAX 48          // states, types, serials, compatibility modes
#define HS_PATH_MAX 512
#define HS_TOKEN_LEN 172        // session tokens, like the HMC's base64 ones
#define HS_SESSIONS_MAX 1024    // oldest sessions are forgotten beyond this
#define HS_BODY_MAX (1024 * 1024)

//  Namespaces (reference/hmc-rest.md).
#define HS_NS_ATOM "http://www.w3.org/2005/Atom"
#define HS_NS_WEB "http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/"
#define HS_NS_UOM "http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/"

//  ---------------------------------------------------------------------------
//  Growing string buffer (render.c). Appends never fail visibly: on
//  allocation failure the buffer is marked and hs_buf_take returns NULL.

typedef struct {
    char *data;                 // owned, NUL-terminated
    size_t len;
    size_t cap;
    bool failed;                // an allocation failed
} hs_buf_t;

void hs_buf_printf(hs_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hs_buf_vprintf(hs_buf_t *buf, const char *fmt, va_list ap);
//  Append text with XML escaping (& < > " ').
void hs_buf_xml(hs_buf_t *buf, const char *text);
//  The text (owned by the caller) and an empty buffer; NULL after a failure.
char *hs_buf_take(hs_buf_t *buf, size_t *len);
void hs_buf_free(hs_buf_t *buf);

//  ---------------------------------------------------------------------------
//  Model

typedef enum {
    HS_OP_VALIDATE = 0,         // MigrateValidate
    HS_OP_MIGRATE,              // Migrate
    HS_OP_RECOVER,              // MigrateRecover
    HS_OP_ABORT,                // MigrateAbort
    HS_OP_COUNT
} hs_op_t;

typedef enum {
    HS_JOB_NOT_STARTED = 0,
    HS_JOB_RUNNING,
    HS_JOB_COMPLETED_OK,
    HS_JOB_COMPLETED_WITH_ERROR,
    HS_JOB_FAILED_BEFORE_COMPLETION
} hs_status_t;

//  Where a Migrate job is. Abort is possible up to HS_PHASE_COPY.
typedef enum {
    HS_PHASE_QUEUED = 0,        // NOT_STARTED
    HS_PHASE_CHECK,             // validating, notifying lpm-check / lpm-pre
    HS_PHASE_COPY,              // memory copy on the source (abortable)
    HS_PHASE_SWITCH,            // blackout: agent stopped, serial switched
    HS_PHASE_POST,              // resumed on the target, lpm-post
    HS_PHASE_DONE
} hs_phase_t;

//  Injected faults, per partition or global (hs_sim_t.fault). Strings owned.
typedef struct {
    char *validate_error;       // MigrateValidate / Migrate fail validation with this text
    char *migrate_error;        // Migrate fails after the copy with this text (stays on source)
    int64_t migrate_error_times; // fail only the first N Migrates (0 = every one)
    int64_t migrate_failed;     // Migrates failed so far by migrate_error
    bool hang;                  // Migrate stays RUNNING until aborted / cancelled
    bool agent_stays_stopped;   // no SIGCONT after the blackout (a silent agent)
    int64_t delay_ms;           // answers about this partition (or all) are this slow
} hs_fault_t;

typedef struct {
    char name[HS_NAME_MAX];
    char uuid[HS_UUID_MAX];     // lower case, as HMCs print system UUIDs
    char serial[HS_WORD_MAX];   // SerialNumber (also written into moved partitions)
    char prefix[3];             // 2-character systemid prefix (IBM,<prefix><serial>)
    char machine_type[HS_WORD_MAX];
    char model[HS_WORD_MAX];
    char state[HS_WORD_MAX];    // operating, standby, ...
    bool lpm_capable;           // ActiveLogicalPartitionMobilityCapable
    int64_t max_active;         // MaximumActiveMigrations
    int64_t max_inactive;       // MaximumInactiveMigrations
    int64_t memory_mb;          // InstalledSystemMemory
    int64_t memory_avail_mb;    // CurrentAvailableSystemMemory (moves reserve / release)
    int64_t proc_units;         // InstalledSystemProcessorUnits, in hundredths
    int64_t proc_avail;         // CurrentAvailableSystemProcessorUnits, in hundredths
    int64_t region_mb;          // MemoryRegionSize
    char compat_modes[256];     // comma-separated SupportedPartitionProcessorCompatibilityModes
    int64_t active;             // live active migrations (source or target)
    int64_t max_seen;           // highest value of active
    int64_t refused;            // Migrates refused because of max_active
    int64_t created_ms;
} hs_system_t;

typedef struct hs_job hs_job_t;

typedef struct {
    char name[HS_NAME_MAX];
    int64_t id;                 // PartitionID
    char uuid[HS_UUID_MAX];     // upper case, like the HMC
    size_t system;              // index of the system it runs on
    char state[HS_WORD_MAX];    // PartitionState
    char type[HS_WORD_MAX];     // PartitionType
    char rmc[HS_WORD_MAX];      // ResourceMonitoringControlState
    char migration[HS_WORD_MAX]; // MigrationState
    int64_t memory_mb;
    int64_t proc_units;         // hundredths
    int64_t vcpus;
    char compat[HS_WORD_MAX];   // CurrentProcessorCompatibilityMode
    bool physical_io;           // a required physical I/O slot is assigned
    bool management;            // IsManagementPartition
    char simlpar[HS_PATH_MAX];  // simulated AIX partition directory ("" = none)
    char spool[HS_PATH_MAX];    // agent spool directory for notify ("" = none)
    char pid_file[HS_PATH_MAX]; // agent pid file ("" = none)
    hs_fault_t fault;
    hs_job_t *move;             // the live Migrate job, NULL when none (borrowed)
    hs_job_t *moved;            // the latest Migrate that completed, NULL when none (borrowed)
    int64_t submissions[HS_OP_COUNT];
    int64_t created_ms;
} hs_partition_t;

typedef struct {
    char *name;                 // owned
    char *value;                // owned
} hs_param_t;

struct hs_job {
    char id[24];                // decimal, like the HMC's
    hs_op_t op;
    hs_status_t status;
    hs_phase_t phase;
    size_t part;                // index of the partition
    char target_name[HS_NAME_MAX]; // TargetManagedSystemName ("" when absent)
    int source;                 // system index when the move began (-1 before)
    int target;                 // system index of the target (-1 when unknown)
    hs_param_t *params;         // owned, the JobParameters as sent
    size_t param_count;
    int64_t submitted_ms;       // wall clock
    int64_t started_ms;         // TimeStarted (0 = not yet)
    int64_t completed_ms;       // TimeCompleted (0 = not yet)
    int64_t blackout_start_ms;  // agent stopped (0 = never)
    int64_t blackout_end_ms;    // agent resumed
    int64_t resumed_ms;         // the resumed agent answered lpm-post (0 = never)
    //  What the client did after the end (for benchmarks: how long it took to notice).
    int64_t polls;              // GETs of the job answered
    int64_t final_polled_ms;    // the first GET answered with a final status (0 = none)
    int64_t placement_read_ms;  // Migrate COMPLETED_OK: the first GET of the partition's
                                // entry alone after it (0 = none)
    char *result;               // owned: HSCL message (COMPLETED_WITH_ERROR) or info
    char *exception;            // owned: ResponseException (FAILED_BEFORE_COMPLETION)
    pid_t stopped_pid;          // agent stopped by this job, 0 when none
    bool abort_requested;       // MigrateAbort, cancel or MigrateRecover asked it to stop
    bool counted;               // holds an active-migration slot on source and target
    bool reserved;              // holds memory / processor units on the target
    bool deleted;               // DELETE jobs/{id} was answered
};

//  One logged-on session.
typedef struct {
    char token[HS_TOKEN_LEN + 1];
    int64_t requests;           // authenticated requests served with it
} hs_session_t;

typedef struct {
    //  Settings (read-only after hs_sim_new, except the runtime fault knobs).
    char bind[64];              // listen address (loopback only)
    int64_t port;               // 0 = any free port
    char port_file[HS_PATH_MAX];
    char cert_file[HS_PATH_MAX];
    char key_file[HS_PATH_MAX];
    char stats_file[HS_PATH_MAX];
    char user[HS_NAME_MAX];
    char *password;             // owned, from password_file (secret: never logged)
    int64_t job_duration_ms;    // RUNNING time of a Migrate, blackout included
    int64_t validate_ms;        // RUNNING time of a MigrateValidate
    int64_t recover_ms;         // RUNNING time of a MigrateRecover
    int64_t start_delay_ms;     // NOT_STARTED time of every job
    int64_t blackout_ms;        // agent stopped for this long during a move
    int64_t notify_timeout_ms;  // per agent notification
    bool pad_token;             // surround X-API-Session with whitespace (clients must trim)
    char base_url[128];         // https://127.0.0.1:PORT, set once listening

    //  Global faults (runtime-changeable through POST /sim/fault).
    hs_fault_t fault;
    int64_t session_max_requests; // a session answers 401 after N requests (0 = never)
    int64_t http_error_count;   // the next K /rest/api/uom requests fail ...
    int64_t http_error_status;  // ... with this status

    //  State.
    hs_system_t *systems;       // owned, system_count entries, never reallocated
    size_t system_count;
    hs_partition_t *parts;      // owned, part_count entries, never reallocated
    size_t part_count;
    hs_job_t **jobs;            // owned, in submission order
    size_t job_count;
    size_t job_cap;
    uint64_t next_job_id;
    hs_session_t *sessions;     // owned
    size_t session_count;

    //  Counters for /sim/stats.
    int64_t requests;
    int64_t logons;
    int64_t errors_injected;
    int64_t sessions_expired;

    pthread_mutex_t lock;
    pthread_cond_t cond;        // CLOCK_MONOTONIC
    bool stopping;
    int64_t threads;            // job threads still running
} hs_sim_t;

//  Load the ZPL config at path (README.md lists every key). New simulator
//  owned by the caller, or NULL with a message in err.
hs_sim_t *hs_sim_new(const char *path, char *err, size_t errlen);

//  Stop the jobs (agents still stopped are resumed), wait for their threads,
//  free everything and NULL the pointer. Safe on NULL.
void hs_sim_destroy(hs_sim_t **self_p);

//  Ask every job thread to end and wait up to timeout_ms for them.
void hs_sim_stop(hs_sim_t *self, int64_t timeout_ms);

//  Lookups; call with the lock held. NULL when absent (case-insensitive UUIDs).
hs_system_t *hs_system_by_uuid(hs_sim_t *self, const char *uuid);
hs_system_t *hs_system_by_name(hs_sim_t *self, const char *name);
hs_partition_t *hs_part_by_uuid(hs_sim_t *self, const char *uuid);
hs_partition_t *hs_part_by_name(hs_sim_t *self, const char *name);
hs_job_t *hs_job_by_id(hs_sim_t *self, const char *id);

//  Sessions; call with the lock held. New token into token (HS_TOKEN_LEN + 1).
int hs_session_new(hs_sim_t *self, char *token);
//  0 when the token is valid (its request count goes up), -1 when unknown
//  or just expired (session_max_requests).
int hs_session_use(hs_sim_t *self, const char *token);
//  0 when the token existed (and is now gone), -1 otherwise.
int hs_session_drop(hs_sim_t *self, const char *token);

//  The delay to apply before answering a request about part (may be NULL):
//  the larger of the global and the partition's. Lock held.
int64_t hs_delay_ms(hs_sim_t *self, const hs_partition_t *part);

//  Wait on cond until the monotonic deadline (INT64_MAX = no deadline),
//  until stopping, or until *flag (may be NULL) turns true. Lock held.
//  Returns 0 at the deadline, 1 when *flag is set, 2 when stopping.
int hs_wait(hs_sim_t *self, int64_t deadline_ms, const bool *flag);

//  One wait on cond: returns on a broadcast or at the deadline (or
//  spuriously); the caller re-checks its condition. Lock held.
void hs_wait_change(hs_sim_t *self, int64_t deadline_ms);

//  /sim/stats as JSON text (caller frees), NULL on allocation failure.
//  Takes the lock itself.
char *hs_stats_json(hs_sim_t *self);

//  Write hs_stats_json to path atomically. 0 / -1 with a message.
int hs_stats_write(hs_sim_t *self, const char *path, char *err, size_t errlen);

//  Apply a POST /sim/fault JSON body (README.md). Takes the lock. 0 / -1
//  with a message.
int hs_fault_apply(hs_sim_t *self, const char *json, char *err, size_t errlen);

//  ---------------------------------------------------------------------------
//  Jobs (jobs.c)

extern const char *const hs_op_names[HS_OP_COUNT];   // "MigrateValidate", ...
const char *hs_status_name(hs_status_t status);
//  Operation named text, or -1.
int hs_op_parse(const char *text);

//  Submit op on part with the given parameters (copied). Lock held. The new
//  job (owned by the simulator) into *job. 0 / -1 with a message (out of
//  memory or no thread).
int hs_job_submit(hs_sim_t *self, hs_op_t op, hs_partition_t *part, const hs_param_t *params,
                  size_t count, hs_job_t **job, char *err, size_t errlen);

//  POST jobs/{id}/cancel: ask a running job to stop (a Migrate only before
//  its blackout). Lock held.
void hs_job_cancel(hs_sim_t *self, hs_job_t *job);

//  ---------------------------------------------------------------------------
//  XML (render.c). Every function appends a whole document to buf; lock held.

void hs_render_system_feed(hs_buf_t *buf, hs_sim_t *sim, const char *self_path,
                           hs_system_t **systems, size_t count);
void hs_render_system_entry(hs_buf_t *buf, hs_sim_t *sim, hs_system_t *sys);
//  via: the system of the request path (/ManagedSystem/{uuid}/LogicalPartition)
//  or NULL for /LogicalPartition.
void hs_render_lpar_feed(hs_buf_t *buf, hs_sim_t *sim, const char *self_path,
                         hs_partition_t **parts, size_t count, hs_system_t *via);
void hs_render_lpar_entry(hs_buf_t *buf, hs_sim_t *sim, hs_partition_t *part, hs_system_t *via);
void hs_render_job(hs_buf_t *buf, hs_sim_t *sim, hs_job_t *job);
void hs_render_job_template(hs_buf_t *buf, hs_op_t op);
void hs_render_error(hs_buf_t *buf, int status, const char *uri, const char *reason,
                     const char *message);
void hs_render_logon(hs_buf_t *buf, const char *token, bool pad);

//  ---------------------------------------------------------------------------
//  Server (server.c)

typedef struct hs_server hs_server_t;

//  Listen on sim->bind:sim->port with TLS, write port_file, set base_url.
//  New server owned by the caller, or NULL with a message.
hs_server_t *hs_server_start(hs_sim_t *sim, char *err, size_t errlen);

//  Stop accepting, finish the requests in flight, free, NULL the pointer.
void hs_server_stop(hs_server_t **self_p);

//  ---------------------------------------------------------------------------
//  gencert.c: DIR/cert.pem (0644) and DIR/key.pem (0600), self-signed for
//  127.0.0.1, ::1 and localhost. 0 / -1 with a message.
int hs_gencert(const char *dir, char *err, size_t errlen);

//  ---------------------------------------------------------------------------
//  Helpers (model.c)

//  Processor units in hundredths as the HMC prints them: 50 -> "0.5", 200 -> "2".
void hs_units_str(int64_t hundredths, char *buf, size_t len);
//  Wall-clock ms as ISO 8601 with milliseconds and Z.
void hs_iso_time(int64_t wall_ms, char *buf, size_t len);
//  Whole small file into a malloc'd string (caller frees), trailing newlines
//  removed. secret: refuse a file that group or others may access. NULL
//  with a message.
char *hs_read_file(const char *path, size_t max, bool secret, char *err, size_t errlen);
//  A UUID derived from text (stable across runs), lower or upper case.
void hs_uuid_from(const char *text, bool upper, char *buf, size_t len);

#endif
