/*  test_hmcsim — the real ferry-hmcsim on loopback, over HTTPS with a
    certificate it generated, driven with libcurl like an HMC client: logon
    and 401s, feeds parsed by namespace + local name, search, jobs, a move
    of a partition made with ferry-simlpar (its serial switches, the agent
    is notified and paused), the concurrency limit, and every fault.

    The test plays the partition's agent: it binds the notify socket in a
    spool directory (agent/notify.c) and runs a `sleep` process whose pid
    the simulator stops for the blackout. */
#define _XOPEN_SOURCE 700   // nftw
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hmc_xml.h"
#include "notify.h"

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_WEB "http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/"
#define NS_UOM "http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/"

#define START_TIMEOUT_MS 15000
#define JOB_TIMEOUT_MS 20000
#define EVENTS_MAX 16

//  The simulated systems (serials go into the simulated partitions).
#define SYS_A_SERIAL "21C48FV"
#define SYS_B_SERIAL "21C48FW"

typedef struct {
    char dir[64];                   // mkdtemp root
    char url[64];                   // https://127.0.0.1:PORT
    char cert[128];
    pid_t sim;                      // ferry-hmcsim
    pid_t agent;                    // the "agent" process the simulator stops (sleep)
    char token[512];                // X-API-Session, "" when logged off
    CURL *curl;
    //  Fake agent: notify socket served by a thread.
    zsock_t *notify;
    pthread_t notify_thread;
    bool notify_running;
    atomic_bool notify_stop;
    pthread_mutex_t lock;
    char events[EVENTS_MAX][24];    // phases received, in order
    int event_count;
} fixture_t;

typedef struct {
    long status;
    char *body;                     // owned, NUL-terminated
    size_t len;
    int64_t elapsed_ms;
} reply_t;

//  ---------------------------------------------------------------------------
//  Processes and files

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
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

static char *s_read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    char *text = calloc(1, 1 << 20);
    size_t got = text ? fread(text, 1, (1 << 20) - 1, file) : 0;
    (void) got;
    fclose(file);
    return text;
}

//  Fork a child that dies with this test (PR_SET_PDEATHSIG) even when an
//  abort or ctest's timeout skips the teardown. Forks from the main thread:
//  the signal follows the thread that forked.
static pid_t s_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(126);
    return pid;
}

//  Run argv to completion (stdout/stderr to DIR/run.log). Exit code, -1 on failure.
static int s_run(fixture_t *fx, char *const argv[])
{
    char log[128];
    snprintf(log, sizeof log, "%s/run.log", fx->dir);
    pid_t pid = s_fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

//  Wait for pid to end within timeout_ms; its exit code, -1 on timeout/signal.
static int s_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (got < 0 || clock_mono_ms() >= deadline)
            return -1;
        s_sleep_ms(10);
    }
}

//  The one-letter state of a process (R, S, T, ...) from /proc.
static char s_proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen(path, "r");
    if (!file)
        return '?';
    size_t got = fread(buf, 1, sizeof buf - 1, file);
    fclose(file);
    buf[got] = '\0';
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Fake agent (notify socket)

static void *s_notify_main(void *arg)
{
    fixture_t *fx = arg;
    zpoller_t *poller = zpoller_new(fx->notify, NULL);
    while (!fx->notify_stop) {
        if (zpoller_wait(poller, 50) != fx->notify)
            continue;
        notify_event_t event = notify_serve(fx->notify);
        pthread_mutex_lock(&fx->lock);
        if (fx->event_count < EVENTS_MAX)
            snprintf(fx->events[fx->event_count++], sizeof fx->events[0], "%s",
                     notify_phase(event));
        pthread_mutex_unlock(&fx->lock);
    }
    zpoller_destroy(&poller);
    return NULL;
}

//  Events received so far, joined with ',' into buf.
static const char *s_events(fixture_t *fx, char *buf, size_t len)
{
    pthread_mutex_lock(&fx->lock);
    buf[0] = '\0';
    for (int i = 0; i < fx->event_count; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", fx->events[i]);
    pthread_mutex_unlock(&fx->lock);
    return buf;
}

//  ---------------------------------------------------------------------------
//  Simulator start / stop

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_hmcsim.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    pthread_mutex_init(&fx->lock, NULL);
    char *gencert[] = {FERRY_BIN_DIR "/ferry-hmcsim", "gencert", fx->dir, NULL};
    assert_int_equal(s_run(fx, gencert), 0);
    snprintf(fx->cert, sizeof fx->cert, "%s/cert.pem", fx->dir);
    char path[128];
    snprintf(path, sizeof path, "%s/password", fx->dir);
    s_write_file(path, "s3cret&<pw>\n", 0600);
    fx->curl = curl_easy_init();
    assert_non_null(fx->curl);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx->sim > 0) {
        kill(fx->sim, SIGKILL);
        waitpid(fx->sim, NULL, 0);
    }
    if (fx->agent > 0) {
        kill(fx->agent, SIGKILL);
        waitpid(fx->agent, NULL, 0);
    }
    if (fx->notify_running) {
        fx->notify_stop = true;
        pthread_join(fx->notify_thread, NULL);
    }
    zsock_destroy(&fx->notify);
    curl_easy_cleanup(fx->curl);
    if (!getenv("FERRY_KEEP_TEST_DIR"))
        nftw(fx->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&fx->lock);
    free(fx);
    return 0;
}

//  Write DIR/hmcsim.conf: the settings, then extra (systems, partitions,
//  faults), and start the simulator; waits for its port file.
static void s_start(fixture_t *fx, const char *settings, const char *extra)
{
    char conf[128], port_file[128], log[128], text[16384];
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
             "    user = hscroot\n"
             "    password_file = %s/password\n"
             "    stats_file = %s/stats.json\n"
             "    job_start_delay = 30ms\n"
             "    validate_duration = 50ms\n"
             "    recover_duration = 50ms\n"
             "    notify_timeout = 2s\n"
             "%s"
             "%s",
             port_file, fx->dir, fx->dir, fx->dir, fx->dir, settings ? settings : "", extra);
    s_write_file(conf, text, 0600);
    fx->sim = s_fork();
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
    while (port == 0 && clock_mono_ms() < deadline) {
        char *text_port = s_read_file(port_file);
        if (text_port)
            port = atoi(text_port);
        free(text_port);
        if (port == 0) {
            if (waitpid(fx->sim, NULL, WNOHANG) == fx->sim) {
                fx->sim = 0;
                fail_msg("ferry-hmcsim exited at start; see %s", log);
            }
            s_sleep_ms(20);
        }
    }
    if (port == 0)
        fail_msg("ferry-hmcsim did not write %s in time", port_file);
    snprintf(fx->url, sizeof fx->url, "https://127.0.0.1:%d", port);
}

//  SIGTERM: the simulator exits 0 and writes its stats file. Its JSON (caller decrefs).
static json_t *s_stop(fixture_t *fx)
{
    assert_int_equal(kill(fx->sim, SIGTERM), 0);
    int rc = s_wait_exit(fx->sim, 20000);
    fx->sim = 0;
    assert_int_equal(rc, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/stats.json", fx->dir);
    json_error_t jerr;
    json_t *stats = json_load_file(path, 0, &jerr);
    assert_non_null(stats);
    return stats;
}

//  A partition directory made by ferry-simlpar with the serial of a system.
static void s_simlpar(fixture_t *fx, const char *name, const char *serial)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/%s", fx->dir, name);
    char *argv[] = {FERRY_BIN_DIR "/ferry-simlpar", "create", dir, "--serial", (char *) serial,
                    "--prefix", "02", "--name", (char *) name, "--fakeaix",
                    FERRY_BIN_DIR "/ferry-fakeaix", NULL};
    assert_int_equal(s_run(fx, argv), 0);
}

