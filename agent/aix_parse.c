/*  aix_parse — pure parsers of AIX command output. Every line is first copied
    into a bounded buffer (so string functions never run past the input), and
    lines holding control or non-ASCII bytes are refused: with LANG=C the
    commands print ASCII only. Values are checked against strict patterns
    before they are kept; anything odd leaves the field unset plus a warning. */
#include "aix_parse.h"

#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LINE_MAX 1024           // longest line accepted; the outputs parsed here are < 200
#define S_TOKENS_MAX 32           // tokens kept per line
#define S_PARTITION_MAX 65535     // highest partition number accepted
#define S_COUNT_MAX (1ULL << 53)  // counts and sizes stay exact as JSON numbers
#define S_DECIMAL_DIGITS 15       // digits kept exactly by a double

// ---------------------------------------------------------------- warnings

void aix_warnings_init(aix_warnings_t *w)
{
    memset(w, 0, sizeof *w);
}

void aix_warn(aix_warnings_t *w, const char *fmt, ...)
{
    if (w->count >= AIX_WARNINGS_MAX) {
        w->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->items[w->count], AIX_WARNING_LEN, fmt, ap);
    va_end(ap);
    w->count++;
}

// ---------------------------------------------------------------- lists

//  Copy src into dst (size bytes) only when it fits, else -1 and dst is left
//  alone: the one copy into a field in this file, so no value is ever cut.
//  Where a pattern no longer than the field was checked first, -1 means the
//  two disagree (a bug); callers then refuse the value as if it were odd.
static int s_copy(char *dst, size_t size, const char *src)
{
    size_t len = strnlen(src, size);
    if (len >= size)
        return -1;
    memcpy(dst, src, len + 1);
    return 0;
}

//  Make room for entry number count + 1. Capacity is implied by count: it
//  doubles whenever count reaches a power of two (>= 4), so no field is needed.
static void *s_grow(void *array, size_t count, size_t elem)
{
    bool full = count == 0 || (count >= 4 && (count & (count - 1)) == 0);
    if (!full)
        return array;
    size_t capacity = count ? count * 2 : 4;
    return realloc(array, capacity * elem);
}

void aix_names_clear(aix_names_t *list)
{
    free(list->items);
    memset(list, 0, sizeof *list);
}

bool aix_names_contains(const aix_names_t *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], name) == 0)
            return true;
    return false;
}

//  Append a copy of name; -1 when the list is full, out of memory, or name
//  does not fit AIX_NAME_MAX (the caller's pattern should have refused it).
static int s_names_add(aix_names_t *list, const char *name)
{
    if (list->count >= AIX_LIST_MAX)
        return -1;
    char(*grown)[AIX_NAME_MAX] = s_grow(list->items, list->count, sizeof *grown);
    if (!grown)
        return -1;
    list->items = grown;
    if (s_copy(list->items[list->count], sizeof *grown, name) != 0)
        return -1;
    list->count++;
    return 0;
}

void aix_lspv_clear(aix_lspv_t *lspv)
{
    free(lspv->items);
    memset(lspv, 0, sizeof *lspv);
}

static int s_lspv_add(aix_lspv_t *lspv, const aix_pv_t *pv)
{
    if (lspv->count >= AIX_LIST_MAX)
        return -1;
    aix_pv_t *grown = s_grow(lspv->items, lspv->count, sizeof *grown);
    if (!grown)
        return -1;
    lspv->items = grown;
    lspv->items[lspv->count++] = *pv;
    return 0;
}

void aix_adapters_clear(aix_adapters_t *adapters)
{
    aix_names_clear(&adapters->physical);
    aix_names_clear(&adapters->virtual);
}

// ---------------------------------------------------------------- characters and values

static bool s_digit(char c) { return c >= '0' && c <= '9'; }
static bool s_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool s_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool s_alnum(char c) { return s_digit(c) || s_upper(c) || s_lower(c); }
static bool s_hex(char c) { return s_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

//  Printable ASCII without space: what a single token may hold.
static bool s_graph(char c) { return c > ' ' && c <= '~'; }

//  Length in [1, max] and every byte in the class.
static bool s_all(const char *text, size_t max, bool (*in_class)(char))
{
    size_t len = strnlen(text, max + 1);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!in_class(text[i]))
            return false;
    return true;
}

//  Decimal digits only, at most 18 of them (no overflow), value <= max.
static int s_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    size_t len = strnlen(text, 19);
    if (len == 0 || len > 18)
        return -1;
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!s_digit(text[i]))
            return -1;
        value = value * 10 + (uint64_t) (text[i] - '0');
    }
    if (value > max)
        return -1;
    *out = value;
    return 0;
}

//  "0.50", "4,00", "12": digits with at most one '.' or ',' (decimal comma,
//  some locales leak through) and digits after it. Parsed by hand: strtod
//  depends on the locale and accepts hex, inf and nan.
static int s_parse_decimal(const char *text, double *out)
{
    static const double pow10[S_DECIMAL_DIGITS + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,
                                                       1e6, 1e7, 1e8,  1e9,  1e10, 1e11,
                                                       1e12, 1e13, 1e14, 1e15};
    uint64_t mantissa = 0;
    size_t digits = 0, fraction = 0;
    bool separator = false;
    for (const char *p = text; *p; p++) {
        if (s_digit(*p)) {
            if (++digits > S_DECIMAL_DIGITS)
                return -1;
            mantissa = mantissa * 10 + (uint64_t) (*p - '0');
            fraction += separator;
        }
        else if ((*p == '.' || *p == ',') && !separator && digits > 0)
            separator = true;
        else
            return -1;
    }
    if (digits == 0 || (separator && fraction == 0))
        return -1;
    *out = (double) mantissa / pow10[fraction];
    return 0;
}

