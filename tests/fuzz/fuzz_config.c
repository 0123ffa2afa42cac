/*  fuzz_config — libFuzzer target for the config reader (common/config.c).

    The input is parsed as ZPL text; when it parses, every typed getter runs
    on a set of paths (the keys of packaging/examples/ and a few generic
    ones). The raw input also goes to the value parsers (size, duration,
    bool). Checks beyond "no crash, no leak": a getter that succeeds returns
    a value within its bounds, one that fails leaves a message; parsed sizes
    and durations are never negative and a plain number reads as itself.

    czmq's ZPL parser prints its complaints on stdout: stdout goes to
    /dev/null here (set FERRY_FUZZ_VERBOSE=1 to keep it). */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const s_paths[] = {
    "agent/collector", "agent/spool_max", "agent/spool_sync", "agent/heartbeat",
    "agent/max_frame", "agent/verbose", "collector/bind", "collector/batch_max",
    "collector/batch_wait", "collector/metrics_keep", "collector/sync_full",
    "a", "a/b", "a/b/c", "", "/", "agent//verbose",
};

static void s_fail(const char *what, const char *path)
{
    fprintf(stderr, "fuzz_config: %s (path \"%s\")\n", what, path);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    if (!getenv("FERRY_FUZZ_VERBOSE")) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            fflush(stdout);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }
    return 0;
}

//  A getter's result: in [min, max] on success, a message on failure.
static void s_check(int rc, int64_t value, int64_t min, int64_t max, const char *err,
                    const char *path)
{
    if (rc == 0 && (value < min || value > max))
        s_fail("getter returned a value out of its bounds", path);
    if (rc != 0 && (rc != -1 || err[0] == '\0'))
        s_fail("getter failed without a message", path);
}

static void s_getters(config_t *config, const char *path)
{
    char err[64];
    int64_t value;
    bool flag;
    (void) config_str(config, path, NULL);
    err[0] = '\0';
    int rc = config_int(config, path, 7, -5, 1000, &value, err, sizeof err);
    s_check(rc, value, -5, 1000, err, path);
    err[0] = '\0';
    rc = config_int(config, path, 0, INT64_MIN, INT64_MAX, &value, err, sizeof err);
    s_check(rc, value, INT64_MIN, INT64_MAX, err, path);
    err[0] = '\0';
    rc = config_size(config, path, 4096, 4096, INT64_C(1) << 40, &value, err, sizeof err);
    s_check(rc, value, 4096, INT64_C(1) << 40, err, path);
    err[0] = '\0';
    rc = config_duration_ms(config, path, 1000, 0, INT64_MAX, &value, err, sizeof err);
    s_check(rc, value, 0, INT64_MAX, err, path);
    err[0] = '\0';
    rc = config_bool(config, path, false, &flag, err, 8);   // a message cut short
    s_check(rc, 0, 0, 0, err, path);
}

//  The value parsers on text; a plain decimal number must read as itself.
static void s_parsers(const char *text)
{
    int64_t value;
    bool flag;
    char *end;
    int plain = text[0] >= '0' && text[0] <= '9';
    long long number = plain ? strtoll(text, &end, 10) : 0;
    plain = plain && *end == '\0' && number < LLONG_MAX;
    if (config_parse_size(text, &value) == 0) {
        if (value < 0 || (plain && value != number))
            s_fail("bad size", text);
    }
    else if (plain)
        s_fail("a plain number is not a size", text);
    if (config_parse_duration_ms(text, &value) == 0) {
        if (value < 0 || (plain && value != number))
            s_fail("bad duration", text);
    }
    else if (plain)
        s_fail("a plain number is not a duration", text);
    if (config_parse_bool(text, &flag) == 0 && strlen(text) > 5)
        s_fail("a long word read as a boolean", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    s_parsers(text);

    char err[128] = "";
    config_t *config = config_parse(text, err, sizeof err);
    if (!config && err[0] == '\0')
        s_fail("config_parse failed without a message", "");
    for (size_t i = 0; config && i < sizeof s_paths / sizeof s_paths[0]; i++)
        s_getters(config, s_paths[i]);
    config_destroy(&config);
    config_destroy(&config);        // safe twice
    free(text);
    return 0;
}
