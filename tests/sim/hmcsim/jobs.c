/*  jobs — one thread per HMC job: MigrateValidate checks what an HMC checks,
    Migrate moves a partition (agent notifications, blackout with the agent
    stopped, the simulated partition's serial switched to the target's),
    MigrateRecover puts a partition back in a consistent state, MigrateAbort
    stops a move that has not reached its blackout yet.

    Threads hold sim->lock except around blocking work (notifications,
    state-directory writes); every wait is on sim->cond with a deadline. */
#include "hmcsim.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "notify.h"
#include "simstate.h"

#define S_MSG_MAX 512

const char *const hs_op_names[HS_OP_COUNT] = {
    [HS_OP_VALIDATE] = "MigrateValidate",
    [HS_OP_MIGRATE] = "Migrate",
    [HS_OP_RECOVER] = "MigrateRecover",
    [HS_OP_ABORT] = "MigrateAbort",
};

const char *hs_status_name(hs_status_t status)
{
    switch (status) {
    case HS_JOB_NOT_STARTED: return "NOT_STARTED";
    case HS_JOB_RUNNING: return "RUNNING";
    case HS_JOB_COMPLETED_OK: return "COMPLETED_OK";
    case HS_JOB_COMPLETED_WITH_ERROR: return "COMPLETED_WITH_ERROR";
    case HS_JOB_FAILED_BEFORE_COMPLETION: return "FAILED_BEFORE_COMPLETION";
    }
    return "UNKNOWN";
}

int hs_op_parse(const char *text)
{
    for (int i = 0; i < HS_OP_COUNT; i++)
        if (strcmp(text, hs_op_names[i]) == 0)
            return i;
    return -1;
}

typedef struct {
    hs_sim_t *sim;
    hs_job_t *job;
} s_arg_t;

//  ---------------------------------------------------------------------------
//  Helpers (lock held unless said otherwise)

static void s_finish(hs_sim_t *sim, hs_job_t *job, hs_status_t status, const char *result,
                     const char *exception)
{
    hs_partition_t *part = &sim->parts[job->part];
    job->status = status;
    job->phase = HS_PHASE_DONE;
    job->completed_ms = clock_wall_ms();
    free(job->result);
    free(job->exception);
    job->result = result ? strdup(result) : NULL;
    job->exception = exception ? strdup(exception) : NULL;
    pthread_cond_broadcast(&sim->cond);
    if (status == HS_JOB_COMPLETED_OK)
        log_info("job %s %s %s: %s%s%s", job->id, hs_op_names[job->op], part->name,
                 hs_status_name(status), result ? ": " : "", result ? result : "");
    else
        log_info("job %s %s %s: %s: %s", job->id, hs_op_names[job->op], part->name,
                 hs_status_name(status), result ? result : exception ? exception : "");
}

//  The move's active-migration slots and target reservation go back.
static void s_release(hs_sim_t *sim, hs_job_t *job)
{
    hs_partition_t *part = &sim->parts[job->part];
    if (job->counted) {
        sim->systems[job->source].active--;
        sim->systems[job->target].active--;
        job->counted = false;
    }
    if (job->reserved) {
        sim->systems[job->target].memory_avail_mb += part->memory_mb;
        sim->systems[job->target].proc_avail += part->proc_units;
        job->reserved = false;
    }
    if (part->move == job)
        part->move = NULL;
    pthread_cond_broadcast(&sim->cond);
}

//  Lock NOT held: tell the partition's agent about a phase. A missing agent
//  is logged, not fatal (a real HMC does not know about agents). True when
//  the agent answered.
static bool s_notify(const char *spool, const char *event, int64_t timeout_ms, const char *name)
{
    if (!*spool) {
        log_debug("partition %s: no agent_spool, %s not sent", name, event);
        return false;
    }
    char err[512];
    if (notify_send(spool, event, (int) timeout_ms, err, sizeof err) != 0) {
        log_warn("partition %s: %s not delivered: %s", name, event, err);
        return false;
    }
    log_info("partition %s: agent notified %s", name, event);
    return true;
}

