/*  test_hmc_client — the HMC client against a tiny in-test HTTPS server
    (libmicrohttpd + TLS, the test-only pair in tests/fixtures/tls/) that
    serves the recorded payloads of tests/fixtures/hmc/ and counts what it is
    asked: logon, token header, the one relogon + one retry after a 401 (and
    no loop), TLS verification, the port fallback, error messages, jobs; and
    the `ferry-collector hmc-inventory` command through the real binary.
    Loopback only; every wait is a blocking HTTP call, no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmc_client.h"
#include "log.h"

#define HMC_FIX FERRY_SOURCE_DIR "/tests/fixtures/hmc/"
#define TLS_FIX FERRY_SOURCE_DIR "/tests/fixtures/tls/"
#define CA_FILE TLS_FIX "test-cert.pem"
#define OTHER_CA TLS_FIX "other-cert.pem"

#define USER "hscroot"
#define PASSWORD "pa&ss<w>rd\"'"
#define LPAR_UUID "6D459A1E-D028-4F36-83FF-207F29700FB8"
#define SYS_UUID "726e9cb3-6576-3df5-ab60-40893d51d074"
#define JOB_OK "1375391227297"
#define JOB_FAILED "1376478617707"
#define JOB_EXCEPTION "1376474747145"

// ------------------------------------------------------------------ server

typedef struct {
    char *data;
    size_t len;
} upload_t;

typedef struct {
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t lock;
    // fixtures
    char *systems, *lpars, *fake_lpars, *one_lpar, *job_ok, *job_failed, *job_exception,
        *error500, *error503;
    // behaviour (set by tests under lock)
    int expire_next;            // the next N authenticated requests: 401, token dropped
    bool always_401;            // every authenticated request: 401
    int fail_status;            // GET ManagedSystem answers this with the 503 body
    // record
    int requests, logons, logoffs, deletes, cancels;
    int connections;            // TCP connections accepted
    int token_seq;
    char token[64];
    char last_session[256];
    char last_method[16];
    char last_url[512];
    char last_ctype[160];
    char last_accept[160];
    char logon_user[64];
    char logon_password[64];
    hmc_job_request_t last_job;
} server_t;

static server_t s_srv;

static char *s_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t) size + 1);
    if (text && fread(text, 1, (size_t) size, f) != (size_t) size) {
        free(text);
        text = NULL;
    }
    if (text)
        text[size] = '\0';
    fclose(f);
    return text;
}

//  The first <entry> of a feed as a document of its own.
static char *s_first_entry(const char *feed)
{
    const char *start = strstr(feed, "<entry>");
    const char *end = strstr(feed, "</entry>");
    if (!start || !end)
        return NULL;
    const char *open = "<entry xmlns=\"http://www.w3.org/2005/Atom\">";
    size_t inner = (size_t) (end - start) - strlen("<entry>");
    size_t len = strlen(open) + inner + strlen("</entry>");
    char *doc = malloc(len + 1);
    if (!doc)
        return NULL;
    snprintf(doc, len + 1, "%s%.*s</entry>", open, (int) inner, start + strlen("<entry>"));
    return doc;
}

static const char *s_header(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v ? v : "";
}

static const char *s_error_body(const char *message, int status, char *buf, size_t size)
{
    snprintf(buf, size,
             "<HttpErrorResponse:HttpErrorResponse xmlns:HttpErrorResponse="
             "\"http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/\" xmlns="
             "\"http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/\">"
             "<HTTPStatus>%d</HTTPStatus><Message>%s</Message></HttpErrorResponse:HttpErrorResponse>",
             status, message);
    return buf;
}

//  Decide the answer to a complete request. Called under the lock.
static int s_route(struct MHD_Connection *conn, const char *url, const char *method,
                   const upload_t *up, const char **body, const char **ctype, char *scratch,
                   size_t scratch_size)
{
    *ctype = "application/atom+xml";
    *body = "";
    if (strcmp(url, "/rest/api/web/Logon") == 0) {
        *ctype = "application/vnd.ibm.powervm.web+xml; type=LogonResponse";
        if (strcmp(method, "DELETE") == 0) {
            s_srv.logoffs++;
            s_srv.token[0] = '\0';
            return 204;
        }
        s_srv.logons++;
        s_srv.token[0] = '\0';
        if (hmc_parse_logon_request(up->data, up->len, s_srv.logon_user, sizeof s_srv.logon_user,
                                    s_srv.logon_password, sizeof s_srv.logon_password, NULL) != 0
            || strcmp(s_srv.logon_user, USER) != 0 || strcmp(s_srv.logon_password, PASSWORD) != 0) {
            *body = s_error_body("Invalid user ID or password", 401, scratch, scratch_size);
            return 401;
        }
        snprintf(s_srv.token, sizeof s_srv.token, "tok-%d", ++s_srv.token_seq);
        snprintf(scratch, scratch_size,
                 "<LogonResponse xmlns=\"http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/\">"
                 "<X-API-Session kb=\"ROR\">\n    %s\n</X-API-Session></LogonResponse>",
                 s_srv.token);
        *body = scratch;
        return 200;
    }
    const char *session = s_header(conn, "X-API-Session");
    snprintf(s_srv.last_session, sizeof s_srv.last_session, "%s", session);
    if (s_srv.always_401 || !s_srv.token[0] || strcmp(session, s_srv.token) != 0
        || s_srv.expire_next > 0) {
        if (s_srv.expire_next > 0)
            s_srv.expire_next--;
        s_srv.token[0] = '\0';
        *body = s_error_body("Session expired", 401, scratch, scratch_size);
        return 401;
    }
    bool get = strcmp(method, "GET") == 0;
    if (get && strcmp(url, "/rest/api/uom/ManagedSystem") == 0) {
        *body = s_srv.fail_status ? s_srv.error503 : s_srv.systems;
        return s_srv.fail_status ? s_srv.fail_status : 200;
    }
    if (get && strcmp(url, "/rest/api/uom/LogicalPartition") == 0) {
        *body = s_srv.lpars;
        return 200;
    }
    if (get && strcmp(url, "/rest/api/uom/ManagedSystem/" SYS_UUID "/LogicalPartition") == 0) {
        *body = s_srv.fake_lpars;
        return 200;
    }
    if (get && strcmp(url, "/rest/api/uom/LogicalPartition/" LPAR_UUID) == 0) {
        *body = s_srv.one_lpar;
        return 200;
    }
    if (get && strcmp(url, "/rest/api/uom/LogicalPartition/search/(PartitionName=='kevin1')") == 0) {
        *body = s_srv.lpars;
        return 200;
    }
    if (get && strcmp(url, "/rest/api/uom/ManagedSystem/search/(SystemName=='HV4')") == 0) {
        *body = s_srv.systems;
        return 200;
    }
    if (get && strstr(url, "/search/"))
        return 204;
    if (get && strcmp(url, "/rest/api/uom/Error500") == 0) {
        *body = s_srv.error500;
        return 500;
    }
    const char *do_prefix = "/rest/api/uom/LogicalPartition/" LPAR_UUID "/do/";
    if (strcmp(method, "PUT") == 0 && strncmp(url, do_prefix, strlen(do_prefix)) == 0) {
        hmc_job_request_clear(&s_srv.last_job);
        if (hmc_parse_job_request(up->data, up->len, &s_srv.last_job, NULL) != 0) {
            *body = s_error_body("Bad JobRequest", 400, scratch, scratch_size);
            return 400;
        }
        *body = s_srv.job_ok;
        return 200;
    }
    const char *jobs = "/rest/api/uom/jobs/";
    if (strncmp(url, jobs, strlen(jobs)) == 0) {
        const char *id = url + strlen(jobs);
        char *answer = NULL;
        if (strncmp(id, JOB_OK, strlen(JOB_OK)) == 0)
            answer = s_srv.job_ok;
        else if (strncmp(id, JOB_FAILED, strlen(JOB_FAILED)) == 0)
            answer = s_srv.job_failed;
        else if (strncmp(id, JOB_EXCEPTION, strlen(JOB_EXCEPTION)) == 0)
            answer = s_srv.job_exception;
        if (!answer) {
            *body = s_error_body("No such job", 404, scratch, scratch_size);
            return 404;
        }
        if (get) {
            *body = answer;
            return 200;
        }
        if (strcmp(method, "DELETE") == 0) {
            s_srv.deletes++;
            return 204;
        }
        if (strcmp(method, "POST") == 0 && strstr(id, "/cancel")) {
            s_srv.cancels++;
            return 200;
        }
    }
    *body = s_error_body("Not found", 404, scratch, scratch_size);
    return 404;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void) cls;
    (void) version;
    upload_t *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        char *grown = realloc(up->data, up->len + *upload_data_size + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + up->len, upload_data, *upload_data_size);
        up->data = grown;
        up->len += *upload_data_size;
        up->data[up->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s_srv.lock);
    s_srv.requests++;
    snprintf(s_srv.last_method, sizeof s_srv.last_method, "%s", method);
    snprintf(s_srv.last_url, sizeof s_srv.last_url, "%s", url);
    snprintf(s_srv.last_ctype, sizeof s_srv.last_ctype, "%s", s_header(conn, "Content-Type"));
    snprintf(s_srv.last_accept, sizeof s_srv.last_accept, "%s", s_header(conn, "Accept"));
    char scratch[2048];
    const char *body, *ctype;
    int status = s_route(conn, url, method, up, &body, &ctype, scratch, sizeof scratch);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&s_srv.lock);
    if (!resp)
        return MHD_NO;
    if (status != 204)
        MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned) status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void s_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    (void) cls;
    (void) conn;
    (void) socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&s_srv.lock);
        s_srv.connections++;
        pthread_mutex_unlock(&s_srv.lock);
    }
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) conn;
    (void) toe;
    upload_t *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

//  A TCP port bound on loopback without listen(): connecting to it is refused.
static int s_refusing_port(int *fd_p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    *fd_p = fd;
    return ntohs(addr.sin_port);
}

static int s_group_setup(void **state)
{
    (void) state;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        fprintf(stderr, "libmicrohttpd built without TLS\n");
        return -1;
    }
    pthread_mutex_init(&s_srv.lock, NULL);
    s_srv.systems = s_load(HMC_FIX "managedsystem.xml");
    s_srv.lpars = s_load(HMC_FIX "lpar.xml");
    s_srv.fake_lpars = s_load(HMC_FIX "fake_lpar_feed.xml");
    s_srv.job_ok = s_load(HMC_FIX "job_response_completed_ok.xml");
    s_srv.job_failed = s_load(HMC_FIX "job_response_completed_failed.xml");
    s_srv.job_exception = s_load(HMC_FIX "job_response_exception.xml");
    s_srv.error500 = s_load(HMC_FIX "fake_httperror.xml");
    s_srv.error503 = s_load(HMC_FIX "fake_httperror_service_unavail.xml");
    s_srv.one_lpar = s_srv.lpars ? s_first_entry(s_srv.lpars) : NULL;
    char *key = s_load(TLS_FIX "test-key.pem");
    char *cert = s_load(CA_FILE);
    if (!s_srv.systems || !s_srv.lpars || !s_srv.fake_lpars || !s_srv.job_ok || !s_srv.job_failed
        || !s_srv.job_exception || !s_srv.error500 || !s_srv.error503 || !s_srv.one_lpar || !key
        || !cert) {
        fprintf(stderr, "cannot load fixtures\n");
        return -1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s_srv.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
                                    s_handler, NULL, MHD_OPTION_SOCK_ADDR, &addr,
                                    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
                                    MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
                                    MHD_OPTION_NOTIFY_CONNECTION, s_connection, NULL,
                                    MHD_OPTION_END);
    free(key);
    free(cert);
    if (!s_srv.daemon) {
        fprintf(stderr, "cannot start the HTTPS server\n");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s_srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
    s_srv.port = info ? info->port : 0;
    return s_srv.port > 0 ? 0 : -1;
}

static int s_group_teardown(void **state)
{
    (void) state;
    if (s_srv.daemon)
        MHD_stop_daemon(s_srv.daemon);
    char **texts[] = {&s_srv.systems, &s_srv.lpars, &s_srv.fake_lpars, &s_srv.one_lpar,
                      &s_srv.job_ok, &s_srv.job_failed, &s_srv.job_exception, &s_srv.error500,
                      &s_srv.error503};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        free(*texts[i]);
        *texts[i] = NULL;
    }
    hmc_job_request_clear(&s_srv.last_job);
    pthread_mutex_destroy(&s_srv.lock);
    return 0;
}

//  Reset behaviour and counters before each test.
static int s_setup(void **state)
{
    (void) state;
    pthread_mutex_lock(&s_srv.lock);
    s_srv.expire_next = 0;
    s_srv.always_401 = false;
    s_srv.fail_status = 0;
    s_srv.requests = s_srv.logons = s_srv.logoffs = s_srv.deletes = s_srv.cancels = 0;
    s_srv.connections = 0;
    s_srv.token[0] = '\0';
    s_srv.token_seq = 0;
    pthread_mutex_unlock(&s_srv.lock);
    return 0;
}

static int s_requests(void)
{
    pthread_mutex_lock(&s_srv.lock);
    int n = s_srv.requests;
    pthread_mutex_unlock(&s_srv.lock);
    return n;
}

// ------------------------------------------------------------------ client helpers

static hmc_session_t *s_session_opts(hmc_options_t *opts)
{
    char err[256] = "";
    hmc_session_t *session = hmc_session_new(opts, err, sizeof err);
    if (!session)
        fail_msg("hmc_session_new: %s", err);
    return session;
}

static hmc_session_t *s_session(const char *password, const char *ca_file, bool insecure)
{
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", s_srv.port);
    hmc_options_t opts = {.url = url, .user = USER, .password = password, .ca_file = ca_file,
                          .insecure = insecure, .timeout_ms = 20000};
    return s_session_opts(&opts);
}

static hmc_session_t *s_logged_on(void)
{
    hmc_session_t *session = s_session(PASSWORD, CA_FILE, false);
    if (hmc_logon(session) != 0)
        fail_msg("logon: %s", hmc_error(session));
    return session;
}

// ------------------------------------------------------------------ tests

static void test_logon_inventory_logoff(void **state)
{
    (void) state;
    hmc_session_t *session = s_session(PASSWORD, CA_FILE, false);
    assert_false(hmc_logged_on(session));
    if (hmc_logon(session) != 0)
        fail_msg("logon: %s", hmc_error(session));
    assert_true(hmc_logged_on(session));
    assert_int_equal(s_srv.logons, 1);
    assert_string_equal(s_srv.logon_user, USER);
    assert_string_equal(s_srv.logon_password, PASSWORD);        // XML-escaped on the wire
    assert_string_equal(s_srv.last_method, "PUT");
    assert_string_equal(s_srv.last_ctype, "application/vnd.ibm.powervm.web+xml; type=LogonRequest");

    hmc_system_t *systems = NULL;
    size_t count = 0;
    assert_int_equal(hmc_list_systems(session, &systems, &count), 0);
    assert_int_equal(count, 3);
    assert_string_equal(systems[0].name, "HV4");
    assert_int_equal(systems[0].max_active_migrations, 0);
    free(systems);
    assert_string_equal(s_srv.last_session, "tok-1");          // the token, trimmed, sent back
    assert_string_equal(s_srv.last_accept, "application/atom+xml");
    assert_string_equal(s_srv.last_url, "/rest/api/uom/ManagedSystem");

    hmc_partition_t *parts = NULL;
    assert_int_equal(hmc_list_partitions(session, NULL, &parts, &count), 0);
    assert_int_equal(count, 21);
    free(parts);
    assert_int_equal(hmc_list_partitions(session, SYS_UUID, &parts, &count), 0);
    assert_int_equal(count, 17);
    assert_string_equal(parts[0].migration_state, "Not_Migrating");
    free(parts);
    assert_string_equal(s_srv.last_url, "/rest/api/uom/ManagedSystem/" SYS_UUID "/LogicalPartition");

    hmc_partition_t one;
    assert_int_equal(hmc_get_partition(session, "089FFB20-5D19-4A8C-BB80-13650627D985", &one), -1);
    assert_non_null(strstr(hmc_error(session), "404"));
    assert_int_equal(hmc_get_partition(session, LPAR_UUID, &one), 0);
    assert_string_equal(one.name, "z3-9-5-126-127-00000001");   // the entry served
    assert_int_equal(hmc_http_status(session), 200);

    assert_int_equal(hmc_logoff(session), 0);
    assert_false(hmc_logged_on(session));
    assert_int_equal(s_srv.logoffs, 1);
    assert_int_equal(s_requests(), 7);
    assert_int_equal(s_srv.connections, 1);                     // one kept-alive connection
    assert_int_equal(hmc_logoff(session), 0);                   // nothing to do
    assert_int_equal(s_requests(), 7);
    hmc_session_destroy(&session);
    assert_null(session);
}

static void test_logon_refused(void **state)
{
    (void) state;
    hmc_session_t *session = s_session("wrong-secret", CA_FILE, false);
    assert_int_equal(hmc_logon(session), -1);
    const char *err = hmc_error(session);
    assert_non_null(strstr(err, "refused"));
    assert_non_null(strstr(err, "401"));
    assert_non_null(strstr(err, "Invalid user ID or password"));
    assert_null(strstr(err, "wrong-secret"));
    assert_false(hmc_logged_on(session));
    assert_int_equal(s_requests(), 1);                          // never retried
    hmc_session_destroy(&session);
}

static void test_relogon_once_then_success(void **state)
{
    (void) state;
    hmc_session_t *session = s_logged_on();
    pthread_mutex_lock(&s_srv.lock);
    s_srv.expire_next = 1;
    pthread_mutex_unlock(&s_srv.lock);
    hmc_system_t *systems = NULL;
    size_t count = 0;
    if (hmc_list_systems(session, &systems, &count) != 0)
        fail_msg("list: %s", hmc_error(session));
    assert_int_equal(count, 3);
    free(systems);
    assert_int_equal(s_srv.logons, 2);
    assert_int_equal(s_requests(), 4);          // logon, GET 401, logon, GET 200
    assert_string_equal(s_srv.last_session, "tok-2");
    hmc_session_destroy(&session);
}

static void test_401_twice_is_an_error_not_a_loop(void **state)
{
    (void) state;
    hmc_session_t *session = s_logged_on();
    pthread_mutex_lock(&s_srv.lock);
    s_srv.always_401 = true;
    pthread_mutex_unlock(&s_srv.lock);
    hmc_system_t *systems = NULL;
    size_t count = 0;
    assert_int_equal(hmc_list_systems(session, &systems, &count), -1);
    assert_null(systems);
    assert_non_null(strstr(hmc_error(session), "401"));
    assert_non_null(strstr(hmc_error(session), "not retried"));
    assert_int_equal(s_srv.logons, 2);
    assert_int_equal(s_requests(), 4);          // logon, GET 401, logon, GET 401: stop
    //  The next call is bounded the same way.
    assert_int_equal(hmc_list_systems(session, &systems, &count), -1);
    assert_int_equal(s_requests(), 7);
    //  A logoff answered 401 counts as done, without a new logon.
    int before = s_requests();
    assert_int_equal(hmc_logoff(session), 0);
    assert_int_equal(s_requests(), before + 1);
    assert_false(hmc_logged_on(session));
    hmc_session_destroy(&session);
}

static void test_tls_verification(void **state)
{
    (void) state;
    //  System CAs do not know the test certificate.
    hmc_session_t *session = s_session(PASSWORD, NULL, false);
    assert_int_equal(hmc_logon(session), -1);
    const char *err = hmc_error(session);
    if (strncmp(err, "TLS: ", 5) != 0)
        fail_msg("unexpected error: %s", err);
    hmc_session_destroy(&session);

    //  A CA file that is not the HMC's.
    session = s_session(PASSWORD, OTHER_CA, false);
    assert_int_equal(hmc_logon(session), -1);
    err = hmc_error(session);
    if (!strstr(err, "TLS: certificate verify failed for https://127.0.0.1:")
        || !strstr(err, "--ca-file"))
        fail_msg("unexpected error: %s", err);
    hmc_session_destroy(&session);
    assert_int_equal(s_requests(), 0);          // nothing reached HTTP

    //  A CA file that cannot be read.
    session = s_session(PASSWORD, TLS_FIX "missing.pem", false);
    assert_int_equal(hmc_logon(session), -1);
    assert_non_null(strstr(hmc_error(session), "TLS: "));
    hmc_session_destroy(&session);

    //  The right CA file, then insecure without any.
    session = s_session(PASSWORD, CA_FILE, false);
    assert_int_equal(hmc_logon(session), 0);
    hmc_session_destroy(&session);
    session = s_session(PASSWORD, NULL, true);
    if (hmc_logon(session) != 0)
        fail_msg("insecure logon: %s", hmc_error(session));
    hmc_session_destroy(&session);
    assert_int_equal(s_requests(), 2);
}

static void test_unreachable_and_fallback(void **state)
{
    (void) state;
    int fd1, fd2;
    int refused = s_refusing_port(&fd1);
    int refused2 = s_refusing_port(&fd2);
    char url[64];

    //  An explicit port is never swapped for the fallback.
    snprintf(url, sizeof url, "https://127.0.0.1:%d", refused);
    hmc_options_t opts = {.url = url, .user = USER, .password = PASSWORD, .ca_file = CA_FILE,
                          .fallback_port = s_srv.port};
    hmc_session_t *session = s_session_opts(&opts);
    assert_int_equal(hmc_logon(session), -1);
    char expected[128];
    snprintf(expected, sizeof expected, "cannot connect to 127.0.0.1:%d: Connection refused", refused);
    assert_string_equal(hmc_error(session), expected);
    assert_int_equal(hmc_http_status(session), 0);
    hmc_session_destroy(&session);
    assert_int_equal(s_requests(), 0);

    //  No port in the URL: the default port refuses, the fallback answers.
    opts.url = "https://127.0.0.1";
    opts.default_port = refused;
    session = s_session_opts(&opts);
    if (hmc_logon(session) != 0)
        fail_msg("logon with fallback: %s", hmc_error(session));
    snprintf(expected, sizeof expected, "https://127.0.0.1:%d", s_srv.port);
    assert_string_equal(hmc_base_url(session), expected);
    hmc_system_t *systems = NULL;
    size_t count = 0;
    assert_int_equal(hmc_list_systems(session, &systems, &count), 0);
    free(systems);
    hmc_session_destroy(&session);
    assert_int_equal(s_requests(), 2);

    //  Both refuse: one message naming both ports.
    opts.fallback_port = refused2;
    session = s_session_opts(&opts);
    assert_int_equal(hmc_logon(session), -1);
    snprintf(expected, sizeof expected, "cannot connect to 127.0.0.1:%d and :%d: Connection refused",
             refused, refused2);
    assert_string_equal(hmc_error(session), expected);
    hmc_session_destroy(&session);

    //  Fallback disabled.
    opts.fallback_port = -1;
    session = s_session_opts(&opts);
    assert_int_equal(hmc_logon(session), -1);
    snprintf(expected, sizeof expected, "cannot connect to 127.0.0.1:%d: Connection refused", refused);
    assert_string_equal(hmc_error(session), expected);
    hmc_session_destroy(&session);
    close(fd1);
    close(fd2);
}

static void test_http_error_messages(void **state)
{
    (void) state;
    hmc_session_t *session = s_logged_on();
    pthread_mutex_lock(&s_srv.lock);
    s_srv.fail_status = 503;
    pthread_mutex_unlock(&s_srv.lock);
    hmc_system_t *systems = NULL;
    size_t count = 0;
    assert_int_equal(hmc_list_systems(session, &systems, &count), -1);
    assert_string_equal(hmc_error(session),
                        "GET /rest/api/uom/ManagedSystem: HTTP 503 Service Unavailable: Test error");
    assert_int_equal(hmc_http_status(session), 503);

    hmc_job_status_t job;
    assert_int_equal(hmc_job_poll(session, "999", &job), -1);
    assert_string_equal(hmc_error(session), "GET /rest/api/uom/jobs/999: HTTP 404 Not Found: No such job");
    hmc_session_destroy(&session);
}

static void test_jobs(void **state)
{
    (void) state;
    hmc_session_t *session = s_logged_on();
    const hmc_param_t params[] = {
        {"TargetManagedSystemName", "Server-8246-L1C-SN0604CAA"},
        {"DestMSPIPaddr", "10.1.1.5,10.1.1.6"},
        {"VirtualFCMappings", "3/vios1/1,4/vios2/2"},
        {"WaitTime", "30"},
    };
    char job_id[HMC_JOB_ID_SIZE];
    if (hmc_job_submit(session, LPAR_UUID, HMC_OP_MIGRATE_VALIDATE, params, 4, job_id,
                       sizeof job_id) != 0)
        fail_msg("submit: %s", hmc_error(session));
    assert_string_equal(job_id, JOB_OK);
    assert_string_equal(s_srv.last_method, "PUT");
    assert_string_equal(s_srv.last_url, "/rest/api/uom/LogicalPartition/" LPAR_UUID "/do/MigrateValidate");
    assert_string_equal(s_srv.last_ctype, "application/vnd.ibm.powervm.web+xml; type=JobRequest");
    assert_string_equal(s_srv.last_accept, "application/atom+xml");
    assert_string_equal(s_srv.last_job.operation, "MigrateValidate");
    assert_string_equal(s_srv.last_job.group, "LogicalPartition");
    assert_int_equal(s_srv.last_job.param_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(s_srv.last_job.params[i].name, params[i].name);
        assert_string_equal(s_srv.last_job.params[i].value, params[i].value);
    }
    assert_int_equal(hmc_job_submit(session, LPAR_UUID, HMC_OP_MIGRATE_RECOVER,
                                     &(hmc_param_t) {"Force", "true"}, 1, job_id, sizeof job_id), 0);
    assert_string_equal(s_srv.last_url, "/rest/api/uom/LogicalPartition/" LPAR_UUID "/do/MigrateRecover");
    assert_int_equal(hmc_job_submit(session, LPAR_UUID, HMC_OP_MIGRATE_ABORT, NULL, 0, job_id,
                                     sizeof job_id), 0);
    assert_string_equal(s_srv.last_url, "/rest/api/uom/LogicalPartition/" LPAR_UUID "/do/MigrateAbort");
    assert_int_equal(hmc_job_submit(session, LPAR_UUID, HMC_OP_MIGRATE, params, 1, job_id,
                                     sizeof job_id), 0);
    assert_string_equal(s_srv.last_job.operation, "Migrate");

    hmc_job_status_t job;
    assert_int_equal(hmc_job_poll(session, JOB_OK, &job), 0);
    assert_int_equal(job.state, HMC_JOB_COMPLETED_OK);
    hmc_job_status_clear(&job);
    assert_int_equal(hmc_job_poll(session, JOB_FAILED, &job), 0);
    assert_int_equal(job.state, HMC_JOB_COMPLETED_WITH_ERROR);
    assert_non_null(job.result_message);
    assert_true(strncmp(job.result_message, "HSCL05DF ", 9) == 0);
    hmc_job_status_clear(&job);
    assert_int_equal(hmc_job_poll(session, JOB_EXCEPTION, &job), 0);
    assert_int_equal(job.state, HMC_JOB_FAILED_BEFORE_COMPLETION);
    assert_non_null(strstr(job.exception_message, "Unsupported commmand"));
    hmc_job_status_clear(&job);

    assert_int_equal(hmc_job_delete(session, JOB_OK), 0);
    assert_string_equal(s_srv.last_method, "DELETE");
    assert_int_equal(s_srv.deletes, 1);
    assert_int_equal(hmc_job_delete(session, "12345"), 0);       // already gone: 404 is fine
    assert_int_equal(hmc_job_cancel(session, JOB_FAILED), 0);
    assert_string_equal(s_srv.last_method, "POST");
    assert_string_equal(s_srv.last_url, "/rest/api/uom/jobs/" JOB_FAILED "/cancel");
    assert_int_equal(s_srv.cancels, 1);

    //  Refused before anything is sent.
    int before = s_requests();
    const hmc_param_t evil[] = {
        {"TargetManagedSystemName", "sysB,Force=true"},
        {"TargetManagedSystemName", "-oops"},
        {"DestinationLparID", "12a"},
        {"SourceMSPIPaddr", "10.0.0.1,,10.0.0.2"},
        {"Force", "yes"},
        {"SomethingNew", "a b"},
        {"Bad-Name", "x"},
        {"VirtualSCSIMappings", "1/vios1/1'"},
    };
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        assert_int_equal(hmc_job_submit(session, LPAR_UUID, HMC_OP_MIGRATE, &evil[i], 1, job_id,
                                         sizeof job_id), -1);
        assert_non_null(strstr(hmc_error(session), "refused before submission"));
    }
    assert_int_equal(hmc_job_submit(session, "../../etc", HMC_OP_MIGRATE, NULL, 0, job_id,
                                     sizeof job_id), -1);
    assert_int_equal(hmc_job_poll(session, "1/../2", &job), -1);
    assert_int_equal(hmc_job_delete(session, "x"), -1);
    assert_int_equal(hmc_job_cancel(session, ""), -1);
    assert_int_equal(s_requests(), before);

    char err[256];
    const hmc_param_t good[] = {
        {"TargetRemoteHMCIPAddress", "hmc2.example.com"},
        {"TargetRemoteHMCIPAddress", "fd00::1"},
        {"TargetRemoteHMCUserID", "hscroot"},
        {"SharedProcPoolName", "pool_1"},
        {"TargetProfileName", "normal profile"},
        {"SomethingNew", "value-1"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (hmc_job_param_check(&good[i], err, sizeof err) != 0)
            fail_msg("%s", err);
    hmc_session_destroy(&session);
}

static void test_search(void **state)
{
    (void) state;
    hmc_session_t *session = s_logged_on();
    hmc_partition_t part;
    bool found = false;
    assert_int_equal(hmc_find_partition(session, "kevin1", &part, &found), 0);
    assert_true(found);
    assert_string_equal(part.uuid, LPAR_UUID);
    assert_string_equal(s_srv.last_url, "/rest/api/uom/LogicalPartition/search/(PartitionName=='kevin1')");

    assert_int_equal(hmc_find_partition(session, "nobody here", &part, &found), 0);
    assert_false(found);
    assert_int_equal(hmc_http_status(session), 204);
    //  Sent URL-encoded; the server decodes it.
    assert_string_equal(s_srv.last_url,
                        "/rest/api/uom/LogicalPartition/search/(PartitionName=='nobody here')");

    hmc_system_t sys;
    assert_int_equal(hmc_find_system(session, "HV4", &sys, &found), 0);
    assert_true(found);
    assert_string_equal(sys.serial, "ACE0001");
    assert_int_equal(hmc_find_system(session, "Other", &sys, &found), 0);
    assert_false(found);

    int before = s_requests();
    assert_int_equal(hmc_find_partition(session, "x')||('", &part, &found), -1);
    assert_non_null(strstr(hmc_error(session), "invalid partition name"));
    assert_int_equal(hmc_find_system(session, "a b", &sys, &found), -1);
    hmc_partition_t *parts = NULL;
    size_t count = 0;
    assert_int_equal(hmc_list_partitions(session, "not-a-uuid", &parts, &count), -1);
    assert_null(parts);
    assert_int_equal(s_requests(), before);
    hmc_session_destroy(&session);
}

static void test_bad_options(void **state)
{
    (void) state;
    const char *urls[] = {"http://h", "https://h/rest", "https://u:p@h", "h:443", "https://h:0",
                          "https://h:70000", "https://h?x=1", "ftp://h", ""};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char err[256] = "";
        hmc_options_t opts = {.url = urls[i], .user = "u", .password = "p"};
        hmc_session_t *session = hmc_session_new(&opts, err, sizeof err);
        if (session)
            fail_msg("URL '%s' accepted", urls[i]);
        assert_true(err[0] != '\0');
    }
    char err[256];
    hmc_options_t opts = {.url = "https://h", .user = "u"};
    assert_null(hmc_session_new(&opts, err, sizeof err));
    opts = (hmc_options_t) {.url = "https://h", .user = "u", .password = "p", .insecure = true,
                            .ca_file = CA_FILE};
    assert_null(hmc_session_new(&opts, err, sizeof err));
    opts = (hmc_options_t) {.url = "https://hmc1.example.com/", .user = "u", .password = "p"};
    hmc_session_t *session = hmc_session_new(&opts, err, sizeof err);
    assert_non_null(session);
    assert_string_equal(hmc_base_url(session), "https://hmc1.example.com:443");
    hmc_session_destroy(&session);
    opts.url = "https://[::1]:12443";
    session = hmc_session_new(&opts, err, sizeof err);
    assert_non_null(session);
    assert_string_equal(hmc_base_url(session), "https://[::1]:12443");
    hmc_session_destroy(&session);
    hmc_session_destroy(&session);      // NULL-safe
}

// ------------------------------------------------------------------ the command

typedef struct {
    char dir[64];
    char password_file[128];
} cli_t;

static char s_stderr_path[160];     // where the command's stderr goes

//  Run ferry-collector hmc-inventory with args; stdout into out (malloc'd).
static int s_run_cli(const char *args, char **out)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s/ferry-collector hmc-inventory %s 2>%s", FERRY_BIN_DIR, args,
             s_stderr_path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *s_stderr(void)
{
    char *text = s_load(s_stderr_path);
    return text ? text : strdup("");
}

static void test_inventory_command(void **state)
{
    (void) state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s/ferry-collector", FERRY_BIN_DIR);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "ferry-collector not built: skipped\n");
        skip();
    }
    cli_t cli;
    snprintf(cli.dir, sizeof cli.dir, "/tmp/test_hmc_client.XXXXXX");
    assert_non_null(mkdtemp(cli.dir));
    snprintf(cli.password_file, sizeof cli.password_file, "%s/password", cli.dir);
    snprintf(s_stderr_path, sizeof s_stderr_path, "%s/stderr", cli.dir);
    FILE *f = fopen(cli.password_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", PASSWORD);
    fclose(f);
    assert_int_equal(chmod(cli.password_file, 0600), 0);

    char args[768], *out, *err;
    snprintf(args, sizeof args, "--url https://127.0.0.1:%d --user %s --password-file %s "
             "--ca-file %s --json", s_srv.port, USER, cli.password_file, CA_FILE);
    int rc = s_run_cli(args, &out);
    if (rc != 0) {
        err = s_stderr();
        fail_msg("exit %d: %s", rc, err);
    }
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    if (!root)
        fail_msg("not JSON: %s\n%s", jerr.text, out);
    json_t *systems = json_object_get(root, "systems");
    json_t *parts = json_object_get(root, "partitions");
    assert_int_equal(json_array_size(systems), 3);
    assert_int_equal(json_array_size(parts), 21);
    json_t *hv4 = json_array_get(systems, 0);
    const char *sys_keys[] = {"uuid", "name", "state", "serial", "machine_type", "model",
                              "max_active_migrations", "active_migrations_in_progress", "lpm_capable"};
    assert_int_equal(json_object_size(hv4), 9);
    for (size_t i = 0; i < 9; i++)
        assert_non_null(json_object_get(hv4, sys_keys[i]));
    assert_string_equal(json_string_value(json_object_get(hv4, "name")), "HV4");
    assert_int_equal(json_integer_value(json_object_get(hv4, "max_active_migrations")), 0);
    assert_true(json_is_true(json_object_get(hv4, "lpm_capable")));
    json_t *p0 = json_array_get(parts, 0);
    const char *part_keys[] = {"uuid", "name", "id", "state", "type", "rmc_state",
                               "migration_state", "system_uuid"};
    assert_int_equal(json_object_size(p0), 8);
    for (size_t i = 0; i < 8; i++)
        assert_non_null(json_object_get(p0, part_keys[i]));
    assert_int_equal(json_integer_value(json_object_get(p0, "id")), 9);
    assert_true(json_is_null(json_object_get(p0, "migration_state")));
    assert_string_equal(json_string_value(json_object_get(p0, "system_uuid")),
                        "a168a3ec-bb3e-3ead-86c1-7d98b9d50239");
    json_decref(root);
    free(out);
    assert_int_equal(s_srv.logoffs, 1);

    //  Tables, insecure (with its warning).
    snprintf(args, sizeof args, "--url=https://127.0.0.1:%d --user %s --password-file %s --insecure",
             s_srv.port, USER, cli.password_file);
    assert_int_equal(s_run_cli(args, &out), 0);
    assert_non_null(strstr(out, "SYSTEM"));
    assert_non_null(strstr(out, "HV4"));
    assert_non_null(strstr(out, "kevin1"));
    free(out);
    err = s_stderr();
    assert_non_null(strstr(err, "WARNING: --insecure"));
    free(err);

    //  TLS failure, logon failure, unreachable: exit 1 with a message.
    snprintf(args, sizeof args, "--url https://127.0.0.1:%d --user %s --password-file %s",
             s_srv.port, USER, cli.password_file);
    assert_int_equal(s_run_cli(args, &out), 1);
    free(out);
    err = s_stderr();
    assert_non_null(strstr(err, "TLS: "));
    free(err);
    snprintf(args, sizeof args, "--url https://127.0.0.1:%d --user nobody --password-file %s --ca-file %s",
             s_srv.port, cli.password_file, CA_FILE);
    assert_int_equal(s_run_cli(args, &out), 1);
    free(out);
    err = s_stderr();
    assert_non_null(strstr(err, "refused"));
    assert_null(strstr(err, "ss<w>rd"));
    free(err);
    int fd;
    int refused = s_refusing_port(&fd);
    snprintf(args, sizeof args, "--url https://127.0.0.1:%d --user %s --password-file %s --ca-file %s",
             refused, USER, cli.password_file, CA_FILE);
    assert_int_equal(s_run_cli(args, &out), 1);
    free(out);
    close(fd);
    err = s_stderr();
    assert_non_null(strstr(err, "cannot connect to 127.0.0.1"));
    free(err);

    //  A password file others can read is refused.
    assert_int_equal(chmod(cli.password_file, 0644), 0);
    snprintf(args, sizeof args, "--url https://127.0.0.1:%d --user %s --password-file %s --ca-file %s",
             s_srv.port, USER, cli.password_file, CA_FILE);
    int before = s_requests();
    assert_int_equal(s_run_cli(args, &out), 1);
    free(out);
    assert_int_equal(s_requests(), before);
    err = s_stderr();
    assert_non_null(strstr(err, "password file refused"));
    free(err);

    //  Bad options: exit 2.
    const char *bad[] = {"", "--url https://h --user u", "--url https://h --user u --password-file x --bogus",
                         "--url https://h --user u --password-file x --insecure --ca-file " CA_FILE,
                         "--url http://h --user u --password-file x", "--url"};
    assert_int_equal(chmod(cli.password_file, 0600), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[600];
        snprintf(line, sizeof line, "%s", bad[i]);
        char *x = strstr(line, "--password-file x");
        if (x) {
            char rebuilt[600];
            snprintf(rebuilt, sizeof rebuilt, "%.*s--password-file %s%s", (int) (x - line), line,
                     cli.password_file, x + strlen("--password-file x"));
            snprintf(line, sizeof line, "%s", rebuilt);
        }
        int code = s_run_cli(line, &out);
        free(out);
        if (code != 2)
            fail_msg("'%s': exit %d, expected 2", line, code);
    }
    unlink(cli.password_file);
    unlink(s_stderr_path);
    rmdir(cli.dir);
}

int main(void)
{
    log_init("test_hmc_client", false, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_logon_inventory_logoff, s_setup),
        cmocka_unit_test_setup(test_logon_refused, s_setup),
        cmocka_unit_test_setup(test_relogon_once_then_success, s_setup),
        cmocka_unit_test_setup(test_401_twice_is_an_error_not_a_loop, s_setup),
        cmocka_unit_test_setup(test_tls_verification, s_setup),
        cmocka_unit_test_setup(test_unreachable_and_fallback, s_setup),
        cmocka_unit_test_setup(test_http_error_messages, s_setup),
        cmocka_unit_test_setup(test_jobs, s_setup),
        cmocka_unit_test_setup(test_search, s_setup),
        cmocka_unit_test_setup(test_bad_options, s_setup),
        cmocka_unit_test_setup(test_inventory_command, s_setup),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
