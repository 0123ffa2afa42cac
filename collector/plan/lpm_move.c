/*  lpm_move — one LPM move's state machine (see lpm_move.h, and planner.h
    for the states). */
#include "lpm_move.h"

#include "clock.h"
#include "hmc_dispatch.h"
#include "move_window.h"
#include "log.h"
#include "readiness.h"
#include "readiness_input.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ---------------------------------------------------------------- caps

//  The caps' view of m's current hop, leaving source.
static move_caps_hop_t s_caps_hop(const planner_move_t *m, const char *source)
{
    return (move_caps_hop_t){ .hmc = m->plan->hmc->name, .source = source,
                              .target = planner_move_target(m), .vios_pair = m->move->vios_pair };
}

//  Count the active hops once per tick.
static void s_caps_count(planner_t *self)
{
    if (self->caps_counted)
        return;
    move_caps_clear(self->caps);
    for (planner_move_t *o = zlistx_first(self->moves); o; o = zlistx_next(self->moves)) {
        if (!planner_state_active(o->state))
            continue;
        move_caps_hop_t hop = s_caps_hop(o, o->source);
        move_caps_add(self->caps, &hop, 1);
    }
    self->caps_counted = true;
}

//  Hops of other moves on the same HMC that hold resources now.
static bool s_over_cap(planner_t *self, planner_move_t *m, const char *source, char *why, size_t size)
{
    const plan_t *plan = m->plan->plan;
    s_caps_count(self);
    move_caps_hop_t hop = s_caps_hop(m, source);
    move_caps_limits_t limits = { .per_hmc = plan->per_hmc, .per_system = plan->per_system,
                                  .per_vios_pair = plan->per_vios_pair };
    return move_caps_over(self->caps, &hop, &limits, why, size);
}

//  ---------------------------------------------------------------- one hop

//  The readiness rules for m's next hop on the inventory held: false when
//  they blocked the move (it is "blocked" now) or it must wait for its
//  agent. Sets m->ready_limited and the agent key.
static bool s_ready(planner_t *self, planner_move_t *m, const hmc_partition_t *part,
                    const hmc_system_t *source)
{
    planner_hmc_state_t *h = m->plan->hmc;
    char key[48] = "";
    char *facts_text = NULL;
    json_t *facts = NULL;
    if (planner_agent_facts(self, m->move->partition, key, sizeof key, &facts_text) == 0
        && facts_text)
        facts = json_loads(facts_text, 0, NULL);
    free(facts_text);
    move_window_observation_t obs;
    memset(&obs, 0, sizeof obs);
    bool observed = key[0] && move_window_observe(self->windows, key, &obs) == 0;
    int64_t stale = readiness_agent_stale_ms(obs.heartbeat_ms, self->opts.agent_stale_ms);
    //  Only what this process heard counts as "reporting"; right after a
    //  (re)start the agents have not spoken yet: wait as long as one may stay
    //  silent instead of blocking for good a move that is fine.
    if (facts && !obs.seen && clock_mono_ms() - self->started_mono_ms < stale) {
        json_decref(facts);
        char note[256];
        snprintf(note, sizeof note, "waiting for the ferry-agent of %s to report (the collector"
                 " started %" PRId64 " s ago)", m->move->partition,
                 (clock_mono_ms() - self->started_mono_ms) / 1000);
        planner_move_note(self, m, note, false);
        return false;
    }
    readiness_input_t in = {
        .target_name = planner_move_target(m), .facts = facts,
        .agent_serial = observed ? obs.serial : NULL, .now_ms = clock_wall_ms(),
        .agent_last_seen_ms = observed ? obs.last_frame_ms : 0, .agent_stale_ms = stale};
    readiness_hmc_view_t view;
    readiness_input_from_hmc(&in, &view, part, source,
                             hmc_dispatch_system_by_name(h, planner_move_target(m)));
    readiness_report_t report;
    readiness_lpm(&in, &report);
    json_decref(facts);
    //  The system's own concurrency limit is a wait, not a verdict: the
    //  slots free up as the other moves end.
    bool blocked = false, limited = false;
    for (size_t i = 0; i < report.count; i++) {
        if (report.items[i].severity != READINESS_BLOCKER)
            continue;
        if (strcmp(report.items[i].id, "lpm.concurrency") == 0)
            limited = true;
        else
            blocked = true;
    }
    if (blocked) {
        char text[1024];
        readiness_blockers_text(&report, text, sizeof text);
        planner_move_set(self, m, "blocked", "%s", text);
        return false;
    }
    snprintf(m->agent_key, sizeof m->agent_key, "%s", key);
    m->ready_limited = limited;
    m->ready_gen = h->inv_gen;
    return true;
}