//  Lock NOT held: the agent's pid from its pid file, 0 when none / invalid.
static pid_t s_agent_pid(const char *path, const char *name)
{
    if (!*path)
        return 0;
    char buf[32] = "";
    FILE *file = fopen(path, "r");
    if (!file) {
        log_warn("partition %s: cannot read agent pid file %s: %s", name, path, strerror(errno));
        return 0;
    }
    size_t got = fread(buf, 1, sizeof buf - 1, file);
    fclose(file);
    buf[got] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    while (end && (*end == '\n' || *end == ' ' || *end == '\r'))
        end++;
    if (!end || end == buf || *end || pid <= 1 || pid == (long) getpid()) {
        log_warn("partition %s: %s does not hold a usable pid", name, path);
        return 0;
    }
    return (pid_t) pid;
}

//  Lock NOT held: systemid of the simulated partition := IBM,<prefix><serial>.
static void s_switch_serial(const char *simlpar, const char *prefix, const char *serial,
                            const char *name)
{
    if (!*simlpar)
        return;
    char state[HS_PATH_MAX + 16], err[512];
    if (sim_state_dir(simlpar, state, sizeof state) != 0) {
        log_error("partition %s: simlpar path %s is too long", name, simlpar);
        return;
    }
    int lock = sim_lock(state, err, sizeof err);
    if (lock < 0) {
        log_error("partition %s: %s", name, err);
        return;
    }
    if (sim_set_systemid(state, prefix, serial, err, sizeof err) != 0)
        log_error("partition %s: cannot switch its systemid: %s", name, err);
    else
        log_info("partition %s: systemid is now IBM,%s%s", name, prefix, serial);
    sim_unlock(lock);
}

//  The first configured fault message: the partition's, else the global one.
static const char *s_fault_msg(const char *own, const char *global)
{
    return own ? own : global;
}

