/*  hmc_client — one session with one HMC's REST API over HTTPS. See hmc_client.h.

    Every request goes through s_call(): s_transport() performs it (with the
    one port fallback), then a 401 on anything but the logon leads to exactly
    one new logon and one retry. Error messages are built in s_curl_error()
    (transport) and s_http_error() (an HTTP status outside 2xx). */
#include "hmc_client.h"

#include "log.h"
#include "names.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FERRY_VERSION
#define FERRY_VERSION "dev"
#endif

#define S_DEFAULT_TIMEOUT_MS 120000
#define S_MAX_CONNECT_TIMEOUT_MS 15000
#define S_DEFAULT_PORT 443
#define S_DEFAULT_FALLBACK_PORT 12443
#define S_DEFAULT_MAX_BODY ((size_t) 64 << 20)

#define S_TYPE_LOGON_REQUEST "application/vnd.ibm.powervm.web+xml; type=LogonRequest"
#define S_TYPE_LOGON_RESPONSE "application/vnd.ibm.powervm.web+xml; type=LogonResponse"
#define S_TYPE_JOB_REQUEST "application/vnd.ibm.powervm.web+xml; type=JobRequest"
#define S_TYPE_ATOM "application/atom+xml"
#define S_LOGON_PATH "/rest/api/web/Logon"

struct _hmc_session_t {
    CURL *curl;
    char host[256];             // as in the URL (an IPv6 address keeps its brackets)
    int primary_port;           // the URL's port, else the default port
    int fallback_port;          // -1: none
    int port;                   // in use
    bool explicit_port;         // the URL named a port: never fall back
    bool port_settled;          // a request got through: never fall back any more
    char base[300];             // "https://host:port"
    char *user;
    char *password;             // wiped on destroy
    char *token;                // wiped when replaced or dropped
    char *ca_file;
    bool insecure;
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_body;
    long status;                // HTTP status of the last answer, 0 when none
    char *body;                 // last answer, NUL-terminated
    size_t body_len;
    size_t body_cap;
    bool body_overflow;
    char curl_err[CURL_ERROR_SIZE];
    char error[1024];
};

//  One request as s_call() performs it.
typedef struct {
    const char *method;         // "GET", "PUT", "POST", "DELETE"
    const char *path;           // absolute path, starts with '/'
    const char *content_type;   // NULL: no Content-Type header
    const char *accept;         // NULL: no Accept header
    const char *body;           // PUT / POST body, may be NULL
    size_t body_len;
    bool no_token;              // the logon itself: no X-API-Session header
    bool no_relogon;            // logon / logoff: a 401 is final
} s_req_t;

// ------------------------------------------------------------------ helpers

static void s_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void s_free_secret(char **p)
{
    if (*p) {
        s_wipe(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static void s_set_error(hmc_session_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_set_error(hmc_session_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
}

//  A value safe to show in a message: printable ASCII only, at most 64 bytes.
static const char *s_shown(const char *text, char *buf, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) (text ? text : "");
         *p && n + 1 < size && n < 64; p++)
        buf[n++] = (*p >= 0x20 && *p < 0x7f) ? (char) *p : '?';
    buf[n] = '\0';
    return buf;
}

static void s_set_base(hmc_session_t *self)
{
    snprintf(self->base, sizeof self->base, "https://%s:%d", self->host, self->port);
}

static const char *s_reason(long status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

// ------------------------------------------------------------------ session

//  Split opts->url into host and port; https only, no path, query or credentials.
static int s_parse_url(hmc_session_t *self, const char *url, char *err, size_t errlen)
{
    char shown[80];
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL,
         *fragment = NULL;
    int rc = -1;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "HMC URL '%s' is not https://HOST[:PORT]", s_shown(url, shown, sizeof shown));
        goto done;
    }
    if (strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "HMC URL '%s' must start with https://", s_shown(url, shown, sizeof shown));
        goto done;
    }
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0);
    if (user || query || fragment || (path && strcmp(path, "/") != 0 && path[0])) {
        snprintf(err, errlen, "HMC URL '%s' must be https://HOST[:PORT] without user, path or query",
                 s_shown(url, shown, sizeof shown));
        goto done;
    }
    if (strlen(host) >= sizeof self->host) {
        snprintf(err, errlen, "HMC host name too long");
        goto done;
    }
    snprintf(self->host, sizeof self->host, "%s", host);
    CURLUcode pc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (pc == CURLUE_OK && port) {
        long value = strtol(port, NULL, 10);
        if (value < 1 || value > 65535) {
            snprintf(err, errlen, "HMC URL port '%s' out of range", s_shown(port, shown, sizeof shown));
            goto done;
        }
        self->primary_port = (int) value;
        self->explicit_port = true;
    }
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(path);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return rc;
}

