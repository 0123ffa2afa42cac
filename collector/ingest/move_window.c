/*  move_window — identity and move-window figures per agent, fed by ingest's
    observer (see move_window.h). */
#include "move_window.h"

#include "clock.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One agent.
typedef struct {
    char key[MOVE_WINDOW_KEY_SIZE]; // the agent's CURVE key (the listener is told it)
    move_window_observation_t seen; // identity and move-window figures
    int64_t last_frame_mono_ms;     // monotonic time of the latest frame, for gaps; 0 = none
                                    // since the window opened
} s_agent_t;

struct _move_window_t {
    zhashx_t *agents;               // key -> s_agent_t * (owned)
    move_window_config_fn *config_fn; // sends the Configs, NULL = none
    void *config_arg;               // borrowed
    move_window_fn *window_fn;      // told when a move window's agent reports its end
    void *window_arg;               // borrowed
};

static void s_agent_free(void **item)
{
    free(*item);
    *item = NULL;
}

move_window_t *move_window_new(move_window_config_fn *config_fn, void *config_arg)
{
    move_window_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->agents = zhashx_new();
    if (!self->agents) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->agents, s_agent_free);
    self->config_fn = config_fn;
    self->config_arg = config_arg;
    return self;
}

void move_window_destroy(move_window_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    move_window_t *self = *self_p;
    zhashx_destroy(&self->agents);
    free(self);
    *self_p = NULL;
}

//  The agent with key, added when new. NULL when out of memory.
static s_agent_t *s_agent_get(move_window_t *self, const char *key)
{
    s_agent_t *agent = zhashx_lookup(self->agents, key);
    if (agent)
        return agent;
    agent = calloc(1, sizeof *agent);
    if (!agent)
        return NULL;
    snprintf(agent->key, sizeof agent->key, "%s", key);
    if (zhashx_insert(self->agents, key, agent) != 0) {
        free(agent);
        return NULL;
    }
    return agent;
}

//  Every frame is a sign of life: inside a move window the largest silence
//  between two of them is the outage the partition really had.
//  ingest_observer_t's agent: the record the other callbacks get.
static void *s_on_agent(void *arg, const char *key)
{
    return s_agent_get(arg, key);
}

static void s_on_frame(void *arg, void *record, int64_t wall_ms, int64_t mono_ms)
{
    (void) arg;
    s_agent_t *agent = record;
    move_window_observation_t *o = &agent->seen;
    if (o->window_open && agent->last_frame_mono_ms) {
        int64_t gap = mono_ms - agent->last_frame_mono_ms;
        if (gap > o->max_gap_ms)
            o->max_gap_ms = gap;
    }
    agent->last_frame_mono_ms = mono_ms;
    o->seen = true;
    o->last_frame_ms = wall_ms;
}

static void s_on_hello(void *arg, void *record, const Ferry__Hello *hello)
{
    (void) arg;
    s_agent_t *agent = record;
    agent->seen.heartbeat_ms = 0;        // a restarted agent may run another configuration
    if (hello->boot_id && hello->boot_id[0])
        snprintf(agent->seen.boot_id, sizeof agent->seen.boot_id, "%s", hello->boot_id);
}

static void s_on_heartbeat(void *arg, void *record, const Ferry__Heartbeat *heartbeat)
{
    (void) arg;
    s_agent_t *agent = record;
    move_window_observation_t *o = &agent->seen;
    if (o->window_open && heartbeat->stall_ms > o->max_stall_ms)
        o->max_stall_ms = heartbeat->stall_ms;
    //  Its usual pace, for "is it still reporting": the slowest it reported
    //  outside windows since its Hello (after a window it keeps the fast
    //  pace until the Config ending it arrives).
    if (!o->window_open && heartbeat->interval_ms > o->heartbeat_ms)
        o->heartbeat_ms = heartbeat->interval_ms;
}

static const char *s_attr(const Ferry__Event *event, const char *key)
{
    for (size_t i = 0; i < event->n_attrs; i++)
        if (event->attrs[i]->key && strcmp(event->attrs[i]->key, key) == 0)
            return event->attrs[i]->value;
    return NULL;
}

