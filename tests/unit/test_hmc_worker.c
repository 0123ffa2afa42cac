/*  test_hmc_worker — the HMC worker actor against the real ferry-hmcsim on
    loopback (HTTPS with a certificate the simulator generated): inventory,
    find / get partition, MigrateValidate and Migrate jobs polled to the end
    (the partition lands on the other system), errors as one readable line,
    several requests queued back to back coming back in order, and destroy
    while a request is in flight (a partition with an injected delay).

    Every wait has a deadline; replies are awaited with a zpoller on the
    worker's pipe, the way the planner's zloop reader will see them. */
#define _XOPEN_SOURCE 700   // nftw, mkdtemp
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hmc_worker.h"
#include "hmc_xml.h"

#define START_TIMEOUT_MS 15000
#define REPLY_TIMEOUT_MS 20000
#define JOB_TIMEOUT_MS 20000
#define SLOW_DELAY_MS 400

#define USER "hscroot"
#define PASSWORD "s3cret&<pw>"

typedef struct {
    char dir[64];                   // mkdtemp root
    char url[64];                   // https://127.0.0.1:PORT
    char cert[128];
    pid_t sim;
} fixture_t;

//  ---------------------------------------------------------------------------
//  Simulator

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int s_read_port(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    int port = 0;
    if (fscanf(file, "%d", &port) != 1)
        port = 0;
    fclose(file);
    return port;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

//  Two systems; lpar1 and lpar2 on sys-a, "web server" on sys-b, "slow" on
//  sys-a answering every request about it SLOW_DELAY_MS late.
static const char *S_MODEL =
    "system\n"
    "    name = sys-a\n"
    "    serial = 21C48FV\n"
    "system\n"
    "    name = sys-b\n"
    "    serial = 21C48FW\n"
    "partition\n"
    "    name = lpar1\n"
    "    system = sys-a\n"
    "partition\n"
    "    name = lpar2\n"
    "    system = sys-a\n"
    "partition\n"
    "    name = \"web server\"\n"
    "    system = sys-b\n"
    "partition\n"
    "    name = slow\n"
    "    system = sys-a\n"
    "    fault\n"
    "        delay = 400ms\n";

static void s_run_gencert(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(FERRY_BIN_DIR "/ferry-hmcsim", "ferry-hmcsim", "gencert", dir, (char *) NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_hmc_worker.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    s_run_gencert(fx->dir);
    snprintf(fx->cert, sizeof fx->cert, "%s/cert.pem", fx->dir);
    char path[128], conf[128], port_file[128], log[128], text[4096];
    snprintf(path, sizeof path, "%s/password", fx->dir);
    s_write_file(path, PASSWORD "\n", 0600);
    snprintf(conf, sizeof conf, "%s/hmcsim.conf", fx->dir);
    snprintf(port_file, sizeof port_file, "%s/port", fx->dir);
    snprintf(log, sizeof log, "%s/hmcsim.log", fx->dir);
    snprintf(text, sizeof text,
             "hmcsim\n"
             "    bind = 127.0.0.1\n"
             "    port = 0\n"
             "    port_file = %s\n"
             "    cert_file = %s/cert.pem\n"
             "    key_file = %s/key.pem\n"
             "    user = " USER "\n"
             "    password_file = %s\n"
             "    job_start_delay = 20ms\n"
             "    validate_duration = 50ms\n"
             "    job_duration = 300ms\n"
             "    blackout = 50ms\n"
             "    notify_timeout = 200ms\n"
             "%s",
             port_file, fx->dir, fx->dir, path, S_MODEL);
    s_write_file(conf, text, 0600);
    fx->sim = fork();
    if (fx->sim == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(FERRY_BIN_DIR "/ferry-hmcsim", "ferry-hmcsim", "-c", conf, "-v", (char *) NULL);
        _exit(127);
    }
    assert_true(fx->sim > 0);
    int64_t deadline = clock_mono_ms() + START_TIMEOUT_MS;
    int port = 0;
    while ((port = s_read_port(port_file)) == 0) {
        if (waitpid(fx->sim, NULL, WNOHANG) == fx->sim) {
            fx->sim = 0;
            fail_msg("ferry-hmcsim exited at start; see %s", log);
        }
        if (clock_mono_ms() >= deadline)
            fail_msg("ferry-hmcsim did not write %s in time", port_file);
        s_sleep_ms(10);
    }
    snprintf(fx->url, sizeof fx->url, "https://127.0.0.1:%d", port);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx->sim > 0) {
        kill(fx->sim, SIGTERM);
        int64_t deadline = clock_mono_ms() + 10000;
        while (waitpid(fx->sim, NULL, WNOHANG) == 0 && clock_mono_ms() < deadline)
            s_sleep_ms(10);
        if (kill(fx->sim, 0) == 0) {
            kill(fx->sim, SIGKILL);
            waitpid(fx->sim, NULL, 0);
        }
    }
    if (!getenv("FERRY_KEEP_TEST_DIR"))
        nftw(fx->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

//  GET /sim/stats -> "requests" (REST requests received so far).
static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf), add = size * n;
    if (have + add < 65536) {
        memcpy(buf + have, data, add);
        buf[have + add] = '\0';
    }
    return add;
}

static json_int_t s_sim_requests(fixture_t *fx)
{
    char url[128];
    char *body = calloc(1, 65536);
    assert_non_null(body);
    snprintf(url, sizeof url, "%s/sim/stats", fx->url);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, fx->cert);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_cleanup(curl);
    json_error_t jerr;
    json_t *stats = json_loads(body, 0, &jerr);
    assert_non_null(stats);
    json_int_t requests = json_integer_value(json_object_get(stats, "requests"));
    json_decref(stats);
    free(body);
    return requests;
}

