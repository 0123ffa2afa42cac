/*  linux_facts — the facts report on Linux. */
#include "linux_facts.h"

#include "linux_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Largest file we read: cpuinfo of a big LPAR is tens of KB.
#define S_FILE_MAX (4 * 1024 * 1024)

typedef struct {
    const char *proc_root;        // borrowed roots
    const char *sys_root;
    const char *etc_root;
    json_t *warnings;             // array, owned by the report
    char *stat;                   // /proc/stat text, owned, NULL = unreadable
    char *meminfo;                // /proc/meminfo text, owned
    char *cpuinfo;                // /proc/cpuinfo text, owned
    char *lparcfg;                // lparcfg text, owned, NULL = not Power (or unreadable)
} s_ctx_t;

//  ---------------------------------------------------------------- pure helpers

int linux_facts_serial(const char *systemid, char *serial, size_t size)
{
    if (strncmp(systemid, "IBM,", 4) != 0 || strlen(systemid) < 4 + 2 + 1)
        return -1;
    const char *rest = systemid + 4 + 2;   // the prefix (01, 02, 03) is not part of it
    size_t len = strlen(rest);
    if (len >= size)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!((rest[i] >= '0' && rest[i] <= '9') || (rest[i] >= 'A' && rest[i] <= 'Z')
              || (rest[i] >= 'a' && rest[i] <= 'z')))
            return -1;
    memcpy(serial, rest, len + 1);
    return 0;
}

//  Copy an os-release value (the text after '=' up to the end of the line)
//  into value, removing quotes and shell escapes. 0 / -1 when too long.
static int s_unquote(const char *p, size_t len, char *value, size_t size)
{
    char quote = len > 0 && (*p == '"' || *p == '\'') ? *p : 0;
    if (quote) {
        p++, len--;
        if (len > 0 && p[len - 1] == quote)
            len--;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (quote != '\'' && p[i] == '\\' && i + 1 < len && strchr("\"\\$`", p[i + 1]))
            i++;
        if (n + 1 >= size)
            return -1;
        value[n++] = p[i];
    }
    value[n] = '\0';
    return n ? 0 : -1;
}

int linux_facts_os_release(const char *text, const char *key, char *value, size_t size)
{
    size_t key_len = strlen(key);
    for (const char *line = text; line && *line;) {
        size_t len = strcspn(line, "\n");
        if (len > key_len && strncmp(line, key, key_len) == 0 && line[key_len] == '=')
            return s_unquote(line + key_len + 1, len - key_len - 1, value, size);
        line = line[len] ? line + len + 1 : NULL;
    }
    return -1;
}

//  ---------------------------------------------------------------- reading

static void s_warn(s_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_warn(s_ctx_t *ctx, const char *fmt, ...)
{
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    json_array_append_new(ctx->warnings, json_string(text));
}

//  The whole of root/rel, NUL-terminated, in a new buffer the caller frees;
//  NULL with errno set when unreadable (EFBIG when over S_FILE_MAX).
static char *s_slurp(const char *root, const char *rel)
{
    char path[4096];
    if ((size_t) snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 == cap) {
            char *grown = cap * 2 <= S_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                errno = cap * 2 <= S_FILE_MAX ? ENOMEM : EFBIG;
                goto fail;
            }
            buf = grown, cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto fail;
        if (got == 0)
            break;
        len += (size_t) got;
    }
    if (buf)
        buf[len] = '\0';
    close(fd);
    return buf;
fail: {
        int saved = errno;
        free(buf);
        close(fd);
        errno = saved;
        return NULL;
    }
}

//  s_slurp plus a warning naming the file when it cannot be read.
static char *s_slurp_warn(s_ctx_t *ctx, const char *root, const char *rel)
{
    char *text = s_slurp(root, rel);
    if (!text)
        s_warn(ctx, "%s/%s: %s", root, rel, strerror(errno));
    return text;
}

