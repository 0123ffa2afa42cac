/*  model — hmcsim's configuration, systems, partitions, sessions, runtime
    faults and the statistics tests read (/sim/stats). */
#include "hmcsim.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "simstate.h"

#define S_CONFIG_MAX (4 * 1024 * 1024)
#define S_PASSWORD_MAX 256
#define S_UNSET INT64_MIN

//  ---------------------------------------------------------------------------
//  Small helpers

void hs_units_str(int64_t hundredths, char *buf, size_t len)
{
    int64_t whole = hundredths / 100, frac = hundredths % 100;
    if (frac == 0)
        snprintf(buf, len, "%" PRId64, whole);
    else if (frac % 10 == 0)
        snprintf(buf, len, "%" PRId64 ".%" PRId64, whole, frac / 10);
    else
        snprintf(buf, len, "%" PRId64 ".%02" PRId64, whole, frac);
}

void hs_iso_time(int64_t wall_ms, char *buf, size_t len)
{
    time_t secs = (time_t) (wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", stamp, (int) (wall_ms % 1000));
}

//  splitmix64's finaliser: similar names give unrelated UUIDs.
static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void hs_uuid_from(const char *text, bool upper, char *buf, size_t len)
{
    char salted[HS_PATH_MAX];
    snprintf(salted, sizeof salted, "hmcsim/%s", text);
    uint64_t a = s_mix(sim_hash(salted));
    snprintf(salted, sizeof salted, "%s/hmcsim", text);
    uint64_t b = s_mix(sim_hash(salted));
    //  Version 4 / variant 1 bits so that strict parsers accept it.
    snprintf(buf, len, upper ? "%08X-%04X-4%03X-%04X-%012" PRIX64 : "%08x-%04x-4%03x-%04x-%012" PRIx64,
             (unsigned) (a >> 32), (unsigned) ((a >> 16) & 0xffff), (unsigned) (a & 0xfff),
             (unsigned) (0x8000 | ((b >> 48) & 0x3fff)), (uint64_t) (b & 0xffffffffffffULL));
}

static bool s_uuid_valid(const char *text)
{
    if (strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !strchr("0123456789abcdefABCDEF", text[i]))
            return false;
    }
    return true;
}

//  Printable one-line text (names, states, messages).
static bool s_text_valid(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

//  "0.5", "2", "1.25" -> hundredths. 0 / -1.
static int s_parse_units(const char *text, int64_t *out)
{
    int64_t whole = 0, frac = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 100000000)
            return -1;
    }
    if (*p == '.') {
        p++;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits >= 2)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (digits == 0)
            return -1;
        if (digits == 1)
            frac *= 10;
    }
    if (*p)
        return -1;
    *out = whole * 100 + frac;
    return 0;
}

static bool s_loopback(const char *addr)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, addr, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

char *hs_read_file(const char *path, size_t max, bool secret, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    FILE *file = NULL;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read %s: not a regular file", path);
        return NULL;
    }
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf(err, errlen, "%s holds a secret but is accessible by group or others (mode %04o):"
                 " chmod 600 it", path, (unsigned) (st.st_mode & 07777));
        return NULL;
    }
    if ((size_t) st.st_size > max) {
        snprintf(err, errlen, "%s is too large (%lld bytes)", path, (long long) st.st_size);
        return NULL;
    }
    file = fopen(path, "r");
    text = file ? malloc((size_t) st.st_size + 1) : NULL;
    if (!text)
        goto fail;
    size_t got = fread(text, 1, (size_t) st.st_size, file);
    if (ferror(file))
        goto fail;
    text[got] = '\0';
    fclose(file);
    while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r'))
        text[--got] = '\0';
    return text;
fail:
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    free(text);
    if (file)
        fclose(file);
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Configuration: tables of keys per section

typedef enum { K_STR, K_MSG, K_INT, K_DUR, K_BOOL, K_UNITS } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;              // in the target struct
    size_t size;                // K_STR: buffer size
    int64_t min, max;           // K_INT, K_DUR, K_UNITS
} s_key_t;

#define S_STR(st, key, field) { key, K_STR, offsetof(st, field), sizeof(((st *) 0)->field), 0, 0 }
#define S_MSG(st, key, field) { key, K_MSG, offsetof(st, field), 0, 0, 0 }
#define S_INT(st, key, field, lo, hi) { key, K_INT, offsetof(st, field), 0, lo, hi }
#define S_DUR(st, key, field, lo, hi) { key, K_DUR, offsetof(st, field), 0, lo, hi }
#define S_BOOL(st, key, field) { key, K_BOOL, offsetof(st, field), 0, 0, 0 }
#define S_UNITS(st, key, field) { key, K_UNITS, offsetof(st, field), 0, 0, 10000000 }

#define S_HOUR (3600 * 1000)

