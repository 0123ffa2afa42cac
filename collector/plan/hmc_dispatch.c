/*  hmc_dispatch — the planner's side of its HMCs (see hmc_dispatch.h). */
#include "hmc_dispatch.h"

#include "clock.h"
#include "errbuf.h"
#include "log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_IDLE_INVENTORY_MS 300000  // an HMC no plan needs is still looked at this often
#define S_INVENTORY_RETRY_MS 1000   // a refused inventory is asked again after this long
#define S_INVENTORY_LOG_MS 60000    // and logged at most this often

//  ---------------------------------------------------------------- inventory held

const hmc_system_t *hmc_dispatch_system_by_name(const planner_hmc_state_t *h, const char *name)
{
    for (size_t i = 0; i < h->system_count; i++)
        if (strcmp(h->systems[i].name, name) == 0)
            return &h->systems[i];
    return NULL;
}

const hmc_system_t *hmc_dispatch_system_by_uuid(const planner_hmc_state_t *h, const char *uuid)
{
    for (size_t i = 0; i < h->system_count; i++)
        if (strcasecmp(h->systems[i].uuid, uuid) == 0)
            return &h->systems[i];
    return NULL;
}

const hmc_partition_t *hmc_dispatch_partition(const planner_hmc_state_t *h, const char *name)
{
    return h->partition_index ? zhashx_lookup(h->partition_index, name) : NULL;
}

//  ---------------------------------------------------------------- requests

//  No request of h is out.
static bool s_hmc_idle(const planner_hmc_state_t *h)
{
    for (size_t w = 0; w < h->worker_count; w++)
        if (h->in_flight[w] > 0)
            return false;
    return true;
}

//  While the HMC fails, one request at a time probes it, after the backoff:
//  a planner with a hundred moves must not hammer an HMC that is down.
static bool s_hmc_may_try(const planner_hmc_state_t *h)
{
    if (!hmc_link_failing(&h->link))
        return true;
    return s_hmc_idle(h) && hmc_link_may_send(&h->link, clock_mono_ms());
}

//  Inventories go to worker 0 (when there is more than one), the rest to the
//  others, by priority.
void hmc_dispatch_run(planner_hmc_state_t *h)
{
    if (!s_hmc_may_try(h))
        return;
    bool probe = hmc_link_failing(&h->link);
    size_t first = h->worker_count > 1 ? 1 : 0;
    for (size_t w = first; w < h->worker_count; w++) {
        if (h->in_flight[w] > 0)
            continue;
        hmc_request_t *req = NULL;
        size_t prio = 0;
        for (; prio < PLANNER_PRIO_COUNT && !req; prio++)
            req = zlistx_detach(h->queue[prio], NULL);
        if (!req)
            return;
        if (hmc_worker_send(h->workers[w], &req) != 0) {
            zlistx_add_start(h->queue[prio - 1], req);   // pipe full: again at its reply
            continue;
        }
        h->in_flight[w]++;
        if (probe)
            return;
    }
}

//  Queue req (taken) for h: 0 / -1. An inventory goes straight to its own
//  worker; the others wait for an idle one.
int hmc_dispatch_send(planner_hmc_state_t *h, hmc_request_t **req_p, planner_prio_t prio)
{
    planner_t *self = h->planner;
    if (self->group_open) {
        planner_deferred_t *d = malloc(sizeof *d);
        if (!d || !zlistx_add_end(self->deferred, d)) {
            free(d);
            return -1;
        }
        *d = (planner_deferred_t) { h, *req_p, prio };
        *req_p = NULL;
        return 0;
    }
    if ((*req_p)->kind == HMC_REQ_INVENTORY && h->worker_count > 1) {
        if (hmc_worker_send(h->workers[0], req_p) != 0)
            return -1;
        h->in_flight[0]++;
        return 0;
    }
    if (!zlistx_add_end(h->queue[prio], *req_p))
        return -1;
    *req_p = NULL;
    hmc_dispatch_run(h);
    return 0;
}

//  A queued request of move id of that kind goes to the front: its move is
//  ending, the answer cannot wait behind routine polls.
void hmc_dispatch_promote(planner_hmc_state_t *h, uint64_t id, hmc_request_kind_t kind)
{
    for (size_t prio = PLANNER_PRIO_STEP; prio < PLANNER_PRIO_COUNT; prio++) {
        for (hmc_request_t *req = zlistx_first(h->queue[prio]); req;
             req = zlistx_next(h->queue[prio])) {
            if (req->id != id || req->kind != kind)
                continue;
            req = zlistx_detach_cur(h->queue[prio]);
            if (req && !zlistx_add_start(h->queue[PLANNER_PRIO_ENDING], req))
                zlistx_add_end(h->queue[prio], req);
            return;
        }
    }
}

int hmc_dispatch_move_send(planner_move_t *m, hmc_request_t *req, planner_prio_t prio)
{
    if (!req || hmc_dispatch_send(m->plan->hmc, &req, prio) != 0) {
        hmc_request_destroy(&req);
        log_warn("planner: %s: request not queued, retried next tick", m->move->partition);
        return -1;
    }
    m->busy = true;
    return 0;
}