//  The fake agent: spool dir with the notify socket, a sleeping process and its pid file.
static void s_agent(fixture_t *fx)
{
    char spool[128], pid_file[128], text[32], err[256];
    snprintf(spool, sizeof spool, "%s/spool", fx->dir);
    assert_int_equal(mkdir(spool, 0700), 0);
    fx->notify = notify_bind(spool, err, sizeof err);
    if (!fx->notify)
        fail_msg("notify_bind: %s", err);
    fx->agent = s_fork();
    if (fx->agent == 0) {
        execl("/bin/sleep", "sleep", "600", (char *) NULL);
        _exit(127);
    }
    assert_true(fx->agent > 0);
    snprintf(pid_file, sizeof pid_file, "%s/agent.pid", fx->dir);
    snprintf(text, sizeof text, "%d\n", (int) fx->agent);
    s_write_file(pid_file, text, 0600);
    assert_int_equal(pthread_create(&fx->notify_thread, NULL, s_notify_main, fx), 0);
    fx->notify_running = true;
}

//  ---------------------------------------------------------------------------
//  HTTP

static size_t s_collect(char *data, size_t size, size_t count, void *arg)
{
    reply_t *reply = arg;
    size_t n = size * count;
    char *body = realloc(reply->body, reply->len + n + 1);
    if (!body)
        return 0;
    memcpy(body + reply->len, data, n);
    reply->len += n;
    body[reply->len] = '\0';
    reply->body = body;
    return n;
}