hmc_session_t *hmc_session_new(const hmc_options_t *opts, char *err, size_t errlen)
{
    if (!opts || !opts->url || !opts->user || !opts->user[0] || !opts->password
        || !opts->password[0]) {
        snprintf(err, errlen, "HMC URL, user and password are required");
        return NULL;
    }
    if (opts->timeout_ms < 0 || opts->connect_timeout_ms < 0 || opts->default_port < 0
        || opts->default_port > 65535 || opts->fallback_port < -1 || opts->fallback_port > 65535) {
        snprintf(err, errlen, "HMC session: negative time-out or port out of range");
        return NULL;
    }
    if (opts->insecure && opts->ca_file) {
        snprintf(err, errlen, "HMC session: a CA file and insecure exclude each other");
        return NULL;
    }
    hmc_session_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(self);
        return NULL;
    }
    hmc_xml_init();
    self->primary_port = opts->default_port ? opts->default_port : S_DEFAULT_PORT;
    self->fallback_port = opts->fallback_port == 0 ? S_DEFAULT_FALLBACK_PORT : opts->fallback_port;
    self->timeout_ms = opts->timeout_ms ? opts->timeout_ms : S_DEFAULT_TIMEOUT_MS;
    self->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms
                               : self->timeout_ms < S_MAX_CONNECT_TIMEOUT_MS ? self->timeout_ms
                                                                            : S_MAX_CONNECT_TIMEOUT_MS;
    self->max_body = opts->max_body ? opts->max_body : S_DEFAULT_MAX_BODY;
    self->insecure = opts->insecure;
    self->curl = curl_easy_init();
    if (!self->curl) {
        snprintf(err, errlen, "cannot create a libcurl handle");
        goto fail;
    }
    if (s_parse_url(self, opts->url, err, errlen) != 0)
        goto fail;
    self->port = self->primary_port;
    s_set_base(self);
    self->user = strdup(opts->user);
    self->password = strdup(opts->password);
    self->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
    if (!self->user || !self->password || (opts->ca_file && !self->ca_file)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return self;
fail:
    hmc_session_destroy(&self);
    return NULL;
}

void hmc_session_destroy(hmc_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hmc_session_t *self = *self_p;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    s_free_secret(&self->password);
    s_free_secret(&self->token);
    if (self->body) {
        s_wipe(self->body, self->body_cap);
        free(self->body);
    }
    free(self->user);
    free(self->ca_file);
    free(self);
    curl_global_cleanup();
    *self_p = NULL;
}

const char *hmc_error(hmc_session_t *self) { return self->error; }
int hmc_http_status(hmc_session_t *self) { return (int) self->status; }
const char *hmc_base_url(hmc_session_t *self) { return self->base; }
bool hmc_logged_on(hmc_session_t *self) { return self->token != NULL; }

// ------------------------------------------------------------------ transport

static size_t s_write(char *data, size_t size, size_t nmemb, void *arg)
{
    hmc_session_t *self = arg;
    size_t n = size * nmemb;
    if (n > self->max_body - self->body_len) {
        self->body_overflow = true;
        return 0;
    }
    if (self->body_len + n + 1 > self->body_cap) {
        size_t cap = self->body_cap ? self->body_cap : 65536;
        while (cap < self->body_len + n + 1)
            cap *= 2;
        //  Not realloc: the old buffer may hold a token and is wiped first.
        char *grown = malloc(cap);
        if (!grown)
            return 0;
        if (self->body) {
            memcpy(grown, self->body, self->body_len);
            s_wipe(self->body, self->body_cap);
            free(self->body);
        }
        self->body = grown;
        self->body_cap = cap;
    }
    memcpy(self->body + self->body_len, data, n);
    self->body_len += n;
    self->body[self->body_len] = '\0';
    return n;
}

static void s_body_reset(hmc_session_t *self, bool wipe)
{
    if (self->body && wipe)
        s_wipe(self->body, self->body_len);
    self->body_len = 0;
    self->body_overflow = false;
    if (self->body)
        self->body[0] = '\0';
}