static int s_send(planner_move_t *m, hmc_request_t *req)
{
    return hmc_dispatch_move_send(m, req, PLANNER_PRIO_STEP);
}

int hmc_dispatch_submit(planner_move_t *m, hmc_job_op_t op)
{
    const hmc_partition_t *part = hmc_dispatch_partition(m->plan->hmc, m->move->partition);
    if (!part)
        return -1;
    hmc_param_t params[4];
    size_t n = 0;
    if (op == HMC_OP_MIGRATE_VALIDATE || op == HMC_OP_MIGRATE) {
        params[n++] = (hmc_param_t){"TargetManagedSystemName", planner_move_target(m)};
        if (m->move->source_msp[0])
            params[n++] = (hmc_param_t){"SourceMSPIPaddr", m->move->source_msp};
        if (m->move->dest_msp[0])
            params[n++] = (hmc_param_t){"DestMSPIPaddr", m->move->dest_msp};
        if (m->move->shared_proc_pool[0])
            params[n++] = (hmc_param_t){"SharedProcPoolName", m->move->shared_proc_pool};
    }
    else if (op == HMC_OP_MIGRATE_RECOVER)
        params[n++] = (hmc_param_t){"Force", "true"};
    return s_send(m, hmc_request_submit_new((uint64_t) m->id, part->uuid, op, params, n));
}

void hmc_dispatch_delete_job(planner_move_t *m)
{
    hmc_request_t *req = hmc_request_new(HMC_REQ_DELETE, (uint64_t) m->id, m->job_id);
    if (!req || hmc_dispatch_send(m->plan->hmc, &req, PLANNER_PRIO_ROUTINE) != 0)
        hmc_request_destroy(&req);   // a job left behind costs the HMC little
}

void hmc_dispatch_deferred_free(void **item)
{
    planner_deferred_t *d = *item;
    if (d) {
        hmc_request_destroy(&d->req);
        free(d);
    }
    *item = NULL;
}

//  ---------------------------------------------------------------- replies

//  What a reply says of the connection; a change of state is logged once.
static void s_link_record(planner_hmc_state_t *h, const hmc_request_t *req)
{
    if (!hmc_link_record(&h->link, req->outcome, req->error, clock_wall_ms(), clock_mono_ms()))
        return;
    char line[HMC_LINK_ERROR_SIZE + 128];
    hmc_link_describe(&h->link, h->name, line, sizeof line);
    if (hmc_link_failing(&h->link))
        log_warn("planner: %s (tried again from %d ms, backing off to %d s; moves on it wait)",
                 line, HMC_LINK_BACKOFF_MIN_MS, HMC_LINK_BACKOFF_MAX_MS / 1000);
    else
        log_info("planner: HMC %s answers (%s)", h->name, h->url);
}

//  A failure that says the HMC is down, not that the request was wrong:
//  logged once by s_link_record, not per move.
bool hmc_dispatch_link_failure(const hmc_request_t *req)
{
    return req->rc != 0 && (req->outcome == HMC_OUTCOME_NO_ANSWER
                            || req->outcome == HMC_OUTCOME_LOGON_REFUSED);
}

static int s_on_reply(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    planner_worker_ref_t *ref = arg;
    planner_hmc_state_t *h = ref->hmc;
    //  Everything waiting, not one reply per wake-up: with a tick of a
    //  thousand moves between two wake-ups, replies queued up and moves
    //  waited on them for minutes.
    do {
        hmc_request_t *req = hmc_worker_recv(h->workers[ref->index]);
        if (!req)
            break;
        if (h->in_flight[ref->index] > 0)
            h->in_flight[ref->index]--;
        s_link_record(h, req);
        zlistx_add_end(ref->planner->replies, req);
    } while (zsock_events(pipe) & ZMQ_POLLIN);
    hmc_dispatch_run(h);
    //  The replies are handled a few ms later, with whatever else comes
    //  meanwhile: one round, one commit (one disk flush) for all of them.
    planner_round_soon(ref->planner);
    return 0;
}

void hmc_dispatch_on_inventory(planner_t *self, hmc_request_t *req)
{
    for (size_t i = 0; i < self->hmc_count; i++) {
        planner_hmc_state_t *h = self->hmcs[i];
        if (h->inv_sent != req->id || !h->inv_busy)
            continue;
        h->inv_busy = false;
        if (req->rc != 0) {
            //  The HMC answered but refused (a 5xx, an odd document): not
            //  asked again at every tick, nor logged at every refusal.
            h->inv_retry_mono_ms = clock_mono_ms() + S_INVENTORY_RETRY_MS;
            if (!hmc_dispatch_link_failure(req)
                && log_ratelimit(&h->inv_log_mono_ms, clock_mono_ms(), S_INVENTORY_LOG_MS))
                log_warn("planner: HMC %s inventory: %s", h->name, req->error);
            return;
        }
        free(h->systems);
        free(h->partitions);
        h->systems = req->systems;
        h->system_count = req->system_count;
        h->partitions = req->partitions;
        h->partition_count = req->partition_count;
        zhashx_purge(h->partition_index);
        for (size_t j = 0; j < h->partition_count; j++)
            zhashx_insert(h->partition_index, h->partitions[j].name, &h->partitions[j]);
        req->systems = NULL;
        req->partitions = NULL;
        req->system_count = req->partition_count = 0;
        h->inv_gen = req->id;
        h->inv_wall_ms = clock_wall_ms();
        return;
    }
}

