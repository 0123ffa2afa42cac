/*  server — hmcsim's HTTPS front: libmicrohttpd with TLS, one thread per
    connection. Routes the HMC REST paths of reference/hmc-rest.md, checks
    the X-API-Session of every /rest/api/uom call, injects the configured
    faults (5xx, expired sessions, slow answers) and serves /sim/stats and
    /sim/fault to tests on loopback. */
#include "hmcsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "simstate.h"

#define S_PEM_MAX (64 * 1024)
#define S_PARAMS_MAX 64
#define S_SEGMENTS_MAX 8

#define S_TYPE_ATOM "application/atom+xml"
#define S_TYPE_LOGON "application/vnd.ibm.powervm.web+xml; type=LogonResponse"
#define S_TYPE_JSON "application/json"

struct hs_server {
    hs_sim_t *sim;              // borrowed
    struct MHD_Daemon *daemon;
    char *cert;                 // PEM, owned (MHD reads it while running)
    char *key;                  // PEM, owned, secret
};

//  One request's upload.
typedef struct {
    char *body;                 // owned, NUL-terminated
    size_t len;
    bool too_large;
} s_req_t;

//  The answer being built.
typedef struct {
    int status;
    const char *type;           // Content-Type, NULL for no body
    char *body;                 // owned
    size_t len;
} s_reply_t;

//  ---------------------------------------------------------------------------
//  Replies

static void s_reply_buf(s_reply_t *reply, int status, const char *type, hs_buf_t *buf)
{
    free(reply->body);
    reply->status = status;
    reply->type = type;
    reply->body = hs_buf_take(buf, &reply->len);
    if (!reply->body) {
        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        reply->type = NULL;
        reply->len = 0;
    }
}

static void s_reply_error(s_reply_t *reply, int status, const char *uri, const char *reason,
                          const char *message)
{
    hs_buf_t buf = { 0 };
    hs_render_error(&buf, status, uri, reason, message);
    s_reply_buf(reply, status, S_TYPE_ATOM, &buf);
}

static void s_reply_empty(s_reply_t *reply, int status)
{
    free(reply->body);
    *reply = (s_reply_t) { .status = status };
}

static void s_reply_json(s_reply_t *reply, int status, const char *key, const char *text)
{
    hs_buf_t buf = { 0 };
    hs_buf_printf(&buf, "{\"%s\": \"", key);
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            hs_buf_printf(&buf, "\\%c", *p);
        else if ((unsigned char) *p < 0x20)
            hs_buf_printf(&buf, "\\u%04x", (unsigned) (unsigned char) *p);
        else
            hs_buf_printf(&buf, "%c", *p);
    }
    hs_buf_printf(&buf, "\"}\n");
    s_reply_buf(reply, status, S_TYPE_JSON, &buf);
}

//  ---------------------------------------------------------------------------
//  XML requests (libxml2): elements matched by namespace URI + local name

static bool s_is(xmlNode *node, const char *ns, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
           strcmp((const char *) node->ns->href, ns) == 0 &&
           strcmp((const char *) node->name, name) == 0;
}

static xmlNode *s_child(xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNode *node = parent ? parent->children : NULL; node; node = node->next)
        if (s_is(node, ns, name))
            return node;
    return NULL;
}

//  Text of a node, surrounding blanks removed, into buf. 0 / -1 (absent or too long).
static int s_text(xmlNode *node, char *buf, size_t len)
{
    if (!node)
        return -1;
    xmlChar *content = xmlNodeGetContent(node);
    if (!content)
        return -1;
    const char *start = (const char *) content;
    while (*start == ' ' || *start == '\n' || *start == '\r' || *start == '\t')
        start++;
    size_t n = strlen(start);
    while (n > 0 && strchr(" \n\r\t", start[n - 1]))
        n--;
    int rc = n < len ? 0 : -1;
    if (rc == 0)
        snprintf(buf, len, "%.*s", (int) n, start);
    xmlFree(content);
    return rc;
}

