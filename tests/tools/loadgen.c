/*  ferry-loadgen — simulated agents for benchmarks and robustness tests.

    ferry-loadgen keys --count N --out DIR --allowed DIR2 [--first K]
    ferry-loadgen run --endpoint EP --server-cert FILE --keys DIR [--first K] --agents N
                      (--messages M | --duration S) [--window W] [--rate R] [--wait S]
                      [--no-ack] [--connect-wait S] [--hold] [--io-threads T]
    ferry-loadgen garbage --endpoint EP --server-cert FILE --keys DIR --first K
                      [--max-frame BYTES] [--wait S]
    ferry-loadgen poison --endpoint EP --server-cert FILE --keys DIR --first K
                      --duration S [--resend-ms MS] [--wait S]

    Each simulated agent is a real CURVE DEALER with its own key pair. One
    thread drives them all: epoll over the sockets' ZMQ_FDs plus a list of
    agents known to be ready, so a round costs O(active agents); zmq_poll
    costs O(N) per wake-up and dominated the profile at 2,000 sockets.
    Metrics start once every agent has connected (or --connect-wait ran out),
    so the figures are steady state; with --hold they start on SIGUSR1, so
    several processes start together. Latency = send -> ack of each seq, so
    it includes the collector's commit. */
#include "clock.h"
#include "codec.h"
#include "keys.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY_NAME "agent-%06ld.cert"
#define S_KEY_INDEX_MAX 999999L
#define S_FRAME_MAX 4096              // our frames are a few hundred bytes
#define S_HIST_BUCKET_US 100          // 0.1 ms latency resolution
#define S_HIST_BUCKETS 100000         // up to 10 s; the last bucket holds everything above
#define S_POLL_MAX_MS 100             // re-check deadlines and signals at least this often
#define S_EPOLL_BATCH 512             // events taken per epoll_wait
#define S_RCVHWM 1000                 // acks are tiny and few
#define S_NOACK_SNDHWM 100            // --no-ack: enough to keep the pipe full
#define S_BURST_MAX 64                // sends per agent per poll round, for fairness
#define S_DISKS_MAX 4
#define S_NETS_MAX 2
#define S_GARBAGE_FRAMES 7
#define S_GARBAGE_VALID 10

typedef enum { S_OPT_STR, S_OPT_LONG, S_OPT_DOUBLE, S_OPT_FLAG } s_opt_kind_t;

typedef struct {
    const char *endpoint;       // collector endpoint
    const char *server_cert;    // collector public certificate
    const char *keys_dir;       // agent-NNNNNN.cert(_secret) files
    const char *out_dir;        // keys: where to write key pairs
    const char *allowed_dir;    // keys: where to copy public certificates
    long first;                 // index of the first key used
    long agents;                // simulated agents
    long count;                 // keys: how many pairs
    long messages;              // per agent; 0 = until --duration
    double duration_s;          // sending period; 0 = until --messages
    long window;                // unacked messages in flight per agent
    double rate;                // per agent msgs/s; 0 = as fast as possible
    double wait_s;              // how long to wait for outstanding acks
    double connect_wait_s;      // how long to wait for every agent to connect
    bool no_ack;                // bare sink: nothing ever comes back
    bool hold;                  // after connecting, wait for SIGUSR1 to send
    long max_frame;             // garbage: the receiver's frame limit
    long io_threads;            // ZeroMQ I/O threads
    long resend_ms;             // poison: resend an unacked frame this often
} opts_t;

typedef struct {
    const char *name;
    s_opt_kind_t kind;
    size_t offset;
    double min, max;
} s_optdef_t;

static const s_optdef_t s_optdefs[] = {
    { "--endpoint", S_OPT_STR, offsetof(opts_t, endpoint), 0, 0 },
    { "--server-cert", S_OPT_STR, offsetof(opts_t, server_cert), 0, 0 },
    { "--keys", S_OPT_STR, offsetof(opts_t, keys_dir), 0, 0 },
    { "--out", S_OPT_STR, offsetof(opts_t, out_dir), 0, 0 },
    { "--allowed", S_OPT_STR, offsetof(opts_t, allowed_dir), 0, 0 },
    { "--first", S_OPT_LONG, offsetof(opts_t, first), 0, S_KEY_INDEX_MAX },
    { "--agents", S_OPT_LONG, offsetof(opts_t, agents), 1, S_KEY_INDEX_MAX + 1 },
    { "--count", S_OPT_LONG, offsetof(opts_t, count), 1, S_KEY_INDEX_MAX + 1 },
    { "--messages", S_OPT_LONG, offsetof(opts_t, messages), 1, 1e15 },
    { "--duration", S_OPT_DOUBLE, offsetof(opts_t, duration_s), 0.001, 1e7 },
    { "--window", S_OPT_LONG, offsetof(opts_t, window), 1, 1 << 20 },
    { "--rate", S_OPT_DOUBLE, offsetof(opts_t, rate), 0, 1e9 },
    { "--wait", S_OPT_DOUBLE, offsetof(opts_t, wait_s), 0, 1e7 },
    { "--no-ack", S_OPT_FLAG, offsetof(opts_t, no_ack), 0, 0 },
    { "--connect-wait", S_OPT_DOUBLE, offsetof(opts_t, connect_wait_s), 0, 1e7 },
    { "--hold", S_OPT_FLAG, offsetof(opts_t, hold), 0, 0 },
    { "--max-frame", S_OPT_LONG, offsetof(opts_t, max_frame), 1, 1 << 30 },
    { "--io-threads", S_OPT_LONG, offsetof(opts_t, io_threads), 1, 64 },
    { "--resend-ms", S_OPT_LONG, offsetof(opts_t, resend_ms), 1, 60000 },
};

//  Protobuf views of one Metrics sample, all on the stack.
typedef struct {
    Ferry__Metrics metrics;
    Ferry__CpuMetrics cpu;
    Ferry__MemoryMetrics memory;
    Ferry__LoadMetrics load;
    Ferry__DiskMetrics disks[S_DISKS_MAX];
    Ferry__DiskMetrics *disk_ptrs[S_DISKS_MAX];
    Ferry__NetMetrics nets[S_NETS_MAX];
    Ferry__NetMetrics *net_ptrs[S_NETS_MAX];
} sample_t;

