/*  aix_metrics — nmon-style figures from libperfstat. */
#include "aix_metrics.h"

#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_PAGE_KB 4.0                 // perfstat memory counts 4 KB pages
#define S_BLOCK_BYTES 512             // disk block size when bsize is 0
#define S_TICKS_PER_S 100.0           // AIX clock ticks (disk busy time)
#define S_WARN_PERIOD_MS 3600000      // repeat a perfstat failure warning hourly

struct _aix_metrics_t {
    aix_reading_t readings[2];    // the previous and the current reading, alternating
    int last;                     // index of the previous reading
    bool primed;                  // readings[last] holds a reading
    int64_t warned_ms;            // last perfstat failure warning (rate limit)
};

//  ---------------------------------------------------------------- compute

//  cur - prev into *delta; false when the counter went backwards.
static bool s_delta(u_longlong_t prev, u_longlong_t cur, double *delta)
{
    if (cur < prev)
        return false;
    *delta = (double) (cur - prev);
    return true;
}

static void s_compute_cpu(const aix_reading_t *prev, const aix_reading_t *cur, metrics_t *out)
{
    if (!prev->has_cpu || !cur->has_cpu)
        return;
    double user, sys, wait, idle;
    if (!s_delta(prev->cpu.user, cur->cpu.user, &user) || !s_delta(prev->cpu.sys, cur->cpu.sys, &sys)
        || !s_delta(prev->cpu.wait, cur->cpu.wait, &wait)
        || !s_delta(prev->cpu.idle, cur->cpu.idle, &idle))
        return;
    double total = user + sys + wait + idle;
    if (total <= 0)
        return;
    out->has_cpu = true;
    out->user_pct = user / total * 100.0;
    out->sys_pct = sys / total * 100.0;
    out->wait_pct = wait / total * 100.0;
    out->idle_pct = idle / total * 100.0;
}

static u_longlong_t s_purr(const perfstat_partition_total_t *p)
{
    return p->puser + p->psys + p->pidle + p->pwait;
}

//  Physical processors consumed: PURR ticks advance at the timebase rate
//  while this partition's virtual processors run.
static void s_compute_physc(const aix_reading_t *prev, const aix_reading_t *cur, metrics_t *out)
{
    if (!prev->has_partition || !cur->has_partition)
        return;
    double purr, timebase;
    int entitled = cur->partition.entitled_proc_capacity;
    if (!s_delta(s_purr(&prev->partition), s_purr(&cur->partition), &purr)
        || !s_delta(prev->partition.timebase_last, cur->partition.timebase_last, &timebase)
        || timebase <= 0 || entitled <= 0)
        return;
    out->has_physc = true;
    out->physc = purr / timebase;
    out->entc_pct = out->physc / ((double) entitled / 100.0) * 100.0;
}

static void s_compute_memory(const aix_reading_t *prev, const aix_reading_t *cur, double dt,
                             metrics_t *out)
{
    if (!cur->has_memory)
        return;
    const perfstat_memory_total_t *m = &cur->memory;
    out->has_memory = true;
    out->real_total_mb = (double) m->real_total * S_PAGE_KB / 1024.0;
    out->real_free_mb = (double) m->real_free * S_PAGE_KB / 1024.0;
    out->paging_total_mb = (double) m->pgsp_total * S_PAGE_KB / 1024.0;
    out->paging_free_mb = (double) m->pgsp_free * S_PAGE_KB / 1024.0;
    double pgins, pgouts;
    if (dt <= 0 || !prev->has_memory || !s_delta(prev->memory.pgins, m->pgins, &pgins)
        || !s_delta(prev->memory.pgouts, m->pgouts, &pgouts))
        return;
    out->has_paging_rates = true;
    out->pgins_per_s = pgins / dt;
    out->pgouts_per_s = pgouts / dt;
}

//  The entry called name in a perfstat array of count elements of elem bytes
//  (each starting with its name), trying index hint first: the order rarely
//  changes, so matching is linear overall.
static const void *s_find(const void *items, size_t count, size_t elem, const char *name,
                          size_t hint)
{
    const char *base = items;
    if (hint < count && strcmp(base + hint * elem, name) == 0)
        return base + hint * elem;
    for (size_t i = 0; i < count; i++)
        if (strcmp(base + i * elem, name) == 0)
            return base + i * elem;
    return NULL;
}

