/*  plan — an LPM plan file (JSON). */
#include "plan.h"

#include "names.h"
#include "suggest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Room kept at the end of err for "; ... and N more problems".
#define S_TAIL_ROOM 48
//  Longest single problem.
#define S_LINE_MAX 1024
//  Bytes of a key or value quoted in a message, and the buffer they need
//  (each may become \xNN, plus "...").
#define S_SHOWN_MAX 64
#define S_SHOWN_SIZE (S_SHOWN_MAX * 4 + 4)

static const char *const s_plan_keys[] = {"name", "hmc", "validate_only", "outage_budget_ms",
                                          "concurrency", "moves", NULL};
static const char *const s_concurrency_keys[] = {"per_system", "per_hmc", "per_vios_pair",
                                                 NULL};
static const char *const s_move_keys[] = {"partition", "to", "via", "vios_pair", "source_msp",
                                          "dest_msp", "shared_proc_pool", NULL};

//  Problems are collected, not stopped at: an administrator fixes a plan
//  file in one go when told everything wrong with it.
typedef struct {
    char *buf;          // caller's err buffer
    size_t size;        // its size
    size_t used;        // bytes written to buf
    int count;          // problems found
    int shown;          // problems written to buf in full
    size_t safe_used;   // used after the last problem that left S_TAIL_ROOM free
    int safe_shown;     // shown at that point
    bool full;          // a problem did not fit: the rest are only counted
} s_problems_t;

static void s_problem(s_problems_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_problem(s_problems_t *p, const char *fmt, ...)
{
    p->count++;
    if (p->full || p->size == 0)
        return;
    char line[S_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *sep = p->shown ? "; " : "";
    size_t sep_len = strlen(sep), line_len = strlen(line);
    if (p->used + sep_len + line_len >= p->size) {
        //  Never a problem cut in the middle: back to the last whole one
        //  that leaves room to say how many are left out.
        p->full = true;
        p->used = p->safe_used;
        p->shown = p->safe_shown;
        p->buf[p->used] = '\0';
        return;
    }
    memcpy(p->buf + p->used, sep, sep_len);
    memcpy(p->buf + p->used + sep_len, line, line_len + 1);
    p->used += sep_len + line_len;
    p->shown++;
    if (p->used + S_TAIL_ROOM < p->size) {
        p->safe_used = p->used;
        p->safe_shown = p->shown;
    }
}

//  Say how many problems did not fit.
static void s_problems_end(s_problems_t *p)
{
    int more = p->count - p->shown;
    if (more <= 0 || p->size == 0)
        return;
    snprintf(p->buf + p->used, p->size - p->used, "%s... and %d more problem%s",
             p->shown ? "; " : "", more, more == 1 ? "" : "s");
}

//  text as it may be quoted in a message read on a terminal: printable
//  ASCII as is, other bytes and quotes as \xNN, at most S_SHOWN_MAX bytes.
static const char *s_shown(const char *text, char out[S_SHOWN_SIZE])
{
    size_t used = 0;
    size_t i = 0;
    for (; text[i] && i < S_SHOWN_MAX; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\')
            out[used++] = (char) c;
        else
            used += (size_t) snprintf(out + used, 5, "\\x%02x", c);
    }
    if (text[i]) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
    return out;
}

static bool s_listed(const char *word, const char *const list[])
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], word) == 0)
            return true;
    return false;
}

//  Every key of obj must be one of known (NULL-terminated): a misspelt key
//  ignored would change what the plan does ("valdiate_only" moving
//  partitions for real). where is the path prefix of obj ("moves[0].").
static void s_keys(s_problems_t *p, const json_t *obj, const char *const known[],
                   const char *where)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) obj, key, value) {
        if (s_listed(key, known))
            continue;
        char shown[S_SHOWN_SIZE];
        const char *close = suggest_closest(key, known);
        if (close) {
            s_problem(p, "%s%s: unknown key (did you mean \"%s\"?)", where, s_shown(key, shown),
                      close);
            continue;
        }
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; known[i] && used < sizeof list; i++)
            used += (size_t) snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                      known[i]);
        s_problem(p, "%s%s: unknown key (known: %s)", where, s_shown(key, shown), list);
    }
}

//  The string member key of obj (borrowed), or NULL: absent (a problem when
//  required) or not a string (a problem).
static const char *s_text(s_problems_t *p, const json_t *obj, const char *key, bool required,
                          const char *where)
{
    json_t *value = json_object_get(obj, key);
    if (!value) {
        if (required)
            s_problem(p, "%s%s: missing", where, key);
        return NULL;
    }
    if (!json_is_string(value)) {
        s_problem(p, "%s%s: must be a string", where, key);
        return NULL;
    }
    return json_string_value(value);
}

//  Copy member key, a name of kind, into out (size bytes). noun says what
//  the name is in messages ("plan name").
static void s_name(s_problems_t *p, const json_t *obj, const char *key, name_kind_t kind,
                   const char *noun, bool required, char *out, size_t size, const char *where)
{
    const char *text = s_text(p, obj, key, required, where);
    if (!text)
        return;
    if (!name_valid(kind, text) || strlen(text) >= size) {
        char shown[S_SHOWN_SIZE];
        s_problem(p, "%s%s: '%s' is not a valid %s (%s)", where, key, s_shown(text, shown), noun,
                  name_kind_rule(kind));
        return;
    }
    snprintf(out, size, "%s", text);
}