typedef struct {
    void *sock;                 // CURVE DEALER
    long index;                 // key index
    uint64_t stream_id;         // random per run, so the collector restarts tracking
    uint64_t next_seq;          // next metrics seq to send
    uint64_t acked;             // highest seq acked
    int64_t next_due_us;        // rate limit: earliest next send
    int64_t *sent_us;           // send time of seq s at [s % window]
    bool connected;             // handshake done (ZMQ_IMMEDIATE) and Hello left
    bool queued;                // in the ready list
} agent_t;

typedef enum { S_CONNECTING, S_HOLDING, S_SENDING, S_WAITING, S_DONE } phase_t;

typedef struct {
    uint64_t counts[S_HIST_BUCKETS + 1];
    uint64_t total;
} hist_t;

typedef struct {
    const opts_t *opts;
    void *ctx;                  // own libzmq context: no czmq actors here
    agent_t *agents;
    int epfd;                   // epoll over every agent's ZMQ_FD
    long *ready;                // agents to service in the next round
    long *later;                // spare list, swapped with ready each round
    long ready_count;
    int64_t due_min_us;         // earliest rate-limited send, 0 = none waiting
    int64_t *sent_times;        // agents * window
    hist_t *hist;
    uint64_t rng;               // xorshift state
    uint8_t frame[S_FRAME_MAX];
    phase_t phase;
    long connected;             // agents whose Hello left
    long finished;              // agents that sent --messages
    uint64_t sent;              // metrics sent
    uint64_t acked;             // metrics acked
    uint64_t bad_replies;       // undecodable or impossible replies
    int64_t start_us;           // run start
    int64_t first_send_us;      // first metrics
    int64_t last_send_us;
    int64_t last_ack_us;
    int64_t last_progress_us;   // latest send or ack, to give up on a dead peer
    int64_t connect_stop_us;    // end of the connect phase
    int64_t send_stop_us;       // end of the sending period, 0 = none
    int64_t send_end_us;        // when sending actually stopped
    int64_t interval_us;        // per agent send interval from --rate, 0 = none
} run_t;

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_go;

static void s_on_signal(int sig)
{
    if (sig == SIGUSR1)
        s_go = 1;
    else
        s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry-loadgen keys --count N --out DIR --allowed DIR2 [--first K]\n"
            "       ferry-loadgen run --endpoint EP --server-cert FILE --keys DIR [--first K]\n"
            "                     --agents N (--messages M | --duration S) [--window W=256]\n"
            "                     [--rate R=0] [--wait S=30] [--no-ack] [--connect-wait S=60]\n"
            "                     [--hold] [--io-threads T=1]\n"
            "       ferry-loadgen garbage --endpoint EP --server-cert FILE --keys DIR --first K\n"
            "                     [--max-frame BYTES=1048576] [--wait S=30]\n"
            "       ferry-loadgen poison --endpoint EP --server-cert FILE --keys DIR --first K\n"
            "                     --duration S [--resend-ms MS=20] [--wait S=30]\n"
            "run exits 1 when acks are missing or an agent never connected.\n");
}

static const s_optdef_t *s_optdef(const char *name)
{
    for (size_t i = 0; i < sizeof s_optdefs / sizeof s_optdefs[0]; i++)
        if (strcmp(s_optdefs[i].name, name) == 0)
            return &s_optdefs[i];
    return NULL;
}

static int s_set_number(opts_t *opts, const s_optdef_t *def, const char *text)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || *end || value < def->min || value > def->max) {
        fprintf(stderr, "ferry-loadgen: %s: '%s' is not a number in [%g, %g]\n", def->name,
                text, def->min, def->max);
        return -1;
    }
    char *field = (char *) opts + def->offset;
    if (def->kind == S_OPT_LONG) {
        long whole = (long) value;
        if ((double) whole != value) {
            fprintf(stderr, "ferry-loadgen: %s: '%s' is not a whole number\n", def->name, text);
            return -1;
        }
        memcpy(field, &whole, sizeof whole);
    }
    else
        memcpy(field, &value, sizeof value);
    return 0;
}

static int s_parse(int argc, char **argv, opts_t *opts)
{
    *opts = (opts_t) { .window = 256, .wait_s = 30, .connect_wait_s = 60,
                       .max_frame = CODEC_DEFAULT_MAX_FRAME, .io_threads = 1,
                       .resend_ms = 20 };
    for (int i = 2; i < argc; i++) {
        const s_optdef_t *def = s_optdef(argv[i]);
        if (!def) {
            fprintf(stderr, "ferry-loadgen: unknown argument '%s'\n", argv[i]);
            return -1;
        }
        if (def->kind == S_OPT_FLAG) {
            *(bool *) ((char *) opts + def->offset) = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ferry-loadgen: %s needs a value\n", def->name);
            return -1;
        }
        const char *value = argv[++i];
        if (def->kind == S_OPT_STR)
            memcpy((char *) opts + def->offset, &value, sizeof value);
        else if (s_set_number(opts, def, value) != 0)
            return -1;
    }
    return 0;
}

static int s_require(const char *value, const char *name)
{
    if (value)
        return 0;
    fprintf(stderr, "ferry-loadgen: %s is required\n", name);
    return -1;
}

//  Each socket costs about two descriptors; take everything we are allowed.
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open file limit: %s", strerror(errno));
}

static uint64_t s_random64(void)
{
    uint64_t value = 0;
    while (value == 0)
        if (getrandom(&value, sizeof value, 0) != (ssize_t) sizeof value)
            value = (uint64_t) clock_mono_us() * 0x9E3779B97F4A7C15ULL ^ (uint64_t) getpid();
    return value;
}

//  xorshift64*: cheap, good enough for plausible figures.
static uint64_t s_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double s_uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * (double) (s_rand(state) >> 11) / 9007199254740992.0;
}

static int s_key_path(char *buf, size_t size, const char *dir, long index, const char *suffix)
{
    char name[32];
    snprintf(name, sizeof name, S_KEY_NAME, index);
    if (snprintf(buf, size, "%s/%s%s", dir, name, suffix) >= (int) size) {
        fprintf(stderr, "ferry-loadgen: %s/%s%s: path too long\n", dir, name, suffix);
        return -1;
    }
    return 0;
}

// --------------------------------------------------------------------------
//  keys

static int s_mkdir(const char *dir, mode_t mode)
{
    if (mkdir(dir, mode) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "ferry-loadgen: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
}

//  Create the secret file 0600 first so the key is never readable by others.
static int s_save_secret(zcert_t *cert, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, 0600);
    close(fd);
    return rc == 0 ? zcert_save_secret(cert, path) : -1;
}

