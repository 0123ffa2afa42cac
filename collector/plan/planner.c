/*  planner — LPM plans as persisted move state machines (see planner.h):
    the public API, the timers and rounds, plan load / resume, and the
    persistence of moves and plans. The moves' state machine is lpm_move.c,
    the HMCs' sessions and inventories hmc_dispatch.c, the concurrency caps
    move_caps.c; planner_private.h is what they share. */
#include "planner_private.h"

#include "clock.h"
#include "errbuf.h"
#include "hmc_dispatch.h"
#include "log.h"
#include "lpm_move.h"
#include "plan.h"
#include "store.h"
#include "store_plan.h"
#include "store_writer.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ROUND_DELAY_MS 5          // replies wait this long for others to share their commit

static const char *S_FINAL[] = {"blocked", "failed", "verified", "validated", "aborted"};
static const char *S_ACTIVE[] = {"validating", "migrating", "verifying", "recovering"};

bool planner_state_in(const char *state, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(state, list[i]) == 0)
            return true;
    return false;
}

bool planner_state_final(const char *state)
{
    return planner_state_in(state, S_FINAL, sizeof S_FINAL / sizeof S_FINAL[0]);
}

bool planner_state_active(const char *state)
{
    return planner_state_in(state, S_ACTIVE, sizeof S_ACTIVE / sizeof S_ACTIVE[0]);
}

//  ---------------------------------------------------------------- database

//  Where a write is recorded: with the round when one is open (committed
//  with it, before the requests it leads to are sent), else alone.
static store_plan_writes_t *s_writes(planner_t *self)
{
    return self->group_open ? self->round : self->own;
}

//  rc: whether the write was recorded. Outside a round it is committed now,
//  the planner waiting for the writer. Failures are logged and kept in
//  db_error. 0 / -1.
static int s_write_end(planner_t *self, int rc)
{
    char err[512] = "out of memory";
    if (rc == 0 && self->group_open)
        return 0;
    if (rc == 0)
        rc = store_client_call(self->client, store_plan_writes_commit, self->own, err, sizeof err);
    if (!self->group_open)
        store_plan_writes_clear(self->own);
    if (rc == 0)
        return 0;
    snprintf(self->db_error, sizeof self->db_error, "%s", err);
    log_error("planner: database: %s", self->db_error);
    return -1;
}

static void s_audit(planner_t *self, const char *action, const char *target, const char *outcome,
                    const char *detail)
{
    if (s_write_end(self, store_plan_writes_audit(s_writes(self), clock_wall_ms(), "planner",
                                                  action, target, outcome, detail)) != 0)
        log_warn("planner: audit row for %s %s not written", action, target);
}

//  Persist every column of the move (with the round when one is open).
int planner_move_save(planner_t *self, planner_move_t *m)
{
    store_move_t row = {
        .id = m->id, .position = m->position, .hop = m->hop, .submissions = m->submissions,
        .started_ms = m->started_ms, .finished_ms = m->finished_ms, .outage_ms = m->outage_ms,
        .window_ms = m->window_ms, .checks = m->checks};
    snprintf(row.state, sizeof row.state, "%s", m->state);
    snprintf(row.job_id, sizeof row.job_id, "%s", m->job_id);
    snprintf(row.job_op, sizeof row.job_op, "%s", m->job_op);
    snprintf(row.agent_key, sizeof row.agent_key, "%s", m->agent_key);
    snprintf(row.source, sizeof row.source, "%s", m->source);
    snprintf(row.window_boot_id, sizeof row.window_boot_id, "%s", m->window_boot_id);
    snprintf(row.message, sizeof row.message, "%s", m->message);
    return s_write_end(self, store_plan_writes_move(s_writes(self), &row, clock_wall_ms()));
}

//  Change state (and message when given) and persist. -1 leaves the move
//  as it was in memory too, so nothing acts on an unrecorded transition.
int planner_move_set(planner_t *self, planner_move_t *m, const char *state, const char *fmt, ...)
{
    char old_state[sizeof m->state], old_msg[sizeof m->message];
    int64_t old_finished = m->finished_ms;
    snprintf(old_state, sizeof old_state, "%s", m->state);
    snprintf(old_msg, sizeof old_msg, "%s", m->message);
    snprintf(m->state, sizeof m->state, "%s", state);
    bool old_note = m->hmc_note;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->message, sizeof m->message, fmt, ap);
        va_end(ap);
        m->hmc_note = false;
    }
    if (planner_state_final(state))
        m->finished_ms = clock_wall_ms();
    if (planner_move_save(self, m) != 0) {
        snprintf(m->state, sizeof m->state, "%s", old_state);
        snprintf(m->message, sizeof m->message, "%s", old_msg);
        m->finished_ms = old_finished;
        m->hmc_note = old_note;
        return -1;
    }
    log_info("planner: %s move %s: %s%s%s", m->plan->plan->name, m->move->partition, state,
             m->message[0] ? " — " : "", m->message);
    return 0;
}

