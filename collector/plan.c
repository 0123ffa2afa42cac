/*  plan — an LPM plan file (JSON). */
#include "plan.h"

#include "names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Problems are collected, not stopped at: an administrator fixes a plan
//  file in one go when told everything wrong with it.
typedef struct {
    char *buf;          // caller's err buffer
    size_t size;        // its size
    int count;          // problems found
} s_problems_t;

static void s_problem(s_problems_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_problem(s_problems_t *p, const char *fmt, ...)
{
    size_t used = strlen(p->buf);
    if (p->count++ && used + 2 < p->size) {
        memcpy(p->buf + used, "; ", 3);
        used += 2;
    }
    if (used >= p->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->buf + used, p->size - used, fmt, ap);
    va_end(ap);
}

//  Copy an optional string member checked against kind (NAME_KIND_COUNT:
//  only a length check). where names the member in messages.
static void s_string(s_problems_t *p, const json_t *obj, const char *key, name_kind_t kind,
                     bool required, char *out, size_t size, const char *where)
{
    json_t *value = json_object_get(obj, key);
    if (!value) {
        if (required)
            s_problem(p, "%s%s: missing", where, key);
        return;
    }
    const char *text = json_string_value(value);
    if (!text) {
        s_problem(p, "%s%s: must be a string", where, key);
        return;
    }
    if (strlen(text) >= size || (kind != NAME_KIND_COUNT && !name_valid(kind, text))) {
        s_problem(p, "%s%s: '%.64s' is not a valid %s name", where, key, text,
                  kind != NAME_KIND_COUNT ? name_kind_name(kind) : "short");
        return;
    }
    snprintf(out, size, "%s", text);
}

static void s_int(s_problems_t *p, const json_t *obj, const char *key, int64_t min, int64_t max,
                  int64_t *out, const char *where)
{
    json_t *value = json_object_get(obj, key);
    if (!value)
        return;
    if (!json_is_integer(value) || json_integer_value(value) < min
        || json_integer_value(value) > max) {
        s_problem(p, "%s%s: must be an integer in %lld..%lld", where, key, (long long) min,
                  (long long) max);
        return;
    }
    *out = json_integer_value(value);
}

//  Comma-separated IPv4/IPv6 addresses only: they become a job parameter.
static bool s_valid_ips(const char *text)
{
    for (const char *c = text; *c; c++)
        if (!strchr("0123456789abcdefABCDEF.:,", *c))
            return false;
    return *text != '\0';
}

static void s_move(s_problems_t *p, const json_t *obj, size_t index, plan_move_t *m)
{
    char where[48];
    snprintf(where, sizeof where, "moves[%zu].", index);
    if (!json_is_object(obj)) {
        s_problem(p, "moves[%zu]: must be an object", index);
        return;
    }
    s_string(p, obj, "partition", NAME_PARTITION, true, m->partition, sizeof m->partition, where);
    json_t *via = json_object_get(obj, "via");
    if (via && !json_is_array(via))
        s_problem(p, "%svia: must be an array of system names", where);
    size_t i;
    json_t *hop;
    json_array_foreach(via, i, hop) {
        if (m->hop_count + 1 >= PLAN_MAX_HOPS) {
            s_problem(p, "%svia: at most %d staging systems", where, PLAN_MAX_HOPS - 1);
            break;
        }
        const char *name = json_string_value(hop);
        if (!name || !name_valid(NAME_SYSTEM, name) || strlen(name) >= PLAN_NAME_MAX)
            s_problem(p, "%svia[%zu]: not a valid system name", where, i);
        else
            snprintf(m->hops[m->hop_count++], PLAN_NAME_MAX, "%s", name);
    }
    s_string(p, obj, "to", NAME_SYSTEM, true, m->hops[m->hop_count], PLAN_NAME_MAX, where);
    if (m->hops[m->hop_count][0])
        m->hop_count++;
    for (size_t a = 0; a + 1 < m->hop_count; a++)
        if (strcmp(m->hops[a], m->hops[a + 1]) == 0)
            s_problem(p, "%sroute: %s twice in a row", where, m->hops[a]);
    s_string(p, obj, "vios_pair", NAME_KIND_COUNT, false, m->vios_pair, sizeof m->vios_pair, where);
    s_string(p, obj, "source_msp", NAME_KIND_COUNT, false, m->source_msp, sizeof m->source_msp, where);
    s_string(p, obj, "dest_msp", NAME_KIND_COUNT, false, m->dest_msp, sizeof m->dest_msp, where);
    s_string(p, obj, "shared_proc_pool", NAME_SYSTEM, false, m->shared_proc_pool,
             sizeof m->shared_proc_pool, where);
    if (m->source_msp[0] && !s_valid_ips(m->source_msp))
        s_problem(p, "%ssource_msp: IP addresses separated by commas", where);
    if (m->dest_msp[0] && !s_valid_ips(m->dest_msp))
        s_problem(p, "%sdest_msp: IP addresses separated by commas", where);
    for (const char *c = m->vios_pair; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+", *c)) {
            s_problem(p, "%svios_pair: letters, digits and _ . - + only", where);
            break;
        }
}

static void s_moves(s_problems_t *p, const json_t *doc, plan_t *plan)
{
    json_t *moves = json_object_get(doc, "moves");
    if (!json_is_array(moves) || json_array_size(moves) == 0) {
        s_problem(p, "moves: must be a non-empty array");
        return;
    }
    if (json_array_size(moves) > PLAN_MAX_MOVES) {
        s_problem(p, "moves: at most %d per plan", PLAN_MAX_MOVES);
        return;
    }
    plan->move_count = json_array_size(moves);
    plan->moves = calloc(plan->move_count, sizeof *plan->moves);
    if (!plan->moves) {
        s_problem(p, "out of memory");
        return;
    }
    size_t i;
    json_t *move;
    json_array_foreach(moves, i, move) {
        s_move(p, move, i, &plan->moves[i]);
        for (size_t j = 0; j < i; j++)
            if (plan->moves[i].partition[0]
                && strcmp(plan->moves[i].partition, plan->moves[j].partition) == 0) {
                s_problem(p, "moves[%zu].partition: %s is already moved by moves[%zu]", i,
                          plan->moves[i].partition, j);
                break;
            }
    }
}

plan_t *plan_from_json(const json_t *doc, char *err, size_t errlen)
{
    s_problems_t p = { err, errlen, 0 };
    if (errlen)
        err[0] = '\0';
    if (!json_is_object(doc)) {
        s_problem(&p, "a plan is a JSON object");
        return NULL;
    }
    plan_t *plan = calloc(1, sizeof *plan);
    if (!plan) {
        s_problem(&p, "out of memory");
        return NULL;
    }
    s_string(&p, doc, "name", NAME_SYSTEM, true, plan->name, sizeof plan->name, "");
    s_string(&p, doc, "hmc", NAME_SYSTEM, true, plan->hmc, sizeof plan->hmc, "");
    json_t *validate = json_object_get(doc, "validate_only");
    if (validate && !json_is_boolean(validate))
        s_problem(&p, "validate_only: must be true or false");
    plan->validate_only = json_is_true(validate);
    plan->outage_budget_ms = 2000;
    s_int(&p, doc, "outage_budget_ms", 0, 86400000, &plan->outage_budget_ms, "");
    json_t *conc = json_object_get(doc, "concurrency");
    if (conc && !json_is_object(conc))
        s_problem(&p, "concurrency: must be an object");
    int64_t per_system = 4, per_hmc = 0, per_vios = 0;
    s_int(&p, conc, "per_system", 0, 64, &per_system, "concurrency.");
    s_int(&p, conc, "per_hmc", 0, 1024, &per_hmc, "concurrency.");
    s_int(&p, conc, "per_vios_pair", 0, 16, &per_vios, "concurrency.");
    plan->per_system = (int) per_system;
    plan->per_hmc = (int) per_hmc;
    plan->per_vios_pair = (int) per_vios;
    s_moves(&p, doc, plan);
    if (p.count) {
        plan_destroy(&plan);
        return NULL;
    }
    return plan;
}

plan_t *plan_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t error;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!doc) {
        snprintf(err, errlen, "not valid JSON: line %d column %d: %s", error.line, error.column,
                 error.text);
        return NULL;
    }
    plan_t *plan = plan_from_json(doc, err, errlen);
    json_decref(doc);
    return plan;
}