//  The OS error behind a failed connection, e.g. "Connection refused".
static const char *s_os_error(hmc_session_t *self, char *buf, size_t size)
{
    long os_errno = 0;
    curl_easy_getinfo(self->curl, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0 && strerror_r((int) os_errno, buf, size) == 0)
        return buf;
    const char *text = self->curl_err[0] ? self->curl_err : "connection failed";
    size_t n = strnlen(text, size - 1);
    memcpy(buf, text, n);
    buf[n] = '\0';
    return buf;
}

//  Perform req once against self->base; fills status and body. Returns curl's code.
static CURLcode s_perform(hmc_session_t *self, const s_req_t *req)
{
    CURL *c = self->curl;
    curl_easy_reset(c);
    s_body_reset(self, true);
    self->status = 0;
    self->curl_err[0] = '\0';
    char url[1024];
    if ((size_t) snprintf(url, sizeof url, "%s%s", self->base, req->path) >= sizeof url)
        return CURLE_URL_MALFORMAT;

    struct curl_slist *headers = NULL, *added;
    char line[256];
    bool ok = true;
    const char *fixed[] = {"Expect:", req->content_type ? NULL : "Content-Type:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i] && ok)
            ok = (headers = curl_slist_append(headers, fixed[i])) != NULL;
    if (ok && req->accept) {
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        ok = (added = curl_slist_append(headers, line)) != NULL;
        headers = added ? added : headers;
    }
    if (ok && req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        ok = (added = curl_slist_append(headers, line)) != NULL;
        headers = added ? added : headers;
    }
    if (ok && !req->no_token && self->token) {
        size_t len = strlen("X-API-Session: ") + strlen(self->token) + 1;
        char *h = malloc(len);
        ok = h != NULL;
        if (h) {
            snprintf(h, len, "X-API-Session: %s", self->token);
            ok = (added = curl_slist_append(headers, h)) != NULL;
            headers = added ? added : headers;
            s_wipe(h, len);
            free(h);
        }
    }
    if (!ok) {
        curl_slist_free_all(headers);
        return CURLE_OUT_OF_MEMORY;
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, self->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ferry-collector/" FERRY_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, self->insecure ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, self->insecure ? 0L : 2L);
    if (self->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, self->ca_file);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (strcmp(req->method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
    }
    else if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
    }
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);

    CURLcode cc = curl_easy_perform(c);
    //  The header list may hold the token.
    for (struct curl_slist *h = headers; h; h = h->next)
        s_wipe(h->data, strlen(h->data));
    curl_slist_free_all(headers);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &self->status);
        if (log_verbose()) {
            curl_off_t us = 0;
            curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us);
            log_debug("HMC %s %s%s -> %ld (%ld ms, %zu bytes)", req->method, self->base,
                      req->path, self->status, (long) (us / 1000), self->body_len);
        }
    }
    return cc;
}

