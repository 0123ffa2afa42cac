/*  test_linux_metrics — every /proc and lparcfg parser with its quirks, and
    rates computed from two fixture readings (tests/fixtures/linux/power-lpar
    and power-lpar-t2, 10 s apart) with numbers worked out by hand:

    cpu   Δuser+nice 600, Δsys+irq+softirq 300, Δiowait 100, Δidle 1000,
          Δsteal 500 (left out)                  -> 30 / 15 / 5 / 50 %
    physc Δpurr 1536000000 / Δtbr 5120000000     -> 0.30, entitled 40 -> 75 %
    paging Δpgpgin 4000 KB, Δpgpgout 8000 KB     -> 100 / 200 4 KB pages per s
    sda   Δreads 200 + Δwrites 300, Δsectors 20480 read / 4096 written,
          Δio_ticks 2500 ms                      -> 50/s, 1024 / 204.8 KB/s, 25 %
    sdb   counters went backwards (reset)        -> all 0
    dm-0  Δio_ticks 12000 ms in 10 s             -> busy clamped to 100 %
    sdc   only in the second reading             -> not reported
    env2  Δrx 1048576 B / 1000 pk / 2 errs, Δtx 524288 B / 500 pk
                                                 -> 102.4 / 51.2 KB/s, 100 / 50 pk/s */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux_metrics.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/linux"

// ---------------------------------------------------------------------------
//  Helpers

static void s_near(double actual, double expected, const char *what)
{
    if (fabs(actual - expected) > 1e-9 * (fabs(expected) > 1 ? fabs(expected) : 1))
        fail_msg("%s: %.12g, expected %.12g", what, actual, expected);
}

//  The text of a file (test owns it), failing the test when unreadable.
static char *s_text(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        fail_msg("cannot open %s", path);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, file);
    fclose(file);
    buf[n] = '\0';
    return buf;
}

static char *s_fixture(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    return s_text(path);
}

