/*  agent — the ferry-agent daemon.

    Timers on one zloop: metrics, heartbeat, a fine stall tick, the light
    identity probe (serial) and the full facts re-read. LPM phases arrive on
    the notify socket (Linux drmgr hook, or by hand) and trigger an identity
    probe at once, so a move is reported within a second of its post phase
    even when no DR event reaches us (nmon-style tools read the serial once
    and miss moves). */
#include "agent.h"

#include "agent_link.h"
#ifdef _AIX
#include "aix_dr.h"
#endif
#include "clock.h"
#include "codec.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "spool.h"
#include "watch.h"

#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define AGENT_STATE_FILE "state.json"
#define AGENT_STALL_LOG_MS 100      // stalls this long are worth a log line (LPM blackout, hang)
#define AGENT_COARSE_TICK_MS 1000   // the stall tick when nothing is moving
#define AGENT_LPM_FINE_MS 60000     // keep the fine tick this long after check or pre
#define AGENT_MOVED_FACTS_MS 1000   // full re-read this long after a move is seen ...
#define AGENT_MOVED_JITTER_MS 5000  // ... plus up to this, different on each partition

typedef struct {
    const agent_options_t *opts;  // borrowed
    char hostname[256];           // from the facts, for Hello
    char boot_id[128];            // from the facts, for Hello
    spool_t *spool;               // unacked messages
    zcert_t *cert;                // our key pair
    zcert_t *server_cert;         // the collector's public key
    agent_link_options_t link_opts; // link configuration (borrowed by link)
    agent_link_t *link;           // connection to the collector
    zloop_t *loop;                // event loop
    watch_t *watch;               // facts -> events
    zsock_t *notify;              // LPM phases from DR hooks
    platform_metrics_t *sampler;  // metrics
    char *facts_digest;           // digest of the facts last sent
    json_t *facts_last;           // the latest facts read, for merging a post-move re-read
    int64_t facts_sent_ms;        // monotonic time facts were last sent
    int heartbeat_timer;          // zloop timer id
    int64_t heartbeat_cur_ms;     // interval in force now
    int64_t fast_until_ms;        // monotonic end of a move window, 0 = none
    int64_t tick_due_us;          // when the stall tick should fire next
    int tick_timer;               // zloop timer id of the stall tick
    int64_t tick_ms;              // its period now
    int64_t lpm_until_ms;         // monotonic end of the fine-tick period after an LPM phase
    uint32_t stall_ms;            // largest stall since the last heartbeat
    uint64_t tick;                // heartbeats sent
    int metrics_timer;            // zloop timer id
    bool pid_written;             // we wrote opts->pid_file (and remove it at stop)
    zactor_t *facts_worker;       // runs full facts re-reads off the loop
    bool facts_busy;              // a re-read is running on the worker
    char facts_again[64];         // detected_by of a re-read asked for meanwhile, "" = none
    int moved_timer;              // one-shot full re-read after a move, -1 = none
    char moved_by[64];            // its detected_by
#ifdef _AIX
    aix_dr_t *dr;                 // SIGRECONFIG: LPM phases on AIX
#endif
} agent_t;

static void s_retick(agent_t *self);

//  Every key the agent reads (packaging/examples/agent.conf documents them):
//  anything else is a typo, refused at start.
static const char *const s_agent_keys[] = {
    "collector", "collector_cert", "cert", "spool_dir", "pid_file", "platform", "bin_dir",
    "etc_root", "proc_root", "sys_root", "spool_max", "heartbeat", "metrics_interval",
    "identity_interval", "facts_interval", "facts_resend", "stall_tick", "ack_timeout",
    "spool_sync", "command_timeout", "max_frame", "verbose", NULL };

