/*  linux_metrics — nmon-style figures from /proc. */
#include "linux_metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int linux_parse_stat(const char *text, linux_sample_t *s)
{
    s->has_cpu = false;
    if (strncmp(text, "cpu ", 4) != 0)
        return -1;
    uint64_t v[8] = { 0 };
    int n = sscanf(text + 4, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64 " %" SCNu64,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return -1;
    s->user = v[0], s->nice = v[1], s->sys = v[2], s->idle = v[3];
    s->iowait = v[4], s->irq = v[5], s->softirq = v[6], s->steal = v[7];
    s->has_cpu = true;
    return 0;
}

//  Value in kB of a "Label:   123 kB" line, or -1 when absent.
static int64_t s_meminfo_kb(const char *text, const char *label)
{
    size_t len = strlen(label);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, label, len) == 0 && line[len] == ':') {
            char *end;
            long long kb = strtoll(line + len + 1, &end, 10);
            return end == line + len + 1 || kb < 0 ? -1 : kb;
        }
    }
    return -1;
}

int linux_parse_meminfo(const char *text, linux_sample_t *s)
{
    int64_t total = s_meminfo_kb(text, "MemTotal");
    int64_t avail = s_meminfo_kb(text, "MemAvailable");
    if (avail < 0)
        avail = s_meminfo_kb(text, "MemFree");
    s->has_memory = total >= 0 && avail >= 0;
    if (!s->has_memory)
        return -1;
    int64_t swap_total = s_meminfo_kb(text, "SwapTotal");
    int64_t swap_free = s_meminfo_kb(text, "SwapFree");
    s->mem_total_kb = (uint64_t) total;
    s->mem_available_kb = (uint64_t) avail;
    s->swap_total_kb = swap_total > 0 ? (uint64_t) swap_total : 0;
    s->swap_free_kb = swap_free > 0 ? (uint64_t) swap_free : 0;
    return 0;
}

int linux_parse_loadavg(const char *text, linux_sample_t *s)
{
    unsigned running, total;
    s->has_load = sscanf(text, "%lf %lf %lf %u/%u", &s->load1, &s->load5, &s->load15, &running,
                         &total) == 5;
    if (!s->has_load)
        return -1;
    s->processes = total;
    return 0;
}

//  Read a small /proc file into buf (NUL-terminated). 0 / -1.
static int s_read_file(const char *root, const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *file = fopen(path, "re");
    if (!file)
        return -1;
    size_t n = fread(buf, 1, size - 1, file);
    fclose(file);
    buf[n] = '\0';
    return n ? 0 : -1;
}

int linux_sample_read(const char *proc_root, linux_sample_t *sample)
{
    char buf[8192];
    memset(sample, 0, sizeof *sample);
    if (s_read_file(proc_root, "stat", buf, sizeof buf) == 0)
        linux_parse_stat(buf, sample);
    if (s_read_file(proc_root, "meminfo", buf, sizeof buf) == 0)
        linux_parse_meminfo(buf, sample);
    if (s_read_file(proc_root, "loadavg", buf, sizeof buf) == 0)
        linux_parse_loadavg(buf, sample);
    return 0;
}

void linux_cpu_pct(const linux_sample_t *prev, const linux_sample_t *cur, double *user_pct,
                   double *sys_pct, double *wait_pct, double *idle_pct)
{
    *user_pct = *sys_pct = *wait_pct = *idle_pct = 0;
    if (!prev->has_cpu || !cur->has_cpu)
        return;
    double user = (double) (cur->user + cur->nice) - (double) (prev->user + prev->nice);
    double sys = (double) (cur->sys + cur->irq + cur->softirq + cur->steal)
                 - (double) (prev->sys + prev->irq + prev->softirq + prev->steal);
    double wait = (double) cur->iowait - (double) prev->iowait;
    double idle = (double) cur->idle - (double) prev->idle;
    double total = user + sys + wait + idle;
    if (total <= 0)
        return;
    *user_pct = 100.0 * user / total;
    *sys_pct = 100.0 * sys / total;
    *wait_pct = 100.0 * wait / total;
    *idle_pct = 100.0 * idle / total;
}