//  A word on the move that changes no state (the HMC it waits on is down):
//  persisted when it differs, not logged (the HMC's state change is, once).
void planner_move_note(planner_t *self, planner_move_t *m, const char *text, bool hmc_note)
{
    if (m->hmc_note == hmc_note && strcmp(m->message, text) == 0)
        return;
    char old[sizeof m->message];
    bool old_note = m->hmc_note;
    snprintf(old, sizeof old, "%s", m->message);
    snprintf(m->message, sizeof m->message, "%s", text);
    m->hmc_note = hmc_note;
    if (planner_move_save(self, m) != 0) {
        snprintf(m->message, sizeof m->message, "%s", old);
        m->hmc_note = old_note;
    }
}

static int s_plan_set(planner_t *self, planner_plan_t *p, const char *state)
{
    if (s_write_end(self, store_plan_writes_plan_state(s_writes(self), p->id, state,
                                                       clock_wall_ms())) != 0)
        return -1;
    snprintf(p->state, sizeof p->state, "%s", state);
    return 0;
}

//  ---------------------------------------------------------------- lookups

static planner_hmc_state_t *s_hmc_find(planner_t *self, const char *name)
{
    for (size_t i = 0; i < self->hmc_count; i++)
        if (strcmp(self->hmcs[i]->name, name) == 0)
            return self->hmcs[i];
    return NULL;
}

static planner_plan_t *s_plan_find(planner_t *self, int64_t id)
{
    for (planner_plan_t *p = zlistx_first(self->plans); p; p = zlistx_next(self->plans))
        if (p->id == id)
            return p;
    return NULL;
}

planner_move_t *planner_move_find(planner_t *self, int64_t id)
{
    for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves))
        if (m->id == id)
            return m;
    return NULL;
}

const char *planner_move_target(const planner_move_t *m)
{
    return m->move->hops[m->hop];
}

//  ---------------------------------------------------------------- rounds

//  A reply of the round: an inventory for the HMC, the rest for its move.
static void s_handle(planner_t *self, hmc_request_t *req)
{
    if (req->kind == HMC_REQ_INVENTORY)
        hmc_dispatch_on_inventory(self, req);
    else if (req->kind != HMC_REQ_DELETE)
        lpm_move_on_reply(self, req);
}

//  One tick: HMC requests and inventories, every move one step, plans whose
//  moves are all final closed.
static void s_tick_now(planner_t *self)
{
    int64_t now = clock_mono_ms();
    self->caps_counted = false;
    //  Hops start at a pace, not all in one tick: 80 moves started in the
    //  same 100 ms also end in the same 100 ms, a burst for the HMC and for
    //  the verification of every one of them.
    self->starts_left = (int) ((self->opts.starts_per_s * self->opts.tick_ms + 999) / 1000);
    hmc_dispatch_tick(self, now);
    //  Moves, snapshot first: a step never adds or removes list items, but
    //  the caps' count (lpm_move.c) walks the list itself.
    size_t n = zlistx_size(self->moves), i = 0;
    planner_move_t **all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return;
    for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves))
        all[i++] = m;
    for (i = 0; i < n; i++)
        lpm_move_step(self, all[i]);
    free(all);
    //  Plans whose moves are all final end: done when every move did what
    //  was asked, failed when none did, done_with_failures in between.
    for (planner_plan_t *p = zlistx_first(self->plans); p; p = zlistx_next(self->plans)) {
        if (strcmp(p->state, "running") != 0)
            continue;
        bool open = false;
        size_t moves = 0, bad = 0;
        for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves)) {
            if (m->plan != p)
                continue;
            open |= !planner_state_final(m->state);
            moves++;
            bad += planner_state_in(m->state, (const char *[]){"blocked", "failed"}, 2);
        }
        if (open)
            continue;
        const char *end = bad == 0 ? "done" : bad == moves ? "failed" : "done_with_failures";
        char detail[64];
        snprintf(detail, sizeof detail, "%zu of %zu moves blocked or failed", bad, moves);
        if (s_plan_set(self, p, end) == 0)
            s_audit(self, "finish", p->plan->name, end, bad ? detail : NULL);
    }
}