int agent_options_load(config_t *config, agent_options_t *o, char *err, size_t errlen)
{
    static const config_section_keys_t sections[] = { { "agent", s_agent_keys }, { NULL, NULL } };
    if (config_check_keys(config, sections, err, errlen) != 0)
        return -1;
    o->collector = config_str(config, "agent/collector", "tcp://127.0.0.1:5560");
    o->collector_cert = config_str(config, "agent/collector_cert", "/etc/ferry/keys/collector.cert");
    o->cert = config_str(config, "agent/cert", "/etc/ferry/keys/agent.cert_secret");
    o->spool_dir = config_str(config, "agent/spool_dir", "/var/spool/ferry");
    o->pid_file = config_str(config, "agent/pid_file", "");
    o->platform.platform = config_str(config, "agent/platform", "linux");
    o->platform.bin_dir = config_str(config, "agent/bin_dir", "");
    o->platform.etc_root = config_str(config, "agent/etc_root", "/");
    o->platform.proc_root = config_str(config, "agent/proc_root", "/proc");
    o->platform.sys_root = config_str(config, "agent/sys_root", "/sys");
    if (!o->platform.bin_dir[0])
        o->platform.bin_dir = NULL;
    int64_t timeout_ms;
    if (config_size(config, "agent/spool_max", SPOOL_DEFAULT_MAX_BYTES, 64 << 10, (int64_t) 4 << 30,
                    &o->spool_max, err, errlen)
        || config_duration_ms(config, "agent/heartbeat", 5000, 10, 3600000, &o->heartbeat_ms, err, errlen)
        || config_duration_ms(config, "agent/metrics_interval", 10000, 10, 86400000, &o->metrics_ms, err, errlen)
        || config_duration_ms(config, "agent/identity_interval", 30000, 100, 86400000, &o->identity_ms, err, errlen)
        || config_duration_ms(config, "agent/facts_interval", 60000, 1000, 86400000, &o->facts_ms, err, errlen)
        || config_duration_ms(config, "agent/facts_resend", 600000, 1000, 86400000, &o->facts_resend_ms, err, errlen)
        || config_duration_ms(config, "agent/stall_tick", 20, 5, 1000, &o->stall_tick_ms, err, errlen)
        || config_duration_ms(config, "agent/ack_timeout", 10000, 100, 3600000, &o->ack_timeout_ms, err, errlen)
        || config_duration_ms(config, "agent/spool_sync", 1000, 10, 60000, &o->sync_ms, err, errlen)
        || config_duration_ms(config, "agent/command_timeout", 30000, 100, 600000, &timeout_ms, err, errlen)
        || config_size(config, "agent/max_frame", CODEC_DEFAULT_MAX_FRAME, 1024, 64 << 20, &o->max_frame, err, errlen)
        || config_bool(config, "agent/verbose", o->verbose, &o->verbose, err, errlen))
        return -1;
    o->platform.timeout_ms = (int) timeout_ms;
    if (!platform_known(o->platform.platform)) {
        snprintf(err, errlen, "agent/platform: \"%s\" is not a platform (use aix or linux)",
                 o->platform.platform);
        return -1;
    }
    return 0;
}

// ------------------------------------------------------------------ sending

static void s_send_event(agent_t *self, const json_t *event)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Event body = FERRY__EVENT__INIT;
    json_t *attrs = json_object_get(event, "attrs");
    size_t count = json_object_size(attrs), i = 0;
    Ferry__KeyValue *kvs = calloc(count ? count : 1, sizeof *kvs);
    Ferry__KeyValue **ptrs = calloc(count ? count : 1, sizeof *ptrs);
    if (!kvs || !ptrs)
        goto done;
    const char *key;
    json_t *value;
    json_object_foreach(attrs, key, value) {
        ferry__key_value__init(&kvs[i]);
        kvs[i].key = (char *) key;
        kvs[i].value = (char *) (json_string_value(value) ? json_string_value(value) : "");
        ptrs[i] = &kvs[i];
        i++;
    }
    body.kind = (char *) json_string_value(json_object_get(event, "kind"));
    body.message = (char *) json_string_value(json_object_get(event, "message"));
    body.attrs = ptrs;
    body.n_attrs = i;
    body.time_ms = clock_wall_ms();
    env.body_case = FERRY__ENVELOPE__BODY_EVENT;
    env.event = &body;
    agent_link_send(self->link, &env, SPOOL_CLASS_EVENT);
done:
    free(kvs);
    free(ptrs);
}

static void s_send_events(agent_t *self, json_t *events)
{
    size_t i;
    json_t *event;
    json_array_foreach(events, i, event)
        s_send_event(self, event);
    json_decref(events);
}

