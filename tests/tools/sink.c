/*  ferry-sink — the bare CURVE ROUTER the collector is measured against: the
    same transport and ZAP authentication, but no decode and no store.

    ferry-sink --bind EP --cert FILE --allowed DIR --duration S

    FILE is the public certificate with FILE_secret beside it. Runs for S
    seconds or until SIGINT/SIGTERM, then prints
    SINK frames=N msgs_per_s=X (rate from the first to the last frame). */
#include "agent_auth.h"
#include "clock.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define S_POLL_MAX_MS 100    // re-check the deadline and signals at least this often

typedef struct {
    const char *bind;
    const char *cert;
    const char *allowed;
    double duration_s;
} opts_t;

typedef struct {
    uint64_t frames;        // complete messages received
    int64_t first_us;       // first message
    int64_t last_us;        // latest message
} counts_t;

static void s_usage(FILE *out)
{
    fprintf(out, "usage: ferry-sink --bind EP --cert FILE --allowed DIR --duration S\n");
}

static int s_parse(int argc, char **argv, opts_t *opts)
{
    *opts = (opts_t) { 0 };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        if (strcmp(name, "--bind") == 0)
            opts->bind = value;
        else if (strcmp(name, "--cert") == 0)
            opts->cert = value;
        else if (strcmp(name, "--allowed") == 0)
            opts->allowed = value;
        else if (strcmp(name, "--duration") == 0) {
            char *end = NULL;
            opts->duration_s = strtod(value, &end);
            if (end == value || *end)
                return -1;
        }
        else
            return -1;
    }
    if (argc % 2 == 0 || !opts->bind || !opts->cert || !opts->allowed || opts->duration_s <= 0)
        return -1;
    return 0;
}

//  One TCP connection per agent, and the hard limit is all we may use.
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open file limit: %s", strerror(errno));
}

//  The collector's own ZAP handler, so authentication costs the same.
static zactor_t *s_auth_start(const char *allowed)
{
    char err[256];
    zactor_t *auth = agent_auth_new(allowed, err, sizeof err);
    if (!auth)
        fprintf(stderr, "ferry-sink: %s\n", err);
    return auth;
}

//  Same socket options as the collector's ROUTER.
static zsock_t *s_router(zcert_t *cert, const char *bind)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (!router)
        return NULL;
    zcert_apply(cert, router);
    zsock_set_curve_server(router, 1);
    zsock_set_backlog(router, 4096);
    zsock_set_rcvhwm(router, 10000);
    zsock_set_sndhwm(router, 10000);
    zsock_set_linger(router, 0);
    zsock_set_heartbeat_ivl(router, 10000);
    zsock_set_heartbeat_timeout(router, 30000);
    if (zsock_bind(router, "%s", bind) < 0) {
        fprintf(stderr, "ferry-sink: cannot bind %s: %s\n", bind, zmq_strerror(zmq_errno()));
        zsock_destroy(&router);
        return NULL;
    }
    char *endpoint = zsock_last_endpoint(router);
    fprintf(stderr, "ferry-sink: listening on %s\n", endpoint ? endpoint : bind);
    zstr_free(&endpoint);
    return router;
}

static zcert_t *s_cert_load(const char *path)
{
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        fprintf(stderr, "ferry-sink: cannot load %s\n", path);
        return NULL;
    }
    static const uint8_t zero[32];
    if (memcmp(zcert_secret_key(cert), zero, sizeof zero) == 0) {
        fprintf(stderr, "ferry-sink: %s_secret is missing\n", path);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}

//  Read whatever is queued; every complete message counts once.
static void s_drain(void *handle, counts_t *counts)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    while (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more(&part))
            continue;
        int64_t now = clock_mono_us();
        if (counts->frames++ == 0)
            counts->first_us = now;
        counts->last_us = now;
    }
    zmq_msg_close(&part);
}

static int s_loop(zsock_t *router, double duration_s, counts_t *counts)
{
    void *handle = zsock_resolve(router);
    int64_t deadline = clock_mono_ms() + (int64_t) (duration_s * 1000);
    while (!zsys_interrupted) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return 0;
        zmq_pollitem_t item = { .socket = handle, .events = ZMQ_POLLIN };
        if (zmq_poll(&item, 1, left < S_POLL_MAX_MS ? left : S_POLL_MAX_MS) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ferry-sink: poll: %s\n", zmq_strerror(errno));
            return -1;
        }
        s_drain(handle, counts);
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t opts;
    if (s_parse(argc, argv, &opts) != 0) {
        s_usage(stderr);
        return 2;
    }
    log_init("ferry-sink", false, false);
    s_raise_nofile();
    counts_t counts = { 0 };
    int rc = 1;
    zsock_t *router = NULL;
    zactor_t *auth = NULL;
    zcert_t *cert = s_cert_load(opts.cert);
    if (!cert)
        goto done;
    auth = s_auth_start(opts.allowed);
    router = auth ? s_router(cert, opts.bind) : NULL;
    if (!router || s_loop(router, opts.duration_s, &counts) != 0)
        goto done;
    double elapsed = (double) (counts.last_us - counts.first_us) / 1e6;
    printf("SINK frames=%" PRIu64 " msgs_per_s=%.0f\n", counts.frames,
           elapsed > 0 ? (double) counts.frames / elapsed : 0);
    fflush(stdout);
    rc = 0;
done:
    zsock_destroy(&router);
    agent_auth_destroy(&auth);
    zcert_destroy(&cert);
    return rc;
}
