/*  config — typed access to a ZPL config file (czmq zconfig), with defaults and
    range checks. Every key a daemon reads is listed in its example config. */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _config_t config_t;

//  Load a ZPL file. Returns NULL and sets a readable message in err (size errlen).
config_t *config_load(const char *path, char *err, size_t errlen);

//  Parse ZPL text (for tests). Same error contract as config_load.
config_t *config_parse(const char *text, char *err, size_t errlen);

//  Destroy and NULL the pointer; safe on NULL and twice.
void config_destroy(config_t **self_p);

//  String at a path such as "collector/bind"; default when absent. Borrowed from
//  the config (valid until destroy).
const char *config_str(config_t *self, const char *path, const char *dflt);

//  Integer in [min, max]; default when absent. Returns -1 and sets err when the
//  value is not an integer or out of range, else 0 with *out set.
int config_int(config_t *self, const char *path, int64_t dflt, int64_t min, int64_t max,
               int64_t *out, char *err, size_t errlen);

//  Size with optional suffix K, M, G (powers of 1024), same contract as config_int.
int config_size(config_t *self, const char *path, int64_t dflt, int64_t min, int64_t max,
                int64_t *out, char *err, size_t errlen);

//  Duration in ms: a number with suffix ms, s, m, h (plain number = ms).
int config_duration_ms(config_t *self, const char *path, int64_t dflt, int64_t min,
                       int64_t max, int64_t *out, char *err, size_t errlen);

//  Boolean: true/false/yes/no/on/off/1/0.
int config_bool(config_t *self, const char *path, bool dflt, bool *out, char *err,
                size_t errlen);

//  The index-th (0-based) top-level section called name, as a view whose
//  paths are relative to it ("url" instead of "hmc/url"): for sections that
//  repeat, like [hmc]. NULL when there are fewer. The view borrows from self
//  (destroy it with config_destroy before self).
config_t *config_section(config_t *self, const char *name, size_t index);

//  One top-level section a daemon reads: its name and every key it knows.
typedef struct {
    const char *name;               // e.g. "collector"; NULL ends a list of sections
    const char *const *keys;        // its keys, NULL-terminated (static)
} config_section_keys_t;

//  Refuse what the daemon would not read: a typo must never silently fall
//  back to a default. A top-level section not in sections (a list ended by
//  a NULL name) or a key not in its section's list, in any repeat of the
//  section, is an error. 0, or -1 with every unknown one named in err, with
//  the closest known name when there is one:
//  'collector/batch_wiat: unknown key (did you mean "batch_wait"?)'.
//  sections borrowed.
int config_check_keys(config_t *self, const config_section_keys_t sections[], char *err,
                      size_t errlen);

//  Parsers used by the typed getters, exposed for tests. Return 0 / -1.
int config_parse_size(const char *text, int64_t *out);
int config_parse_duration_ms(const char *text, int64_t *out);
int config_parse_bool(const char *text, bool *out);

#endif
