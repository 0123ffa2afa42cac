/*  ferryctl — the operator CLI over the collector's HTTP API (collector/http/api.h).

    ferryctl [--url URL] [--token-file FILE] [--json] COMMAND
      plan submit FILE | plan list | plan show ID | plan start ID |
      plan pause ID | plan abort ID | plan report ID | agents

    URL defaults to http://127.0.0.1:8080; the token file to $FERRY_TOKEN_FILE,
    else /etc/ferry/api.token (its first line is the bearer token; it is never
    printed; a file others can read is refused, an operators' group may).
    Human output is aligned tables; --json prints the API's JSON. A time,
    duration or outage never measured prints "-", and report's summary is of
    the measured ones only.
    Exit codes: 0 ok, 1 API / HTTP error (the server's message on stderr),
    2 usage. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_DEFAULT_URL "http://127.0.0.1:8080"
#define S_DEFAULT_TOKEN_FILE "/etc/ferry/api.token"
#define S_MAX_BODY (1024 * 1024)
#define S_TIMEOUT_S 30
#define S_TABLE_COLS 12

enum { S_OK = 0, S_API = 1, S_USAGE = 2 };

typedef struct {
    const char *url;            // base URL, no trailing slash needed
    const char *token_file;
    bool json;                  // print raw JSON
    char token[512];            // secret: never printed
} s_ctx_t;

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void s_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ferryctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int s_usage(void)
{
    fputs("usage: ferryctl [--url URL] [--token-file FILE] [--json] COMMAND\n"
          "  plan submit FILE     submit a plan document (JSON)\n"
          "  plan list            list plans\n"
          "  plan show ID         a plan and its moves\n"
          "  plan start ID        start or resume a plan\n"
          "  plan pause ID        pause a plan (moves in flight finish)\n"
          "  plan abort ID        abort a plan\n"
          "  plan report ID       per-partition report and Table 1 summary\n"
          "  agents               list agents\n"
          "  hmc                  the configured HMCs: reachable or not, since when, last error\n"
          "URL defaults to " S_DEFAULT_URL "; FILE to $FERRY_TOKEN_FILE or " S_DEFAULT_TOKEN_FILE
          ".\n",
          stderr);
    return S_USAGE;
}

// ------------------------------------------------------------------ table

typedef struct {
    size_t cols;
    size_t rows;
    char **cells;               // rows * cols strings, owned
    bool right[S_TABLE_COLS];   // right-aligned columns (numbers)
} s_table_t;

static void s_table_row(s_table_t *t, const char *const *values)
{
    char **grown = realloc(t->cells, (t->rows + 1) * t->cols * sizeof *grown);
    if (!grown) {
        s_fail("out of memory");
        exit(S_API);
    }
    t->cells = grown;
    for (size_t c = 0; c < t->cols; c++)
        t->cells[t->rows * t->cols + c] = strdup(values[c] ? values[c] : "-");
    t->rows++;
}

static void s_table_print(s_table_t *t)
{
    size_t width[S_TABLE_COLS] = {0};
    for (size_t i = 0; i < t->rows * t->cols; i++) {
        size_t len = t->cells[i] ? strlen(t->cells[i]) : 0;
        if (len > width[i % t->cols])
            width[i % t->cols] = len;
    }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * t->cols + c] ? t->cells[r * t->cols + c] : "";
            bool last = c + 1 == t->cols;
            if (t->right[c])
                printf("%*s", (int) width[c], cell);
            else if (last)
                printf("%s", cell);
            else
                printf("%-*s", (int) width[c], cell);
            if (!last)
                fputs("  ", stdout);
        }
        fputc('\n', stdout);
    }
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->rows = 0;
}

// ------------------------------------------------------------------ formats

static const char *s_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

//  Integer member as text, "-" when absent or null.
static const char *s_int(const json_t *obj, const char *key, char *buf, size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return "-";
    snprintf(buf, size, "%lld", (long long) json_integer_value(v));
    return buf;
}

//  A wall clock time (ms) as UTC; "-" when absent, null or 0 (the planner
//  stores 0 for "not yet").
static const char *s_time(const json_t *obj, const char *key, char *buf, size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return "-";
    time_t secs = (time_t) (json_integer_value(v) / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return "-";
    strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

//  ms as "812 ms", "1.5 s" or "5m 00s"; "-" when negative (not measured).
static const char *s_duration(int64_t ms, char *buf, size_t size)
{
    if (ms < 0)
        return "-";
    if (ms < 1000)
        snprintf(buf, size, "%lld ms", (long long) ms);
    else if (ms < 60000)
        snprintf(buf, size, "%.1f s", (double) ms / 1000.0);
    else
        snprintf(buf, size, "%lldm %02llds", (long long) (ms / 60000),
                 (long long) (ms % 60000 / 1000));
    return buf;
}

//  "A -> B -> C" from a route array.
static const char *s_route(const json_t *route, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t used = 0;
    size_t i;
    json_t *hop;
    json_array_foreach(route, i, hop) {
        const char *name = json_string_value(hop);
        int n = snprintf(buf + used, size - used, "%s%s", i ? " -> " : "", name ? name : "?");
        if (n < 0 || (size_t) n >= size - used)
            break;
        used += (size_t) n;
    }
    return buf[0] ? buf : "-";
}

//  Checks are [[{name, ok, detail}, ...] per hop]: count every object with a
//  boolean "ok" (or "passed"), wherever it sits.
static void s_count_checks(const json_t *v, int *passed, int *total)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            s_count_checks(item, passed, total);
    }
    else if (json_is_object(v)) {
        json_t *ok = json_object_get(v, "ok");
        if (!json_is_boolean(ok))
            ok = json_object_get(v, "passed");
        if (json_is_boolean(ok)) {
            (*total)++;
            *passed += json_is_true(ok);
        }
    }
}

//  A measured outage in ms; "-" when absent, null or negative: never
//  measured (a move blocked before its first hop).
static int64_t s_outage_ms(const json_t *move)
{
    json_t *v = json_object_get(move, "outage_ms");
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t) json_integer_value(v) : -1;
}

static const char *s_outage(const json_t *move, char *buf, size_t size)
{
    int64_t ms = s_outage_ms(move);
    if (ms < 0)
        return "-";
    snprintf(buf, size, "%lld", (long long) ms);
    return buf;
}

// ------------------------------------------------------------------ HTTP

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t s_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_buf_t *buf = userdata;
    size_t n = size * nmemb;
    if (buf->len + n > 16 * S_MAX_BODY)
        return 0;
    char *grown = realloc(buf->data, buf->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + buf->len, ptr, n);
    buf->data = grown;
    buf->len += n;
    buf->data[buf->len] = '\0';
    return n;
}

//  The token is the API's only credential. Its file may be shared with an
//  operators' group (0640), not with everyone: such a file is refused, as sshd
//  refuses an open private key, rather than used and the secret left out.
static int s_read_token(s_ctx_t *ctx)
{
    FILE *file = fopen(ctx->token_file, "r");
    if (!file) {
        s_fail("token file %s: %s", ctx->token_file, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        s_fail("token file %s: not a regular file", ctx->token_file);
        fclose(file);
        return -1;
    }
    if (st.st_mode & 007) {
        s_fail("token file %s is %s by others (mode %04o): chmod o-rwx %s", ctx->token_file,
               st.st_mode & 004 ? "readable" : "accessible", (unsigned) (st.st_mode & 07777),
               ctx->token_file);
        fclose(file);
        return -1;
    }
    bool got = fgets(ctx->token, sizeof ctx->token, file) != NULL;
    fclose(file);
    size_t len = got ? strlen(ctx->token) : 0;
    while (len > 0 && strchr("\r\n \t", ctx->token[len - 1]))
        ctx->token[--len] = '\0';
    if (len == 0) {
        s_fail("token file %s: the first line is empty", ctx->token_file);
        return -1;
    }
    return 0;
}

//  method path [body] -> the parsed reply (new reference) in *reply and the
//  raw text in *raw (caller frees). Returns 0 on a 2xx answer, else -1 after
//  printing the server's message.
static int s_call(s_ctx_t *ctx, const char *method, const char *path, const char *body,
                  json_t **reply, char **raw)
{
    int rc = -1;
    *reply = NULL;
    *raw = NULL;
    s_buf_t buf = {NULL, 0};
    struct curl_slist *headers = NULL;
    char url[2048];
    size_t base = strlen(ctx->url);
    while (base > 0 && ctx->url[base - 1] == '/')
        base--;
    snprintf(url, sizeof url, "%.*s%s", (int) base, ctx->url, path);

    CURL *curl = curl_easy_init();
    if (!curl) {
        s_fail("cannot initialise libcurl");
        return -1;
    }
    char auth[600];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", ctx->token);
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long) S_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
    }
    CURLcode code = curl_easy_perform(curl);
    explicit_bzero(auth, sizeof auth);
    if (code != CURLE_OK) {
        s_fail("cannot reach the collector API at %s: %s", ctx->url,
               errbuf[0] ? errbuf : curl_easy_strerror(code));
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    *reply = buf.data ? json_loads(buf.data, JSON_DECODE_ANY, NULL) : NULL;
    if (status < 200 || status > 299) {
        const char *msg = s_str(*reply, "error");
        s_fail("%s %s: HTTP %ld: %s", method, path, status,
               msg ? msg : (buf.data && buf.data[0] ? buf.data : "no message"));
        goto done;
    }
    if (!*reply) {
        s_fail("%s %s: the answer is not JSON", method, path);
        goto done;
    }
    *raw = buf.data;
    buf.data = NULL;
    rc = 0;
done:
    if (rc != 0) {
        json_decref(*reply);
        *reply = NULL;
    }
    free(buf.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

// ------------------------------------------------------------------ commands

static int s_print_raw(const char *raw)
{
    size_t len = strlen(raw);
    fputs(raw, stdout);
    if (len == 0 || raw[len - 1] != '\n')
        fputc('\n', stdout);
    return S_OK;
}

static int s_agents(s_ctx_t *ctx)
{
    json_t *reply;
    char *raw;
    if (s_call(ctx, "GET", "/api/v1/agents", NULL, &reply, &raw) != 0)
        return S_API;
    if (ctx->json) {
        s_print_raw(raw);
    }
    else {
        s_table_t t = {.cols = 8, .right = {[0] = true, [7] = true}};
        s_table_row(&t, (const char *const[]){"ID", "HOSTNAME", "PARTITION", "SERIAL",
                                              "OS LEVEL", "PLATFORM", "LAST SEEN", "ACKED"});
        size_t i;
        json_t *a;
        json_array_foreach(reply, i, a) {
            char id[32], seen[40], acked[32];
            s_table_row(&t, (const char *const[]){
                                s_int(a, "id", id, sizeof id), s_str(a, "hostname"),
                                s_str(a, "partition"), s_str(a, "serial"), s_str(a, "os_level"),
                                s_str(a, "platform"), s_time(a, "last_seen_ms", seen, sizeof seen),
                                s_int(a, "acked_seq", acked, sizeof acked)});
        }
        s_table_print(&t);
    }
    json_decref(reply);
    free(raw);
    return S_OK;
}

//  A time member, "-" when absent, null or 0 (never).
static const char *s_time_or_never(const json_t *obj, const char *key, char *buf, size_t size)
{
    return json_integer_value(json_object_get(obj, key)) > 0 ? s_time(obj, key, buf, size) : "-";
}

static int s_hmcs(s_ctx_t *ctx)
{
    json_t *reply;
    char *raw;
    if (s_call(ctx, "GET", "/api/v1/hmcs", NULL, &reply, &raw) != 0)
        return S_API;
    json_t *hmcs = json_object_get(reply, "hmcs");
    if (ctx->json)
        s_print_raw(raw);
    else if (json_array_size(hmcs) == 0)
        puts("no HMC is configured ([hmc] sections of the collector configuration)");
    else {
        s_table_t t = {.cols = 8, .right = {[5] = true, [6] = true}};
        s_table_row(&t, (const char *const[]){"NAME", "URL", "STATE", "SINCE", "LAST SUCCESS",
                                              "SYSTEMS", "LPARS", "LAST ERROR"});
        size_t i;
        json_t *h;
        json_array_foreach(hmcs, i, h) {
            char since[40], ok[40], systems[24], lpars[24];
            bool failing = s_str(h, "state") && (strcmp(s_str(h, "state"), "unreachable") == 0
                                                 || strcmp(s_str(h, "state"), "refused") == 0);
            s_table_row(&t, (const char *const[]){
                                s_str(h, "name"), s_str(h, "url"), s_str(h, "state"),
                                s_time_or_never(h, "since_ms", since, sizeof since),
                                s_time_or_never(h, "last_ok_ms", ok, sizeof ok),
                                s_int(h, "systems", systems, sizeof systems),
                                s_int(h, "partitions", lpars, sizeof lpars),
                                //  An old error of an HMC that answers now is history: shown
                                //  only while it fails.
                                failing ? s_str(h, "last_error") : "-"});
        }
        s_table_print(&t);
    }
    json_decref(reply);
    free(raw);
    return S_OK;
}

static int s_plan_list(s_ctx_t *ctx)
{
    json_t *reply;
    char *raw;
    if (s_call(ctx, "GET", "/api/v1/plans", NULL, &reply, &raw) != 0)
        return S_API;
    if (ctx->json) {
        s_print_raw(raw);
    }
    else {
        s_table_t t = {.cols = 11,
                       .right = {[0] = true, [4] = true, [5] = true, [6] = true, [7] = true,
                                 [8] = true, [9] = true}};
        s_table_row(&t, (const char *const[]){"ID", "NAME", "HMC", "STATE", "MOVES", "PENDING",
                                              "RUNNING", "VERIFIED", "FAILED", "BLOCKED",
                                              "CREATED"});
        size_t i;
        json_t *p;
        json_array_foreach(reply, i, p) {
            json_t *m = json_object_get(p, "moves");
            char id[32], n[6][32], created[40];
            s_table_row(&t, (const char *const[]){
                                s_int(p, "id", id, sizeof id), s_str(p, "name"), s_str(p, "hmc"),
                                s_str(p, "state"), s_int(m, "total", n[0], sizeof n[0]),
                                s_int(m, "pending", n[1], sizeof n[1]),
                                s_int(m, "running", n[2], sizeof n[2]),
                                s_int(m, "verified", n[3], sizeof n[3]),
                                s_int(m, "failed", n[4], sizeof n[4]),
                                s_int(m, "blocked", n[5], sizeof n[5]),
                                s_time(p, "created_ms", created, sizeof created)});
        }
        s_table_print(&t);
    }
    json_decref(reply);
    free(raw);
    return S_OK;
}

//  Milliseconds from one wall clock time to another; -1 (not measured) when
//  either is absent, null or 0: a move blocked before it started has
//  started_ms 0 and a real finished_ms, not a 56-year run.
static int64_t s_ms_between(const json_t *obj, const char *from, const char *to)
{
    json_t *a = json_object_get(obj, from);
    json_t *b = json_object_get(obj, to);
    if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) <= 0
        || json_integer_value(b) <= 0)
        return -1;
    int64_t d = (int64_t) (json_integer_value(b) - json_integer_value(a));
    return d >= 0 ? d : -1;
}

static void s_plan_header(const json_t *p)
{
    char id[32], t1[40], t2[40], t3[40];
    printf("plan %s  %s  (hmc %s)  state %s\n", s_int(p, "id", id, sizeof id),
           s_str(p, "name") ? s_str(p, "name") : "?", s_str(p, "hmc") ? s_str(p, "hmc") : "?",
           s_str(p, "state") ? s_str(p, "state") : "?");
    printf("created %s  started %s  finished %s\n", s_time(p, "created_ms", t1, sizeof t1),
           s_time(p, "started_ms", t2, sizeof t2), s_time(p, "finished_ms", t3, sizeof t3));
    const char *msg = s_str(p, "message");
    if (msg && msg[0])
        printf("message: %s\n", msg);
    fputc('\n', stdout);
}

static int s_plan_show(s_ctx_t *ctx, const char *path)
{
    json_t *reply;
    char *raw;
    if (s_call(ctx, "GET", path, NULL, &reply, &raw) != 0)
        return S_API;
    if (ctx->json) {
        s_print_raw(raw);
    }
    else {
        s_plan_header(reply);
        s_table_t t = {.cols = 8, .right = {[0] = true, [3] = true, [5] = true, [6] = true}};
        s_table_row(&t, (const char *const[]){"POS", "PARTITION", "ROUTE", "HOP", "STATE",
                                              "SUBMISSIONS", "OUTAGE MS", "MESSAGE"});
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(reply, "moves"), i, m) {
            char pos[32], route[512], hop[32], subs[32], outage[32];
            s_table_row(&t, (const char *const[]){
                                s_int(m, "position", pos, sizeof pos), s_str(m, "partition"),
                                s_route(json_object_get(m, "route"), route, sizeof route),
                                s_int(m, "hop", hop, sizeof hop), s_str(m, "state"),
                                s_int(m, "submissions", subs, sizeof subs),
                                s_outage(m, outage, sizeof outage),
                                s_str(m, "message") && s_str(m, "message")[0] ? s_str(m, "message")
                                                                             : "-"});
        }
        s_table_print(&t);
    }
    json_decref(reply);
    free(raw);
    return S_OK;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

//  Nearest-rank median and maximum of values[0..n); -1 when n = 0.
static void s_stats(int64_t *values, size_t n, int64_t *p50, int64_t *max)
{
    *p50 = *max = -1;
    if (n == 0)
        return;
    qsort(values, n, sizeof *values, s_cmp_i64);
    *p50 = values[(n + 1) / 2 - 1];
    *max = values[n - 1];
}

static int s_plan_report(s_ctx_t *ctx, const char *path)
{
    json_t *reply;
    char *raw;
    if (s_call(ctx, "GET", path, NULL, &reply, &raw) != 0)
        return S_API;
    if (ctx->json) {
        s_print_raw(raw);
        json_decref(reply);
        free(raw);
        return S_OK;
    }
    json_t *moves = json_object_get(reply, "moves");
    size_t count = json_array_size(moves);
    int64_t *outages = calloc(count + 1, sizeof *outages);
    int64_t *durations = calloc(count + 1, sizeof *durations);
    if (!outages || !durations) {
        free(outages);
        free(durations);
        json_decref(reply);
        free(raw);
        s_fail("out of memory");
        return S_API;
    }
    size_t n_out = 0, n_dur = 0;
    long verified = 0, failed = 0, blocked = 0;

    s_plan_header(reply);
    s_table_t t = {.cols = 6, .right = {[2] = true, [3] = true, [4] = true}};
    s_table_row(&t, (const char *const[]){"PARTITION", "ROUTE", "DURATION", "OUTAGE MS",
                                          "CHECKS", "VERDICT"});
    size_t i;
    json_t *m;
    json_array_foreach(moves, i, m) {
        const char *state = s_str(m, "state") ? s_str(m, "state") : "?";
        verified += strcmp(state, "verified") == 0;
        failed += strcmp(state, "failed") == 0;
        blocked += strcmp(state, "blocked") == 0;
        int64_t duration = s_ms_between(m, "started_ms", "finished_ms");
        if (duration >= 0)
            durations[n_dur++] = duration;
        //  The summary is of what was measured: unmeasured moves are left out.
        int64_t outage = s_outage_ms(m);
        if (outage >= 0)
            outages[n_out++] = outage;
        int passed = 0, total = 0;
        s_count_checks(json_object_get(m, "checks"), &passed, &total);
        char route[512], dur[32], out[32], checks[32];
        snprintf(checks, sizeof checks, "%d/%d", passed, total);
        s_table_row(&t, (const char *const[]){
                            s_str(m, "partition"),
                            s_route(json_object_get(m, "route"), route, sizeof route),
                            s_duration(duration, dur, sizeof dur),
                            s_outage(m, out, sizeof out), checks, state});
    }
    s_table_print(&t);

    //  The paper's Table 1 (way / outage per partition), measured.
    int64_t out_p50, out_max, dur_p50, dur_max;
    s_stats(outages, n_out, &out_p50, &out_max);
    s_stats(durations, n_dur, &dur_p50, &dur_max);
    char c[9][32];
    snprintf(c[0], sizeof c[0], "%zu", count);
    snprintf(c[1], sizeof c[1], "%ld", verified);
    snprintf(c[2], sizeof c[2], "%ld", failed);
    snprintf(c[3], sizeof c[3], "%ld", blocked);
    fputc('\n', stdout);
    s_table_t s = {.cols = 9,
                   .right = {[1] = true, [2] = true, [3] = true, [4] = true, [5] = true,
                             [6] = true, [7] = true, [8] = true}};
    s_table_row(&s, (const char *const[]){"WAY", "MOVES", "VERIFIED", "FAILED", "BLOCKED",
                                          "OUTAGE P50", "OUTAGE MAX", "DURATION P50",
                                          "DURATION MAX"});
    s_table_row(&s, (const char *const[]){"LPM (paper)", "-", "-", "-", "-", "none", "none",
                                          "5-10 min", "5-10 min"});
    s_table_row(&s, (const char *const[]){"LPM (measured)", c[0], c[1], c[2], c[3],
                                          s_duration(out_p50, c[4], sizeof c[4]),
                                          s_duration(out_max, c[5], sizeof c[5]),
                                          s_duration(dur_p50, c[6], sizeof c[6]),
                                          s_duration(dur_max, c[7], sizeof c[7])});
    s_table_print(&s);
    free(outages);
    free(durations);
    json_decref(reply);
    free(raw);
    return S_OK;
}

static int s_plan_submit(s_ctx_t *ctx, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        s_fail("%s: %s", file, strerror(errno));
        return S_API;
    }
    char *body = malloc(S_MAX_BODY + 1);
    size_t len = body ? fread(body, 1, S_MAX_BODY + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!body || bad || len > S_MAX_BODY) {
        s_fail("%s: %s", file, !body ? "out of memory" : bad ? "read error" : "larger than 1 MiB");
        free(body);
        return S_API;
    }
    body[len] = '\0';
    json_t *reply;
    char *raw;
    int rc = s_call(ctx, "POST", "/api/v1/plans", body, &reply, &raw);
    free(body);
    if (rc != 0)
        return S_API;
    if (ctx->json)
        s_print_raw(raw);
    else {
        char id[32];
        printf("plan submitted: id %s\n", s_int(reply, "id", id, sizeof id));
        if (s_str(reply, "warning"))
            printf("warning: %s\n", s_str(reply, "warning"));
    }
    json_decref(reply);
    free(raw);
    return S_OK;
}

static int s_plan_action(s_ctx_t *ctx, const char *id, const char *action)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/plans/%s/%s", id, action);
    json_t *reply;
    char *raw;
    if (s_call(ctx, "POST", path, "{}", &reply, &raw) != 0)
        return S_API;
    if (ctx->json)
        s_print_raw(raw);
    else
        printf("plan %s: %s accepted\n", id, action);
    json_decref(reply);
    free(raw);
    return S_OK;
}

static bool s_is_id(const char *text)
{
    if (!text || *text < '1' || *text > '9' || strlen(text) > 18)
        return false;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int main(int argc, char *argv[])
{
    s_ctx_t ctx = {.url = S_DEFAULT_URL};
    ctx.token_file = getenv("FERRY_TOKEN_FILE");
    if (!ctx.token_file || !ctx.token_file[0])
        ctx.token_file = S_DEFAULT_TOKEN_FILE;
    const char *words[4] = {NULL};
    size_t n_words = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            ctx.json = true;
        else if (strcmp(a, "--url") == 0 && i + 1 < argc)
            ctx.url = argv[++i];
        else if (strncmp(a, "--url=", 6) == 0)
            ctx.url = a + 6;
        else if (strcmp(a, "--token-file") == 0 && i + 1 < argc)
            ctx.token_file = argv[++i];
        else if (strncmp(a, "--token-file=", 13) == 0)
            ctx.token_file = a + 13;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s_usage();
            return S_OK;
        }
        else if (a[0] == '-' && a[1]) {
            s_fail("unknown option %s", a);
            return s_usage();
        }
        else if (n_words < sizeof words / sizeof words[0])
            words[n_words++] = a;
        else
            return s_usage();
    }
    bool agents = n_words == 1 && strcmp(words[0], "agents") == 0;
    bool hmc = n_words == 1 && strcmp(words[0], "hmc") == 0;
    bool plan = n_words >= 2 && strcmp(words[0], "plan") == 0;
    const char *sub = plan ? words[1] : NULL;
    bool with_id = sub
                   && (strcmp(sub, "show") == 0 || strcmp(sub, "start") == 0
                       || strcmp(sub, "pause") == 0 || strcmp(sub, "abort") == 0
                       || strcmp(sub, "report") == 0);
    if (!agents && !hmc && !(plan && strcmp(sub, "list") == 0 && n_words == 2)
        && !(plan && strcmp(sub, "submit") == 0 && n_words == 3) && !(with_id && n_words == 3))
        return s_usage();
    if (with_id && !s_is_id(words[2])) {
        s_fail("plan id must be a positive number, not '%s'", words[2]);
        return S_USAGE;
    }
    if (s_read_token(&ctx) != 0)
        return S_API;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        s_fail("cannot initialise libcurl");
        return S_API;
    }
    int rc;
    char path[128];
    if (agents)
        rc = s_agents(&ctx);
    else if (hmc)
        rc = s_hmcs(&ctx);
    else if (strcmp(sub, "list") == 0)
        rc = s_plan_list(&ctx);
    else if (strcmp(sub, "submit") == 0)
        rc = s_plan_submit(&ctx, words[2]);
    else if (strcmp(sub, "show") == 0 || strcmp(sub, "report") == 0) {
        snprintf(path, sizeof path, "/api/v1/plans/%s", words[2]);
        rc = strcmp(sub, "show") == 0 ? s_plan_show(&ctx, path) : s_plan_report(&ctx, path);
    }
    else
        rc = s_plan_action(&ctx, words[2], sub);
    explicit_bzero(ctx.token, sizeof ctx.token);
    curl_global_cleanup();
    fflush(stdout);
    return rc;
}