static void s_send_facts(agent_t *self, const json_t *facts, const char *digest)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Facts body = FERRY__FACTS__INIT;
    char *text = json_dumps(facts, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    json_t *warnings = json_object_get(facts, "warnings");
    size_t count = json_array_size(warnings);
    char **list = calloc(count ? count : 1, sizeof *list);
    if (!text || !list)
        goto done;
    for (size_t i = 0; i < count; i++)
        list[i] = (char *) json_string_value(json_array_get(warnings, i));
    body.platform = (char *) self->opts->platform.platform;
    body.hostname = (char *) json_string_value(json_object_get(facts, "hostname"));
    body.warnings = list;
    body.n_warnings = count;
    body.digest = (char *) digest;
    body.json = text;
    body.serial = (char *) json_string_value(json_object_get(json_object_get(facts, "system"), "serial"));
    body.os_level = (char *) json_string_value(json_object_get(json_object_get(facts, "os"), "level"));
    body.partition_name = (char *) json_string_value(
        json_object_get(json_object_get(facts, "partition"), "name"));
    body.boot_id = (char *) json_string_value(json_object_get(facts, "boot_id"));
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &body;
    agent_link_send(self->link, &env, SPOOL_CLASS_OTHER);
    self->facts_sent_ms = clock_mono_ms();
done:
    free(text);
    free(list);
}

// ------------------------------------------------------------------ reading the partition

//  A full re-read runs ~18 AIX commands (each with its own timeout): on the
//  loop it would hold back heartbeats and the stall tick, and a move window
//  would measure the agent's own work as outage. So it runs on this actor;
//  the result comes back on the pipe as {pointer to facts, detected_by}.
static void s_facts_actor(zsock_t *pipe, void *args)
{
    const platform_options_t *opts = args;
    zsock_signal(pipe, 0);
    for (;;) {
        char *command = NULL, *detected_by = NULL;
        if (zsock_recv(pipe, "ss", &command, &detected_by) != 0)
            break;
        bool term = strcmp(command, "$TERM") == 0;
        if (!term) {
            bool moved = strcmp(command, "MOVED") == 0;
            json_t *facts = moved ? platform_facts_moved(opts) : platform_facts(opts);
            zsock_send(pipe, "pss", facts, detected_by, moved ? "MOVED" : "COLLECT");
        }
        zstr_free(&command);
        zstr_free(&detected_by);
        if (term)
            break;
    }
}

//  Ask for a full re-read (or, with moved, of what a move can change); while
//  one runs, remember to run a full one after it.
static void s_refresh(agent_t *self, const char *detected_by, bool moved)
{
    if (self->facts_busy) {
        snprintf(self->facts_again, sizeof self->facts_again, "%s", detected_by);
        return;
    }
    self->facts_busy = true;
    zsock_send(self->facts_worker, "ss", moved && self->facts_last ? "MOVED" : "COLLECT",
               detected_by);
}

static void s_refresh_facts(agent_t *self, const char *detected_by)
{
    s_refresh(self, detected_by, false);
}

//  New facts (owned; NULL is fine): events for what changed, and the facts
//  sent when they changed or when the resend period is over.
static void s_take_facts(agent_t *self, json_t *facts, const char *detected_by)
{
    if (!facts)
        return;
    json_decref(self->facts_last);
    self->facts_last = json_incref(facts);
    s_send_events(self, watch_facts(self->watch, facts, detected_by));
    char *digest = platform_facts_digest(facts);
    bool changed = !self->facts_digest || !digest || strcmp(digest, self->facts_digest) != 0;
    if (changed || clock_mono_ms() - self->facts_sent_ms >= self->opts->facts_resend_ms) {
        s_send_facts(self, facts, digest);
        free(self->facts_digest);
        self->facts_digest = digest;
    }
    else
        free(digest);
    json_decref(facts);
}

//  A re-read is back: events for what changed, facts sent when they changed
//  or when the resend period is over.
static int s_on_facts_done(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    void *pointer = NULL;
    char *detected_by = NULL, *kind = NULL;
    if (zsock_recv(reader, "pss", &pointer, &detected_by, &kind) != 0)
        return 0;
    self->facts_busy = false;
    json_t *facts = pointer;
    if (facts && kind && strcmp(kind, "MOVED") == 0) {
        json_t *merged = platform_facts_merge(self->facts_last, facts);
        json_decref(facts);
        facts = merged;
    }
    s_take_facts(self, facts, detected_by);
    zstr_free(&detected_by);
    zstr_free(&kind);
    if (self->facts_again[0]) {
        char again[64];
        snprintf(again, sizeof again, "%s", self->facts_again);
        self->facts_again[0] = '\0';
        s_refresh_facts(self, again);
    }
    return 0;
}