//  method path [body] with the session token (when set). Fails the test on
//  a transport error.
static reply_t s_http(fixture_t *fx, const char *method, const char *path, const char *body,
                      const char *content_type)
{
    reply_t reply = { 0 };
    char url[512], header[600];
    snprintf(url, sizeof url, "%s%s", fx->url, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/atom+xml");
    if (*fx->token) {
        snprintf(header, sizeof header, "X-API-Session: %s", fx->token);
        headers = curl_slist_append(headers, header);
    }
    if (content_type) {
        snprintf(header, sizeof header, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, header);
    }
    CURL *curl = fx->curl;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, fx->cert);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    int64_t start = clock_mono_ms();
    CURLcode rc = curl_easy_perform(curl);
    reply.elapsed_ms = clock_mono_ms() - start;
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

static void s_reply_free(reply_t *reply)
{
    free(reply->body);
    reply->body = NULL;
}

static reply_t s_get(fixture_t *fx, const char *path)
{
    return s_http(fx, "GET", path, NULL, NULL);
}

//  ---------------------------------------------------------------------------
//  XML: elements by namespace URI + local name

static bool s_is(xmlNode *node, const char *ns, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns &&
           strcmp((const char *) node->ns->href, ns) == 0 &&
           strcmp((const char *) node->name, name) == 0;
}

//  First descendant (depth first, node itself included) with ns + name.
static xmlNode *s_find(xmlNode *node, const char *ns, const char *name)
{
    for (; node; node = node->next) {
        if (s_is(node, ns, name))
            return node;
        xmlNode *inner = s_find(node->children, ns, name);
        if (inner)
            return inner;
    }
    return NULL;
}

static xmlDoc *s_doc(const reply_t *reply)
{
    assert_non_null(reply->body);
    xmlDoc *doc = xmlReadMemory(reply->body, (int) reply->len, "reply.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        fail_msg("not XML: %.300s", reply->body);
    return doc;
}

//  Text of the first ns:name under node (trimmed) into buf; "" when absent.
static const char *s_text(xmlNode *node, const char *ns, const char *name, char *buf, size_t len)
{
    xmlNode *found = s_find(node, ns, name);
    xmlChar *text = found ? xmlNodeGetContent(found) : NULL;
    const char *start = text ? (const char *) text : "";
    while (*start == ' ' || *start == '\n')
        start++;
    snprintf(buf, len, "%s", start);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\n'))
        buf[--n] = '\0';
    xmlFree(text);
    return buf;
}

static int s_count(xmlNode *parent, const char *ns, const char *name)
{
    int count = 0;
    for (xmlNode *node = parent ? parent->children : NULL; node; node = node->next)
        count += s_is(node, ns, name);
    return count;
}

//  The uom content root of an Atom entry (ManagedSystem, LogicalPartition).
static xmlNode *s_content(xmlNode *entry, const char *type)
{
    xmlNode *content = s_find(entry->children, NS_ATOM, "content");
    assert_non_null(content);
    for (xmlNode *node = content->children; node; node = node->next)
        if (s_is(node, NS_UOM, type) || s_is(node, NS_WEB, type)) {
            //  Prefixed like the recorded payloads (ManagedSystem:ManagedSystem).
            assert_non_null(node->ns->prefix);
            assert_string_equal((const char *) node->ns->prefix, type);
            return node;
        }
    fail_msg("no %s in the entry's content", type);
    return NULL;
}

//  ---------------------------------------------------------------------------
//  HMC client steps

static const char *s_logon_body(const char *user, const char *password, char *buf, size_t len)
{
    snprintf(buf, len,
             "<LogonRequest xmlns=\"" NS_WEB "\" schemaVersion=\"V1_1_0\">"
             "<Metadata><Atom/></Metadata><UserID>%s</UserID><Password>%s</Password>"
             "</LogonRequest>", user, password);
    return buf;
}

static void s_logon(fixture_t *fx)
{
    char body[512], token[512];
    fx->token[0] = '\0';
    reply_t reply = s_http(fx, "PUT", "/rest/api/web/Logon",
                           s_logon_body("hscroot", "s3cret&amp;&lt;pw&gt;", body, sizeof body),
                           "application/vnd.ibm.powervm.web+xml; type=LogonRequest");
    assert_int_equal(reply.status, 200);
    xmlDoc *doc = s_doc(&reply);
    s_text(xmlDocGetRootElement(doc), NS_WEB, "X-API-Session", token, sizeof token);
    assert_true(strlen(token) > 100);
    snprintf(fx->token, sizeof fx->token, "%s", token);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
}

//  A field of a partition entry (GET LogicalPartition/{uuid}).
static const char *s_lpar_field(fixture_t *fx, const char *uuid, const char *name, char *buf,
                                size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s?group=Advanced", uuid);
    reply_t reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    xmlDoc *doc = s_doc(&reply);
    xmlNode *root = s_content(xmlDocGetRootElement(doc), "LogicalPartition");
    if (strcmp(name, "AssociatedManagedSystem") == 0) {
        xmlNode *node = s_find(root->children, NS_UOM, name);
        assert_non_null(node);
        xmlChar *href = xmlGetProp(node, (const xmlChar *) "href");
        const char *last = strrchr((const char *) href, '/');
        snprintf(buf, len, "%s", last ? last + 1 : "");
        xmlFree(href);
    }
    else
        s_text(root->children, NS_UOM, name, buf, len);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
    return buf;
}

//  A field of a system entry (GET ManagedSystem/{uuid}).
static const char *s_system_field(fixture_t *fx, const char *uuid, const char *name, char *buf,
                                  size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/ManagedSystem/%s", uuid);
    reply_t reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    xmlDoc *doc = s_doc(&reply);
    xmlNode *root = s_content(xmlDocGetRootElement(doc), "ManagedSystem");
    s_text(root->children, NS_UOM, name, buf, len);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
    return buf;
}

//  UUID of the system or partition named name, through search.
static void s_uuid(fixture_t *fx, const char *kind, const char *key, const char *name, char *uuid,
                   size_t len)
{
    char path[256], escaped[128];
    char *enc = curl_easy_escape(fx->curl, name, 0);
    snprintf(escaped, sizeof escaped, "%s", enc);
    curl_free(enc);
    snprintf(path, sizeof path, "/rest/api/uom/%s/search/(%s==%s)", kind, key, escaped);
    reply_t reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    xmlDoc *doc = s_doc(&reply);
    xmlNode *feed = xmlDocGetRootElement(doc);
    assert_int_equal(s_count(feed, NS_ATOM, "entry"), 1);
    s_text(feed->children, NS_UOM, "AtomID", uuid, len);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
}

typedef struct {
    char id[32];
    char status[40];
    char result[1024];              // Results/result, or ResponseException/Message
    char self[256];                 // SELF link
} job_t;

static void s_job_parse(const reply_t *reply, job_t *job)
{
    xmlDoc *doc = s_doc(reply);
    xmlNode *entry = xmlDocGetRootElement(doc);
    assert_true(s_is(entry, NS_ATOM, "entry"));
    char title[64];
    assert_string_equal(s_text(entry->children, NS_ATOM, "title", title, sizeof title),
                        "JobResponse");
    for (xmlNode *node = entry->children; node; node = node->next)
        if (s_is(node, NS_ATOM, "link")) {
            xmlChar *href = xmlGetProp(node, (const xmlChar *) "href");
            snprintf(job->self, sizeof job->self, "%s", (const char *) href);
            xmlFree(href);
        }
    xmlNode *root = s_content(entry, "JobResponse");
    s_text(root->children, NS_WEB, "JobID", job->id, sizeof job->id);
    s_text(root->children, NS_WEB, "Status", job->status, sizeof job->status);
    job->result[0] = '\0';
    xmlNode *exception = s_find(root->children, NS_WEB, "ResponseException");
    if (exception)
        s_text(exception->children, NS_WEB, "Message", job->result, sizeof job->result);
    xmlNode *results = s_find(root->children, NS_WEB, "Results");
    for (xmlNode *p = results ? results->children : NULL; p; p = p->next) {
        char name[64];
        if (s_is(p, NS_WEB, "JobParameter") &&
            strcmp(s_text(p->children, NS_WEB, "ParameterName", name, sizeof name), "result") == 0)
            s_text(p->children, NS_WEB, "ParameterValue", job->result, sizeof job->result);
    }
    xmlFreeDoc(doc);
}

//  PUT LogicalPartition/{uuid}/do/{op}: verbose (Metadata, kb/kxe) or minimal form.
static job_t s_submit(fixture_t *fx, const char *uuid, const char *op, const char *target,
                      bool verbose)
{
    char body[2048], params[1024] = "", path[256];
    if (target)
        snprintf(params, sizeof params,
                 verbose ? "<JobParameter schemaVersion=\"V1_0\"><Metadata><Atom/></Metadata>"
                           "<ParameterName kb=\"ROR\" kxe=\"false\">TargetManagedSystemName"
                           "</ParameterName><ParameterValue kb=\"CUR\" kxe=\"false\">%s"
                           "</ParameterValue></JobParameter>"
                         : "<JobParameter><ParameterName>TargetManagedSystemName</ParameterName>"
                           "<ParameterValue>%s</ParameterValue></JobParameter>", target);
    snprintf(body, sizeof body,
             verbose ? "<JobRequest:JobRequest xmlns:JobRequest=\"" NS_WEB "\" xmlns=\"" NS_WEB
                       "\" xmlns:ns2=\"http://www.w3.org/XML/1998/namespace/k2\""
                       " schemaVersion=\"V1_0\"><Metadata><Atom/></Metadata>"
                       "<RequestedOperation kb=\"CUR\" kxe=\"false\" schemaVersion=\"V1_0\">"
                       "<Metadata><Atom/></Metadata>"
                       "<OperationName kb=\"ROR\" kxe=\"false\">%s</OperationName>"
                       "<GroupName kb=\"ROR\" kxe=\"false\">LogicalPartition</GroupName>"
                       "</RequestedOperation><JobParameters kb=\"CUR\" kxe=\"false\""
                       " schemaVersion=\"V1_0\"><Metadata><Atom/></Metadata>%s</JobParameters>"
                       "</JobRequest:JobRequest>"
                     : "<JobRequest xmlns=\"" NS_WEB "\" schemaVersion=\"V1_0\">"
                       "<RequestedOperation><OperationName>%s</OperationName>"
                       "<GroupName>LogicalPartition</GroupName></RequestedOperation>"
                       "<JobParameters>%s</JobParameters></JobRequest>",
             op, params);
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s/do/%s", uuid, op);
    reply_t reply = s_http(fx, "PUT", path, body,
                           "application/vnd.ibm.powervm.web+xml; type=JobRequest");
    if (reply.status != 200)
        fail_msg("PUT %s: %ld %.400s", path, reply.status, reply.body ? reply.body : "");
    job_t job = { 0 };
    s_job_parse(&reply, &job);
    s_reply_free(&reply);
    char want[128];
    snprintf(want, sizeof want, "/rest/api/uom/jobs/%s", job.id);
    assert_non_null(strstr(job.self, want));
    return job;
}

static job_t s_job_get(fixture_t *fx, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", id);
    reply_t reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    job_t job = { 0 };
    s_job_parse(&reply, &job);
    s_reply_free(&reply);
    return job;
}

static bool s_job_done(const job_t *job)
{
    return strcmp(job->status, "NOT_STARTED") != 0 && strcmp(job->status, "RUNNING") != 0;
}

//  Poll the job until it leaves NOT_STARTED / RUNNING.
static job_t s_job_wait(fixture_t *fx, const char *id)
{
    int64_t deadline = clock_mono_ms() + JOB_TIMEOUT_MS;
    job_t job = s_job_get(fx, id);
    while (!s_job_done(&job) && clock_mono_ms() < deadline) {
        s_sleep_ms(20);
        job = s_job_get(fx, id);
    }
    if (!s_job_done(&job))
        fail_msg("job %s still %s", id, job.status);
    return job;
}

static json_t *s_stats(fixture_t *fx)
{
    reply_t reply = s_get(fx, "/sim/stats");
    assert_int_equal(reply.status, 200);
    json_error_t jerr;
    json_t *stats = json_loads(reply.body, 0, &jerr);
    assert_non_null(stats);
    s_reply_free(&reply);
    return stats;
}

//  stats.systems[name].key or stats.partitions[name].key
static json_int_t s_stat(json_t *stats, const char *list, const char *name, const char *key)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(stats, list), i, item)
        if (strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
            return json_integer_value(json_object_get(item, key));
    fail_msg("no %s named %s in the stats", list, name);
    return -1;
}

static void s_fault(fixture_t *fx, const char *json)
{
    reply_t reply = s_http(fx, "POST", "/sim/fault", json, "application/json");
    if (reply.status != 200)
        fail_msg("POST /sim/fault %s: %ld %s", json, reply.status, reply.body);
    s_reply_free(&reply);
}

#define SYSTEMS \
    "system\n" \
    "    name = sys-a\n" \
    "    serial = " SYS_A_SERIAL "\n" \
    "    machine_type = 8408\n" \
    "    model = E8E\n" \
    "    max_active_migrations = 4\n" \
    "system\n" \
    "    name = sys-b\n" \
    "    serial = " SYS_B_SERIAL "\n" \
    "    max_active_migrations = 2\n" \
    "    memory_mb = 65536\n" \
    "system\n" \
    "    name = sys-c\n" \
    "    serial = 21C48FX\n" \
    "    state = standby\n"

//  ---------------------------------------------------------------------------
//  Tests

static void test_logon(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL, SYSTEMS);
    char body[512], text[256];

    //  No session: 401 with an HttpErrorResponse.
    reply_t reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 401);
    xmlDoc *doc = s_doc(&reply);
    xmlNode *error = s_content(xmlDocGetRootElement(doc), "HttpErrorResponse");
    assert_string_equal(s_text(error->children, NS_WEB, "HTTPStatus", text, sizeof text), "401");
    xmlFreeDoc(doc);
    s_reply_free(&reply);

    //  Bad password: 401.
    reply = s_http(fx, "PUT", "/rest/api/web/Logon",
                   s_logon_body("hscroot", "wrong", body, sizeof body),
                   "application/vnd.ibm.powervm.web+xml; type=LogonRequest");
    assert_int_equal(reply.status, 401);
    doc = s_doc(&reply);
    error = s_content(xmlDocGetRootElement(doc), "HttpErrorResponse");
    assert_non_null(strstr(s_text(error->children, NS_WEB, "Message", text, sizeof text),
                           "not valid"));
    xmlFreeDoc(doc);
    s_reply_free(&reply);

    //  Logon (XML-escaped password), a call, logoff, the token is gone.
    s_logon(fx);
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 200);
    s_reply_free(&reply);
    reply = s_http(fx, "DELETE", "/rest/api/web/Logon", NULL, NULL);
    assert_int_equal(reply.status, 204);
    s_reply_free(&reply);
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 401);
    s_reply_free(&reply);

    //  TLS is verified: without the CA the handshake is refused.
    curl_easy_reset(fx->curl);
    char url[128];
    snprintf(url, sizeof url, "%s/rest/api/uom/ManagedSystem", fx->url);
    curl_easy_setopt(fx->curl, CURLOPT_URL, url);
    curl_easy_setopt(fx->curl, CURLOPT_CAINFO, "/dev/null");
    curl_easy_setopt(fx->curl, CURLOPT_CAPATH, NULL);
    assert_int_not_equal(curl_easy_perform(fx->curl), CURLE_OK);

    json_t *stats = s_stop(fx);
    assert_int_equal(json_integer_value(json_object_get(stats, "logons")), 1);
    json_decref(stats);
}