//  One readable line for a transport failure.
static void s_curl_error(hmc_session_t *self, const s_req_t *req, CURLcode cc)
{
    char os[128];
    const char *detail = self->curl_err[0] ? self->curl_err : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        s_set_error(self, "cannot connect to %s:%d: %s", self->host, self->port,
                    s_os_error(self, os, sizeof os));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        s_set_error(self, "cannot resolve the HMC host name '%s': %s", self->host, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t connected_us = 0;
        curl_easy_getinfo(self->curl, CURLINFO_CONNECT_TIME_T, &connected_us);
        if (connected_us == 0)
            s_set_error(self, "cannot connect to %s:%d within %ld ms (no answer: host down or "
                              "port filtered?)", self->host, self->port, self->connect_timeout_ms);
        else
            s_set_error(self, "no answer from %s within %ld ms (%s %s)", self->base,
                        self->timeout_ms, req->method, req->path);
        break;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
        s_set_error(self, "TLS: certificate verify failed for %s: %s (use --ca-file with the "
                          "HMC's certificate)", self->base, detail);
        break;
    case CURLE_SSL_CACERT_BADFILE:
        s_set_error(self, "TLS: cannot use the CA file %s: %s",
                    self->ca_file ? self->ca_file : "(system CAs)", detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
        s_set_error(self, "TLS: handshake with %s failed: %s", self->base, detail);
        break;
    case CURLE_WRITE_ERROR:
        if (self->body_overflow) {
            s_set_error(self, "answer of the HMC to %s %s is larger than %zu bytes: refused",
                        req->method, req->path, self->max_body);
            break;
        }
        //  fall through
    default:
        s_set_error(self, "%s %s%s failed: %s", req->method, self->base, req->path, detail);
        break;
    }
}

//  Perform req, falling back once to the fallback port when allowed. 0 when
//  an HTTP answer arrived (any status), -1 with the error set otherwise.
static int s_transport(hmc_session_t *self, const s_req_t *req)
{
    CURLcode cc = s_perform(self, req);
    if (cc == CURLE_COULDNT_CONNECT && !self->explicit_port && !self->port_settled
        && self->fallback_port > 0 && self->port == self->primary_port
        && self->fallback_port != self->primary_port) {
        char first[128];
        s_os_error(self, first, sizeof first);
        log_info("HMC %s: %s; trying port %d (HMC V10 and earlier)", self->base, first,
                 self->fallback_port);
        self->port = self->fallback_port;
        s_set_base(self);
        cc = s_perform(self, req);
        if (cc == CURLE_COULDNT_CONNECT) {
            char second[128];
            s_set_error(self, "cannot connect to %s:%d and :%d: %s", self->host,
                        self->primary_port, self->fallback_port,
                        s_os_error(self, second, sizeof second));
            self->port = self->primary_port;
            s_set_base(self);
            return -1;
        }
        if (cc != CURLE_OK) {
            s_curl_error(self, req, cc);
            self->port = self->primary_port;
            s_set_base(self);
            return -1;
        }
        log_info("HMC %s answers: using it for this session", self->base);
    }
    if (cc != CURLE_OK) {
        s_curl_error(self, req, cc);
        return -1;
    }
    self->port_settled = true;
    return 0;
}

//  Error for an answer outside 2xx: the HMC's HttpErrorResponse Message when
//  the body holds one, else the status line. what: "GET /path" style prefix.
static void s_http_error(hmc_session_t *self, const char *what)
{
    hmc_http_error_t herr;
    hmc_xml_diag_t diag = {0};
    const char *reason = s_reason(self->status);
    if (self->body_len > 0
        && hmc_parse_http_error(self->body, self->body_len, &herr, &diag) == 0) {
        const char *text = herr.message[0] ? herr.message : herr.reason_code;
        s_set_error(self, "%s: HTTP %ld%s%s: %s", what, self->status, reason[0] ? " " : "",
                    reason, text[0] ? text : "(no message)");
        return;
    }
    s_set_error(self, "%s: HTTP %ld%s%s", what, self->status, reason[0] ? " " : "", reason);
}

static int s_logon(hmc_session_t *self);

//  Perform req with the 401 rule: one new logon and one retry, never more.
//  0 when an answer arrived (any status; see s_expect_2xx), -1 with the error.
static int s_call(hmc_session_t *self, const s_req_t *req)
{
    if (s_transport(self, req) != 0)
        return -1;
    if (self->status != 401 || req->no_relogon)
        return 0;
    log_info("HMC %s: %s %s answered 401 (session expired?): logging on again", self->base,
             req->method, req->path);
    if (s_logon(self) != 0)
        return -1;
    if (s_transport(self, req) != 0)
        return -1;
    if (self->status == 401) {
        char what[600];
        snprintf(what, sizeof what, "%s %s (still 401 after a new logon; not retried)",
                 req->method, req->path);
        s_http_error(self, what);
        return -1;
    }
    return 0;
}

static int s_expect_2xx(hmc_session_t *self, const s_req_t *req)
{
    if (self->status >= 200 && self->status < 300)
        return 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s", req->method, req->path);
    s_http_error(self, what);
    return -1;
}

static void s_log_warnings(hmc_session_t *self, const char *path, const hmc_xml_diag_t *diag)
{
    if (diag->warnings > 0)
        log_warn("HMC %s%s: %d odd field(s), first: %s", self->base, path, diag->warnings,
                 diag->warning);
}

// ------------------------------------------------------------------ logon

static int s_logon(hmc_session_t *self)
{
    s_free_secret(&self->token);
    char err[256];
    char *body = hmc_build_logon_request(self->user, self->password, err, sizeof err);
    if (!body) {
        s_set_error(self, "logon: %s", err);
        return -1;
    }
    s_req_t req = {.method = "PUT", .path = S_LOGON_PATH, .content_type = S_TYPE_LOGON_REQUEST,
                   .accept = S_TYPE_LOGON_RESPONSE, .body = body, .body_len = strlen(body),
                   .no_token = true, .no_relogon = true};
    int rc = s_call(self, &req);
    s_wipe(body, strlen(body));
    free(body);
    char user[80];
    s_shown(self->user, user, sizeof user);
    if (rc != 0)
        return -1;      // the transport message names the HMC already
    if (self->status == 401 || self->status == 403) {
        char what[512];
        snprintf(what, sizeof what, "logon to %s as %s refused (wrong user name or password?)",
                 self->base, user);
        s_http_error(self, what);
        s_body_reset(self, true);
        return -1;
    }
    if (self->status < 200 || self->status >= 300) {
        char what[512];
        snprintf(what, sizeof what, "logon to %s as %s failed", self->base, user);
        s_http_error(self, what);
        s_body_reset(self, true);
        return -1;
    }
    hmc_xml_diag_t diag = {0};
    self->token = hmc_parse_logon_response(self->body, self->body_len, &diag);
    s_body_reset(self, true);
    if (!self->token) {
        s_set_error(self, "logon to %s as %s: unusable LogonResponse: %s", self->base, user,
                    diag.error);
        return -1;
    }
    log_debug("HMC %s: logged on as %s", self->base, user);
    return 0;
}

int hmc_logon(hmc_session_t *self)
{
    return s_logon(self);
}

int hmc_logoff(hmc_session_t *self)
{
    if (!self->token)
        return 0;
    s_req_t req = {.method = "DELETE", .path = S_LOGON_PATH, .no_relogon = true};
    int rc = s_call(self, &req);
    if (rc == 0 && self->status != 401)
        rc = s_expect_2xx(self, &req);
    s_free_secret(&self->token);
    if (rc == 0)
        log_debug("HMC %s: logged off", self->base);
    return rc;
}

// ------------------------------------------------------------------ inventory

//  GET path (Accept: Atom). 0 with the body in self->body (empty on 204).
static int s_get(hmc_session_t *self, const char *path)
{
    s_req_t req = {.method = "GET", .path = path, .accept = S_TYPE_ATOM};
    if (s_call(self, &req) != 0 || s_expect_2xx(self, &req) != 0)
        return -1;
    if (self->status == 204)
        s_body_reset(self, false);
    return 0;
}

static int s_fetch_systems(hmc_session_t *self, const char *path, hmc_system_t **systems_p,
                           size_t *count_p)
{
    *systems_p = NULL;
    *count_p = 0;
    if (s_get(self, path) != 0)
        return -1;
    if (self->body_len == 0)
        return 0;
    hmc_xml_diag_t diag = {0};
    if (hmc_parse_systems(self->body, self->body_len, systems_p, count_p, &diag) != 0) {
        s_set_error(self, "GET %s: unusable answer: %s", path, diag.error);
        return -1;
    }
    s_log_warnings(self, path, &diag);
    return 0;
}

static int s_fetch_partitions(hmc_session_t *self, const char *path,
                              hmc_partition_t **partitions_p, size_t *count_p)
{
    *partitions_p = NULL;
    *count_p = 0;
    if (s_get(self, path) != 0)
        return -1;
    if (self->body_len == 0)
        return 0;
    hmc_xml_diag_t diag = {0};
    if (hmc_parse_partitions(self->body, self->body_len, partitions_p, count_p, &diag) != 0) {
        s_set_error(self, "GET %s: unusable answer: %s", path, diag.error);
        return -1;
    }
    s_log_warnings(self, path, &diag);
    return 0;
}

static int s_check_uuid(hmc_session_t *self, const char *what, const char *uuid)
{
    if (hmc_uuid_valid(uuid))
        return 0;
    char shown[80];
    s_set_error(self, "invalid %s UUID '%s'", what, s_shown(uuid, shown, sizeof shown));
    return -1;
}

int hmc_list_systems(hmc_session_t *self, hmc_system_t **systems_p, size_t *count_p)
{
    return s_fetch_systems(self, "/rest/api/uom/ManagedSystem", systems_p, count_p);
}

int hmc_get_system(hmc_session_t *self, const char *uuid, hmc_system_t *system)
{
    if (s_check_uuid(self, "managed system", uuid) != 0)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "/rest/api/uom/ManagedSystem/%s", uuid);
    hmc_system_t *list = NULL;
    size_t count = 0;
    if (s_fetch_systems(self, path, &list, &count) != 0)
        return -1;
    if (count == 0) {
        s_set_error(self, "GET %s: no ManagedSystem in the answer", path);
        return -1;
    }
    *system = list[0];
    free(list);
    return 0;
}

