/*  api — the collector's HTTP API; see api.h for endpoints and the command
    protocol.

    Threading: libmicrohttpd with its internal polling thread and one thread
    per connection (MHD_USE_THREAD_PER_CONNECTION). A mutating request can
    block for up to command_timeout_ms (10 s) on the collector's reply and a
    read can wait on SQLite's busy timeout; a thread per connection keeps one
    slow request from holding up the others, where a small pool would queue
    every connection behind it. The connection limit (64) bounds the threads;
    this is an operator API, not a public web server. Each read request
    opens its own read-only connection through store_read (no state shared
    between threads except the command socket, which sits behind a mutex);
    no SQL here: the queries are store_read's. */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <czmq.h>

#include "errbuf.h"
#include "keys.h"
#include "log.h"
#include "plan.h"
#include "store_read.h"

#define S_TOKEN_MAX 256
#define S_CONNECTION_LIMIT 64
#define S_CONNECTION_TIMEOUT_S 30
#define S_DEFAULT_COMMAND_TIMEOUT_MS 10000
#define S_HTTP_TOO_LARGE 413     // MHD renamed the constant between versions

struct _api_t {
    struct MHD_Daemon *daemon;
    int port;                       // bound port
    char *db_path;                  // owned
    char *command_endpoint;         // owned
    int command_timeout_ms;
    char token[S_TOKEN_MAX + 1];    // secret: never logged, wiped on destroy
    size_t token_len;
    pthread_mutex_t cmd_lock;       // guards cmd
    zsock_t *cmd;                   // REQ socket to the collector, created on first use
};

//  Per-request state (MHD's *con_cls), freed by s_completed.
typedef struct {
    char *body;                     // request body, NUL-terminated
    size_t len;
    bool too_large;                 // more than API_MAX_BODY arrived: 413
} s_request_t;

// ------------------------------------------------------------------ replies

//  Queue body (stolen) as the JSON response with status.
static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        text = strdup("{\"error\": \"out of memory\"}");
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result s_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return s_reply(conn, status, json_pack("{s:s}", "error", msg));
}

// ------------------------------------------------------------------ auth

//  Constant time in the content of given: the loop runs over the token's
//  length whatever was sent, and a length mismatch only sets a bit.
static bool s_token_ok(const api_t *self, const char *given)
{
    size_t glen = strlen(given);
    unsigned char diff = glen != self->token_len;
    for (size_t i = 0; i < self->token_len; i++) {
        unsigned char g = i < glen ? (unsigned char) given[i] : 0;
        diff |= (unsigned char) (g ^ (unsigned char) self->token[i]);
    }
    return self->token_len > 0 && diff == 0;
}

static bool s_authorized(const api_t *self, struct MHD_Connection *conn)
{
    const char *value =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!value || strncasecmp(value, "Bearer ", 7) != 0)
        return false;
    value += 7;
    while (*value == ' ')
        value++;
    return s_token_ok(self, value);
}

static int s_read_token(api_t *self, const char *path, char *err, size_t errlen)
{
    char why[256] = "";
    if (keys_check_private(path, why, sizeof why) != 0) {
        errbuf_set(err, errlen, "API token file: %s", why);
        return -1;
    }
    FILE *file = fopen(path, "r");
    if (!file) {
        errbuf_set(err, errlen, "API token file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[S_TOKEN_MAX + 2] = "";
    bool got = fgets(line, sizeof line, file) != NULL;
    fclose(file);
    size_t len = got ? strlen(line) : 0;
    bool whole = len > 0 && line[len - 1] == '\n';
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '
                       || line[len - 1] == '\t'))
        len--;
    if (!whole && len > S_TOKEN_MAX) {
        explicit_bzero(line, sizeof line);
        errbuf_set(err, errlen, "API token file %s: the token is longer than %d characters", path,
               S_TOKEN_MAX);
        return -1;
    }
    if (len == 0) {
        errbuf_set(err, errlen, "API token file %s: the first line is empty", path);
        return -1;
    }
    memcpy(self->token, line, len);
    self->token[len] = '\0';
    self->token_len = len;
    explicit_bzero(line, sizeof line);
    return 0;
}

// ------------------------------------------------------------------ reads