static void test_feeds(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL, SYSTEMS
            "partition\n    name = \"web & db\"\n    id = 7\n    system = sys-a\n"
            "    memory_mb = 16384\n    proc_units = 1.5\n    proc_compat = POWER8\n"
            "partition\n    name = lpar2\n    system = sys-a\n    rmc_state = inactive\n"
            "    state = \"not activated\"\n"
            "partition\n    name = lpar3\n    system = sys-b\n    has_physical_io = true\n");
    s_logon(fx);
    char text[256], uuid_a[64], uuid_b[64], uuid_c[64], uuid_web[64];

    //  Systems feed: 3 entries; AtomID = entry id; fields by namespace.
    reply_t reply = s_get(fx, "/rest/api/uom/ManagedSystem?group=None");
    assert_int_equal(reply.status, 200);
    xmlDoc *doc = s_doc(&reply);
    xmlNode *feed = xmlDocGetRootElement(doc);
    assert_true(s_is(feed, NS_ATOM, "feed"));
    assert_int_equal(s_count(feed, NS_ATOM, "entry"), 3);
    int seen = 0;
    for (xmlNode *entry = feed->children; entry; entry = entry->next) {
        if (!s_is(entry, NS_ATOM, "entry"))
            continue;
        char id[64], atom_id[64], name[64];
        s_text(entry->children, NS_ATOM, "id", id, sizeof id);
        xmlNode *ms = s_content(entry, "ManagedSystem");
        assert_string_equal(s_text(ms->children, NS_UOM, "AtomID", atom_id, sizeof atom_id), id);
        s_text(ms->children, NS_UOM, "SystemName", name, sizeof name);
        xmlNode *mtms = s_find(ms->children, NS_UOM, "MachineTypeModelAndSerialNumber");
        assert_non_null(mtms);
        xmlNode *migration = s_find(ms->children, NS_UOM, "SystemMigrationInformation");
        assert_non_null(migration);
        assert_string_equal(s_text(migration->children, NS_UOM,
                                   "NumberOfActiveMigrationsInProgress", text, sizeof text), "0");
        if (strcmp(name, "sys-a") == 0) {
            seen++;
            assert_string_equal(s_text(mtms->children, NS_UOM, "SerialNumber", text,
                                       sizeof text), SYS_A_SERIAL);
            assert_string_equal(s_text(mtms->children, NS_UOM, "MachineType", text, sizeof text),
                                "8408");
            assert_string_equal(s_text(mtms->children, NS_UOM, "Model", text, sizeof text), "E8E");
            assert_string_equal(s_text(migration->children, NS_UOM, "MaximumActiveMigrations",
                                       text, sizeof text), "4");
            assert_string_equal(s_text(ms->children, NS_UOM, "State", text, sizeof text),
                                "operating");
            assert_string_equal(s_text(ms->children, NS_UOM,
                                       "ActiveLogicalPartitionMobilityCapable", text, sizeof text),
                                "true");
            //  16384 + 8192 MB of partitions out of the default 1 TB.
            assert_string_equal(s_text(ms->children, NS_UOM, "CurrentAvailableSystemMemory",
                                       text, sizeof text), "1024000");
            assert_string_equal(s_text(ms->children, NS_UOM,
                                       "CurrentAvailableSystemProcessorUnits", text, sizeof text),
                                "30");
        }
        else if (strcmp(name, "sys-c") == 0) {
            seen++;
            assert_string_equal(s_text(ms->children, NS_UOM, "State", text, sizeof text),
                                "standby");
        }
    }
    assert_int_equal(seen, 2);
    xmlFreeDoc(doc);
    s_reply_free(&reply);

    //  Search: 204 when nothing matches, the entry otherwise.
    reply = s_get(fx, "/rest/api/uom/ManagedSystem/search/(SystemName==nosuch)");
    assert_int_equal(reply.status, 204);
    s_reply_free(&reply);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-a", uuid_a, sizeof uuid_a);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-b", uuid_b, sizeof uuid_b);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-c", uuid_c, sizeof uuid_c);
    assert_string_equal(s_system_field(fx, uuid_b, "SerialNumber", text, sizeof text),
                        SYS_B_SERIAL);

    //  All partitions; then those of one system; a system without any: 204.
    reply = s_get(fx, "/rest/api/uom/LogicalPartition");
    assert_int_equal(reply.status, 200);
    doc = s_doc(&reply);
    assert_int_equal(s_count(xmlDocGetRootElement(doc), NS_ATOM, "entry"), 3);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/ManagedSystem/%s/LogicalPartition", uuid_a);
    reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    doc = s_doc(&reply);
    assert_int_equal(s_count(xmlDocGetRootElement(doc), NS_ATOM, "entry"), 2);
    xmlFreeDoc(doc);
    s_reply_free(&reply);
    snprintf(path, sizeof path, "/rest/api/uom/ManagedSystem/%s/LogicalPartition", uuid_c);
    reply = s_get(fx, path);
    assert_int_equal(reply.status, 204);
    s_reply_free(&reply);

    //  One partition: every field the readiness rules read.
    s_uuid(fx, "LogicalPartition", "PartitionName", "web & db", uuid_web, sizeof uuid_web);
    assert_string_equal(s_lpar_field(fx, uuid_web, "PartitionName", text, sizeof text),
                        "web & db");
    assert_string_equal(s_lpar_field(fx, uuid_web, "PartitionID", text, sizeof text), "7");
    assert_string_equal(s_lpar_field(fx, uuid_web, "PartitionUUID", text, sizeof text), uuid_web);
    assert_string_equal(s_lpar_field(fx, uuid_web, "PartitionState", text, sizeof text),
                        "running");
    assert_string_equal(s_lpar_field(fx, uuid_web, "PartitionType", text, sizeof text),
                        "AIX/Linux");
    assert_string_equal(s_lpar_field(fx, uuid_web, "ResourceMonitoringControlState", text,
                                     sizeof text), "active");
    assert_string_equal(s_lpar_field(fx, uuid_web, "MigrationState", text, sizeof text),
                        "Not_Migrating");
    assert_string_equal(s_lpar_field(fx, uuid_web, "CurrentProcessorCompatibilityMode", text,
                                     sizeof text), "POWER8");
    assert_string_equal(s_lpar_field(fx, uuid_web, "CurrentMemory", text, sizeof text), "16384");
    assert_string_equal(s_lpar_field(fx, uuid_web, "CurrentProcessingUnits", text, sizeof text),
                        "1.5");
    assert_string_equal(s_lpar_field(fx, uuid_web, "AssociatedManagedSystem", text, sizeof text),
                        uuid_a);
    assert_string_equal(s_lpar_field(fx, uuid_web, "IsManagementPartition", text, sizeof text),
                        "false");
    char uuid3[64];
    s_uuid(fx, "LogicalPartition", "PartitionName", "lpar3", uuid3, sizeof uuid3);
    assert_string_equal(s_lpar_field(fx, uuid3, "PhysicalLocation", text, sizeof text),
                        "U78D3.001.WZS0G4N-P1-C3");
    assert_string_equal(s_lpar_field(fx, uuid_web, "PhysicalLocation", text, sizeof text), "");

    //  Unknown resources: 404 with an HttpErrorResponse.
    reply = s_get(fx, "/rest/api/uom/LogicalPartition/00000000-0000-4000-8000-000000000000");
    assert_int_equal(reply.status, 404);
    doc = s_doc(&reply);
    s_content(xmlDocGetRootElement(doc), "HttpErrorResponse");
    xmlFreeDoc(doc);
    s_reply_free(&reply);

    //  The JobRequest template.
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s/do/Migrate", uuid_web);
    reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    doc = s_doc(&reply);
    xmlNode *request = s_content(xmlDocGetRootElement(doc), "JobRequest");
    assert_string_equal(s_text(request->children, NS_WEB, "OperationName", text, sizeof text),
                        "Migrate");
    xmlFreeDoc(doc);
    s_reply_free(&reply);
    json_decref(s_stop(fx));
}