static xmlDoc *s_parse(const s_req_t *req)
{
    if (!req->body || req->len == 0 || req->len > INT32_MAX)
        return NULL;
    return xmlReadMemory(req->body, (int) req->len, "request.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

typedef struct {
    hs_param_t items[S_PARAMS_MAX];
    size_t count;
    char names[S_PARAMS_MAX][128];
    char values[S_PARAMS_MAX][1024];
} s_params_t;

//  A JobRequest (minimal or verbose form, bare or inside an Atom entry)
//  for operation op. 0, or -1 with a message.
static int s_parse_job_request(const s_req_t *req, const char *op, s_params_t *params,
                               char *err, size_t errlen)
{
    xmlDoc *doc = s_parse(req);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int rc = -1;
    if (!root) {
        snprintf(err, errlen, "The request body is not well-formed XML: send a JobRequest.");
        goto done;
    }
    if (s_is(root, HS_NS_ATOM, "entry"))
        root = s_child(s_child(root, HS_NS_ATOM, "content"), HS_NS_WEB, "JobRequest");
    if (!s_is(root, HS_NS_WEB, "JobRequest")) {
        snprintf(err, errlen, "The request body is not a JobRequest in namespace %s.",
                 HS_NS_WEB);
        goto done;
    }
    xmlNode *requested = s_child(root, HS_NS_WEB, "RequestedOperation");
    char name[128] = "", group[128] = "";
    if (s_text(s_child(requested, HS_NS_WEB, "OperationName"), name, sizeof name) != 0 ||
        strcmp(name, op) != 0) {
        snprintf(err, errlen, "RequestedOperation/OperationName '%s' does not match the operation"
                 " %s of the URL.", name, op);
        goto done;
    }
    if (s_text(s_child(requested, HS_NS_WEB, "GroupName"), group, sizeof group) == 0 &&
        strcmp(group, "LogicalPartition") != 0) {
        snprintf(err, errlen, "RequestedOperation/GroupName '%s' must be LogicalPartition.", group);
        goto done;
    }
    xmlNode *list = s_child(root, HS_NS_WEB, "JobParameters");
    for (xmlNode *node = list ? list->children : NULL; node; node = node->next) {
        if (!s_is(node, HS_NS_WEB, "JobParameter"))
            continue;
        if (params->count == S_PARAMS_MAX) {
            snprintf(err, errlen, "Too many job parameters (at most %d).", S_PARAMS_MAX);
            goto done;
        }
        char *pname = params->names[params->count], *pvalue = params->values[params->count];
        if (s_text(s_child(node, HS_NS_WEB, "ParameterName"), pname, 128) != 0 || !*pname) {
            snprintf(err, errlen, "A JobParameter has no ParameterName.");
            goto done;
        }
        xmlNode *value = s_child(node, HS_NS_WEB, "ParameterValue");
        if (value && s_text(value, pvalue, 1024) != 0) {
            snprintf(err, errlen, "JobParameter %s: the value is too long.", pname);
            goto done;
        }
        if (!value)
            *pvalue = '\0';
        params->items[params->count] = (hs_param_t) { pname, pvalue };
        params->count++;
    }
    rc = 0;
done:
    xmlFreeDoc(doc);
    return rc;
}

//  LogonRequest: user and password into the buffers. 0 / -1.
static int s_parse_logon(const s_req_t *req, char *user, size_t ulen, char *password, size_t plen)
{
    xmlDoc *doc = s_parse(req);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int rc = -1;
    if (s_is(root, HS_NS_WEB, "LogonRequest") &&
        s_text(s_child(root, HS_NS_WEB, "UserID"), user, ulen) == 0) {
        xmlNode *pw = s_child(root, HS_NS_WEB, "Password");
        xmlChar *content = pw ? xmlNodeGetContent(pw) : NULL;
        //  Passwords are taken verbatim (blanks are significant).
        if (content && strlen((const char *) content) < plen) {
            snprintf(password, plen, "%s", (const char *) content);
            rc = 0;
        }
        if (content) {
            explicit_bzero(content, strlen((const char *) content));
            xmlFree(content);
        }
    }
    xmlFreeDoc(doc);
    return rc;
}

static bool s_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char) (la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char) (a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

//  ---------------------------------------------------------------------------
//  Routing (sim->lock held)

//  The partition's entry alone is read: the first such read after its
//  latest move completed is when the client looked at the placement (stats).
static void s_placement_read(hs_partition_t *part)
{
    if (part->moved && !part->moved->placement_read_ms)
        part->moved->placement_read_ms = clock_wall_ms();
}

//  Split path (modified) at '/' into at most max segments.
static size_t s_split(char *path, char **segments, size_t max)
{
    size_t n = 0;
    for (char *p = path; *p && n < max;) {
        segments[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    //  A trailing slash yields no empty segment.
    if (n > 0 && !*segments[n - 1])
        n--;
    return n;
}

//  "(SystemName=='NAME')" or "(SystemName==NAME)" -> NAME when the key matches.
static int s_search_term(const char *segment, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key), slen = strlen(segment);
    if (slen < klen + 4 || segment[0] != '(' || segment[slen - 1] != ')' ||
        strncmp(segment + 1, key, klen) != 0 || strncmp(segment + 1 + klen, "==", 2) != 0)
        return -1;
    const char *value = segment + 1 + klen + 2;
    size_t vlen = slen - (klen + 4);
    if (vlen >= 2 && value[0] == '\'' && value[vlen - 1] == '\'') {
        value++;
        vlen -= 2;
    }
    if (vlen >= len)
        return -1;
    snprintf(out, len, "%.*s", (int) vlen, value);
    return 0;
}

static void s_not_found(s_reply_t *reply, const char *url, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s was not found.", what);
    s_reply_error(reply, MHD_HTTP_NOT_FOUND, url, "Not Found", msg);
}

static void s_bad_method(s_reply_t *reply, const char *url, const char *method)
{
    char msg[256];
    snprintf(msg, sizeof msg, "The method %s is not supported for this resource.", method);
    s_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, url, "Method Not Allowed", msg);
}

static void s_systems(hs_sim_t *sim, s_reply_t *reply, const char *url, char **seg, size_t n,
                      const char *method)
{
    hs_buf_t buf = { 0 };
    if (strcmp(method, "GET") != 0) {
        s_bad_method(reply, url, method);
        return;
    }
    if (n == 1 || (n == 3 && strcmp(seg[1], "search") == 0)) {
        hs_system_t **list = calloc(sim->system_count, sizeof *list);
        size_t count = 0;
        char name[HS_NAME_MAX];
        if (!list) {
            s_reply_empty(reply, MHD_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        if (n == 3 && s_search_term(seg[2], "SystemName", name, sizeof name) != 0) {
            free(list);
            s_reply_error(reply, MHD_HTTP_BAD_REQUEST, url, "Bad Request",
                          "Search on ManagedSystem supports (SystemName==NAME) only.");
            return;
        }
        for (size_t i = 0; i < sim->system_count; i++)
            if (n == 1 || strcmp(sim->systems[i].name, name) == 0)
                list[count++] = &sim->systems[i];
        if (count == 0)
            s_reply_empty(reply, MHD_HTTP_NO_CONTENT);
        else {
            hs_render_system_feed(&buf, sim, url, list, count);
            s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        }
        free(list);
        return;
    }
    hs_system_t *sys = hs_system_by_uuid(sim, seg[1]);
    if (!sys) {
        s_not_found(reply, url, "The managed system");
        return;
    }
    if (n == 2) {
        hs_render_system_entry(&buf, sim, sys);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        return;
    }
    if (strcmp(seg[2], "LogicalPartition") != 0 || n > 4) {
        s_not_found(reply, url, "The resource");
        return;
    }
    if (n == 4) {
        hs_partition_t *part = hs_part_by_uuid(sim, seg[3]);
        if (!part || &sim->systems[part->system] != sys) {
            s_not_found(reply, url, "The logical partition");
            return;
        }
        s_placement_read(part);
        hs_render_lpar_entry(&buf, sim, part, sys);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        return;
    }
    hs_partition_t **list = calloc(sim->part_count ? sim->part_count : 1, sizeof *list);
    size_t count = 0;
    if (!list) {
        s_reply_empty(reply, MHD_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    for (size_t i = 0; i < sim->part_count; i++)
        if (&sim->systems[sim->parts[i].system] == sys)
            list[count++] = &sim->parts[i];
    if (count == 0)
        s_reply_empty(reply, MHD_HTTP_NO_CONTENT);
    else {
        hs_render_lpar_feed(&buf, sim, url, list, count, sys);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
    }
    free(list);
}

static void s_job_op(hs_sim_t *sim, s_reply_t *reply, const char *url, hs_partition_t *part,
                     const char *opname, const char *method, const s_req_t *req)
{
    hs_buf_t buf = { 0 };
    char err[512];
    int op = hs_op_parse(opname);
    if (op < 0) {
        snprintf(err, sizeof err, "The operation %s is not supported (MigrateValidate, Migrate,"
                 " MigrateRecover, MigrateAbort).", opname);
        s_reply_error(reply, MHD_HTTP_BAD_REQUEST, url, "Bad Request", err);
        return;
    }
    if (strcmp(method, "GET") == 0) {
        hs_render_job_template(&buf, (hs_op_t) op);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        return;
    }
    if (strcmp(method, "PUT") != 0) {
        s_bad_method(reply, url, method);
        return;
    }
    //  The params struct is large: keep it off the connection thread's stack.
    s_params_t *params = calloc(1, sizeof *params);
    hs_job_t *job = NULL;
    if (!params) {
        s_reply_empty(reply, MHD_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (s_parse_job_request(req, opname, params, err, sizeof err) != 0)
        s_reply_error(reply, MHD_HTTP_BAD_REQUEST, url, "Bad Request", err);
    else if (hs_job_submit(sim, (hs_op_t) op, part, params->items, params->count, &job, err,
                           sizeof err) != 0)
        s_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, url, "Internal Server Error", err);
    else {
        hs_render_job(&buf, sim, job);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
    }
    free(params);
}

static void s_partitions(hs_sim_t *sim, s_reply_t *reply, const char *url, char **seg, size_t n,
                         const char *method, const s_req_t *req)
{
    hs_buf_t buf = { 0 };
    if (n == 4 && strcmp(seg[2], "do") == 0) {
        hs_partition_t *part = hs_part_by_uuid(sim, seg[1]);
        if (!part)
            s_not_found(reply, url, "The logical partition");
        else
            s_job_op(sim, reply, url, part, seg[3], method, req);
        return;
    }
    if (strcmp(method, "GET") != 0) {
        s_bad_method(reply, url, method);
        return;
    }
    if (n == 1 || (n == 3 && strcmp(seg[1], "search") == 0)) {
        char name[HS_NAME_MAX];
        if (n == 3 && s_search_term(seg[2], "PartitionName", name, sizeof name) != 0) {
            s_reply_error(reply, MHD_HTTP_BAD_REQUEST, url, "Bad Request",
                          "Search on LogicalPartition supports (PartitionName==NAME) only.");
            return;
        }
        hs_partition_t **list = calloc(sim->part_count ? sim->part_count : 1, sizeof *list);
        size_t count = 0;
        if (!list) {
            s_reply_empty(reply, MHD_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        for (size_t i = 0; i < sim->part_count; i++)
            if (n == 1 || strcmp(sim->parts[i].name, name) == 0)
                list[count++] = &sim->parts[i];
        if (count == 0)
            s_reply_empty(reply, MHD_HTTP_NO_CONTENT);
        else {
            hs_render_lpar_feed(&buf, sim, url, list, count, NULL);
            s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        }
        free(list);
        return;
    }
    hs_partition_t *part = n == 2 ? hs_part_by_uuid(sim, seg[1]) : NULL;
    if (!part) {
        s_not_found(reply, url, n == 2 ? "The logical partition" : "The resource");
        return;
    }
    s_placement_read(part);
    hs_render_lpar_entry(&buf, sim, part, NULL);
    s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
}

static void s_jobs(hs_sim_t *sim, s_reply_t *reply, const char *url, char **seg, size_t n,
                   const char *method)
{
    hs_buf_t buf = { 0 };
    hs_job_t *job = n >= 2 ? hs_job_by_id(sim, seg[1]) : NULL;
    if (!job || n > 3 || (n == 3 && strcmp(seg[2], "cancel") != 0)) {
        s_not_found(reply, url, job || n < 2 ? "The resource" : "The job");
        return;
    }
    if (n == 3) {
        if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
            s_bad_method(reply, url, method);
            return;
        }
        hs_job_cancel(sim, job);
        hs_render_job(&buf, sim, job);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
        return;
    }
    if (strcmp(method, "GET") == 0) {
        job->polls++;
        if (job->status > HS_JOB_RUNNING && !job->final_polled_ms)
            job->final_polled_ms = clock_wall_ms();
        hs_render_job(&buf, sim, job);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_ATOM, &buf);
    }
    else if (strcmp(method, "DELETE") == 0) {
        if (job->status <= HS_JOB_RUNNING)
            s_reply_error(reply, MHD_HTTP_CONFLICT, url, "Conflict",
                          "The job is still running: cancel it first, or wait for it to end.");
        else {
            job->deleted = true;
            s_reply_empty(reply, MHD_HTTP_NO_CONTENT);
        }
    }
    else
        s_bad_method(reply, url, method);
}

//  The partition a request is about (its UUID is in the path), for delays.
static hs_partition_t *s_url_part(hs_sim_t *sim, const char *url)
{
    const char *p = strstr(url, "LogicalPartition/");
    if (!p)
        return NULL;
    char uuid[HS_UUID_MAX];
    snprintf(uuid, sizeof uuid, "%.36s", p + strlen("LogicalPartition/"));
    return hs_part_by_uuid(sim, uuid);
}

static void s_logon(hs_sim_t *sim, struct MHD_Connection *conn, s_reply_t *reply,
                    const char *url, const char *method, const s_req_t *req)
{
    if (strcmp(method, "DELETE") == 0) {
        const char *token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Session");
        if (token && hs_session_drop(sim, token) == 0)
            s_reply_empty(reply, MHD_HTTP_NO_CONTENT);
        else
            s_reply_error(reply, MHD_HTTP_UNAUTHORIZED, url, "Unauthorized",
                          "The X-API-Session is missing, expired or not valid.");
        return;
    }
    if (strcmp(method, "PUT") != 0) {
        s_bad_method(reply, url, method);
        return;
    }
    char user[HS_NAME_MAX] = "", password[512] = "", token[HS_TOKEN_LEN + 1];
    if (s_parse_logon(req, user, sizeof user, password, sizeof password) != 0)
        s_reply_error(reply, MHD_HTTP_BAD_REQUEST, url, "Bad Request",
                      "The request body is not a LogonRequest with UserID and Password in"
                      " namespace " HS_NS_WEB ".");
    else if (strcmp(user, sim->user) != 0 || !s_secret_equal(password, sim->password)) {
        log_info("logon refused for user %s", user);
        s_reply_error(reply, MHD_HTTP_UNAUTHORIZED, url, "Unauthorized",
                      "HSCL350B The user ID or the password is not valid. Check them and log on"
                      " again.");
    }
    else if (hs_session_new(sim, token) != 0)
        s_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, url, "Internal Server Error",
                      "The management console cannot create a session.");
    else {
        hs_buf_t buf = { 0 };
        hs_render_logon(&buf, token, sim->pad_token);
        s_reply_buf(reply, MHD_HTTP_OK, S_TYPE_LOGON, &buf);
        log_debug("user %s logged on", user);
    }
    explicit_bzero(password, sizeof password);
}

static void s_rest(hs_sim_t *sim, struct MHD_Connection *conn, s_reply_t *reply, const char *url,
                   const char *method, const s_req_t *req)
{
    pthread_mutex_lock(&sim->lock);
    sim->requests++;
    int64_t delay = hs_delay_ms(sim, s_url_part(sim, url));
    if (delay > 0)
        hs_wait(sim, clock_mono_ms() + delay, NULL);
    char path[HS_PATH_MAX];
    char *seg[S_SEGMENTS_MAX];
    if (req->too_large)
        s_reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE, url, "Request Entity Too Large",
                      "The request body is too large.");
    else if (strcmp(url, "/rest/api/web/Logon") == 0)
        s_logon(sim, conn, reply, url, method, req);
    else if (strncmp(url, "/rest/api/uom/", 14) != 0 || strlen(url + 14) >= sizeof path)
        s_not_found(reply, url, "The resource");
    else if (sim->http_error_count > 0) {
        sim->http_error_count--;
        sim->errors_injected++;
        char msg[256];
        snprintf(msg, sizeof msg, "HSCL3999 The management console cannot process the request"
                 " now (injected fault, %" PRId64 " more to come). Retry the operation later.",
                 sim->http_error_count);
        s_reply_error(reply, (int) sim->http_error_status, url,
                      sim->http_error_status == 503 ? "Service Unavailable"
                                                    : "Unknown internal error.", msg);
    }
    else if (hs_session_use(sim, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                              "X-API-Session")) != 0)
        s_reply_error(reply, MHD_HTTP_UNAUTHORIZED, url, "Unauthorized",
                      "Request Unauthorized: the X-API-Session is missing, expired or not valid."
                      " Log on again.");
    else {
        snprintf(path, sizeof path, "%s", url + 14);
        size_t n = s_split(path, seg, S_SEGMENTS_MAX);
        if (n >= 1 && strcmp(seg[0], "ManagedSystem") == 0)
            s_systems(sim, reply, url, seg, n, method);
        else if (n >= 1 && strcmp(seg[0], "LogicalPartition") == 0)
            s_partitions(sim, reply, url, seg, n, method, req);
        else if (n >= 2 && strcmp(seg[0], "jobs") == 0)
            s_jobs(sim, reply, url, seg, n, method);
        else
            s_not_found(reply, url, "The resource");
    }
    pthread_mutex_unlock(&sim->lock);
}

//  ---------------------------------------------------------------------------
//  /sim: for tests, no authentication, loopback peers only

static bool s_peer_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *addr = info ? info->client_addr : NULL;
    if (addr && addr->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *) (const void *) addr)->sin_addr.s_addr) >> 24)
               == 127;
    if (addr && addr->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *) (const void *) addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return false;
}