//  "/rest/api/uom/TYPE/search/(KEY=='VALUE')" with VALUE URL-encoded.
static int s_search_path(hmc_session_t *self, const char *type, const char *key,
                         const char *value, char *path, size_t size)
{
    char *escaped = curl_easy_escape(self->curl, value, 0);
    if (!escaped) {
        s_set_error(self, "out of memory");
        return -1;
    }
    int n = snprintf(path, size, "/rest/api/uom/%s/search/(%s=='%s')", type, key, escaped);
    curl_free(escaped);
    if (n < 0 || (size_t) n >= size) {
        s_set_error(self, "search path too long");
        return -1;
    }
    return 0;
}

int hmc_find_system(hmc_session_t *self, const char *name, hmc_system_t *system, bool *found)
{
    *found = false;
    char shown[80];
    if (!name_valid(NAME_SYSTEM, name)) {
        s_set_error(self, "invalid managed system name '%s'", s_shown(name, shown, sizeof shown));
        return -1;
    }
    char path[512];
    if (s_search_path(self, "ManagedSystem", "SystemName", name, path, sizeof path) != 0)
        return -1;
    hmc_system_t *list = NULL;
    size_t count = 0;
    if (s_fetch_systems(self, path, &list, &count) != 0)
        return -1;
    for (size_t i = 0; i < count && !*found; i++)
        if (strcmp(list[i].name, name) == 0) {
            *system = list[i];
            *found = true;
        }
    free(list);
    return 0;
}

