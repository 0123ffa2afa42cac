/*  metrics — platform-neutral sample, to JSON and to protobuf. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void metrics_clear(metrics_t *m)
{
    free(m->disks);
    free(m->nets);
    memset(m, 0, sizeof *m);
}

//  Make room for entry number count + 1. Capacity is implied by count: it
//  doubles whenever count reaches a power of two (>= 4), so no field is needed.
static void *s_grow(void *array, size_t count, size_t elem)
{
    if (count >= 4 && (count & (count - 1)))
        return array;
    if (count > 0 && count < 4)
        return array;
    size_t capacity = count ? count * 2 : 4;
    return realloc(array, capacity * elem);
}

int metrics_add_disk(metrics_t *m, const metrics_disk_t *disk)
{
    metrics_disk_t *grown = s_grow(m->disks, m->disk_count, sizeof *grown);
    if (!grown)
        return -1;
    m->disks = grown;
    m->disks[m->disk_count++] = *disk;
    return 0;
}

int metrics_add_net(metrics_t *m, const metrics_net_t *net)
{
    metrics_net_t *grown = s_grow(m->nets, m->net_count, sizeof *grown);
    if (!grown)
        return -1;
    m->nets = grown;
    m->nets[m->net_count++] = *net;
    return 0;
}

//  Round to 2 decimals for humans; JSON keeps it a number.
static json_t *s_num(double value)
{
    return json_real(round(value * 100.0) / 100.0);
}

json_t *metrics_to_json(const metrics_t *m)
{
    json_t *root = json_object();
    json_object_set_new(root, "interval_s", s_num(m->interval_s));
    if (m->has_cpu) {
        json_t *cpu = json_pack("{s:o, s:o, s:o, s:o}", "user_pct", s_num(m->user_pct), "sys_pct",
                                s_num(m->sys_pct), "wait_pct", s_num(m->wait_pct), "idle_pct",
                                s_num(m->idle_pct));
        if (m->has_physc) {
            json_object_set_new(cpu, "physc", s_num(m->physc));
            json_object_set_new(cpu, "entc_pct", s_num(m->entc_pct));
        }
        json_object_set_new(root, "cpu", cpu);
    }
    if (m->has_memory) {
        json_t *mem = json_pack("{s:o, s:o, s:o, s:o}", "real_total_mb", s_num(m->real_total_mb),
                                "real_free_mb", s_num(m->real_free_mb), "paging_total_mb",
                                s_num(m->paging_total_mb), "paging_free_mb",
                                s_num(m->paging_free_mb));
        if (m->has_paging_rates) {
            json_object_set_new(mem, "pgins_per_s", s_num(m->pgins_per_s));
            json_object_set_new(mem, "pgouts_per_s", s_num(m->pgouts_per_s));
        }
        json_object_set_new(root, "memory", mem);
    }
    json_t *disks = json_array();
    for (size_t i = 0; i < m->disk_count; i++) {
        const metrics_disk_t *d = &m->disks[i];
        json_array_append_new(disks, json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", d->name,
                                               "read_kbps", s_num(d->read_kbps), "write_kbps",
                                               s_num(d->write_kbps), "xfers_per_s",
                                               s_num(d->xfers_per_s), "busy_pct",
                                               s_num(d->busy_pct)));
    }
    json_object_set_new(root, "disks", disks);
    json_t *nets = json_array();
    for (size_t i = 0; i < m->net_count; i++) {
        const metrics_net_t *n = &m->nets[i];
        json_array_append_new(nets, json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:I}", "name",
                                              n->name, "read_kbps", s_num(n->read_kbps),
                                              "write_kbps", s_num(n->write_kbps),
                                              "ipackets_per_s", s_num(n->ipackets_per_s),
                                              "opackets_per_s", s_num(n->opackets_per_s),
                                              "ierrors", (json_int_t) n->ierrors, "oerrors",
                                              (json_int_t) n->oerrors));
    }
    json_object_set_new(root, "net", nets);
    if (m->has_load)
        json_object_set_new(root, "load", json_pack("{s:o, s:o, s:o}", "avg1", s_num(m->avg1),
                                                    "avg5", s_num(m->avg5), "avg15",
                                                    s_num(m->avg15)));
    if (m->has_processes)
        json_object_set_new(root, "processes", json_integer(m->processes));
    return root;
}

int metrics_proto_view(const metrics_t *m, metrics_proto_view_t *v)
{
    memset(v, 0, sizeof *v);
    ferry__metrics__init(&v->metrics);
    v->metrics.interval_s = m->interval_s;
    if (m->has_cpu) {
        ferry__cpu_metrics__init(&v->cpu);
        v->cpu.user_pct = m->user_pct, v->cpu.sys_pct = m->sys_pct;
        v->cpu.wait_pct = m->wait_pct, v->cpu.idle_pct = m->idle_pct;
        v->cpu.has_physc = m->has_physc;
        v->cpu.physc = m->physc, v->cpu.entc_pct = m->entc_pct;
        v->metrics.cpu = &v->cpu;
    }
    if (m->has_memory) {
        ferry__memory_metrics__init(&v->memory);
        v->memory.real_total_mb = m->real_total_mb, v->memory.real_free_mb = m->real_free_mb;
        v->memory.paging_total_mb = m->paging_total_mb;
        v->memory.paging_free_mb = m->paging_free_mb;
        v->memory.pgins_per_s = m->pgins_per_s, v->memory.pgouts_per_s = m->pgouts_per_s;
        v->metrics.memory = &v->memory;
    }
    if (m->has_load) {
        ferry__load_metrics__init(&v->load);
        v->load.avg1 = m->avg1, v->load.avg5 = m->avg5, v->load.avg15 = m->avg15;
        v->metrics.load = &v->load;
    }
    v->metrics.processes = m->has_processes ? m->processes : 0;
    if (m->disk_count) {
        v->disk_msgs = calloc(m->disk_count, sizeof *v->disk_msgs);
        v->disk_ptrs = calloc(m->disk_count, sizeof *v->disk_ptrs);
        if (!v->disk_msgs || !v->disk_ptrs)
            goto fail;
        for (size_t i = 0; i < m->disk_count; i++) {
            Ferry__DiskMetrics *d = &v->disk_msgs[i];
            ferry__disk_metrics__init(d);
            d->name = (char *) m->disks[i].name;
            d->read_kbps = m->disks[i].read_kbps, d->write_kbps = m->disks[i].write_kbps;
            d->xfers_per_s = m->disks[i].xfers_per_s, d->busy_pct = m->disks[i].busy_pct;
            v->disk_ptrs[i] = d;
        }
        v->metrics.disks = v->disk_ptrs;
        v->metrics.n_disks = m->disk_count;
    }
    if (m->net_count) {
        v->net_msgs = calloc(m->net_count, sizeof *v->net_msgs);
        v->net_ptrs = calloc(m->net_count, sizeof *v->net_ptrs);
        if (!v->net_msgs || !v->net_ptrs)
            goto fail;
        for (size_t i = 0; i < m->net_count; i++) {
            Ferry__NetMetrics *n = &v->net_msgs[i];
            ferry__net_metrics__init(n);
            n->name = (char *) m->nets[i].name;
            n->read_kbps = m->nets[i].read_kbps, n->write_kbps = m->nets[i].write_kbps;
            n->ipackets_per_s = m->nets[i].ipackets_per_s;
            n->opackets_per_s = m->nets[i].opackets_per_s;
            n->ierrors = m->nets[i].ierrors, n->oerrors = m->nets[i].oerrors;
            v->net_ptrs[i] = n;
        }
        v->metrics.net = v->net_ptrs;
        v->metrics.n_net = m->net_count;
    }
    return 0;
fail:
    metrics_proto_view_free(v);
    return -1;
}

void metrics_proto_view_free(metrics_proto_view_t *v)
{
    free(v->disk_msgs);
    free(v->disk_ptrs);
    free(v->net_msgs);
    free(v->net_ptrs);
    memset(v, 0, sizeof *v);
}
