/*  metrics — one nmon-style sample, platform-neutral. Platforms fill it
    (linux_metrics from /proc, aix_metrics from libperfstat); the agent turns
    it into JSON (`ferry-agent metrics`) or a protobuf Metrics (the wire).
    Field names match proto/ferry.proto and the JSON contract. */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry.pb-c.h"

#define METRICS_NAME_MAX 64

typedef struct {
    char name[METRICS_NAME_MAX];  // hdisk0, sda, ...
    double read_kbps;
    double write_kbps;
    double xfers_per_s;
    double busy_pct;
} metrics_disk_t;

typedef struct {
    char name[METRICS_NAME_MAX];  // en0, eth0, ...
    double read_kbps;
    double write_kbps;
    double ipackets_per_s;
    double opackets_per_s;
    uint64_t ierrors;             // errors during the interval
    uint64_t oerrors;
} metrics_net_t;

typedef struct {
    double interval_s;            // seconds between the two readings
    bool has_cpu;                 // cpu figures are known
    double user_pct, sys_pct, wait_pct, idle_pct;
    bool has_physc;               // physc/entc_pct are known (Power only)
    double physc, entc_pct;
    bool has_memory;              // memory figures are known
    double real_total_mb, real_free_mb, paging_total_mb, paging_free_mb;
    bool has_paging_rates;        // pgins/pgouts are known
    double pgins_per_s, pgouts_per_s;
    metrics_disk_t *disks;        // owned, disk_count entries
    size_t disk_count;
    metrics_net_t *nets;          // owned, net_count entries
    size_t net_count;
    bool has_load;                // load averages are known
    double avg1, avg5, avg15;
    bool has_processes;           // processes is known
    uint32_t processes;           // number of processes (or threads where that is all we have)
} metrics_t;

//  Free the arrays of a sample and zero it; the struct itself is the caller's.
void metrics_clear(metrics_t *m);

//  Append a disk / net entry (copied). 0 / -1 on allocation failure.
int metrics_add_disk(metrics_t *m, const metrics_disk_t *disk);
int metrics_add_net(metrics_t *m, const metrics_net_t *net);

//  JSON object as printed by `ferry-agent metrics`; absent sections are left
//  out. New reference owned by the caller.
json_t *metrics_to_json(const metrics_t *m);

//  A view of a sample as protobuf structures, pointing into m (borrowed):
//  valid while both the view and m live. Release with metrics_proto_view_free.
typedef struct {
    Ferry__Metrics metrics;       // the message; sub-messages point into this view
    Ferry__CpuMetrics cpu;
    Ferry__MemoryMetrics memory;
    Ferry__LoadMetrics load;
    Ferry__DiskMetrics *disk_msgs;    // disk_count entries
    Ferry__DiskMetrics **disk_ptrs;
    Ferry__NetMetrics *net_msgs;      // net_count entries
    Ferry__NetMetrics **net_ptrs;
} metrics_proto_view_t;

int metrics_proto_view(const metrics_t *m, metrics_proto_view_t *view);
void metrics_proto_view_free(metrics_proto_view_t *view);

#endif