int hmc_list_partitions(hmc_session_t *self, const char *system_uuid,
                        hmc_partition_t **partitions_p, size_t *count_p)
{
    *partitions_p = NULL;
    *count_p = 0;
    char path[160] = "/rest/api/uom/LogicalPartition";
    if (system_uuid) {
        if (s_check_uuid(self, "managed system", system_uuid) != 0)
            return -1;
        snprintf(path, sizeof path, "/rest/api/uom/ManagedSystem/%s/LogicalPartition",
                 system_uuid);
    }
    return s_fetch_partitions(self, path, partitions_p, count_p);
}

int hmc_get_partition(hmc_session_t *self, const char *uuid, hmc_partition_t *partition)
{
    if (s_check_uuid(self, "partition", uuid) != 0)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s", uuid);
    hmc_partition_t *list = NULL;
    size_t count = 0;
    if (s_fetch_partitions(self, path, &list, &count) != 0)
        return -1;
    if (count == 0) {
        s_set_error(self, "GET %s: no LogicalPartition in the answer", path);
        return -1;
    }
    *partition = list[0];
    free(list);
    return 0;
}

int hmc_find_partition(hmc_session_t *self, const char *name, hmc_partition_t *partition,
                       bool *found)
{
    *found = false;
    char shown[80];
    if (!name_valid(NAME_PARTITION, name)) {
        s_set_error(self, "invalid partition name '%s'", s_shown(name, shown, sizeof shown));
        return -1;
    }
    char path[512];
    if (s_search_path(self, "LogicalPartition", "PartitionName", name, path, sizeof path) != 0)
        return -1;
    hmc_partition_t *list = NULL;
    size_t count = 0;
    if (s_fetch_partitions(self, path, &list, &count) != 0)
        return -1;
    for (size_t i = 0; i < count && !*found; i++)
        if (strcmp(list[i].name, name) == 0) {
            *partition = list[i];
            *found = true;
        }
    free(list);
    return 0;
}

// ------------------------------------------------------------------ job parameters

static bool s_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

//  1..max bytes, each alphanumeric or one of extra.
static bool s_chars(const char *v, size_t max, const char *extra)
{
    size_t len = strnlen(v, max + 1);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_alnum(v[i]) && !strchr(extra, v[i]))
            return false;
    return true;
}

static bool s_ipv6(const char *v)
{
    return strchr(v, ':') && s_chars(v, 45, ":.");
}

static bool s_address(const char *v)
{
    return name_valid(NAME_HOST, v) || s_ipv6(v);
}

//  "a,b,c" of addresses.
static bool s_address_list(const char *v)
{
    size_t len = strnlen(v, 1025);
    if (len == 0 || len > 1024)
        return false;
    char copy[1025];
    memcpy(copy, v, len + 1);
    char *save = NULL;
    int n = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save), n++)
        if (!s_address(item))
            return false;
    return n > 0 && v[0] != ',' && v[len - 1] != ',' && !strstr(v, ",,");
}