void plan_destroy(plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->moves);
    free(*self_p);
    *self_p = NULL;
}

static void s_set_nonempty(json_t *obj, const char *key, const char *value)
{
    if (value[0])
        json_object_set_new(obj, key, json_string(value));
}

json_t *plan_to_json(const plan_t *plan)
{
    json_t *moves = json_array();
    for (size_t i = 0; i < plan->move_count; i++) {
        const plan_move_t *m = &plan->moves[i];
        json_t *via = json_array();
        for (size_t h = 0; h + 1 < m->hop_count; h++)
            json_array_append_new(via, json_string(m->hops[h]));
        json_t *move = json_pack("{s:s, s:s, s:o}", "partition", m->partition, "to",
                                 m->hops[m->hop_count - 1], "via", via);
        s_set_nonempty(move, "vios_pair", m->vios_pair);
        s_set_nonempty(move, "source_msp", m->source_msp);
        s_set_nonempty(move, "dest_msp", m->dest_msp);
        s_set_nonempty(move, "shared_proc_pool", m->shared_proc_pool);
        json_array_append_new(moves, move);
    }
    return json_pack("{s:s, s:s, s:b, s:I, s:{s:i, s:i, s:i}, s:o}", "name", plan->name, "hmc",
                     plan->hmc, "validate_only", plan->validate_only, "outage_budget_ms",
                     (json_int_t) plan->outage_budget_ms, "concurrency", "per_system",
                     plan->per_system, "per_hmc", plan->per_hmc, "per_vios_pair",
                     plan->per_vios_pair, "moves", moves);
}
