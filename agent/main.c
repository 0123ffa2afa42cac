/*  ferry-agent — reports a partition's facts, metrics, events and heartbeats
    to the ferry collector.

    ferry-agent run -c FILE [-v]   the daemon (foreground; systemd/SRC friendly)
    ferry-agent keygen DIR         create DIR/agent.cert and DIR/agent.cert_secret
    ferry-agent --version */
#include "agent_link.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "keys.h"
#include "linux_metrics.h"
#include "log.h"
#include "spool.h"

#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *collector;        // collector endpoint
    const char *collector_cert;   // collector's public certificate file
    const char *cert;             // the agent certificate, the NAME_secret file (mode 0600)
    const char *spool_dir;        // spool directory (owner-only)
    const char *platform;         // linux (aix arrives with the platform layer)
    const char *proc_root;        // /proc, or a fixture tree in tests
    int64_t spool_max;            // spool file bound in bytes
    int64_t heartbeat_ms;         // normal heartbeat interval
    int64_t metrics_ms;           // metrics interval
    int64_t ack_timeout_ms;       // resend unacked data after this long without acks
    int64_t sync_ms;              // spool fsync period for metrics
    int64_t max_frame;            // largest frame
    bool verbose;                 // debug logging
} agent_options_t;

typedef struct {
    agent_options_t opts;         // from the config file
    char hostname[256];           // gethostname()
    char boot_id[64];             // kernel boot id
    spool_t *spool;               // unacked messages
    zcert_t *cert;                // our key pair
    zcert_t *server_cert;         // the collector's public key
    agent_link_options_t link_opts; // link configuration (borrowed by link)
    agent_link_t *link;           // connection to the collector
    zloop_t *loop;                // event loop
    int heartbeat_timer;          // zloop timer id
    int64_t heartbeat_cur_ms;     // interval in force now
    int64_t heartbeat_due_ms;     // monotonic time the next heartbeat is expected
    int64_t fast_until_ms;        // monotonic end of a move window, 0 = none
    uint32_t stall_ms;            // largest lateness of the heartbeat timer since the last heartbeat
    uint64_t tick;                // heartbeats sent
    int metrics_timer;            // zloop timer id
    linux_sample_t prev;          // previous metrics sample
    int64_t prev_ms;              // monotonic time of prev
} agent_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry-agent run -c FILE [-v]   run the agent\n"
            "       ferry-agent keygen DIR         create DIR/agent.cert and DIR/agent.cert_secret\n"
            "       ferry-agent --version\n");
}

static int s_load_options(config_t *config, agent_options_t *o, char *err, size_t errlen)
{
    o->collector = config_str(config, "agent/collector", "tcp://127.0.0.1:5560");
    o->collector_cert = config_str(config, "agent/collector_cert", "/etc/ferry/keys/collector.cert");
    o->cert = config_str(config, "agent/cert", "/etc/ferry/keys/agent.cert_secret");
    o->spool_dir = config_str(config, "agent/spool_dir", "/var/spool/ferry");
    o->platform = config_str(config, "agent/platform", "linux");
    o->proc_root = config_str(config, "agent/proc_root", "/proc");
    if (config_size(config, "agent/spool_max", SPOOL_DEFAULT_MAX_BYTES, 64 << 10, (int64_t) 4 << 30,
                    &o->spool_max, err, errlen)
        || config_duration_ms(config, "agent/heartbeat", 5000, 10, 3600000, &o->heartbeat_ms, err, errlen)
        || config_duration_ms(config, "agent/metrics_interval", 10000, 10, 86400000, &o->metrics_ms, err, errlen)
        || config_duration_ms(config, "agent/ack_timeout", 10000, 100, 3600000, &o->ack_timeout_ms, err, errlen)
        || config_duration_ms(config, "agent/spool_sync", 1000, 10, 60000, &o->sync_ms, err, errlen)
        || config_size(config, "agent/max_frame", CODEC_DEFAULT_MAX_FRAME, 1024, 64 << 20, &o->max_frame, err, errlen)
        || config_bool(config, "agent/verbose", o->verbose, &o->verbose, err, errlen))
        return -1;
    if (strcmp(o->platform, "linux") != 0) {
        snprintf(err, errlen, "agent/platform: \"%s\" is not supported by this build (use linux)", o->platform);
        return -1;
    }
    return 0;
}

static void s_read_boot_id(agent_t *self)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sys/kernel/random/boot_id", self->opts.proc_root);
    snprintf(self->boot_id, sizeof self->boot_id, "unknown");
    FILE *file = fopen(path, "re");
    if (!file)
        return;
    if (fgets(self->boot_id, sizeof self->boot_id, file))
        self->boot_id[strcspn(self->boot_id, "\n")] = '\0';
    fclose(file);
}