//  ------------------------------------------------ reads through the writer
//  The store lives on the writer's thread: what the planner reads there runs
//  as a store_writer_fn while the planner waits (store_client_call). Each
//  fills the caller's struct; none touches the planner's loop or ingest.

typedef struct {
    const char *partition;          // borrowed
    char key[41];                   // out: its agent's CURVE key, "" none
    char *facts;                    // out: its facts JSON (malloc'd), NULL none
} s_agent_query_t;

static int s_agent_query_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    s_agent_query_t *q = arg;
    if (store_agent_by_partition(store, q->partition, q->key, &q->facts) >= 0)
        return 0;
    errbuf_set(err, errlen, "%s", store_error(store));
    return -1;
}

typedef struct {
    const char *key;                // borrowed
    int64_t since_ms;
    char serial[64];                // out
    char boot_id[128];              // out
    unsigned phases;                // out
} s_evidence_query_t;

static int s_evidence_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    s_evidence_query_t *q = arg;
    if (store_window_evidence(store, q->key, q->since_ms, q->serial, sizeof q->serial, q->boot_id,
                              sizeof q->boot_id, &q->phases) == 0)
        return 0;
    errbuf_set(err, errlen, "%s", store_error(store));
    return -1;
}

typedef struct {
    store_plan_t *sp;
    int64_t plan_id;
    json_t *json;                   // out: new reference, NULL none
} s_plan_json_t;

static int s_plan_json_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    (void) store;
    (void) err;
    (void) errlen;
    s_plan_json_t *q = arg;
    q->json = store_plan_json(q->sp, q->plan_id);
    return 0;
}

typedef struct {
    store_plan_t *sp;
    int64_t *ids;                   // out: malloc'd
    size_t count;                   // out
} s_resume_query_t;

static int s_resume_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    (void) store;
    s_resume_query_t *q = arg;
    if (store_plan_resume_ids(q->sp, &q->ids, &q->count) == 0)
        return 0;
    errbuf_set(err, errlen, "database: %s", store_plan_error(q->sp));
    return -1;
}

//  A plan row and its moves' rows, read in one go; the moves are taken into
//  memory afterwards, on the planner's thread (that reopens their windows).
typedef struct {
    store_plan_t *sp;
    int64_t plan_id;
    int found;                      // out: store_plan_get's answer
    store_plan_row_t row;           // out: row.plan owned
    store_move_t *moves;            // out: malloc'd, each checks owned
    size_t move_count, move_cap;
    bool moves_failed;              // out: the moves could not all be read
    char why[512];                  // out: why
} s_plan_query_t;

static void s_plan_query_move(void *arg, store_move_t *row)
{
    s_plan_query_t *q = arg;
    if (q->move_count == q->move_cap) {
        size_t cap = q->move_cap ? q->move_cap * 2 : 64;
        store_move_t *grown = realloc(q->moves, cap * sizeof *grown);
        if (!grown)
            return;         // left out, as s_move_add leaves out what has no memory
        q->moves = grown;
        q->move_cap = cap;
    }
    q->moves[q->move_count++] = *row;
    row->checks = NULL;
}

static int s_plan_query_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    (void) store;
    s_plan_query_t *q = arg;
    q->found = store_plan_get(q->sp, q->plan_id, &q->row);
    if (q->found != 0) {
        errbuf_set(err, errlen, "%s", store_plan_error(q->sp));
        return -1;
    }
    if (store_plan_moves_load(q->sp, q->plan_id, s_plan_query_move, q) != 0) {
        q->moves_failed = true;
        snprintf(q->why, sizeof q->why, "%s", store_plan_error(q->sp));
    }
    return 0;
}

static int s_sp_new_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    store_plan_t **sp = arg;
    *sp = store_plan_new(store, err, errlen);
    return *sp ? 0 : -1;
}

static int s_sp_destroy_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    (void) store;
    (void) err;
    (void) errlen;
    store_plan_destroy(arg);
    return 0;
}

int planner_agent_facts(planner_t *self, const char *partition, char *key, size_t key_size,
                        char **facts_p)
{
    s_agent_query_t query = { .partition = partition };
    char why[512];
    *facts_p = NULL;
    snprintf(key, key_size, "%s", "");
    if (store_client_call(self->client, s_agent_query_fn, &query, why, sizeof why) != 0) {
        log_warn("planner: %s: %s", partition, why);
        return -1;
    }
    snprintf(key, key_size, "%s", query.key);
    *facts_p = query.facts;
    return 0;
}

static int s_on_retry(zloop_t *loop, int timer_id, void *arg);
static int s_load_all(planner_t *self, char *err, size_t errlen);

static void s_group_begin(planner_t *self)
{
    self->group_open = true;
}