static void s_check(planner_t *self, planner_move_t *m)
{
    planner_hmc_state_t *h = m->plan->hmc;
    if (h->inv_gen == 0 || h->inv_gen < m->want_gen)
        return;                               // wait for an inventory at least that fresh
    const hmc_partition_t *part = hmc_dispatch_partition(h, m->move->partition);
    if (!part) {
        planner_move_set(self, m, "blocked", "partition %s is not known to HMC %s",
                         m->move->partition, h->name);
        return;
    }
    const hmc_system_t *source = hmc_dispatch_system_by_uuid(h, part->system_uuid);
    //  The rules read the agent's facts from the database: once per
    //  inventory, not once per tick, while the move waits for a free slot.
    if (m->ready_gen != h->inv_gen && !s_ready(self, m, part, source))
        return;
    char why[128];
    if (m->ready_limited || self->starts_left <= 0
        || s_over_cap(self, m, source ? source->name : "", why, sizeof why))
        return;
    self->starts_left--;
    snprintf(m->source, sizeof m->source, "%s", source ? source->name : "");
    m->job_id[0] = '\0';
    snprintf(m->job_op, sizeof m->job_op, "MigrateValidate");
    if (m->started_ms == 0)
        m->started_ms = clock_wall_ms();
    if (planner_move_set(self, m, "validating", "%s", "") == 0) {
        move_caps_hop_t hop = s_caps_hop(m, m->source);
        move_caps_add(self->caps, &hop, 1);
        hmc_dispatch_submit(m, HMC_OP_MIGRATE_VALIDATE);
    }
}

//  Count the Migrate, persist, open the window, then submit.
static void s_migrate(planner_t *self, planner_move_t *m)
{
    //  The window opens first so that its start and the boot id at that
    //  moment are persisted with the transition: a restarted collector needs
    //  them to verify the hop.
    if (m->agent_key[0] && !m->window) {
        move_window_observation_t obs;
        if (move_window_open(self->windows, m->agent_key, self->opts.fast_heartbeat_ms,
                               self->opts.window_ms) == 0
            && move_window_observe(self->windows, m->agent_key, &obs) == 0) {
            m->window = true;
            m->window_ms = obs.window_start_ms;
            snprintf(m->window_boot_id, sizeof m->window_boot_id, "%s", obs.window_boot_id);
        }
    }
    m->submissions++;
    m->job_id[0] = '\0';
    snprintf(m->job_op, sizeof m->job_op, "Migrate");
    if (planner_move_set(self, m, "migrating", "%s", "") != 0) {
        m->submissions--;
        return;
    }
    m->job_started_mono = clock_mono_ms();
    m->resolve = false;
    if (hmc_dispatch_submit(m, HMC_OP_MIGRATE) != 0) {
        //  Never queued: an inventory taken from now on decides, as after a
        //  restart (the one in memory may predate it, or not exist yet).
        m->resolve = true;
        m->want_gen = m->plan->hmc->inv_sent + 1;
    }
}

static void s_close_window(planner_t *self, planner_move_t *m)
{
    if (m->window && m->agent_key[0])
        move_window_close(self->windows, m->agent_key);
    m->window = false;
}

//  The hop is done (moved and verified, or validated): next hop or final.
static void s_hop_done(planner_t *self, planner_move_t *m)
{
    s_close_window(self, m);
    m->placed = false;
    bool validate_only = m->plan->plan->validate_only;
    if ((size_t) m->hop + 1 >= m->move->hop_count) {
        planner_move_set(self, m, validate_only ? "validated" : "verified", "%s", "");
        return;
    }
    if (strcmp(m->plan->state, "aborted") == 0) {
        planner_move_set(self, m, "aborted", "plan aborted after hop %d of %zu", m->hop + 1,
                         m->move->hop_count);
        return;
    }
    m->hop++;
    m->job_id[0] = '\0';
    m->job_op[0] = '\0';
    m->submissions = 0;
    m->want_gen = m->plan->hmc->inv_sent + 1;
    planner_move_set(self, m, "checking", "%s", "");
}

