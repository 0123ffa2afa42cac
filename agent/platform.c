/*  platform — one interface over the aix and linux readers. */
#include "platform.h"

#include "aix_facts.h"
#include "linux_facts.h"
#include "linux_metrics.h"
#ifdef _AIX
#include "aix_metrics.h"
#endif

#include <czmq.h>
#include <stdio.h>
#include <string.h>

struct _platform_metrics_t {
    linux_metrics_t *linux_sampler;   // linux, and aix without libperfstat
#ifdef _AIX
    aix_metrics_t *aix_sampler;       // aix with libperfstat
#endif
};

static bool s_is_aix(const platform_options_t *opts) { return strcmp(opts->platform, "aix") == 0; }

bool platform_known(const char *name)
{
    return name && (strcmp(name, "aix") == 0 || strcmp(name, "linux") == 0);
}

//  Read the first line of root/rel into buf. 0 / -1.
static int s_read_line(const char *root, const char *rel, char *buf, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *file = fopen(path, "re");
    if (!file)
        return -1;
    char *line = fgets(buf, (int) size, file);
    fclose(file);
    if (!line)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? 0 : -1;
}

//  AIX has no boot id among the commands the agent may run; without
//  libperfstat (the simulator) the partition's proc root provides one.
static void s_aix_boot(const platform_options_t *opts, json_t *facts)
{
#ifdef _AIX
    (void) opts;
    int64_t boot = 0;
    //  No boot id on AIX: the boot time stands in (compared with a tolerance).
    if (aix_boot_time(&boot) == 0)
        json_object_set_new(facts, "boot_time", json_integer(boot));
    else
        json_array_append_new(json_object_get(facts, "warnings"),
                              json_string("perfstat_cpu_total: no boot time"));
#else
    char boot_id[128];
    if (s_read_line(opts->proc_root, "sys/kernel/random/boot_id", boot_id, sizeof boot_id) == 0)
        json_object_set_new(facts, "boot_id", json_string(boot_id));
    else
        json_array_append_new(json_object_get(facts, "warnings"),
                              json_sprintf("%s/sys/kernel/random/boot_id: not readable",
                                           opts->proc_root));
#endif
}

json_t *platform_facts(const platform_options_t *opts)
{
    if (!s_is_aix(opts))
        return linux_facts_collect(opts->proc_root, opts->sys_root, opts->etc_root);
    json_t *facts = aix_facts_collect(opts->bin_dir, opts->etc_root, opts->timeout_ms);
    if (facts)
        s_aix_boot(opts, facts);
    return facts;
}

json_t *platform_facts_moved(const platform_options_t *opts)
{
    if (!s_is_aix(opts))
        return platform_facts(opts);
    return aix_facts_collect_moved(opts->bin_dir, opts->timeout_ms);
}

json_t *platform_facts_merge(const json_t *previous, const json_t *update)
{
    json_t *merged = previous ? json_deep_copy(previous) : json_object();
    if (!merged)
        return NULL;
    json_t *warnings = json_array();
    const json_t *lists[] = { json_object_get(previous, "warnings"), json_object_get(update, "warnings") };
    for (size_t l = 0; warnings && l < 2; l++) {
        size_t i, j;
        json_t *item, *seen;
        json_array_foreach(lists[l], i, item) {
            bool dup = false;
            json_array_foreach(warnings, j, seen)
                dup |= json_equal(seen, item);
            if (!dup)
                json_array_append(warnings, item);
        }
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) update, key, value)
        json_object_set(merged, key, value);
    if (warnings)
        json_object_set_new(merged, "warnings", warnings);
    return merged;
}

static int s_linux_serial(const platform_options_t *opts, char *serial, size_t size,
                          char *warning, size_t warnlen)
{
    char path[1024], text[8192];
    snprintf(path, sizeof path, "%s/powerpc/lparcfg", opts->proc_root);
    FILE *file = fopen(path, "re");
    size_t n = file ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file)
        fclose(file);
    text[n] = '\0';
    linux_lparcfg_t lpar;
    if (n == 0 || linux_parse_lparcfg(text, &lpar) != 0 || !lpar.has_serial_number) {
        snprintf(warning, warnlen, "%s: no serial_number", path);
        return -1;
    }
    if (linux_facts_serial(lpar.serial_number, serial, size) != 0) {
        snprintf(warning, warnlen, "%s: serial_number '%s' is not IBM,PPSSSSSSS", path,
                 lpar.serial_number);
        return -1;
    }
    return 0;
}

int platform_serial(const platform_options_t *opts, char *serial, size_t size, char *warning,
                    size_t warnlen)
{
    if (s_is_aix(opts))
        return aix_facts_serial(opts->bin_dir, opts->timeout_ms, serial, size, warning, warnlen);
    return s_linux_serial(opts, serial, size, warning, warnlen);
}

char *platform_facts_digest(const json_t *facts)
{
    json_t *copy = json_deep_copy(facts);
    if (!copy)
        return NULL;
    json_object_del(copy, "warnings");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (!text)
        return NULL;
    zdigest_t *digest = zdigest_new();
    zdigest_update(digest, (const byte *) text, strlen(text));
    char *hex = strdup(zdigest_string(digest));
    zdigest_destroy(&digest);
    free(text);
    return hex;
}

platform_metrics_t *platform_metrics_new(const platform_options_t *opts, char *err, size_t errlen)
{
    platform_metrics_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
#ifdef _AIX
    if (s_is_aix(opts)) {
        self->aix_sampler = aix_metrics_new();
        if (!self->aix_sampler) {
            snprintf(err, errlen, "libperfstat is not usable");
            platform_metrics_destroy(&self);
        }
        return self;
    }
#endif
    self->linux_sampler = linux_metrics_new(opts->proc_root);
    if (!self->linux_sampler) {
        snprintf(err, errlen, "cannot read metrics under %s", opts->proc_root);
        platform_metrics_destroy(&self);
    }
    return self;
}

void platform_metrics_destroy(platform_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    linux_metrics_destroy(&(*self_p)->linux_sampler);
#ifdef _AIX
    aix_metrics_destroy(&(*self_p)->aix_sampler);
#endif
    free(*self_p);
    *self_p = NULL;
}

int platform_metrics_sample(platform_metrics_t *self, metrics_t *out)
{
#ifdef _AIX
    if (self->aix_sampler)
        return aix_metrics_sample(self->aix_sampler, out);
#endif
    return linux_metrics_sample(self->linux_sampler, out);
}
