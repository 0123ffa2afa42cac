/*  platform — the one interface the daemon and the CLI use to read a
    partition: full facts, the light identity probe, and metrics samples.

    aix:   AIX commands from bin_dir (real paths when NULL), etc/niminfo under
           etc_root; metrics from libperfstat on AIX. A build without
           libperfstat (Linux, for the simulator) reads boot id and metrics
           from proc_root instead, which a simulated partition provides.
    linux: /proc under proc_root, /sys under sys_root, /etc under etc_root. */
#ifndef FERRY_PLATFORM_H
#define FERRY_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

typedef struct {
    const char *platform;     // "aix" or "linux"
    const char *bin_dir;      // aix: directory of the AIX commands, NULL = real paths
    const char *etc_root;     // root under which etc/ is read, "/" in production
    const char *proc_root;    // "/proc" in production
    const char *sys_root;     // "/sys" in production
    int timeout_ms;           // limit per command
} platform_options_t;

//  True for a platform name this build supports.
bool platform_known(const char *name);

//  Full facts document (see `ferry-agent facts`). opts borrowed. New
//  reference owned by the caller; NULL only when out of memory.
json_t *platform_facts(const platform_options_t *opts);

//  After a move: the parts of the facts a move can change (on AIX a
//  subset of the commands; on Linux, where reading is cheap, everything),
//  to be merged into the previous facts with platform_facts_merge. New
//  reference owned by the caller; NULL only when out of memory.
json_t *platform_facts_moved(const platform_options_t *opts);

//  previous (borrowed) with every top-level key of update (borrowed) put in
//  its place; warnings of both are kept, each once. New reference.
json_t *platform_facts_merge(const json_t *previous, const json_t *update);

//  The light identity probe: the machine serial only, cheap enough to run
//  every few seconds. 0 with serial filled, or -1 with the reason in warning.
int platform_serial(const platform_options_t *opts, char *serial, size_t size, char *warning,
                    size_t warnlen);

//  Hex SHA-1 of the facts without their warnings (which come and go with
//  transient command failures), to detect changes. Caller frees.
char *platform_facts_digest(const json_t *facts);

typedef struct _platform_metrics_t platform_metrics_t;

//  A metrics sampler for the platform; opts borrowed for its life. NULL with a
//  message in err when the platform cannot sample here.
platform_metrics_t *platform_metrics_new(const platform_options_t *opts, char *err, size_t errlen);

//  Free; NULLs *self_p; safe on NULL and twice.
void platform_metrics_destroy(platform_metrics_t **self_p);

//  One sample against the previous call (the first call only primes: interval
//  0). out is cleared first and owned by the caller (metrics_clear). 0 / -1.
int platform_metrics_sample(platform_metrics_t *self, metrics_t *out);

#endif