static void s_write(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

// ---------------------------------------------------------------------------
//  Parsers

static void test_parse_stat(void **state)
{
    (void) state;
    linux_stat_t s;
    char *text = s_fixture("power-lpar/proc/stat");
    assert_int_equal(linux_parse_stat(text, &s), 0);
    free(text);
    assert_true(s.has_cpu);
    assert_int_equal(s.user, 100000);
    assert_int_equal(s.nice, 500);
    assert_int_equal(s.sys, 40000);
    assert_int_equal(s.idle, 800000);
    assert_int_equal(s.iowait, 2000);
    assert_int_equal(s.irq, 300);
    assert_int_equal(s.softirq, 700);
    assert_int_equal(s.steal, 1000);
    assert_true(s.has_btime);
    assert_int_equal(s.btime, 1700000000);

    // 2.4-era kernels: four numbers only; no btime (the sampler's prefix read)
    assert_int_equal(linux_parse_stat("cpu  1 2 3 4\n", &s), 0);
    assert_int_equal(s.idle, 4);
    assert_int_equal(s.steal, 0);
    assert_false(s.has_btime);
    // a cut-off line: the numbers seen still count when there are four
    assert_int_equal(linux_parse_stat("cpu  10 20 30 40 5", &s), 0);
    assert_int_equal(s.iowait, 5);

    assert_int_equal(linux_parse_stat("", &s), -1);
    assert_int_equal(linux_parse_stat("cpu0 1 2 3 4\n", &s), -1);   // per-CPU line is not the total
    assert_int_equal(linux_parse_stat("cpu  1 2 3\n", &s), -1);
    assert_int_equal(linux_parse_stat("cpu  1 2 x 4\n", &s), -1);
    assert_int_equal(linux_parse_stat("cpu  99999999999999999999 1 1 1\n", &s), -1); // overflow
    assert_false(s.has_cpu);
    assert_int_equal(linux_parse_stat("intr 1\nbtime 42\n", &s), -1);
    assert_true(s.has_btime);
    assert_int_equal(s.btime, 42);
}

static void test_parse_meminfo(void **state)
{
    (void) state;
    linux_meminfo_t m;
    char *text = s_fixture("power-lpar/proc/meminfo");
    assert_int_equal(linux_parse_meminfo(text, &m), 0);
    free(text);
    assert_true(m.has_memory);
    assert_int_equal(m.mem_total_kb, 8388608);
    assert_int_equal(m.mem_free_kb, 2097152);
    assert_true(m.has_available);
    assert_int_equal(m.mem_available_kb, 5242880);
    assert_true(m.has_swap);
    assert_int_equal(m.swap_total_kb, 4194304);
    assert_int_equal(m.swap_free_kb, 4128768);

    // old kernel: no MemAvailable; no swap lines; a look-alike label
    assert_int_equal(linux_parse_meminfo("MemTotalX: 5 kB\nMemTotal: 100 kB\nMemFree: 50 kB\n", &m), 0);
    assert_int_equal(m.mem_total_kb, 100);
    assert_false(m.has_available);
    assert_false(m.has_swap);
    assert_int_equal(linux_parse_meminfo("MemTotal: 100 kB\n", &m), -1);
    assert_int_equal(linux_parse_meminfo("MemTotal: kB\nMemFree: 1 kB\n", &m), -1);
    assert_int_equal(linux_parse_meminfo("", &m), -1);
}

static void test_parse_vmstat(void **state)
{
    (void) state;
    linux_vmstat_t v;
    char *text = s_fixture("power-lpar/proc/vmstat");
    assert_int_equal(linux_parse_vmstat(text, &v), 0);
    free(text);
    assert_true(v.has_pgpg);
    assert_int_equal(v.pgpgin_kb, 1000000);
    assert_int_equal(v.pgpgout_kb, 2000000);
    assert_true(v.has_pswp);
    assert_int_equal(v.pswpin, 10);
    assert_int_equal(v.pswpout, 20);

    // pgpgoutclean must not be taken for pgpgout
    assert_int_equal(linux_parse_vmstat("pgpgoutclean 9\npgpgin 1\npgpgout 2\n", &v), 0);
    assert_int_equal(v.pgpgout_kb, 2);
    assert_false(v.has_pswp);
    assert_int_equal(linux_parse_vmstat("pgpgin 1\n", &v), -1);
    assert_int_equal(linux_parse_vmstat("", &v), -1);
}

static void test_parse_loadavg_uptime(void **state)
{
    (void) state;
    linux_loadavg_t l;
    assert_int_equal(linux_parse_loadavg("0.52 0.58 0.59 2/345 12345\n", &l), 0);
    assert_true(l.has_load);
    s_near(l.avg1, 0.52, "avg1");
    s_near(l.avg5, 0.58, "avg5");
    s_near(l.avg15, 0.59, "avg15");
    assert_int_equal(l.running, 2);
    assert_int_equal(l.threads, 345);
    assert_int_equal(linux_parse_loadavg("12 3.5 0.125 1/1 1", &l), 0);
    s_near(l.avg15, 0.125, "avg15");
    assert_int_equal(linux_parse_loadavg("0,52 0,58 0,59 2/345 1\n", &l), -1);   // never a comma
    assert_int_equal(linux_parse_loadavg("0.52 0.58 0.59 2 345\n", &l), -1);
    assert_int_equal(linux_parse_loadavg("0.52 0.58 0.59 2/99999999999\n", &l), -1);
    assert_false(l.has_load);
    assert_int_equal(linux_parse_loadavg("", &l), -1);

    double up = 0;
    assert_int_equal(linux_parse_uptime("350735.47 5234388.90\n", &up), 0);
    s_near(up, 350735.47, "uptime");
    assert_int_equal(linux_parse_uptime("x", &up), -1);
}

static void test_whole_disk(void **state)
{
    (void) state;
    const char *whole[] = { "sda", "sdaa", "vdb", "xvda", "hda", "dm-0", "dm-12", "md0", "sr0",
                            "nvme0n1", "nvme10n2", "mmcblk0", "zram0", "nbd3", "emcpowera",
                            "dasda", "fd0", "rbd0" };
    const char *part[] = { "sda1", "sdaa15", "vdb2", "xvda1", "hda3", "nvme0n1p1", "mmcblk0p2",
                           "md0p1", "emcpowera1", "dasda1", "loop0", "loop12", "ram0", "ram15" };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        if (!linux_is_whole_disk(whole[i]))
            fail_msg("%s should be a whole disk", whole[i]);
    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
        if (linux_is_whole_disk(part[i]))
            fail_msg("%s should be skipped", part[i]);
}

static void test_parse_diskstats(void **state)
{
    (void) state;
    char *text = s_fixture("power-lpar/proc/diskstats");
    linux_disk_t disks[8];
    assert_int_equal(linux_parse_diskstats(text, disks, 8), 4);
    assert_string_equal(disks[0].name, "sda");
    assert_string_equal(disks[1].name, "sdb");
    assert_string_equal(disks[2].name, "dm-0");
    assert_string_equal(disks[3].name, "sr0");
    assert_int_equal(disks[0].reads, 12000);
    assert_int_equal(disks[0].sectors_read, 960000);
    assert_int_equal(disks[0].writes, 8000);
    assert_int_equal(disks[0].sectors_written, 640000);
    assert_int_equal(disks[0].io_ticks_ms, 15000);

    // too little room: the count says how much is needed, only cap stored
    memset(disks, 0, sizeof disks);
    assert_int_equal(linux_parse_diskstats(text, disks, 2), 4);
    assert_string_equal(disks[1].name, "sdb");
    assert_string_equal(disks[2].name, "");
    assert_int_equal(linux_parse_diskstats(text, NULL, 0), 4);
    free(text);

    // 2.6 partition lines (4 numbers), garbage and over-long names are skipped
    char name[80];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char bad[256];
    snprintf(bad, sizeof bad, "8 0 sd%s 1 2 3 4 5 6 7 8 9 10 11\n", name);
    assert_int_equal(linux_parse_diskstats(bad, disks, 8), 0);
    assert_int_equal(linux_parse_diskstats("8 3 sda3 1 2 3 4\nx y z\n\n8 0 sda 1 2 3\n", disks, 8), 0);
    // the 14-field format of kernels before 4.18 is enough
    assert_int_equal(linux_parse_diskstats("   8  0 sda 1 2 3 4 5 6 7 8 9 10 11\n", disks, 8), 1);
    assert_int_equal(disks[0].io_ticks_ms, 10);
}

static void test_parse_net_dev(void **state)
{
    (void) state;
    char *text = s_fixture("power-lpar/proc/net/dev");
    linux_net_t nets[4];
    assert_int_equal(linux_parse_net_dev(text, nets, 4), 2);
    free(text);
    assert_string_equal(nets[0].name, "env2");
    assert_int_equal(nets[0].rx_bytes, 1000000000);
    assert_int_equal(nets[0].rx_packets, 800000);
    assert_int_equal(nets[0].rx_errs, 3);
    assert_int_equal(nets[0].tx_bytes, 500000000);
    assert_int_equal(nets[0].tx_packets, 400000);
    assert_int_equal(nets[0].tx_errs, 1);
    // "env3:123456 ..." (no blank after the colon, as old kernels print big numbers)
    assert_string_equal(nets[1].name, "env3");
    assert_int_equal(nets[1].rx_bytes, 123456);
    assert_int_equal(nets[1].tx_bytes, 654321);

    assert_int_equal(linux_parse_net_dev("  lo: 1 2 3 4 5 6 7 8 9 10 11\n", nets, 4), 0);
    assert_int_equal(linux_parse_net_dev("eth0: 1 2 3\n", nets, 4), 0);
    assert_int_equal(linux_parse_net_dev("a b: 1 2 3 4 5 6 7 8 9 10 11\n", nets, 4), 0);
    assert_int_equal(linux_parse_net_dev(": 1 2 3 4 5 6 7 8 9 10 11\n", nets, 4), 0);
    assert_int_equal(linux_parse_net_dev("eth0: 1 2 3 4 5 6 7 8 9 10 11\n", NULL, 0), 1);
}

static void test_parse_lparcfg(void **state)
{
    (void) state;
    linux_lparcfg_t l;
    char *text = s_fixture("power-lpar/proc/powerpc/lparcfg");
    assert_int_equal(linux_parse_lparcfg(text, &l), 0);
    free(text);
    assert_true(l.has_header);
    assert_string_equal(l.serial_number, "IBM,032116A9A");
    assert_string_equal(l.system_type, "IBM,8247-22L");
    assert_true(l.has_partition_name);
    assert_string_equal(l.partition_name, "web server 01");
    assert_int_equal(l.partition_id, 5);
    assert_int_equal(l.entitled_hundredths, 40);
    assert_true(l.has_pool);
    assert_int_equal(l.pool, 0);
    assert_true(l.has_capped);
    assert_int_equal(l.capped, 0);
    assert_int_equal(l.shared_mode, 1);
    assert_int_equal(l.active_procs, 2);
    assert_int_equal(l.purr, 123456789012345ULL);
    assert_int_equal(l.tbr, 987654321098765ULL);

    // KVM: empty serial is present but empty
    text = s_fixture("kvm-guest/proc/powerpc/lparcfg");
    assert_int_equal(linux_parse_lparcfg(text, &l), 0);
    free(text);
    assert_true(l.has_serial_number);
    assert_string_equal(l.serial_number, "");
    assert_false(l.has_pool);

    // " bytes" suffixes, CRLF, trailing blanks, blank lines, junk numbers
    assert_int_equal(linux_parse_lparcfg("\n\npartition_entitled_capacity=150 bytes\r\n"
                                         "purr=12x\ncapped=1  \n\n=5\nnoequals\n", &l), 0);
    assert_false(l.has_header);
    assert_int_equal(l.entitled_hundredths, 150);
    assert_false(l.has_purr);
    assert_int_equal(l.capped, 1);
    assert_int_equal(linux_parse_lparcfg("pool=1 byte\n", &l), -1);
    assert_int_equal(linux_parse_lparcfg("pool=\n", &l), -1);
    assert_int_equal(linux_parse_lparcfg("lparcfg 1.9\n", &l), -1);
    assert_true(l.has_header);
    assert_int_equal(linux_parse_lparcfg("", &l), -1);

    // an over-long name is left unknown rather than cut
    char big[600] = "partition_name=";
    memset(big + strlen(big), 'n', 400);
    assert_int_equal(linux_parse_lparcfg(big, &l), -1);
    assert_false(l.has_partition_name);
}

static void test_parse_cpuinfo(void **state)
{
    (void) state;
    linux_cpuinfo_t c;
    char *text = s_fixture("power-lpar/proc/cpuinfo");
    assert_int_equal(linux_parse_cpuinfo(text, &c), 0);
    free(text);
    assert_int_equal(c.processors, 16);
    assert_true(c.has_timebase);
    assert_int_equal(c.timebase_hz, 512000000);

    text = s_fixture("x86/proc/cpuinfo");
    assert_int_equal(linux_parse_cpuinfo(text, &c), 0);
    free(text);
    assert_int_equal(c.processors, 4);
    assert_false(c.has_timebase);
    assert_int_equal(linux_parse_cpuinfo("timebase : 0\n", &c), -1);
    assert_false(c.has_timebase);
}

// ---------------------------------------------------------------------------
//  Rates

//  Read a fixture tree into r with a throw-away sampler, at time time_s.
static void s_reading(const char *tree, double time_s, linux_reading_t *r)
{
    char root[512];
    snprintf(root, sizeof root, "%s/%s/proc", FIXTURES, tree);
    linux_metrics_t *sampler = linux_metrics_new(root);
    assert_non_null(sampler);
    assert_int_equal(linux_metrics_read(sampler, r), 0);
    linux_metrics_destroy(&sampler);
    assert_null(sampler);
    r->time_s = time_s;
}

static void s_check_rates(const metrics_t *m, bool check_time_based)
{
    assert_true(m->has_cpu);
    s_near(m->user_pct, 30, "user_pct");
    s_near(m->sys_pct, 15, "sys_pct");
    s_near(m->wait_pct, 5, "wait_pct");
    s_near(m->idle_pct, 50, "idle_pct");
    assert_true(m->has_physc);
    s_near(m->physc, 0.3, "physc");
    s_near(m->entc_pct, 75, "entc_pct");
    assert_true(m->has_memory);
    s_near(m->real_total_mb, 8192, "real_total_mb");
    s_near(m->real_free_mb, 2047, "real_free_mb");
    s_near(m->paging_total_mb, 4096, "paging_total_mb");
    s_near(m->paging_free_mb, 4032, "paging_free_mb");
    assert_true(m->has_load);
    s_near(m->avg1, 1.25, "avg1");
    s_near(m->avg5, 0.75, "avg5");
    s_near(m->avg15, 0.66, "avg15");
    assert_true(m->has_processes);
    assert_int_equal(m->processes, 350);
    assert_int_equal(m->disk_count, 4);
    assert_string_equal(m->disks[0].name, "sda");
    assert_string_equal(m->disks[1].name, "sdb");
    assert_string_equal(m->disks[2].name, "dm-0");
    assert_string_equal(m->disks[3].name, "sr0");
    assert_int_equal(m->net_count, 2);
    assert_string_equal(m->nets[0].name, "env2");
    assert_int_equal(m->nets[0].ierrors, 2);
    assert_int_equal(m->nets[0].oerrors, 0);
    assert_string_equal(m->nets[1].name, "env3");
    if (!check_time_based)
        return;
    s_near(m->interval_s, 10, "interval_s");
    assert_true(m->has_paging_rates);
    s_near(m->pgins_per_s, 100, "pgins_per_s");
    s_near(m->pgouts_per_s, 200, "pgouts_per_s");
    const metrics_disk_t *sda = &m->disks[0], *sdb = &m->disks[1], *dm = &m->disks[2];
    s_near(sda->read_kbps, 1024, "sda read_kbps");
    s_near(sda->write_kbps, 204.8, "sda write_kbps");
    s_near(sda->xfers_per_s, 50, "sda xfers_per_s");
    s_near(sda->busy_pct, 25, "sda busy_pct");
    s_near(sdb->read_kbps + sdb->write_kbps + sdb->xfers_per_s + sdb->busy_pct, 0, "sdb reset");
    s_near(dm->read_kbps, 1024, "dm-0 read_kbps");
    s_near(dm->write_kbps, 102.4, "dm-0 write_kbps");
    s_near(dm->xfers_per_s, 30, "dm-0 xfers_per_s");
    s_near(dm->busy_pct, 100, "dm-0 busy_pct");
    const metrics_net_t *env2 = &m->nets[0], *env3 = &m->nets[1];
    s_near(env2->read_kbps, 102.4, "env2 read_kbps");
    s_near(env2->write_kbps, 51.2, "env2 write_kbps");
    s_near(env2->ipackets_per_s, 100, "env2 ipackets_per_s");
    s_near(env2->opackets_per_s, 50, "env2 opackets_per_s");
    s_near(env3->read_kbps + env3->write_kbps + env3->ipackets_per_s, 0, "env3 idle");
}

static void test_compute_rates(void **state)
{
    (void) state;
    linux_reading_t r1 = { .time_s = 0 }, r2 = { .time_s = 0 };
    s_reading("power-lpar", 100, &r1);
    s_reading("power-lpar-t2", 110, &r2);
    assert_int_equal(r1.timebase_hz, 512000000);
    metrics_t m = { .interval_s = 0 };
    assert_int_equal(linux_metrics_compute(&r1, &r2, &m), 0);
    s_check_rates(&m, true);

    // without tbr, physc comes from the cpuinfo timebase and the clock
    r1.lpar.has_tbr = r2.lpar.has_tbr = false;
    assert_int_equal(linux_metrics_compute(&r1, &r2, &m), 0);   // clears m first
    s_check_rates(&m, true);
    r2.time_s = 105;                                             // twice the rate in half the time
    assert_int_equal(linux_metrics_compute(&r1, &r2, &m), 0);
    s_near(m.physc, 0.6, "physc over 5 s");
    r1.timebase_hz = r2.timebase_hz = 0;
    assert_int_equal(linux_metrics_compute(&r1, &r2, &m), 0);
    assert_false(m.has_physc);

    // the clock going nowhere: no rates, no cpu, instantaneous figures only
    r2.time_s = r1.time_s;
    assert_int_equal(linux_metrics_compute(&r1, &r2, &m), 0);
    assert_false(m.has_cpu);
    assert_false(m.has_paging_rates);
    assert_int_equal(m.disk_count, 0);
    assert_true(m.has_memory);

    metrics_clear(&m);
    linux_reading_clear(&r1);
    linux_reading_clear(&r2);
}

static void test_compute_prime(void **state)
{
    (void) state;
    linux_reading_t r = { .time_s = 0 };
    s_reading("power-lpar", 100, &r);
    metrics_t m = { .interval_s = 0 };
    assert_int_equal(linux_metrics_compute(&r, &r, &m), 0);
    assert_true(m.interval_s == 0);
    assert_false(m.has_cpu);
    assert_false(m.has_physc);
    assert_true(m.has_memory);
    s_near(m.real_free_mb, 2048, "real_free_mb");
    assert_false(m.has_paging_rates);
    assert_int_equal(m.disk_count, 0);
    assert_int_equal(m.net_count, 0);
    assert_true(m.has_load);
    assert_int_equal(m.processes, 345);

    // JSON: cpu absent, memory without paging rates, empty arrays
    json_t *json = metrics_to_json(&m);
    assert_null(json_object_get(json, "cpu"));
    assert_null(json_object_get(json_object_get(json, "memory"), "pgins_per_s"));
    assert_int_equal(json_array_size(json_object_get(json, "disks")), 0);
    json_decref(json);
    metrics_clear(&m);
    linux_reading_clear(&r);
}

// ---------------------------------------------------------------------------
//  Sampler

static const char *const s_files[] = { "stat", "meminfo", "vmstat", "loadavg", "diskstats",
                                        "net/dev", "powerpc/lparcfg", "cpuinfo" };

//  Overwrite the files of dir (in place, as /proc "changes") with tree's.
static void s_copy_tree(const char *tree, const char *dir)
{
    for (size_t i = 0; i < sizeof s_files / sizeof s_files[0]; i++) {
        char rel[128], path[512];
        snprintf(rel, sizeof rel, "%s/proc/%s", tree, s_files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, s_files[i]);
        char *text = s_fixture(rel);
        s_write(path, text);
        free(text);
    }
}

static void test_sampler(void **state)
{
    (void) state;
    char dir[] = "/tmp/test_linux_metrics.XXXXXX", sub[512];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/net", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/powerpc", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    s_copy_tree("power-lpar", dir);

    linux_metrics_t *sampler = linux_metrics_new(dir);
    assert_non_null(sampler);
    metrics_t m = { .interval_s = 0 };
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);     // primes
    assert_true(m.interval_s == 0);
    assert_false(m.has_cpu);
    assert_true(m.has_memory);

    s_copy_tree("power-lpar-t2", dir);
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_true(m.interval_s > 0);
    s_check_rates(&m, false);   // physc from Δtbr does not depend on our clock

    // nothing changed since: all counters still, a third sample is quiet
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_false(m.has_cpu);   // no tick passed
    s_near(m.physc, 0, "physc");
    assert_int_equal(m.disk_count, 5);   // sdc now has a previous reading
    s_near(m.disks[0].xfers_per_s, 0, "sda xfers");

    metrics_clear(&m);
    linux_metrics_destroy(&sampler);
    linux_metrics_destroy(&sampler);    // idempotent
    for (size_t i = 0; i < sizeof s_files / sizeof s_files[0]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, s_files[i]);
        unlink(sub);
    }
    snprintf(sub, sizeof sub, "%s/net", dir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/powerpc", dir);
    rmdir(sub);
    rmdir(dir);
}

