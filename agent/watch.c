/*  watch — turns successive facts into migration events. */
#include "watch.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

struct _watch_t {
    char *path;         // state file
    json_t *last;       // {serial, boot_id, oslevel, rootvg, alt_vgs}: last reported values
};

watch_t *watch_new(const char *path)
{
    watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup(path);
    json_error_t error;
    self->last = json_load_file(path, 0, &error);
    if (self->last && !json_is_object(self->last)) {
        json_decref(self->last);
        self->last = NULL;
    }
    if (!self->last) {
        //  Absent on a first run; damaged otherwise: either way start over.
        if (access(path, F_OK) == 0)
            log_warn("watch: %s is unreadable (%s); starting without history", path, error.text);
        self->last = json_object();
    }
    if (!self->path || !self->last)
        watch_destroy(&self);
    return self;
}

void watch_destroy(watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->last);
    free((*self_p)->path);
    free(*self_p);
    *self_p = NULL;
}

//  Write the state atomically: a torn state file would invent events later.
static void s_save(watch_t *self)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", self->path);
    if (json_dump_file(self->last, tmp, JSON_COMPACT | JSON_SORT_KEYS) != 0
        || rename(tmp, self->path) != 0)
        log_warn("watch: cannot save %s", self->path);
}

static void s_event(json_t *events, const char *kind, const char *message, json_t *attrs)
{
    json_array_append_new(events, json_pack("{s:s, s:s, s:o}", "kind", kind, "message", message,
                                            "attrs", attrs));
}

//  The strings of a JSON array joined by sep ("" when not an array). Owned.
static char *s_join(const json_t *array, const char *sep)
{
    size_t size = 1, i;
    json_t *item;
    json_array_foreach(array, i, item)
        size += strlen(json_string_value(item) ? json_string_value(item) : "") + strlen(sep);
    char *out = calloc(1, size);
    if (!out)
        return NULL;
    json_array_foreach(array, i, item) {
        if (i)
            strcat(out, sep);
        strcat(out, json_string_value(item) ? json_string_value(item) : "");
    }
    return out;
}

//  "altinst_rootvg:hdisk1 old_rootvg:hdisk0,hdisk2" from the alt_vgs array.
//  Not cut at any length: a cut value could hide a change. NULL when out of memory.
static char *s_alt_vgs(const json_t *alt_vgs)
{
    char *out = calloc(1, 1);
    size_t len = 0, i;
    json_t *vg;
    json_array_foreach(alt_vgs, i, vg) {
        if (!out)
            break;
        char *disks = s_join(json_object_get(vg, "disks"), ",");
        const char *name = json_string_value(json_object_get(vg, "name"));
        name = name ? name : "?";
        size_t add = (i ? 1 : 0) + strlen(name) + 1 + (disks ? strlen(disks) : 0);
        char *grown = realloc(out, len + add + 1);
        if (grown)
            snprintf(grown + len, add + 1, "%s%s:%s", i ? " " : "", name, disks ? disks : "");
        else
            free(out);
        out = grown;
        len += add;
        free(disks);
    }
    return out;
}

