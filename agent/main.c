/*  ferry-agent — command line.

    ferry-agent run -c FILE [-v]        the daemon (foreground; systemd/SRC friendly)
    ferry-agent facts [options]         print the partition's facts as JSON
    ferry-agent metrics [options]       print one metrics sample as JSON
    ferry-agent notify EVENT [-c FILE]  hand an LPM phase to the running agent
    ferry-agent keygen DIR              create DIR/agent.cert and DIR/agent.cert_secret
    ferry-agent --version

    Run with no arguments and DRC_TYPE=pmig in the environment, it is the
    powerpc-utils drmgr migration hook (installed as /etc/drmgr.d/pmig/ferry):
    it hands PHASE to the running agent and always exits 0, because a check
    hook that fails would veto the move and monitoring must never block one. */
#include "agent.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "platform.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONFIG "/etc/ferry/agent.conf"

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry-agent run -c FILE [-v]\n"
            "       ferry-agent facts [--platform aix|linux] [--bin-dir DIR] [--etc-root DIR]\n"
            "                         [--proc-root DIR] [--sys-root DIR]\n"
            "       ferry-agent metrics [--platform aix|linux] [--proc-root DIR] [--interval-ms N]\n"
            "       ferry-agent notify lpm-check|lpm-pre|lpm-post|lpm-posterror [-c FILE]\n"
            "       ferry-agent keygen DIR\n"
            "       ferry-agent --version\n");
}

//  Fails the command line: a message, the usage, exit code 2.
static int s_bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ferry-agent: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    s_usage(stderr);
    return 2;
}

typedef struct {
    platform_options_t platform;  // where to read
    long interval_ms;             // metrics: time between the two readings
} probe_args_t;

//  Parse the options of `facts` / `metrics`. allow_bin: facts also take
//  --bin-dir/--etc-root/--sys-root. Returns 0, or the exit code 2.
static int s_probe_args(int argc, char **argv, bool is_facts, probe_args_t *a)
{
    a->platform = (platform_options_t){ .platform = "linux", .etc_root = "/", .proc_root = "/proc",
                                        .sys_root = "/sys", .timeout_ms = 30000 };
#ifdef _AIX
    a->platform.platform = "aix";
#endif
    a->interval_ms = 1000;
    for (int i = 2; i < argc; i += 2) {      // option, value
        const char *opt = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value)
            return s_bad_usage("option %s needs a value", opt);
        if (strcmp(opt, "--platform") == 0) {
            if (!platform_known(value))
                return s_bad_usage("unknown platform '%s' (use aix or linux)", value);
            a->platform.platform = value;
        }
        else if (strcmp(opt, "--proc-root") == 0)
            a->platform.proc_root = value;
        else if (is_facts && strcmp(opt, "--bin-dir") == 0)
            a->platform.bin_dir = value;
        else if (is_facts && strcmp(opt, "--etc-root") == 0)
            a->platform.etc_root = value;
        else if (is_facts && strcmp(opt, "--sys-root") == 0)
            a->platform.sys_root = value;
        else if (!is_facts && strcmp(opt, "--interval-ms") == 0) {
            char *end;
            a->interval_ms = strtol(value, &end, 10);
            if (*end || a->interval_ms < 10 || a->interval_ms > 3600000)
                return s_bad_usage("--interval-ms wants 10..3600000, not '%s'", value);
        }
        else
            return s_bad_usage("unknown option '%s'", opt);
    }
    return 0;
}

static int s_print_json(json_t *doc)
{
    if (!doc) {
        fprintf(stderr, "ferry-agent: out of memory\n");
        return 1;
    }
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(doc);
    return 0;
}

static int s_cmd_facts(int argc, char **argv)
{
    probe_args_t args;
    int rc = s_probe_args(argc, argv, true, &args);
    if (rc)
        return rc;
    return s_print_json(platform_facts(&args.platform));
}

static int s_cmd_metrics(int argc, char **argv)
{
    probe_args_t args;
    int rc = s_probe_args(argc, argv, false, &args);
    if (rc)
        return rc;
    char err[256];
    platform_metrics_t *sampler = platform_metrics_new(&args.platform, err, sizeof err);
    if (!sampler) {
        fprintf(stderr, "ferry-agent: %s\n", err);
        return 1;
    }
    metrics_t sample = { 0 };
    platform_metrics_sample(sampler, &sample);
    //  The measurement interval itself, not a synchronisation wait.
    struct timespec pause = { args.interval_ms / 1000, (args.interval_ms % 1000) * 1000000L };
    nanosleep(&pause, NULL);
    rc = platform_metrics_sample(sampler, &sample) == 0 ? s_print_json(metrics_to_json(&sample)) : 1;
    metrics_clear(&sample);
    platform_metrics_destroy(&sampler);
    return rc;
}

