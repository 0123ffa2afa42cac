/*  linux_metrics — nmon-style figures from /proc (stat, meminfo, loadavg).
    Parsers are pure (text in, struct out); the sampler reads files under a
    proc root so tests can point it at fixtures. */
#ifndef FERRY_LINUX_METRICS_H
#define FERRY_LINUX_METRICS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool has_cpu;                 // the cpu line was parsed
    uint64_t user, nice, sys, idle, iowait, irq, softirq, steal; // jiffies from /proc/stat
    bool has_memory;              // meminfo parsed
    uint64_t mem_total_kb, mem_available_kb, swap_total_kb, swap_free_kb;
    bool has_load;                // loadavg parsed
    double load1, load5, load15;  // load averages
    uint32_t processes;           // total threads from loadavg's "running/total"
} linux_sample_t;

//  Parse the text of /proc/stat, /proc/meminfo, /proc/loadavg into sample.
//  Each returns 0, or -1 when the expected fields are missing (has_* false).
int linux_parse_stat(const char *text, linux_sample_t *sample);
int linux_parse_meminfo(const char *text, linux_sample_t *sample);
int linux_parse_loadavg(const char *text, linux_sample_t *sample);

//  Read all three files under proc_root (borrowed). Missing files leave
//  has_* false. Always returns 0.
int linux_sample_read(const char *proc_root, linux_sample_t *sample);

//  Percentages of CPU time between two samples (0 when no ticks passed).
void linux_cpu_pct(const linux_sample_t *prev, const linux_sample_t *cur, double *user_pct,
                   double *sys_pct, double *wait_pct, double *idle_pct);

#endif