//  ---------------------------------------------------------------------------
//  Worker helpers

static zactor_t *s_worker(fixture_t *fx, const char *password)
{
    hmc_options_t opts = {.url = fx->url, .user = USER, .password = password,
                          .ca_file = fx->cert, .timeout_ms = 10000};
    char err[256];
    zactor_t *worker = hmc_worker_new(&opts, "test-hmc", err, sizeof err);
    if (!worker)
        fail_msg("hmc_worker_new: %s", err);
    return worker;
}

//  The next reply, within REPLY_TIMEOUT_MS.
static hmc_request_t *s_recv(zactor_t *worker)
{
    zpoller_t *poller = zpoller_new(worker, NULL);
    assert_non_null(poller);
    void *which = zpoller_wait(poller, REPLY_TIMEOUT_MS);
    zpoller_destroy(&poller);
    if (which != worker)
        fail_msg("no reply from the worker within %d ms", REPLY_TIMEOUT_MS);
    hmc_request_t *req = hmc_worker_recv(worker);
    assert_non_null(req);
    return req;
}

static void s_send(zactor_t *worker, hmc_request_t *req)
{
    assert_non_null(req);
    assert_int_equal(hmc_worker_send(worker, &req), 0);
    assert_null(req);
}

//  Send req and wait for it to come back (the same pointer).
static hmc_request_t *s_call(zactor_t *worker, hmc_request_t *req)
{
    assert_non_null(req);
    hmc_request_t *sent = req;
    uint64_t id = req->id;
    s_send(worker, req);
    hmc_request_t *back = s_recv(worker);
    assert_ptr_equal(back, sent);
    assert_int_equal(back->id, id);
    return back;
}

static hmc_request_t *s_call_ok(zactor_t *worker, hmc_request_t *req)
{
    req = s_call(worker, req);
    if (req->rc != 0)
        fail_msg("%s #%llu failed: %s", hmc_request_kind_name(req->kind),
                 (unsigned long long) req->id, req->error);
    assert_string_equal(req->error, "");
    return req;
}