//  Each read opens its own reader: MHD runs requests on threads of their
//  own and a reader belongs to one thread (store_read.h); opening one is a
//  file open, small beside the request.
static enum MHD_Result s_get_agents(api_t *self, struct MHD_Connection *conn)
{
    char err[512] = "";
    store_reader_t *reader = store_reader_open(self->db_path, err, sizeof err);
    json_t *rows = reader ? store_read_agents(reader, err, sizeof err) : NULL;
    store_reader_destroy(&reader);
    if (!rows) {
        log_warn("api: GET agents: %s", err);
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    }
    return s_reply(conn, MHD_HTTP_OK, rows);
}

static enum MHD_Result s_get_plans(api_t *self, struct MHD_Connection *conn)
{
    char err[512] = "";
    store_reader_t *reader = store_reader_open(self->db_path, err, sizeof err);
    json_t *rows = reader ? store_read_plans(reader, err, sizeof err) : NULL;
    store_reader_destroy(&reader);
    if (!rows) {
        log_warn("api: GET plans: %s", err);
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    }
    return s_reply(conn, MHD_HTTP_OK, rows);
}

static enum MHD_Result s_get_plan(api_t *self, struct MHD_Connection *conn, int64_t id)
{
    char err[512] = "";
    bool not_found = false;
    store_reader_t *reader = store_reader_open(self->db_path, err, sizeof err);
    json_t *plan = reader ? store_read_plan(reader, id, &not_found, err, sizeof err) : NULL;
    store_reader_destroy(&reader);
    if (not_found)
        return s_error(conn, MHD_HTTP_NOT_FOUND, "no plan with id %lld", (long long) id);
    if (!plan) {
        log_warn("api: GET plan %lld: %s", (long long) id, err);
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    }
    return s_reply(conn, MHD_HTTP_OK, plan);
}

// ------------------------------------------------------------------ commands

static void s_cmd_drop(api_t *self)
{
    zsock_destroy(&self->cmd);
}

//  Send request (borrowed) to the collector and return its reply (new
//  reference), or NULL with *status and a message when none came.
static json_t *s_command(api_t *self, const json_t *request, unsigned *status, char *err,
                         size_t errlen)
{
    char *text = json_dumps(request, JSON_COMPACT);
    char *answer = NULL;
    json_t *reply = NULL;
    if (!text) {
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&self->cmd_lock);
    if (!self->cmd) {
        self->cmd = zsock_new(ZMQ_REQ);
        if (!self->cmd) {
            *status = MHD_HTTP_SERVICE_UNAVAILABLE;
            errbuf_set(err, errlen, "cannot create the command socket");
            goto done;
        }
        zsock_set_linger(self->cmd, 0);
        zsock_set_sndtimeo(self->cmd, self->command_timeout_ms);
        zsock_set_rcvtimeo(self->cmd, self->command_timeout_ms);
        if (zsock_connect(self->cmd, "%s", self->command_endpoint) != 0) {
            *status = MHD_HTTP_SERVICE_UNAVAILABLE;
            errbuf_set(err, errlen, "cannot connect to the collector at %s: %s",
                   self->command_endpoint, zmq_strerror(zmq_errno()));
            s_cmd_drop(self);
            goto done;
        }
    }
    if (zstr_send(self->cmd, text) != 0) {
        *status = MHD_HTTP_SERVICE_UNAVAILABLE;
        errbuf_set(err, errlen, "the collector does not take commands (%s)", zmq_strerror(zmq_errno()));
        s_cmd_drop(self);
        goto done;
    }
    answer = zstr_recv(self->cmd);
    if (!answer) {
        //  REQ is now stuck waiting for a reply: start over with a new socket.
        *status = MHD_HTTP_GATEWAY_TIMEOUT;
        errbuf_set(err, errlen, "the collector did not answer within %d ms", self->command_timeout_ms);
        s_cmd_drop(self);
        goto done;
    }
    reply = json_loads(answer, 0, NULL);
    if (!json_is_object(reply)) {
        json_decref(reply);
        reply = NULL;
        *status = MHD_HTTP_BAD_GATEWAY;
        errbuf_set(err, errlen, "the collector sent an unreadable reply");
    }
done:
    pthread_mutex_unlock(&self->cmd_lock);
    zstr_free(&answer);
    free(text);
    return reply;
}

