/*  fuzz_linux_parse — libFuzzer target for the Linux /proc and lparcfg
    parsers (linux_metrics.h) and the facts helpers (linux_facts.h).

    Every input goes to every parser as text. It is also cut in two at the
    first NUL byte (or the middle), each half parsed as one whole reading,
    and the two readings are turned into rates, so that arbitrary counters
    run through the arithmetic of linux_metrics_compute as well.

    clang -g -O1 -fsanitize=fuzzer,address,undefined -I common -I agent -I BUILD/proto \
        tests/fuzz/fuzz_linux_parse.c agent/linux_metrics.c agent/linux_facts.c \
        agent/metrics.c BUILD/proto/ferry.pb-c.c -ljansson -lprotobuf-c -lm */
#include "linux_facts.h"
#include "linux_metrics.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 16

//  Parse text as every file of a reading; arrays point into storage.
static void s_reading(const char *text, linux_reading_t *r, linux_disk_t *disks,
                      linux_net_t *nets)
{
    memset(r, 0, sizeof *r);
    linux_parse_stat(text, &r->stat);
    linux_parse_meminfo(text, &r->mem);
    linux_parse_vmstat(text, &r->vm);
    linux_parse_loadavg(text, &r->load);
    r->has_lparcfg = linux_parse_lparcfg(text, &r->lpar) == 0;
    linux_cpuinfo_t cpu;
    if (linux_parse_cpuinfo(text, &cpu) == 0 || cpu.has_timebase)
        r->timebase_hz = cpu.timebase_hz;
    size_t n = linux_parse_diskstats(text, disks, MAX_ENTRIES);
    r->disks = disks, r->disk_count = n < MAX_ENTRIES ? n : MAX_ENTRIES;
    n = linux_parse_net_dev(text, nets, MAX_ENTRIES);
    r->nets = nets, r->net_count = n < MAX_ENTRIES ? n : MAX_ENTRIES;
    for (size_t i = 0; i < r->disk_count; i++)
        if (!memchr(disks[i].name, '\0', sizeof disks[i].name))
            abort();                // names are always terminated
}

static void s_helpers(const char *text)
{
    double uptime;
    linux_parse_uptime(text, &uptime);
    (void) linux_is_whole_disk(text);
    char value[64];
    if (linux_facts_serial(text, value, sizeof value) == 0 && strlen(value) >= sizeof value)
        abort();
    if (linux_facts_os_release(text, "NAME", value, sizeof value) == 0
        && strlen(value) >= sizeof value)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    s_helpers(text);

    // the two halves: up to the first NUL, or split in the middle
    size_t cut = strlen(text);
    if (cut == size)
        cut = size / 2;
    char *second = strdup(text + (cut < size ? cut + 1 : size));
    text[cut] = '\0';
    static linux_disk_t disks[2][MAX_ENTRIES];
    static linux_net_t nets[2][MAX_ENTRIES];
    linux_reading_t r1, r2;
    s_reading(text, &r1, disks[0], nets[0]);
    s_reading(second ? second : "", &r2, disks[1], nets[1]);
    r1.time_s = 1, r2.time_s = 1 + (double) (size % 7) / 3;   // includes a zero interval
    metrics_t m = { .interval_s = 0 };
    linux_metrics_compute(&r1, &r2, &m);
    linux_metrics_compute(&r2, &r2, &m);
    metrics_clear(&m);
    free(second);
    free(text);
    return 0;
}
