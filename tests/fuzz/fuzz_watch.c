/*  fuzz_watch — libFuzzer target for the change watcher (agent/watch.c).

    The input is parsed as JSON (jansson). A top-level array is a sequence of
    facts documents (the first S_DOCS are used), anything else is one
    document. Each document goes to watch_facts twice, with the state file
    in a directory made once per process (removed before every run, so each
    run starts as a first run). At the end a second watcher loads the state
    file and gets the last document again.

    Checks beyond "no crash, no leak": events are well-formed objects of a
    known kind, at most one of each kind per call; a first run and a repeated
    document report nothing; every changed value (serial, boot id, OS level,
    rootvg disks, alternate VGs) is reported; the state file restores what
    was remembered.

    Log lines are muted; set FERRY_FUZZ_VERBOSE=1 to see them. */
#include "watch.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_DOCS 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

//  What an event is about: the kind, and where the value is in the facts.
typedef enum { S_SERIAL, S_BOOT, S_OSLEVEL, S_ROOTVG, S_ALT_VGS, S_KINDS } s_kind_t;
static const char *const s_kind_names[S_KINDS] = {
    "serial_changed", "booted", "oslevel_changed", "rootvg_changed", "alt_vg_changed"};

static char s_dir[256];
static char s_state[300];
static char s_state_tmp[310];

static void s_fail(const char *what)
{
    fprintf(stderr, "fuzz_watch: %s\n", what);
    abort();
}

static void s_remove_dir(void)
{
    unlink(s_state);
    unlink(s_state_tmp);
    rmdir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    struct stat st;
    const char *base = getenv("TMPDIR");
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    snprintf(s_dir, sizeof s_dir, "%s/ferry-fuzz-watch.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(s_dir)) {
        fprintf(stderr, "fuzz_watch: mkdtemp: %s\n", strerror(errno));
        abort();
    }
    snprintf(s_state, sizeof s_state, "%s/state.json", s_dir);
    snprintf(s_state_tmp, sizeof s_state_tmp, "%s.tmp", s_state);
    atexit(s_remove_dir);
    if (!getenv("FERRY_FUZZ_VERBOSE"))
        zsys_set_logstream(NULL);
    return 0;
}

//  Appends text to the owned string *out.
static void s_cat(char **out, const char *text)
{
    size_t len = *out ? strlen(*out) : 0;
    char *grown = realloc(*out, len + strlen(text) + 1);
    if (!grown)
        s_fail("out of memory");
    strcpy(grown + len, text);
    *out = grown;
}

//  The strings of an array joined by sep, non-strings as "" (owned).
static char *s_join(const json_t *array, const char *sep)
{
    char *out = NULL;
    s_cat(&out, "");
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        const char *s = json_string_value(item);
        if (i)
            s_cat(&out, sep);
        s_cat(&out, s ? s : "");
    }
    return out;
}

//  The disks of facts.rootvg as watch.c reports them; NULL without a rootvg.
static char *s_rootvg(const json_t *facts)
{
    json_t *rootvg = json_object_get(facts, "rootvg");
    return rootvg ? s_join(json_object_get(rootvg, "disks"), " ") : NULL;
}

//  "name:disk,disk name:disk" from facts.alt_vgs; NULL when not an array.
static char *s_alt_vgs(const json_t *facts)
{
    json_t *alt = json_object_get(facts, "alt_vgs");
    if (!json_is_array(alt))
        return NULL;
    char *out = NULL;
    s_cat(&out, "");
    size_t i;
    json_t *vg;
    json_array_foreach(alt, i, vg) {
        const char *name = json_string_value(json_object_get(vg, "name"));
        char *disks = s_join(json_object_get(vg, "disks"), ",");
        if (i)
            s_cat(&out, " ");
        s_cat(&out, name ? name : "?");
        s_cat(&out, ":");
        s_cat(&out, disks);
        free(disks);
    }
    return out;
}