static int s_on_moved_facts(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    self->moved_timer = -1;
    s_refresh(self, self->moved_by, true);
    return 0;
}

//  The re-read after a move (of what a move can change: the rest waits for
//  the next facts_interval) waits a second or a few: the serial_changed
//  event has gone already, and when a whole wave of partitions lands at once
//  their ~18 commands each should not all run in the same instant as the
//  partitions resume (and their collector verifies them).
static void s_refresh_facts_after_move(agent_t *self, const char *detected_by)
{
    if (self->moved_timer >= 0)
        return;
    uint32_t mix = (uint32_t) getpid() * 2654435761u ^ (uint32_t) clock_mono_us();
    size_t delay = AGENT_MOVED_FACTS_MS + mix % AGENT_MOVED_JITTER_MS;
    snprintf(self->moved_by, sizeof self->moved_by, "%s", detected_by);
    self->moved_timer = zloop_timer(self->loop, delay, 1, s_on_moved_facts, self);
    if (self->moved_timer < 0)
        s_refresh_facts(self, detected_by);
}

//  Light probe: the serial only. A change triggers a full re-read.
static void s_probe_identity(agent_t *self, const char *detected_by)
{
    char serial[64], warning[256];
    if (platform_serial(&self->opts->platform, serial, sizeof serial, warning, sizeof warning) != 0) {
        log_debug("identity probe: %s", warning);
        return;
    }
    json_t *events = watch_serial(self->watch, serial, detected_by);
    bool moved = json_array_size(events) > 0;
    s_send_events(self, events);
    if (moved)
        s_refresh_facts_after_move(self, detected_by);
}

static int s_on_identity(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_probe_identity(arg, "timer");
    return 0;
}

static int s_on_facts(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_refresh_facts(arg, "timer");
    return 0;
}

//  An LPM phase, from the notify socket (Linux drmgr hook) or from
//  SIGRECONFIG (AIX): report it at once, then look at the serial.
static void s_lpm_phase(agent_t *self, const char *phase)
{
    char message[128], detected_by[64];
    snprintf(message, sizeof message, "LPM phase %s", phase);
    snprintf(detected_by, sizeof detected_by, "lpm-%s", phase);
    log_info("%s", message);
    //  The blackout lies between pre and post: after post there is no stall
    //  left to time (a thousand moved partitions ticking every 20 ms for a
    //  minute each cost their hosts a core in the LPM benchmark).
    bool last = strcmp(phase, "post") == 0 || strcmp(phase, "posterror") == 0;
    self->lpm_until_ms = last ? 0 : clock_mono_ms() + AGENT_LPM_FINE_MS;
    s_retick(self);
    json_t *lpm = json_pack("{s:s, s:s, s:{s:s}}", "kind", "lpm_phase", "message", message,
                            "attrs", "phase", phase);
    s_send_event(self, lpm);
    json_decref(lpm);
    //  The serial changes at the switch to the target, which lies before post.
    if (last)
        s_probe_identity(self, detected_by);
}

static int s_on_notify(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    notify_event_t event = notify_serve(reader);
    if (event != NOTIFY_NONE)
        s_lpm_phase(self, notify_phase(event));
    return 0;
}

#ifdef _AIX
//  SIGRECONFIG only sets a flag; the loop (after its poll was interrupted)
//  and the stall tick (when the signal came outside the poll) look here.
static void s_check_dr(agent_t *self)
{
    aix_dr_phase_t phase = AIX_DR_NONE;
    if (self->dr && aix_dr_pending(self->dr) && aix_dr_poll(self->dr, &phase) == 0
        && phase != AIX_DR_NONE)
        s_lpm_phase(self, aix_dr_phase_name(phase));
}
#endif

static int s_on_metrics(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    metrics_t sample = { 0 };
    metrics_proto_view_t view;
    if (platform_metrics_sample(self->sampler, &sample) == 0
        && metrics_proto_view(&sample, &view) == 0) {
        Ferry__Envelope env = FERRY__ENVELOPE__INIT;
        env.body_case = FERRY__ENVELOPE__BODY_METRICS;
        env.metrics = &view.metrics;
        agent_link_send(self->link, &env, SPOOL_CLASS_METRICS);
        metrics_proto_view_free(&view);
    }
    metrics_clear(&sample);
    return 0;
}