//  A move of a simulated AIX partition with an agent: states, notifications,
//  the blackout, the serial switch.
static void test_migrate(void **state)
{
    fixture_t *fx = *state;
    char extra[4096], text[256], events[256], uuid[64], uuid_a[64], uuid_b[64];
    s_simlpar(fx, "lpar1", SYS_A_SERIAL);
    s_agent(fx);
    snprintf(extra, sizeof extra, SYSTEMS
             "partition\n    name = lpar1\n    system = sys-a\n    simlpar = %s/lpar1\n"
             "    agent_spool = %s/spool\n    agent_pid_file = %s/agent.pid\n",
             fx->dir, fx->dir, fx->dir);
    s_start(fx, "    job_duration = 1500ms\n    blackout = 400ms\n", extra);
    s_logon(fx);
    s_uuid(fx, "LogicalPartition", "PartitionName", "lpar1", uuid, sizeof uuid);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-a", uuid_a, sizeof uuid_a);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-b", uuid_b, sizeof uuid_b);

    //  Validation first (minimal form): it passes and tells the agent nothing.
    job_t job = s_submit(fx, uuid, "MigrateValidate", "sys-b", false);
    job = s_job_wait(fx, job.id);
    assert_string_equal(job.status, "COMPLETED_OK");
    assert_string_equal(s_events(fx, events, sizeof events), "");

    //  The move (verbose form).
    job = s_submit(fx, uuid, "Migrate", "sys-b", true);
    assert_string_equal(job.status, "NOT_STARTED");
    bool running_seen = false, migrating_seen = false, counted_seen = false, stopped_seen = false;
    int64_t deadline = clock_mono_ms() + JOB_TIMEOUT_MS;
    while (!s_job_done(&job) && clock_mono_ms() < deadline) {
        if (s_proc_state(fx->agent) == 'T')
            stopped_seen = true;
        job = s_job_get(fx, job.id);
        if (strcmp(job.status, "RUNNING") != 0)
            continue;
        running_seen = true;
        if (strcmp(s_lpar_field(fx, uuid, "PartitionState", text, sizeof text),
                   "migrating running") == 0 &&
            strcmp(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                   "Not_Migrating") != 0)
            migrating_seen = true;
        if (!counted_seen &&
            strcmp(s_system_field(fx, uuid_a, "NumberOfActiveMigrationsInProgress", text,
                                  sizeof text), "1") == 0 &&
            strcmp(s_system_field(fx, uuid_b, "NumberOfActiveMigrationsInProgress", text,
                                  sizeof text), "1") == 0)
            counted_seen = true;
        for (int i = 0; i < 5; i++) {
            if (s_proc_state(fx->agent) == 'T')
                stopped_seen = true;
            s_sleep_ms(2);
        }
    }
    assert_string_equal(job.status, "COMPLETED_OK");
    assert_true(running_seen);
    assert_true(migrating_seen);
    assert_true(counted_seen);
    assert_true(stopped_seen);
    assert_int_not_equal(s_proc_state(fx->agent), 'T');

    //  The HMC places it on the target; the simulated AIX reports the target's serial.
    assert_string_equal(s_lpar_field(fx, uuid, "AssociatedManagedSystem", text, sizeof text),
                        uuid_b);
    assert_string_equal(s_lpar_field(fx, uuid, "PartitionState", text, sizeof text), "running");
    assert_string_equal(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                        "Not_Migrating");
    assert_string_equal(s_system_field(fx, uuid_b, "NumberOfActiveMigrationsInProgress", text,
                                       sizeof text), "0");
    char path[256];
    snprintf(path, sizeof path, "%s/lpar1/state/systemid", fx->dir);
    char *systemid = s_read_file(path);
    assert_non_null(systemid);
    assert_string_equal(systemid, "IBM,02" SYS_B_SERIAL "\n");
    free(systemid);
    assert_string_equal(s_events(fx, events, sizeof events), "check,pre,post");

    //  The job is deleted after use.
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", job.id);
    reply_t reply = s_http(fx, "DELETE", path, NULL, NULL);
    assert_int_equal(reply.status, 204);
    s_reply_free(&reply);
    reply = s_get(fx, path);
    assert_int_equal(reply.status, 404);
    s_reply_free(&reply);

    //  Moving it to where it is now is refused; then back to sys-a.
    job = s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id);
    assert_string_equal(job.status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(job.result, "HSCLA2E6"));

    json_t *stats = s_stats(fx);
    assert_int_equal(s_stat(stats, "partitions", "lpar1", "migrate_submissions"), 2);
    assert_int_equal(s_stat(stats, "partitions", "lpar1", "validate_submissions"), 1);
    json_t *move = json_array_get(json_object_get(stats, "moves"), 0);
    assert_string_equal(json_string_value(json_object_get(move, "status")), "COMPLETED_OK");
    assert_string_equal(json_string_value(json_object_get(move, "source")), "sys-a");
    assert_string_equal(json_string_value(json_object_get(move, "target")), "sys-b");
    json_int_t blackout = json_integer_value(json_object_get(move, "blackout_end_ms")) -
                          json_integer_value(json_object_get(move, "blackout_start_ms"));
    //  Never shorter than configured; the upper bound only catches a lost
    //  SIGCONT, with room for a loaded 2-core machine (seen: > 1.1 s late).
    assert_true(blackout >= 400 && blackout < 5000);
    json_decref(stats);

    stats = s_stop(fx);
    assert_int_equal(json_array_size(json_object_get(stats, "moves")), 2);
    json_decref(stats);
}