static const s_key_t s_settings_keys[] = {
    S_STR(hs_sim_t, "bind", bind),
    S_INT(hs_sim_t, "port", port, 0, 65535),
    S_STR(hs_sim_t, "port_file", port_file),
    S_STR(hs_sim_t, "cert_file", cert_file),
    S_STR(hs_sim_t, "key_file", key_file),
    S_STR(hs_sim_t, "stats_file", stats_file),
    S_STR(hs_sim_t, "user", user),
    S_DUR(hs_sim_t, "job_duration", job_duration_ms, 0, 24 * S_HOUR),
    S_DUR(hs_sim_t, "validate_duration", validate_ms, 0, S_HOUR),
    S_DUR(hs_sim_t, "recover_duration", recover_ms, 0, S_HOUR),
    S_DUR(hs_sim_t, "job_start_delay", start_delay_ms, 0, S_HOUR),
    S_DUR(hs_sim_t, "blackout", blackout_ms, 0, S_HOUR),
    S_DUR(hs_sim_t, "notify_timeout", notify_timeout_ms, 1, 60 * 1000),
    S_BOOL(hs_sim_t, "pad_token", pad_token),
};

static const s_key_t s_global_fault_keys[] = {
    S_INT(hs_sim_t, "session_max_requests", session_max_requests, 0, INT32_MAX),
    S_INT(hs_sim_t, "http_error_count", http_error_count, 0, INT32_MAX),
    S_INT(hs_sim_t, "http_error_status", http_error_status, 500, 599),
};

static const s_key_t s_fault_keys[] = {
    S_MSG(hs_fault_t, "validate_error", validate_error),
    S_MSG(hs_fault_t, "migrate_error", migrate_error),
    S_INT(hs_fault_t, "migrate_error_times", migrate_error_times, 0, INT32_MAX),
    S_BOOL(hs_fault_t, "hang", hang),
    S_BOOL(hs_fault_t, "agent_stays_stopped", agent_stays_stopped),
    S_DUR(hs_fault_t, "delay", delay_ms, 0, S_HOUR),
};

static const s_key_t s_system_keys[] = {
    S_STR(hs_system_t, "name", name),
    S_STR(hs_system_t, "uuid", uuid),
    S_STR(hs_system_t, "serial", serial),
    S_STR(hs_system_t, "prefix", prefix),
    S_STR(hs_system_t, "machine_type", machine_type),
    S_STR(hs_system_t, "model", model),
    S_STR(hs_system_t, "state", state),
    S_BOOL(hs_system_t, "lpm_capable", lpm_capable),
    S_INT(hs_system_t, "max_active_migrations", max_active, 0, 1000),
    S_INT(hs_system_t, "max_inactive_migrations", max_inactive, 0, 1000),
    S_INT(hs_system_t, "memory_mb", memory_mb, 0, INT64_C(1) << 40),
    S_INT(hs_system_t, "memory_available_mb", memory_avail_mb, 0, INT64_C(1) << 40),
    S_UNITS(hs_system_t, "proc_units", proc_units),
    S_UNITS(hs_system_t, "proc_units_available", proc_avail),
    S_INT(hs_system_t, "memory_region_mb", region_mb, 1, 4096),
    S_STR(hs_system_t, "proc_compat_modes", compat_modes),
};

static const s_key_t s_partition_keys[] = {
    S_STR(hs_partition_t, "name", name),
    S_INT(hs_partition_t, "id", id, 1, 65535),
    S_STR(hs_partition_t, "uuid", uuid),
    S_STR(hs_partition_t, "state", state),
    S_STR(hs_partition_t, "type", type),
    S_STR(hs_partition_t, "rmc_state", rmc),
    S_STR(hs_partition_t, "migration_state", migration),
    S_INT(hs_partition_t, "memory_mb", memory_mb, 0, INT64_C(1) << 40),
    S_UNITS(hs_partition_t, "proc_units", proc_units),
    S_INT(hs_partition_t, "virtual_processors", vcpus, 1, 4096),
    S_STR(hs_partition_t, "proc_compat", compat),
    S_BOOL(hs_partition_t, "has_physical_io", physical_io),
    S_BOOL(hs_partition_t, "management", management),
    S_STR(hs_partition_t, "simlpar", simlpar),
    S_STR(hs_partition_t, "agent_spool", spool),
    S_STR(hs_partition_t, "agent_pid_file", pid_file),
};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

