/*  readiness — the checks a hop must pass before ferry asks the HMC to move
    a partition (reference/hmc-rest.md, "Before submitting a move"). */
#include "readiness.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

//  readiness/agent_stale when not configured: three heartbeats, at most this.
#define S_AGENT_STALE_MAX_MS 30000
#define S_AGENT_STALE_MIN_MS 5000  // default floor: a fast heartbeat still pauses for a blackout

static void s_add(readiness_report_t *r, const char *id, readiness_severity_t severity,
                  const char *evidence, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void s_add(readiness_report_t *r, const char *id, readiness_severity_t severity,
                  const char *evidence, const char *fmt, ...)
{
    if (r->count >= READINESS_MAX_FINDINGS)
        return;
    readiness_finding_t *f = &r->items[r->count++];
    f->id = id;
    f->severity = severity;
    snprintf(f->evidence, sizeof f->evidence, "%s", evidence);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

static void s_partition_rules(const readiness_input_t *in, readiness_report_t *r)
{
    const readiness_partition_t *p = in->partition;
    char ev[192];
    snprintf(ev, sizeof ev, "PartitionState=%s", p->state);
    if (strcmp(p->state, "running") != 0)
        s_add(r, "lpm.partition_running", READINESS_BLOCKER, ev,
              "partition %s is '%s', not running: only a running partition moves live", p->name,
              p->state);
    snprintf(ev, sizeof ev, "ResourceMonitoringControlState=%s", p->rmc_state);
    if (strcmp(p->rmc_state, "active") != 0)
        s_add(r, "lpm.rmc_active", READINESS_BLOCKER, ev,
              "RMC of %s is '%s': check 'lssrc -s ctrmc' on the partition and the network path"
              " to the HMC", p->name, p->rmc_state[0] ? p->rmc_state : "unknown");
    snprintf(ev, sizeof ev, "MigrationState=%s PartitionState=%s", p->migration_state, p->state);
    if ((p->migration_state[0] && strcmp(p->migration_state, "Not_Migrating") != 0)
        || strncmp(p->state, "migrating", 9) == 0)
        s_add(r, "lpm.not_migrating", READINESS_BLOCKER, ev,
              "%s is already migrating: wait for that move or recover it on the HMC", p->name);
    snprintf(ev, sizeof ev, "PartitionType=%s IsManagementPartition=%s", p->type,
             p->is_mgmt_partition ? "true" : "false");
    if (strcmp(p->type, "Virtual IO Server") == 0 || p->is_mgmt_partition)
        s_add(r, "lpm.movable_type", READINESS_BLOCKER, ev,
              "%s is a VIOS or the management partition: those never move", p->name);
}

static void s_io_rules(const readiness_input_t *in, readiness_report_t *r)
{
    const readiness_partition_t *p = in->partition;
    char ev[192];
    json_t *physical = json_object_get(json_object_get(in->facts, "adapters"), "physical");
    size_t from_agent = json_array_size(physical);
    snprintf(ev, sizeof ev, "HMC I/O slots=%d, agent physical adapters=%zu", p->physical_io_slots,
             from_agent);
    if (p->physical_io_slots > 0 || from_agent > 0) {
        char first[64] = "";
        if (from_agent)
            snprintf(first, sizeof first, " (e.g. %s)", json_string_value(json_array_get(physical, 0)));
        s_add(r, "lpm.virtual_io_only", READINESS_BLOCKER, ev,
              "%s owns physical I/O%s: move it to virtual adapters served by the VIOS first",
              p->name, first);
    }
}

static void s_target_rules(const readiness_input_t *in, readiness_report_t *r)
{
    const readiness_partition_t *p = in->partition;
    const readiness_system_t *t = in->target;
    char ev[192];
    if (!t) {
        s_add(r, "lpm.target_known", READINESS_BLOCKER, in->target_name,
              "target system %s is not managed by this HMC", in->target_name);
        return;
    }
    if (in->source && strcmp(in->source->uuid, t->uuid) == 0) {
        s_add(r, "lpm.target_differs", READINESS_BLOCKER, t->name,
              "%s is already on %s", p->name, t->name);
        return;
    }
    snprintf(ev, sizeof ev, "State=%s", t->state);
    if (strcmp(t->state, "operating") != 0)
        s_add(r, "lpm.target_operating", READINESS_BLOCKER, ev, "target %s is '%s', not operating",
              t->name, t->state);
    snprintf(ev, sizeof ev, "ActiveLogicalPartitionMobilityCapable=%s MaximumActiveMigrations=%d",
             t->lpm_capable ? "true" : "false", t->max_active_migrations);
    if (!t->lpm_capable || t->max_active_migrations == 0)
        s_add(r, "lpm.target_capable", READINESS_BLOCKER, ev,
              "target %s cannot receive active partition migrations (check the PowerVM edition"
              " and the mover service partitions)", t->name);
    snprintf(ev, sizeof ev, "needs %lld MB, available %lld MB", (long long) p->memory_mb,
             (long long) t->memory_available_mb);
    if (p->memory_mb > 0 && t->memory_available_mb >= 0 && t->memory_available_mb < p->memory_mb)
        s_add(r, "lpm.target_memory", READINESS_BLOCKER, ev,
              "target %s has %lld MB free, %s needs %lld MB", t->name,
              (long long) t->memory_available_mb, p->name, (long long) p->memory_mb);
    snprintf(ev, sizeof ev, "needs %.2f units, available %.2f", p->proc_units,
             t->proc_units_available);
    if (p->proc_units > 0 && t->proc_units_available >= 0 && t->proc_units_available < p->proc_units)
        s_add(r, "lpm.target_processors", READINESS_BLOCKER, ev,
              "target %s has %.2f processor units free, %s needs %.2f", t->name,
              t->proc_units_available, p->name, p->proc_units);
}

static void s_compat_rules(const readiness_input_t *in, readiness_report_t *r)
{
    const readiness_partition_t *p = in->partition;
    const readiness_system_t *t = in->target;
    if (!t || !p->proc_compat_mode[0] || t->compat_mode_count == 0)
        return;
    bool found = strcmp(p->proc_compat_mode, "default") == 0;
    for (size_t i = 0; i < t->compat_mode_count && !found; i++)
        found = strcmp(t->compat_modes[i], p->proc_compat_mode) == 0;
    if (!found)
        s_add(r, "lpm.compat_mode", READINESS_BLOCKER, p->proc_compat_mode,
              "target %s does not support processor compatibility mode %s of %s", t->name,
              p->proc_compat_mode, p->name);
    const readiness_system_t *s = in->source;
    if (s && s->memory_region_mb > 0 && t->memory_region_mb > 0
        && s->memory_region_mb != t->memory_region_mb) {
        char ev[192];
        snprintf(ev, sizeof ev, "MemoryRegionSize source=%lld target=%lld",
                 (long long) s->memory_region_mb, (long long) t->memory_region_mb);
        s_add(r, "lpm.memory_region", READINESS_BLOCKER, ev,
              "memory region sizes differ (%s %lld MB, %s %lld MB): set them equal in ASMI first",
              s->name, (long long) s->memory_region_mb, t->name, (long long) t->memory_region_mb);
    }
}

static void s_limit_rule(const readiness_system_t *sys, const char *role, readiness_report_t *r)
{
    if (!sys || sys->max_active_migrations < 0 || sys->active_migrations_in_progress < 0)
        return;
    char ev[192];
    snprintf(ev, sizeof ev, "NumberOfActiveMigrationsInProgress=%d MaximumActiveMigrations=%d",
             sys->active_migrations_in_progress, sys->max_active_migrations);
    if (sys->active_migrations_in_progress >= sys->max_active_migrations)
        s_add(r, "lpm.concurrency", READINESS_BLOCKER, ev,
              "%s system %s already runs %d of its %d concurrent migrations", role, sys->name,
              sys->active_migrations_in_progress, sys->max_active_migrations);
}

int64_t readiness_agent_stale_ms(int64_t heartbeat_interval_ms, int64_t configured_ms)
{
    if (configured_ms > 0)
        return configured_ms;
    if (heartbeat_interval_ms <= 0 || heartbeat_interval_ms > S_AGENT_STALE_MAX_MS / 3)
        return S_AGENT_STALE_MAX_MS;
    return 3 * heartbeat_interval_ms < S_AGENT_STALE_MIN_MS ? S_AGENT_STALE_MIN_MS
                                                            : 3 * heartbeat_interval_ms;
}

//  ms as local wall-clock time: "10:42:07", or "2024-05-02 10:42:07" when not
//  on the local day of now_ms (an hour alone would then mislead).
static void s_local_time(int64_t ms, int64_t now_ms, char *out, size_t size)
{
    time_t t = (time_t) (ms / 1000), now = (time_t) (now_ms / 1000);
    struct tm at, today;
    if (!localtime_r(&t, &at) || !localtime_r(&now, &today)) {
        snprintf(out, size, "%lld ms since the epoch", (long long) ms);
        return;
    }
    bool same_day = at.tm_year == today.tm_year && at.tm_yday == today.tm_yday;
    strftime(out, size, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &at);
}

//  "95 s ago, limit 30 s"; in ms when the limit is not whole seconds (a
//  1500 ms limit would otherwise read "1 s ago, limit 1 s").
static void s_age_text(int64_t age, int64_t limit, char *out, size_t size)
{
    if (limit % 1000 == 0)
        snprintf(out, size, "%lld s ago, limit %lld s", (long long) (age / 1000),
                 (long long) (limit / 1000));
    else
        snprintf(out, size, "%lld ms ago, limit %lld ms", (long long) age, (long long) limit);
}

//  Stored facts outlive the agent: only a recent message says it is there
//  to report the move (its serial, phases and outage) and verify it.
static void s_agent_reporting(const readiness_input_t *in, readiness_report_t *r)
{
    const char *name = in->partition->name;
    int64_t limit = in->agent_stale_ms > 0 ? in->agent_stale_ms : readiness_agent_stale_ms(0, 0);
    char ev[192];
    if (in->agent_last_seen_ms <= 0) {
        snprintf(ev, sizeof ev, "facts stored, no message known; now_ms=%lld agent_stale_ms=%lld",
                 (long long) in->now_ms, (long long) limit);
        s_add(r, "lpm.agent_reporting", READINESS_BLOCKER, ev,
              "no message from the ferry-agent of %s is known, only facts stored before (none"
              " since the collector started): is it running, and can it reach the collector? Check"
              " its log, then plan the move again", name);
        return;
    }
    int64_t age = in->now_ms - in->agent_last_seen_ms;
    if (age <= limit)          // a negative age: the clock stepped back; the message is recent
        return;
    char at[48], age_text[64];     // at: room for "<19 digits> ms since the epoch"
    s_local_time(in->agent_last_seen_ms, in->now_ms, at, sizeof at);
    s_age_text(age, limit, age_text, sizeof age_text);
    snprintf(ev, sizeof ev, "last message at %lld ms, now %lld ms, age %lld ms, agent_stale_ms=%lld",
             (long long) in->agent_last_seen_ms, (long long) in->now_ms, (long long) age,
             (long long) limit);
    s_add(r, "lpm.agent_reporting", READINESS_BLOCKER, ev,
          "the ferry-agent of %s last reported at %s (%s): is it running, and can it reach the"
          " collector? Check its log, then plan the move again", name, at, age_text);
}

static void s_agent_rules(const readiness_input_t *in, readiness_report_t *r)
{
    if (!in->facts) {
        s_add(r, "lpm.agent_reporting", READINESS_BLOCKER, "no facts",
              "no ferry-agent reports for %s: the move could not be verified from inside",
              in->partition->name);
        return;
    }
    s_agent_reporting(in, r);
    //  After a hop the agent says so at once (serial_changed); its facts are
    //  re-read seconds later. The fresher one avoids a false warning then.
    const char *serial = in->agent_serial && in->agent_serial[0]
                             ? in->agent_serial
                             : json_string_value(json_object_get(json_object_get(in->facts, "system"), "serial"));
    if (!serial || !serial[0]) {
        //  Each hop is verified by the agent reporting the target's serial:
        //  without one every hop would fail after the partition has moved.
        s_add(r, "lpm.agent_serial_unknown", READINESS_BLOCKER, "system.serial missing",
              "the agent of %s reports no hardware serial (its facts' warnings say why): a move"
              " of it cannot be verified by serial, every hop would fail after the partition moved."
              " Fix that first", in->partition->name);
        return;
    }
    if (in->source && in->source->serial[0] && strcmp(serial, in->source->serial) != 0) {
        char ev[192];
        snprintf(ev, sizeof ev, "agent serial=%s, HMC source serial=%s", serial, in->source->serial);
        s_add(r, "lpm.agent_identity", READINESS_WARNING, ev,
              "the agent of %s reports serial %s but the HMC places it on %s (%s)",
              in->partition->name, serial, in->source->name, in->source->serial);
    }
}

void readiness_lpm(const readiness_input_t *in, readiness_report_t *report)
{
    memset(report, 0, sizeof *report);
    s_partition_rules(in, report);
    s_io_rules(in, report);
    s_target_rules(in, report);
    s_compat_rules(in, report);
    s_limit_rule(in->source, "source", report);
    s_limit_rule(in->target, "target", report);
    s_agent_rules(in, report);
}

bool readiness_blocked(const readiness_report_t *report)
{
    for (size_t i = 0; i < report->count; i++)
        if (report->items[i].severity == READINESS_BLOCKER)
            return true;
    return false;
}

void readiness_blockers_text(const readiness_report_t *report, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < report->count && used < size; i++) {
        const readiness_finding_t *f = &report->items[i];
        if (f->severity != READINESS_BLOCKER)
            continue;
        used += (size_t) snprintf(out + used, size - used, "%s%s: %s", used ? "; " : "", f->id,
                                  f->message);
    }
}

json_t *readiness_to_json(const readiness_report_t *report)
{
    json_t *list = json_array();
    for (size_t i = 0; i < report->count; i++) {
        const readiness_finding_t *f = &report->items[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "id", f->id, "severity",
                                              f->severity == READINESS_BLOCKER ? "blocker" : "warning",
                                              "message", f->message, "evidence", f->evidence));
    }
    return list;
}