//  MaximumActiveMigrations: sys-b takes 2 moves at once, the third is refused.
static void test_concurrency_limit(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, "    job_duration = 2s\n    blackout = 100ms\n", SYSTEMS
            "partition\n    name = p1\n    system = sys-a\n"
            "partition\n    name = p2\n    system = sys-a\n"
            "partition\n    name = p3\n    system = sys-a\n"
            "partition\n    name = p4\n    system = sys-a\n");
    s_logon(fx);
    char uuids[4][64], names[4][8];
    job_t jobs[4];
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "p%d", i + 1);
        s_uuid(fx, "LogicalPartition", "PartitionName", names[i], uuids[i], sizeof uuids[i]);
    }
    //  Two moves to sys-b, then wait until both run before the third.
    jobs[0] = s_submit(fx, uuids[0], "Migrate", "sys-b", false);
    jobs[1] = s_submit(fx, uuids[1], "Migrate", "sys-b", false);
    int64_t deadline = clock_mono_ms() + JOB_TIMEOUT_MS;
    json_int_t active = 0;
    while (active < 2 && clock_mono_ms() < deadline) {
        json_t *stats = s_stats(fx);
        active = s_stat(stats, "systems", "sys-b", "active_migrations");
        json_decref(stats);
        if (active < 2)
            s_sleep_ms(10);
    }
    assert_int_equal(active, 2);
    jobs[2] = s_job_wait(fx, s_submit(fx, uuids[2], "Migrate", "sys-b", false).id);
    assert_string_equal(jobs[2].status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(jobs[2].result, "HSCLA3F5"));
    assert_non_null(strstr(jobs[2].result, "sys-b"));
    //  sys-c is not operating: refused by validation, not by the limit.
    jobs[3] = s_job_wait(fx, s_submit(fx, uuids[3], "Migrate", "sys-c", false).id);
    assert_string_equal(jobs[3].status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(jobs[3].result, "standby"));
    for (int i = 0; i < 2; i++)
        assert_string_equal(s_job_wait(fx, jobs[i].id).status, "COMPLETED_OK");

    json_t *stats = s_stop(fx);
    assert_int_equal(s_stat(stats, "systems", "sys-b", "max_concurrency_seen"), 2);
    assert_int_equal(s_stat(stats, "systems", "sys-a", "max_concurrency_seen"), 2);
    assert_int_equal(s_stat(stats, "systems", "sys-b", "refused_over_limit"), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s_stat(stats, "partitions", names[i], "migrate_submissions"), 1);
    json_decref(stats);
}

//  Validation faults: injected HSCL text, physical I/O, RMC, missing target.
static void test_validation_faults(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL, SYSTEMS
            "partition\n    name = injected\n    system = sys-a\n    fault\n"
            "        validate_error = \"HSCLA27C The operation to get the physical device"
            " location for adapter U78CB.001.WZS06RN-P1-C7 on the virtual I/O server partition"
            " vios1 has failed.\"\n"
            "partition\n    name = phys\n    system = sys-a\n    has_physical_io = true\n"
            "partition\n    name = normmc\n    system = sys-a\n    rmc_state = inactive\n"
            "partition\n    name = big\n    system = sys-a\n    memory_mb = 131072\n");
    s_logon(fx);
    static const struct {
        const char *name;
        const char *target;
        const char *status;
        const char *needle;
    } cases[] = {
        { "injected", "sys-b", "COMPLETED_WITH_ERROR", "U78CB.001.WZS06RN-P1-C7" },
        { "phys", "sys-b", "COMPLETED_WITH_ERROR", "HSCLA27C" },
        { "normmc", "sys-b", "COMPLETED_WITH_ERROR", "HSCL3654" },
        { "big", "sys-b", "COMPLETED_WITH_ERROR", "HSCLA319" },
        { "big", "nosuch", "COMPLETED_WITH_ERROR", "HSCL8012" },
        { "big", NULL, "FAILED_BEFORE_COMPLETION", "TargetManagedSystemName" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char uuid[64];
        s_uuid(fx, "LogicalPartition", "PartitionName", cases[i].name, uuid, sizeof uuid);
        job_t job = s_job_wait(fx, s_submit(fx, uuid, "MigrateValidate", cases[i].target,
                                            false).id);
        assert_string_equal(job.status, cases[i].status);
        if (!strstr(job.result, cases[i].needle))
            fail_msg("%s: '%s' lacks %s", cases[i].name, job.result, cases[i].needle);
    }
    //  A runtime fault: RMC back on, then the validation passes.
    char uuid[64];
    s_uuid(fx, "LogicalPartition", "PartitionName", "normmc", uuid, sizeof uuid);
    s_fault(fx, "{\"partition\": \"normmc\", \"rmc_state\": \"active\"}");
    assert_string_equal(s_job_wait(fx, s_submit(fx, uuid, "MigrateValidate", "sys-b", false).id)
                            .status, "COMPLETED_OK");
    //  A malformed body: 400 with an HttpErrorResponse.
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s/do/Migrate", uuid);
    reply_t reply = s_http(fx, "PUT", path, "<JobRequest/>",
                           "application/vnd.ibm.powervm.web+xml; type=JobRequest");
    assert_int_equal(reply.status, 400);
    s_reply_free(&reply);
    json_decref(s_stop(fx));
}

//  A failing move stays on the source and needs MigrateRecover; the agent
//  hears lpm-posterror.
static void test_migrate_error(void **state)
{
    fixture_t *fx = *state;
    char extra[4096], text[256], events[256], uuid[64], uuid_a[64];
    s_simlpar(fx, "lpar1", SYS_A_SERIAL);
    s_agent(fx);
    snprintf(extra, sizeof extra, SYSTEMS
             "partition\n    name = lpar1\n    system = sys-a\n    simlpar = %s/lpar1\n"
             "    agent_spool = %s/spool\n    agent_pid_file = %s/agent.pid\n"
             "    fault\n        migrate_error = \"HSCLA318 The migration command issued to the"
             " destination management console failed.\"\n        migrate_error_times = 1\n",
             fx->dir, fx->dir, fx->dir);
    s_start(fx, "    job_duration = 300ms\n    blackout = 100ms\n", extra);
    s_logon(fx);
    s_uuid(fx, "LogicalPartition", "PartitionName", "lpar1", uuid, sizeof uuid);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-a", uuid_a, sizeof uuid_a);

    job_t job = s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id);
    assert_string_equal(job.status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(job.result, "HSCLA318"));
    assert_string_equal(s_lpar_field(fx, uuid, "AssociatedManagedSystem", text, sizeof text),
                        uuid_a);
    assert_string_equal(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                        "Migration_Failed");
    assert_string_equal(s_events(fx, events, sizeof events), "check,pre,posterror");
    char path[256];
    snprintf(path, sizeof path, "%s/lpar1/state/systemid", fx->dir);
    char *systemid = s_read_file(path);
    assert_string_equal(systemid, "IBM,02" SYS_A_SERIAL "\n");
    free(systemid);

    //  Not_Migrating is required before another try: recover, then it works.
    assert_string_equal(s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id).status,
                        "COMPLETED_WITH_ERROR");
    job = s_job_wait(fx, s_submit(fx, uuid, "MigrateRecover", NULL, false).id);
    assert_string_equal(job.status, "COMPLETED_OK");
    assert_string_equal(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                        "Not_Migrating");
    assert_string_equal(s_lpar_field(fx, uuid, "PartitionState", text, sizeof text), "running");
    assert_string_equal(s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id).status,
                        "COMPLETED_OK");
    json_t *stats = s_stop(fx);
    assert_int_equal(s_stat(stats, "partitions", "lpar1", "migrate_submissions"), 3);
    assert_int_equal(s_stat(stats, "partitions", "lpar1", "recover_submissions"), 1);
    json_decref(stats);
}