static void s_send_facts(agent_t *self)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Facts facts = FERRY__FACTS__INIT;
    char json[1024];
    snprintf(json, sizeof json, "{\"platform\":\"%s\",\"hostname\":\"%s\",\"boot_id\":\"%s\"}",
             self->opts.platform, self->hostname, self->boot_id);
    zdigest_t *digest = zdigest_new();
    zdigest_update(digest, (const byte *) json, strlen(json));
    facts.platform = (char *) self->opts.platform;
    facts.hostname = self->hostname;
    facts.boot_id = self->boot_id;
    facts.json = json;
    facts.digest = (char *) zdigest_string(digest);
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &facts;
    agent_link_send(self->link, &env, SPOOL_CLASS_OTHER);
    zdigest_destroy(&digest);
}

static int s_on_metrics(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    linux_sample_t cur;
    linux_sample_read(self->opts.proc_root, &cur);
    int64_t now = clock_mono_ms();

    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__CpuMetrics cpu = FERRY__CPU_METRICS__INIT;
    Ferry__MemoryMetrics memory = FERRY__MEMORY_METRICS__INIT;
    Ferry__LoadMetrics load = FERRY__LOAD_METRICS__INIT;
    metrics.interval_s = (double) (now - self->prev_ms) / 1000.0;
    if (cur.has_cpu) {
        linux_cpu_pct(&self->prev, &cur, &cpu.user_pct, &cpu.sys_pct, &cpu.wait_pct, &cpu.idle_pct);
        metrics.cpu = &cpu;
    }
    if (cur.has_memory) {
        memory.real_total_mb = (double) cur.mem_total_kb / 1024.0;
        memory.real_free_mb = (double) cur.mem_available_kb / 1024.0;
        memory.paging_total_mb = (double) cur.swap_total_kb / 1024.0;
        memory.paging_free_mb = (double) cur.swap_free_kb / 1024.0;
        metrics.memory = &memory;
    }
    if (cur.has_load) {
        load.avg1 = cur.load1, load.avg5 = cur.load5, load.avg15 = cur.load15;
        metrics.load = &load;
        metrics.processes = cur.processes;
    }
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &metrics;
    agent_link_send(self->link, &env, SPOOL_CLASS_METRICS);
    self->prev = cur;
    self->prev_ms = now;
    return 0;
}

static int s_on_heartbeat(zloop_t *loop, int timer_id, void *arg);

static void s_set_heartbeat(agent_t *self, int64_t interval_ms)
{
    if (self->heartbeat_timer >= 0)
        zloop_timer_end(self->loop, self->heartbeat_timer);
    self->heartbeat_cur_ms = interval_ms;
    self->heartbeat_due_ms = clock_mono_ms() + interval_ms;
    self->heartbeat_timer = zloop_timer(self->loop, (size_t) interval_ms, 0, s_on_heartbeat, self);
}

static int s_on_heartbeat(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_t *self = arg;
    int64_t now = clock_mono_ms();
    //  A late timer means the process did not run: that is the stall the
    //  collector adds to its own gap measurement during a move.
    int64_t late = now - self->heartbeat_due_ms;
    if (late > (int64_t) self->stall_ms)
        self->stall_ms = (uint32_t) late;
    self->heartbeat_due_ms = now + self->heartbeat_cur_ms;

    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    hb.interval_ms = (uint32_t) self->heartbeat_cur_ms;
    hb.stall_ms = self->stall_ms;
    hb.tick = ++self->tick;
    agent_link_heartbeat(self->link, &hb);
    self->stall_ms = 0;
    if (self->fast_until_ms && now >= self->fast_until_ms) {
        self->fast_until_ms = 0;
        log_info("move window over: heartbeat back to %" PRId64 " ms", self->opts.heartbeat_ms);
        s_set_heartbeat(self, self->opts.heartbeat_ms);
    }
    return 0;
}

static void s_on_config(agent_t *self, const Ferry__Config *config)
{
    if (config->heartbeat_ms >= 10)
        self->opts.heartbeat_ms = config->heartbeat_ms;
    if (config->metrics_ms >= 10 && config->metrics_ms != self->opts.metrics_ms) {
        self->opts.metrics_ms = config->metrics_ms;
        zloop_timer_end(self->loop, self->metrics_timer);
        self->metrics_timer = zloop_timer(self->loop, config->metrics_ms, 0, s_on_metrics, self);
    }
    if (config->fast_heartbeat_ms >= 10 && config->fast_for_ms > 0) {
        log_info("move window: heartbeat every %u ms for %u ms", config->fast_heartbeat_ms,
                 config->fast_for_ms);
        self->fast_until_ms = clock_mono_ms() + config->fast_for_ms;
        s_set_heartbeat(self, config->fast_heartbeat_ms);
    }
    else if (!self->fast_until_ms)
        s_set_heartbeat(self, self->opts.heartbeat_ms);
}