static int s_keys_one(const opts_t *opts, long index)
{
    char pub[PATH_MAX], sec[PATH_MAX], allowed[PATH_MAX];
    if (s_key_path(pub, sizeof pub, opts->out_dir, index, "") != 0
        || s_key_path(sec, sizeof sec, opts->out_dir, index, "_secret") != 0
        || s_key_path(allowed, sizeof allowed, opts->allowed_dir, index, "") != 0)
        return -1;
    zcert_t *cert = zcert_new();
    if (!cert)
        return -1;
    int rc = 0;
    if (s_save_secret(cert, sec) != 0 || zcert_save_public(cert, pub) != 0
        || zcert_save_public(cert, allowed) != 0) {
        fprintf(stderr, "ferry-loadgen: cannot write key %ld: %s\n", index, strerror(errno));
        rc = -1;
    }
    zcert_destroy(&cert);
    return rc;
}

static int s_cmd_keys(const opts_t *opts)
{
    if (s_require(opts->out_dir, "--out") || s_require(opts->allowed_dir, "--allowed"))
        return 2;
    if (opts->count == 0 || opts->first + opts->count - 1 > S_KEY_INDEX_MAX) {
        fprintf(stderr, "ferry-loadgen: --count 1..%ld is required\n", S_KEY_INDEX_MAX + 1);
        return 2;
    }
    if (s_mkdir(opts->out_dir, 0700) != 0 || s_mkdir(opts->allowed_dir, 0755) != 0)
        return 1;
    int64_t start = clock_mono_ms();
    for (long i = 0; i < opts->count; i++)
        if (s_keys_one(opts, opts->first + i) != 0)
            return 1;
    fprintf(stderr, "ferry-loadgen: wrote %ld key pairs in %.2f s\n", opts->count,
            (double) (clock_mono_ms() - start) / 1000.0);
    return 0;
}

// --------------------------------------------------------------------------
//  Envelopes

static const char *s_disk_names[S_DISKS_MAX] = { "hdisk0", "hdisk1", "hdisk2", "hdisk3" };
static const char *s_net_names[S_NETS_MAX] = { "en0", "en1" };

static void s_sample_cpu(sample_t *s, uint64_t *rng)
{
    ferry__cpu_metrics__init(&s->cpu);
    s->cpu.user_pct = s_uniform(rng, 2, 60);
    s->cpu.sys_pct = s_uniform(rng, 1, 15);
    s->cpu.wait_pct = s_uniform(rng, 0, 10);
    s->cpu.idle_pct = 100.0 - s->cpu.user_pct - s->cpu.sys_pct - s->cpu.wait_pct;
    s->cpu.physc = s_uniform(rng, 0.05, 4);
    s->cpu.entc_pct = s_uniform(rng, 5, 150);
    s->cpu.has_physc = true;
}

static void s_sample_memory(sample_t *s, uint64_t *rng, long index)
{
    ferry__memory_metrics__init(&s->memory);
    s->memory.real_total_mb = (double) (16384L << (index % 3));
    s->memory.real_free_mb = s_uniform(rng, 0.05, 0.6) * s->memory.real_total_mb;
    s->memory.paging_total_mb = 8192;
    s->memory.paging_free_mb = s_uniform(rng, 7000, 8192);
    s->memory.pgins_per_s = s_uniform(rng, 0, 50);
    s->memory.pgouts_per_s = s_uniform(rng, 0, 20);
}

//  The shape an agent sends: 2-4 disks and 1-2 adapters, fixed per agent.
static void s_sample_devices(sample_t *s, uint64_t *rng, long index)
{
    size_t disks = 2 + (size_t) (index % 3), nets = 1 + (size_t) (index % 2);
    for (size_t i = 0; i < disks; i++) {
        Ferry__DiskMetrics *d = &s->disks[i];
        ferry__disk_metrics__init(d);
        d->name = (char *) s_disk_names[i];
        d->read_kbps = s_uniform(rng, 0, 20000);
        d->write_kbps = s_uniform(rng, 0, 20000);
        d->xfers_per_s = s_uniform(rng, 0, 800);
        d->busy_pct = s_uniform(rng, 0, 90);
        s->disk_ptrs[i] = d;
    }
    for (size_t i = 0; i < nets; i++) {
        Ferry__NetMetrics *n = &s->nets[i];
        ferry__net_metrics__init(n);
        n->name = (char *) s_net_names[i];
        n->read_kbps = s_uniform(rng, 0, 50000);
        n->write_kbps = s_uniform(rng, 0, 50000);
        n->ipackets_per_s = s_uniform(rng, 0, 9000);
        n->opackets_per_s = s_uniform(rng, 0, 9000);
        n->ierrors = s_rand(rng) % 4;
        s->net_ptrs[i] = n;
    }
    s->metrics.n_disks = disks;
    s->metrics.disks = s->disk_ptrs;
    s->metrics.n_net = nets;
    s->metrics.net = s->net_ptrs;
}

static void s_sample_fill(sample_t *s, uint64_t *rng, long index)
{
    ferry__metrics__init(&s->metrics);
    s->metrics.interval_s = 10.0;
    s_sample_cpu(s, rng);
    s_sample_memory(s, rng, index);
    s_sample_devices(s, rng, index);
    ferry__load_metrics__init(&s->load);
    s->load.avg1 = s_uniform(rng, 0, 8);
    s->load.avg5 = s_uniform(rng, 0, 8);
    s->load.avg15 = s_uniform(rng, 0, 8);
    s->metrics.cpu = &s->cpu;
    s->metrics.memory = &s->memory;
    s->metrics.load = &s->load;
    s->metrics.processes = 80 + (uint32_t) (s_rand(rng) % 400);
}

//  Pack env into buf; 0 when it does not fit.
static size_t s_pack(const Ferry__Envelope *env, uint8_t *buf, size_t size)
{
    if (ferry__envelope__get_packed_size(env) > size)
        return 0;
    return ferry__envelope__pack(env, buf);
}

static size_t s_pack_metrics(uint8_t *buf, size_t size, uint64_t *rng, long index, uint64_t seq,
                             uint64_t first_seq)
{
    sample_t sample;
    Ferry__Envelope env;
    s_sample_fill(&sample, rng, index);
    codec_envelope_init(&env, seq);
    env.first_seq = first_seq;
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &sample.metrics;
    return s_pack(&env, buf, size);
}