static json_t *s_check_json(const char *name, bool ok, const char *detail)
{
    return json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok, "detail", detail);
}

static void s_verify(planner_t *self, planner_move_t *m)
{
    planner_hmc_state_t *h = m->plan->hmc;
    if (h->inv_gen == 0)
        return;
    //  The placement is read for this partition alone: waiting for a whole
    //  inventory newer than the move made verify latency grow with the fleet.
    if (!m->part_fresh && !m->placed) {
        const hmc_partition_t *known = hmc_dispatch_partition(h, m->move->partition);
        if (known)
            hmc_dispatch_move_send(m, hmc_request_new(HMC_REQ_GET_PARTITION, (uint64_t) m->id,
                                                      known->uuid),
                                   PLANNER_PRIO_ENDING);
        return;
    }
    //  Until the HMC shows the partition on the target, every look fetches it
    //  again; after that only the agent's side is waited for (a completed
    //  Migrate does not move back by itself).
    m->part_fresh = false;
    const char *target = planner_move_target(m);
    const hmc_system_t *tsys = hmc_dispatch_system_by_name(h, target);
    const hmc_partition_t *part = &m->part;
    const hmc_system_t *on = part ? hmc_dispatch_system_by_uuid(h, part->system_uuid) : NULL;
    char d[256];
    json_t *checks = json_array();
    bool all = true, ok;
    snprintf(d, sizeof d, "HMC: on %s, %s, %s", on ? on->name : "?", part ? part->state : "?",
             part && part->migration_state[0] ? part->migration_state : "-");
    ok = part && on && tsys && on == tsys && strcmp(part->state, "running") == 0
         && (!part->migration_state[0] || strcmp(part->migration_state, "Not_Migrating") == 0);
    json_array_append_new(checks, s_check_json("hmc_target", ok, d));
    all &= ok;
    m->placed = ok;
    move_window_observation_t obs;
    memset(&obs, 0, sizeof obs);
    bool seen = m->agent_key[0] && move_window_observe(self->windows, m->agent_key, &obs) == 0
                && obs.seen;
    snprintf(d, sizeof d, "agent serial %s, target %s", seen && obs.serial[0] ? obs.serial : "none",
             tsys ? tsys->serial : "?");
    ok = seen && tsys && obs.serial[0] && strcmp(obs.serial, tsys->serial) == 0;
    json_array_append_new(checks, s_check_json("agent_serial", ok, d));
    all &= ok;
    snprintf(d, sizeof d, "boot id %.40s, at window open %.40s", seen ? obs.boot_id : "none",
             obs.window_boot_id[0] ? obs.window_boot_id : "none");
    ok = seen && obs.boot_id[0] && obs.window_boot_id[0] && strcmp(obs.boot_id, obs.window_boot_id) == 0;
    json_array_append_new(checks, s_check_json("boot_id_unchanged", ok, d));
    all &= ok;
    snprintf(d, sizeof d, "pre %s, post %s",
             obs.lpm_phases & MOVE_WINDOW_LPM_PRE ? "seen" : "missing",
             obs.lpm_phases & MOVE_WINDOW_LPM_POST ? "seen" : "missing");
    ok = seen && (obs.lpm_phases & MOVE_WINDOW_LPM_PRE) && (obs.lpm_phases & MOVE_WINDOW_LPM_POST);
    json_array_append_new(checks, s_check_json("lpm_events", ok, d));
    all &= ok;
    int64_t outage = obs.max_gap_ms - (int64_t) self->opts.fast_heartbeat_ms;
    if ((int64_t) obs.max_stall_ms > outage)
        outage = obs.max_stall_ms;
    if (outage < 0)
        outage = 0;
    int64_t budget = m->plan->plan->outage_budget_ms;
    if (obs.resumed) {
        //  The blackout may have happened while no collector was listening:
        //  say so rather than report a figure that would look measured.
        snprintf(d, sizeof d, "not measured: the collector restarted during the move window"
                 " (after it: gap %" PRId64 " ms, stall %u ms)", obs.max_gap_ms, obs.max_stall_ms);
        outage = -1;
        ok = seen;
    }
    else {
        snprintf(d, sizeof d, "outage %" PRId64 " ms (gap %" PRId64 ", stall %u), budget %" PRId64
                 " ms", outage, obs.max_gap_ms, obs.max_stall_ms, budget);
        ok = seen && (budget <= 0 || outage <= budget);
    }
    json_array_append_new(checks, s_check_json("outage", ok, d));
    all &= ok;
    if (!all && clock_mono_ms() < m->verify_deadline) {
        json_decref(checks);              // look again (a fresh GET) next tick
        return;
    }
    while (json_array_size(m->checks) <= (size_t) m->hop)
        json_array_append_new(m->checks, json_null());   // set_new needs the slot to exist
    json_array_set_new(m->checks, (size_t) m->hop, checks);
    if (seen && outage > m->outage_ms)
        m->outage_ms = outage;
    if (all) {
        s_hop_done(self, m);
        return;
    }
    char failed[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(checks) && used < sizeof failed; i++) {
        json_t *c = json_array_get(checks, i);
        if (!json_is_true(json_object_get(c, "ok")))
            used += (size_t) snprintf(failed + used, sizeof failed - used, "%s%s (%s)", used ? "; " : "",
                                      json_string_value(json_object_get(c, "name")),
                                      json_string_value(json_object_get(c, "detail")));
    }
    s_close_window(self, m);
    planner_move_set(self, m, "failed", "hop %d to %s: verification failed: %s", m->hop + 1, target,
                     failed);
}

