/*  ferry-hmcsim — a simulated IBM HMC for tests (README.md).

    ferry-hmcsim -c FILE [-v]     serve the HMC REST API over HTTPS until
                                  SIGTERM / SIGINT, then exit 0
    ferry-hmcsim gencert DIR      write DIR/cert.pem and DIR/key.pem */
#include "hmcsim.h"

#include <czmq.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define S_STOP_TIMEOUT_MS 15000

static int s_usage(const char *why)
{
    if (why)
        fprintf(stderr, "ferry-hmcsim: %s\n", why);
    fprintf(stderr,
            "usage: ferry-hmcsim -c FILE [-v]     serve the simulated HMC (config: README.md)\n"
            "       ferry-hmcsim gencert DIR      write DIR/cert.pem and DIR/key.pem for"
            " 127.0.0.1 / localhost\n");
    return 2;
}

static int s_gencert(const char *dir)
{
    char err[512];
    if (hs_gencert(dir, err, sizeof err) != 0) {
        fprintf(stderr, "ferry-hmcsim: %s\n", err);
        return 1;
    }
    printf("%s/cert.pem\n%s/key.pem\n", dir, dir);
    return 0;
}

static int s_serve(const char *path, bool verbose)
{
    char err[1024];
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    //  Every thread started from here on inherits the mask; main takes the
    //  signals with sigwait.
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    zsys_handler_set(NULL);
    zsys_init();
    log_init("ferry-hmcsim", verbose, false);
    xmlInitParser();

    hs_sim_t *sim = hs_sim_new(path, err, sizeof err);
    if (!sim) {
        log_error("%s", err);
        xmlCleanupParser();
        return 1;
    }
    hs_server_t *server = hs_server_start(sim, err, sizeof err);
    if (!server) {
        log_error("%s", err);
        hs_sim_destroy(&sim);
        xmlCleanupParser();
        return 1;
    }
    log_info("simulated HMC at %s: %zu systems, %zu partitions, user %s", sim->base_url,
             sim->system_count, sim->part_count, sim->user);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    log_info("stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    hs_sim_stop(sim, S_STOP_TIMEOUT_MS);
    hs_server_stop(&server);
    int rc = 0;
    if (*sim->stats_file && hs_stats_write(sim, sim->stats_file, err, sizeof err) != 0) {
        log_error("cannot write the stats file: %s", err);
        rc = 1;
    }
    hs_sim_destroy(&sim);
    xmlCleanupParser();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gencert") == 0)
        return s_gencert(argv[2]);
    const char *path = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            s_usage(NULL);
            return 0;
        }
        else
            return s_usage("unknown argument");
    }
    if (!path)
        return s_usage("-c FILE is required");
    return s_serve(path, verbose);
}