static void s_on_message(const Ferry__Envelope *env, void *arg)
{
    agent_t *self = arg;
    if (env->body_case == FERRY__ENVELOPE__BODY_CONFIG)
        s_on_config(self, env->config);
    else if (env->body_case == FERRY__ENVELOPE__BODY_JOB_REQUEST) {
        //  No job kinds exist in this build: refuse explicitly so the collector
        //  does not wait for a job that will never run.
        Ferry__Envelope reply = FERRY__ENVELOPE__INIT;
        Ferry__JobUpdate update = FERRY__JOB_UPDATE__INIT;
        update.job_id = env->job_request->job_id;
        update.state = "failed";
        update.message = "this agent does not run that kind of job";
        update.exit_code = -1;
        reply.body_case = FERRY__ENVELOPE__BODY_JOB_UPDATE;
        reply.job_update = &update;
        log_warn("refused job %s of kind %s: not supported", env->job_request->job_id,
                 env->job_request->kind);
        agent_link_send(self->link, &reply, SPOOL_CLASS_OTHER);
    }
}

static int s_start(agent_t *self, char *err, size_t errlen)
{
    if (keys_check_private(self->opts.spool_dir, err, errlen) != 0)
        return -1;
    self->cert = keys_load_secret(self->opts.cert, err, errlen);
    if (!self->cert)
        return -1;
    self->server_cert = keys_load_public(self->opts.collector_cert, err, errlen);
    if (!self->server_cert)
        return -1;
    self->spool = spool_open(self->opts.spool_dir, (size_t) self->opts.spool_max, err, errlen);
    if (!self->spool)
        return -1;
    if (gethostname(self->hostname, sizeof self->hostname) != 0)
        snprintf(self->hostname, sizeof self->hostname, "unknown");
    s_read_boot_id(self);

    self->loop = zloop_new();
    self->link_opts = (agent_link_options_t){
        .endpoint = self->opts.collector,
        .server_key = zcert_public_txt(self->server_cert),
        .cert = self->cert,
        .spool = self->spool,
        .max_frame = (size_t) self->opts.max_frame,
        .ack_timeout_ms = (int) self->opts.ack_timeout_ms,
        .sync_ms = (int) self->opts.sync_ms,
        .platform = self->opts.platform,
        .hostname = self->hostname,
        .boot_id = self->boot_id,
        .handler = s_on_message,
        .handler_arg = self,
    };
    self->link = agent_link_new(&self->link_opts, self->loop, err, errlen);
    if (!self->link)
        return -1;
    log_info("agent %s: reporting to %s, spool %s (%zu unacked, next seq %" PRIu64 ")",
             zcert_public_txt(self->cert), self->opts.collector, self->opts.spool_dir,
             spool_count(self->spool), spool_next_seq(self->spool));
    self->heartbeat_timer = -1;
    s_set_heartbeat(self, self->opts.heartbeat_ms);
    linux_sample_read(self->opts.proc_root, &self->prev);
    self->prev_ms = clock_mono_ms();
    self->metrics_timer = zloop_timer(self->loop, (size_t) self->opts.metrics_ms, 0, s_on_metrics, self);
    s_send_facts(self);
    return 0;
}

static void s_stop(agent_t *self)
{
    agent_link_destroy(&self->link);
    zloop_destroy(&self->loop);
    spool_destroy(&self->spool);
    zcert_destroy(&self->cert);
    zcert_destroy(&self->server_cert);
}

static int s_run(const char *config_path, bool verbose)
{
    char err[512];
    agent_t self = { .opts.verbose = verbose };
    config_t *config = config_load(config_path, err, sizeof err);
    if (!config) {
        log_error("%s", err);
        return 1;
    }
    int rc = 1;
    if (s_load_options(config, &self.opts, err, sizeof err) != 0) {
        log_error("%s: %s", config_path, err);
        goto done;
    }
    log_init("ferry-agent", self.opts.verbose, false);
    //  A daemon outlives its terminal; a closed peer must not kill it either.
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (s_start(&self, err, sizeof err) != 0) {
        log_error("%s", err);
        goto done;
    }
    //  A handled signal (SIGRECONFIG on AIX) interrupts zloop's poll and makes
    //  it return; only SIGINT/SIGTERM (zsys_interrupted) end the agent.
    while (zloop_start(self.loop) == 0 && !zsys_interrupted)
        ;
    log_info("stopping: %zu messages still unacked stay in the spool", spool_count(self.spool));
    rc = 0;
done:
    s_stop(&self);
    config_destroy(&config);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("ferry-agent", false, false);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("ferry-agent %s\n", FERRY_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        s_usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
        char err[512];
        if (keys_generate(argv[2], "agent.cert", err, sizeof err) != 0) {
            fprintf(stderr, "ferry-agent: %s\n", err);
            return 1;
        }
        printf("wrote %s/agent.cert (copy it to the collector's allowed_agents directory)"
               " and %s/agent.cert_secret\n", argv[2], argv[2]);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        const char *config_path = NULL;
        bool verbose = false;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
                config_path = argv[++i];
            else if (strcmp(argv[i], "-v") == 0)
                verbose = true;
            else {
                fprintf(stderr, "ferry-agent: unknown argument '%s'\n", argv[i]);
                s_usage(stderr);
                return 2;
            }
        }
        if (config_path)
            return s_run(config_path, verbose);
    }
    s_usage(stderr);
    return 2;
}
