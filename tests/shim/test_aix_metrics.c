/*  test_aix_metrics — libperfstat counters to nmon-style figures, with the
    perfstat test double: known deltas give exact percentages, physc, entc,
    MB, KB/s and rates; unknown or backwards counters give no figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <time.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aix_metrics.h"
#include "perfstat_fake.h"

#define EPS 1e-9

//  Equal up to rounding of the last bits (600/2000*100 is not exactly 30).
#define assert_near(a, b) assert_true(fabs((double) (a) - (double) (b)) < EPS)

//  ---------------------------------------------------------------------------
//  Helpers

static int s_setup(void **state)
{
    (void) state;
    perfstat_fake_reset();
    return 0;
}

static perfstat_disk_t *s_disk(int i, const char *name)
{
    perfstat_disk_t *d = &perfstat_fake.disks[i];
    snprintf(d->name, sizeof d->name, "%s", name);
    if (perfstat_fake.disk_count <= i)
        perfstat_fake.disk_count = i + 1;
    return d;
}

static perfstat_netinterface_t *s_net(int i, const char *name)
{
    perfstat_netinterface_t *n = &perfstat_fake.nets[i];
    snprintf(n->name, sizeof n->name, "%s", name);
    if (perfstat_fake.net_count <= i)
        perfstat_fake.net_count = i + 1;
    return n;
}

//  The first reading's counters: everything the second one adds to.
static void s_baseline(void)
{
    perfstat_cpu_total_t *cpu = &perfstat_fake.cpu;
    cpu->user = 1000, cpu->sys = 500, cpu->idle = 8000, cpu->wait = 500;
    cpu->loadavg[0] = 3 << SBITS;                  // 3.0
    cpu->loadavg[1] = (1 << SBITS) + (1 << (SBITS - 1)); // 1.5
    cpu->loadavg[2] = 1 << (SBITS - 2);            // 0.25
    perfstat_partition_total_t *p = &perfstat_fake.partition;
    p->entitled_proc_capacity = 50;                // 0.50 processor
    p->puser = 100000, p->psys = 50000, p->pidle = 800000, p->pwait = 50000;
    p->timebase_last = 512000000;
    perfstat_memory_total_t *m = &perfstat_fake.memory;
    m->real_total = 2097152;                       // 8192 MB in 4 KB pages
    m->real_free = 524288;                         // 2048 MB
    m->pgsp_total = 131072;                        // 512 MB
    m->pgsp_free = 65536;                          // 256 MB
    m->pgins = 10000, m->pgouts = 2000;
    perfstat_disk_t *d = s_disk(0, "hdisk0");
    d->bsize = 512, d->rblks = 1000, d->wblks = 2000, d->xfers = 300, d->time = 700;
    d = s_disk(1, "hdisk1");
    d->bsize = 0, d->rblks = 10, d->wblks = 10, d->xfers = 10, d->time = 10;
    perfstat_netinterface_t *n = s_net(0, "en0");
    n->ibytes = 1000000, n->obytes = 2000000, n->ipackets = 5000, n->opackets = 6000;
    n->ierrors = 1, n->oerrors = 2;
}

//  The second reading, 2 s later by the readings' clocks.
static void s_advance(void)
{
    perfstat_cpu_total_t *cpu = &perfstat_fake.cpu;
    cpu->user += 600, cpu->sys += 200, cpu->idle += 1000, cpu->wait += 200;
    perfstat_partition_total_t *p = &perfstat_fake.partition;
    //  Δpurr 250000 over Δtimebase 1000000: 0.25 processor, half the entitlement.
    p->puser += 150000, p->psys += 50000, p->pidle += 40000, p->pwait += 10000;
    p->timebase_last += 1000000;
    perfstat_memory_total_t *m = &perfstat_fake.memory;
    m->real_free -= 256;                           // 1 MB less
    m->pgins += 1000, m->pgouts += 300;
    perfstat_disk_t *d = &perfstat_fake.disks[0];
    d->rblks += 2048, d->wblks += 4096, d->xfers += 100, d->time += 50;
    d = &perfstat_fake.disks[1];
    d->rblks += 4, d->wblks += 8, d->xfers += 2, d->time += 1000;
    perfstat_netinterface_t *n = &perfstat_fake.nets[0];
    n->ibytes += 2048000, n->obytes += 1024000, n->ipackets += 3000, n->opackets += 1000;
    n->ierrors += 4, n->oerrors += 0;
}

//  Two readings through the real read path, the second 2 s after the first.
static void s_two_readings(aix_metrics_t *sampler, aix_reading_t *prev, aix_reading_t *cur)
{
    s_baseline();
    assert_int_equal(aix_metrics_read(sampler, prev), 0);
    s_advance();
    assert_int_equal(aix_metrics_read(sampler, cur), 0);
    prev->time_s = 100.0;
    cur->time_s = 102.0;
}

static const metrics_disk_t *s_find_disk(const metrics_t *m, const char *name)
{
    for (size_t i = 0; i < m->disk_count; i++)
        if (strcmp(m->disks[i].name, name) == 0)
            return &m->disks[i];
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Tests

static void test_cpu_and_physc(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    assert_non_null(sampler);
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_two_readings(sampler, &prev, &cur);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_near(m.interval_s, 2.0);
    //  Δticks 600/200/1000/200 of 2000.
    assert_true(m.has_cpu);
    assert_near(m.user_pct, 30.0);
    assert_near(m.sys_pct, 10.0);
    assert_near(m.idle_pct, 50.0);
    assert_near(m.wait_pct, 10.0);
    assert_true(m.has_physc);
    assert_near(m.physc, 0.25);
    assert_near(m.entc_pct, 50.0);
    assert_true(m.has_load);
    assert_near(m.avg1, 3.0);
    assert_near(m.avg5, 1.5);
    assert_near(m.avg15, 0.25);
    assert_false(m.has_processes);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
    assert_null(sampler);
}

//  A dedicated partition with 2 processors at full use: physc 2, entc 100 %.
static void test_physc_dedicated(void **state)
{
    (void) state;
    aix_reading_t prev = {0}, cur = {0};
    prev.time_s = 1, cur.time_s = 2;
    prev.has_partition = cur.has_partition = true;
    prev.partition.entitled_proc_capacity = cur.partition.entitled_proc_capacity = 200;
    prev.partition.timebase_last = 1000;
    cur.partition.timebase_last = 513000;
    cur.partition.puser = 1024000;
    metrics_t m = {0};
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_true(m.has_physc);
    assert_near(m.physc, 2.0);
    assert_near(m.entc_pct, 100.0);
    //  No entitlement known: neither figure is invented.
    cur.partition.entitled_proc_capacity = 0;
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_false(m.has_physc);
    metrics_clear(&m);
}

static void test_memory(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_two_readings(sampler, &prev, &cur);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_true(m.has_memory);
    assert_near(m.real_total_mb, 8192.0);
    assert_near(m.real_free_mb, 2047.0);
    assert_near(m.paging_total_mb, 512.0);
    assert_near(m.paging_free_mb, 256.0);
    assert_true(m.has_paging_rates);
    assert_near(m.pgins_per_s, 500.0);
    assert_near(m.pgouts_per_s, 150.0);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

static void test_disks(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_two_readings(sampler, &prev, &cur);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_int_equal(m.disk_count, 2);
    const metrics_disk_t *d = s_find_disk(&m, "hdisk0");
    assert_non_null(d);
    //  2048 and 4096 blocks of 512 bytes (1 and 2 MB) in 2 s.
    assert_near(d->read_kbps, 512.0);
    assert_near(d->write_kbps, 1024.0);
    assert_near(d->xfers_per_s, 50.0);
    //  50 ticks busy of 200 (2 s at 100 ticks per second).
    assert_near(d->busy_pct, 25.0);
    //  bsize 0 means 512-byte blocks; busy never above 100 %.
    d = s_find_disk(&m, "hdisk1");
    assert_non_null(d);
    assert_near(d->read_kbps, 1.0);
    assert_near(d->write_kbps, 2.0);
    assert_near(d->xfers_per_s, 1.0);
    assert_near(d->busy_pct, 100.0);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

//  Disks are matched by name: a reordered list, a new disk, a vanished one.
static void test_disk_changes(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_baseline();
    assert_int_equal(aix_metrics_read(sampler, &prev), 0);
    s_advance();
    perfstat_disk_t hdisk0 = perfstat_fake.disks[0];
    perfstat_fake.disks[0] = perfstat_fake.disks[1];
    perfstat_fake.disks[1] = hdisk0;
    s_disk(2, "hdisk2")->rblks = 1000000;
    assert_int_equal(aix_metrics_read(sampler, &cur), 0);
    prev.time_s = 0, cur.time_s = 2;
    assert_int_equal(cur.disk_count, 3);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_int_equal(m.disk_count, 2);
    assert_string_equal(m.disks[0].name, "hdisk1");
    assert_near(m.disks[0].read_kbps, 1.0);
    assert_string_equal(m.disks[1].name, "hdisk0");
    assert_near(m.disks[1].read_kbps, 512.0);
    assert_null(s_find_disk(&m, "hdisk2"));
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

static void test_net(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_two_readings(sampler, &prev, &cur);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_int_equal(m.net_count, 1);
    const metrics_net_t *n = &m.nets[0];
    assert_string_equal(n->name, "en0");
    assert_near(n->read_kbps, 1000.0);
    assert_near(n->write_kbps, 500.0);
    assert_near(n->ipackets_per_s, 1500.0);
    assert_near(n->opackets_per_s, 500.0);
    assert_int_equal(n->ierrors, 4);
    assert_int_equal(n->oerrors, 0);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

//  Counters that went backwards (reset, or moved with the partition) give
//  no figure rather than a huge or negative one.
static void test_backwards_counters(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_baseline();
    assert_int_equal(aix_metrics_read(sampler, &prev), 0);
    s_advance();
    perfstat_fake.cpu.idle = 0;
    perfstat_fake.partition.timebase_last = 5;
    perfstat_fake.memory.pgins = 0;
    perfstat_fake.disks[0].xfers = 0;
    perfstat_fake.nets[0].ibytes = 0;
    assert_int_equal(aix_metrics_read(sampler, &cur), 0);
    prev.time_s = 0, cur.time_s = 2;
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_false(m.has_cpu);
    assert_false(m.has_physc);
    assert_true(m.has_memory);
    assert_false(m.has_paging_rates);
    assert_int_equal(m.disk_count, 1);
    assert_string_equal(m.disks[0].name, "hdisk1");
    assert_int_equal(m.net_count, 0);
    assert_true(m.has_load);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

//  A failing perfstat call leaves its section out; the rest is still there.
static void test_perfstat_failures(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_baseline();
    assert_int_equal(aix_metrics_read(sampler, &prev), 0);
    s_advance();
    perfstat_fake.cpu_errno = EPERM;
    perfstat_fake.partition_errno = ENOSYS;
    perfstat_fake.disk_errno = EIO;
    assert_int_equal(aix_metrics_read(sampler, &cur), 0);
    assert_false(cur.has_cpu);
    assert_false(cur.has_partition);
    assert_int_equal(cur.disk_count, 0);
    prev.time_s = 0, cur.time_s = 2;
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    assert_false(m.has_cpu);
    assert_false(m.has_physc);
    assert_false(m.has_load);
    assert_int_equal(m.disk_count, 0);
    assert_true(m.has_memory);
    assert_int_equal(m.net_count, 1);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

//  The sampler: the first call primes (instantaneous figures only), the
//  second gives the interval's figures; ratios do not depend on the clock.
static void test_sampler(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    metrics_t m = {0};
    s_baseline();
    assert_int_equal(aix_metrics_sample(sampler, &m), 0);
    assert_near(m.interval_s, 0.0);
    assert_false(m.has_cpu);
    assert_false(m.has_physc);
    assert_true(m.has_memory);
    assert_false(m.has_paging_rates);
    assert_true(m.has_load);
    assert_int_equal(m.disk_count, 0);
    s_advance();
    assert_int_equal(aix_metrics_sample(sampler, &m), 0);
    assert_true(m.interval_s >= 0.0);
    if (m.interval_s > 0) {
        assert_true(m.has_cpu);
        assert_near(m.user_pct, 30.0);
        assert_near(m.physc, 0.25);
        assert_near(m.entc_pct, 50.0);
        assert_int_equal(m.disk_count, 2);
        assert_int_equal(m.net_count, 1);
    }
    //  A third reading is against the second: nothing moved, all zero.
    perfstat_fake.cpu.user += 100;
    assert_int_equal(aix_metrics_sample(sampler, &m), 0);
    if (m.interval_s > 0) {
        assert_near(m.user_pct, 100.0);
        assert_near(m.disks[0].read_kbps, 0.0);
    }
    metrics_clear(&m);
    aix_metrics_destroy(&sampler);
    aix_metrics_destroy(&sampler);
}

//  The JSON of a sample carries the contract's names.
static void test_json(void **state)
{
    (void) state;
    aix_metrics_t *sampler = aix_metrics_new();
    aix_reading_t prev = {0}, cur = {0};
    metrics_t m = {0};
    s_two_readings(sampler, &prev, &cur);
    assert_int_equal(aix_metrics_compute(&prev, &cur, &m), 0);
    json_t *json = metrics_to_json(&m);
    assert_non_null(json);
    json_t *cpu = json_object_get(json, "cpu");
    assert_non_null(cpu);
    assert_near(json_real_value(json_object_get(cpu, "physc")), 0.25);
    assert_near(json_real_value(json_object_get(cpu, "entc_pct")), 50.0);
    assert_int_equal(json_array_size(json_object_get(json, "disks")), 2);
    json_decref(json);
    metrics_clear(&m);
    aix_reading_clear(&prev);
    aix_reading_clear(&cur);
    aix_metrics_destroy(&sampler);
}

static void test_boot_time(void **state)
{
    (void) state;
    perfstat_fake.cpu.lbolt = 3600 * 100;   // one hour of 100 Hz ticks
    int64_t boot = 0;
    time_t now = time(NULL);
    assert_int_equal(aix_boot_time(&boot), 0);
    assert_true(boot >= (int64_t) now - 3600 - 1 && boot <= (int64_t) now - 3600 + 1);
    perfstat_fake.cpu_errno = EIO;
    assert_int_equal(aix_boot_time(&boot), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cpu_and_physc, s_setup),
        cmocka_unit_test_setup(test_physc_dedicated, s_setup),
        cmocka_unit_test_setup(test_memory, s_setup),
        cmocka_unit_test_setup(test_disks, s_setup),
        cmocka_unit_test_setup(test_disk_changes, s_setup),
        cmocka_unit_test_setup(test_net, s_setup),
        cmocka_unit_test_setup(test_backwards_counters, s_setup),
        cmocka_unit_test_setup(test_perfstat_failures, s_setup),
        cmocka_unit_test_setup(test_sampler, s_setup),
        cmocka_unit_test_setup(test_json, s_setup),
        cmocka_unit_test_setup(test_boot_time, s_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