// ------------------------------------------------------------------ heartbeats and stalls

static int s_on_heartbeat(zloop_t *loop, int timer_id, void *arg);
static int s_on_tick(zloop_t *loop, int timer_id, void *arg);

//  Every wake of the loop costs ~70 us (libzmq checks each socket), so the
//  stall tick is fine (stall_tick, 20 ms) only when a stall matters: from an
//  LPM check or pre phase to post (a minute at most), and during a move
//  window or with a short heartbeat, at the heartbeat's pace (at least
//  stall_tick). Otherwise it ticks every second: a stall is then known to
//  within that, which is plenty for an idle partition.
static void s_retick(agent_t *self)
{
    //  In a move window the collector also times the gaps between the fast
    //  heartbeats: a tick finer than them adds wake-ups (80 partitions in
    //  their windows cost the benchmark host most of a core), not precision.
    bool window = self->heartbeat_cur_ms < 1000;
    bool fine = window || clock_mono_ms() < self->lpm_until_ms;
    int64_t want = fine ? self->opts->stall_tick_ms : AGENT_COARSE_TICK_MS;
    if (window && self->heartbeat_cur_ms > want)
        want = self->heartbeat_cur_ms;
    if (want < self->opts->stall_tick_ms)
        want = self->opts->stall_tick_ms;
    if (want == self->tick_ms && self->tick_timer >= 0)
        return;
    if (self->tick_timer >= 0)
        zloop_timer_end(self->loop, self->tick_timer);
    self->tick_ms = want;
    self->tick_due_us = clock_mono_us() + want * 1000;
    self->tick_timer = zloop_timer(self->loop, (size_t) want, 0, s_on_tick, self);
}

static void s_set_heartbeat(agent_t *self, int64_t interval_ms)
{
    if (self->heartbeat_timer >= 0)
        zloop_timer_end(self->loop, self->heartbeat_timer);
    self->heartbeat_cur_ms = interval_ms;
    self->heartbeat_timer = zloop_timer(self->loop, (size_t) interval_ms, 0, s_on_heartbeat, self);
    s_retick(self);
}

static int s_on_heartbeat(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    hb.interval_ms = (uint32_t) self->heartbeat_cur_ms;
    hb.stall_ms = self->stall_ms;
    hb.tick = ++self->tick;
    //  A stall seen while the collector was away goes out with the first
    //  heartbeat that reaches it.
    if (agent_link_heartbeat(self->link, &hb))
        self->stall_ms = 0;
    if (self->fast_until_ms && clock_mono_ms() >= self->fast_until_ms) {
        self->fast_until_ms = 0;
        log_info("move window over: heartbeat back to %" PRId64 " ms", self->opts->heartbeat_ms);
        s_set_heartbeat(self, self->opts->heartbeat_ms);
    }
    s_retick(self);
    return 0;
}

//  The fine tick: a late tick means the process did not run (SIGSTOP during
//  an LPM blackout, a hung disk, an overloaded LPAR). The largest lateness
//  since the last heartbeat goes out with the next one.
static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    int64_t now = clock_mono_us();
    int64_t late_ms = (now - self->tick_due_us) / 1000;
    if (late_ms > (int64_t) self->stall_ms)
        self->stall_ms = (uint32_t) late_ms;
    if (late_ms >= AGENT_STALL_LOG_MS)
        log_info("stall: the agent did not run for %" PRId64 " ms", late_ms);
    self->tick_due_us = now + self->tick_ms * 1000;
#ifdef _AIX
    s_check_dr(self);
#endif
    return 0;
}

// ------------------------------------------------------------------ from the collector