//  Identity and LPM evidence from what the agent reports. True when it ends
//  the agent's move (see move_window_fn).
static bool s_observe_body(move_window_observation_t *o, const Ferry__Envelope *env)
{
    if (env->body_case == FERRY__ENVELOPE__BODY_FACTS) {
        if (env->facts->serial && env->facts->serial[0])
            snprintf(o->serial, sizeof o->serial, "%s", env->facts->serial);
        if (env->facts->boot_id && env->facts->boot_id[0])
            snprintf(o->boot_id, sizeof o->boot_id, "%s", env->facts->boot_id);
        return false;
    }
    if (env->body_case != FERRY__ENVELOPE__BODY_EVENT || !env->event->kind)
        return false;
    const Ferry__Event *event = env->event;
    if (strcmp(event->kind, "serial_changed") == 0) {
        const char *serial = s_attr(event, "new");
        if (serial)
            snprintf(o->serial, sizeof o->serial, "%s", serial);
        if (o->window_open)
            o->serial_changed = true;
        return o->window_open;
    }
    if (strcmp(event->kind, "lpm_phase") == 0 && o->window_open) {
        const char *phase = s_attr(event, "phase");
        static const struct { const char *name; unsigned bit; } phases[] = {
            { "check", MOVE_WINDOW_LPM_CHECK }, { "pre", MOVE_WINDOW_LPM_PRE },
            { "post", MOVE_WINDOW_LPM_POST }, { "posterror", MOVE_WINDOW_LPM_POSTERROR } };
        unsigned before = o->lpm_phases;
        for (size_t i = 0; phase && i < sizeof phases / sizeof phases[0]; i++)
            if (strcmp(phase, phases[i].name) == 0)
                o->lpm_phases |= phases[i].bit;
        unsigned ending = MOVE_WINDOW_LPM_POST | MOVE_WINDOW_LPM_POSTERROR;
        return (o->lpm_phases & ending) != (before & ending);
    }
    return false;
}

//  A message the store accepts (ingest only passes those: what it would
//  refuse reports nothing about the agent either), stored or a duplicate.
//  Evidence is read from memory, stored or not: whoever waits on it looks
//  now, not at its next tick (a tenth of a second of verify latency).
static void s_on_body(void *arg, void *record, const Ferry__Envelope *env)
{
    move_window_t *self = arg;
    s_agent_t *agent = record;
    if (s_observe_body(&agent->seen, env) && self->window_fn)
        self->window_fn(agent->key, self->window_arg);
}

void move_window_observer(move_window_t *self, ingest_observer_t *out)
{
    *out = (ingest_observer_t) { .agent = s_on_agent, .frame = s_on_frame, .hello = s_on_hello,
                                 .heartbeat = s_on_heartbeat, .body = s_on_body, .arg = self };
}

int move_window_open(move_window_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    //  The sender vets the key (ingest: an allowed agent's); a refused one
    //  leaves no trace here.
    if (!key || (self->config_fn && self->config_fn(self->config_arg, key, fast_ms, for_ms) != 0))
        return -1;
    s_agent_t *agent = s_agent_get(self, key);
    if (!agent)
        return -1;
    move_window_observation_t *o = &agent->seen;
    o->window_open = true;
    o->window_start_ms = clock_wall_ms();
    snprintf(o->window_boot_id, sizeof o->window_boot_id, "%s", o->boot_id);
    o->max_gap_ms = 0;
    o->max_stall_ms = 0;
    o->lpm_phases = 0;
    o->serial_changed = false;
    o->resumed = false;
    agent->last_frame_mono_ms = 0;
    return 0;
}

int move_window_resume(move_window_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms,
                       int64_t start_ms, const char *boot_id, const char *serial,
                       unsigned phases)
{
    if (move_window_open(self, key, fast_ms, for_ms) != 0)
        return -1;
    s_agent_t *agent = zhashx_lookup(self->agents, key);
    move_window_observation_t *o = &agent->seen;
    o->window_start_ms = start_ms;
    o->resumed = true;
    o->lpm_phases = phases;
    if (boot_id && boot_id[0])
        snprintf(o->window_boot_id, sizeof o->window_boot_id, "%s", boot_id);
    //  Until the agent speaks again, what the database knows stands in.
    if (serial && serial[0] && !o->serial[0])
        snprintf(o->serial, sizeof o->serial, "%s", serial);
    return 0;
}

void move_window_close(move_window_t *self, const char *key)
{
    s_agent_t *agent = key ? zhashx_lookup(self->agents, key) : NULL;
    if (!agent)
        return;
    agent->seen.window_open = false;
    //  Tell the agent too: a window left to run out kept every moved
    //  partition on a 50 ms heartbeat for ten minutes (1,000 of them
    //  saturated the collector's host in the benchmark).
    if (self->config_fn)
        self->config_fn(self->config_arg, key, 0, 0);
}

void move_window_set_listener(move_window_t *self, move_window_fn *fn, void *arg)
{
    self->window_fn = fn;
    self->window_arg = arg;
}

int move_window_observe(move_window_t *self, const char *key, move_window_observation_t *out)
{
    s_agent_t *agent = key ? zhashx_lookup(self->agents, key) : NULL;
    if (!agent) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    *out = agent->seen;
    return 0;
}