static void s_drain(planner_t *self);

//  The round's writes are committed (rc 0) or not: send what it led to, or,
//  when the commit failed, nothing of the round happened: its requests are
//  dropped and the moves are loaded again from the database, as after a
//  restart.
static void s_round_end(planner_t *self, int rc, const char *err)
{
    self->round_flying = false;
    store_plan_writes_clear(self->round);
    if (rc == 0) {
        planner_deferred_t *d;
        while ((d = zlistx_detach(self->deferred, NULL))) {
            if (hmc_dispatch_send(d->hmc, &d->req, d->prio) != 0) {
                //  Not waiting for a reply that will not come: retried next tick.
                log_warn("planner: HMC %s: %s request not queued, retried", d->hmc->name,
                         hmc_request_kind_name(d->req->kind));
                planner_move_t *m = planner_move_find(self, (int64_t) d->req->id);
                if (d->req->kind == HMC_REQ_INVENTORY)
                    d->hmc->inv_busy = false;
                else if (m && d->req->kind != HMC_REQ_DELETE)
                    m->busy = false;
            }
            hmc_dispatch_deferred_free((void **) &d);
        }
        return;
    }
    log_error("planner: database: %s: the round is rolled back, moves reloaded", err);
    zlistx_purge(self->deferred);
    char why[512];
    if (s_load_all(self, why, sizeof why) != 0)
        log_error("planner: reload: %s", why);
}

//  The writer's answer for the flying round; then the next round, if one waited.
static void s_on_round_done(void *arg, int rc, const char *err)
{
    planner_t *self = arg;
    s_round_end(self, rc, err);
    if (!self->stopping)
        s_drain(self);
}

//  Hand the round's writes to the store writer; what they lead to is sent
//  when it says they are committed. The planner goes on meanwhile (the
//  HMC's replies and the ticks wait for the next round).
static void s_group_end(planner_t *self)
{
    if (!self->group_open)
        return;
    self->group_open = false;
    if (store_plan_writes_empty(self->round)) {
        s_round_end(self, 0, "");
        return;
    }
    if (store_client_send(self->client, store_plan_writes_commit, self->round, s_on_round_done,
                          self) != 0) {
        s_round_end(self, -1, "the store writer cannot be reached");
        return;
    }
    self->round_flying = true;
}

//  True when a tick may have something to write: a move not final, or a
//  plan still to be closed.
static bool s_has_work(planner_t *self)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < self->hmc_count; i++)
        if (hmc_dispatch_inventory_due(self, self->hmcs[i], now))
            return true;
    for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves))
        if (!planner_state_final(m->state))
            return true;
    for (planner_plan_t *p = zlistx_first(self->plans); p; p = zlistx_next(self->plans))
        if (planner_state_in(p->state, (const char *[]){"running", "aborted"}, 2))
            return true;
    return false;
}

//  Run stashed replies and a due tick, unless the last round is still being
//  committed: its end calls this again.
static void s_drain(planner_t *self)
{
    //  An idle tick opens no transaction: it would commit the agents' open
    //  batch ahead of its timer every tick, twice the commits (and acks) under
    //  load for nothing.
    if (self->tick_due && zlistx_size(self->replies) == 0 && !s_has_work(self)) {
        self->tick_due = false;
        return;
    }
    if (self->round_flying)
        return;
    if (zlistx_size(self->replies) == 0 && !self->tick_due && !self->nudged)
        return;
    s_group_begin(self);
    hmc_request_t *req;
    while ((req = zlistx_detach(self->replies, NULL))) {
        s_handle(self, req);
        hmc_request_destroy(&req);
    }
    for (planner_move_t *m = zlistx_first(self->moves); self->nudged && m;) {
        if (!m->nudged) {
            m = zlistx_next(self->moves);
            continue;
        }
        m->nudged = false;
        lpm_move_step(self, m);                // may walk the list: start again
        m = zlistx_first(self->moves);
    }
    self->nudged = false;
    if (self->tick_due) {
        self->tick_due = false;
        s_tick_now(self);
    }
    s_group_end(self);
}

static int s_on_retry(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    planner_t *self = arg;
    self->retry_timer = -1;
    s_drain(self);
    return 0;
}

void planner_round_soon(planner_t *self)
{
    if (self->retry_timer < 0)
        self->retry_timer = zloop_timer(self->loop, S_ROUND_DELAY_MS, 1, s_on_retry, self);
}