static size_t s_pack_hello(uint8_t *buf, size_t size, long index, uint64_t stream_id)
{
    char hostname[32], boot_id[40];
    Ferry__Hello hello = FERRY__HELLO__INIT;
    Ferry__Envelope env;
    snprintf(hostname, sizeof hostname, "loadgen-%06ld", index);
    snprintf(boot_id, sizeof boot_id, "%016" PRIx64, stream_id);
    hello.agent_version = (char *) FERRY_VERSION;
    hello.platform = (char *) "sim";
    hello.boot_id = boot_id;
    hello.hostname = hostname;
    hello.stream_id = stream_id;
    hello.next_seq = 1;
    codec_envelope_init(&env, 0);
    env.body_case = FERRY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return s_pack(&env, buf, size);
}

// --------------------------------------------------------------------------
//  Sockets

//  ZMQ_IMMEDIATE: sends fail until the CURVE handshake (and ZAP) succeeded, so
//  the first Hello that leaves proves the agent is connected.
static void *s_socket_open(void *ctx, zcert_t *cert, const uint8_t *server_key,
                           const char *endpoint, int sndhwm)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    if (!sock)
        return NULL;
    int linger = 0, immediate = 1, rcvhwm = S_RCVHWM;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, 32) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, zcert_public_key(cert), 32) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, zcert_secret_key(cert), 32) != 0
        || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_setsockopt(sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0
        || zmq_setsockopt(sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0
        || zmq_setsockopt(sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0
        || zmq_connect(sock, endpoint) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void *s_agent_socket(void *ctx, const opts_t *opts, const uint8_t *server_key, long index,
                            int sndhwm)
{
    char path[PATH_MAX], err[512];
    if (s_key_path(path, sizeof path, opts->keys_dir, index, "_secret") != 0)
        return NULL;
    zcert_t *cert = keys_load_secret(path, err, sizeof err);
    if (!cert) {
        fprintf(stderr, "ferry-loadgen: %s\n", err);
        return NULL;
    }
    void *sock = s_socket_open(ctx, cert, server_key, opts->endpoint, sndhwm);
    if (!sock)
        fprintf(stderr, "ferry-loadgen: cannot connect to %s: %s\n", opts->endpoint,
                zmq_strerror(zmq_errno()));
    zcert_destroy(&cert);
    return sock;
}

static int s_server_key(const opts_t *opts, uint8_t key[32])
{
    char err[512];
    zcert_t *cert = keys_load_public(opts->server_cert, err, sizeof err);
    if (!cert) {
        fprintf(stderr, "ferry-loadgen: %s\n", err);
        return -1;
    }
    memcpy(key, zcert_public_key(cert), 32);
    zcert_destroy(&cert);
    return 0;
}

static void *s_context(const opts_t *opts, long sockets)
{
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return NULL;
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, (int) opts->io_threads);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int) sockets + 16);
    return ctx;
}

static int s_common_checks(const opts_t *opts)
{
    if (s_require(opts->endpoint, "--endpoint") || s_require(opts->server_cert, "--server-cert")
        || s_require(opts->keys_dir, "--keys"))
        return -1;
    return 0;
}

// --------------------------------------------------------------------------
//  Latency histogram

static void s_hist_add(hist_t *hist, int64_t us)
{
    int64_t bucket = us < 0 ? 0 : us / S_HIST_BUCKET_US;
    if (bucket > S_HIST_BUCKETS)
        bucket = S_HIST_BUCKETS;
    hist->counts[bucket]++;
    hist->total++;
}

//  Upper edge of the bucket holding the given fraction, in ms.
static double s_hist_ms(const hist_t *hist, double fraction)
{
    if (hist->total == 0)
        return 0;
    uint64_t rank = (uint64_t) (fraction * (double) hist->total);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i <= S_HIST_BUCKETS; i++) {
        seen += hist->counts[i];
        if (seen >= rank)
            return (double) ((i + 1) * S_HIST_BUCKET_US) / 1000.0;
    }
    return (double) ((S_HIST_BUCKETS + 1) * S_HIST_BUCKET_US) / 1000.0;
}

// --------------------------------------------------------------------------
//  run

static void s_run_destroy(run_t *r)
{
    for (long i = 0; r->agents && i < r->opts->agents; i++)
        if (r->agents[i].sock)
            zmq_close(r->agents[i].sock);
    if (r->ctx)
        zmq_ctx_term(r->ctx);
    if (r->epfd >= 0)
        close(r->epfd);
    free(r->agents);
    free(r->ready);
    free(r->later);
    free(r->sent_times);
    free(r->hist);
}

//  Level-triggered: the fd stays readable until libzmq has processed its commands.
static int s_watch(int epfd, void *sock, size_t index)
{
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
        return -1;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = index };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int s_run_open(run_t *r)
{
    const opts_t *opts = r->opts;
    uint8_t server_key[32];
    size_t n = (size_t) opts->agents;
    //  The window fits the send queue; --no-ack has no window, only the HWM.
    int sndhwm = opts->no_ack ? S_NOACK_SNDHWM : (int) opts->window + 16;
    r->agents = calloc(n, sizeof *r->agents);
    r->ready = calloc(n, sizeof *r->ready);
    r->later = calloc(n, sizeof *r->later);
    r->sent_times = calloc(n * (size_t) opts->window, sizeof *r->sent_times);
    r->hist = calloc(1, sizeof *r->hist);
    r->ctx = s_context(opts, opts->agents);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!r->agents || !r->ready || !r->later || !r->sent_times || !r->hist || !r->ctx
        || r->epfd < 0)
        return -1;
    if (s_server_key(opts, server_key) != 0)
        return -1;
    r->rng = s_random64();
    for (size_t i = 0; i < n; i++) {
        agent_t *a = &r->agents[i];
        a->index = opts->first + (long) i;
        a->sock = s_agent_socket(r->ctx, opts, server_key, a->index, sndhwm);
        if (!a->sock)
            return -1;
        a->stream_id = s_random64();
        a->next_seq = 1;
        a->sent_us = r->sent_times + i * (size_t) opts->window;
        if (s_watch(r->epfd, a->sock, i) != 0)
            return -1;
    }
    return 0;
}

static bool s_window_open(const run_t *r, const agent_t *a)
{
    return r->opts->no_ack || a->next_seq - 1 - a->acked < (uint64_t) r->opts->window;
}

static bool s_has_more(const run_t *r, const agent_t *a)
{
    return r->opts->messages == 0 || a->next_seq <= (uint64_t) r->opts->messages;
}