static const hmc_partition_t *s_partition(const hmc_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->partition_count; i++)
        if (strcmp(req->partitions[i].name, name) == 0)
            return &req->partitions[i];
    return NULL;
}

static const hmc_system_t *s_system(const hmc_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->system_count; i++)
        if (strcmp(req->systems[i].name, name) == 0)
            return &req->systems[i];
    return NULL;
}

//  The UUID of a partition, by name.
static void s_uuid_of(zactor_t *worker, const char *name, char *uuid, size_t size)
{
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_FIND_PARTITION, 1, name));
    assert_int_equal(req->partition_count, 1);
    snprintf(uuid, size, "%s", req->partitions[0].uuid);
    hmc_request_destroy(&req);
}

//  Submit op on the partition, poll until final; the final status's state.
static hmc_job_state_t s_run_job(zactor_t *worker, const char *uuid, hmc_job_op_t op,
                                 const char *target, char *job_id, size_t size)
{
    hmc_param_t params[] = {{"TargetManagedSystemName", target}};
    hmc_request_t *req = s_call_ok(worker, hmc_request_submit_new(10, uuid, op, params, 1));
    assert_true(hmc_job_id_valid(req->job_id));
    snprintf(job_id, size, "%s", req->job_id);
    hmc_request_destroy(&req);
    int64_t deadline = clock_mono_ms() + JOB_TIMEOUT_MS;
    for (uint64_t id = 11;; id++) {
        req = s_call_ok(worker, hmc_request_new(HMC_REQ_POLL, id, job_id));
        assert_string_equal(req->job_id, job_id);
        assert_string_equal(req->status.job_id, job_id);
        hmc_job_state_t state = req->status.state;
        if (hmc_job_state_final(state)) {
            char line[512];
            if (!hmc_job_state_ok(state))
                print_message("job: %s\n", hmc_job_describe(&req->status, line, sizeof line));
            hmc_request_destroy(&req);
            return state;
        }
        hmc_request_destroy(&req);
        if (clock_mono_ms() >= deadline)
            fail_msg("job %s not final within %d ms", job_id, JOB_TIMEOUT_MS);
        s_sleep_ms(20);     // poll interval, as the planner's timer would
    }
}

//  ---------------------------------------------------------------------------
//  Tests

static void test_requests_build(void **state)
{
    (void) state;
    assert_null(hmc_request_new(HMC_REQ_SUBMIT, 1, "x"));
    assert_null(hmc_request_new(HMC_REQ_POLL, 1, NULL));
    hmc_request_t *req = hmc_request_new(HMC_REQ_INVENTORY, 7, NULL);
    assert_non_null(req);
    assert_int_equal(req->id, 7);
    assert_int_equal(req->rc, -1);
    hmc_request_destroy(&req);
    assert_null(req);
    hmc_request_destroy(&req);
    hmc_param_t params[] = {{"TargetManagedSystemName", "sys-b"}, {"WaitTime", "5"}};
    req = hmc_request_submit_new(8, "ABC", HMC_OP_MIGRATE, params, 2);
    assert_non_null(req);
    assert_int_equal(req->param_count, 2);
    assert_string_equal(req->params[1].value, "5");
    assert_true(req->params[1].value != params[1].value);
    hmc_request_destroy(&req);
    hmc_param_t bad[] = {{"WaitTime", NULL}};
    assert_null(hmc_request_submit_new(8, "ABC", HMC_OP_MIGRATE, bad, 1));
    //  No worker: the request stays the caller's.
    req = hmc_request_new(HMC_REQ_INVENTORY, 9, NULL);
    assert_int_equal(hmc_worker_send(NULL, &req), -1);
    assert_non_null(req);
    hmc_request_destroy(&req);
    //  Options refused synchronously.
    char err[256] = "";
    hmc_options_t opts = {.url = "http://127.0.0.1:1", .user = USER, .password = "x"};
    assert_null(hmc_worker_new(&opts, "bad", err, sizeof err));
    assert_true(err[0] != '\0');
    hmc_worker_destroy(NULL);
}