//  The agent of a move in its window reported the end (lpm post, serial):
//  its move is stepped in a round a few ms from now, not at the next tick.
static void s_on_window_news(const char *key, void *arg)
{
    planner_t *self = arg;
    for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves))
        if (m->window && strcmp(m->agent_key, key) == 0)
            self->nudged = m->nudged = true;
    if (self->nudged)
        planner_round_soon(self);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    planner_t *self = arg;
    self->tick_due = true;
    s_drain(self);
    return 0;
}

//  ---------------------------------------------------------------- loading

static void s_move_free(void **item)
{
    planner_move_t *m = *item;
    if (m) {
        json_decref(m->checks);
        free(m);
    }
    *item = NULL;
}

static void s_plan_free(void **item)
{
    planner_plan_t *p = *item;
    if (p) {
        plan_destroy(&p->plan);
        free(p);
    }
    *item = NULL;
}

//  Hold plan id (plan taken; freed on failure) in memory, in state, on
//  the HMC named hmc (borrowed): where a load and a submission meet. Its
//  moves follow (s_move_add). The new entry, or NULL with a message.
static planner_plan_t *s_plan_hold(planner_t *self, int64_t id, plan_t **plan_p, const char *state,
                             const char *hmc, char *err, size_t errlen)
{
    planner_plan_t *p = calloc(1, sizeof *p);
    if (!p) {
        plan_destroy(plan_p);
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    p->id = id;
    p->plan = *plan_p;
    *plan_p = NULL;
    snprintf(p->state, sizeof p->state, "%s", state);
    p->hmc = s_hmc_find(self, hmc);
    if (!p->hmc) {
        errbuf_set(err, errlen, "plan %s names HMC %s, not configured", p->plan->name, hmc);
        s_plan_free((void **) &p);
        return NULL;
    }
    if (!zlistx_add_end(self->plans, p)) {
        errbuf_set(err, errlen, "out of memory");
        s_plan_free((void **) &p);
        return NULL;
    }
    return p;
}

typedef struct {
    planner_t *self;
    planner_plan_t *plan;
} s_move_add_t;

//  A moves row (row->checks taken) into memory as a move of the plan in
//  arg (s_move_add_t). A row that does not fit the plan's document is left
//  out; so is one without memory for it.
static void s_move_add(void *arg, store_move_t *row)
{
    planner_t *self = ((s_move_add_t *) arg)->self;
    planner_plan_t *plan = ((s_move_add_t *) arg)->plan;
    if (row->position < 0 || (size_t) row->position >= plan->plan->move_count || row->hop < 0
        || (size_t) row->hop >= plan->plan->moves[row->position].hop_count)
        return;
    planner_move_t *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->id = row->id;
    m->position = row->position;
    snprintf(m->state, sizeof m->state, "%s", row->state);
    m->hop = row->hop;
    snprintf(m->job_id, sizeof m->job_id, "%s", row->job_id);
    snprintf(m->job_op, sizeof m->job_op, "%s", row->job_op);
    m->submissions = row->submissions;
    snprintf(m->agent_key, sizeof m->agent_key, "%s", row->agent_key);
    snprintf(m->source, sizeof m->source, "%s", row->source);
    m->started_ms = row->started_ms;
    m->finished_ms = row->finished_ms;
    m->outage_ms = row->outage_ms;
    m->checks = row->checks;
    row->checks = NULL;
    snprintf(m->message, sizeof m->message, "%s", row->message);
    m->window_ms = row->window_ms;
    snprintf(m->window_boot_id, sizeof m->window_boot_id, "%s", row->window_boot_id);
    m->plan = plan;
    m->move = &plan->plan->moves[m->position];
    m->job_started_mono = clock_mono_ms();   // after a restart the time-out starts afresh
    if (strcmp(m->state, "verifying") == 0)
        m->verify_deadline = clock_mono_ms() + self->opts.verify_timeout_ms;
    //  A window lost with the previous process: reopen it from what the
    //  database kept (start, boot id then, LPM events and serial since).
    if (planner_state_in(m->state, (const char *[]){"migrating", "verifying"}, 2) && m->agent_key[0]) {
        int64_t since = m->window_ms ? m->window_ms : clock_wall_ms();
        s_evidence_query_t ev = { .key = m->agent_key, .since_ms = since };
        char why[512];
        if (store_client_call(self->client, s_evidence_fn, &ev, why, sizeof why) != 0) {
            ev.serial[0] = ev.boot_id[0] = '\0';
            ev.phases = 0;
        }
        if (move_window_resume(self->windows, m->agent_key, self->opts.fast_heartbeat_ms,
                               self->opts.window_ms, since,
                               m->window_boot_id[0] ? m->window_boot_id : ev.boot_id, ev.serial,
                               ev.phases) == 0)
            m->window = true;
    }
    if (!zlistx_add_end(self->moves, m))
        s_move_free((void **) &m);
}

//  Load plan id (doc parsed again) and its moves into memory.
static int s_load_plan(planner_t *self, int64_t id, char *err, size_t errlen)
{
    s_plan_query_t q = { .sp = self->sp, .plan_id = id };
    int rc = -1;
    if (store_client_call(self->client, s_plan_query_fn, &q, err, errlen) != 0)
        goto done;
    s_move_add_t add = { self, s_plan_hold(self, id, &q.row.plan, q.row.state, q.row.hmc, err,
                                           errlen) };
    if (!add.plan)
        goto done;
    for (size_t i = 0; i < q.move_count; i++)
        s_move_add(&add, &q.moves[i]);
    //  Resumed with the moves read so far, as it always was: each is whole.
    if (q.moves_failed)
        log_error("planner: plan %s: %s", add.plan->plan->name, q.why);
    rc = 0;
done:
    for (size_t i = 0; i < q.move_count; i++)
        json_decref(q.moves[i].checks);     // NULL when taken
    free(q.moves);
    plan_destroy(&q.row.plan);
    return rc;
}

//  ---------------------------------------------------------------- public

//  (Re)load the plans left running, paused or aborted with moves not final,
//  and the ready ones, dropping what memory held of them.
static int s_load_all(planner_t *self, char *err, size_t errlen)
{
    zlistx_purge(self->moves);
    zlistx_purge(self->plans);
    for (size_t i = 0; i < self->hmc_count; i++)
        self->hmcs[i]->inv_busy = false;    // its reply may still come: then it is taken
    s_resume_query_t q = { .sp = self->sp };
    if (store_client_call(self->client, s_resume_fn, &q, err, errlen) != 0)
        return -1;
    int64_t *ids = q.ids;
    size_t n = q.count;
    for (size_t i = 0; i < n; i++) {
        char why[512];
        if (s_load_plan(self, ids[i], why, sizeof why) != 0)
            log_error("planner: plan %" PRId64 " not resumed: %s", ids[i], why);
    }
    free(ids);
    return 0;
}

planner_t *planner_new(ingest_t *ingest, move_window_t *windows, store_writer_t *writer,
                       const planner_options_t *opts, char *err, size_t errlen)
{
    planner_t *self = calloc(1, sizeof *self);
    if (!self) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    self->windows = windows;
    self->loop = ingest_loop(ingest);
    self->opts = *opts;
    self->opts.hmcs = NULL;
    self->started_mono_ms = clock_mono_ms();
    self->tick_timer = self->retry_timer = -1;
    if (!self->opts.tick_ms)
        self->opts.tick_ms = 100;
    if (!self->opts.fast_heartbeat_ms)
        self->opts.fast_heartbeat_ms = 50;
    if (!self->opts.window_ms)
        self->opts.window_ms = 600000;
    if (!self->opts.verify_timeout_ms)
        self->opts.verify_timeout_ms = 30000;
    if (!self->opts.job_timeout_ms)
        self->opts.job_timeout_ms = 4 * 3600 * 1000LL;
    if (!self->opts.inventory_ms)
        self->opts.inventory_ms = 5000;
    if (!self->opts.poll_ms)
        self->opts.poll_ms = 1000;
    if (!self->opts.starts_per_s)
        self->opts.starts_per_s = 20;
    self->plans = zlistx_new();
    self->moves = zlistx_new();
    self->replies = zlistx_new();
    self->caps = move_caps_new();
    self->deferred = zlistx_new();
    if (self->deferred)
        zlistx_set_destructor(self->deferred, hmc_dispatch_deferred_free);
    if (!self->plans || !self->moves || !self->replies || !self->caps || !self->deferred) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    zlistx_set_destructor(self->plans, s_plan_free);
    zlistx_set_destructor(self->moves, s_move_free);
    self->client = store_client_new(writer, self->loop);
    if (!self->client) {
        errbuf_set(err, errlen, "cannot reach the store writer");
        goto fail;
    }
    if (store_client_call(self->client, s_sp_new_fn, &self->sp, err, errlen) != 0)
        goto fail;
    self->round = store_plan_writes_new(self->sp);
    self->own = store_plan_writes_new(self->sp);
    if (!self->round || !self->own) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    zlistx_set_destructor(self->replies, (zlistx_destructor_fn *) hmc_request_destroy);
    if (opts->hmc_count > PLANNER_MAX_HMCS) {
        errbuf_set(err, errlen, "%zu HMCs configured, at most %d", opts->hmc_count, PLANNER_MAX_HMCS);
        goto fail;
    }
    for (size_t i = 0; i < opts->hmc_count; i++) {
        planner_hmc_state_t *h = hmc_dispatch_new(self, &opts->hmcs[i], err, errlen);
        if (!h)
            goto fail;
        self->hmcs[self->hmc_count++] = h;
    }
    if (s_load_all(self, err, errlen) != 0)
        goto fail;
    move_window_set_listener(self->windows, s_on_window_news, self);
    self->tick_timer = zloop_timer(self->loop, (size_t) self->opts.tick_ms, 0, s_on_tick, self);
    if (self->tick_timer < 0) {
        errbuf_set(err, errlen, "cannot start the planner timer");
        goto fail;
    }
    return self;
fail:
    planner_destroy(&self);
    return NULL;
}

void planner_destroy(planner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    planner_t *self = *self_p;
    if (self->windows)
        move_window_set_listener(self->windows, NULL, NULL);
    //  The last round's commit first: it sends what it led to.
    self->stopping = true;
    if (self->client)
        store_client_wait(self->client);
    if (self->tick_timer >= 0)
        zloop_timer_end(self->loop, self->tick_timer);
    if (self->retry_timer >= 0)
        zloop_timer_end(self->loop, self->retry_timer);
    for (size_t i = 0; i < self->hmc_count; i++)
        hmc_dispatch_destroy(&self->hmcs[i]);
    zlistx_destroy(&self->replies);
    zlistx_destroy(&self->deferred);
    move_caps_destroy(&self->caps);
    zlistx_destroy(&self->moves);
    zlistx_destroy(&self->plans);
    if (self->sp)
        store_client_call(self->client, s_sp_destroy_fn, &self->sp, NULL, 0);
    store_client_destroy(&self->client);
    store_plan_writes_destroy(&self->round);
    store_plan_writes_destroy(&self->own);
    free(self);
    *self_p = NULL;
}

//  plan_inventory_t over an HMC's latest inventory.
static const char *s_inv_partition_system(void *arg, const char *partition)
{
    planner_hmc_state_t *h = arg;
    const hmc_partition_t *part = hmc_dispatch_partition(h, partition);
    if (!part)
        return NULL;
    const hmc_system_t *on = hmc_dispatch_system_by_uuid(h, part->system_uuid);
    return on ? on->name : "";
}

static bool s_inv_system_known(void *arg, const char *system)
{
    return hmc_dispatch_system_by_name(arg, system) != NULL;
}

//  Parse json against the inventory of the HMC it names. NULL with every
//  problem in err; *warning set ("" when none) when the names could not be
//  checked for want of an inventory.
static plan_t *s_parse_checked(planner_t *self, const char *json, char *warning, size_t warnlen,
                               char *err, size_t errlen)
{
    warning[0] = '\0';
    json_error_t error;
    json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, &error);
    if (!doc) {
        errbuf_set(err, errlen, "not valid JSON: line %d column %d: %s", error.line, error.column,
              error.text);
        return NULL;
    }
    const char *hmc_name = json_string_value(json_object_get(doc, "hmc"));
    planner_hmc_state_t *h = hmc_name ? s_hmc_find(self, hmc_name) : NULL;
    plan_inventory_t inv = { s_inv_partition_system, s_inv_system_known, h };
    bool checked = h && h->inv_gen > 0;
    plan_t *plan = plan_from_json(doc, checked ? &inv : NULL, err, errlen);
    if (hmc_name && !h) {
        //  Listed with the document's own problems, if any.
        size_t used = plan ? 0 : strlen(err);
        snprintf(err + used, errlen > used ? errlen - used : 0, "%shmc: '%s' is not an HMC of the"
                 " collector configuration", used ? "; " : "", hmc_name);
        plan_destroy(&plan);
    }
    else if (plan && !checked) {
        char state[HMC_LINK_ERROR_SIZE + 128];
        hmc_link_describe(&h->link, h->name, state, sizeof state);
        snprintf(warning, warnlen, "partitions and systems not checked at submit: HMC %s has given"
                 " no inventory yet (%s); each hop is still checked before it starts", h->name,
                 state);
    }
    json_decref(doc);
    return plan;
}