static void test_sampler_x86(void **state)
{
    (void) state;
    linux_metrics_t *sampler = linux_metrics_new(FIXTURES "/x86/proc");
    assert_non_null(sampler);
    metrics_t m = { .interval_s = 0 };
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_false(m.has_physc);          // no lparcfg
    assert_true(m.has_memory);
    assert_true(m.has_paging_rates);
    s_near(m.pgins_per_s, 0, "pgins_per_s");
    assert_int_equal(m.disk_count, 2);
    assert_string_equal(m.disks[0].name, "nvme0n1");
    assert_string_equal(m.disks[1].name, "sda");
    assert_int_equal(m.net_count, 1);
    assert_string_equal(m.nets[0].name, "eno1");
    json_t *json = metrics_to_json(&m);
    assert_null(json_object_get(json_object_get(json, "cpu"), "physc"));
    json_decref(json);
    metrics_clear(&m);
    linux_metrics_destroy(&sampler);
}

static void test_sampler_missing(void **state)
{
    (void) state;
    linux_metrics_t *sampler = linux_metrics_new("/nonexistent/proc");
    assert_non_null(sampler);
    metrics_t m = { .interval_s = 0 };
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_false(m.has_cpu);
    assert_false(m.has_memory);
    assert_false(m.has_load);
    assert_false(m.has_processes);
    assert_int_equal(m.disk_count + m.net_count, 0);
    metrics_clear(&m);
    linux_metrics_destroy(&sampler);

    // the KVM tree has no vmstat, diskstats or net/dev: those stay unknown
    sampler = linux_metrics_new(FIXTURES "/kvm-guest/proc");
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_int_equal(linux_metrics_sample(sampler, &m), 0);
    assert_true(m.has_memory);
    assert_false(m.has_paging_rates);
    s_near(m.paging_total_mb, 0, "paging_total_mb");
    assert_int_equal(m.disk_count + m.net_count, 0);
    metrics_clear(&m);
    linux_metrics_destroy(&sampler);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_parse_meminfo),
        cmocka_unit_test(test_parse_vmstat),
        cmocka_unit_test(test_parse_loadavg_uptime),
        cmocka_unit_test(test_whole_disk),
        cmocka_unit_test(test_parse_diskstats),
        cmocka_unit_test(test_parse_net_dev),
        cmocka_unit_test(test_parse_lparcfg),
        cmocka_unit_test(test_parse_cpuinfo),
        cmocka_unit_test(test_compute_rates),
        cmocka_unit_test(test_compute_prime),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_sampler_x86),
        cmocka_unit_test(test_sampler_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