static void test_inventory(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_INVENTORY, 42, NULL));
    assert_int_equal(req->system_count, 2);
    assert_int_equal(req->partition_count, 4);
    const hmc_system_t *a = s_system(req, "sys-a"), *b = s_system(req, "sys-b");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->serial, "21C48FV");
    const char *expect[][2] = {{"lpar1", a->uuid}, {"lpar2", a->uuid},
                               {"web server", b->uuid}, {"slow", a->uuid}};
    for (size_t i = 0; i < 4; i++) {
        const hmc_partition_t *p = s_partition(req, expect[i][0]);
        assert_non_null(p);
        assert_true(hmc_uuid_valid(p->uuid));
        assert_string_equal(p->system_uuid, expect[i][1]);
        assert_string_equal(p->state, "running");
    }
    assert_int_equal(req->http_status, 200);
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);
    assert_null(worker);
}

static void test_find_and_get(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    hmc_worker_set_verbose(worker, true);
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_FIND_PARTITION, 1,
                                                            "web server"));
    assert_int_equal(req->partition_count, 1);
    assert_string_equal(req->partitions[0].name, "web server");
    char uuid[HMC_UUID_SIZE];
    snprintf(uuid, sizeof uuid, "%s", req->partitions[0].uuid);
    hmc_request_destroy(&req);

    req = s_call_ok(worker, hmc_request_new(HMC_REQ_GET_PARTITION, 2, uuid));
    assert_int_equal(req->partition_count, 1);
    assert_string_equal(req->partitions[0].name, "web server");
    assert_string_equal(req->partitions[0].uuid, uuid);
    hmc_request_destroy(&req);

    //  No such partition: done, nothing found.
    req = s_call_ok(worker, hmc_request_new(HMC_REQ_FIND_PARTITION, 3, "no-such-lpar"));
    assert_int_equal(req->partition_count, 0);
    assert_null(req->partitions);
    //  A returned request may be sent again: results are cleared first.
    req = s_call_ok(worker, req);
    assert_int_equal(req->partition_count, 0);
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);
}

static void test_validate(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    char uuid[HMC_UUID_SIZE], job_id[HMC_JOB_ID_SIZE];
    s_uuid_of(worker, "lpar2", uuid, sizeof uuid);
    assert_int_equal(s_run_job(worker, uuid, HMC_OP_MIGRATE_VALIDATE, "sys-b", job_id,
                               sizeof job_id), HMC_JOB_COMPLETED_OK);
    //  Validating towards the system it runs on fails with the HMC's text.
    assert_int_equal(s_run_job(worker, uuid, HMC_OP_MIGRATE_VALIDATE, "sys-a", job_id,
                               sizeof job_id), HMC_JOB_COMPLETED_WITH_ERROR);
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_POLL, 5, job_id));
    char line[512];
    assert_non_null(strstr(hmc_job_describe(&req->status, line, sizeof line), "HSCL"));
    hmc_request_destroy(&req);
    req = s_call_ok(worker, hmc_request_new(HMC_REQ_DELETE, 6, job_id));
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);
}