static void s_sim_api(hs_sim_t *sim, struct MHD_Connection *conn, s_reply_t *reply,
                      const char *url, const char *method, const s_req_t *req)
{
    char err[512];
    if (!s_peer_loopback(conn))
        s_reply_json(reply, MHD_HTTP_FORBIDDEN, "error", "/sim is for loopback peers only");
    else if (strcmp(url, "/sim/stats") == 0 && strcmp(method, "GET") == 0) {
        char *text = hs_stats_json(sim);
        if (!text)
            s_reply_empty(reply, MHD_HTTP_INTERNAL_SERVER_ERROR);
        else {
            free(reply->body);
            *reply = (s_reply_t) { MHD_HTTP_OK, S_TYPE_JSON, text, strlen(text) };
        }
    }
    else if (strcmp(url, "/sim/fault") == 0 && strcmp(method, "POST") == 0) {
        if (req->too_large || !req->body)
            s_reply_json(reply, MHD_HTTP_BAD_REQUEST, "error", "send a JSON object");
        else if (hs_fault_apply(sim, req->body, err, sizeof err) != 0)
            s_reply_json(reply, MHD_HTTP_BAD_REQUEST, "error", err);
        else
            s_reply_json(reply, MHD_HTTP_OK, "status", "ok");
    }
    else
        s_reply_json(reply, MHD_HTTP_NOT_FOUND, "error", "GET /sim/stats or POST /sim/fault");
}