//  Set one key of a table into base. 1 when the key is in the table and was
//  set, 0 when it is not in the table, -1 on a bad value.
static int s_set_key(const s_key_t *keys, size_t count, void *base, const char *where,
                     const char *name, const char *value, char *err, size_t errlen)
{
    const s_key_t *key = NULL;
    for (size_t i = 0; i < count && !key; i++)
        if (strcmp(keys[i].name, name) == 0)
            key = &keys[i];
    if (!key)
        return 0;
    char *field = (char *) base + key->offset;
    int64_t number = 0;
    bool flag = false;
    if (!s_text_valid(value)) {
        snprintf(err, errlen, "%s/%s: control characters in the value", where, name);
        return -1;
    }
    switch (key->kind) {
    case K_STR:
        if (strlen(value) >= key->size) {
            snprintf(err, errlen, "%s/%s: '%s' is longer than %zu characters", where, name, value,
                     key->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 1;
    case K_MSG: {
        char **slot = (char **) field;
        free(*slot);
        *slot = *value ? strdup(value) : NULL;
        if (*value && !*slot) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 1;
    }
    case K_BOOL:
        if (config_parse_bool(value, &flag) != 0) {
            snprintf(err, errlen, "%s/%s: '%s' is not a boolean (true/false)", where, name, value);
            return -1;
        }
        *(bool *) field = flag;
        return 1;
    case K_INT:
    case K_DUR:
    case K_UNITS: {
        int rc = key->kind == K_DUR ? config_parse_duration_ms(value, &number)
                 : key->kind == K_UNITS ? s_parse_units(value, &number)
                 : (config_parse_size(value, &number) == 0 && strpbrk(value, "KMGkmg") == NULL
                        ? 0 : -1);
        if (rc != 0 || number < key->min || number > key->max) {
            snprintf(err, errlen, "%s/%s: '%s' is not %s", where, name, value,
                     key->kind == K_DUR ? "a duration (e.g. 250ms, 2s) in range"
                     : key->kind == K_UNITS ? "a processor-unit amount like 0.5 or 2"
                     : "an integer in range");
            return -1;
        }
        *(int64_t *) field = number;
        return 1;
    }
    }
    return 0;
}

//  Every child of node must be a key of one of the tables, or a subsection
//  named sub_name handled by sub.
typedef struct {
    const s_key_t *keys;
    size_t count;
    void *base;
} s_table_t;

typedef int(s_sub_fn)(zconfig_t *node, void *arg, char *err, size_t errlen);

static int s_load_section(zconfig_t *node, const char *where, const s_table_t *tables,
                          size_t table_count, const char *sub_name, s_sub_fn *sub, void *arg,
                          char *err, size_t errlen)
{
    for (zconfig_t *child = zconfig_child(node); child; child = zconfig_next(child)) {
        const char *name = zconfig_name(child);
        if (sub && strcmp(name, sub_name) == 0) {
            if (sub(child, arg, err, errlen) != 0)
                return -1;
            continue;
        }
        if (zconfig_child(child)) {
            snprintf(err, errlen, "%s/%s: unexpected subsection", where, name);
            return -1;
        }
        int rc = 0;
        for (size_t t = 0; t < table_count && rc == 0; t++)
            rc = s_set_key(tables[t].keys, tables[t].count, tables[t].base, where, name,
                           zconfig_value(child), err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            snprintf(err, errlen, "%s: unknown key '%s' (tests/sim/hmcsim/README.md lists them)",
                     where, name);
            return -1;
        }
    }
    return 0;
}

static void s_fault_free(hs_fault_t *fault)
{
    free(fault->validate_error);
    free(fault->migrate_error);
    fault->validate_error = fault->migrate_error = NULL;
}

static void s_system_defaults(hs_system_t *sys, size_t index)
{
    memset(sys, 0, sizeof *sys);
    snprintf(sys->serial, sizeof sys->serial, "21C%04zuV", index + 1);
    strcpy(sys->prefix, "02");
    strcpy(sys->machine_type, "9009");
    strcpy(sys->model, "42A");
    strcpy(sys->state, "operating");
    sys->lpm_capable = true;
    sys->max_active = 8;
    sys->max_inactive = 8;
    sys->memory_mb = 1048576;
    sys->memory_avail_mb = S_UNSET;
    sys->proc_units = 3200;
    sys->proc_avail = S_UNSET;
    sys->region_mb = 256;
    strcpy(sys->compat_modes, "default,POWER7,POWER8,POWER9_Base,POWER9");
    sys->created_ms = clock_wall_ms();
}

static void s_part_defaults(hs_partition_t *part)
{
    memset(part, 0, sizeof *part);
    part->id = S_UNSET;
    strcpy(part->state, "running");
    strcpy(part->type, "AIX/Linux");
    strcpy(part->rmc, "active");
    strcpy(part->migration, "Not_Migrating");
    part->memory_mb = 8192;
    part->proc_units = 50;
    part->vcpus = S_UNSET;
    strcpy(part->compat, "default");
    part->created_ms = clock_wall_ms();
}

static int s_load_fault(zconfig_t *node, void *arg, char *err, size_t errlen)
{
    const s_table_t table = { s_fault_keys, S_COUNT(s_fault_keys), arg };
    return s_load_section(node, "partition/fault", &table, 1, NULL, NULL, NULL, err, errlen);
}

//  The "system" key of a partition section names its system.
static int s_load_partition(hs_sim_t *self, zconfig_t *node, hs_partition_t *part, size_t index,
                            char *err, size_t errlen)
{
    char where[64], system[HS_NAME_MAX] = "";
    snprintf(where, sizeof where, "partition #%zu", index + 1);
    s_part_defaults(part);
    s_key_t system_key[] = {{ "system", K_STR, 0, sizeof system, 0, 0 }};
    const s_table_t tables[] = {
        { s_partition_keys, S_COUNT(s_partition_keys), part },
        { system_key, 1, system },
    };
    if (s_load_section(node, where, tables, S_COUNT(tables), "fault", s_load_fault, &part->fault,
                       err, errlen) != 0)
        return -1;
    if (!*part->name) {
        snprintf(err, errlen, "%s: needs a name", where);
        return -1;
    }
    snprintf(where, sizeof where, "partition '%.40s'", part->name);
    hs_system_t *sys = *system ? hs_system_by_name(self, system)
                       : self->system_count == 1 ? &self->systems[0] : NULL;
    if (!sys) {
        snprintf(err, errlen, "%s: system '%s' is not defined (system = NAME of a system section)",
                 where, system);
        return -1;
    }
    part->system = (size_t) (sys - self->systems);
    if (!*part->uuid)
        hs_uuid_from(part->name, true, part->uuid, sizeof part->uuid);
    if (!s_uuid_valid(part->uuid)) {
        snprintf(err, errlen, "%s: uuid '%s' is not a UUID", where, part->uuid);
        return -1;
    }
    if (part->vcpus == S_UNSET)
        part->vcpus = part->proc_units <= 100 ? 1 : (part->proc_units + 99) / 100;
    return 0;
}

static int s_load_system(zconfig_t *node, hs_system_t *sys, size_t index, char *err, size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "system #%zu", index + 1);
    s_system_defaults(sys, index);
    const s_table_t table = { s_system_keys, S_COUNT(s_system_keys), sys };
    if (s_load_section(node, where, &table, 1, NULL, NULL, NULL, err, errlen) != 0)
        return -1;
    if (!*sys->name) {
        snprintf(err, errlen, "%s: needs a name", where);
        return -1;
    }
    if (!*sys->uuid)
        hs_uuid_from(sys->name, false, sys->uuid, sizeof sys->uuid);
    if (!s_uuid_valid(sys->uuid)) {
        snprintf(err, errlen, "system '%s': uuid '%s' is not a UUID", sys->name, sys->uuid);
        return -1;
    }
    if (!sim_serial_valid(sys->serial) || strlen(sys->prefix) != 2) {
        snprintf(err, errlen, "system '%s': serial must be 1-16 letters or digits and prefix 2"
                 " characters (systemid IBM,<prefix><serial>)", sys->name);
        return -1;
    }
    return 0;
}

//  Defaults that depend on other sections, and uniqueness.
static int s_finish(hs_sim_t *self, char *err, size_t errlen)
{
    if (self->system_count == 0) {
        snprintf(err, errlen, "no system section: define at least one managed system");
        return -1;
    }
    for (size_t i = 0; i < self->system_count; i++) {
        hs_system_t *sys = &self->systems[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->systems[j].name, sys->name) == 0 ||
                strcasecmp(self->systems[j].uuid, sys->uuid) == 0) {
                snprintf(err, errlen, "systems #%zu and #%zu have the same name or uuid", j + 1,
                         i + 1);
                return -1;
            }
        int64_t memory = 0, units = 0;
        for (size_t p = 0; p < self->part_count; p++)
            if (self->parts[p].system == i) {
                memory += self->parts[p].memory_mb;
                units += self->parts[p].proc_units;
            }
        if (sys->memory_avail_mb == S_UNSET)
            sys->memory_avail_mb = sys->memory_mb > memory ? sys->memory_mb - memory : 0;
        if (sys->proc_avail == S_UNSET)
            sys->proc_avail = sys->proc_units > units ? sys->proc_units - units : 0;
    }
    for (size_t i = 0; i < self->part_count; i++) {
        hs_partition_t *part = &self->parts[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->parts[j].name, part->name) == 0 ||
                strcasecmp(self->parts[j].uuid, part->uuid) == 0) {
                snprintf(err, errlen, "partitions '%s' and '%s' have the same name or uuid",
                         self->parts[j].name, part->name);
                return -1;
            }
        if (part->id == S_UNSET) {
            int64_t id = 1;
            for (size_t j = 0; j < self->part_count; j++)
                if (j != i && self->parts[j].system == part->system && self->parts[j].id >= id)
                    id = self->parts[j].id + 1;
            part->id = id;
        }
    }
    if (!*self->cert_file || !*self->key_file) {
        snprintf(err, errlen, "hmcsim/cert_file and hmcsim/key_file are required"
                 " (ferry-hmcsim gencert DIR writes a pair)");
        return -1;
    }
    if (!s_loopback(self->bind)) {
        snprintf(err, errlen, "hmcsim/bind: '%s' is not a loopback address (the simulator"
                 " listens on 127.0.0.1 or ::1 only)", self->bind);
        return -1;
    }
    if (!self->password) {
        snprintf(err, errlen, "hmcsim/password_file is required");
        return -1;
    }
    return 0;
}