//  Remove suffix from the end of text when present; true when it was there.
static bool s_strip_suffix(char *text, const char *suffix)
{
    size_t len = strlen(text), slen = strlen(suffix);
    if (len < slen || strcmp(text + len - slen, suffix) != 0)
        return false;
    text[len - slen] = '\0';
    return true;
}

//  Bounded search of needle in len bytes of text (which may hold NULs).
static bool s_contains(const char *text, size_t len, const char *needle)
{
    size_t nlen = strlen(needle);
    if (!text || nlen == 0 || len < nlen)
        return false;
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(text + i, needle, nlen) == 0)
            return true;
    return false;
}

bool aix_text_has_code(const char *text, size_t len, const char *code)
{
    return s_contains(text, len, code);
}

// ---------------------------------------------------------------- lines and tokens

//  Strip leading and trailing spaces in place.
static char *s_trim(char *text)
{
    while (*text == ' ')
        text++;
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == ' ')
        text[--len] = '\0';
    return text;
}

//  Trim and collapse runs of spaces to one ("Entitled  Capacity" -> "Entitled Capacity").
static char *s_squeeze(char *text)
{
    char *read = text, *write = text;
    bool space = false;
    while (*read == ' ')
        read++;
    for (; *read; read++) {
        if (*read == ' ') {
            space = true;
            continue;
        }
        if (space)
            *write++ = ' ';
        space = false;
        *write++ = *read;
    }
    *write = '\0';
    return text;
}

static bool s_blank(const char *line)
{
    while (*line == ' ')
        line++;
    return *line == '\0';
}

//  Split line in place on runs of spaces. Keeps up to max tokens and returns
//  how many there are, which may be more than max.
static size_t s_split(char *line, char **tokens, size_t max)
{
    size_t count = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return count;
        if (count < max)
            tokens[count] = p;
        count++;
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

//  Called for each readable non-blank line; returns 0 to go on, 1 to stop.
typedef int (*s_line_fn)(void *ctx, char *line, size_t number);

//  Copy len bytes of a line into buf, tabs as spaces, dropping a final CR.
//  -1 when it does not fit or holds control or non-ASCII bytes.
static int s_copy_line(const char *start, size_t len, char *buf, size_t size)
{
    if (len > 0 && start[len - 1] == '\r')
        len--;
    if (len >= size)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) start[i];
        if (c == '\t')
            c = ' ';
        else if (c < 0x20 || c > 0x7e)
            return -1;
        buf[i] = (char) c;
    }
    buf[len] = '\0';
    return 0;
}

//  Run fn on every readable, non-blank line of len bytes of text; warn once
//  per unreadable line. Returns the number of lines given to fn.
static size_t s_each_line(const char *text, size_t len, const char *cmd, aix_warnings_t *w,
                          s_line_fn fn, void *ctx)
{
    char line[S_LINE_MAX];
    size_t used = 0, number = 0;
    const char *pos = text, *end = text ? text + len : text;
    while (pos && pos < end) {
        const char *nl = memchr(pos, '\n', (size_t) (end - pos));
        const char *stop = nl ? nl : end;
        number++;
        int rc = s_copy_line(pos, (size_t) (stop - pos), line, sizeof line);
        pos = nl ? nl + 1 : end;
        if (rc != 0) {
            aix_warn(w, "%s: line %zu unreadable (too long, or not plain text)", cmd, number);
            continue;
        }
        if (s_blank(line))
            continue;
        used++;
        //  The line goes untrimmed: column positions matter to `lsvg VG`.
        if (fn(ctx, line, number) != 0)
            break;
    }
    return used;
}

//  Collects the only non-blank line of a one-line output.
typedef struct {
    char *buf;       // caller's buffer of S_LINE_MAX bytes
    size_t lines;    // non-blank lines seen
} s_single_t;

static int s_single_fn(void *ctx, char *line, size_t number)
{
    (void) number;
    s_single_t *single = ctx;
    char *value = s_trim(line);
    if (single->lines++ == 0)
        memcpy(single->buf, value, strlen(value) + 1);
    return 0;
}