//  The value an event kind is about, as a new string; NULL when unknown.
static char *s_value(const json_t *facts, s_kind_t kind)
{
    const char *s = NULL;
    switch (kind) {
    case S_SERIAL:
        s = json_string_value(json_object_get(json_object_get(facts, "system"), "serial"));
        break;
    case S_BOOT:
        s = json_string_value(json_object_get(facts, "boot_id"));
        break;
    case S_OSLEVEL:
        s = json_string_value(json_object_get(json_object_get(facts, "os"), "level"));
        break;
    case S_ROOTVG:
        return s_rootvg(facts);
    case S_ALT_VGS:
        return s_alt_vgs(facts);
    default:
        return NULL;
    }
    return s ? strdup(s) : NULL;
}

//  Check one call's events; expect[k]: that kind must be reported.
static void s_check_events(json_t *events, const bool expect[S_KINDS], bool none)
{
    if (!json_is_array(events))
        s_fail("events is not an array");
    if (none && json_array_size(events) > 0)
        s_fail("events on a first run or for an unchanged document");
    bool seen[S_KINDS] = {false};
    size_t i;
    json_t *event;
    json_array_foreach(events, i, event) {
        const char *kind = json_string_value(json_object_get(event, "kind"));
        if (!kind || !json_is_string(json_object_get(event, "message"))
            || !json_is_object(json_object_get(event, "attrs")))
            s_fail("malformed event");
        size_t k = 0;
        while (k < S_KINDS && strcmp(kind, s_kind_names[k]) != 0)
            k++;
        if (k == S_KINDS || seen[k])
            s_fail("unknown or repeated event kind");
        seen[k] = true;
    }
    for (size_t k = 0; k < S_KINDS; k++)
        if (expect[k] && !seen[k]) {
            fprintf(stderr, "fuzz_watch: no %s event\n", s_kind_names[k]);
            s_fail("a change was not reported");
        }
}

//  Feed one document twice; last[] mirrors the remembered values.
static void s_feed(watch_t *watch, const json_t *facts, bool first, char *last[S_KINDS])
{
    bool expect[S_KINDS] = {false};
    for (size_t k = 0; k < S_KINDS; k++) {
        char *now = s_value(facts, (s_kind_t) k);
        if (!now)
            continue;
        expect[k] = last[k] && strcmp(last[k], now) != 0;
        free(last[k]);
        last[k] = now;
    }
    json_t *events = watch_facts(watch, facts, "fuzz");
    s_check_events(events, expect, first);
    json_decref(events);
    bool nothing[S_KINDS] = {false};
    events = watch_facts(watch, facts, "fuzz");
    s_check_events(events, nothing, true);
    json_decref(events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t error;
    json_t *doc = json_loadb((const char *) data, size, JSON_DECODE_ANY, &error);
    if (!doc)
        return 0;
    unlink(s_state);
    watch_t *watch = watch_new(s_state);
    if (!watch)
        s_fail("watch_new failed");
    char *last[S_KINDS] = {NULL};
    const json_t *facts = doc;
    if (json_is_array(doc) && json_array_size(doc) > 0) {
        for (size_t i = 0; i < json_array_size(doc) && i < S_DOCS; i++) {
            facts = json_array_get(doc, i);
            s_feed(watch, facts, i == 0, last);
        }
    }
    else
        s_feed(watch, facts, true, last);

    //  A restart: the state file brings back what was remembered.
    watch_t *again = watch_new(s_state);
    if (!again)
        s_fail("watch_new failed on the saved state");
    const char *s1 = watch_last_serial(watch), *s2 = watch_last_serial(again);
    if ((s1 == NULL) != (s2 == NULL) || (s1 && strcmp(s1, s2) != 0))
        s_fail("the state file lost the serial");
    json_t *events = watch_facts(again, facts, "fuzz");
    bool nothing[S_KINDS] = {false};
    s_check_events(events, nothing, true);
    json_decref(events);
    watch_destroy(&again);
    watch_destroy(&watch);
    watch_destroy(&watch);      // safe twice
    for (size_t k = 0; k < S_KINDS; k++)
        free(last[k]);
    json_decref(doc);
    return 0;
}