//  Migrate without a job id after a restart or a lost submission: decide
//  from a fresh inventory whether it happened.
static void s_resolve(planner_t *self, planner_move_t *m)
{
    planner_hmc_state_t *h = m->plan->hmc;
    //  No inventory yet (a collector just restarted): nothing is "no longer
    //  known" before the HMC was asked once.
    if (h->inv_gen == 0 || h->inv_gen < m->want_gen)
        return;
    const hmc_partition_t *part = hmc_dispatch_partition(h, m->move->partition);
    if (!part) {
        planner_move_set(self, m, "failed", "partition %s no longer known to HMC %s",
                         m->move->partition, h->name);
        return;
    }
    const hmc_system_t *on = hmc_dispatch_system_by_uuid(h, part->system_uuid);
    bool settled = strstr(part->state, "migrating") == NULL
                   && (!part->migration_state[0] || strcmp(part->migration_state, "Not_Migrating") == 0);
    if (!settled) {
        m->want_gen = h->inv_sent + 1;        // still moving: look again
        return;
    }
    m->resolve = false;
    if (on && strcmp(on->name, planner_move_target(m)) == 0) {
        m->verify_deadline = clock_mono_ms() + self->opts.verify_timeout_ms;
        planner_move_set(self, m, "verifying", "%s", "");
    }
    else if (on && strcmp(on->name, m->source) == 0)
        s_migrate(self, m);                  // the Migrate never happened
    else
        planner_move_set(self, m, "failed",
                         "after the Migrate %s is on %s, neither source %s nor target %s",
                         m->move->partition, on ? on->name : "an unknown system", m->source,
                         planner_move_target(m));
}

//  ---------------------------------------------------------------- step

//  The partition's agent reported the LPM post phase of this Migrate: the
//  job is about to end (or has).
static bool s_ending(planner_t *self, planner_move_t *m)
{
    move_window_observation_t obs;
    return strcmp(m->state, "migrating") == 0 && m->window && m->job_id[0]
           && move_window_observe(self->windows, m->agent_key, &obs) == 0
           && (obs.lpm_phases & (MOVE_WINDOW_LPM_POST | MOVE_WINDOW_LPM_POSTERROR));
}

//  Every move waiting on a failing HMC says so in its message, and the
//  message goes once the HMC answers again.
static void s_note_hmc(planner_t *self, planner_move_t *m)
{
    const planner_hmc_state_t *h = m->plan->hmc;
    bool waiting = !planner_state_final(m->state)
                   && planner_state_in(m->plan->state, (const char *[]){"running", "paused"}, 2);
    if (waiting && hmc_link_failing(&h->link)) {
        char line[sizeof m->message];
        hmc_link_describe(&h->link, h->name, line, sizeof line);
        planner_move_note(self, m, line, true);
    }
    else if (m->hmc_note)
        planner_move_note(self, m, "", false);
}