//  The first line of a small file, trimmed, into value. 0 / -1 (errno set;
//  ENODATA when empty or too long).
static int s_read_line(const char *root, const char *rel, char *value, size_t size)
{
    char *text = s_slurp(root, rel);
    if (!text)
        return -1;
    const char *start = text + strspn(text, " \t");
    size_t len = strcspn(start, "\r\n");
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    int rc = len > 0 && len < size ? 0 : -1;
    if (rc == 0) {
        memcpy(value, start, len);
        value[len] = '\0';
    }
    free(text);
    if (rc)
        errno = ENODATA;
    return rc;
}

//  Set key to a new string when value is non-empty.
static void s_set_str(json_t *object, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(object, key, json_string(value));
}

//  Add object under key to root when it has members, else drop it.
static void s_set_section(json_t *root, const char *key, json_t *object)
{
    if (json_object_size(object))
        json_object_set_new(root, key, object);
    else
        json_decref(object);
}

//  ---------------------------------------------------------------- sections

static void s_hostname(s_ctx_t *ctx, json_t *root)
{
    char name[256];
    if (s_read_line(ctx->proc_root, "sys/kernel/hostname", name, sizeof name) == 0) {
        s_set_str(root, "hostname", name);
        return;
    }
    if (gethostname(name, sizeof name) == 0) {
        name[sizeof name - 1] = '\0';     // POSIX leaves truncation unterminated
        s_set_str(root, "hostname", name);
        return;
    }
    s_warn(ctx, "hostname: %s", strerror(errno));
}

//  DMI vendors fill unset fields with placeholders: those are not serials.
static bool s_dmi_placeholder(const char *value)
{
    static const char *const placeholders[] = {
        "Not Specified", "Not Applicable", "To Be Filled By O.E.M.", "Default string",
        "System Serial Number", "None", "0", "0123456789", "Not Available",
    };
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (strcmp(value, placeholders[i]) == 0)
            return true;
    return false;
}

//  system{} of a Power partition from lparcfg.
static void s_system_power(s_ctx_t *ctx, const linux_lparcfg_t *lpar, json_t *system)
{
    if (!lpar->has_serial_number || !*lpar->serial_number) {
        s_warn(ctx, "lparcfg: %s serial_number (a KVM guest on Power has none): no hardware system"
               " id or serial, so a move of this partition cannot be verified by serial",
               lpar->has_serial_number ? "empty" : "no");
        return;
    }
    s_set_str(system, "systemid", lpar->serial_number);
    char serial[LINUX_LPAR_STR_MAX];
    if (linux_facts_serial(lpar->serial_number, serial, sizeof serial) == 0)
        s_set_str(system, "serial", serial);
    else
        s_warn(ctx, "lparcfg: serial_number \"%s\" is not IBM,PPSSSSSSS: serial unknown",
               lpar->serial_number);
}

//  system{} of another machine from DMI (root-only on many distributions).
static void s_system_dmi(s_ctx_t *ctx, json_t *system)
{
    char value[256];
    if (s_read_line(ctx->sys_root, "class/dmi/id/product_serial", value, sizeof value) == 0) {
        if (s_dmi_placeholder(value))
            s_warn(ctx, "%s/class/dmi/id/product_serial: placeholder \"%s\": serial unknown",
                   ctx->sys_root, value);
        else
            s_set_str(system, "serial", value);
    }
    else
        s_warn(ctx, "%s/class/dmi/id/product_serial: %s", ctx->sys_root, strerror(errno));
    if (s_read_line(ctx->sys_root, "class/dmi/id/product_name", value, sizeof value) == 0
        && !s_dmi_placeholder(value))
        s_set_str(system, "model", value);
}

static void s_system(s_ctx_t *ctx, const linux_lparcfg_t *lpar, json_t *root)
{
    json_t *system = json_object();
    if (lpar) {
        s_system_power(ctx, lpar, system);
        if (lpar->has_system_type)
            s_set_str(system, "model", lpar->system_type);
    }
    else
        s_system_dmi(ctx, system);
    //  No fallback to /etc/machine-id: it names the installation, not the
    //  hardware. It stays the same across a move, the very change a system
    //  id has to show, and changes with a reinstall on the same machine.
    s_set_section(root, "system", system);
}