//  A move that never ends: MigrateAbort stops it (it stays on the source);
//  cancel stops another; MigrateRecover on a consistent partition is a no-op.
static void test_hang_abort(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, "    job_duration = 200ms\n    blackout = 50ms\n", SYSTEMS
            "partition\n    name = stuck\n    system = sys-a\n    fault\n        hang = true\n"
            "partition\n    name = idle\n    system = sys-a\n");
    s_logon(fx);
    char uuid[64], idle[64], uuid_a[64], text[256];
    s_uuid(fx, "LogicalPartition", "PartitionName", "stuck", uuid, sizeof uuid);
    s_uuid(fx, "LogicalPartition", "PartitionName", "idle", idle, sizeof idle);
    s_uuid(fx, "ManagedSystem", "SystemName", "sys-a", uuid_a, sizeof uuid_a);

    job_t move = s_submit(fx, uuid, "Migrate", "sys-b", false);
    //  Well past its duration it still runs.
    int64_t until = clock_mono_ms() + 800;
    while (clock_mono_ms() < until) {
        assert_false(s_job_done((job_t[]) { s_job_get(fx, move.id) }));
        s_sleep_ms(50);
    }
    assert_string_equal(s_lpar_field(fx, uuid, "PartitionState", text, sizeof text),
                        "migrating running");
    //  A running job cannot be deleted.
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", move.id);
    reply_t reply = s_http(fx, "DELETE", path, NULL, NULL);
    assert_int_equal(reply.status, 409);
    s_reply_free(&reply);

    job_t abort = s_job_wait(fx, s_submit(fx, uuid, "MigrateAbort", NULL, false).id);
    assert_string_equal(abort.status, "COMPLETED_OK");
    move = s_job_wait(fx, move.id);
    assert_string_equal(move.status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(move.result, "stopped"));
    assert_string_equal(s_lpar_field(fx, uuid, "AssociatedManagedSystem", text, sizeof text),
                        uuid_a);
    assert_string_equal(s_lpar_field(fx, uuid, "PartitionState", text, sizeof text), "running");
    assert_string_equal(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                        "Not_Migrating");

    //  Nothing left to abort.
    abort = s_job_wait(fx, s_submit(fx, uuid, "MigrateAbort", NULL, false).id);
    assert_string_equal(abort.status, "COMPLETED_WITH_ERROR");
    assert_non_null(strstr(abort.result, "HSCLA2D1"));

    //  POST jobs/{id}/cancel stops the next one.
    move = s_submit(fx, uuid, "Migrate", "sys-b", false);
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s/cancel", move.id);
    reply = s_http(fx, "POST", path, "", NULL);
    assert_int_equal(reply.status, 200);
    s_reply_free(&reply);
    assert_string_equal(s_job_wait(fx, move.id).status, "COMPLETED_WITH_ERROR");

    //  A stuck move, then MigrateRecover: back to a consistent running state.
    move = s_submit(fx, uuid, "Migrate", "sys-b", false);
    job_t recover = s_job_wait(fx, s_submit(fx, uuid, "MigrateRecover", NULL, false).id);
    assert_string_equal(recover.status, "COMPLETED_OK");
    assert_string_equal(s_job_wait(fx, move.id).status, "COMPLETED_WITH_ERROR");
    assert_string_equal(s_lpar_field(fx, uuid, "MigrationState", text, sizeof text),
                        "Not_Migrating");
    recover = s_job_wait(fx, s_submit(fx, idle, "MigrateRecover", NULL, false).id);
    assert_string_equal(recover.status, "COMPLETED_OK");
    assert_non_null(strstr(recover.result, "no recovery"));

    //  Runtime: the hang fault lifted, the move completes.
    s_fault(fx, "{\"partition\": \"stuck\", \"hang\": false}");
    assert_string_equal(s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id).status,
                        "COMPLETED_OK");
    json_decref(s_stop(fx));
}

//  Session expiry after N requests, 5xx for the next K requests, slow answers.
static void test_transport_faults(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL, "fault\n    session_max_requests = 3\n    http_error_count = 2\n" SYSTEMS
            "partition\n    name = slow\n    system = sys-a\n    fault\n        delay = 400ms\n");
    s_logon(fx);
    char text[256];

    //  The next 2 uom requests: 503 with an HttpErrorResponse.
    for (int i = 0; i < 2; i++) {
        reply_t reply = s_get(fx, "/rest/api/uom/ManagedSystem");
        assert_int_equal(reply.status, 503);
        xmlDoc *doc = s_doc(&reply);
        xmlNode *error = s_content(xmlDocGetRootElement(doc), "HttpErrorResponse");
        assert_string_equal(s_text(error->children, NS_WEB, "HTTPStatus", text, sizeof text),
                            "503");
        xmlFreeDoc(doc);
        s_reply_free(&reply);
    }
    //  Three requests on the session, then 401; a new logon works.
    char uuid[64];
    s_uuid(fx, "LogicalPartition", "PartitionName", "slow", uuid, sizeof uuid);
    reply_t reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 200);
    s_reply_free(&reply);
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 200);
    s_reply_free(&reply);
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 401);
    s_reply_free(&reply);
    s_logon(fx);

    //  Slow answers about that partition.
    char path[256];
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s", uuid);
    reply = s_get(fx, path);
    assert_int_equal(reply.status, 200);
    assert_true(reply.elapsed_ms >= 400);
    s_reply_free(&reply);

    //  Runtime: one 500, then a normal answer.
    s_fault(fx, "{\"http_error_count\": 1, \"http_error_status\": 500}");
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 500);
    s_reply_free(&reply);
    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    assert_int_equal(reply.status, 200);
    s_reply_free(&reply);
    reply = s_http(fx, "POST", "/sim/fault", "{\"nosuch\": 1}", "application/json");
    assert_int_equal(reply.status, 400);
    s_reply_free(&reply);

    json_t *stats = s_stop(fx);
    assert_int_equal(json_integer_value(json_object_get(stats, "errors_injected")), 3);
    assert_int_equal(json_integer_value(json_object_get(stats, "sessions_expired")), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "logons")), 2);
    json_decref(stats);
}

//  Config errors are reported and the simulator refuses to start.
static void test_bad_config(void **state)
{
    fixture_t *fx = *state;
    char conf[128], text[1024];
    snprintf(conf, sizeof conf, "%s/bad.conf", fx->dir);
    snprintf(text, sizeof text, "hmcsim\n    cert_file = %s/cert.pem\n    key_file = %s/key.pem\n"
             "    password_file = %s/password\n    bind = 0.0.0.0\nsystem\n    name = a\n",
             fx->dir, fx->dir, fx->dir);
    s_write_file(conf, text, 0600);
    char *argv[] = {FERRY_BIN_DIR "/ferry-hmcsim", "-c", conf, NULL};
    assert_int_equal(s_run(fx, argv), 1);
    snprintf(text, sizeof text, "system\n    name = a\n    nosuch = 1\n");
    s_write_file(conf, text, 0600);
    assert_int_equal(s_run(fx, argv), 1);
    char path[128];
    snprintf(path, sizeof path, "%s/run.log", fx->dir);
    char *log = s_read_file(path);
    assert_non_null(strstr(log, "not a loopback address"));
    assert_non_null(strstr(log, "unknown key 'nosuch'"));
    free(log);
}