static int s_load(hs_sim_t *self, zconfig_t *root, char *err, size_t errlen)
{
    size_t systems = 0, parts = 0;
    for (zconfig_t *node = zconfig_child(root); node; node = zconfig_next(node)) {
        systems += strcmp(zconfig_name(node), "system") == 0;
        parts += strcmp(zconfig_name(node), "partition") == 0;
    }
    self->systems = calloc(systems ? systems : 1, sizeof *self->systems);
    self->parts = calloc(parts ? parts : 1, sizeof *self->parts);
    if (!self->systems || !self->parts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    //  Settings and systems first: partitions refer to systems by name.
    for (zconfig_t *node = zconfig_child(root); node; node = zconfig_next(node)) {
        const char *name = zconfig_name(node);
        if (strcmp(name, "hmcsim") == 0) {
            char password_file[HS_PATH_MAX] = "";
            s_key_t pw_key[] = {{ "password_file", K_STR, 0, sizeof password_file, 0, 0 }};
            const s_table_t tables[] = {
                { s_settings_keys, S_COUNT(s_settings_keys), self },
                { pw_key, 1, password_file },
            };
            if (s_load_section(node, "hmcsim", tables, S_COUNT(tables), NULL, NULL, NULL, err,
                               errlen) != 0)
                return -1;
            if (*password_file) {
                free(self->password);
                self->password = hs_read_file(password_file, S_PASSWORD_MAX, true, err, errlen);
                if (!self->password)
                    return -1;
            }
        }
        else if (strcmp(name, "fault") == 0) {
            const s_table_t tables[] = {
                { s_fault_keys, S_COUNT(s_fault_keys), &self->fault },
                { s_global_fault_keys, S_COUNT(s_global_fault_keys), self },
            };
            if (s_load_section(node, "fault", tables, S_COUNT(tables), NULL, NULL, NULL, err,
                               errlen) != 0)
                return -1;
        }
        else if (strcmp(name, "system") == 0) {
            if (s_load_system(node, &self->systems[self->system_count], self->system_count, err,
                              errlen) != 0)
                return -1;
            self->system_count++;
        }
        else if (strcmp(name, "partition") != 0) {
            snprintf(err, errlen, "unknown section '%s' (hmcsim, fault, system, partition)", name);
            return -1;
        }
    }
    for (zconfig_t *node = zconfig_child(root); node; node = zconfig_next(node)) {
        if (strcmp(zconfig_name(node), "partition") != 0)
            continue;
        if (s_load_partition(self, node, &self->parts[self->part_count], self->part_count, err,
                             errlen) != 0) {
            s_fault_free(&self->parts[self->part_count].fault);
            return -1;
        }
        self->part_count++;
    }
    return s_finish(self, err, errlen);
}

hs_sim_t *hs_sim_new(const char *path, char *err, size_t errlen)
{
    hs_sim_t *self = calloc(1, sizeof *self);
    zconfig_t *root = NULL;
    char *text = NULL;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);

    snprintf(self->bind, sizeof self->bind, "127.0.0.1");
    snprintf(self->user, sizeof self->user, "hscroot");
    self->job_duration_ms = 2000;
    self->validate_ms = 100;
    self->recover_ms = 100;
    self->start_delay_ms = 20;
    self->blackout_ms = 200;
    self->notify_timeout_ms = 2000;
    self->http_error_status = 503;
    self->next_job_id = (uint64_t) clock_wall_ms();

    text = hs_read_file(path, S_CONFIG_MAX, false, err, errlen);
    if (!text)
        goto fail;
    root = zconfig_str_load(text);
    if (!root) {
        snprintf(err, errlen, "%s: not valid ZPL (indent by 4 spaces, write name = value, quote"
                 " values with spaces)", path);
        goto fail;
    }
    if (s_load(self, root, err, errlen) != 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", err);
        snprintf(err, errlen, "%s: %s", path, detail);
        goto fail;
    }
    if (self->blackout_ms > self->job_duration_ms)
        log_warn("blackout (%" PRId64 " ms) is longer than job_duration (%" PRId64 " ms):"
                 " moves take blackout + a few ms", self->blackout_ms, self->job_duration_ms);
    zconfig_destroy(&root);
    free(text);
    return self;
fail:
    zconfig_destroy(&root);
    free(text);
    hs_sim_destroy(&self);
    return NULL;
}