static void s_partition(s_ctx_t *ctx, const linux_lparcfg_t *lpar, json_t *root)
{
    json_t *part = json_object();
    if (lpar) {
        s_set_str(part, "name", lpar->has_partition_name ? lpar->partition_name : NULL);
        if (lpar->has_partition_id && lpar->partition_id > 0)   // 0: no partition number (KVM)
            json_object_set_new(part, "number", json_integer((json_int_t) lpar->partition_id));
        if (lpar->has_shared_mode)
            s_set_str(part, "type", lpar->shared_mode ? "Shared" : "Dedicated");
        if (lpar->has_capped)
            s_set_str(part, "mode", lpar->capped ? "Capped" : "Uncapped");
        if (lpar->has_entitled)
            json_object_set_new(part, "entitled_capacity",
                                json_real((double) lpar->entitled_hundredths / 100.0));
        if (lpar->has_active_procs)
            json_object_set_new(part, "online_vcpus", json_integer((json_int_t) lpar->active_procs));
        if (lpar->has_pool)
            json_object_set_new(part, "shared_pool_id", json_integer((json_int_t) lpar->pool));
    }
    linux_cpuinfo_t cpu;
    if (!json_object_get(part, "online_vcpus") && ctx->cpuinfo
        && linux_parse_cpuinfo(ctx->cpuinfo, &cpu) == 0)
        json_object_set_new(part, "online_vcpus", json_integer(cpu.processors));
    linux_meminfo_t mem;
    if (ctx->meminfo && linux_parse_meminfo(ctx->meminfo, &mem) == 0)
        json_object_set_new(part, "online_memory_mb", json_integer((json_int_t) (mem.mem_total_kb / 1024)));
    else if (ctx->meminfo)
        s_warn(ctx, "%s/meminfo: no MemTotal", ctx->proc_root);
    s_set_section(root, "partition", part);
}

static void s_os(s_ctx_t *ctx, json_t *root)
{
    char *text = s_slurp(ctx->etc_root, "etc/os-release");
    if (!text)
        text = s_slurp(ctx->etc_root, "usr/lib/os-release");
    if (!text) {
        s_warn(ctx, "%s/etc/os-release: %s", ctx->etc_root, strerror(errno));
        return;
    }
    json_t *os = json_object();
    char value[256];
    if (linux_facts_os_release(text, "NAME", value, sizeof value) == 0)
        s_set_str(os, "name", value);
    if (linux_facts_os_release(text, "VERSION_ID", value, sizeof value) == 0) {
        s_set_str(os, "level", value);
        s_set_str(os, "version", value);
    }
    free(text);
    s_set_section(root, "os", os);
}

//  Block device names are kernel-made; still, only plain ones are reported.
static bool s_plain_name(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len < METRICS_NAME_MAX && name[0] != '.'
           && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-!") == len;
}

static int s_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

//  One {name, pvid, vg, active, size_mb} entry; Linux has no PVIDs or AIX
//  volume groups, so those are null.
static json_t *s_disk(s_ctx_t *ctx, const char *name)
{
    json_t *disk = json_pack("{s:s, s:n, s:n, s:b}", "name", name, "pvid", "vg", "active", 1);
    char rel[128], value[64];
    snprintf(rel, sizeof rel, "block/%s/size", name);
    char *end;
    if (disk && s_read_line(ctx->sys_root, rel, value, sizeof value) == 0) {
        errno = 0;
        unsigned long long sectors = strtoull(value, &end, 10);
        if (*end == '\0' && errno == 0)   // 512-byte sectors whatever the device's block size
            json_object_set_new(disk, "size_mb", json_integer((json_int_t) (sectors / 2048)));
    }
    return disk;
}