//  The only line of text, trimmed, into buf (S_LINE_MAX bytes); -1 with a
//  warning when there is none, more than one, or an unreadable one.
static int s_single_line(const char *text, size_t len, const char *cmd, char *buf,
                         aix_warnings_t *w)
{
    s_single_t single = {buf, 0};
    size_t warned = w->count + w->dropped;
    buf[0] = '\0';
    s_each_line(text, len, cmd, w, s_single_fn, &single);
    if (w->count + w->dropped != warned)
        return -1;
    if (single.lines == 0) {
        aix_warn(w, "%s: no output", cmd);
        return -1;
    }
    if (single.lines > 1) {
        aix_warn(w, "%s: %zu lines where one was expected", cmd, single.lines);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- identity

//  "IBM,0221C48FV", "IBM,8408-E8E": printable tokens of letters, digits and , . -
static bool s_id_char(char c) { return s_alnum(c) || c == ',' || c == '.' || c == '-'; }

//  Keep the raw system id; the serial is what follows "IBM," and a
//  two-character prefix whose value varies (01, 02, 03): never match on it.
static int s_decode_systemid(const char *cmd, const char *value, aix_systemid_t *out,
                             aix_warnings_t *w)
{
    if (!s_all(value, sizeof out->systemid - 1, s_id_char)
        || s_copy(out->systemid, sizeof out->systemid, value) != 0) {
        aix_warn(w, "%s: unexpected system id", cmd);
        return -1;
    }
    const char *rest = value + 4;
    if (strncmp(value, "IBM,", 4) != 0 || strlen(rest) != 9 || !s_all(rest, 9, s_alnum)) {
        aix_warn(w, "%s: system id %s is not IBM,<2-character prefix><7-character serial>", cmd,
                 value);
        return 0;
    }
    memcpy(out->serial, rest + 2, 8);
    return 0;
}

//  `lsattr -El sys0 -a ATTR` -> "ATTR VALUE DESCRIPTION... USER_SETTABLE"; the value into buf.
static int s_lsattr_value(const char *text, size_t len, const char *cmd, const char *attr,
                          char *buf, aix_warnings_t *w)
{
    if (s_single_line(text, len, cmd, buf, w) != 0)
        return -1;
    char *tokens[2];
    if (s_split(buf, tokens, 2) < 2 || strcmp(tokens[0], attr) != 0) {
        aix_warn(w, "%s: unexpected output", cmd);
        return -1;
    }
    memmove(buf, tokens[1], strlen(tokens[1]) + 1);
    return 0;
}

int aix_parse_lsattr_systemid(const char *text, size_t len, aix_systemid_t *out,
                              aix_warnings_t *w)
{
    static const char cmd[] = "lsattr -El sys0 -a systemid";
    char value[S_LINE_MAX];
    memset(out, 0, sizeof *out);
    if (s_lsattr_value(text, len, cmd, "systemid", value, w) != 0)
        return -1;
    return s_decode_systemid(cmd, value, out, w);
}

int aix_parse_uname_u(const char *text, size_t len, aix_systemid_t *out, aix_warnings_t *w)
{
    char value[S_LINE_MAX];
    memset(out, 0, sizeof *out);
    if (s_single_line(text, len, "uname -u", value, w) != 0)
        return -1;
    return s_decode_systemid("uname -u", value, out, w);
}

//  "IBM,8408-E8E": IBM, then type-model.
static int s_model(const char *cmd, const char *value, char *model, aix_warnings_t *w)
{
    if (strncmp(value, "IBM,", 4) != 0 || !s_all(value, AIX_VALUE_MAX - 1, s_id_char)
        || s_copy(model, AIX_VALUE_MAX, value) != 0) {
        aix_warn(w, "%s: unexpected machine type-model", cmd);
        return -1;
    }
    return 0;
}

int aix_parse_lsattr_modelname(const char *text, size_t len, char *model, aix_warnings_t *w)
{
    static const char cmd[] = "lsattr -El sys0 -a modelname";
    char value[S_LINE_MAX];
    model[0] = '\0';
    if (s_lsattr_value(text, len, cmd, "modelname", value, w) != 0)
        return -1;
    return s_model(cmd, value, model, w);
}

int aix_parse_uname_M(const char *text, size_t len, char *model, aix_warnings_t *w)
{
    char value[S_LINE_MAX];
    model[0] = '\0';
    if (s_single_line(text, len, "uname -M", value, w) != 0)
        return -1;
    return s_model("uname -M", value, model, w);
}

int aix_parse_uname_f(const char *text, size_t len, char *id, aix_warnings_t *w)
{
    char value[S_LINE_MAX];
    id[0] = '\0';
    if (s_single_line(text, len, "uname -f", value, w) != 0)
        return -1;
    if (!s_all(value, 32, s_hex) || s_copy(id, AIX_VALUE_MAX, value) != 0) {
        aix_warn(w, "uname -f: expected a hex id");
        return -1;
    }
    return 0;
}

//  "NULL" in place of the name: no name (no LPAR, or an LPAR-capable machine in SMP mode).
static int s_uname_L_name(const char *name, aix_uname_L_t *out, aix_warnings_t *w)
{
    if (strcmp(name, "NULL") == 0)
        return 0;
    if (*name == '\0') {
        aix_warn(w, "uname -L: no partition name");
        return 0;
    }
    if (s_copy(out->name, sizeof out->name, name) != 0)
        aix_warn(w, "uname -L: partition name longer than %d characters",
                 AIX_PARTITION_NAME_MAX - 1);
    return 0;
}

int aix_parse_uname_L(const char *text, size_t len, aix_uname_L_t *out, aix_warnings_t *w)
{
    char line[S_LINE_MAX];
    memset(out, 0, sizeof *out);
    if (s_single_line(text, len, "uname -L", line, w) != 0)
        return -1;
    //  "NUMBER NAME": the name is the rest of the line and may contain spaces.
    char *name = strchr(line, ' ');
    if (name)
        *name++ = '\0';
    else
        name = line + strlen(line);
    name = s_trim(name);
    if (strcmp(line, "-1") == 0 && strcmp(name, "NULL") == 0)
        return 0;
    uint64_t number;
    if (s_parse_u64(line, S_PARTITION_MAX, &number) != 0 || number == 0) {
        aix_warn(w, "uname -L: unexpected partition number");
        return -1;
    }
    out->lpar = true;
    out->has_number = true;
    out->number = (int) number;
    return s_uname_L_name(name, out, w);
}

int aix_parse_hostname(const char *text, size_t len, char *host, aix_warnings_t *w)
{
    char value[S_LINE_MAX];
    host[0] = '\0';
    if (s_single_line(text, len, "hostname", value, w) != 0)
        return -1;
    if (!name_valid(NAME_HOST, value) || s_copy(host, AIX_HOST_MAX, value) != 0) {
        aix_warn(w, "hostname: not a valid host name");
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- oslevel

//  True when text[0..n) are all digits (text holds at least n bytes).
static bool s_digits(const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s_digit(text[i]))
            return false;
    return true;
}

//  "7200-05-03-2148": VVRR-TT-SS-YYWW, where VVRR is version and release (7200 = 7.2).
static int s_oslevel_full(const char *value, aix_oslevel_t *out)
{
    if (strlen(value) != 15 || value[4] != '-' || value[7] != '-' || value[10] != '-'
        || !s_digits(value, 4) || !s_digits(value + 5, 2) || !s_digits(value + 8, 2)
        || !s_digits(value + 11, 4) || value[2] != '0' || value[3] != '0' || value[0] == '0'
        || s_copy(out->level, sizeof out->level, value) != 0)
        return -1;
    snprintf(out->version, sizeof out->version, "%c.%c", value[0], value[1]);
    out->tl = (value[5] - '0') * 10 + (value[6] - '0');
    out->sp = (value[8] - '0') * 10 + (value[9] - '0');
    memcpy(out->build, value + 11, 5);
    out->has_tl_sp = true;
    return 0;
}

//  "7.2.0.0": what some systems print when `oslevel -s` misbehaves; version only.
static int s_oslevel_plain(const char *value, aix_oslevel_t *out)
{
    size_t parts = 0, digits = 0;
    for (const char *p = value;; p++) {
        if (s_digit(*p) && ++digits <= 3)
            continue;
        if (digits == 0 || digits > 3 || (*p != '.' && *p != '\0'))
            return -1;
        parts++;
        digits = 0;
        if (*p == '\0')
            break;
    }
    if (parts < 2 || parts > 4 || strlen(value) > 15)
        return -1;
    size_t major = strcspn(value, ".");
    size_t minor = strcspn(value + major + 1, ".");
    snprintf(out->version, sizeof out->version, "%.*s.%.*s", (int) major, value, (int) minor,
             value + major + 1);
    return 0;
}

int aix_parse_oslevel_s(const char *text, size_t len, aix_oslevel_t *out, aix_warnings_t *w)
{
    char value[S_LINE_MAX];
    memset(out, 0, sizeof *out);
    if (s_single_line(text, len, "oslevel -s", value, w) != 0)
        return -1;
    if (s_oslevel_full(value, out) == 0)
        return 0;
    memset(out, 0, sizeof *out);
    if (s_oslevel_plain(value, out) == 0) {
        aix_warn(w, "oslevel -s: plain level %s, technology level and service pack unknown",
                 value);
        return 0;
    }
    memset(out, 0, sizeof *out);
    aix_warn(w, "oslevel -s: unexpected level");
    return -1;
}

// ---------------------------------------------------------------- disks and volume groups

typedef struct {
    aix_lspv_t *out;      // result being filled
    aix_warnings_t *w;    // where problems go
} s_lspv_ctx_t;

//  PVID column: 16 hex digits, or none (no PVID assigned) -> "". pvid: size bytes.
static int s_pvid(const char *token, char *pvid, size_t size)
{
    if (strcmp(token, "none") == 0)
        return 0;
    if (strlen(token) != AIX_PVID_LEN || !s_all(token, AIX_PVID_LEN, s_hex))
        return -1;
    return s_copy(pvid, size, token);
}

//  VG column: None or none (in no VG, both spellings seen) -> "". vg: size bytes.
static int s_pv_vg(const char *token, char *vg, size_t size)
{
    if (strcmp(token, "None") == 0 || strcmp(token, "none") == 0)
        return 0;
    if (!name_valid(NAME_VG, token))
        return -1;
    return s_copy(vg, size, token);
}

//  "hdisk0 00f6db0a6c7aece5 rootvg active"; a varied-off VG has no state column.
static int s_lspv_fn(void *ctx_, char *line, size_t number)
{
    s_lspv_ctx_t *ctx = ctx_;
    char *tokens[4];
    size_t count = s_split(line, tokens, 4);
    aix_pv_t pv = {0};
    if (count < 3 || count > 4 || !name_valid(NAME_DISK, tokens[0])
        || s_pvid(tokens[1], pv.pvid, sizeof pv.pvid) != 0
        || s_pv_vg(tokens[2], pv.vg, sizeof pv.vg) != 0
        || s_copy(pv.name, sizeof pv.name, tokens[0]) != 0) {
        aix_warn(ctx->w, "lspv: line %zu not understood", number);
        return 0;
    }
    pv.active = count == 4 && (strcmp(tokens[3], "active") == 0
                               || strcmp(tokens[3], "concurrent") == 0);
    for (size_t i = 0; i < ctx->out->count; i++) {
        if (strcmp(ctx->out->items[i].name, pv.name) == 0) {
            aix_warn(ctx->w, "lspv: %s listed twice", pv.name);
            return 0;
        }
    }
    if (s_lspv_add(ctx->out, &pv) != 0) {
        aix_warn(ctx->w, "lspv: more than %d disks or out of memory", AIX_LIST_MAX);
        return 1;
    }
    return 0;
}

int aix_parse_lspv(const char *text, size_t len, aix_lspv_t *out, aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_lspv_ctx_t ctx = {out, w};
    s_each_line(text, len, "lspv", w, s_lspv_fn, &ctx);
    if (out->count == 0) {
        aix_warn(w, "lspv: no disks listed");
        return -1;
    }
    return 0;
}

typedef struct {
    const char *cmd;      // label for warnings
    aix_names_t *out;     // result being filled
    aix_warnings_t *w;    // where problems go
} s_names_ctx_t;

//  Append name unless it is already there; 1 (stop) when the list is full.
static int s_names_add_unique(s_names_ctx_t *ctx, const char *name)
{
    if (aix_names_contains(ctx->out, name))
        return 0;
    if (s_names_add(ctx->out, name) != 0) {
        aix_warn(ctx->w, "%s: more than %d entries or out of memory", ctx->cmd, AIX_LIST_MAX);
        return 1;
    }
    return 0;
}

static int s_lsvg_list_fn(void *ctx_, char *line, size_t number)
{
    s_names_ctx_t *ctx = ctx_;
    char *tokens[1];
    if (s_split(line, tokens, 1) != 1 || !name_valid(NAME_VG, tokens[0])) {
        aix_warn(ctx->w, "%s: line %zu is not a volume group name", ctx->cmd, number);
        return 0;
    }
    return s_names_add_unique(ctx, tokens[0]);
}

int aix_parse_lsvg_list(const char *text, size_t len, const char *command, aix_names_t *out,
                        aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_names_ctx_t ctx = {command, out, w};
    s_each_line(text, len, command, w, s_lsvg_list_fn, &ctx);
    if (out->count == 0) {
        aix_warn(w, "%s: no volume groups listed", command);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *vg;       // VG asked for, for warnings
    aix_lsvg_vg_t *out;   // result being filled
    aix_warnings_t *w;    // where problems go
    size_t column;        // where the right column starts; 0 before the first line / none
    bool first_done;      // the first line (which fixes the column) was seen
    size_t known;         // labels recognised
} s_lsvg_ctx_t;

//  The right column starts at the second label of the first line:
//  "VOLUME GROUP:   rootvg   VG IDENTIFIER:  00f6...". 0 when there is none.
static size_t s_right_column(const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon)
        return 0;
    const char *p = colon + 1;
    while (*p == ' ')
        p++;
    while (*p && *p != ' ')
        p++;
    while (*p == ' ')
        p++;
    return *p ? (size_t) (p - line) : 0;
}

//  "543 (34752 megabytes)" -> count 543, size 34752.
static int s_pps(char *value, uint64_t *pps, uint64_t *mb)
{
    char *tokens[3];
    if (s_split(value, tokens, 3) != 3 || tokens[1][0] != '(' || strcmp(tokens[2], "megabytes)"))
        return -1;
    if (s_parse_u64(tokens[0], S_COUNT_MAX, pps) != 0
        || s_parse_u64(tokens[1] + 1, S_COUNT_MAX, mb) != 0)
        return -1;
    return 0;
}

//  "64 megabyte(s)" -> 64.
static int s_pp_size(char *value, uint64_t *mb)
{
    char *tokens[2];
    if (s_split(value, tokens, 2) != 2 || strcmp(tokens[1], "megabyte(s)") != 0)
        return -1;
    return s_parse_u64(tokens[0], S_COUNT_MAX, mb);
}

//  The size-like labels of `lsvg VG`: 1 when label is one of them and its
//  value parsed, -1 when its value is bad, 0 for any other label.
static int s_lsvg_size(aix_lsvg_vg_t *out, const char *label, char *value)
{
    bool *has;
    int rc;
    if (strcmp(label, "PP SIZE") == 0) {
        has = &out->has_pp_size;
        rc = s_pp_size(value, &out->pp_size_mb);
    }
    else if (strcmp(label, "TOTAL PPs") == 0) {
        has = &out->has_total;
        rc = s_pps(value, &out->total_pps, &out->total_mb);
    }
    else if (strcmp(label, "FREE PPs") == 0) {
        has = &out->has_free;
        rc = s_pps(value, &out->free_pps, &out->free_mb);
    }
    else if (strcmp(label, "USED PPs") == 0) {
        has = &out->has_used;
        rc = s_pps(value, &out->used_pps, &out->used_mb);
    }
    else if (strcmp(label, "TOTAL PVs") == 0) {
        has = &out->has_total_pvs;
        rc = s_parse_u64(value, S_COUNT_MAX, &out->total_pvs);
    }
    else
        return 0;
    if (rc != 0)
        return -1;
    *has = true;
    return 1;
}

//  Name and state labels, same convention as s_lsvg_size.
static int s_lsvg_text(aix_lsvg_vg_t *out, const char *label, const char *value)
{
    if (strcmp(label, "VOLUME GROUP") == 0) {
        if (!name_valid(NAME_VG, value) || s_copy(out->name, sizeof out->name, value) != 0)
            return -1;
        return 1;
    }
    if (strcmp(label, "VG STATE") == 0) {
        if (!s_all(value, sizeof out->state - 1, s_graph)
            || s_copy(out->state, sizeof out->state, value) != 0)
            return -1;
        return 1;
    }
    return 0;
}

//  One "LABEL: value" cell of either column.
static void s_lsvg_cell(s_lsvg_ctx_t *ctx, char *cell, size_t number)
{
    if (s_blank(cell))
        return;
    char *colon = strchr(cell, ':');
    if (!colon) {
        aix_warn(ctx->w, "lsvg %s: line %zu: no label", ctx->vg, number);
        return;
    }
    *colon = '\0';
    char *label = s_squeeze(cell), *value = s_trim(colon + 1);
    int rc = s_lsvg_text(ctx->out, label, value);
    if (rc == 0)
        rc = s_lsvg_size(ctx->out, label, value);
    if (rc < 0)
        aix_warn(ctx->w, "lsvg %s: bad %s value", ctx->vg, label);
    else if (rc > 0)
        ctx->known++;
}

static int s_lsvg_vg_fn(void *ctx_, char *line, size_t number)
{
    s_lsvg_ctx_t *ctx = ctx_;
    if (!ctx->first_done) {
        ctx->column = s_right_column(line);
        ctx->first_done = true;
    }
    size_t len = strlen(line);
    char *right = NULL;
    if (ctx->column > 0 && len > ctx->column && !s_blank(line + ctx->column)) {
        if (line[ctx->column - 1] != ' ') {
            aix_warn(ctx->w, "lsvg %s: line %zu does not fit the two columns", ctx->vg, number);
            return 0;
        }
        right = line + ctx->column;
        line[ctx->column - 1] = '\0';
    }
    s_lsvg_cell(ctx, line, number);
    if (right)
        s_lsvg_cell(ctx, right, number);
    return 0;
}

int aix_parse_lsvg_vg(const char *text, size_t len, const char *vg, aix_lsvg_vg_t *out,
                      aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    if (s_contains(text, len, "0516-010")) {
        out->varied_off = true;
        aix_warn(w, "lsvg %s: volume group is varied off (0516-010)", vg);
        return -1;
    }
    char cmd[AIX_NAME_MAX + 8];
    snprintf(cmd, sizeof cmd, "lsvg %.*s", AIX_NAME_MAX - 1, vg);
    s_lsvg_ctx_t ctx = {.vg = vg, .out = out, .w = w};
    s_each_line(text, len, cmd, w, s_lsvg_vg_fn, &ctx);
    if (ctx.known == 0) {
        aix_warn(w, "lsvg %s: no usable output", vg);
        return -1;
    }
    return 0;
}

//  attr=value after the device on a bootlist line: blv=hd5, pathid=0.
static bool s_attr_token(const char *token)
{
    const char *eq = strchr(token, '=');
    if (!eq || eq == token || eq[1] == '\0')
        return false;
    for (const char *p = token; p < eq; p++)
        if (!s_lower(*p) && !s_digit(*p) && *p != '_')
            return false;
    return true;
}

static int s_bootlist_fn(void *ctx_, char *line, size_t number)
{
    s_names_ctx_t *ctx = ctx_;
    char *tokens[S_TOKENS_MAX];
    size_t count = s_split(line, tokens, S_TOKENS_MAX);
    bool ok = count <= S_TOKENS_MAX && name_valid(NAME_DISK, tokens[0]);
    for (size_t i = 1; ok && i < count; i++)
        ok = s_attr_token(tokens[i]);
    if (!ok) {
        aix_warn(ctx->w, "%s: line %zu not understood", ctx->cmd, number);
        return 0;
    }
    //  One line per path: the same disk repeats.
    return s_names_add_unique(ctx, tokens[0]);
}

int aix_parse_bootlist(const char *text, size_t len, aix_names_t *out, aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_names_ctx_t ctx = {"bootlist -m normal -o", out, w};
    s_each_line(text, len, ctx.cmd, w, s_bootlist_fn, &ctx);
    if (out->count == 0) {
        aix_warn(w, "%s: no boot devices listed", ctx.cmd);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- lparstat -i

//  Text field; the first occurrence wins. 1, or -1 when it does not fit.
static int s_lp_text(const char *value, char *buf, size_t size)
{
    if (buf[0])
        return 1;
    return s_copy(buf, size, value) == 0 ? 1 : -1;
}

//  One word (no spaces): Type, Mode, Memory Mode.
static int s_lp_word(const char *value, char *buf, size_t size)
{
    if (!s_all(value, size - 1, s_graph))
        return -1;
    return s_lp_text(value, buf, size);
}

//  Whole number with an optional suffix (" MB").
static int s_lp_int(char *value, const char *suffix, bool *has, int64_t *out)
{
    uint64_t number;
    if (suffix)
        s_strip_suffix(value, suffix);
    if (s_parse_u64(s_trim(value), S_COUNT_MAX, &number) != 0)
        return -1;
    if (!*has)
        *out = (int64_t) number;
    *has = true;
    return 1;
}

//  Decimal (point or comma) with an optional suffix ("%").
static int s_lp_decimal(char *value, const char *suffix, bool *has, double *out)
{
    double number;
    if (suffix)
        s_strip_suffix(value, suffix);
    if (s_parse_decimal(s_trim(value), &number) != 0)
        return -1;
    if (!*has)
        *out = number;
    *has = true;
    return 1;
}

//  1 when label is one we keep and value parsed, -1 when the value is bad, 0 otherwise.
static int s_lparstat_field(aix_lparstat_t *o, const char *label, char *value)
{
    if (strcmp(label, "Node Name") == 0)
        return name_valid(NAME_HOST, value) ? s_lp_text(value, o->node_name, sizeof o->node_name)
                                            : -1;
    if (strcmp(label, "Partition Name") == 0)
        return s_lp_text(value, o->partition_name, sizeof o->partition_name);
    if (strcmp(label, "Partition Number") == 0)
        return s_lp_int(value, NULL, &o->has_partition_number, &o->partition_number);
    if (strcmp(label, "Type") == 0)
        return s_lp_word(value, o->type, sizeof o->type);
    if (strcmp(label, "Mode") == 0)
        return s_lp_word(value, o->mode, sizeof o->mode);
    if (strcmp(label, "Entitled Capacity") == 0)
        return s_lp_decimal(value, NULL, &o->has_entitled_capacity, &o->entitled_capacity);
    if (strcmp(label, "Shared Pool ID") == 0)
        return s_lp_int(value, NULL, &o->has_shared_pool_id, &o->shared_pool_id);
    if (strcmp(label, "Online Virtual CPUs") == 0)
        return s_lp_int(value, NULL, &o->has_online_vcpus, &o->online_vcpus);
    if (strcmp(label, "Online Memory") == 0)
        return s_lp_int(value, " MB", &o->has_online_memory_mb, &o->online_memory_mb);
    if (strcmp(label, "Maximum Memory") == 0)
        return s_lp_int(value, " MB", &o->has_maximum_memory_mb, &o->maximum_memory_mb);
    if (strcmp(label, "Active Physical CPUs in system") == 0)
        return s_lp_int(value, NULL, &o->has_active_physical_cpus, &o->active_physical_cpus);
    if (strcmp(label, "Physical CPU Percentage") == 0)
        return s_lp_decimal(value, "%", &o->has_physical_cpu_pct, &o->physical_cpu_pct);
    if (strcmp(label, "Memory Mode") == 0)
        return s_lp_word(value, o->memory_mode, sizeof o->memory_mode);
    return 0;
}

typedef struct {
    aix_lparstat_t *out;  // result being filled
    aix_warnings_t *w;    // where problems go
    size_t labels;        // "Label : value" lines seen
} s_lparstat_ctx_t;

//  "Entitled  Capacity                         : 4,00"
static int s_lparstat_fn(void *ctx_, char *line, size_t number)
{
    s_lparstat_ctx_t *ctx = ctx_;
    char *colon = strchr(line, ':');
    if (!colon) {
        aix_warn(ctx->w, "lparstat -i: line %zu has no label", number);
        return 0;
    }
    *colon = '\0';
    char *label = s_squeeze(line), *value = s_trim(colon + 1);
    if (*label == '\0') {
        aix_warn(ctx->w, "lparstat -i: line %zu has no label", number);
        return 0;
    }
    ctx->labels++;
    //  "-": not available on this partition; the field stays unset.
    if (strcmp(value, "-") == 0)
        return 0;
    if (s_lparstat_field(ctx->out, label, value) < 0)
        aix_warn(ctx->w, "lparstat -i: bad %s value", label);
    return 0;
}

int aix_parse_lparstat_i(const char *text, size_t len, aix_lparstat_t *out, aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_lparstat_ctx_t ctx = {out, w, 0};
    s_each_line(text, len, "lparstat -i", w, s_lparstat_fn, &ctx);
    if (ctx.labels == 0) {
        aix_warn(w, "lparstat -i: no usable output");
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- adapters, services, filesets

typedef struct {
    aix_adapters_t *out;  // result being filled
    aix_warnings_t *w;    // where problems go
    size_t understood;    // lines that parsed
} s_lsdev_ctx_t;

static bool s_adapter_state(const char *state)
{
    return strcmp(state, "Available") == 0 || strcmp(state, "Defined") == 0
           || strcmp(state, "Stopped") == 0;
}

//  "ent0 Available 02-00 2-Port ... Adapter" or "vscsi0 Available Virtual SCSI Client Adapter".
static int s_lsdev_fn(void *ctx_, char *line, size_t number)
{
    s_lsdev_ctx_t *ctx = ctx_;
    char *tokens[S_TOKENS_MAX];
    size_t count = s_split(line, tokens, S_TOKENS_MAX);
    if (count < 3 || !name_valid(NAME_DISK, tokens[0]) || !s_adapter_state(tokens[1])) {
        aix_warn(ctx->w, "lsdev -Cc adapter: line %zu not understood", number);
        return 0;
    }
    ctx->understood++;
    if (strcmp(tokens[1], "Available") != 0)
        return 0;
    bool virtual = false;
    for (size_t i = 2; i < count && i < S_TOKENS_MAX; i++)
        virtual = virtual || strcmp(tokens[i], "Virtual") == 0;
    aix_names_t *list = virtual ? &ctx->out->virtual : &ctx->out->physical;
    if (aix_names_contains(&ctx->out->virtual, tokens[0])
        || aix_names_contains(&ctx->out->physical, tokens[0])) {
        aix_warn(ctx->w, "lsdev -Cc adapter: %s listed twice", tokens[0]);
        return 0;
    }
    if (s_names_add(list, tokens[0]) != 0) {
        aix_warn(ctx->w, "lsdev -Cc adapter: too many adapters or out of memory");
        return 1;
    }
    return 0;
}

int aix_parse_lsdev_adapters(const char *text, size_t len, aix_adapters_t *out,
                             aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_lsdev_ctx_t ctx = {out, w, 0};
    s_each_line(text, len, "lsdev -Cc adapter", w, s_lsdev_fn, &ctx);
    if (ctx.understood == 0) {
        aix_warn(w, "lsdev -Cc adapter: no usable output");
        return -1;
    }
    return 0;
}

typedef struct {
    const char *subsystem; // subsystem asked for
    char *status;          // caller's buffer of AIX_VALUE_MAX bytes
    aix_warnings_t *w;     // where problems go
    bool found;            // status was set
} s_lssrc_ctx_t;

//  "Subsystem  Group  PID  Status" header, then " ctrmc  rsct  5636228  active"
//  (PID empty when inoperative).
static int s_lssrc_fn(void *ctx_, char *line, size_t number)
{
    s_lssrc_ctx_t *ctx = ctx_;
    char *tokens[5];
    size_t count = s_split(line, tokens, 5);
    if (strcmp(tokens[0], "Subsystem") == 0)
        return 0;
    if (strcmp(tokens[0], ctx->subsystem) != 0 || count < 2 || count > 4
        || !s_all(tokens[count - 1], AIX_VALUE_MAX - 1, s_lower)
        || s_copy(ctx->status, AIX_VALUE_MAX, tokens[count - 1]) != 0) {
        aix_warn(ctx->w, "lssrc -s %s: line %zu not understood", ctx->subsystem, number);
        return 0;
    }
    ctx->found = true;
    return 1;
}

int aix_parse_lssrc_s(const char *text, size_t len, const char *subsystem, char *status,
                      aix_warnings_t *w)
{
    status[0] = '\0';
    char cmd[AIX_NAME_MAX + 16];
    snprintf(cmd, sizeof cmd, "lssrc -s %.*s", AIX_NAME_MAX - 1, subsystem);
    s_lssrc_ctx_t ctx = {subsystem, status, w, false};
    s_each_line(text, len, cmd, w, s_lssrc_fn, &ctx);
    if (!ctx.found) {
        aix_warn(w, "lssrc -s %s: no status", subsystem);
        return -1;
    }
    return 0;
}

//  "7.2.5.0": digits separated by single dots.
static bool s_fileset_level(const char *level)
{
    size_t len = strnlen(level, AIX_VALUE_MAX);
    if (len == 0 || len >= AIX_VALUE_MAX || !s_digit(level[0]) || !s_digit(level[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (level[i] == '.' && level[i + 1] == '.')
            return false;
        if (level[i] != '.' && !s_digit(level[i]))
            return false;
    }
    return true;
}

typedef struct {
    const char *fileset;  // fileset asked for
    aix_fileset_t *out;   // result being filled
    aix_warnings_t *w;    // where problems go
} s_lslpp_ctx_t;

//  "package:fileset:level:state:..." after '#' header lines.
static int s_lslpp_fn(void *ctx_, char *line, size_t number)
{
    s_lslpp_ctx_t *ctx = ctx_;
    line = s_trim(line);
    if (line[0] == '#')
        return 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
    if (!c3) {
        aix_warn(ctx->w, "lslpp -Lc %s: line %zu not understood", ctx->fileset, number);
        return 0;
    }
    *c2 = '\0';
    *c3 = '\0';
    if (strcmp(s_trim(c1 + 1), ctx->fileset) != 0)
        return 0;
    char *level = s_trim(c2 + 1);
    if (!s_fileset_level(level)
        || s_copy(ctx->out->level, sizeof ctx->out->level, level) != 0) {
        aix_warn(ctx->w, "lslpp -Lc %s: bad level", ctx->fileset);
        return 0;
    }
    return 1;
}

int aix_parse_lslpp_lc(const char *text, size_t len, const char *fileset, aix_fileset_t *out,
                       aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    //  "lslpp: 0504-132  Fileset X not installed."
    if (s_contains(text, len, "0504-132")) {
        out->not_installed = true;
        return 0;
    }
    char cmd[AIX_VALUE_MAX + 16];
    snprintf(cmd, sizeof cmd, "lslpp -Lc %.*s", AIX_VALUE_MAX - 1, fileset);
    s_lslpp_ctx_t ctx = {fileset, out, w};
    s_each_line(text, len, cmd, w, s_lslpp_fn, &ctx);
    if (out->level[0] == '\0') {
        aix_warn(w, "lslpp -Lc %s: no level", fileset);
        return -1;
    }
    return 0;
}

int aix_parse_disk_size(const char *text, size_t len, const char *disk, uint64_t *size_mb,
                        aix_warnings_t *w)
{
    char cmd[AIX_NAME_MAX + 32];
    char value[S_LINE_MAX];
    snprintf(cmd, sizeof cmd, "getconf DISK_SIZE /dev/%.*s", AIX_NAME_MAX - 1, disk);
    *size_mb = 0;
    if (s_single_line(text, len, cmd, value, w) != 0)
        return -1;
    //  Up to 2^40 MB: far beyond any disk, small enough to stay exact in JSON.
    if (s_parse_u64(value, 1ULL << 40, size_mb) != 0 || *size_mb == 0) {
        *size_mb = 0;
        aix_warn(w, "%s: not a size in MB", cmd);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- niminfo

//  Strip matching single or double quotes; -1 when they do not match or quotes remain inside.
static int s_unquote(char **value)
{
    char *v = *value;
    size_t len = strlen(v);
    if (len > 0 && (v[0] == '"' || v[0] == '\'')) {
        if (len < 2 || v[len - 1] != v[0])
            return -1;
        v[len - 1] = '\0';
        v++;
    }
    if (strchr(v, '"') || strchr(v, '\''))
        return -1;
    *value = s_trim(v);
    return 0;
}

typedef struct {
    aix_niminfo_t *out;   // result being filled
    aix_warnings_t *w;    // where problems go
} s_niminfo_ctx_t;

//  Validate and keep one of the two keys we use.
static void s_niminfo_set(s_niminfo_ctx_t *ctx, const char *key, char *value)
{
    bool master = strcmp(key, "NIM_MASTER_HOSTNAME") == 0;
    bool ok = s_unquote(&value) == 0;
    char *field = master ? ctx->out->master : ctx->out->name;
    size_t size = master ? sizeof ctx->out->master : sizeof ctx->out->name;
    if (!ok || !name_valid(master ? NAME_HOST : NAME_NIM_OBJECT, value)
        || s_copy(field, size, value) != 0)
        aix_warn(ctx->w, "niminfo: bad %s value", key);
}

//  "export NIM_MASTER_HOSTNAME=nim1", "NIM_NAME=\"lpar1\""; other lines are not ours.
static int s_niminfo_fn(void *ctx_, char *line, size_t number)
{
    (void) number;
    s_niminfo_ctx_t *ctx = ctx_;
    char *p = s_trim(line);
    if (strncmp(p, "export ", 7) == 0)
        p = s_trim(p + 7);
    char *eq = strchr(p, '=');
    if (p[0] == '#' || !eq)
        return 0;
    *eq = '\0';
    if (strcmp(p, "NIM_MASTER_HOSTNAME") == 0 || strcmp(p, "NIM_NAME") == 0)
        s_niminfo_set(ctx, p, eq + 1);
    return 0;
}

int aix_parse_niminfo(const char *text, size_t len, aix_niminfo_t *out, aix_warnings_t *w)
{
    memset(out, 0, sizeof *out);
    s_niminfo_ctx_t ctx = {out, w};
    s_each_line(text, len, "niminfo", w, s_niminfo_fn, &ctx);
    if (out->master[0] == '\0' && out->name[0] == '\0') {
        aix_warn(w, "niminfo: no NIM_MASTER_HOSTNAME or NIM_NAME");
        return -1;
    }
    return 0;
}