void hs_sim_stop(hs_sim_t *self, int64_t timeout_ms)
{
    if (!self)
        return;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->cond);
    while (self->threads > 0 && clock_mono_ms() < deadline)
        hs_wait_change(self, deadline);
    if (self->threads > 0)
        log_warn("%" PRId64 " job threads did not end in time", self->threads);
    //  Never leave an agent stopped behind.
    for (size_t i = 0; i < self->job_count; i++)
        if (self->jobs[i]->stopped_pid > 0) {
            kill(self->jobs[i]->stopped_pid, SIGCONT);
            self->jobs[i]->stopped_pid = 0;
        }
    pthread_mutex_unlock(&self->lock);
}

void hs_sim_destroy(hs_sim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hs_sim_t *self = *self_p;
    hs_sim_stop(self, 10000);
    //  Threads still alive (a hung notification) keep their job: leak
    //  rather than free memory they use.
    if (self->threads == 0) {
        for (size_t i = 0; i < self->job_count; i++) {
            hs_job_t *job = self->jobs[i];
            for (size_t p = 0; p < job->param_count; p++) {
                free(job->params[p].name);
                free(job->params[p].value);
            }
            free(job->params);
            free(job->result);
            free(job->exception);
            free(job);
        }
        free(self->jobs);
        for (size_t i = 0; i < self->part_count; i++)
            s_fault_free(&self->parts[i].fault);
        free(self->parts);
        free(self->systems);
        s_fault_free(&self->fault);
        free(self->sessions);
        if (self->password) {
            explicit_bzero(self->password, strlen(self->password));
            free(self->password);
        }
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        free(self);
    }
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------
//  Lookups

hs_system_t *hs_system_by_uuid(hs_sim_t *self, const char *uuid)
{
    for (size_t i = 0; i < self->system_count; i++)
        if (strcasecmp(self->systems[i].uuid, uuid) == 0)
            return &self->systems[i];
    return NULL;
}

hs_system_t *hs_system_by_name(hs_sim_t *self, const char *name)
{
    for (size_t i = 0; i < self->system_count; i++)
        if (strcmp(self->systems[i].name, name) == 0)
            return &self->systems[i];
    return NULL;
}

hs_partition_t *hs_part_by_uuid(hs_sim_t *self, const char *uuid)
{
    for (size_t i = 0; i < self->part_count; i++)
        if (strcasecmp(self->parts[i].uuid, uuid) == 0)
            return &self->parts[i];
    return NULL;
}

hs_partition_t *hs_part_by_name(hs_sim_t *self, const char *name)
{
    for (size_t i = 0; i < self->part_count; i++)
        if (strcmp(self->parts[i].name, name) == 0)
            return &self->parts[i];
    return NULL;
}

hs_job_t *hs_job_by_id(hs_sim_t *self, const char *id)
{
    for (size_t i = self->job_count; i > 0; i--)
        if (strcmp(self->jobs[i - 1]->id, id) == 0 && !self->jobs[i - 1]->deleted)
            return self->jobs[i - 1];
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Waiting

void hs_wait_change(hs_sim_t *self, int64_t deadline_ms)
{
    if (deadline_ms == INT64_MAX) {
        pthread_cond_wait(&self->cond, &self->lock);
        return;
    }
    struct timespec ts = {
        .tv_sec = (time_t) (deadline_ms / 1000),
        .tv_nsec = (long) (deadline_ms % 1000) * 1000000L,
    };
    pthread_cond_timedwait(&self->cond, &self->lock, &ts);
}

int hs_wait(hs_sim_t *self, int64_t deadline_ms, const bool *flag)
{
    for (;;) {
        if (self->stopping)
            return 2;
        if (flag && *flag)
            return 1;
        if (deadline_ms != INT64_MAX && clock_mono_ms() >= deadline_ms)
            return 0;
        hs_wait_change(self, deadline_ms);
    }
}

int64_t hs_delay_ms(hs_sim_t *self, const hs_partition_t *part)
{
    int64_t delay = self->fault.delay_ms;
    if (part && part->fault.delay_ms > delay)
        delay = part->fault.delay_ms;
    return delay;
}

//  ---------------------------------------------------------------------------
//  Sessions

int hs_session_new(hs_sim_t *self, char *token)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[HS_TOKEN_LEN];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0)
            got += (size_t) n;
    }
    for (size_t i = 0; i < HS_TOKEN_LEN; i++)
        token[i] = alphabet[raw[i] & 63];
    token[HS_TOKEN_LEN] = '\0';
    if (self->session_count == HS_SESSIONS_MAX) {
        memmove(self->sessions, self->sessions + 1, (HS_SESSIONS_MAX - 1) * sizeof *self->sessions);
        self->session_count--;
    }
    if (!self->sessions) {
        self->sessions = calloc(HS_SESSIONS_MAX, sizeof *self->sessions);
        if (!self->sessions)
            return -1;
    }
    hs_session_t *session = &self->sessions[self->session_count++];
    memcpy(session->token, token, HS_TOKEN_LEN + 1);
    session->requests = 0;
    self->logons++;
    return 0;
}