//  disks[] from sys_root/block, sorted by name so the report (and its
//  digest) does not change with directory order.
static void s_disks(s_ctx_t *ctx, json_t *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/block", ctx->sys_root);
    DIR *dir = opendir(path);
    if (!dir) {
        s_warn(ctx, "%s: %s", path, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (!s_plain_name(entry->d_name) || !linux_is_whole_disk(entry->d_name))
            continue;
        if (count == cap) {
            char **grown = realloc(names, (cap ? cap * 2 : 16) * sizeof *grown);
            if (!grown)
                break;
            names = grown, cap = cap ? cap * 2 : 16;
        }
        if (!(names[count] = strdup(entry->d_name)))
            break;
        count++;
    }
    closedir(dir);
    if (count)
        qsort(names, count, sizeof *names, s_compare_names);
    json_t *disks = json_array();
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(disks, s_disk(ctx, names[i]));
        free(names[i]);
    }
    free(names);
    json_object_set_new(root, "disks", disks);
}

static void s_boot(s_ctx_t *ctx, json_t *root)
{
    char id[64];
    if (s_read_line(ctx->proc_root, "sys/kernel/random/boot_id", id, sizeof id) == 0)
        s_set_str(root, "boot_id", id);
    else
        s_warn(ctx, "%s/sys/kernel/random/boot_id: %s", ctx->proc_root, strerror(errno));
    linux_stat_t stat = { .has_btime = false };
    if (ctx->stat)
        linux_parse_stat(ctx->stat, &stat);     // -1 only says the cpu line is missing
    if (stat.has_btime) {
        json_object_set_new(root, "boot_time", json_integer((json_int_t) stat.btime));
        return;
    }
    if (ctx->stat)
        s_warn(ctx, "%s/stat: no btime", ctx->proc_root);
}

//  ---------------------------------------------------------------- collect

//  Power: lparcfg (under either name). Its absence is only worth a warning
//  where cpuinfo shows a powerpc timebase (a Power machine without it).
static bool s_read_lparcfg(s_ctx_t *ctx, linux_lparcfg_t *lpar)
{
    ctx->lparcfg = s_slurp(ctx->proc_root, "powerpc/lparcfg");
    if (!ctx->lparcfg)
        ctx->lparcfg = s_slurp(ctx->proc_root, "ppc64/lparcfg");
    if (!ctx->lparcfg) {
        int err = errno;
        linux_cpuinfo_t cpu;
        if (ctx->cpuinfo && linux_parse_cpuinfo(ctx->cpuinfo, &cpu) == 0 && cpu.has_timebase)
            s_warn(ctx, "%s/powerpc/lparcfg: %s", ctx->proc_root, strerror(err));
        return false;
    }
    if (linux_parse_lparcfg(ctx->lparcfg, lpar) == 0)
        return true;
    s_warn(ctx, "%s/powerpc/lparcfg: no known key=value line", ctx->proc_root);
    return false;
}

json_t *linux_facts_collect(const char *proc_root, const char *sys_root, const char *etc_root)
{
    s_ctx_t ctx = { .proc_root = proc_root, .sys_root = sys_root, .etc_root = etc_root };
    linux_lparcfg_t *lpar = malloc(sizeof *lpar);   // 800 bytes: not on the stack of a daemon thread
    json_t *root = json_pack("{s:s}", "platform", "linux");
    ctx.warnings = json_array();
    if (!lpar || !root || !ctx.warnings)
        goto fail;
    s_hostname(&ctx, root);
    json_object_set(root, "warnings", ctx.warnings);
    ctx.stat = s_slurp_warn(&ctx, proc_root, "stat");
    ctx.meminfo = s_slurp_warn(&ctx, proc_root, "meminfo");
    ctx.cpuinfo = s_slurp_warn(&ctx, proc_root, "cpuinfo");
    bool power = s_read_lparcfg(&ctx, lpar);
    s_system(&ctx, power ? lpar : NULL, root);
    s_partition(&ctx, power ? lpar : NULL, root);
    s_os(&ctx, root);
    s_disks(&ctx, root);
    s_boot(&ctx, root);
    goto done;
fail:
    json_decref(root);
    root = NULL;
done:
    json_decref(ctx.warnings);
    free(ctx.stat);
    free(ctx.meminfo);
    free(ctx.cpuinfo);
    free(ctx.lparcfg);
    free(lpar);
    return root;
}
