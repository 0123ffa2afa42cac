/*  services — the move windows, the planner, the command channel and the
    HTTP API. */
#include "services.h"

#include "api.h"
#include "commands.h"
#include "keys.h"
#include "log.h"
#include "move_window.h"
#include "planner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICES_MAX_HMCS 16

struct _services_t {
    ingest_t *ingest;             // borrowed: its loop runs everything here
    store_writer_t *writer;       // borrowed: the database's one writer
    move_window_t *windows;       // what the agents report, fed by ingest's observer
    planner_t *planner;           // LPM plans
    zsock_t *commands;            // REP: API commands, served on the loop
    api_t *api;                   // HTTP API, NULL when not configured
};

//  First line of a secret file after the owner-only check; malloc'd.
static char *s_read_secret(const char *path, char *err, size_t errlen)
{
    if (keys_check_private(path, err, errlen) != 0)
        return NULL;
    FILE *file = fopen(path, "r");
    char line[512];
    if (!file || !fgets(line, sizeof line, file)) {
        snprintf(err, errlen, "cannot read %s", path);
        if (file)
            fclose(file);
        return NULL;
    }
    fclose(file);
    line[strcspn(line, "\r\n")] = '\0';
    char *copy = strdup(line);
    memset(line, 0, sizeof line);
    return copy;
}

//  The [hmc] sections; passwords are read into hmcs[i].options.password
//  (malloc'd: the caller wipes and frees them after planner_new copied them).
static int s_load_hmcs(config_t *config, planner_hmc_t *hmcs, size_t *count, char *err,
                       size_t errlen)
{
    *count = 0;
    for (size_t i = 0; i < SERVICES_MAX_HMCS; i++) {
        config_t *section = config_section(config, "hmc", i);
        if (!section)
            return 0;
        planner_hmc_t *h = &hmcs[(*count)++];
        memset(h, 0, sizeof *h);
        h->name = config_str(section, "name", NULL);
        h->options.url = config_str(section, "url", NULL);
        h->options.user = config_str(section, "user", NULL);
        h->options.ca_file = config_str(section, "ca_file", NULL);
        const char *password_file = config_str(section, "password_file", NULL);
        int64_t sessions = 4;
        int rc = config_bool(section, "insecure", false, &h->options.insecure, err, errlen);
        if (rc == 0)
            rc = config_int(section, "sessions", sessions, 1, 16, &sessions, err, errlen);
        h->sessions = (int) sessions;
        config_destroy(&section);
        if (rc != 0)
            return -1;
        if (!h->name || !h->options.url || !h->options.user || !password_file) {
            snprintf(err, errlen, "hmc section %zu: name, url, user and password_file are required",
                     i + 1);
            return -1;
        }
        if (h->options.insecure)
            log_warn("hmc %s: TLS verification is OFF (insecure = true): anyone on the path can"
                     " pose as this HMC", h->name);
        char *password = s_read_secret(password_file, err, errlen);
        if (!password)
            return -1;
        h->options.password = password;
    }
    return 0;
}

static void s_wipe_passwords(planner_hmc_t *hmcs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char *password = (char *) hmcs[i].options.password;
        if (password) {
            memset(password, 0, strlen(password));
            free(password);
        }
    }
}

//  move_window's Configs go out through ingest.
static int s_send_config(void *arg, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    return ingest_send_config(arg, key, fast_ms, for_ms);
}

//  The move windows, fed by every frame ingest reads from now on.
static int s_start_windows(services_t *self, char *err, size_t errlen)
{
    self->windows = move_window_new(s_send_config, self->ingest);
    if (!self->windows) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ingest_observer_t observer;
    move_window_observer(self->windows, &observer);
    ingest_set_observer(self->ingest, &observer);
    return 0;
}

