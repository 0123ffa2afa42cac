/*  move_caps — active hops per HMC, system and VIOS pair (see move_caps.h). */
#include "move_caps.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Keys are an HMC name, a system name or a pair label (each well under
//  128 characters on a real HMC) with a tab or two between.
#define S_KEY_SIZE 512

struct _move_caps_t {
    zhashx_t *counts;           // "hmc", "hmc\tsystem", "hmc\tpair\tNAME" -> int * (owned)
};

static void s_free_count(void **item)
{
    free(*item);
    *item = NULL;
}

move_caps_t *move_caps_new(void)
{
    move_caps_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->counts = zhashx_new();
    if (!self->counts) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->counts, s_free_count);
    return self;
}

void move_caps_destroy(move_caps_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->counts);
    free(*self_p);
    *self_p = NULL;
}

void move_caps_clear(move_caps_t *self)
{
    zhashx_purge(self->counts);
}

//  The count under key (0 when none), after adding delta to it. -1 in *rc
//  when a new count could not be stored.
static int s_count(move_caps_t *self, const char *key, int delta, int *rc)
{
    int *count = zhashx_lookup(self->counts, key);
    if (!count && delta > 0) {
        count = calloc(1, sizeof *count);
        if (!count || zhashx_insert(self->counts, key, count) != 0) {
            free(count);
            *rc = -1;
            return 0;
        }
    }
    if (!count)
        return 0;
    *count += delta;
    if (*count > 0)
        return *count;
    zhashx_delete(self->counts, key);
    return 0;
}

//  Add delta (0: look up only) to every count hop takes part in; its load into *out.
static int s_hop(move_caps_t *self, const move_caps_hop_t *hop, int delta, move_caps_load_t *out)
{
    char key[S_KEY_SIZE];
    int rc = 0;
    out->hmc = s_count(self, hop->hmc, delta, &rc);
    snprintf(key, sizeof key, "%s\t%s", hop->hmc, hop->source);
    int on_source = s_count(self, key, delta, &rc);
    snprintf(key, sizeof key, "%s\t%s", hop->hmc, hop->target);
    int on_target = strcmp(hop->source, hop->target) == 0 ? on_source : s_count(self, key, delta, &rc);
    out->system = on_source > on_target ? on_source : on_target;
    out->vios_pair = 0;
    if (hop->vios_pair && hop->vios_pair[0]) {
        snprintf(key, sizeof key, "%s\tpair\t%s", hop->hmc, hop->vios_pair);
        out->vios_pair = s_count(self, key, delta, &rc);
    }
    return rc;
}

int move_caps_add(move_caps_t *self, const move_caps_hop_t *hop, int delta)
{
    move_caps_load_t unused;
    return s_hop(self, hop, delta, &unused);
}

void move_caps_load(move_caps_t *self, const move_caps_hop_t *hop, move_caps_load_t *out)
{
    s_hop(self, hop, 0, out);
}

bool move_caps_over(move_caps_t *self, const move_caps_hop_t *hop, const move_caps_limits_t *limits,
                    char *why, size_t size)
{
    move_caps_load_t now;
    move_caps_load(self, hop, &now);
    if (limits->per_hmc > 0 && now.hmc >= limits->per_hmc)
        return snprintf(why, size, "HMC cap %d reached", limits->per_hmc), true;
    if (limits->per_system > 0 && now.system >= limits->per_system)
        return snprintf(why, size, "system cap %d reached", limits->per_system), true;
    if (limits->per_vios_pair > 0 && now.vios_pair >= limits->per_vios_pair)
        return snprintf(why, size, "VIOS pair cap %d reached", limits->per_vios_pair), true;
    return false;
}