//  ---------------------------------------------------------------------------
//  libmicrohttpd callbacks

static enum MHD_Result s_queue(struct MHD_Connection *conn, s_reply_t *reply)
{
    struct MHD_Response *response =
        reply->body ? MHD_create_response_from_buffer(reply->len, reply->body,
                                                      MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!response) {
        free(reply->body);
        return MHD_NO;
    }
    if (reply->type)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->type);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned) reply->status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **ctx)
{
    (void) version;
    hs_server_t *self = cls;
    s_req_t *req = *ctx;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *ctx = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!req->too_large && req->len + *upload_size <= HS_BODY_MAX) {
            char *body = realloc(req->body, req->len + *upload_size + 1);
            if (!body)
                return MHD_NO;
            memcpy(body + req->len, upload, *upload_size);
            req->len += *upload_size;
            body[req->len] = '\0';
            req->body = body;
        }
        else
            req->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    s_reply_t reply = { 0 };
    if (strncmp(url, "/sim/", 5) == 0)
        s_sim_api(self->sim, conn, &reply, url, method, req);
    else if (strncmp(url, "/rest/api/", 10) == 0)
        s_rest(self->sim, conn, &reply, url, method, req);
    else
        s_reply_error(&reply, MHD_HTTP_NOT_FOUND, url, "Not Found",
                      "The resource was not found (the API lives under /rest/api).");
    log_debug("%s %s -> %d", method, url, reply.status);
    return s_queue(conn, &reply);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                        enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) conn;
    (void) code;
    s_req_t *req = *ctx;
    if (req) {
        free(req->body);
        free(req);
        *ctx = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_warn("libmicrohttpd: %s", line);
}