//  Forward request (stolen) and answer with the collector's reply.
static enum MHD_Result s_forward(api_t *self, struct MHD_Connection *conn, json_t *request,
                                 unsigned ok_status)
{
    if (!request)
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    char op[16] = "";
    snprintf(op, sizeof op, "%s", json_string_value(json_object_get(request, "op")));
    char err[512] = "";
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    json_t *reply = s_command(self, request, &status, err, sizeof err);
    json_decref(request);
    if (!reply) {
        log_warn("api: %s: %s", op, err);
        return s_error(conn, status, "%s", err);
    }
    if (json_object_get(reply, "error")) {
        json_int_t want = json_integer_value(json_object_get(reply, "status"));
        status = want >= 400 && want <= 599 ? (unsigned) want : MHD_HTTP_BAD_REQUEST;
        if (!json_is_string(json_object_get(reply, "error")))
            json_object_set_new(reply, "error", json_string("the collector refused the command"));
        return s_reply(conn, status, reply);
    }
    return s_reply(conn, ok_status, reply);
}

static enum MHD_Result s_post_plan(api_t *self, struct MHD_Connection *conn,
                                   const s_request_t *req)
{
    if (!req->body || req->len == 0)
        return s_error(conn, MHD_HTTP_BAD_REQUEST, "the request body must be a plan document");
    //  Room for the problems of a plan of many moves (plan_parse lists them
    //  all), past s_error's 1 KiB.
    char err[PLAN_ERR_MAX] = "";
    plan_t *plan = plan_parse(req->body, req->len, NULL, err, sizeof err);
    if (!plan)
        return s_reply(conn, MHD_HTTP_BAD_REQUEST, json_pack("{s:s}", "error", err));
    json_t *doc = plan_to_json(plan);
    plan_destroy(&plan);
    if (!doc)
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    json_t *request = json_pack("{s:s, s:o, s:s}", "op", "submit", "plan", doc, "actor", "api");
    return s_forward(self, conn, request, MHD_HTTP_CREATED);
}

static enum MHD_Result s_post_action(api_t *self, struct MHD_Connection *conn, int64_t id,
                                     const char *action)
{
    json_t *request = json_pack("{s:s, s:I, s:s}", "op", action, "id", (json_int_t) id, "actor",
                                "api");
    return s_forward(self, conn, request, MHD_HTTP_OK);
}

// ------------------------------------------------------------------ routing

//  "/api/v1/plans/ID[/ACTION]": the id (> 0) and ACTION ("" when none); -1
//  when the path does not have that shape.
static int64_t s_plan_path(const char *rest, char *action, size_t size)
{
    if (*rest < '1' || *rest > '9')
        return -1;
    int64_t id = 0;
    while (*rest >= '0' && *rest <= '9') {
        if (id > (INT64_MAX - 9) / 10)
            return -1;
        id = id * 10 + (*rest++ - '0');
    }
    action[0] = '\0';
    if (*rest == '\0')
        return id;
    if (*rest != '/' || strlen(rest + 1) >= size || strchr(rest + 1, '/'))
        return -1;
    snprintf(action, size, "%s", rest + 1);
    return id;
}

static enum MHD_Result s_route(api_t *self, struct MHD_Connection *conn, const char *url,
                               const char *method, const s_request_t *req)
{
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(url, "/api/v1/agents") == 0) {
        if (get)
            return s_get_agents(self, conn);
        return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed on %s: use GET", method,
                       url);
    }
    if (strcmp(url, "/api/v1/hmcs") == 0) {
        if (get)
            return s_forward(self, conn, json_pack("{s:s, s:s}", "op", "hmcs", "actor", "api"),
                             MHD_HTTP_OK);
        return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed on %s: use GET", method,
                       url);
    }
    if (strcmp(url, "/api/v1/plans") == 0 || strcmp(url, "/api/v1/plans/") == 0) {
        if (get)
            return s_get_plans(self, conn);
        if (post)
            return s_post_plan(self, conn, req);
        return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed on %s: use GET or POST",
                       method, url);
    }
    static const char prefix[] = "/api/v1/plans/";
    if (strncmp(url, prefix, sizeof prefix - 1) == 0) {
        char action[16];
        int64_t id = s_plan_path(url + sizeof prefix - 1, action, sizeof action);
        if (id > 0 && action[0] == '\0') {
            if (get)
                return s_get_plan(self, conn, id);
            return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed on %s: use GET",
                           method, url);
        }
        if (id > 0
            && (strcmp(action, "start") == 0 || strcmp(action, "pause") == 0
                || strcmp(action, "abort") == 0)) {
            if (post)
                return s_post_action(self, conn, id, action);
            return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed on %s: use POST",
                           method, url);
        }
    }
    return s_error(conn, MHD_HTTP_NOT_FOUND, "no such endpoint: %s %s", method, url);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void) version;
    api_t *self = cls;
    s_request_t *req = *con_cls;
    if (!req) {
        //  First call: headers only. Refuse early what needs no body.
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        if (strncmp(url, "/api/", 5) != 0)
            return s_error(conn, MHD_HTTP_NOT_FOUND, "no such endpoint: %s %s", method, url);
        if (!s_authorized(self, conn))
            return s_error(conn, MHD_HTTP_UNAUTHORIZED,
                           "missing or wrong bearer token (Authorization: Bearer TOKEN)");
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > API_MAX_BODY)
            return s_error(conn, S_HTTP_TOO_LARGE,
                           "request body larger than %d bytes", API_MAX_BODY);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_large || req->len + n > API_MAX_BODY) {
            req->too_large = true;
            return MHD_YES;
        }
        char *grown = realloc(req->body, req->len + n + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + req->len, upload_data, n);
        req->body = grown;
        req->len += n;
        req->body[req->len] = '\0';
        return MHD_YES;
    }
    if (req->too_large)
        return s_error(conn, S_HTTP_TOO_LARGE, "request body larger than %d bytes",
                       API_MAX_BODY);
    return s_route(self, conn, url, method, req);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) conn;
    (void) toe;
    s_request_t *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log_warn("api: http: %s", line);
}