//  What the simulator serves parses with the collector's HMC client code
//  (collector/hmc/hmc_xml.c) without a single warning.
static void test_client_parsers(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, "    pad_token = true\n    job_duration = 200ms\n    blackout = 50ms\n", SYSTEMS
            "partition\n    name = lpar1\n    id = 3\n    system = sys-a\n    memory_mb = 4096\n"
            "    proc_units = 0.25\n    proc_compat = POWER9\n"
            "partition\n    name = phys\n    system = sys-b\n    has_physical_io = true\n"
            "    rmc_state = inactive\n    management = true\n");
    char body[512];
    //  The padded token: the client trims it.
    reply_t reply = s_http(fx, "PUT", "/rest/api/web/Logon",
                           s_logon_body("hscroot", "s3cret&amp;&lt;pw&gt;", body, sizeof body),
                           "application/vnd.ibm.powervm.web+xml; type=LogonRequest");
    assert_int_equal(reply.status, 200);
    hmc_xml_diag_t diag = { 0 };
    char *token = hmc_parse_logon_response(reply.body, reply.len, &diag);
    assert_non_null(token);
    assert_null(strpbrk(token, " \n"));
    snprintf(fx->token, sizeof fx->token, "%s", token);
    free(token);
    s_reply_free(&reply);

    reply = s_get(fx, "/rest/api/uom/ManagedSystem");
    hmc_system_t *systems = NULL;
    size_t count = 0;
    assert_int_equal(hmc_parse_systems(reply.body, reply.len, &systems, &count, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(count, 3);
    assert_string_equal(systems[0].name, "sys-a");
    assert_string_equal(systems[0].serial, SYS_A_SERIAL);
    assert_string_equal(systems[0].machine_type, "8408");
    assert_string_equal(systems[0].state, "operating");
    assert_int_equal(systems[0].max_active_migrations, 4);
    assert_int_equal(systems[0].active_migrations_in_progress, 0);
    assert_true(systems[0].lpm_capable);
    assert_int_equal(systems[0].memory_region_mb, 256);
    assert_int_equal(systems[0].memory_available_mb, 1048576 - 4096);
    assert_true(systems[0].proc_units_available > 31.74 && systems[0].proc_units_available < 31.76);
    assert_true(systems[0].compat_mode_count >= 4);
    assert_string_equal(systems[2].state, "standby");
    char uuid_a[HMC_UUID_SIZE], uuid_b[HMC_UUID_SIZE];
    snprintf(uuid_a, sizeof uuid_a, "%s", systems[0].uuid);
    snprintf(uuid_b, sizeof uuid_b, "%s", systems[1].uuid);
    free(systems);

    reply = s_get(fx, "/rest/api/uom/LogicalPartition");
    hmc_partition_t *parts = NULL;
    assert_int_equal(hmc_parse_partitions(reply.body, reply.len, &parts, &count, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(count, 2);
    assert_string_equal(parts[0].name, "lpar1");
    assert_int_equal(parts[0].id, 3);
    assert_string_equal(parts[0].state, "running");
    assert_string_equal(parts[0].type, "AIX/Linux");
    assert_string_equal(parts[0].rmc_state, "active");
    assert_string_equal(parts[0].migration_state, "Not_Migrating");
    assert_string_equal(parts[0].system_uuid, uuid_a);
    assert_string_equal(parts[0].proc_compat_mode, "POWER9");
    assert_int_equal(parts[0].memory_mb, 4096);
    assert_true(parts[0].proc_units > 0.24 && parts[0].proc_units < 0.26);
    assert_int_equal(parts[0].physical_io_slots, 0);
    assert_false(parts[0].is_mgmt_partition);
    assert_int_equal(parts[1].physical_io_slots, 1);
    assert_true(parts[1].is_mgmt_partition);
    assert_string_equal(parts[1].system_uuid, uuid_b);
    char uuid[HMC_UUID_SIZE];
    snprintf(uuid, sizeof uuid, "%s", parts[0].uuid);
    free(parts);
    assert_int_equal(diag.warnings, 0);

    //  Jobs: the submit answer, a final one with a result, one with an exception.
    char path[256];
    static const hmc_param_t target = { "TargetManagedSystemName", "sys-b" };
    char err[256];
    char *request = hmc_build_job_request("Migrate", "LogicalPartition", &target, 1, err,
                                          sizeof err);
    assert_non_null(request);
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s/do/Migrate", uuid);
    reply = s_http(fx, "PUT", path, request, "application/vnd.ibm.powervm.web+xml; type=JobRequest");
    free(request);
    assert_int_equal(reply.status, 200);
    hmc_job_status_t job;
    assert_int_equal(hmc_parse_job_response(reply.body, reply.len, &job, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(job.state, HMC_JOB_NOT_STARTED);
    assert_string_equal(job.operation, "Migrate");
    assert_string_equal(job.target_uuid, uuid);
    char id[HMC_JOB_ID_SIZE];
    snprintf(id, sizeof id, "%s", job.job_id);
    hmc_job_status_clear(&job);
    job_t done = s_job_wait(fx, id);
    assert_string_equal(done.status, "COMPLETED_OK");
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", id);
    reply = s_get(fx, path);
    assert_int_equal(hmc_parse_job_response(reply.body, reply.len, &job, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(job.state, HMC_JOB_COMPLETED_OK);
    assert_true(job.time_completed_ms >= job.time_started_ms && job.time_started_ms > 0);
    assert_string_equal(hmc_kv_get(job.results, job.result_count, "returnCode"), "0");
    hmc_job_status_clear(&job);

    //  Back on sys-b now: moving it there again fails with an HSCL result.
    done = s_job_wait(fx, s_submit(fx, uuid, "Migrate", "sys-b", false).id);
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", done.id);
    reply = s_get(fx, path);
    assert_int_equal(hmc_parse_job_response(reply.body, reply.len, &job, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(job.state, HMC_JOB_COMPLETED_WITH_ERROR);
    assert_non_null(job.result_message);
    assert_non_null(strstr(job.result_message, "HSCLA2E6"));
    hmc_job_status_clear(&job);
    done = s_job_wait(fx, s_submit(fx, uuid, "MigrateValidate", NULL, false).id);
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", done.id);
    reply = s_get(fx, path);
    assert_int_equal(hmc_parse_job_response(reply.body, reply.len, &job, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(job.state, HMC_JOB_FAILED_BEFORE_COMPLETION);
    assert_non_null(job.exception_message);
    hmc_job_status_clear(&job);

    //  An HttpErrorResponse.
    reply = s_get(fx, "/rest/api/uom/jobs/1");
    assert_int_equal(reply.status, 404);
    hmc_http_error_t error;
    assert_int_equal(hmc_parse_http_error(reply.body, reply.len, &error, &diag), 0);
    s_reply_free(&reply);
    assert_int_equal(error.http_status, 404);
    assert_string_equal(error.request_uri, "/rest/api/uom/jobs/1");
    if (diag.warnings != 0)
        fail_msg("client parser warnings: %d, first: %s", diag.warnings, diag.warning);
    json_decref(s_stop(fx));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
    zsys_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logon, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_feeds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_client_parsers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_migrate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_validation_faults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hang_abort, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transport_faults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    curl_global_cleanup();
    return rc;
}