static void s_copy_name(char *dst, const char *src)
{
    size_t len = strnlen(src, IDENTIFIER_LENGTH);
    len = len < METRICS_NAME_MAX - 1 ? len : METRICS_NAME_MAX - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

//  One disk's rates; false when a counter went backwards.
static bool s_disk_rates(const perfstat_disk_t *p, const perfstat_disk_t *c, double dt,
                         metrics_disk_t *disk)
{
    double rblks, wblks, xfers, busy_ticks;
    if (!s_delta(p->rblks, c->rblks, &rblks) || !s_delta(p->wblks, c->wblks, &wblks)
        || !s_delta(p->xfers, c->xfers, &xfers) || !s_delta(p->time, c->time, &busy_ticks))
        return false;
    double block = c->bsize ? (double) c->bsize : S_BLOCK_BYTES;
    memset(disk, 0, sizeof *disk);
    s_copy_name(disk->name, c->name);
    disk->read_kbps = rblks * block / 1024.0 / dt;
    disk->write_kbps = wblks * block / 1024.0 / dt;
    disk->xfers_per_s = xfers / dt;
    disk->busy_pct = busy_ticks / (dt * S_TICKS_PER_S) * 100.0;
    //  Tick granularity can push a saturated disk just past 100.
    if (disk->busy_pct > 100.0)
        disk->busy_pct = 100.0;
    return true;
}

static int s_compute_disks(const aix_reading_t *prev, const aix_reading_t *cur, double dt,
                           metrics_t *out)
{
    for (size_t i = 0; i < cur->disk_count; i++) {
        const perfstat_disk_t *c = &cur->disks[i];
        const perfstat_disk_t *p
            = s_find(prev->disks, prev->disk_count, sizeof *prev->disks, c->name, i);
        metrics_disk_t disk;
        //  A disk that just appeared has no rate yet.
        if (!p || !s_disk_rates(p, c, dt, &disk))
            continue;
        if (metrics_add_disk(out, &disk) != 0)
            return -1;
    }
    return 0;
}

static bool s_net_rates(const perfstat_netinterface_t *p, const perfstat_netinterface_t *c,
                        double dt, metrics_net_t *net)
{
    double ibytes, obytes, ipackets, opackets, ierrors, oerrors;
    if (!s_delta(p->ibytes, c->ibytes, &ibytes) || !s_delta(p->obytes, c->obytes, &obytes)
        || !s_delta(p->ipackets, c->ipackets, &ipackets)
        || !s_delta(p->opackets, c->opackets, &opackets)
        || !s_delta(p->ierrors, c->ierrors, &ierrors) || !s_delta(p->oerrors, c->oerrors, &oerrors))
        return false;
    memset(net, 0, sizeof *net);
    s_copy_name(net->name, c->name);
    net->read_kbps = ibytes / 1024.0 / dt;
    net->write_kbps = obytes / 1024.0 / dt;
    net->ipackets_per_s = ipackets / dt;
    net->opackets_per_s = opackets / dt;
    net->ierrors = (uint64_t) ierrors;
    net->oerrors = (uint64_t) oerrors;
    return true;
}

static int s_compute_nets(const aix_reading_t *prev, const aix_reading_t *cur, double dt,
                          metrics_t *out)
{
    for (size_t i = 0; i < cur->net_count; i++) {
        const perfstat_netinterface_t *c = &cur->nets[i];
        const perfstat_netinterface_t *p
            = s_find(prev->nets, prev->net_count, sizeof *prev->nets, c->name, i);
        metrics_net_t net;
        if (!p || !s_net_rates(p, c, dt, &net))
            continue;
        if (metrics_add_net(out, &net) != 0)
            return -1;
    }
    return 0;
}

static void s_compute_load(const aix_reading_t *cur, metrics_t *out)
{
    if (!cur->has_cpu)
        return;
    double scale = (double) (1u << SBITS);
    out->has_load = true;
    out->avg1 = (double) cur->cpu.loadavg[0] / scale;
    out->avg5 = (double) cur->cpu.loadavg[1] / scale;
    out->avg15 = (double) cur->cpu.loadavg[2] / scale;
}

int aix_metrics_compute(const aix_reading_t *prev, const aix_reading_t *cur, metrics_t *out)
{
    metrics_clear(out);
    double dt = prev == cur ? 0 : cur->time_s - prev->time_s;
    out->interval_s = dt > 0 ? dt : 0;
    if (dt > 0) {
        s_compute_cpu(prev, cur, out);
        s_compute_physc(prev, cur, out);
        if (s_compute_disks(prev, cur, dt, out) != 0 || s_compute_nets(prev, cur, dt, out) != 0)
            goto fail;
    }
    s_compute_memory(prev, cur, dt, out);
    s_compute_load(cur, out);
    return 0;
fail:
    metrics_clear(out);
    return -1;
}

void aix_reading_clear(aix_reading_t *reading)
{
    free(reading->disks);
    free(reading->nets);
    memset(reading, 0, sizeof *reading);
}

//  ---------------------------------------------------------------- read

static void s_warn(aix_metrics_t *self, const char *what)
{
    int saved = errno;
    if (log_ratelimit(&self->warned_ms, clock_mono_ms(), S_WARN_PERIOD_MS))
        log_warn("aix metrics: %s failed: %s (figures left out)", what, strerror(saved));
}

//  Make room for count elements of elem bytes in *items (capacity *cap).
static int s_reserve(void **items, size_t *cap, size_t count, size_t elem)
{
    if (count <= *cap)
        return 0;
    void *grown = realloc(*items, count * elem);
    if (!grown)
        return -1;
    *items = grown;
    *cap = count;
    return 0;
}

//  How many disks exist, then read them all. 0 (count may be 0 after a
//  perfstat failure), -1 on allocation failure.
static int s_read_disks(aix_metrics_t *self, aix_reading_t *r)
{
    r->disk_count = 0;
    int count = perfstat_disk(NULL, NULL, sizeof(perfstat_disk_t), 0);
    if (count < 0)
        s_warn(self, "perfstat_disk");
    if (count <= 0)
        return 0;
    if (s_reserve((void **) &r->disks, &r->disk_cap, (size_t) count, sizeof *r->disks) != 0)
        return -1;
    perfstat_id_t first;
    strcpy(first.name, FIRST_DISK);
    //  Disks can go between the two calls: use what the second one returns.
    int got = perfstat_disk(&first, r->disks, sizeof(perfstat_disk_t), count);
    if (got < 0)
        s_warn(self, "perfstat_disk");
    r->disk_count = got > 0 ? (size_t) got : 0;
    return 0;
}

static int s_read_nets(aix_metrics_t *self, aix_reading_t *r)
{
    r->net_count = 0;
    int count = perfstat_netinterface(NULL, NULL, sizeof(perfstat_netinterface_t), 0);
    if (count < 0)
        s_warn(self, "perfstat_netinterface");
    if (count <= 0)
        return 0;
    if (s_reserve((void **) &r->nets, &r->net_cap, (size_t) count, sizeof *r->nets) != 0)
        return -1;
    perfstat_id_t first;
    strcpy(first.name, FIRST_NETINTERFACE);
    int got = perfstat_netinterface(&first, r->nets, sizeof(perfstat_netinterface_t), count);
    if (got < 0)
        s_warn(self, "perfstat_netinterface");
    r->net_count = got > 0 ? (size_t) got : 0;
    return 0;
}

int aix_metrics_read(aix_metrics_t *self, aix_reading_t *r)
{
    r->time_s = (double) clock_mono_us() / 1e6;
    r->has_cpu = perfstat_cpu_total(NULL, &r->cpu, sizeof r->cpu, 1) == 1;
    if (!r->has_cpu)
        s_warn(self, "perfstat_cpu_total");
    r->has_partition = perfstat_partition_total(NULL, &r->partition, sizeof r->partition, 1) == 1;
    if (!r->has_partition)
        s_warn(self, "perfstat_partition_total");
    r->has_memory = perfstat_memory_total(NULL, &r->memory, sizeof r->memory, 1) == 1;
    if (!r->has_memory)
        s_warn(self, "perfstat_memory_total");
    if (s_read_disks(self, r) != 0 || s_read_nets(self, r) != 0)
        return -1;
    return 0;
}

//  ---------------------------------------------------------------- sampler

aix_metrics_t *aix_metrics_new(void)
{
    return calloc(1, sizeof(aix_metrics_t));
}

void aix_metrics_destroy(aix_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aix_metrics_t *self = *self_p;
    aix_reading_clear(&self->readings[0]);
    aix_reading_clear(&self->readings[1]);
    free(self);
    *self_p = NULL;
}

int aix_metrics_sample(aix_metrics_t *self, metrics_t *out)
{
    int next = self->primed ? 1 - self->last : self->last;
    aix_reading_t *cur = &self->readings[next];
    if (aix_metrics_read(self, cur) != 0) {
        metrics_clear(out);
        return -1;
    }
    const aix_reading_t *prev = self->primed ? &self->readings[self->last] : cur;
    self->last = next;
    self->primed = true;
    return aix_metrics_compute(prev, cur, out);
}

int aix_boot_time(int64_t *boot_s)
{
    perfstat_cpu_total_t cpu;
    if (perfstat_cpu_total(NULL, &cpu, sizeof cpu, 1) != 1)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    *boot_s = (int64_t) time(NULL) - (int64_t) (cpu.lbolt / (u_longlong_t) hz);
    return 0;
}