void lpm_move_step(planner_t *self, planner_move_t *m)
{
    s_note_hmc(self, m);
    if (m->busy && s_ending(self, m))
        hmc_dispatch_promote(m->plan->hmc, (uint64_t) m->id, HMC_REQ_POLL);
    if (m->busy || planner_state_final(m->state))
        return;
    const char *ps = m->plan->state;
    bool running = strcmp(ps, "running") == 0;
    if (strcmp(ps, "aborted") == 0
        && planner_state_in(m->state, (const char *[]){"pending", "checking"}, 2)) {
        planner_move_set(self, m, "aborted", "plan aborted");
        return;
    }
    if (strcmp(m->state, "pending") == 0) {
        if (running) {
            m->want_gen = m->plan->hmc->inv_sent + 1;
            planner_move_set(self, m, "checking", "%s", "");
        }
    }
    else if (strcmp(m->state, "checking") == 0) {
        if (running)
            s_check(self, m);
    }
    else if (strcmp(m->state, "verifying") == 0)
        s_verify(self, m);
    else if (m->resolve)
        s_resolve(self, m);
    else if (m->job_id[0]) {
        if (strcmp(m->state, "migrating") == 0 && self->opts.job_timeout_ms > 0
            && clock_mono_ms() - m->job_started_mono > self->opts.job_timeout_ms) {
            //  Time-out: abort the copy, then recover (the poll of the abort job leads there).
            m->job_id[0] = '\0';
            snprintf(m->job_op, sizeof m->job_op, "MigrateAbort");
            if (planner_move_set(self, m, "recovering", "hop %d to %s timed out after %" PRId64 " ms",
                                 m->hop + 1, planner_move_target(m), self->opts.job_timeout_ms) == 0)
                hmc_dispatch_submit(m, HMC_OP_MIGRATE_ABORT);
            return;
        }
        //  Polls back off from a tick to poll_ms; once the agent reports the
        //  LPM post phase the move is ending: poll at every step (each tick,
        //  and at once when the report nudges it).
        int64_t now = clock_mono_ms();
        if (m->poll_interval_ms < self->opts.tick_ms)
            m->poll_interval_ms = self->opts.tick_ms;
        bool ending = s_ending(self, m);
        if (ending)
            m->poll_interval_ms = self->opts.tick_ms;
        if (now < m->next_poll_mono && !ending)
            return;
        planner_prio_t prio = ending ? PLANNER_PRIO_ENDING
                              : strcmp(m->state, "migrating") == 0 ? PLANNER_PRIO_ROUTINE
                                                                   : PLANNER_PRIO_STEP;
        hmc_request_t *poll = hmc_request_new(HMC_REQ_POLL, (uint64_t) m->id, m->job_id);
        if (hmc_dispatch_move_send(m, poll, prio) == 0) {
            m->next_poll_mono = now + m->poll_interval_ms;
            m->poll_interval_ms *= 2;
            if (m->poll_interval_ms > self->opts.poll_ms)
                m->poll_interval_ms = self->opts.poll_ms;
        }
    }
    else if (strcmp(m->state, "validating") == 0)
        hmc_dispatch_submit(m, HMC_OP_MIGRATE_VALIDATE);   // harmless to repeat: it changes nothing
    else if (strcmp(m->state, "migrating") == 0) {
        if (m->submissions == 0)
            s_migrate(self, m);
        else {
            m->resolve = true;
            m->want_gen = m->plan->hmc->inv_sent + 1;
        }
    }
    else if (strcmp(m->state, "recovering") == 0)
        hmc_dispatch_submit(m, strcmp(m->job_op, "MigrateAbort") == 0 ? HMC_OP_MIGRATE_ABORT
                                                                      : HMC_OP_MIGRATE_RECOVER);
}

//  ---------------------------------------------------------------- replies