//  Copy optional member key into out (size bytes) when valid() accepts it;
//  "" means not given. noun and rule say what it is and may be, in messages.
static void s_field(s_problems_t *p, const json_t *obj, const char *key, bool (*valid)(const char *),
                    const char *noun, const char *rule, char *out, size_t size, const char *where)
{
    const char *text = s_text(p, obj, key, false, where);
    if (!text)
        return;
    if (strlen(text) >= size || !valid(text)) {
        char shown[S_SHOWN_SIZE];
        s_problem(p, "%s%s: '%s' is not a valid %s (%s, at most %zu characters)", where, key,
                  s_shown(text, shown), noun, rule, size - 1);
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
    return true;
}

//  A VIOS pair is only a label for the cap, but it may reach logs and the
//  HMC's job parameters one day: the system name class plus '+'.
static bool s_valid_vios_pair(const char *text)
{
    for (const char *c = text; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+", *c))
            return false;
    return true;
}

//  A move's route as read, with the path of each hop for messages.
typedef struct {
    char path[PLAN_MAX_HOPS][16];   // "via[0]", ..., "to"
    bool has_to;                    // the last hop is a valid "to"
} s_route_t;

static void s_via(s_problems_t *p, const json_t *obj, plan_move_t *m, s_route_t *r,
                  const char *where)
{
    json_t *via = json_object_get(obj, "via");
    if (!via)
        return;
    if (!json_is_array(via)) {
        s_problem(p, "%svia: must be an array of system names", where);
        return;
    }
    size_t i;
    json_t *hop;
    json_array_foreach(via, i, hop) {
        if (i + 1 >= PLAN_MAX_HOPS) {
            s_problem(p, "%svia: at most %d staging systems", where, PLAN_MAX_HOPS - 1);
            return;
        }
        const char *name = json_string_value(hop);
        char shown[S_SHOWN_SIZE];
        if (!name)
            s_problem(p, "%svia[%zu]: must be a string (a system name)", where, i);
        else if (!name_valid(NAME_SYSTEM, name) || strlen(name) >= PLAN_NAME_MAX)
            s_problem(p, "%svia[%zu]: '%s' is not a valid system name (%s)", where, i,
                      s_shown(name, shown), name_kind_rule(NAME_SYSTEM));
        else {
            snprintf(r->path[m->hop_count], sizeof r->path[0], "via[%zu]", i);
            snprintf(m->hops[m->hop_count++], PLAN_NAME_MAX, "%s", name);
        }
    }
}

//  Staging systems that are the target, or come twice in a row, make a hop
//  that moves nothing.
static void s_route_checks(s_problems_t *p, const plan_move_t *m, const s_route_t *r,
                           const char *where)
{
    size_t staging = r->has_to ? m->hop_count - 1 : m->hop_count;
    const char *to = r->has_to ? m->hops[m->hop_count - 1] : NULL;
    for (size_t a = 0; a < staging; a++) {
        if (to && strcmp(m->hops[a], to) == 0)
            s_problem(p, "%s%s: %s is also the target (to): a staging system must be another"
                         " system", where, r->path[a], to);
        else if (a + 1 < staging && strcmp(m->hops[a], m->hops[a + 1]) == 0)
            s_problem(p, "%s%s: %s twice in a row", where, r->path[a + 1], m->hops[a]);
    }
}

//  Names against the HMC's inventory: a partition or system it does not
//  know is a typo or the wrong HMC, a hop to where the partition is now
//  a hop that moves nothing (the HMC refuses it, after the plan started).
static void s_inventory_checks(s_problems_t *p, const plan_inventory_t *inv,
                               const plan_move_t *m, const s_route_t *r, const char *where)
{
    const char *current = NULL;
    if (m->partition[0] && inv->partition_system) {
        current = inv->partition_system(inv->arg, m->partition);
        if (!current)
            s_problem(p, "%spartition: %s is not known to the HMC", where, m->partition);
    }
    for (size_t h = 0; h < m->hop_count; h++) {
        bool is_to = r->has_to && h + 1 == m->hop_count;
        if (inv->system_known && !inv->system_known(inv->arg, m->hops[h]))
            s_problem(p, "%s%s: system %s is not known to the HMC", where, r->path[h], m->hops[h]);
        else if (current && current[0] && strcmp(current, m->hops[h]) == 0 && is_to)
            s_problem(p, "%sto: %s is already on %s", where, m->partition, current);
        else if (current && current[0] && strcmp(current, m->hops[h]) == 0)
            s_problem(p, "%s%s: %s is the system %s is on now", where, r->path[h], current,
                      m->partition);
    }
}

static void s_move(s_problems_t *p, const json_t *obj, size_t index, const plan_inventory_t *inv,
                   plan_move_t *m)
{
    char where[48];
    snprintf(where, sizeof where, "moves[%zu].", index);
    if (!json_is_object(obj)) {
        s_problem(p, "moves[%zu]: must be an object", index);
        return;
    }
    s_keys(p, obj, s_move_keys, where);
    s_name(p, obj, "partition", NAME_PARTITION, "partition name", true, m->partition,
           sizeof m->partition, where);
    s_route_t route = {0};
    s_via(p, obj, m, &route, where);
    s_name(p, obj, "to", NAME_SYSTEM, "system name", true, m->hops[m->hop_count], PLAN_NAME_MAX,
           where);
    if (m->hops[m->hop_count][0]) {
        snprintf(route.path[m->hop_count], sizeof route.path[0], "to");
        route.has_to = true;
        m->hop_count++;
    }
    s_route_checks(p, m, &route, where);
    s_field(p, obj, "vios_pair", s_valid_vios_pair, "VIOS pair", "letters, digits and _ . - +",
            m->vios_pair, sizeof m->vios_pair, where);
    s_field(p, obj, "source_msp", s_valid_ips, "address list", "IP addresses separated by commas",
            m->source_msp, sizeof m->source_msp, where);
    s_field(p, obj, "dest_msp", s_valid_ips, "address list", "IP addresses separated by commas",
            m->dest_msp, sizeof m->dest_msp, where);
    s_name(p, obj, "shared_proc_pool", NAME_SYSTEM, "shared processor pool name", false,
           m->shared_proc_pool, sizeof m->shared_proc_pool, where);
    if (inv)
        s_inventory_checks(p, inv, m, &route, where);
}

static void s_moves(s_problems_t *p, const json_t *doc, const plan_inventory_t *inv, plan_t *plan)
{
    json_t *moves = json_object_get(doc, "moves");
    if (!json_is_array(moves) || json_array_size(moves) == 0) {
        s_problem(p, "moves: %s", moves ? "must be a non-empty array" : "missing (a non-empty array)");
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
        s_move(p, move, i, inv, &plan->moves[i]);
        for (size_t j = 0; j < i; j++)
            if (plan->moves[i].partition[0]
                && strcmp(plan->moves[i].partition, plan->moves[j].partition) == 0) {
                s_problem(p, "moves[%zu].partition: %s is already moved by moves[%zu]", i,
                          plan->moves[i].partition, j);
                break;
            }
    }
}

static void s_concurrency(s_problems_t *p, const json_t *doc, plan_t *plan)
{
    json_t *conc = json_object_get(doc, "concurrency");
    int64_t per_system = 4, per_hmc = 0, per_vios = 0;
    if (conc && !json_is_object(conc))
        s_problem(p, "concurrency: must be an object");
    else if (conc) {
        s_keys(p, conc, s_concurrency_keys, "concurrency.");
        s_int(p, conc, "per_system", 0, 64, &per_system, "concurrency.");
        s_int(p, conc, "per_hmc", 0, 1024, &per_hmc, "concurrency.");
        s_int(p, conc, "per_vios_pair", 0, 16, &per_vios, "concurrency.");
    }
    plan->per_system = (int) per_system;
    plan->per_hmc = (int) per_hmc;
    plan->per_vios_pair = (int) per_vios;
}

static void s_plan(s_problems_t *p, const json_t *doc, const plan_inventory_t *inv, plan_t *plan)
{
    s_keys(p, doc, s_plan_keys, "");
    s_name(p, doc, "name", NAME_LABEL, "plan name", true, plan->name, sizeof plan->name, "");
    s_name(p, doc, "hmc", NAME_SYSTEM, "HMC name", true, plan->hmc, sizeof plan->hmc, "");
    json_t *validate = json_object_get(doc, "validate_only");
    if (validate && !json_is_boolean(validate))
        s_problem(p, "validate_only: must be true or false");
    plan->validate_only = json_is_true(validate);
    plan->outage_budget_ms = 2000;
    s_int(p, doc, "outage_budget_ms", 0, 86400000, &plan->outage_budget_ms, "");
    s_concurrency(p, doc, plan);
    s_moves(p, doc, inv, plan);
}

plan_t *plan_from_json(const json_t *doc, const plan_inventory_t *inv, char *err, size_t errlen)
{
    s_problems_t p = {.buf = err, .size = errlen};
    if (errlen)
        err[0] = '\0';
    plan_t *plan = NULL;
    if (!json_is_object(doc))
        s_problem(&p, "a plan is a JSON object");
    else if (!(plan = calloc(1, sizeof *plan)))
        s_problem(&p, "out of memory");
    else
        s_plan(&p, doc, inv, plan);
    if (p.count) {
        s_problems_end(&p);
        plan_destroy(&plan);
    }
    return plan;
}

plan_t *plan_parse(const char *text, size_t len, const plan_inventory_t *inv, char *err,
                   size_t errlen)
{
    json_error_t error;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!doc) {
        snprintf(err, errlen, "not valid JSON: line %d column %d: %s", error.line, error.column,
                 error.text);
        return NULL;
    }
    plan_t *plan = plan_from_json(doc, inv, err, errlen);
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