static int s_start_planner(services_t *self, config_t *config, char *err, size_t errlen)
{
    planner_hmc_t hmcs[SERVICES_MAX_HMCS];
    size_t count = 0;
    planner_options_t opts = { 0 };
    int64_t fast = 50, verify = 30000, job = 4 * 3600 * 1000, poll = 1000, inventory = 5000;
    int64_t starts = 20, stale = 0;
    int rc = -1;
    if (s_load_hmcs(config, hmcs, &count, err, errlen) != 0
        || config_duration_ms(config, "planner/fast_heartbeat", fast, 10, 1000, &fast, err, errlen)
        || config_duration_ms(config, "planner/verify_timeout", verify, 1000, 3600000, &verify, err,
                              errlen)
        || config_duration_ms(config, "planner/job_timeout", job, 1000, 86400000, &job, err, errlen)
        || config_duration_ms(config, "planner/poll", poll, 100, 60000, &poll, err, errlen)
        || config_duration_ms(config, "planner/inventory", inventory, 500, 3600000, &inventory,
                              err, errlen)
        || config_int(config, "planner/starts_per_second", starts, 1, 1000, &starts, err, errlen)
        || config_duration_ms(config, "readiness/agent_stale", stale, 0, 86400000, &stale, err,
                              errlen))
        goto done;
    opts.agent_stale_ms = stale;
    opts.starts_per_s = starts;
    opts.poll_ms = poll;
    opts.inventory_ms = inventory;
    opts.hmcs = hmcs;
    opts.hmc_count = count;
    opts.fast_heartbeat_ms = (uint32_t) fast;
    opts.verify_timeout_ms = verify;
    opts.job_timeout_ms = job;
    self->planner = planner_new(self->ingest, self->windows, self->writer, &opts, err, errlen);
    rc = self->planner ? 0 : -1;
done:
    s_wipe_passwords(hmcs, count);
    return rc;
}

static int s_start_api(services_t *self, config_t *config, const char *db_path, char *err,
                       size_t errlen)
{
    const char *token_file = config_str(config, "api/token_file", NULL);
    if (!token_file) {
        log_info("no api/token_file configured: the HTTP API is off");
        return 0;
    }
    int64_t port;
    api_options_t opts = { .db_path = db_path, .token_file = token_file,
                           .command_endpoint = API_DEFAULT_COMMAND_ENDPOINT };
    opts.host = config_str(config, "api/bind", API_DEFAULT_HOST);
    if (config_int(config, "api/port", API_DEFAULT_PORT, 0, 65535, &port, err, errlen)
        || config_bool(config, "api/allow_remote", false, &opts.allow_remote, err, errlen))
        return -1;
    opts.port = (int) port;
    self->api = api_new(&opts, err, errlen);
    if (!self->api)
        return -1;
    log_info("HTTP API on %s:%d", opts.host, api_port(self->api));
    return 0;
}

services_t *services_new(config_t *config, ingest_t *ingest, store_writer_t *writer,
                         const char *db_path, char *err, size_t errlen)
{
    services_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->ingest = ingest;
    self->writer = writer;
    if (s_start_windows(self, err, errlen) != 0 || s_start_planner(self, config, err, errlen) != 0)
        goto fail;
    self->commands = commands_bind(API_DEFAULT_COMMAND_ENDPOINT, ingest_loop(ingest),
                                   self->planner, err, errlen);
    if (!self->commands || s_start_api(self, config, db_path, err, errlen) != 0)
        goto fail;
    return self;
fail:
    services_destroy(&self);
    return NULL;
}

void services_destroy(services_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    services_t *self = *self_p;
    api_destroy(&self->api);
    if (self->commands) {
        zloop_reader_end(ingest_loop(self->ingest), self->commands);
        zsock_destroy(&self->commands);
    }
    planner_destroy(&self->planner);
    if (self->windows) {
        ingest_set_observer(self->ingest, NULL);
        move_window_destroy(&self->windows);
    }
    free(self);
    *self_p = NULL;
}