static void test_migrate(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    hmc_request_t *inv = s_call_ok(worker, hmc_request_new(HMC_REQ_INVENTORY, 1, NULL));
    char uuid[HMC_UUID_SIZE], sys_a[HMC_UUID_SIZE], sys_b[HMC_UUID_SIZE];
    snprintf(uuid, sizeof uuid, "%s", s_partition(inv, "lpar1")->uuid);
    snprintf(sys_a, sizeof sys_a, "%s", s_system(inv, "sys-a")->uuid);
    snprintf(sys_b, sizeof sys_b, "%s", s_system(inv, "sys-b")->uuid);
    assert_string_equal(s_partition(inv, "lpar1")->system_uuid, sys_a);
    hmc_request_destroy(&inv);

    char job_id[HMC_JOB_ID_SIZE];
    assert_int_equal(s_run_job(worker, uuid, HMC_OP_MIGRATE, "sys-b", job_id, sizeof job_id),
                     HMC_JOB_COMPLETED_OK);
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_GET_PARTITION, 2, uuid));
    assert_int_equal(req->partition_count, 1);
    assert_string_equal(req->partitions[0].system_uuid, sys_b);
    assert_string_equal(req->partitions[0].state, "running");
    hmc_request_destroy(&req);
    req = s_call_ok(worker, hmc_request_new(HMC_REQ_DELETE, 3, job_id));
    hmc_request_destroy(&req);
    //  Deleted: polling it now is an error.
    req = s_call(worker, hmc_request_new(HMC_REQ_POLL, 4, job_id));
    assert_int_equal(req->rc, -1);
    assert_int_equal(req->http_status, 404);
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);
}

static void test_errors(void **state)
{
    fixture_t *fx = *state;
    //  Wrong password: the logon's message, once; then no logon is retried.
    zactor_t *worker = s_worker(fx, "wrong-password");
    hmc_request_t *req = s_call(worker, hmc_request_new(HMC_REQ_INVENTORY, 1, NULL));
    assert_int_equal(req->rc, -1);
    assert_int_equal(req->http_status, 401);
    assert_non_null(strstr(req->error, "refused"));
    assert_null(strstr(req->error, "wrong-password"));
    assert_null(req->systems);
    assert_int_equal(req->system_count, 0);
    char first[sizeof req->error];
    snprintf(first, sizeof first, "%s", req->error);
    hmc_request_destroy(&req);
    json_int_t before = s_sim_requests(fx);
    req = s_call(worker, hmc_request_new(HMC_REQ_INVENTORY, 2, NULL));
    assert_int_equal(req->rc, -1);
    assert_non_null(strstr(req->error, first));
    assert_non_null(strstr(req->error, "no new logon"));
    assert_int_equal(s_sim_requests(fx), before);
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);

    worker = s_worker(fx, PASSWORD);
    //  Unknown job: the HMC's message, one line.
    req = s_call(worker, hmc_request_new(HMC_REQ_POLL, 3, "999999999"));
    assert_int_equal(req->rc, -1);
    assert_int_equal(req->http_status, 404);
    assert_true(req->error[0] != '\0');
    assert_null(strchr(req->error, '\n'));
    hmc_request_destroy(&req);
    req = s_call(worker, hmc_request_new(HMC_REQ_CANCEL, 4, "999999999"));
    assert_int_equal(req->rc, -1);
    assert_true(req->error[0] != '\0');
    hmc_request_destroy(&req);
    //  Refused before reaching the HMC.
    req = s_call(worker, hmc_request_new(HMC_REQ_GET_PARTITION, 5, "not-a-uuid"));
    assert_int_equal(req->rc, -1);
    assert_non_null(strstr(req->error, "UUID"));
    hmc_request_destroy(&req);
    hmc_param_t params[] = {{"TargetManagedSystemName", "sys b'; rm"}};
    char uuid[HMC_UUID_SIZE];
    s_uuid_of(worker, "lpar2", uuid, sizeof uuid);
    req = s_call(worker, hmc_request_submit_new(6, uuid, HMC_OP_MIGRATE_VALIDATE, params, 1));
    assert_int_equal(req->rc, -1);
    assert_true(req->error[0] != '\0');
    assert_string_equal(req->job_id, "");
    hmc_request_destroy(&req);
    //  A request built by hand without its input.
    req = calloc(1, sizeof *req);
    assert_non_null(req);
    req->kind = HMC_REQ_POLL;
    req = s_call(worker, req);
    assert_int_equal(req->rc, -1);
    assert_non_null(strstr(req->error, "job id"));
    hmc_request_destroy(&req);
    hmc_worker_destroy(&worker);
}