static void s_on_config(agent_t *self, const Ferry__Config *config)
{
    if (config->metrics_ms >= 10 && config->metrics_ms != (uint32_t) self->opts->metrics_ms) {
        zloop_timer_end(self->loop, self->metrics_timer);
        self->metrics_timer = zloop_timer(self->loop, config->metrics_ms, 0, s_on_metrics, self);
    }
    if (config->fast_heartbeat_ms >= 10 && config->fast_for_ms > 0) {
        log_info("move window: heartbeat every %u ms for %u ms", config->fast_heartbeat_ms,
                 config->fast_for_ms);
        self->fast_until_ms = clock_mono_ms() + config->fast_for_ms;
        s_set_heartbeat(self, config->fast_heartbeat_ms);
    }
    else if (config->end_window && self->fast_until_ms) {
        self->fast_until_ms = 0;
        log_info("move window closed by the collector: heartbeat back to %" PRId64 " ms",
                 self->opts->heartbeat_ms);
        s_set_heartbeat(self, self->opts->heartbeat_ms);
    }
    else if (config->heartbeat_ms >= 10 && !self->fast_until_ms)
        s_set_heartbeat(self, config->heartbeat_ms);
}

static void s_on_job(agent_t *self, const Ferry__JobRequest *job)
{
    //  No job kinds exist in this build: refuse explicitly so the collector
    //  does not wait for a job that will never run.
    Ferry__Envelope reply = FERRY__ENVELOPE__INIT;
    Ferry__JobUpdate update = FERRY__JOB_UPDATE__INIT;
    update.job_id = job->job_id;
    update.state = "failed";
    update.message = "this agent does not run that kind of job";
    update.exit_code = -1;
    reply.body_case = FERRY__ENVELOPE__BODY_JOB_UPDATE;
    reply.job_update = &update;
    log_warn("refused job %s of kind %s: not supported", job->job_id, job->kind);
    agent_link_send(self->link, &reply, SPOOL_CLASS_OTHER);
}

static void s_on_message(const Ferry__Envelope *env, void *arg)
{
    agent_t *self = arg;
    if (env->body_case == FERRY__ENVELOPE__BODY_CONFIG)
        s_on_config(self, env->config);
    else if (env->body_case == FERRY__ENVELOPE__BODY_JOB_REQUEST)
        s_on_job(self, env->job_request);
}

// ------------------------------------------------------------------ start and stop

static int s_write_pid(agent_t *self, char *err, size_t errlen)
{
    const char *path = self->opts->pid_file;
    if (!path[0])
        return 0;
    FILE *file = fopen(path, "w");
    if (!file || fprintf(file, "%ld\n", (long) getpid()) < 0 || fclose(file) != 0) {
        snprintf(err, errlen, "cannot write pid file %s", path);
        return -1;
    }
    self->pid_written = true;
    return 0;
}

static int s_open_files(agent_t *self, char *err, size_t errlen)
{
    const agent_options_t *o = self->opts;
    if (keys_check_private(o->spool_dir, err, errlen) != 0)
        return -1;
    self->cert = keys_load_secret(o->cert, err, errlen);
    if (!self->cert)
        return -1;
    self->server_cert = keys_load_public(o->collector_cert, err, errlen);
    if (!self->server_cert)
        return -1;
    self->spool = spool_open(o->spool_dir, (size_t) o->spool_max, err, errlen);
    if (!self->spool)
        return -1;
    char state[1024];
    snprintf(state, sizeof state, "%s/%s", o->spool_dir, AGENT_STATE_FILE);
    self->watch = watch_new(state);
    self->notify = notify_bind(o->spool_dir, err, errlen);
    self->sampler = platform_metrics_new(&o->platform, err, errlen);
    if (!self->watch || !self->notify || !self->sampler)
        return -1;
    return s_write_pid(self, err, errlen);
}

//  Identity for Hello comes from the first facts; the first facts and the
//  events they imply go out right after the link exists.
static void s_first_facts(agent_t *self, json_t **facts_p)
{
    json_t *facts = platform_facts(&self->opts->platform);
    const char *host = json_string_value(json_object_get(facts, "hostname"));
    const char *boot = json_string_value(json_object_get(facts, "boot_id"));
    if (!host && gethostname(self->hostname, sizeof self->hostname) != 0)
        host = "unknown";
    if (host)
        snprintf(self->hostname, sizeof self->hostname, "%s", host);
    snprintf(self->boot_id, sizeof self->boot_id, "%s", boot ? boot : "unknown");
    size_t i;
    json_t *warning;
    json_array_foreach(json_object_get(facts, "warnings"), i, warning)
        log_warn("facts: %s", json_string_value(warning));
    *facts_p = facts;
}