typedef enum {
    S_P_SYSTEM, S_P_PARTITION, S_P_HOST, S_P_USER, S_P_HOSTS, S_P_NUMBER, S_P_MAPPING, S_P_BOOL,
} s_param_kind_t;

static const struct {
    const char *name;
    s_param_kind_t kind;
    const char *what;
} s_params[] = {
    {"TargetManagedSystemName", S_P_SYSTEM, "a managed system name"},
    {"SharedProcPoolName", S_P_SYSTEM, "a shared processor pool name"},
    {"TargetProfileName", S_P_PARTITION, "a profile name"},
    {"TargetRemoteHMCIPAddress", S_P_HOST, "a host name or IP address"},
    {"TargetRemoteHMCUserID", S_P_USER, "an HMC user name"},
    {"SourceMSPIPaddr", S_P_HOSTS, "a comma-separated list of IP addresses"},
    {"DestMSPIPaddr", S_P_HOSTS, "a comma-separated list of IP addresses"},
    {"DestinationLparID", S_P_NUMBER, "a number"},
    {"SharedProcPoolID", S_P_NUMBER, "a number"},
    {"WaitTime", S_P_NUMBER, "a number"},
    {"RedundantVIOS", S_P_NUMBER, "a number"},
    {"MultipathIOOverride", S_P_NUMBER, "a number"},
    {"VLANBridgeOverride", S_P_NUMBER, "a number"},
    {"Affinity", S_P_NUMBER, "a number"},
    {"VirtualFCMappings", S_P_MAPPING, "a mapping list ([A-Za-z0-9_./,:-])"},
    {"VirtualSCSIMappings", S_P_MAPPING, "a mapping list ([A-Za-z0-9_./,:-])"},
    {"VlanMappings", S_P_MAPPING, "a mapping list ([A-Za-z0-9_./,:-])"},
    {"Force", S_P_BOOL, "true or false"},
};

int hmc_job_param_check(const hmc_param_t *param, char *err, size_t errlen)
{
    char shown[80];
    if (!param || !param->name || !param->value) {
        snprintf(err, errlen, "job parameter without name or value");
        return -1;
    }
    const char *v = param->value;
    for (size_t i = 0; i < sizeof s_params / sizeof s_params[0]; i++) {
        if (strcmp(param->name, s_params[i].name) != 0)
            continue;
        bool ok = false;
        switch (s_params[i].kind) {
        case S_P_SYSTEM: ok = name_valid(NAME_SYSTEM, v); break;
        case S_P_PARTITION: ok = name_valid(NAME_PARTITION, v); break;
        case S_P_HOST: ok = s_address(v); break;
        case S_P_USER: ok = s_chars(v, 32, "_.-") && v[0] != '-'; break;
        case S_P_HOSTS: ok = s_address_list(v); break;
        case S_P_NUMBER: ok = s_chars(v, 9, "") && strspn(v, "0123456789") == strlen(v); break;
        case S_P_MAPPING: ok = s_chars(v, 2048, "_./,:-"); break;
        case S_P_BOOL: ok = strcmp(v, "true") == 0 || strcmp(v, "false") == 0; break;
        }
        if (!ok) {
            snprintf(err, errlen, "job parameter %s: '%s' is not %s", param->name,
                     s_shown(v, shown, sizeof shown), s_params[i].what);
            return -1;
        }
        return 0;
    }
    if (!s_chars(param->name, 64, "_") || !((param->name[0] >= 'A' && param->name[0] <= 'Z')
                                            || (param->name[0] >= 'a' && param->name[0] <= 'z'))) {
        snprintf(err, errlen, "job parameter name '%s' is not [A-Za-z][A-Za-z0-9_]{0,63}",
                 s_shown(param->name, shown, sizeof shown));
        return -1;
    }
    if (!s_chars(v, 256, "_.:/@+-")) {
        snprintf(err, errlen, "job parameter %s: '%s' holds characters other than "
                              "[A-Za-z0-9_.:/@+-] (or is empty or too long)",
                 param->name, s_shown(v, shown, sizeof shown));
        return -1;
    }
    return 0;
}

// ------------------------------------------------------------------ jobs