static void test_queued_in_order(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    enum { N = 12 };
    for (uint64_t id = 100; id < 100 + N; id++) {
        hmc_request_t *req;
        switch (id % 4) {
        case 0:  req = hmc_request_new(HMC_REQ_INVENTORY, id, NULL); break;
        case 1:  req = hmc_request_new(HMC_REQ_FIND_PARTITION, id, "lpar2"); break;
        case 2:  req = hmc_request_new(HMC_REQ_POLL, id, "123456789"); break;
        default: req = hmc_request_new(HMC_REQ_FIND_PARTITION, id, "slow"); break;
        }
        s_send(worker, req);
    }
    for (uint64_t id = 100; id < 100 + N; id++) {
        hmc_request_t *req = s_recv(worker);
        assert_int_equal(req->id, id);
        switch (id % 4) {
        case 0:
            assert_int_equal(req->rc, 0);
            assert_int_equal(req->partition_count, 4);
            break;
        case 1:
            assert_int_equal(req->rc, 0);
            assert_string_equal(req->partitions[0].name, "lpar2");
            break;
        case 2:
            assert_int_equal(req->rc, -1);
            break;
        default:
            assert_int_equal(req->rc, 0);
            assert_string_equal(req->partitions[0].name, "slow");
            break;
        }
        hmc_request_destroy(&req);
    }
    hmc_worker_destroy(&worker);
}

static void test_destroy_in_flight(void **state)
{
    fixture_t *fx = *state;
    zactor_t *worker = s_worker(fx, PASSWORD);
    char uuid[HMC_UUID_SIZE];
    s_uuid_of(worker, "lpar1", uuid, sizeof uuid);  // logged on now
    hmc_request_t *req = s_call_ok(worker, hmc_request_new(HMC_REQ_FIND_PARTITION, 1, "slow"));
    snprintf(uuid, sizeof uuid, "%s", req->partitions[0].uuid);
    hmc_request_destroy(&req);

    //  In flight: a GET of the slow partition; queued behind it, two more.
    json_int_t before = s_sim_requests(fx);
    s_send(worker, hmc_request_new(HMC_REQ_GET_PARTITION, 2, uuid));
    s_send(worker, hmc_request_new(HMC_REQ_GET_PARTITION, 3, uuid));
    s_send(worker, hmc_request_new(HMC_REQ_POLL, 4, "123"));
    int64_t deadline = clock_mono_ms() + REPLY_TIMEOUT_MS;
    while (s_sim_requests(fx) == before) {
        if (clock_mono_ms() >= deadline)
            fail_msg("the worker did not start its request");
        s_sleep_ms(5);
    }
    int64_t start = clock_mono_ms();
    hmc_worker_destroy(&worker);
    int64_t took = clock_mono_ms() - start;
    assert_null(worker);
    //  It waited for the GET in flight (SLOW_DELAY_MS at the simulator) ...
    assert_true(took >= SLOW_DELAY_MS / 2);
    //  ... but did not run the two queued behind it: the simulator saw the
    //  GET, then the logoff only.
    assert_int_equal(s_sim_requests(fx), before + 2);

    //  Replies never received are freed too (LSan checks).
    worker = s_worker(fx, PASSWORD);
    s_send(worker, hmc_request_new(HMC_REQ_INVENTORY, 5, NULL));
    s_send(worker, hmc_request_new(HMC_REQ_POLL, 6, "123"));
    hmc_worker_destroy(&worker);
}

int main(void)
{
    hmc_xml_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_build),
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_find_and_get),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_migrate),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_queued_in_order),
        cmocka_unit_test(test_destroy_in_flight),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    curl_global_cleanup();
    return failed;
}