// ------------------------------------------------------------------ life

static bool s_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

api_t *api_new(const api_options_t *opts, char *err, size_t errlen)
{
    api_t *self = NULL;
    struct addrinfo *ai = NULL;
    if (!opts || !opts->db_path || !opts->token_file) {
        errbuf_set(err, errlen, "api: the database path and the token file are required");
        return NULL;
    }
    if (opts->port < 0 || opts->port > 65535) {
        errbuf_set(err, errlen, "api: port %d out of range 0..65535", opts->port);
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->cmd_lock, NULL);
    self->db_path = strdup(opts->db_path);
    self->command_endpoint = strdup(opts->command_endpoint ? opts->command_endpoint
                                                           : API_DEFAULT_COMMAND_ENDPOINT);
    self->command_timeout_ms =
        opts->command_timeout_ms > 0 ? opts->command_timeout_ms : S_DEFAULT_COMMAND_TIMEOUT_MS;
    if (!self->db_path || !self->command_endpoint) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    if (s_read_token(self, opts->token_file, err, errlen) != 0)
        goto fail;

    const char *host = opts->host ? opts->host : API_DEFAULT_HOST;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    int gai = getaddrinfo(host, NULL, &hints, &ai);
    if (gai != 0 || !ai) {
        errbuf_set(err, errlen, "api: bind address %s: %s", host, gai_strerror(gai));
        goto fail;
    }
    if (!s_is_loopback(ai->ai_addr)) {
        if (!opts->allow_remote) {
            errbuf_set(err, errlen,
                   "api: refusing to serve on non-loopback address %s: the API has no TLS yet; "
                   "bind 127.0.0.1 (and tunnel) or set allow_remote on a trusted network",
                   host);
            goto fail;
        }
        log_warn("api: serving on non-loopback address %s WITHOUT TLS (allow_remote): the "
                 "bearer token crosses the network in clear text",
                 host);
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                     | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) &addr)->sin6_port = htons((uint16_t) opts->port);
        flags |= MHD_USE_IPv6;
    }
    else
        ((struct sockaddr_in *) &addr)->sin_port = htons((uint16_t) opts->port);
    freeaddrinfo(ai);
    ai = NULL;

    errno = 0;
    self->daemon = MHD_start_daemon(
        flags, (uint16_t) opts->port, NULL, NULL, s_handler, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned) S_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) S_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!self->daemon) {
        errbuf_set(err, errlen, "api: cannot listen on %s port %d: %s", host, opts->port,
               errno ? strerror(errno) : "libmicrohttpd refused to start");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon,
                                                          MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : opts->port;
    log_info("api: listening on %s port %d", host, self->port);
    return self;
fail:
    if (ai)
        freeaddrinfo(ai);
    api_destroy(&self);
    return NULL;
}

void api_destroy(api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    api_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    zsock_destroy(&self->cmd);
    pthread_mutex_destroy(&self->cmd_lock);
    explicit_bzero(self->token, sizeof self->token);
    free(self->db_path);
    free(self->command_endpoint);
    free(self);
    *self_p = NULL;
}

int api_port(const api_t *self)
{
    return self ? self->port : -1;
}