static bool s_can_send(const run_t *r, const agent_t *a, int64_t now)
{
    return s_has_more(r, a) && s_window_open(r, a) && (r->interval_us == 0 || now >= a->next_due_us);
}

//  0 sent, 1 would block, -1 failed.
static int s_send(agent_t *a, const uint8_t *frame, size_t size)
{
    if (size == 0)
        return -1;
    if (zmq_send(a->sock, frame, size, ZMQ_DONTWAIT) >= 0)
        return 0;
    return errno == EAGAIN ? 1 : -1;
}

//  The bare sink gets no Hello: its first frame must be the first metrics.
static int s_send_hello(run_t *r, agent_t *a, int64_t now)
{
    if (r->opts->no_ack) {
        int events = 0;
        size_t len = sizeof events;
        if (zmq_getsockopt(a->sock, ZMQ_EVENTS, &events, &len) != 0)
            return -1;
        if (!(events & ZMQ_POLLOUT))
            return 1;
    }
    else {
        size_t size = s_pack_hello(r->frame, sizeof r->frame, a->index, a->stream_id);
        int rc = s_send(a, r->frame, size);
        if (rc != 0)
            return rc;
    }
    a->connected = true;
    a->next_due_us = now;
    r->connected++;
    r->last_progress_us = now;
    return 0;
}

static int s_send_metrics(run_t *r, agent_t *a, int64_t now)
{
    size_t size = s_pack_metrics(r->frame, sizeof r->frame, &r->rng, a->index, a->next_seq,
                                 a->acked + 1);
    int rc = s_send(a, r->frame, size);
    if (rc != 0)
        return rc;
    a->sent_us[a->next_seq % (uint64_t) r->opts->window] = now;
    a->next_seq++;
    r->sent++;
    if (!s_has_more(r, a))
        r->finished++;
    //  Catch up after a stall, but never by more than one interval's burst.
    a->next_due_us += r->interval_us;
    if (a->next_due_us < now - r->interval_us)
        a->next_due_us = now;
    if (r->first_send_us == 0)
        r->first_send_us = now;
    r->last_send_us = now;
    r->last_progress_us = now;
    return 0;
}

