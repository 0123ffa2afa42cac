/*  linux_metrics — nmon-style figures from /proc. */
#include "linux_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  ---------------------------------------------------------------- text helpers
//  Hand-written instead of sscanf/strtod: no locale (a decimal comma
//  locale would break strtod), no hidden allocation, and cheap.

static const char *s_skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

//  The start of the next line, or NULL after the last one.
static const char *s_next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

//  Unsigned decimal after optional blanks; advances *p past it. False when
//  there is no digit or the value overflows 64 bits.
static bool s_u64(const char **p, uint64_t *value)
{
    const char *s = s_skip_blanks(*p);
    if (!s_is_digit(*s))
        return false;
    uint64_t v = 0;
    for (; s_is_digit(*s); s++) {
        uint64_t digit = (uint64_t) (*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *value = v;
    *p = s;
    return true;
}

//  "123" or "123.45" after optional blanks (the kernel prints load and
//  uptime with a '.' whatever the locale). Advances *p.
static bool s_decimal(const char **p, double *value)
{
    uint64_t whole;
    if (!s_u64(p, &whole))
        return false;
    double v = (double) whole;
    if (**p == '.') {
        double scale = 0.1;
        for ((*p)++; s_is_digit(**p); (*p)++, scale /= 10)
            v += scale * (**p - '0');
    }
    *value = v;
    return true;
}

//  True when the line at p starts with key followed by one of the given
//  separator characters (e.g. ":" or " \t").
static bool s_key_is(const char *p, const char *key, size_t key_len, const char *seps)
{
    return strncmp(p, key, key_len) == 0 && p[key_len] != '\0' && strchr(seps, p[key_len]);
}

//  ---------------------------------------------------------------- /proc/stat

//  The "cpu  u n s i w irq softirq steal ..." line; at least four numbers.
static bool s_stat_cpu(const char *p, linux_stat_t *out)
{
    uint64_t v[8] = { 0 };
    int n = 0;
    while (n < 8 && s_u64(&p, &v[n]))
        n++;
    if (n < 4)
        return false;
    out->user = v[0], out->nice = v[1], out->sys = v[2], out->idle = v[3];
    out->iowait = v[4], out->irq = v[5], out->softirq = v[6], out->steal = v[7];
    return true;
}

int linux_parse_stat(const char *text, linux_stat_t *out)
{
    memset(out, 0, sizeof *out);
    for (const char *line = text; line && *line; line = s_next_line(line)) {
        if (!out->has_cpu && s_key_is(line, "cpu", 3, " \t"))
            out->has_cpu = s_stat_cpu(line + 3, out);
        else if (!out->has_btime && s_key_is(line, "btime", 5, " \t")) {
            const char *p = line + 5;
            out->has_btime = s_u64(&p, &out->btime);
        }
        if (out->has_cpu && out->has_btime)
            break;
    }
    return out->has_cpu ? 0 : -1;
}

//  ---------------------------------------------------------------- key tables
//  meminfo ("Key:   123 kB") and vmstat ("key 123") are lists of named
//  counters: one pass over the lines fills the keys we want, then stops.

typedef struct {
    const char *key;              // label at the start of the line
    uint64_t *value;              // where the number goes
    bool found;                   // seen in this pass
} s_counter_t;

//  Fill counters from "KEY<sep> N" lines; returns how many were found.
static size_t s_scan_counters(const char *text, const char *seps, s_counter_t *counters,
                              size_t count)
{
    size_t found = 0;
    for (const char *line = text; line && *line && found < count; line = s_next_line(line)) {
        for (size_t i = 0; i < count; i++) {
            s_counter_t *c = &counters[i];
            // first-character test: most lines of vmstat match no key
            if (c->found || *line != *c->key || !s_key_is(line, c->key, strlen(c->key), seps))
                continue;
            const char *p = line + strlen(c->key) + 1;
            if (s_u64(&p, c->value)) {
                c->found = true;
                found++;
            }
            break;
        }
    }
    return found;
}

int linux_parse_meminfo(const char *text, linux_meminfo_t *out)
{
    memset(out, 0, sizeof *out);
    s_counter_t c[] = {
        { "MemTotal", &out->mem_total_kb, false },
        { "MemFree", &out->mem_free_kb, false },
        { "MemAvailable", &out->mem_available_kb, false },
        { "SwapTotal", &out->swap_total_kb, false },
        { "SwapFree", &out->swap_free_kb, false },
    };
    s_scan_counters(text, ":", c, sizeof c / sizeof c[0]);
    out->has_memory = c[0].found && c[1].found;
    out->has_available = c[2].found;
    out->has_swap = c[3].found && c[4].found;
    return out->has_memory ? 0 : -1;
}

int linux_parse_vmstat(const char *text, linux_vmstat_t *out)
{
    memset(out, 0, sizeof *out);
    s_counter_t c[] = {
        { "pgpgin", &out->pgpgin_kb, false },
        { "pgpgout", &out->pgpgout_kb, false },
        { "pswpin", &out->pswpin, false },
        { "pswpout", &out->pswpout, false },
    };
    s_scan_counters(text, " \t", c, sizeof c / sizeof c[0]);
    out->has_pgpg = c[0].found && c[1].found;
    out->has_pswp = c[2].found && c[3].found;
    return out->has_pgpg ? 0 : -1;
}

//  ---------------------------------------------------------------- loadavg, uptime

int linux_parse_loadavg(const char *text, linux_loadavg_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    uint64_t running, threads;
    if (!s_decimal(&p, &out->avg1) || !s_decimal(&p, &out->avg5) || !s_decimal(&p, &out->avg15)
        || !s_u64(&p, &running) || *p++ != '/' || !s_u64(&p, &threads) || running > UINT32_MAX
        || threads > UINT32_MAX) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->running = (uint32_t) running;
    out->threads = (uint32_t) threads;
    out->has_load = true;
    return 0;
}

int linux_parse_uptime(const char *text, double *uptime_s)
{
    const char *p = text;
    return s_decimal(&p, uptime_s) ? 0 : -1;
}

//  ---------------------------------------------------------------- diskstats

//  Families whose disk names end in a letter, so that a partition is the
//  name plus a number (sda1); every other disk name ends in a digit and its
//  partitions add "p" + number (nvme0n1p1, mmcblk0p1, md0p1).
static const char *const s_letter_disks[] = { "sd", "hd", "vd", "xvd", "emcpower", "dasd" };

bool linux_is_whole_disk(const char *name)
{
    if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
        return false;
    size_t len = strlen(name);
    size_t digits = 0;
    while (digits < len && s_is_digit(name[len - 1 - digits]))
        digits++;
    if (digits == 0 || digits == len)
        return true;
    const char *before = name + len - digits - 1;  // the character before the number
    if (*before == 'p' && before > name && s_is_digit(before[-1]))
        return false;                               // nvme0n1p1
    for (size_t i = 0; i < sizeof s_letter_disks / sizeof s_letter_disks[0]; i++) {
        size_t prefix = strlen(s_letter_disks[i]);
        if (strncmp(name, s_letter_disks[i], prefix) != 0 || name + prefix > before)
            continue;
        const char *c = name + prefix;
        while (c <= before && *c >= 'a' && *c <= 'z')
            c++;
        if (c > before)
            return false;                           // sda1, xvdb2
    }
    return true;
}

//  Copy the whitespace-delimited token at *p into name; false when empty
//  or too long. Advances *p past it.
static bool s_token(const char **p, char *name, size_t size)
{
    const char *s = s_skip_blanks(*p);
    size_t len = strcspn(s, " \t\n");
    if (len == 0 || len >= size)
        return false;
    memcpy(name, s, len);
    name[len] = '\0';
    *p = s + len;
    return true;
}

//  One whole disk's diskstats line: "major minor name reads rmerged
//  rsectors rms writes wmerged wsectors wms inflight io_ticks ...". False
//  when malformed or not a whole disk (checked before the numbers: most
//  lines are partitions and loop devices).
static bool s_disk_line(const char *p, linux_disk_t *disk)
{
    uint64_t v[10];
    if (!s_u64(&p, &v[0]) || !s_u64(&p, &v[1]) || !s_token(&p, disk->name, sizeof disk->name)
        || !linux_is_whole_disk(disk->name))
        return false;
    for (int i = 0; i < 10; i++)
        if (!s_u64(&p, &v[i]))
            return false;
    disk->reads = v[0], disk->sectors_read = v[2];
    disk->writes = v[4], disk->sectors_written = v[6];
    disk->io_ticks_ms = v[9];
    return true;
}

size_t linux_parse_diskstats(const char *text, linux_disk_t *disks, size_t cap)
{
    size_t count = 0;
    for (const char *line = text; line && *line; line = s_next_line(line)) {
        linux_disk_t disk;
        if (!s_disk_line(line, &disk))
            continue;
        if (count < cap)
            disks[count] = disk;
        count++;
    }
    return count;
}

//  ---------------------------------------------------------------- net/dev

//  One "  eth0: rxbytes rxpackets rxerrs ... txbytes txpackets txerrs ..."
//  line. Interface names cannot contain ':' or blanks, so the first ':'
//  ends the name. False for headers, lo and malformed lines.
static bool s_net_line(const char *line, linux_net_t *net)
{
    const char *name = s_skip_blanks(line);
    size_t len = strcspn(name, ":|\n");
    if (name[len] != ':' || len == 0 || len >= sizeof net->name
        || strcspn(name, " \t") < len)
        return false;
    memcpy(net->name, name, len);
    net->name[len] = '\0';
    if (strcmp(net->name, "lo") == 0)
        return false;
    const char *p = name + len + 1;
    uint64_t v[11];
    for (int i = 0; i < 11; i++)
        if (!s_u64(&p, &v[i]))
            return false;
    net->rx_bytes = v[0], net->rx_packets = v[1], net->rx_errs = v[2];
    net->tx_bytes = v[8], net->tx_packets = v[9], net->tx_errs = v[10];
    return true;
}

size_t linux_parse_net_dev(const char *text, linux_net_t *nets, size_t cap)
{
    size_t count = 0;
    for (const char *line = text; line && *line; line = s_next_line(line)) {
        linux_net_t net;
        if (!s_net_line(line, &net))
            continue;
        if (count < cap)
            nets[count] = net;
        count++;
    }
    return count;
}

//  ---------------------------------------------------------------- lparcfg

//  Where one lparcfg key goes: a string or a number, with its has_ flag.
typedef struct {
    const char *key;              // text before '='
    bool is_string;               // copy the value instead of parsing a number
    size_t has_offset;            // offsetof the bool has_ flag
    size_t value_offset;          // offsetof the char[] or uint64_t value
} s_lpar_key_t;

#define S_LPAR_NUM(key, has, field) \
    { key, false, offsetof(linux_lparcfg_t, has), offsetof(linux_lparcfg_t, field) }
#define S_LPAR_STR(key, has, field) \
    { key, true, offsetof(linux_lparcfg_t, has), offsetof(linux_lparcfg_t, field) }

static const s_lpar_key_t s_lpar_keys[] = {
    S_LPAR_STR("serial_number", has_serial_number, serial_number),
    S_LPAR_STR("system_type", has_system_type, system_type),
    S_LPAR_STR("partition_name", has_partition_name, partition_name),
    S_LPAR_NUM("partition_id", has_partition_id, partition_id),
    S_LPAR_NUM("partition_entitled_capacity", has_entitled, entitled_hundredths),
    S_LPAR_NUM("pool", has_pool, pool),
    S_LPAR_NUM("capped", has_capped, capped),
    S_LPAR_NUM("shared_processor_mode", has_shared_mode, shared_mode),
    S_LPAR_NUM("partition_active_processors", has_active_procs, active_procs),
    S_LPAR_NUM("purr", has_purr, purr),
    S_LPAR_NUM("tbr", has_tbr, tbr),
};

//  A number, optionally followed by " bytes", then the end of the value.
static bool s_lpar_number(const char *value, size_t len, uint64_t *out)
{
    const char *p = value;
    if (!s_u64(&p, out))
        return false;
    if ((size_t) (p - value) + 6 <= len && strncmp(p, " bytes", 6) == 0)
        p += 6;
    return (size_t) (p - value) == len;
}

//  Store one key=value pair if the key is one we want. True when stored.
static bool s_lpar_pair(const char *key, size_t key_len, const char *value, size_t len,
                        linux_lparcfg_t *out)
{
    for (size_t i = 0; i < sizeof s_lpar_keys / sizeof s_lpar_keys[0]; i++) {
        const s_lpar_key_t *k = &s_lpar_keys[i];
        if (strlen(k->key) != key_len || memcmp(k->key, key, key_len) != 0)
            continue;
        bool *has = (bool *) ((char *) out + k->has_offset);
        if (k->is_string) {
            char *dest = (char *) out + k->value_offset;
            if (len >= LINUX_LPAR_STR_MAX)
                return false;       // too long to be real: leave it unknown
            memcpy(dest, value, len);
            dest[len] = '\0';
            *has = true;
        }
        else
            *has = s_lpar_number(value, len, (uint64_t *) ((char *) out + k->value_offset));
        return *has;
    }
    return false;
}

int linux_parse_lparcfg(const char *text, linux_lparcfg_t *out)
{
    memset(out, 0, sizeof *out);
    out->has_header = strncmp(text, "lparcfg ", 8) == 0;
    int stored = 0;
    for (const char *line = text; line && *line; line = s_next_line(line)) {
        size_t line_len = strcspn(line, "\n");
        while (line_len > 0 && (line[line_len - 1] == '\r' || line[line_len - 1] == ' '))
            line_len--;
        const char *eq = memchr(line, '=', line_len);
        if (!eq)
            continue;               // header, blank line
        size_t key_len = (size_t) (eq - line);
        if (s_lpar_pair(line, key_len, eq + 1, line_len - key_len - 1, out))
            stored++;
    }
    return stored ? 0 : -1;
}

//  ---------------------------------------------------------------- cpuinfo

int linux_parse_cpuinfo(const char *text, linux_cpuinfo_t *out)
{
    memset(out, 0, sizeof *out);
    for (const char *line = text; line && *line; line = s_next_line(line)) {
        bool processor = s_key_is(line, "processor", 9, " \t:");
        bool timebase = !processor && s_key_is(line, "timebase", 8, " \t:");
        if (!processor && !timebase)
            continue;
        const char *p = s_skip_blanks(line + (processor ? 9 : 8));
        if (*p++ != ':')
            continue;
        uint64_t value;
        if (!s_u64(&p, &value))
            continue;
        if (processor && out->processors < UINT32_MAX)
            out->processors++;
        else if (timebase && value > 0) {
            out->has_timebase = true;
            out->timebase_hz = value;
        }
    }
    return out->processors ? 0 : -1;
}

//  ---------------------------------------------------------------- compute

//  Counter difference; a counter that went backwards was reset (device
//  re-created, module reloaded): no rate rather than a huge one.
static uint64_t s_delta(uint64_t prev, uint64_t cur)
{
    return cur >= prev ? cur - prev : 0;
}

static void s_compute_cpu(const linux_stat_t *prev, const linux_stat_t *cur, metrics_t *out)
{
    if (!prev->has_cpu || !cur->has_cpu)
        return;
    double user = (double) (s_delta(prev->user, cur->user) + s_delta(prev->nice, cur->nice));
    double sys = (double) (s_delta(prev->sys, cur->sys) + s_delta(prev->irq, cur->irq)
                           + s_delta(prev->softirq, cur->softirq));
    double wait = (double) s_delta(prev->iowait, cur->iowait);
    double idle = (double) s_delta(prev->idle, cur->idle);
    double total = user + sys + wait + idle;
    if (total <= 0)
        return;                     // no tick passed: unknown, not 0 %
    out->has_cpu = true;
    out->user_pct = 100.0 * user / total;
    out->sys_pct = 100.0 * sys / total;
    out->wait_pct = 100.0 * wait / total;
    out->idle_pct = 100.0 * idle / total;
}

static void s_compute_physc(const linux_reading_t *prev, const linux_reading_t *cur,
                            double dt, metrics_t *out)
{
    const linux_lparcfg_t *p = &prev->lpar, *c = &cur->lpar;
    if (!prev->has_lparcfg || !cur->has_lparcfg || !p->has_purr || !c->has_purr
        || !c->has_entitled || c->entitled_hundredths == 0)
        return;
    double purr = (double) s_delta(p->purr, c->purr);
    double physc;
    if (p->has_tbr && c->has_tbr && c->tbr > p->tbr)
        physc = purr / (double) (c->tbr - p->tbr);
    else if (cur->timebase_hz && dt > 0)
        physc = purr / (double) cur->timebase_hz / dt;
    else
        return;
    out->has_physc = true;
    out->physc = physc;
    out->entc_pct = physc * 10000.0 / (double) c->entitled_hundredths;
}

static void s_compute_memory(const linux_reading_t *prev, const linux_reading_t *cur, double dt,
                             metrics_t *out)
{
    const linux_meminfo_t *m = &cur->mem;
    if (!m->has_memory)
        return;
    out->has_memory = true;
    out->real_total_mb = (double) m->mem_total_kb / 1024.0;
    out->real_free_mb = (double) m->mem_free_kb / 1024.0;
    out->paging_total_mb = m->has_swap ? (double) m->swap_total_kb / 1024.0 : 0;
    out->paging_free_mb = m->has_swap ? (double) m->swap_free_kb / 1024.0 : 0;
    if (dt <= 0 || !prev->vm.has_pgpg || !cur->vm.has_pgpg)
        return;
    out->has_paging_rates = true;
    // KB -> 4 KB pages, the unit of AIX's pgins/pgouts
    out->pgins_per_s = (double) s_delta(prev->vm.pgpgin_kb, cur->vm.pgpgin_kb) / 4.0 / dt;
    out->pgouts_per_s = (double) s_delta(prev->vm.pgpgout_kb, cur->vm.pgpgout_kb) / 4.0 / dt;
}

//  Index of name in an array of count entries of elem bytes whose first
//  member is the name; tries hint first since the order rarely changes.
static const void *s_find_named(const void *array, size_t count, size_t elem, size_t hint,
                                const char *name)
{
    const char *base = array;
    if (hint < count && strcmp(base + hint * elem, name) == 0)
        return base + hint * elem;
    for (size_t i = 0; i < count; i++)
        if (strcmp(base + i * elem, name) == 0)
            return base + i * elem;
    return NULL;
}

static int s_compute_disks(const linux_reading_t *prev, const linux_reading_t *cur, double dt,
                           metrics_t *out)
{
    for (size_t i = 0; i < cur->disk_count; i++) {
        const linux_disk_t *c = &cur->disks[i];
        const linux_disk_t *p = s_find_named(prev->disks, prev->disk_count, sizeof *p, i, c->name);
        if (!p)
            continue;               // appeared since the last reading: no rate yet
        metrics_disk_t d = { .name = "" };
        memcpy(d.name, c->name, sizeof d.name);
        d.read_kbps = (double) s_delta(p->sectors_read, c->sectors_read) / 2.0 / dt;
        d.write_kbps = (double) s_delta(p->sectors_written, c->sectors_written) / 2.0 / dt;
        d.xfers_per_s = (double) (s_delta(p->reads, c->reads) + s_delta(p->writes, c->writes)) / dt;
        d.busy_pct = (double) s_delta(p->io_ticks_ms, c->io_ticks_ms) / 10.0 / dt;
        if (d.busy_pct > 100.0)
            d.busy_pct = 100.0;     // io_ticks and our clock are read at slightly different times
        if (metrics_add_disk(out, &d))
            return -1;
    }
    return 0;
}

static int s_compute_nets(const linux_reading_t *prev, const linux_reading_t *cur, double dt,
                          metrics_t *out)
{
    for (size_t i = 0; i < cur->net_count; i++) {
        const linux_net_t *c = &cur->nets[i];
        const linux_net_t *p = s_find_named(prev->nets, prev->net_count, sizeof *p, i, c->name);
        if (!p)
            continue;
        metrics_net_t n = { .name = "" };
        memcpy(n.name, c->name, sizeof n.name);
        n.read_kbps = (double) s_delta(p->rx_bytes, c->rx_bytes) / 1024.0 / dt;
        n.write_kbps = (double) s_delta(p->tx_bytes, c->tx_bytes) / 1024.0 / dt;
        n.ipackets_per_s = (double) s_delta(p->rx_packets, c->rx_packets) / dt;
        n.opackets_per_s = (double) s_delta(p->tx_packets, c->tx_packets) / dt;
        n.ierrors = s_delta(p->rx_errs, c->rx_errs);
        n.oerrors = s_delta(p->tx_errs, c->tx_errs);
        if (metrics_add_net(out, &n))
            return -1;
    }
    return 0;
}

int linux_metrics_compute(const linux_reading_t *prev, const linux_reading_t *cur, metrics_t *out)
{
    metrics_clear(out);
    double dt = prev == cur ? 0 : cur->time_s - prev->time_s;
    if (dt < 0)
        dt = 0;
    out->interval_s = dt;
    if (dt > 0) {
        s_compute_cpu(&prev->stat, &cur->stat, out);
        s_compute_physc(prev, cur, dt, out);
        if (s_compute_disks(prev, cur, dt, out) || s_compute_nets(prev, cur, dt, out))
            goto fail;
    }
    s_compute_memory(prev, cur, dt, out);
    if (cur->load.has_load) {
        out->has_load = true;
        out->avg1 = cur->load.avg1, out->avg5 = cur->load.avg5, out->avg15 = cur->load.avg15;
        out->has_processes = true;
        out->processes = cur->load.threads;
    }
    return 0;
fail:
    metrics_clear(out);
    return -1;
}

void linux_reading_clear(linux_reading_t *reading)
{
    free(reading->disks);
    free(reading->nets);
    memset(reading, 0, sizeof *reading);
}

//  ---------------------------------------------------------------- sampler

typedef enum {
    S_STAT, S_MEMINFO, S_VMSTAT, S_LOADAVG, S_DISKSTATS, S_NETDEV, S_LPARCFG, S_FILES
} s_file_t;

//  Paths under proc_root; lparcfg has a second, older name.
static const char *const s_paths[S_FILES] = {
    "stat", "meminfo", "vmstat", "loadavg", "diskstats", "net/dev", "powerpc/lparcfg",
};

#define S_BUF_INITIAL (16 * 1024)
#define S_BUF_MAX (64 * 1024 * 1024)
//  Enough for the aggregate cpu line (ten 20-digit numbers): the per-CPU
//  and interrupt lines after it can be tens of KB on a large LPAR.
#define S_STAT_PREFIX 512

struct _linux_metrics_t {
    int fds[S_FILES];             // open /proc files, -1 = absent at start
    char *buf;                    // read buffer, grown to the largest file
    size_t buf_cap;               // its size
    uint64_t timebase_hz;         // from /proc/cpuinfo, 0 = unknown
    linux_reading_t readings[2];  // the last two readings, used in turn
    int last;                     // index of the most recent reading
    bool primed;                  // readings[last] holds a reading
};

static double s_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  pread the file from offset 0 into buf[0..cap-1), NUL-terminated. Sets
//  *len; -1 on a read error.
static int s_pread_all(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t got = pread(fd, buf + n, cap - 1 - n, (off_t) n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        n += (size_t) got;
    }
    buf[n] = '\0';
    *len = n;
    return 0;
}

//  The text of the file behind fd in self->buf (valid until the next read),
//  or NULL. A file that fills the buffer may be longer: grow it and read
//  again. With prefix set only that many bytes are wanted.
static const char *s_read_fd(linux_metrics_t *self, int fd, size_t prefix)
{
    if (fd < 0)
        return NULL;
    for (;;) {
        size_t cap = prefix && prefix < self->buf_cap ? prefix : self->buf_cap;
        size_t len;
        if (s_pread_all(fd, self->buf, cap, &len))
            return NULL;
        if (prefix || len < cap - 1)
            return self->buf;
        if (self->buf_cap * 2 > S_BUF_MAX)
            return NULL;
        char *grown = realloc(self->buf, self->buf_cap * 2);
        if (!grown)
            return NULL;
        self->buf = grown;
        self->buf_cap *= 2;
    }
}

static const char *s_read(linux_metrics_t *self, s_file_t file, size_t prefix)
{
    return s_read_fd(self, self->fds[file], prefix);
}

//  Parse diskstats into the reading, growing its array when there are more
//  disks than room (rare: only when disks are added). 0 / -1.
static int s_read_disks(linux_reading_t *r, const char *text)
{
    r->disk_count = linux_parse_diskstats(text, r->disks, r->disk_cap);
    if (r->disk_count <= r->disk_cap)
        return 0;
    linux_disk_t *grown = realloc(r->disks, r->disk_count * sizeof *grown);
    if (!grown) {
        r->disk_count = 0;
        return -1;
    }
    r->disks = grown;
    r->disk_cap = r->disk_count;
    r->disk_count = linux_parse_diskstats(text, r->disks, r->disk_cap);
    return 0;
}

static int s_read_nets(linux_reading_t *r, const char *text)
{
    r->net_count = linux_parse_net_dev(text, r->nets, r->net_cap);
    if (r->net_count <= r->net_cap)
        return 0;
    linux_net_t *grown = realloc(r->nets, r->net_count * sizeof *grown);
    if (!grown) {
        r->net_count = 0;
        return -1;
    }
    r->nets = grown;
    r->net_cap = r->net_count;
    r->net_count = linux_parse_net_dev(text, r->nets, r->net_cap);
    return 0;
}

int linux_metrics_read(linux_metrics_t *self, linux_reading_t *r)
{
    r->time_s = s_mono_s();
    r->timebase_hz = self->timebase_hz;
    const char *text;
    if (!(text = s_read(self, S_STAT, S_STAT_PREFIX)) || linux_parse_stat(text, &r->stat))
        memset(&r->stat, 0, sizeof r->stat);
    if (!(text = s_read(self, S_MEMINFO, 0)) || linux_parse_meminfo(text, &r->mem))
        memset(&r->mem, 0, sizeof r->mem);
    if (!(text = s_read(self, S_VMSTAT, 0)) || linux_parse_vmstat(text, &r->vm))
        memset(&r->vm, 0, sizeof r->vm);
    if (!(text = s_read(self, S_LOADAVG, 0)) || linux_parse_loadavg(text, &r->load))
        memset(&r->load, 0, sizeof r->load);
    r->has_lparcfg = (text = s_read(self, S_LPARCFG, 0)) && linux_parse_lparcfg(text, &r->lpar) == 0;
    int rc = 0;
    r->disk_count = r->net_count = 0;
    r->has_disks = (text = s_read(self, S_DISKSTATS, 0)) != NULL;
    if (text && s_read_disks(r, text))
        rc = -1;
    r->has_nets = (text = s_read(self, S_NETDEV, 0)) != NULL;
    if (text && s_read_nets(r, text))
        rc = -1;
    return rc;
}

int linux_metrics_sample(linux_metrics_t *self, metrics_t *out)
{
    int next = self->primed ? 1 - self->last : self->last;
    linux_reading_t *cur = &self->readings[next];
    if (linux_metrics_read(self, cur)) {
        metrics_clear(out);
        return -1;
    }
    const linux_reading_t *prev = self->primed ? &self->readings[self->last] : cur;
    self->last = next;
    self->primed = true;
    return linux_metrics_compute(prev, cur, out);
}

//  The timebase is a constant of the machine: read cpuinfo once (it is
//  large and slow to generate on big systems), and only when lparcfg says
//  this is Power.
static void s_read_timebase(linux_metrics_t *self, int root_fd)
{
    int fd = openat(root_fd, "cpuinfo", O_RDONLY | O_CLOEXEC);
    const char *text = s_read_fd(self, fd, 0);
    linux_cpuinfo_t info;
    if (text && linux_parse_cpuinfo(text, &info) == 0 && info.has_timebase)
        self->timebase_hz = info.timebase_hz;
    if (fd >= 0)
        close(fd);
}

linux_metrics_t *linux_metrics_new(const char *proc_root)
{
    linux_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    for (int i = 0; i < S_FILES; i++)
        self->fds[i] = -1;
    self->buf_cap = S_BUF_INITIAL;
    self->buf = malloc(self->buf_cap);
    if (!self->buf)
        goto fail;
    int root_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return self;                // nothing to read: every figure unknown
    for (int i = 0; i < S_FILES; i++)
        self->fds[i] = openat(root_fd, s_paths[i], O_RDONLY | O_CLOEXEC);
    if (self->fds[S_LPARCFG] < 0)
        self->fds[S_LPARCFG] = openat(root_fd, "ppc64/lparcfg", O_RDONLY | O_CLOEXEC);
    if (self->fds[S_LPARCFG] >= 0)
        s_read_timebase(self, root_fd);
    close(root_fd);
    return self;
fail:
    linux_metrics_destroy(&self);
    return NULL;
}

void linux_metrics_destroy(linux_metrics_t **self_p)
{
    linux_metrics_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < S_FILES; i++)
        if (self->fds[i] >= 0)
            close(self->fds[i]);
    linux_reading_clear(&self->readings[0]);
    linux_reading_clear(&self->readings[1]);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- legacy