//  A final job of the move's current step.
static void s_job_done(planner_t *self, planner_move_t *m, const hmc_job_status_t *st)
{
    char line[768];
    hmc_job_describe(st, line, sizeof line);
    bool ok = hmc_job_state_ok(st->state);
    hmc_dispatch_delete_job(m);
    if (strcmp(m->state, "validating") == 0) {
        if (!ok)
            planner_move_set(self, m, "failed", "hop %d to %s: %s", m->hop + 1,
                             planner_move_target(m), line);
        else if (m->plan->plan->validate_only)
            s_hop_done(self, m);
        else
            s_migrate(self, m);
    }
    else if (strcmp(m->state, "migrating") == 0) {
        if (ok) {
            m->job_id[0] = '\0';
            //  No inventory is waited for: verification reads the partition alone.
            m->verify_deadline = clock_mono_ms() + self->opts.verify_timeout_ms;
            if (planner_move_set(self, m, "verifying", "%s", "") == 0)
                lpm_move_step(self, m);     // fetch the placement now, not at the next tick
        }
        else {
            m->job_id[0] = '\0';
            snprintf(m->job_op, sizeof m->job_op, "MigrateRecover");
            s_close_window(self, m);
            if (planner_move_set(self, m, "recovering", "hop %d to %s: %s", m->hop + 1,
                                 planner_move_target(m), line) == 0)
                hmc_dispatch_submit(m, HMC_OP_MIGRATE_RECOVER);
        }
    }
    else if (strcmp(m->state, "recovering") == 0) {
        if (strcmp(m->job_op, "MigrateAbort") == 0) {
            m->job_id[0] = '\0';
            snprintf(m->job_op, sizeof m->job_op, "MigrateRecover");
            s_close_window(self, m);
            if (planner_move_save(self, m) == 0)
                hmc_dispatch_submit(m, HMC_OP_MIGRATE_RECOVER);
        }
        else {
            m->job_id[0] = '\0';
            char msg[sizeof m->message];
            snprintf(msg, sizeof msg, "%s", m->message);
            planner_move_set(self, m, "failed", "%s%s", msg, ok ? "" : " (MigrateRecover failed too)");
        }
    }
}

void lpm_move_on_reply(planner_t *self, hmc_request_t *req)
{
    planner_move_t *m = planner_move_find(self, (int64_t) req->id);
    if (!m)
        return;
    m->busy = false;
    if (req->kind == HMC_REQ_SUBMIT) {
        if (req->rc != 0) {
            if (strcmp(m->state, "migrating") == 0) {
                //  Whether the HMC took it is unknown: let the inventory say.
                m->resolve = true;
                m->want_gen = m->plan->hmc->inv_sent + 1;
                log_warn("planner: %s: Migrate submission: %s", m->move->partition, req->error);
            }
            else if (hmc_dispatch_link_failure(req))
                ;                    // the HMC is down: submitted again once it answers
            else if (strcmp(m->state, "validating") == 0)
                planner_move_set(self, m, "failed", "hop %d to %s: MigrateValidate: %s", m->hop + 1,
                                 planner_move_target(m), req->error);
            else
                log_warn("planner: %s: %s: %s (retried)", m->move->partition, m->job_op, req->error);
            return;
        }
        snprintf(m->job_id, sizeof m->job_id, "%s", req->job_id);
        m->poll_interval_ms = self->opts.tick_ms;
        m->next_poll_mono = clock_mono_ms() + m->poll_interval_ms;
        planner_move_save(self, m);             // the job id, as soon as known
    }
    else if (req->kind == HMC_REQ_GET_PARTITION) {
        if (req->rc == 0 && req->partition_count == 1) {
            m->part = req->partitions[0];
            m->part_fresh = true;
            lpm_move_step(self, m);         // verify at once rather than at the next tick
        }
        else if (req->rc != 0 && !hmc_dispatch_link_failure(req))
            log_warn("planner: %s: %s", m->move->partition, req->error);
    }
    else if (req->kind == HMC_REQ_POLL) {
        if (req->rc != 0) {
            if (!hmc_dispatch_link_failure(req))
                log_warn("planner: %s: poll of job %s: %s", m->move->partition, m->job_id,
                         req->error);
            return;                  // polled again next tick
        }
        if (hmc_job_state_final(req->status.state))
            s_job_done(self, m, &req->status);
    }
}