static int s_agent_send(run_t *r, agent_t *a)
{
    int64_t now = clock_mono_us();
    if (!a->connected) {
        int rc = s_send_hello(r, a, now);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    for (int i = 0; i < S_BURST_MAX && r->phase == S_SENDING && s_can_send(r, a, now); i++) {
        int rc = s_send_metrics(r, a, now);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

static void s_on_ack(run_t *r, agent_t *a, uint64_t seq, int64_t now)
{
    if (seq >= a->next_seq) {
        r->bad_replies++;
        seq = a->next_seq - 1;
    }
    if (seq <= a->acked)
        return;
    for (uint64_t s = a->acked + 1; s <= seq; s++)
        s_hist_add(r->hist, now - a->sent_us[s % (uint64_t) r->opts->window]);
    r->acked += seq - a->acked;
    a->acked = seq;
    r->last_ack_us = now;
    r->last_progress_us = now;
}

static void s_agent_drain(run_t *r, agent_t *a)
{
    uint8_t reply[256];
    int n;
    while ((n = zmq_recv(a->sock, reply, sizeof reply, ZMQ_DONTWAIT)) >= 0) {
        Ferry__Envelope *env = NULL;
        if ((size_t) n > sizeof reply
            || codec_decode(reply, (size_t) n, sizeof reply, CODEC_TO_AGENT, &env) != CODEC_OK) {
            r->bad_replies++;
            continue;
        }
        if (env->body_case == FERRY__ENVELOPE__BODY_ACK)
            s_on_ack(r, a, env->ack->seq, clock_mono_us());
        codec_free(&env);
    }
}

static void s_queue(run_t *r, long index)
{
    agent_t *a = &r->agents[index];
    if (a->queued)
        return;
    a->queued = true;
    r->ready[r->ready_count++] = index;
}

static bool s_sending(const run_t *r, int64_t now)
{
    if (s_stop || (r->send_stop_us && now >= r->send_stop_us))
        return false;
    if (r->opts->messages && r->finished == r->opts->agents)
        return false;
    //  Nothing moved for --wait seconds: the peer is gone.
    return now - r->last_progress_us < (int64_t) (r->opts->wait_s * 1e6);
}

static bool s_done_waiting(const run_t *r, int64_t now)
{
    if (s_stop || r->opts->no_ack || r->acked == r->sent)
        return true;
    return now - r->send_end_us >= (int64_t) (r->opts->wait_s * 1e6);
}

static void s_end_connecting(run_t *r, int64_t now)
{
    fprintf(stderr, "ferry-loadgen: %ld of %ld agents connected in %.2f s%s\n", r->connected,
            r->opts->agents, (double) (now - r->start_us) / 1e6,
            r->opts->hold ? ", holding for SIGUSR1" : "");
    r->phase = S_HOLDING;
}

static void s_start_sending(run_t *r, int64_t now)
{
    const opts_t *opts = r->opts;
    r->phase = S_SENDING;
    r->last_progress_us = now;
    if (opts->duration_s > 0)
        r->send_stop_us = now + (int64_t) (opts->duration_s * 1e6);
    //  Rate slots are staggered over one interval so the load is smooth, and no
    //  socket event will announce that metrics may start.
    for (long i = 0; i < opts->agents; i++) {
        r->agents[i].next_due_us = now + r->interval_us * i / opts->agents;
        if (r->agents[i].connected)
            s_queue(r, i);
    }
}

//  CONNECTING (Hello only) -> HOLDING (--hold: until SIGUSR1) -> SENDING (metrics)
//  -> WAITING (for acks) -> DONE.
static void s_advance(run_t *r, int64_t now)
{
    if (r->phase == S_CONNECTING
        && (s_stop || r->connected == r->opts->agents || now >= r->connect_stop_us))
        s_end_connecting(r, now);
    if (r->phase == S_HOLDING && (s_stop || s_go || !r->opts->hold))
        s_start_sending(r, now);
    if (r->phase == S_SENDING && !s_sending(r, now)) {
        r->phase = S_WAITING;
        r->send_end_us = now;
    }
    if (r->phase == S_WAITING && s_done_waiting(r, now))
        r->phase = S_DONE;
}

//  True when the agent only waits for its --rate slot.
static bool s_rate_blocked(const run_t *r, const agent_t *a, int64_t now)
{
    return r->interval_us && a->connected && s_has_more(r, a) && s_window_open(r, a)
           && now < a->next_due_us;
}

static void s_note_due(run_t *r, const agent_t *a)
{
    if (r->due_min_us == 0 || a->next_due_us < r->due_min_us)
        r->due_min_us = a->next_due_us;
}

//  Rate slots came up: queue the agents whose slot is due, note the next one.
static void s_queue_due(run_t *r, int64_t now)
{
    r->due_min_us = 0;
    for (long i = 0; i < r->opts->agents; i++) {
        agent_t *a = &r->agents[i];
        if (!a->connected || !s_has_more(r, a) || !s_window_open(r, a))
            continue;
        if (a->next_due_us <= now)
            s_queue(r, i);
        else
            s_note_due(r, a);
    }
}

//  After servicing: does the socket still have what the agent waits for?
static bool s_still_ready(const run_t *r, agent_t *a, int64_t now)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(a->sock, ZMQ_EVENTS, &events, &len) != 0)
        return false;
    bool want_in = !r->opts->no_ack;
    bool want_out = r->phase <= S_SENDING
                    && (!a->connected || (r->phase == S_SENDING && s_can_send(r, a, now)));
    return (want_in && (events & ZMQ_POLLIN)) || (want_out && (events & ZMQ_POLLOUT));
}

static int s_service(run_t *r, long index)
{
    agent_t *a = &r->agents[index];
    if (!r->opts->no_ack)
        s_agent_drain(r, a);
    if (r->phase <= S_SENDING && s_agent_send(r, a) != 0) {
        fprintf(stderr, "ferry-loadgen: send failed: %s\n", zmq_strerror(errno));
        return -1;
    }
    int64_t now = clock_mono_us();
    if (r->phase == S_SENDING && s_rate_blocked(r, a, now))
        s_note_due(r, a);
    if (s_still_ready(r, a, now))
        s_queue(r, index);
    return 0;
}

//  Service every ready agent once; those still ready go round again.
static int s_round(run_t *r)
{
    long *batch = r->ready, count = r->ready_count;
    r->ready = r->later;
    r->later = batch;
    r->ready_count = 0;
    for (long k = 0; k < count; k++) {
        r->agents[batch[k]].queued = false;
        if (s_service(r, batch[k]) != 0)
            return -1;
    }
    return 0;
}

static int s_timeout_ms(const run_t *r, int64_t now)
{
    if (r->ready_count > 0)
        return 0;
    int64_t due = now + S_POLL_MAX_MS * 1000;
    if (r->phase == S_CONNECTING && r->connect_stop_us < due)
        due = r->connect_stop_us;
    if (r->phase == S_SENDING && r->send_stop_us && r->send_stop_us < due)
        due = r->send_stop_us;
    if (r->phase == S_SENDING && r->due_min_us && r->due_min_us < due)
        due = r->due_min_us;
    return due <= now ? 0 : (int) ((due - now + 999) / 1000);
}

static int s_wait(run_t *r, int64_t now)
{
    struct epoll_event events[S_EPOLL_BATCH];
    int n = epoll_wait(r->epfd, events, S_EPOLL_BATCH, s_timeout_ms(r, now));
    if (n < 0 && errno != EINTR) {
        fprintf(stderr, "ferry-loadgen: epoll: %s\n", strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++)
        s_queue(r, (long) events[i].data.u64);
    now = clock_mono_us();
    if (r->phase == S_SENDING && r->due_min_us && now >= r->due_min_us)
        s_queue_due(r, now);
    return 0;
}

static int s_run_loop(run_t *r)
{
    r->start_us = clock_mono_us();
    r->phase = S_CONNECTING;
    r->last_progress_us = r->start_us;
    r->connect_stop_us = r->start_us + (int64_t) (r->opts->connect_wait_s * 1e6);
    r->interval_us = r->opts->rate > 0 ? (int64_t) (1e6 / r->opts->rate) : 0;
    for (long i = 0; i < r->opts->agents; i++)
        s_queue(r, i);
    for (;;) {
        s_advance(r, clock_mono_us());
        if (r->phase == S_DONE)
            return 0;
        if (s_wait(r, clock_mono_us()) != 0 || s_round(r) != 0)
            return -1;
    }
}

static int s_run_report(const run_t *r)
{
    const opts_t *opts = r->opts;
    int64_t end = opts->no_ack ? r->last_send_us : r->last_ack_us;
    uint64_t done = opts->no_ack ? r->sent : r->acked;
    double elapsed = end > r->first_send_us ? (double) (end - r->first_send_us) / 1e6 : 0;
    uint64_t lost = opts->no_ack ? 0 : r->sent - r->acked;
    if (r->bad_replies)
        fprintf(stderr, "ferry-loadgen: %" PRIu64 " bad replies\n", r->bad_replies);
    printf("LOADGEN agents=%ld connected=%ld sent=%" PRIu64 " acked=%" PRIu64 " lost=%" PRIu64
           " msgs_per_s=%.0f p50_ms=%.1f p99_ms=%.1f elapsed_s=%.2f\n",
           opts->agents, r->connected, r->sent, opts->no_ack ? 0 : r->acked, lost,
           elapsed > 0 ? (double) done / elapsed : 0, s_hist_ms(r->hist, 0.50),
           s_hist_ms(r->hist, 0.99), elapsed);
    fflush(stdout);
    return lost == 0 && r->connected == opts->agents ? 0 : 1;
}

static void s_install_signals(void)
{
    struct sigaction sa = { .sa_handler = s_on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

static int s_cmd_run(const opts_t *opts)
{
    if (s_common_checks(opts) != 0 || opts->agents == 0
        || (opts->messages == 0 && opts->duration_s == 0)) {
        fprintf(stderr, "ferry-loadgen: run needs --agents and --messages or --duration\n");
        return 2;
    }
    if (opts->first + opts->agents - 1 > S_KEY_INDEX_MAX) {
        fprintf(stderr, "ferry-loadgen: --first + --agents is too large\n");
        return 2;
    }
    run_t r = { .opts = opts, .epfd = -1 };
    int rc = 1;
    if (s_run_open(&r) != 0) {
        fprintf(stderr, "ferry-loadgen: cannot set up %ld agents\n", opts->agents);
        goto done;
    }
    s_install_signals();
    if (s_run_loop(&r) != 0)
        goto done;
    rc = s_run_report(&r);
done:
    s_run_destroy(&r);
    return rc;
}

// --------------------------------------------------------------------------
//  garbage

static int s_send_blocking(void *sock, const void *data, size_t size, int flags)
{
    if (zmq_send(sock, data, size, flags) >= 0)
        return 0;
    fprintf(stderr, "ferry-loadgen: send: %s\n", zmq_strerror(errno));
    return -1;
}

static int s_garbage_random(void *sock)
{
    uint8_t bytes[64];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
        memset(bytes, 0xA5, sizeof bytes);
    bytes[0] = 0x07;    // field 0, wire type 7: undecodable whatever follows
    return s_send_blocking(sock, bytes, sizeof bytes, 0);
}

static int s_garbage_truncated(void *sock, uint64_t *rng)
{
    uint8_t frame[S_FRAME_MAX];
    size_t size = s_pack_metrics(frame, sizeof frame, rng, 0, 1, 1);
    //  Cut inside the Metrics body, the last field: it can never decode.
    return size > 20 ? s_send_blocking(sock, frame, size - 10, 0) : -1;
}

static int s_garbage_oversize(void *sock, long max_frame)
{
    uint8_t *big = calloc(1, (size_t) max_frame + 1);
    if (!big)
        return -1;
    int rc = s_send_blocking(sock, big, (size_t) max_frame + 1, 0);
    free(big);
    return rc;
}

static int s_garbage_version(void *sock, uint64_t *rng)
{
    sample_t sample;
    Ferry__Envelope env;
    uint8_t frame[S_FRAME_MAX];
    s_sample_fill(&sample, rng, 0);
    codec_envelope_init(&env, 1);
    env.version = 99;
    env.first_seq = 1;
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &sample.metrics;
    size_t size = s_pack(&env, frame, sizeof frame);
    return size ? s_send_blocking(sock, frame, size, 0) : -1;
}

static int s_garbage_direction(void *sock)
{
    Ferry__Ack ack = FERRY__ACK__INIT;
    Ferry__Envelope env;
    uint8_t frame[64];
    ack.seq = 1;
    codec_envelope_init(&env, 0);
    env.body_case = FERRY__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    size_t size = s_pack(&env, frame, sizeof frame);
    return size ? s_send_blocking(sock, frame, size, 0) : -1;
}

static int s_garbage_multipart(void *sock, uint64_t *rng)
{
    uint8_t frame[S_FRAME_MAX];
    size_t size = s_pack_metrics(frame, sizeof frame, rng, 0, 1, 1);
    if (size == 0 || s_send_blocking(sock, frame, size, ZMQ_SNDMORE) != 0)
        return -1;
    return s_send_blocking(sock, frame, size, 0);
}

static int s_garbage_send_bad(void *sock, const opts_t *opts, uint64_t *rng)
{
    if (s_garbage_random(sock) != 0 || s_garbage_truncated(sock, rng) != 0
        || s_garbage_oversize(sock, opts->max_frame) != 0 || s_garbage_version(sock, rng) != 0
        || s_garbage_direction(sock) != 0 || s_send_blocking(sock, "", 0, 0) != 0
        || s_garbage_multipart(sock, rng) != 0)
        return -1;
    return 0;
}

static int s_garbage_send_valid(void *sock, uint64_t *rng, long index)
{
    uint8_t frame[S_FRAME_MAX];
    size_t size = s_pack_hello(frame, sizeof frame, index, s_random64());
    if (size == 0 || s_send_blocking(sock, frame, size, 0) != 0)
        return -1;
    for (uint64_t seq = 1; seq <= S_GARBAGE_VALID; seq++) {
        size = s_pack_metrics(frame, sizeof frame, rng, index, seq, 1);
        if (size == 0 || s_send_blocking(sock, frame, size, 0) != 0)
            return -1;
    }
    return 0;
}

//  Highest acked seq seen before the deadline.
static uint64_t s_garbage_wait_ack(void *sock, double wait_s)
{
    uint64_t acked = 0;
    int64_t deadline = clock_mono_ms() + (int64_t) (wait_s * 1000);
    while (acked < S_GARBAGE_VALID && !s_stop) {
        int64_t left = deadline - clock_mono_ms();
        zmq_pollitem_t item = { .socket = sock, .events = ZMQ_POLLIN };
        if (left <= 0 || zmq_poll(&item, 1, left) < 0)
            break;
        uint8_t reply[256];
        int n = zmq_recv(sock, reply, sizeof reply, ZMQ_DONTWAIT);
        Ferry__Envelope *env = NULL;
        if (n < 0 || (size_t) n > sizeof reply
            || codec_decode(reply, (size_t) n, sizeof reply, CODEC_TO_AGENT, &env) != CODEC_OK)
            continue;
        if (env->body_case == FERRY__ENVELOPE__BODY_ACK && env->ack->seq > acked)
            acked = env->ack->seq;
        codec_free(&env);
    }
    return acked;
}

static int s_cmd_garbage(const opts_t *opts)
{
    if (s_common_checks(opts) != 0)
        return 2;
    uint8_t server_key[32];
    uint64_t rng = s_random64(), acked = 0;
    int timeout_ms = (int) (opts->wait_s * 1000), rc = 1;
    void *ctx = s_context(opts, 1), *sock = NULL;
    if (!ctx || s_server_key(opts, server_key) != 0)
        goto done;
    sock = s_agent_socket(ctx, opts, server_key, opts->first, 1000);
    //  Blocking sends wait (ZMQ_IMMEDIATE) for the handshake, at most --wait.
    if (!sock || zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0)
        goto done;
    s_install_signals();
    if (s_garbage_send_bad(sock, opts, &rng) != 0 || s_garbage_send_valid(sock, &rng, opts->first) != 0)
        goto done;
    acked = s_garbage_wait_ack(sock, opts->wait_s);
    printf("GARBAGE sent=%d valid_acked=%" PRIu64 "\n", S_GARBAGE_FRAMES, acked);
    fflush(stdout);
    rc = acked >= S_GARBAGE_VALID ? 0 : 1;
done:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

// --------------------------------------------------------------------------
//  poison: an authenticated agent whose odd seqs decode but cannot be stored
//  (facts whose JSON does not parse, is not an object, or nests deeper than
//  SQLite's JSON functions go) and whose even seqs are good metrics. Like a
//  real agent it sends one seq, resends it every --resend-ms until it is
//  acked, then goes on with the next, for --duration.

#define S_POISON_KINDS 3
#define S_POISON_DEPTH 2001           // SQLite 3.40 refuses JSON nested deeper than 2000

//  The facts JSON of the k-th poison frame (malloc'd), NULL when out of memory.
static char *s_poison_json(uint64_t k)
{
    if (k % S_POISON_KINDS == 0)
        return strdup("{\"partition\": {\"name\": ");
    if (k % S_POISON_KINDS == 1)
        return strdup("[\"not\", \"an\", \"object\"]");
    size_t size = S_POISON_DEPTH * 6 + 2, len = 0;
    char *json = malloc(size);
    if (!json)
        return NULL;
    for (int i = 0; i < S_POISON_DEPTH; i++)
        len += (size_t) snprintf(json + len, size - len, "{\"a\":");
    json[len++] = '1';
    for (int i = 0; i < S_POISON_DEPTH; i++)
        json[len++] = '}';
    json[len] = '\0';
    return json;
}

static int s_poison_facts(void *sock, uint64_t seq, uint64_t first_seq)
{
    char digest[32];
    char *json = s_poison_json(seq / 2);
    if (!json)
        return -1;
    snprintf(digest, sizeof digest, "poison-%" PRIu64, seq);
    Ferry__Facts facts = FERRY__FACTS__INIT;
    facts.platform = (char *) "sim";
    facts.digest = digest;
    facts.json = json;
    Ferry__Envelope env;
    codec_envelope_init(&env, seq);
    env.first_seq = first_seq;
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &facts;
    size_t size = 0;
    uint8_t *frame = codec_encode(&env, CODEC_DEFAULT_MAX_FRAME, &size);
    free(json);
    if (!frame)
        return -1;
    int rc = s_send_blocking(sock, frame, size, 0);
    free(frame);
    return rc;
}

static int s_poison_send(void *sock, uint64_t seq, uint64_t first_seq, uint64_t *rng, long index)
{
    if (seq % 2)
        return s_poison_facts(sock, seq, first_seq);
    uint8_t frame[S_FRAME_MAX];
    size_t size = s_pack_metrics(frame, sizeof frame, rng, index, seq, first_seq);
    return size ? s_send_blocking(sock, frame, size, 0) : -1;
}

//  Read acks for up to wait_ms or until want is acked; the highest acked seq.
static uint64_t s_poison_acks(void *sock, uint64_t acked, uint64_t want, int wait_ms)
{
    int64_t deadline = clock_mono_ms() + wait_ms;
    while (acked < want && !s_stop) {
        int64_t left = deadline - clock_mono_ms();
        zmq_pollitem_t item = { .socket = sock, .events = ZMQ_POLLIN };
        if (left <= 0 || zmq_poll(&item, 1, left) <= 0)
            break;
        uint8_t reply[256];
        int n = zmq_recv(sock, reply, sizeof reply, ZMQ_DONTWAIT);
        Ferry__Envelope *env = NULL;
        if (n < 0 || (size_t) n > sizeof reply
            || codec_decode(reply, (size_t) n, sizeof reply, CODEC_TO_AGENT, &env) != CODEC_OK)
            continue;
        if (env->body_case == FERRY__ENVELOPE__BODY_ACK && env->ack->seq > acked)
            acked = env->ack->seq;
        codec_free(&env);
    }
    return acked;
}

//  Send seqs 1, 2, ... each until acked, while the run lasts; the last one
//  until acked or --wait ran out. Fills the counts; 0 / -1 when a send failed.
static int s_poison_loop(void *sock, const opts_t *opts, uint64_t *seq_p, uint64_t *sent_p,
                         uint64_t *acked_p)
{
    uint64_t rng = s_random64(), seq = 1, acked = 0, sent = 0;
    int64_t stop = clock_mono_ms() + (int64_t) (opts->duration_s * 1000);
    int64_t give_up = stop + (int64_t) (opts->wait_s * 1000);
    for (;;) {
        int64_t now = clock_mono_ms();
        if (acked >= seq) {
            if (now >= stop || s_stop)
                break;
            seq = acked + 1;
        }
        if (now >= give_up || s_stop)
            break;
        if (s_poison_send(sock, seq, acked + 1, &rng, opts->first) != 0)
            return -1;
        sent++;
        acked = s_poison_acks(sock, acked, seq, (int) opts->resend_ms);
    }
    *seq_p = seq;
    *sent_p = sent;
    *acked_p = acked;
    return 0;
}

static int s_cmd_poison(const opts_t *opts)
{
    if (s_common_checks(opts) != 0 || opts->duration_s == 0) {
        fprintf(stderr, "ferry-loadgen: poison needs --duration\n");
        return 2;
    }
    uint8_t server_key[32], frame[S_FRAME_MAX];
    uint64_t seq = 0, sent = 0, acked = 0;
    int timeout_ms = (int) (opts->wait_s * 1000), rc = 1;
    void *ctx = s_context(opts, 1), *sock = NULL;
    if (!ctx || s_server_key(opts, server_key) != 0)
        goto done;
    sock = s_agent_socket(ctx, opts, server_key, opts->first, 1000);
    //  Blocking sends wait (ZMQ_IMMEDIATE) for the handshake, at most --wait.
    if (!sock || zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0)
        goto done;
    s_install_signals();
    size_t size = s_pack_hello(frame, sizeof frame, opts->first, s_random64());
    if (size == 0 || s_send_blocking(sock, frame, size, 0) != 0
        || s_poison_loop(sock, opts, &seq, &sent, &acked) != 0)
        goto done;
    //  seqs: the last seq sent; the odd ones up to it were poison.
    printf("POISON sent=%" PRIu64 " seqs=%" PRIu64 " poison=%" PRIu64 " acked=%" PRIu64 "\n",
           sent, seq, (seq + 1) / 2, acked);
    fflush(stdout);
    rc = acked >= seq ? 0 : 1;
done:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("ferry-loadgen", false, false);
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    opts_t opts;
    if (s_parse(argc, argv, &opts) != 0) {
        s_usage(stderr);
        return 2;
    }
    s_raise_nofile();
    if (strcmp(argv[1], "keys") == 0)
        return s_cmd_keys(&opts);
    if (strcmp(argv[1], "run") == 0)
        return s_cmd_run(&opts);
    if (strcmp(argv[1], "garbage") == 0)
        return s_cmd_garbage(&opts);
    if (strcmp(argv[1], "poison") == 0)
        return s_cmd_poison(&opts);
    fprintf(stderr, "ferry-loadgen: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