//  A plan stored in its own transaction, on the writer's thread.
typedef struct {
    store_plan_t *sp;
    const plan_t *plan;             // borrowed
    const char *warning;            // borrowed
    int64_t id;                     // out: the plan's id
    int64_t *move_ids;              // out: the moves' ids (the caller's array)
} s_insert_t;

static int s_insert_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    s_insert_t *in = arg;
    if (store_begin(store) != 0) {
        errbuf_set(err, errlen, "database: %s", store_error(store));
        return -1;
    }
    int rc = store_plan_insert(in->sp, in->plan, in->warning, clock_wall_ms(), &in->id,
                               in->move_ids);
    if (rc != 0) {
        //  1: the name is taken, and the store says so.
        errbuf_set(err, errlen, "%s%s", rc == 1 ? "" : "database: ", store_plan_error(in->sp));
        store_rollback(store);
        return -1;
    }
    if (store_commit(store) != 0) {
        errbuf_set(err, errlen, "database: %s", store_error(store));
        return -1;
    }
    return 0;
}

int64_t planner_submit(planner_t *self, const char *json, char *err, size_t errlen)
{
    char warning[1024];
    plan_t *plan = s_parse_checked(self, json, warning, sizeof warning, err, errlen);
    int64_t id = -1, *move_ids = NULL;
    if (!plan)
        return -1;
    move_ids = calloc(plan->move_count ? plan->move_count : 1, sizeof *move_ids);
    if (!move_ids) {
        errbuf_set(err, errlen, "out of memory");
        goto done;
    }
    s_insert_t insert = { .sp = self->sp, .plan = plan, .warning = warning, .move_ids = move_ids };
    if (store_client_call(self->client, s_insert_fn, &insert, err, errlen) != 0) {
        id = -1;
        goto done;
    }
    id = insert.id;
    s_audit(self, "submit", plan->name, "ok", NULL);
    //  Held as parsed: the stored document is this plan's plan_to_json, which
    //  parses back to the same plan. The moves are as just inserted.
    char hmc[PLAN_NAME_MAX];
    snprintf(hmc, sizeof hmc, "%s", plan->hmc);
    size_t count = plan->move_count;
    s_move_add_t add = { self, s_plan_hold(self, id, &plan, "ready", hmc, err, errlen) };
    if (!add.plan) {
        id = -1;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        store_move_t row = { .id = move_ids[i], .position = (int) i, .state = "pending",
                             .outage_ms = -1, .checks = json_array() };
        s_move_add(&add, &row);
        json_decref(row.checks);             // NULL when taken
    }
done:
    free(move_ids);
    plan_destroy(&plan);
    return id;
}