static int s_start(agent_t *self, char *err, size_t errlen)
{
    const agent_options_t *o = self->opts;
    if (s_open_files(self, err, errlen) != 0)
        return -1;
    json_t *facts = NULL;
    s_first_facts(self, &facts);
    self->loop = zloop_new();
    self->link_opts = (agent_link_options_t){
        .endpoint = o->collector,
        .server_key = zcert_public_txt(self->server_cert),
        .cert = self->cert,
        .spool = self->spool,
        .max_frame = (size_t) o->max_frame,
        .ack_timeout_ms = (int) o->ack_timeout_ms,
        .sync_ms = (int) o->sync_ms,
        .platform = o->platform.platform,
        .hostname = self->hostname,
        .boot_id = self->boot_id,
        .handler = s_on_message,
        .handler_arg = self,
    };
    self->link = agent_link_new(&self->link_opts, self->loop, err, errlen);
    if (!self->link) {
        json_decref(facts);
        return -1;
    }
    log_info("agent %s on %s (%s): reporting to %s, spool %s (%zu unacked, next seq %" PRIu64 ")",
             zcert_public_txt(self->cert), self->hostname, o->platform.platform, o->collector,
             o->spool_dir, spool_count(self->spool), spool_next_seq(self->spool));
    s_take_facts(self, facts, "start");
    metrics_t prime = { 0 };
    platform_metrics_sample(self->sampler, &prime);
    metrics_clear(&prime);

    self->heartbeat_timer = -1;
    self->tick_timer = -1;
    s_set_heartbeat(self, o->heartbeat_ms);
    self->metrics_timer = zloop_timer(self->loop, (size_t) o->metrics_ms, 0, s_on_metrics, self);
    zloop_timer(self->loop, (size_t) o->identity_ms, 0, s_on_identity, self);
    zloop_timer(self->loop, (size_t) o->facts_ms, 0, s_on_facts, self);
    zloop_reader(self->loop, self->notify, s_on_notify, self);
    self->facts_worker = zactor_new(s_facts_actor, (void *) &o->platform);
    zloop_reader(self->loop, zactor_sock(self->facts_worker), s_on_facts_done, self);
#ifdef _AIX
    self->dr = aix_dr_new();
    if (!self->dr)
        log_warn("no SIGRECONFIG handler: LPM phases are seen only through the identity timer");
#endif
    return 0;
}

static void s_stop(agent_t *self)
{
    //  A re-read in flight finishes first (bounded by the command timeouts);
    //  its answer, still in the pipe, is freed here.
    if (self->facts_worker) {
        zloop_reader_end(self->loop, zactor_sock(self->facts_worker));
        zsock_send(self->facts_worker, "ss", "$TERM", "");
        void *pointer = NULL;
        char *detected_by = NULL;
        while (self->facts_busy && zsock_recv(self->facts_worker, "ps", &pointer, &detected_by) == 0) {
            json_decref(pointer);
            zstr_free(&detected_by);
            self->facts_busy = false;
        }
        zactor_destroy(&self->facts_worker);
    }
#ifdef _AIX
    aix_dr_destroy(&self->dr);
#endif
    agent_link_destroy(&self->link);
    zloop_destroy(&self->loop);
    zsock_destroy(&self->notify);
    platform_metrics_destroy(&self->sampler);
    watch_destroy(&self->watch);
    spool_destroy(&self->spool);
    zcert_destroy(&self->cert);
    zcert_destroy(&self->server_cert);
    free(self->facts_digest);
    json_decref(self->facts_last);
    if (self->pid_written)
        unlink(self->opts->pid_file);
}

int agent_run(const agent_options_t *opts)
{
    char err[512];
    agent_t self = { .opts = opts, .heartbeat_timer = -1, .tick_timer = -1, .moved_timer = -1 };
    //  A daemon outlives its terminal; a closed peer must not kill it either.
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    if (s_start(&self, err, sizeof err) != 0) {
        log_error("%s", err);
        goto done;
    }
    //  A handled signal (SIGRECONFIG on AIX) interrupts zloop's poll and makes
    //  it return; only SIGINT/SIGTERM (zsys_interrupted) end the agent.
    while (zloop_start(self.loop) == 0 && !zsys_interrupted) {
#ifdef _AIX
        s_check_dr(&self);
#endif
    }
    log_info("stopping: %zu messages still unacked stay in the spool", spool_count(self.spool));
    rc = 0;
done:
    s_stop(&self);
    return rc;
}