//  Config file of the running agent: FERRY_AGENT_CONFIG or the default.
static const char *s_default_config(void)
{
    const char *path = getenv("FERRY_AGENT_CONFIG");
    return path && *path ? path : DEFAULT_CONFIG;
}

static int s_send_notify(const char *config_path, const char *event)
{
    char err[512];
    config_t *config = config_load(config_path, err, sizeof err);
    if (!config) {
        fprintf(stderr, "ferry-agent: %s\n", err);
        return 1;
    }
    int rc = notify_send(config_str(config, "agent/spool_dir", "/var/spool/ferry"), event, 5000,
                         err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "ferry-agent: %s\n", err);
    config_destroy(&config);
    return rc == 0 ? 0 : 1;
}

static int s_cmd_drmgr_hook(void)
{
    const char *phase = getenv("PHASE");
    char event[32];
    if (!phase || (strcmp(phase, "check") && strcmp(phase, "pre") && strcmp(phase, "post")))
        return 0;   // undocheck and anything new: nothing to report
    snprintf(event, sizeof event, "lpm-%s", phase);
    s_send_notify(s_default_config(), event);
    return 0;
}

static int s_cmd_notify(int argc, char **argv)
{
    if (argc < 3)
        return s_bad_usage("notify needs an event");
    const char *event = argv[2];
    const char *config_path = s_default_config();
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else
            return s_bad_usage("unknown argument '%s'", argv[i]);
    }
    if (notify_parse(event) == NOTIFY_NONE)
        return s_bad_usage("unknown event '%s' (use lpm-check, lpm-pre, lpm-post or lpm-posterror)",
                           event);
    return s_send_notify(config_path, event);
}

static int s_cmd_run(int argc, char **argv)
{
    const char *config_path = NULL;
    bool verbose = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else
            return s_bad_usage("unknown argument '%s'", argv[i]);
    }
    if (!config_path)
        return s_bad_usage("run needs -c FILE");
    char err[512];
    config_t *config = config_load(config_path, err, sizeof err);
    if (!config) {
        log_error("%s", err);
        return 1;
    }
    agent_options_t opts = { .verbose = verbose };
    int rc = 1;
    if (agent_options_load(config, &opts, err, sizeof err) != 0)
        log_error("%s: %s", config_path, err);
    else {
        log_init("ferry-agent", opts.verbose, false);
        rc = agent_run(&opts);
    }
    config_destroy(&config);
    return rc;
}

static int s_cmd_keygen(int argc, char **argv)
{
    if (argc != 3)
        return s_bad_usage("keygen needs a directory");
    char err[512];
    if (keys_generate(argv[2], "agent.cert", err, sizeof err) != 0) {
        fprintf(stderr, "ferry-agent: %s\n", err);
        return 1;
    }
    printf("wrote %s/agent.cert (copy it to the collector's allowed_agents directory)"
           " and %s/agent.cert_secret\n", argv[2], argv[2]);
    return 0;
}

int main(int argc, char **argv)
{
    log_init("ferry-agent", false, false);
    const char *drc_type = getenv("DRC_TYPE");
    if (argc == 1 && drc_type && strcmp(drc_type, "pmig") == 0)
        return s_cmd_drmgr_hook();
    const char *cmd = argc >= 2 ? argv[1] : "";
    if (strcmp(cmd, "--version") == 0) {
        printf("ferry-agent %s\n", FERRY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return s_cmd_run(argc, argv);
    if (strcmp(cmd, "facts") == 0)
        return s_cmd_facts(argc, argv);
    if (strcmp(cmd, "metrics") == 0)
        return s_cmd_metrics(argc, argv);
    if (strcmp(cmd, "notify") == 0)
        return s_cmd_notify(argc, argv);
    if (strcmp(cmd, "keygen") == 0)
        return s_cmd_keygen(argc, argv);
    return s_bad_usage("unknown command '%s'", cmd);
}