static int s_transition(planner_t *self, int64_t plan_id, const char *const *from, size_t nfrom,
                        const char *to, const char *action, char *err, size_t errlen)
{
    planner_plan_t *p = s_plan_find(self, plan_id);
    if (!p) {
        errbuf_set(err, errlen, "no plan %" PRId64 " is loaded", plan_id);
        return -1;
    }
    if (!planner_state_in(p->state, from, nfrom)) {
        errbuf_set(err, errlen, "plan %s is %s: cannot %s it", p->plan->name, p->state, action);
        return -1;
    }
    if (s_plan_set(self, p, to) != 0) {
        errbuf_set(err, errlen, "database: %s", self->db_error);
        return -1;
    }
    s_audit(self, action, p->plan->name, to, NULL);
    return 0;
}

int planner_start(planner_t *self, int64_t plan_id, char *err, size_t errlen)
{
    return s_transition(self, plan_id, (const char *[]){"ready", "paused"}, 2, "running", "start",
                        err, errlen);
}

int planner_pause(planner_t *self, int64_t plan_id, char *err, size_t errlen)
{
    return s_transition(self, plan_id, (const char *[]){"running"}, 1, "paused", "pause", err, errlen);
}

int planner_abort(planner_t *self, int64_t plan_id, char *err, size_t errlen)
{
    return s_transition(self, plan_id, (const char *[]){"ready", "running", "paused"}, 3, "aborted",
                        "abort", err, errlen);
}

json_t *planner_plan_json(planner_t *self, int64_t plan_id)
{
    s_plan_json_t q = { .sp = self->sp, .plan_id = plan_id };
    char err[512];
    if (store_client_call(self->client, s_plan_json_fn, &q, err, sizeof err) != 0)
        log_warn("planner: plan %" PRId64 ": %s", plan_id, err);
    return q.json;
}

json_t *planner_hmcs_json(planner_t *self)
{
    json_t *out = json_array();
    int64_t now = clock_mono_ms();
    for (size_t i = 0; out && i < self->hmc_count; i++) {
        const planner_hmc_state_t *h = self->hmcs[i];
        json_t *one = hmc_link_json(&h->link, h->name, h->url, now);
        if (!one || json_array_append_new(out, one) != 0) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(one, "inventory_ms", json_integer(h->inv_wall_ms));
        json_object_set_new(one, "systems", json_integer((json_int_t) h->system_count));
        json_object_set_new(one, "partitions", json_integer((json_int_t) h->partition_count));
    }
    return out;
}