//  ---------------------------------------------------------------------------
//  Start / stop

hs_server_t *hs_server_start(hs_sim_t *sim, char *err, size_t errlen)
{
    hs_server_t *self = calloc(1, sizeof *self);
    struct sockaddr_in v4 = { .sin_family = AF_INET };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    bool ipv6 = strchr(sim->bind, ':') != NULL;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->sim = sim;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS support");
        goto fail;
    }
    self->cert = hs_read_file(sim->cert_file, S_PEM_MAX, false, err, errlen);
    if (!self->cert)
        goto fail;
    self->key = hs_read_file(sim->key_file, S_PEM_MAX, true, err, errlen);
    if (!self->key)
        goto fail;
    if (ipv6) {
        inet_pton(AF_INET6, sim->bind, &v6.sin6_addr);
        v6.sin6_port = htons((uint16_t) sim->port);
    }
    else {
        inet_pton(AF_INET, sim->bind, &v4.sin_addr);
        v4.sin_port = htons((uint16_t) sim->port);
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    self->daemon = MHD_start_daemon(
        flags, (uint16_t) sim->port, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ipv6 ? (struct sockaddr *) &v6 : (struct sockaddr *) &v4,
        MHD_OPTION_HTTPS_MEM_CERT, self->cert,
        MHD_OPTION_HTTPS_MEM_KEY, self->key,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
        MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, errlen, "cannot listen on %s port %" PRId64 " with TLS (address in use,"
                 " or the certificate / key in %s / %s is not valid PEM)", sim->bind, sim->port,
                 sim->cert_file, sim->key_file);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    pthread_mutex_lock(&sim->lock);
    snprintf(sim->base_url, sizeof sim->base_url, ipv6 ? "https://[%s]:%u" : "https://%s:%u",
             sim->bind, port);
    pthread_mutex_unlock(&sim->lock);
    if (*sim->port_file) {
        char text[16];
        snprintf(text, sizeof text, "%u\n", port);
        if (sim_write_path(sim->port_file, text, err, errlen) != 0)
            goto fail;
    }
    return self;
fail:
    hs_server_stop(&self);
    return NULL;
}

void hs_server_stop(hs_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hs_server_t *self = *self_p;
    if (self->daemon) {
        //  Stop accepting, let the connection threads finish, then close.
        MHD_socket listener = MHD_quiesce_daemon(self->daemon);
        MHD_stop_daemon(self->daemon);
        if (listener != MHD_INVALID_SOCKET)
            close(listener);
    }
    free(self->cert);
    if (self->key) {
        explicit_bzero(self->key, strlen(self->key));
        free(self->key);
    }
    free(self);
    *self_p = NULL;
}
