/*  ferry-collector — stores what the agents report.

    ferry-collector -c FILE [-v]   run (foreground; systemd/SRC friendly)
    ferry-collector keygen DIR     create the collector's CURVE certificate
    ferry-collector --version */
#include "config.h"
#include "hmc_inventory.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "services.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry-collector -c FILE [-v]   run the collector\n"
            "       ferry-collector keygen DIR     create DIR/collector.cert and its _secret\n"
            "       ferry-collector hmc-inventory --help   list an HMC's systems and partitions\n"
            "       ferry-collector --version\n");
}

//  What the [collector] section sets: ingest's options and the database's.
typedef struct {
    ingest_options_t ingest;        // the agent-facing loop
    const char *database;           // SQLite file (the store writer's)
    store_options_t store;          // its options
} s_options_t;

//  Read every documented key of the [collector] section into all.
static int s_load_options(config_t *config, s_options_t *all, bool *verbose, char *err,
                          size_t errlen)
{
    int64_t v;
    ingest_options_t *opts = &all->ingest;
    ingest_options_defaults(opts);
    opts->bind = config_str(config, "collector/bind", opts->bind);
    opts->cert_path = config_str(config, "collector/cert", opts->cert_path);
    opts->allowed_dir = config_str(config, "collector/allowed_agents", opts->allowed_dir);
    all->database = config_str(config, "collector/database", "/var/lib/ferry/ferry.db");
    if (config_size(config, "collector/max_frame", (int64_t) opts->max_frame, 1024, 64 << 20, &v, err, errlen))
        return -1;
    opts->max_frame = (size_t) v;
    if (config_int(config, "collector/batch_max", opts->batch_max, 1, 1000000, &v, err, errlen))
        return -1;
    opts->batch_max = (int) v;
    if (config_duration_ms(config, "collector/batch_wait", opts->batch_wait_ms, 1, 10000, &v, err, errlen))
        return -1;
    opts->batch_wait_ms = (int) v;
    if (config_duration_ms(config, "collector/seen_flush", opts->seen_flush_ms, 10, 600000, &v, err, errlen))
        return -1;
    opts->seen_flush_ms = (int) v;
    if (config_duration_ms(config, "collector/bad_frame_log_period", opts->bad_log_period_ms, 0,
                           86400000, &v, err, errlen))
        return -1;
    opts->bad_log_period_ms = (int) v;
    if (config_bool(config, "collector/sync_full", true, &all->store.sync_full, err, errlen))
        return -1;
    if (config_duration_ms(config, "collector/metrics_keep", 0, 0, INT64_MAX, &v, err, errlen))
        return -1;
    all->store.metrics_keep_ms = v;
    opts->metrics_keep_ms = v;
    if (config_bool(config, "collector/verbose", *verbose, verbose, err, errlen))
        return -1;
    return 0;
}

//  Every section and key the collector reads (packaging/examples/collector.conf
//  documents them): anything else in the file is a typo, refused at start.
static const char *const s_collector_keys[] = {
    "bind", "cert", "allowed_agents", "database", "max_frame", "batch_max", "batch_wait",
    "seen_flush", "bad_frame_log_period", "sync_full", "metrics_keep", "verbose", NULL };
static const char *const s_hmc_keys[] = {
    "name", "url", "user", "password_file", "ca_file", "insecure", "sessions", NULL };
static const char *const s_planner_keys[] = {
    "fast_heartbeat", "verify_timeout", "job_timeout", "poll", "inventory", "starts_per_second",
    NULL };
static const char *const s_api_keys[] = { "bind", "port", "token_file", "allow_remote", NULL };
static const char *const s_readiness_keys[] = { "agent_stale", NULL };
static const config_section_keys_t s_config_keys[] = {
    { "collector", s_collector_keys }, { "hmc", s_hmc_keys }, { "planner", s_planner_keys },
    { "api", s_api_keys }, { "readiness", s_readiness_keys }, { NULL, NULL } };

static int s_run(const char *config_path, bool verbose)
{
    char err[512];
    config_t *config = config_load(config_path, err, sizeof err);
    if (!config) {
        log_error("%s", err);
        return 1;
    }
    s_options_t opts = { 0 };
    int rc = 1;
    store_writer_t *writer = NULL;
    ingest_t *ingest = NULL;
    services_t *services = NULL;
    if (config_check_keys(config, s_config_keys, err, sizeof err) != 0
        || s_load_options(config, &opts, &verbose, err, sizeof err) != 0) {
        log_error("%s: %s", config_path, err);
        goto done;
    }
    log_init("ferry-collector", verbose, false);
    //  The actors, in the order each needs the one before: the store's
    //  writer thread; ingest (the agents' ROUTER, the loop everything else
    //  runs on); the planner with one worker thread per HMC session, the
    //  API's command channel and the HTTP API (libmicrohttpd's threads,
    //  reading through their own read-only connections).
    writer = store_writer_new(opts.database, &opts.store, err, sizeof err);
    if (!writer) {
        log_error("%s", err);
        goto done;
    }
    log_info("database %s", opts.database);
    ingest = ingest_new(&opts.ingest, writer, err, sizeof err);
    if (!ingest) {
        log_error("%s", err);
        goto done;
    }
    services = services_new(config, ingest, writer, opts.database, err, sizeof err);
    if (!services) {
        log_error("%s: %s", config_path, err);
        goto done;
    }
    rc = ingest_run(ingest) == 0 ? 0 : 1;
done:
    services_destroy(&services);
    ingest_destroy(&ingest);
    store_writer_destroy(&writer);
    config_destroy(&config);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("ferry-collector", false, false);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("ferry-collector %s\n", FERRY_VERSION);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "hmc-inventory") == 0)
        return hmc_inventory_main(argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
        char err[512];
        if (keys_generate(argv[2], "collector.cert", err, sizeof err) != 0) {
            fprintf(stderr, "ferry-collector: %s\n", err);
            return 1;
        }
        printf("wrote %s/collector.cert and %s/collector.cert_secret\n", argv[2], argv[2]);
        return 0;
    }
    const char *config_path = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            s_usage(stdout);
            return 0;
        }
        else {
            fprintf(stderr, "ferry-collector: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (!config_path) {
        s_usage(stderr);
        return 2;
    }
    return s_run(config_path, verbose);
}