//  A message cut by snprintf may end inside a multi-byte UTF-8 character,
//  and jansson refuses text that is not UTF-8 (the event would be lost):
//  drop such a partial character from the end of text.
static void s_utf8_trim(char *text)
{
    size_t len = strlen(text), start = len;
    while (start > 0 && len - start < 4 && ((unsigned char) text[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0)
        return;
    unsigned char lead = (unsigned char) text[start - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (len - (start - 1) < need)
        text[start - 1] = '\0';
}

//  Compare one value with the last reported one. old/new are owned strings
//  (new may be NULL: unknown now, nothing to report). Returns 1 when it
//  changed from a known value, 0 otherwise; remembers new in any case.
static int s_changed(watch_t *self, const char *key, const char *now, char **old_p)
{
    *old_p = NULL;
    if (!now)
        return 0;
    const char *before = json_string_value(json_object_get(self->last, key));
    int changed = before && strcmp(before, now) != 0;
    if (changed)
        *old_p = strdup(before);
    if (!before || changed) {
        json_object_set_new(self->last, key, json_string(now));
        s_save(self);
    }
    return changed;
}

static void s_check(watch_t *self, json_t *events, const char *key, const char *now,
                    const char *kind, const char *what, const char *detected_by)
{
    char *old = NULL;
    if (!s_changed(self, key, now, &old))
        return;
    char message[512];
    snprintf(message, sizeof message, "%s changed from %s to %s (seen at %s)", what, old, now,
             detected_by);
    s_utf8_trim(message);
    json_t *attrs = json_pack("{s:s, s:s}", "old", old, "new", now);
    if (strcmp(kind, "serial_changed") == 0)
        json_object_set_new(attrs, "detected_by", json_string(detected_by));
    log_info("%s", message);
    s_event(events, kind, message, attrs);
    free(old);
}

json_t *watch_serial(watch_t *self, const char *serial, const char *detected_by)
{
    json_t *events = json_array();
    s_check(self, events, "serial", serial, "serial_changed", "machine serial", detected_by);
    return events;
}

static void s_check_boot(watch_t *self, json_t *events, const char *boot_id)
{
    char *previous = NULL;
    if (!s_changed(self, "boot_id", boot_id, &previous))
        return;
    char message[256];
    snprintf(message, sizeof message, "partition rebooted (boot id %s, was %s)", boot_id, previous);
    s_utf8_trim(message);
    log_info("%s", message);
    s_event(events, "booted", message,
            json_pack("{s:s, s:s}", "boot_id", boot_id, "previous_boot_id", previous));
    free(previous);
}

//  AIX has no boot id: its boot time, derived from ticks since boot, moves by
//  a second between reads, so only a jump beyond the tolerance is a boot.
#define WATCH_BOOT_TIME_TOLERANCE_S 120

static void s_check_boot_time(watch_t *self, json_t *events, const json_t *boot_time)
{
    if (!json_is_integer(boot_time))
        return;
    json_int_t now = json_integer_value(boot_time);
    json_t *last = json_object_get(self->last, "boot_time");
    if (json_is_integer(last)) {
        json_int_t before = json_integer_value(last);
        if (now - before <= WATCH_BOOT_TIME_TOLERANCE_S && before - now <= WATCH_BOOT_TIME_TOLERANCE_S)
            return;
        char boot_id[32], previous[32], message[128];
        snprintf(boot_id, sizeof boot_id, "%lld", (long long) now);
        snprintf(previous, sizeof previous, "%lld", (long long) before);
        snprintf(message, sizeof message, "partition rebooted (booted at %s, before at %s)",
                 boot_id, previous);
        log_info("%s", message);
        s_event(events, "booted", message,
                json_pack("{s:s, s:s}", "boot_id", boot_id, "previous_boot_id", previous));
    }
    json_object_set_new(self->last, "boot_time", json_integer(now));
    s_save(self);
}

json_t *watch_facts(watch_t *self, const json_t *facts, const char *detected_by)
{
    json_t *events = json_array();
    json_t *system = json_object_get(facts, "system");
    json_t *os = json_object_get(facts, "os");
    json_t *rootvg = json_object_get(facts, "rootvg");
    s_check(self, events, "serial", json_string_value(json_object_get(system, "serial")),
            "serial_changed", "machine serial", detected_by);
    if (json_object_get(facts, "boot_id"))
        s_check_boot(self, events, json_string_value(json_object_get(facts, "boot_id")));
    else
        s_check_boot_time(self, events, json_object_get(facts, "boot_time"));
    s_check(self, events, "oslevel", json_string_value(json_object_get(os, "level")),
            "oslevel_changed", "OS level", detected_by);
    char *disks = rootvg ? s_join(json_object_get(rootvg, "disks"), " ") : NULL;
    s_check(self, events, "rootvg", disks, "rootvg_changed", "rootvg disks", detected_by);
    free(disks);
    json_t *alt = json_object_get(facts, "alt_vgs");
    char *alt_vgs = json_is_array(alt) ? s_alt_vgs(alt) : NULL;
    s_check(self, events, "alt_vgs", alt_vgs, "alt_vg_changed", "alternate volume groups",
            detected_by);
    free(alt_vgs);
    return events;
}

const char *watch_last_serial(watch_t *self)
{
    return json_string_value(json_object_get(self->last, "serial"));
}