const char *hmc_job_op_name(hmc_job_op_t op)
{
    switch (op) {
    case HMC_OP_MIGRATE_VALIDATE: return "MigrateValidate";
    case HMC_OP_MIGRATE: return "Migrate";
    case HMC_OP_MIGRATE_RECOVER: return "MigrateRecover";
    case HMC_OP_MIGRATE_ABORT: return "MigrateAbort";
    }
    return NULL;
}

static int s_check_job_id(hmc_session_t *self, const char *job_id)
{
    if (hmc_job_id_valid(job_id))
        return 0;
    char shown[80];
    s_set_error(self, "invalid job id '%s'", s_shown(job_id, shown, sizeof shown));
    return -1;
}

int hmc_job_submit(hmc_session_t *self, const char *partition_uuid, hmc_job_op_t op,
                   const hmc_param_t *params, size_t count, char *job_id, size_t job_id_size)
{
    if (job_id_size)
        job_id[0] = '\0';
    const char *op_name = hmc_job_op_name(op);
    if (!op_name) {
        s_set_error(self, "unknown job operation %d", (int) op);
        return -1;
    }
    if (s_check_uuid(self, "partition", partition_uuid) != 0)
        return -1;
    char err[256];
    for (size_t i = 0; i < count; i++)
        if (hmc_job_param_check(&params[i], err, sizeof err) != 0) {
            s_set_error(self, "%s refused before submission: %s", op_name, err);
            return -1;
        }
    char *body = hmc_build_job_request(op_name, "LogicalPartition", params, count, err, sizeof err);
    if (!body) {
        s_set_error(self, "%s: %s", op_name, err);
        return -1;
    }
    char path[160];
    snprintf(path, sizeof path, "/rest/api/uom/LogicalPartition/%s/do/%s", partition_uuid,
             op_name);
    s_req_t req = {.method = "PUT", .path = path, .content_type = S_TYPE_JOB_REQUEST,
                   .accept = S_TYPE_ATOM, .body = body, .body_len = strlen(body)};
    int rc = s_call(self, &req);
    free(body);
    if (rc != 0 || s_expect_2xx(self, &req) != 0)
        return -1;
    hmc_job_status_t job;
    hmc_xml_diag_t diag = {0};
    if (hmc_parse_job_response(self->body, self->body_len, &job, &diag) != 0) {
        s_set_error(self, "PUT %s: unusable JobResponse: %s", path, diag.error);
        return -1;
    }
    if (!job.job_id[0] || strlen(job.job_id) >= job_id_size) {
        s_set_error(self, "PUT %s: the JobResponse carries no usable JobID", path);
        hmc_job_status_clear(&job);
        return -1;
    }
    snprintf(job_id, job_id_size, "%s", job.job_id);
    log_info("HMC %s: %s of partition %s submitted as job %s (%s)", self->base, op_name,
             partition_uuid, job.job_id, job.status[0] ? job.status : "no status yet");
    hmc_job_status_clear(&job);
    return 0;
}

int hmc_job_poll(hmc_session_t *self, const char *job_id, hmc_job_status_t *status)
{
    memset(status, 0, sizeof *status);
    if (s_check_job_id(self, job_id) != 0)
        return -1;
    char path[96];
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", job_id);
    if (s_get(self, path) != 0)
        return -1;
    hmc_xml_diag_t diag = {0};
    if (hmc_parse_job_response(self->body, self->body_len, status, &diag) != 0) {
        s_set_error(self, "GET %s: unusable JobResponse: %s", path, diag.error);
        return -1;
    }
    s_log_warnings(self, path, &diag);
    return 0;
}

int hmc_job_delete(hmc_session_t *self, const char *job_id)
{
    if (s_check_job_id(self, job_id) != 0)
        return -1;
    char path[96];
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s", job_id);
    s_req_t req = {.method = "DELETE", .path = path, .accept = S_TYPE_ATOM};
    if (s_call(self, &req) != 0)
        return -1;
    if (self->status == 404)
        return 0;
    return s_expect_2xx(self, &req);
}

int hmc_job_cancel(hmc_session_t *self, const char *job_id)
{
    if (s_check_job_id(self, job_id) != 0)
        return -1;
    char path[96];
    snprintf(path, sizeof path, "/rest/api/uom/jobs/%s/cancel", job_id);
    s_req_t req = {.method = "POST", .path = path, .accept = S_TYPE_ATOM};
    if (s_call(self, &req) != 0)
        return -1;
    return s_expect_2xx(self, &req);
}