static hs_session_t *s_session_find(hs_sim_t *self, const char *token)
{
    if (!token)
        return NULL;
    for (size_t i = 0; i < self->session_count; i++)
        if (strcmp(self->sessions[i].token, token) == 0)
            return &self->sessions[i];
    return NULL;
}

int hs_session_drop(hs_sim_t *self, const char *token)
{
    hs_session_t *session = s_session_find(self, token);
    if (!session)
        return -1;
    size_t index = (size_t) (session - self->sessions);
    memmove(session, session + 1, (self->session_count - index - 1) * sizeof *session);
    self->session_count--;
    return 0;
}

int hs_session_use(hs_sim_t *self, const char *token)
{
    hs_session_t *session = s_session_find(self, token);
    if (!session)
        return -1;
    if (self->session_max_requests > 0 && session->requests >= self->session_max_requests) {
        hs_session_drop(self, token);
        self->sessions_expired++;
        return -1;
    }
    session->requests++;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Statistics

static int s_set(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *s_system_json(hs_system_t *sys)
{
    json_t *obj = json_object();
    char units[32];
    hs_units_str(sys->proc_avail, units, sizeof units);
    if (!obj || s_set(obj, "name", json_string(sys->name)) || s_set(obj, "uuid", json_string(sys->uuid)) ||
        s_set(obj, "serial", json_string(sys->serial)) ||
        s_set(obj, "state", json_string(sys->state)) ||
        s_set(obj, "max_active_migrations", json_integer(sys->max_active)) ||
        s_set(obj, "active_migrations", json_integer(sys->active)) ||
        s_set(obj, "max_concurrency_seen", json_integer(sys->max_seen)) ||
        s_set(obj, "refused_over_limit", json_integer(sys->refused)) ||
        s_set(obj, "memory_available_mb", json_integer(sys->memory_avail_mb)) ||
        s_set(obj, "proc_units_available", json_string(units))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *s_part_json(hs_sim_t *self, hs_partition_t *part)
{
    json_t *obj = json_object();
    if (!obj || s_set(obj, "name", json_string(part->name)) ||
        s_set(obj, "uuid", json_string(part->uuid)) ||
        s_set(obj, "system", json_string(self->systems[part->system].name)) ||
        s_set(obj, "system_uuid", json_string(self->systems[part->system].uuid)) ||
        s_set(obj, "state", json_string(part->state)) ||
        s_set(obj, "migration_state", json_string(part->migration)) ||
        s_set(obj, "migrate_submissions", json_integer(part->submissions[HS_OP_MIGRATE])) ||
        s_set(obj, "validate_submissions", json_integer(part->submissions[HS_OP_VALIDATE])) ||
        s_set(obj, "recover_submissions", json_integer(part->submissions[HS_OP_RECOVER])) ||
        s_set(obj, "abort_submissions", json_integer(part->submissions[HS_OP_ABORT]))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *s_move_json(hs_sim_t *self, hs_job_t *job)
{
    json_t *obj = json_object();
    hs_partition_t *part = &self->parts[job->part];
    const char *source = job->source >= 0 ? self->systems[job->source].name : "";
    if (!obj || s_set(obj, "job_id", json_string(job->id)) ||
        s_set(obj, "partition", json_string(part->name)) ||
        s_set(obj, "partition_uuid", json_string(part->uuid)) ||
        s_set(obj, "source", json_string(source)) ||
        s_set(obj, "target", json_string(job->target_name)) ||
        s_set(obj, "status", json_string(hs_status_name(job->status))) ||
        s_set(obj, "result", json_string(job->result ? job->result
                                         : job->exception ? job->exception : "")) ||
        s_set(obj, "submitted_ms", json_integer(job->submitted_ms)) ||
        s_set(obj, "started_ms", json_integer(job->started_ms)) ||
        s_set(obj, "blackout_start_ms", json_integer(job->blackout_start_ms)) ||
        s_set(obj, "blackout_end_ms", json_integer(job->blackout_end_ms)) ||
        s_set(obj, "resumed_ms", json_integer(job->resumed_ms)) ||
        s_set(obj, "completed_ms", json_integer(job->completed_ms)) ||
        s_set(obj, "polls", json_integer(job->polls)) ||
        s_set(obj, "final_polled_ms", json_integer(job->final_polled_ms)) ||
        s_set(obj, "placement_read_ms", json_integer(job->placement_read_ms))) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *hs_stats_json(hs_sim_t *self)
{
    json_t *root = json_object(), *systems = json_array(), *parts = json_array(),
           *moves = json_array();
    char *text = NULL;
    bool ok = root && systems && parts && moves;
    pthread_mutex_lock(&self->lock);
    int64_t refused = 0;
    for (size_t i = 0; ok && i < self->system_count; i++) {
        refused += self->systems[i].refused;
        ok = json_array_append_new(systems, s_system_json(&self->systems[i])) == 0;
    }
    for (size_t i = 0; ok && i < self->part_count; i++)
        ok = json_array_append_new(parts, s_part_json(self, &self->parts[i])) == 0;
    for (size_t i = 0; ok && i < self->job_count; i++)
        if (self->jobs[i]->op == HS_OP_MIGRATE)
            ok = json_array_append_new(moves, s_move_json(self, self->jobs[i])) == 0;
    ok = ok && s_set(root, "requests", json_integer(self->requests)) == 0 &&
         s_set(root, "logons", json_integer(self->logons)) == 0 &&
         s_set(root, "sessions_expired", json_integer(self->sessions_expired)) == 0 &&
         s_set(root, "errors_injected", json_integer(self->errors_injected)) == 0 &&
         s_set(root, "limit_violations", json_integer(refused)) == 0;
    pthread_mutex_unlock(&self->lock);
    if (ok && json_object_set(root, "systems", systems) == 0 &&
        json_object_set(root, "partitions", parts) == 0 &&
        json_object_set(root, "moves", moves) == 0)
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(systems);
    json_decref(parts);
    json_decref(moves);
    json_decref(root);
    return text;
}

int hs_stats_write(hs_sim_t *self, const char *path, char *err, size_t errlen)
{
    char *text = hs_stats_json(self);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t len = strlen(text);
    char *nl = realloc(text, len + 2);
    if (!nl) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    text = nl;
    memcpy(text + len, "\n", 2);
    int rc = sim_write_path(path, text, err, errlen);
    free(text);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Runtime faults (POST /sim/fault)

//  A string or integer or boolean JSON member as the text the config takes.
static int s_json_text(json_t *value, char *buf, size_t len)
{
    if (json_is_string(value))
        snprintf(buf, len, "%s", json_string_value(value));
    else if (json_is_integer(value))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    else if (json_is_boolean(value))
        snprintf(buf, len, "%s", json_is_true(value) ? "true" : "false");
    else
        return -1;
    return 0;
}

int hs_fault_apply(hs_sim_t *self, const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the body is not a JSON object: %s", jerr.text);
        json_decref(root);
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    hs_partition_t *part = NULL;
    json_t *name = json_object_get(root, "partition");
    if (name) {
        part = json_is_string(name) ? hs_part_by_name(self, json_string_value(name)) : NULL;
        if (!part) {
            snprintf(err, errlen, "no partition named %s", json_is_string(name)
                     ? json_string_value(name) : "(not a string)");
            rc = -1;
        }
    }
    //  Partition attributes a test may change at runtime.
    static const s_key_t live_keys[] = {
        S_STR(hs_partition_t, "state", state),
        S_STR(hs_partition_t, "rmc_state", rmc),
        S_STR(hs_partition_t, "migration_state", migration),
        S_BOOL(hs_partition_t, "has_physical_io", physical_io),
        S_STR(hs_partition_t, "agent_pid_file", pid_file),
    };
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (rc != 0 || strcmp(key, "partition") == 0)
            continue;
        char buf[1024];
        if (s_json_text(value, buf, sizeof buf) != 0) {
            snprintf(err, errlen, "%s: give a string, an integer or a boolean", key);
            rc = -1;
            break;
        }
        hs_fault_t *fault = part ? &part->fault : &self->fault;
        int set = s_set_key(s_fault_keys, S_COUNT(s_fault_keys), fault, "fault", key, buf, err,
                            errlen);
        if (set == 0 && part)
            set = s_set_key(live_keys, S_COUNT(live_keys), part, "partition", key, buf, err,
                            errlen);
        if (set == 0 && !part)
            set = s_set_key(s_global_fault_keys, S_COUNT(s_global_fault_keys), self, "fault",
                            key, buf, err, errlen);
        if (set == 0)
            snprintf(err, errlen, "unknown key '%s'%s", key,
                     part ? "" : " (partition attributes need \"partition\": NAME)");
        if (set <= 0)
            rc = -1;
        else if (strcmp(key, "migrate_error") == 0 || strcmp(key, "migrate_error_times") == 0)
            fault->migrate_failed = 0;
    }
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    json_decref(root);
    return rc;
}