//  True when word is one of the comma-separated items of list.
static bool s_in_list(const char *list, const char *word)
{
    size_t want = strlen(word);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == want && strncmp(p, word, want) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

//  What an HMC checks before a move. The target (job->target) is resolved
//  here. 0, or -1 with an HSCL message in msg.
static int s_check(hs_sim_t *sim, hs_job_t *job, char *msg, size_t len)
{
    hs_partition_t *part = &sim->parts[job->part];
    hs_system_t *src = &sim->systems[part->system];
    hs_system_t *dst = hs_system_by_name(sim, job->target_name);
    char need[32], have[32];
    job->target = dst ? (int) (dst - sim->systems) : -1;
    if (!dst) {
        snprintf(msg, len, "HSCL8012 The managed system %s was not found. Check the name of the"
                 " destination managed system.", job->target_name);
        return -1;
    }
    if (dst == src) {
        snprintf(msg, len, "HSCLA2E6 Partition %s already runs on managed system %s: the source"
                 " and destination managed systems are the same.", part->name, src->name);
        return -1;
    }
    if (part->management || strcmp(part->type, "Virtual IO Server") == 0) {
        snprintf(msg, len, "HSCLA2CE Partition %s is a %s partition, which cannot be migrated.",
                 part->name, part->management ? "management" : "Virtual I/O Server");
        return -1;
    }
    if (strcmp(part->migration, "Not_Migrating") != 0) {
        snprintf(msg, len, "HSCLA228 Partition %s is being migrated or its last migration did not"
                 " finish (migration state %s). Wait for the migration to end, or recover it with"
                 " MigrateRecover.", part->name, part->migration);
        return -1;
    }
    if (strcmp(part->state, "running") != 0) {
        snprintf(msg, len, "HSCL3601 Partition %s is in state '%s'. Active partition migration"
                 " needs a running partition.", part->name, part->state);
        return -1;
    }
    if (strcmp(part->rmc, "active") != 0) {
        snprintf(msg, len, "HSCL3654 The RMC connection between partition %s and the management"
                 " console is not active (state %s). Active partition migration needs an active"
                 " RMC connection: check that the RSCT daemons run in the partition and that it"
                 " can reach the HMC.", part->name, part->rmc);
        return -1;
    }
    if (part->physical_io) {
        snprintf(msg, len, "HSCLA27C The operation to get the physical device location for adapter"
                 " U78D3.001.WZS0G4N-P1-C3 on partition %s failed: the partition owns a"
                 " physical I/O adapter. Remove physical I/O adapters with a dynamic LPAR"
                 " operation before migrating.", part->name);
        return -1;
    }
    if (strcmp(src->state, "operating") != 0 || !src->lpm_capable) {
        snprintf(msg, len, "HSCLA20C The source managed system %s is not %s.", src->name,
                 !src->lpm_capable ? "capable of active partition mobility" : "operating");
        return -1;
    }
    if (strcmp(dst->state, "operating") != 0) {
        snprintf(msg, len, "HSCL0222 The destination managed system %s is in state '%s'; it must"
                 " be operating.", dst->name, dst->state);
        return -1;
    }
    if (!dst->lpm_capable) {
        snprintf(msg, len, "HSCLA20D The destination managed system %s is not capable of active"
                 " partition mobility.", dst->name);
        return -1;
    }
    if (dst->region_mb != src->region_mb) {
        snprintf(msg, len, "HSCLA2A4 The memory region size of the destination managed system %s"
                 " (%" PRId64 " MB) differs from that of the source managed system %s (%" PRId64
                 " MB).", dst->name, dst->region_mb, src->name, src->region_mb);
        return -1;
    }
    if (!s_in_list(dst->compat_modes, part->compat)) {
        snprintf(msg, len, "HSCLA2F0 The destination managed system %s does not support the"
                 " processor compatibility mode %s of partition %s.", dst->name, part->compat,
                 part->name);
        return -1;
    }
    if (dst->memory_avail_mb < part->memory_mb) {
        snprintf(msg, len, "HSCLA319 The destination managed system %s does not have enough"
                 " available memory for partition %s: %" PRId64 " MB needed, %" PRId64
                 " MB available.", dst->name, part->name, part->memory_mb, dst->memory_avail_mb);
        return -1;
    }
    if (dst->proc_avail < part->proc_units) {
        hs_units_str(part->proc_units, need, sizeof need);
        hs_units_str(dst->proc_avail, have, sizeof have);
        snprintf(msg, len, "HSCLA31A The destination managed system %s does not have enough"
                 " available processing units for partition %s: %s needed, %s available.",
                 dst->name, part->name, need, have);
        return -1;
    }
    const char *injected = s_fault_msg(part->fault.validate_error, sim->fault.validate_error);
    if (injected) {
        snprintf(msg, len, "%s", injected);
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  Operations (lock held on entry and exit)

static void s_validate(hs_sim_t *sim, hs_job_t *job, int64_t run_mono)
{
    char msg[S_MSG_MAX];
    int waited = hs_wait(sim, run_mono + sim->validate_ms, &job->abort_requested);
    if (waited == 2)
        s_finish(sim, job, HS_JOB_FAILED_BEFORE_COMPLETION, NULL,
                 "The management console is shutting down.");
    else if (waited == 1)
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR,
                 "HSCL2933 The job was cancelled by request.", NULL);
    else if (s_check(sim, job, msg, sizeof msg) != 0)
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
    else
        s_finish(sim, job, HS_JOB_COMPLETED_OK, NULL, NULL);
}

//  The move failed or was stopped before its blackout: the partition stays
//  on the source; the agent hears lpm-posterror.
static void s_move_failed(hs_sim_t *sim, hs_job_t *job, const char *migration, const char *msg,
                          const char *spool, int64_t timeout_ms)
{
    hs_partition_t *part = &sim->parts[job->part];
    char name[HS_NAME_MAX];
    snprintf(name, sizeof name, "%s", part->name);
    s_release(sim, job);
    snprintf(part->state, sizeof part->state, "running");
    snprintf(part->migration, sizeof part->migration, "%s", migration);
    s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
    pthread_mutex_unlock(&sim->lock);
    s_notify(spool, "lpm-posterror", timeout_ms, name);
    pthread_mutex_lock(&sim->lock);
}

static void s_migrate(hs_sim_t *sim, hs_job_t *job, int64_t run_mono)
{
    hs_partition_t *part = &sim->parts[job->part];
    char msg[S_MSG_MAX];
    job->phase = HS_PHASE_CHECK;
    if (s_check(sim, job, msg, sizeof msg) != 0) {
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
        return;
    }
    hs_system_t *src = &sim->systems[part->system], *dst = &sim->systems[job->target];
    hs_system_t *full = src->active >= src->max_active ? src
                        : dst->active >= dst->max_active ? dst : NULL;
    if (full) {
        full->refused++;
        snprintf(msg, sizeof msg, "HSCLA3F5 The maximum number of concurrent active partition"
                 " migrations (%" PRId64 ") is already in progress on managed system %s. Retry"
                 " the operation when a migration has completed.", full->max_active, full->name);
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
        return;
    }
    //  The move takes a slot on both systems and reserves the target's resources.
    job->source = (int) part->system;
    job->counted = job->reserved = true;
    if (++src->active > src->max_seen)
        src->max_seen = src->active;
    if (++dst->active > dst->max_seen)
        dst->max_seen = dst->active;
    dst->memory_avail_mb -= part->memory_mb;
    dst->proc_avail -= part->proc_units;
    part->move = job;
    snprintf(part->state, sizeof part->state, "migrating running");
    snprintf(part->migration, sizeof part->migration, "Migration_Starting");
    pthread_cond_broadcast(&sim->cond);

    //  What the unlocked parts need, copied now.
    char name[HS_NAME_MAX], spool[HS_PATH_MAX], pid_file[HS_PATH_MAX], simlpar[HS_PATH_MAX];
    char prefix[3], serial[HS_WORD_MAX], fail[S_MSG_MAX] = "";
    snprintf(name, sizeof name, "%s", part->name);
    snprintf(spool, sizeof spool, "%s", part->spool);
    snprintf(pid_file, sizeof pid_file, "%s", part->pid_file);
    snprintf(simlpar, sizeof simlpar, "%s", part->simlpar);
    snprintf(prefix, sizeof prefix, "%s", dst->prefix);
    snprintf(serial, sizeof serial, "%s", dst->serial);
    bool hang = part->fault.hang || sim->fault.hang;
    bool stays_stopped = part->fault.agent_stays_stopped || sim->fault.agent_stays_stopped;
    hs_fault_t *failing = part->fault.migrate_error ? &part->fault
                          : sim->fault.migrate_error ? &sim->fault : NULL;
    if (failing && (failing->migrate_error_times == 0 ||
                    failing->migrate_failed < failing->migrate_error_times)) {
        failing->migrate_failed++;
        snprintf(fail, sizeof fail, "%s", failing->migrate_error);
    }
    int64_t timeout = sim->notify_timeout_ms, blackout = sim->blackout_ms;
    int64_t copy_ms = sim->job_duration_ms > blackout ? sim->job_duration_ms - blackout : 0;
    log_info("job %s: moving %s from %s to %s", job->id, name, src->name, dst->name);

    pthread_mutex_unlock(&sim->lock);
    s_notify(spool, "lpm-check", timeout, name);
    s_notify(spool, "lpm-pre", timeout, name);
    pthread_mutex_lock(&sim->lock);

    job->phase = HS_PHASE_COPY;
    snprintf(part->migration, sizeof part->migration, "Migration_In_Progress");
    pthread_cond_broadcast(&sim->cond);
    int waited = hs_wait(sim, hang ? INT64_MAX : run_mono + copy_ms, &job->abort_requested);
    if (waited == 2) {
        s_release(sim, job);
        snprintf(part->state, sizeof part->state, "running");
        snprintf(part->migration, sizeof part->migration, "Migration_Failed");
        s_finish(sim, job, HS_JOB_FAILED_BEFORE_COMPLETION, NULL,
                 "The management console is shutting down; the migration was stopped.");
        return;
    }
    if (waited == 1) {
        snprintf(msg, sizeof msg, "HSCLA2D2 The migration of partition %s to managed system %s"
                 " was stopped by request; the partition remains on managed system %s.", name,
                 dst->name, src->name);
        s_move_failed(sim, job, "Not_Migrating", msg, spool, timeout);
        return;
    }
    if (*fail) {
        s_move_failed(sim, job, "Migration_Failed", fail, spool, timeout);
        return;
    }

    //  Blackout: the partition is suspended on the source and resumes on the
    //  target; from here on the move can no longer be stopped.
    job->phase = HS_PHASE_SWITCH;
    pthread_cond_broadcast(&sim->cond);
    pthread_mutex_unlock(&sim->lock);
    pid_t pid = s_agent_pid(pid_file, name);
    if (pid > 0 && kill(pid, SIGSTOP) != 0) {
        log_warn("partition %s: cannot stop agent pid %d: %s", name, (int) pid, strerror(errno));
        pid = 0;
    }
    pthread_mutex_lock(&sim->lock);
    job->stopped_pid = pid;
    job->blackout_start_ms = clock_wall_ms();
    hs_wait(sim, clock_mono_ms() + blackout, NULL);
    pthread_mutex_unlock(&sim->lock);
    s_switch_serial(simlpar, prefix, serial, name);
    pthread_mutex_lock(&sim->lock);

    part->system = (size_t) job->target;
    src->memory_avail_mb += part->memory_mb;
    src->proc_avail += part->proc_units;
    job->reserved = false;                  // the target's reservation is now its home
    job->phase = HS_PHASE_POST;
    //  Timed before SIGCONT, like the start after SIGSTOP: the agent was
    //  stopped all the time between, however late this thread runs.
    job->blackout_end_ms = clock_wall_ms();
    if (job->stopped_pid > 0 && !stays_stopped) {
        kill(job->stopped_pid, SIGCONT);
        job->stopped_pid = 0;
    }
    pthread_cond_broadcast(&sim->cond);
    pthread_mutex_unlock(&sim->lock);
    //  The agent answers on its own loop: from here on it runs again. Tests
    //  bound the outage the collector measured by this, not by the setting.
    bool answered = s_notify(spool, "lpm-post", timeout, name);
    pthread_mutex_lock(&sim->lock);
    if (answered)
        job->resumed_ms = clock_wall_ms();

    s_release(sim, job);
    snprintf(part->state, sizeof part->state, "running");
    snprintf(part->migration, sizeof part->migration, "Not_Migrating");
    part->moved = job;
    s_finish(sim, job, HS_JOB_COMPLETED_OK, NULL, NULL);
}

//  The partition's Migrate jobs not finished yet (queued or running), newest
//  first, into live (at most max). Their count.
static size_t s_live_moves(hs_sim_t *sim, size_t part, hs_job_t **live, size_t max)
{
    size_t count = 0;
    for (size_t i = sim->job_count; i > 0 && count < max; i--) {
        hs_job_t *job = sim->jobs[i - 1];
        if (job->op == HS_OP_MIGRATE && job->part == part && job->status <= HS_JOB_RUNNING)
            live[count++] = job;
    }
    return count;
}

//  Ask the partition's queued and running moves to stop (those past their
//  blackout cannot) and wait until none is left, up to a deadline.
static bool s_stop_moves(hs_sim_t *sim, hs_partition_t *part)
{
    size_t index = (size_t) (part - sim->parts);
    hs_job_t *live[16];
    size_t count = s_live_moves(sim, index, live, 16);
    for (size_t i = 0; i < count; i++)
        if (live[i]->phase <= HS_PHASE_COPY)
            live[i]->abort_requested = true;
    pthread_cond_broadcast(&sim->cond);
    int64_t deadline = clock_mono_ms() + sim->blackout_ms + 3 * sim->notify_timeout_ms + 10000;
    while (s_live_moves(sim, index, live, 1) > 0 && !sim->stopping && clock_mono_ms() < deadline)
        hs_wait_change(sim, deadline);
    return s_live_moves(sim, index, live, 1) == 0;
}

static void s_recover(hs_sim_t *sim, hs_job_t *job, int64_t run_mono)
{
    hs_partition_t *part = &sim->parts[job->part];
    char msg[S_MSG_MAX];
    //  A stuck (or queued) move that has not switched yet is stopped; one
    //  past its blackout is left to complete.
    if (!s_stop_moves(sim, part)) {
        snprintf(msg, sizeof msg, "HSCLA2D6 The migration of partition %s is still completing;"
                 " retry the recovery when it has ended.", part->name);
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
        return;
    }
    int waited = hs_wait(sim, run_mono + sim->recover_ms, &job->abort_requested);
    if (waited != 0) {
        s_finish(sim, job, waited == 2 ? HS_JOB_FAILED_BEFORE_COMPLETION
                                       : HS_JOB_COMPLETED_WITH_ERROR,
                 waited == 2 ? NULL : "HSCL2933 The job was cancelled by request.",
                 waited == 2 ? "The management console is shutting down." : NULL);
        return;
    }
    bool changed = false;
    if (strncmp(part->state, "migrating", 9) == 0) {
        snprintf(part->state, sizeof part->state, "running");
        changed = true;
    }
    if (strcmp(part->migration, "Not_Migrating") != 0) {
        snprintf(part->migration, sizeof part->migration, "Not_Migrating");
        changed = true;
    }
    hs_system_t *sys = &sim->systems[part->system];
    char name[HS_NAME_MAX], simlpar[HS_PATH_MAX], prefix[3], serial[HS_WORD_MAX];
    snprintf(name, sizeof name, "%s", part->name);
    snprintf(simlpar, sizeof simlpar, "%s", part->simlpar);
    snprintf(prefix, sizeof prefix, "%s", sys->prefix);
    snprintf(serial, sizeof serial, "%s", sys->serial);
    snprintf(msg, sizeof msg, "Partition %s %s on managed system %s.", name,
             changed ? "was recovered" : "needed no recovery; it runs", sys->name);
    pthread_cond_broadcast(&sim->cond);
    //  The simulated partition agrees with the HMC on where it runs.
    pthread_mutex_unlock(&sim->lock);
    s_switch_serial(simlpar, prefix, serial, name);
    pthread_mutex_lock(&sim->lock);
    s_finish(sim, job, HS_JOB_COMPLETED_OK, msg, NULL);
}

static void s_abort(hs_sim_t *sim, hs_job_t *job)
{
    hs_partition_t *part = &sim->parts[job->part];
    hs_job_t *live[1], *move = s_live_moves(sim, job->part, live, 1) ? live[0] : NULL;
    char msg[S_MSG_MAX];
    if (!move) {
        snprintf(msg, sizeof msg, "HSCLA2D1 There is no migration in progress for partition %s;"
                 " there is nothing to stop.", part->name);
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
        return;
    }
    if (move->phase > HS_PHASE_COPY) {
        snprintf(msg, sizeof msg, "HSCLA2D3 The migration of partition %s to managed system %s"
                 " has passed the point where it can be stopped; it will complete.", part->name,
                 move->target_name);
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
        return;
    }
    if (s_stop_moves(sim, part))
        s_finish(sim, job, HS_JOB_COMPLETED_OK, NULL, NULL);
    else {
        snprintf(msg, sizeof msg, "HSCLA2D4 The migration of partition %s did not stop in time.",
                 part->name);
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR, msg, NULL);
    }
}

static void *s_job_main(void *arg)
{
    s_arg_t a = *(s_arg_t *) arg;
    free(arg);
    hs_sim_t *sim = a.sim;
    hs_job_t *job = a.job;
    pthread_mutex_lock(&sim->lock);
    int waited = hs_wait(sim, clock_mono_ms() + sim->start_delay_ms, &job->abort_requested);
    if (waited == 2)
        s_finish(sim, job, HS_JOB_FAILED_BEFORE_COMPLETION, NULL,
                 "The management console is shutting down.");
    else if (waited == 1)
        s_finish(sim, job, HS_JOB_COMPLETED_WITH_ERROR,
                 "HSCL2933 The job was cancelled by request before it started.", NULL);
    else if ((job->op == HS_OP_VALIDATE || job->op == HS_OP_MIGRATE) && !*job->target_name)
        s_finish(sim, job, HS_JOB_FAILED_BEFORE_COMPLETION, NULL,
                 "com.ibm.pmc.jaxb.api.server.jobs.PmcJobException: The required job parameter"
                 " TargetManagedSystemName was not specified.");
    else {
        int64_t run_mono = clock_mono_ms();
        job->status = HS_JOB_RUNNING;
        job->started_ms = clock_wall_ms();
        pthread_cond_broadcast(&sim->cond);
        switch (job->op) {
        case HS_OP_VALIDATE: s_validate(sim, job, run_mono); break;
        case HS_OP_MIGRATE: s_migrate(sim, job, run_mono); break;
        case HS_OP_RECOVER: s_recover(sim, job, run_mono); break;
        case HS_OP_ABORT: s_abort(sim, job); break;
        case HS_OP_COUNT: break;
        }
    }
    sim->threads--;
    pthread_cond_broadcast(&sim->cond);
    pthread_mutex_unlock(&sim->lock);
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Submission and cancel (lock held)

static int s_add_param(hs_job_t *job, const hs_param_t *param)
{
    hs_param_t *grown = realloc(job->params, (job->param_count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    job->params = grown;
    hs_param_t *slot = &grown[job->param_count];
    slot->name = strdup(param->name);
    slot->value = strdup(param->value);
    if (!slot->name || !slot->value) {
        free(slot->name);
        free(slot->value);
        return -1;
    }
    job->param_count++;
    return 0;
}

int hs_job_submit(hs_sim_t *self, hs_op_t op, hs_partition_t *part, const hs_param_t *params,
                  size_t count, hs_job_t **job_p, char *err, size_t errlen)
{
    if (self->job_count == self->job_cap) {
        size_t cap = self->job_cap ? self->job_cap * 2 : 64;
        hs_job_t **grown = realloc(self->jobs, cap * sizeof *grown);
        if (!grown)
            goto oom;
        self->jobs = grown;
        self->job_cap = cap;
    }
    hs_job_t *job = calloc(1, sizeof *job);
    if (!job)
        goto oom;
    snprintf(job->id, sizeof job->id, "%" PRIu64, self->next_job_id++);
    job->op = op;
    job->part = (size_t) (part - self->parts);
    job->source = job->target = -1;
    job->submitted_ms = clock_wall_ms();
    for (size_t i = 0; i < count; i++) {
        if (s_add_param(job, &params[i]) != 0) {
            for (size_t p = 0; p < job->param_count; p++) {
                free(job->params[p].name);
                free(job->params[p].value);
            }
            free(job->params);
            free(job);
            goto oom;
        }
        if (strcmp(params[i].name, "TargetManagedSystemName") == 0)
            snprintf(job->target_name, sizeof job->target_name, "%s", params[i].value);
    }
    self->jobs[self->job_count++] = job;
    part->submissions[op]++;
    *job_p = job;

    s_arg_t *arg = malloc(sizeof *arg);
    pthread_attr_t attr;
    pthread_t thread;
    int rc = arg ? 0 : ENOMEM;
    if (arg) {
        *arg = (s_arg_t) { self, job };
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&thread, &attr, s_job_main, arg);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        free(arg);
        s_finish(self, job, HS_JOB_FAILED_BEFORE_COMPLETION, NULL,
                 "The management console cannot start the job (no thread).");
        log_error("job %s: cannot start a thread: %s", job->id, strerror(rc));
        return 0;
    }
    self->threads++;
    log_info("job %s %s %s%s%s submitted", job->id, hs_op_names[op], part->name,
             *job->target_name ? " to " : "", job->target_name);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

void hs_job_cancel(hs_sim_t *self, hs_job_t *job)
{
    if (job->status > HS_JOB_RUNNING)
        return;
    if (job->op == HS_OP_MIGRATE && job->phase > HS_PHASE_COPY)
        return;
    job->abort_requested = true;
    pthread_cond_broadcast(&self->cond);
}