//  ---------------------------------------------------------------- inventories

//  An inventory of h is wanted now: a move needs one (see hmc_dispatch_tick), the
//  HMC was never looked at (an HMC of the configuration is tried at start,
//  so that `ferryctl hmc` and plan submissions know it), or the last one is
//  old. Not while one is out, nor while the HMC fails and backs off.
bool hmc_dispatch_inventory_due(planner_t *self, planner_hmc_state_t *h, int64_t now)
{
    if (h->inv_busy || !s_hmc_may_try(h) || now < h->inv_retry_mono_ms)
        return false;
    if (h->inv_gen == 0 || now - h->inv_at_ms >= S_IDLE_INVENTORY_MS)
        return true;
    bool wanted = false;
    for (planner_move_t *m = zlistx_first(self->moves); m && !wanted; m = zlistx_next(self->moves))
        wanted = m->plan->hmc == h && !planner_state_final(m->state)
                 && (strcmp(m->state, "pending") != 0 || strcmp(m->plan->state, "running") == 0);
    if (!wanted)
        return false;
    //  A move that just finished its job waits for an inventory taken
    //  after it: ask at once rather than at the next period (verify latency).
    for (planner_move_t *m = zlistx_first(self->moves); m; m = zlistx_next(self->moves))
        if (m->plan->hmc == h && m->want_gen > h->inv_sent)
            return true;
    return now - h->inv_at_ms >= self->opts.inventory_ms;
}

void hmc_dispatch_tick(planner_t *self, int64_t now)
{
    for (size_t i = 0; i < self->hmc_count; i++) {
        planner_hmc_state_t *h = self->hmcs[i];
        hmc_dispatch_run(h);            // requests held back while the HMC backed off
        if (!hmc_dispatch_inventory_due(self, h, now))
            continue;
        hmc_request_t *req = hmc_request_new(HMC_REQ_INVENTORY, h->inv_sent + 1, NULL);
        if (req && hmc_dispatch_send(h, &req, PLANNER_PRIO_STEP) == 0) {
            h->inv_sent++;
            h->inv_busy = true;
            h->inv_at_ms = now;
        }
        hmc_request_destroy(&req);
    }
}

//  ---------------------------------------------------------------- sessions

planner_hmc_state_t *hmc_dispatch_new(planner_t *planner, const planner_hmc_t *config, char *err,
                                      size_t errlen)
{
    planner_hmc_state_t *h = calloc(1, sizeof *h);
    if (!h) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(h->name, sizeof h->name, "%s", config->name);
    snprintf(h->url, sizeof h->url, "%s", config->options.url ? config->options.url : "");
    hmc_link_init(&h->link);
    h->planner = planner;
    h->partition_index = zhashx_new();
    bool queues = true;
    for (size_t q = 0; q < PLANNER_PRIO_COUNT; q++) {
        h->queue[q] = zlistx_new();
        if (h->queue[q])
            zlistx_set_destructor(h->queue[q], (zlistx_destructor_fn *) hmc_request_destroy);
        queues &= h->queue[q] != NULL;
    }
    if (!h->partition_index || !queues) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    int sessions = config->sessions > 0 ? config->sessions : 4;
    if (sessions > PLANNER_MAX_SESSIONS) {
        errbuf_set(err, errlen, "HMC %s: %d sessions, at most %d", h->name, sessions,
                   PLANNER_MAX_SESSIONS);
        goto fail;
    }
    for (int w = 0; w < sessions; w++) {
        h->workers[w] = hmc_worker_new(&config->options, h->name, err, errlen);
        if (!h->workers[w])
            goto fail;
        h->worker_count++;
        h->refs[w] = (planner_worker_ref_t) { planner, h, (size_t) w };
        if (zloop_reader(planner->loop, zactor_sock(h->workers[w]), s_on_reply, &h->refs[w]) != 0) {
            errbuf_set(err, errlen, "cannot watch the worker of HMC %s", h->name);
            goto fail;
        }
    }
    return h;
fail:
    hmc_dispatch_destroy(&h);
    return NULL;
}

void hmc_dispatch_destroy(planner_hmc_state_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    planner_hmc_state_t *h = *h_p;
    for (size_t w = 0; w < h->worker_count; w++) {
        zloop_reader_end(h->planner->loop, zactor_sock(h->workers[w]));
        hmc_worker_destroy(&h->workers[w]);
    }
    zhashx_destroy(&h->partition_index);
    for (size_t q = 0; q < PLANNER_PRIO_COUNT; q++)
        zlistx_destroy(&h->queue[q]);
    free(h->systems);
    free(h->partitions);
    free(h);
    *h_p = NULL;
}
