/*  config — typed access to a ZPL config file (czmq zconfig), with defaults and
    range checks. Messages name the key and quote the bad value. */
#include "config.h"
#include "suggest.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct _config_t {
    zconfig_t *root;
    bool view;          // root belongs to another config (config_section): never freed here
};

//  How one numeric type is parsed, named and printed in messages.
typedef struct {
    int (*parse)(const char *text, int64_t *out);
    void (*format)(int64_t value, char *buf, size_t len);
    const char *what;
    const char *hint;
} s_numeric_t;

#define S_MAX_FILE (1024 * 1024)

static const int64_t s_kib = 1024;
static const int64_t s_mib = 1024 * 1024;
static const int64_t s_gib = 1024 * 1024 * 1024;

static config_t *s_wrap(zconfig_t *root, char *err, size_t errlen)
{
    config_t *self = calloc(1, sizeof *self);
    if (!self) {
        zconfig_destroy(&root);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->root = root;
    return self;
}

//  zconfig_load leaks its file handle when the text does not parse, so read it here.
static char *s_read_file(const char *path, size_t size, char *err, size_t errlen)
{
    FILE *file = fopen(path, "r");
    char *text = file ? malloc(size + 1) : NULL;
    if (!text)
        goto fail;
    size_t got = fread(text, 1, size, file);
    if (ferror(file))
        goto fail;
    text[got] = '\0';
    fclose(file);
    return text;
fail:
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    free(text);
    if (file)
        fclose(file);
    return NULL;
}

config_t *config_load(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!path || !*path) {
        snprintf(err, errlen, "no config file given");
        return NULL;
    }
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    if (st.st_size > S_MAX_FILE) {
        snprintf(err, errlen, "%s: too large for a config file (%lld bytes)", path,
                 (long long) st.st_size);
        return NULL;
    }
    char *text = s_read_file(path, (size_t) st.st_size, err, errlen);
    if (!text)
        return NULL;
    zconfig_t *root = zconfig_str_load(text);
    free(text);
    if (!root) {
        //  zconfig logs the line number and reason itself; it does not return them.
        snprintf(err, errlen,
                 "%s: not valid ZPL (indent by 4 spaces, write name = value; "
                 "zconfig logged the line above)", path);
        return NULL;
    }
    return s_wrap(root, err, errlen);
}

config_t *config_parse(const char *text, char *err, size_t errlen)
{
    zconfig_t *root = text ? zconfig_str_load(text) : NULL;
    if (!root) {
        snprintf(err, errlen,
                 "config text is not valid ZPL (indent by 4 spaces, write name = value)");
        return NULL;
    }
    return s_wrap(root, err, errlen);
}

void config_destroy(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if (!(*self_p)->view)
        zconfig_destroy(&(*self_p)->root);
    free(*self_p);
    *self_p = NULL;
}

//  Value at path, or NULL when the key is absent or is a bare section.
static const char *s_value(config_t *self, const char *path)
{
    if (!self || !self->root || !path)
        return NULL;
    zconfig_t *item = zconfig_locate(self->root, path);
    if (!item)
        return NULL;
    const char *value = zconfig_value(item);
    if (value && *value == '\0' && zconfig_child(item))
        return NULL;
    return value;
}

const char *config_str(config_t *self, const char *path, const char *dflt)
{
    const char *value = s_value(self, path);
    return value ? value : dflt;
}

//  Unsigned decimal digits at *text; advances *text. -1 with errno set on error.
static int s_digits(const char **text, int64_t *out)
{
    const char *p = *text;
    int64_t value = 0;
    if (*p < '0' || *p > '9') {
        errno = EINVAL;
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        if (value > (INT64_MAX - digit) / 10) {
            errno = ERANGE;
            return -1;
        }
        value = value * 10 + digit;
    }
    *text = p;
    *out = value;
    return 0;
}

//  Multiply a non-negative value by unit, failing with ERANGE on overflow.
static int s_scale(int64_t value, int64_t unit, int64_t *out)
{
    if (value > INT64_MAX / unit) {
        errno = ERANGE;
        return -1;
    }
    *out = value * unit;
    return 0;
}

static int s_parse_int(const char *text, int64_t *out)
{
    if (!text) {
        errno = EINVAL;
        return -1;
    }
    bool negative = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    int64_t value;
    if (s_digits(&text, &value) != 0)
        return -1;
    if (*text != '\0') {
        errno = EINVAL;
        return -1;
    }
    *out = negative ? -value : value;
    return 0;
}

int config_parse_size(const char *text, int64_t *out)
{
    int64_t value, unit = 1;
    if (!text || s_digits(&text, &value) != 0) {
        if (!text)
            errno = EINVAL;
        return -1;
    }
    if (*text == 'K' || *text == 'k')
        unit = s_kib;
    else if (*text == 'M' || *text == 'm')
        unit = s_mib;
    else if (*text == 'G' || *text == 'g')
        unit = s_gib;
    if (unit != 1)
        text++;
    if (*text != '\0') {
        errno = EINVAL;
        return -1;
    }
    return s_scale(value, unit, out);
}

int config_parse_duration_ms(const char *text, int64_t *out)
{
    int64_t value, unit;
    if (!text || s_digits(&text, &value) != 0) {
        if (!text)
            errno = EINVAL;
        return -1;
    }
    if (strcmp(text, "") == 0 || strcmp(text, "ms") == 0)
        unit = 1;
    else if (strcmp(text, "s") == 0)
        unit = 1000;
    else if (strcmp(text, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(text, "h") == 0)
        unit = 3600 * 1000;
    else {
        errno = EINVAL;
        return -1;
    }
    return s_scale(value, unit, out);
}

int config_parse_bool(const char *text, bool *out)
{
    static const char *const trues[] = {"true", "yes", "on", "1"};
    static const char *const falses[] = {"false", "no", "off", "0"};
    if (!text)
        return -1;
    for (size_t i = 0; i < sizeof trues / sizeof trues[0]; i++) {
        if (strcasecmp(text, trues[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, falses[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static void s_format_int(int64_t value, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRId64, value);
}

//  Largest unit that divides value exactly, so limits read like the config.
static void s_format_size(int64_t value, char *buf, size_t len)
{
    if (value != 0 && value % s_gib == 0)
        snprintf(buf, len, "%" PRId64 "G", value / s_gib);
    else if (value != 0 && value % s_mib == 0)
        snprintf(buf, len, "%" PRId64 "M", value / s_mib);
    else if (value != 0 && value % s_kib == 0)
        snprintf(buf, len, "%" PRId64 "K", value / s_kib);
    else
        snprintf(buf, len, "%" PRId64, value);
}

static void s_format_duration(int64_t value, char *buf, size_t len)
{
    if (value != 0 && value % 3600000 == 0)
        snprintf(buf, len, "%" PRId64 "h", value / 3600000);
    else if (value != 0 && value % 60000 == 0)
        snprintf(buf, len, "%" PRId64 "m", value / 60000);
    else if (value != 0 && value % 1000 == 0)
        snprintf(buf, len, "%" PRId64 "s", value / 1000);
    else
        snprintf(buf, len, "%" PRId64 "ms", value);
}

static const s_numeric_t s_int_kind = {s_parse_int, s_format_int, "an integer", ""};
static const s_numeric_t s_size_kind = {config_parse_size, s_format_size, "a size",
                                        " (use 16M, 512K, 1G or a byte count)"};
static const s_numeric_t s_duration_kind = {config_parse_duration_ms, s_format_duration,
                                            "a duration", " (use 250ms, 10s, 2m, 1h)"};

static int s_numeric(config_t *self, const char *path, int64_t dflt, int64_t min,
                     int64_t max, int64_t *out, char *err, size_t errlen,
                     const s_numeric_t *kind)
{
    const char *text = s_value(self, path);
    if (!text) {
        *out = dflt;
        return 0;
    }
    int64_t value;
    int rc = kind->parse(text, &value);
    if (rc != 0 && errno != ERANGE) {
        snprintf(err, errlen, "%s: \"%s\" is not %s%s", path, text, kind->what, kind->hint);
        return -1;
    }
    if (rc != 0 || value < min || value > max) {
        char lo[32], hi[32];
        kind->format(min, lo, sizeof lo);
        kind->format(max, hi, sizeof hi);
        snprintf(err, errlen, "%s: \"%s\" is out of range (%s..%s)", path, text, lo, hi);
        return -1;
    }
    *out = value;
    return 0;
}

int config_int(config_t *self, const char *path, int64_t dflt, int64_t min, int64_t max,
               int64_t *out, char *err, size_t errlen)
{
    return s_numeric(self, path, dflt, min, max, out, err, errlen, &s_int_kind);
}

int config_size(config_t *self, const char *path, int64_t dflt, int64_t min, int64_t max,
                int64_t *out, char *err, size_t errlen)
{
    return s_numeric(self, path, dflt, min, max, out, err, errlen, &s_size_kind);
}

int config_duration_ms(config_t *self, const char *path, int64_t dflt, int64_t min,
                       int64_t max, int64_t *out, char *err, size_t errlen)
{
    return s_numeric(self, path, dflt, min, max, out, err, errlen, &s_duration_kind);
}

int config_bool(config_t *self, const char *path, bool dflt, bool *out, char *err,
                size_t errlen)
{
    const char *text = s_value(self, path);
    if (!text) {
        *out = dflt;
        return 0;
    }
    if (config_parse_bool(text, out) != 0) {
        snprintf(err, errlen,
                 "%s: \"%s\" is not a boolean (use true/false, yes/no, on/off, 1/0)", path,
                 text);
        return -1;
    }
    return 0;
}

//  Problems of config_check_keys, one after another, "; " between them.
typedef struct {
    char *buf;          // the caller's err
    size_t size;        // its size
    size_t used;        // bytes written
    int count;          // problems found
} s_unknown_t;

static void s_unknown(s_unknown_t *u, const char *path, const char *what, const char *name,
                      const char *const known[])
{
    const char *close = suggest_closest(name, known);
    if (u->used < u->size) {
        int n = snprintf(u->buf + u->used, u->size - u->used, "%s%s: unknown %s", u->count ? "; " : "",
                         path, what);
        u->used += n > 0 ? (size_t) n : 0;
    }
    if (close && u->used < u->size) {
        int n = snprintf(u->buf + u->used, u->size - u->used, " (did you mean \"%s\"?)", close);
        u->used += n > 0 ? (size_t) n : 0;
    }
    u->count++;
}

int config_check_keys(config_t *self, const config_section_keys_t sections[], char *err,
                      size_t errlen)
{
    s_unknown_t u = { err, errlen, 0, 0 };
    if (errlen)
        err[0] = '\0';
    if (!self)
        return 0;           // no file: every default
    const char *names[64];
    size_t n_names = 0;
    for (size_t s = 0; sections[s].name && n_names + 1 < sizeof names / sizeof names[0]; s++)
        names[n_names++] = sections[s].name;
    names[n_names] = NULL;
    for (zconfig_t *sect = zconfig_child(self->root); sect; sect = zconfig_next(sect)) {
        const char *name = zconfig_name(sect);
        const config_section_keys_t *known = NULL;
        for (size_t s = 0; sections[s].name && !known; s++)
            if (strcmp(sections[s].name, name) == 0)
                known = &sections[s];
        if (!known) {
            s_unknown(&u, name, "section", name, names);
            continue;
        }
        for (zconfig_t *item = zconfig_child(sect); item; item = zconfig_next(item)) {
            const char *key = zconfig_name(item);
            bool found = false;
            for (size_t i = 0; known->keys[i] && !found; i++)
                found = strcmp(known->keys[i], key) == 0;
            if (!found) {
                char path[256];
                snprintf(path, sizeof path, "%s/%s", name, key);
                s_unknown(&u, path, "key", key, known->keys);
            }
        }
    }
    if (u.count && u.used >= errlen && errlen > 4)
        memcpy(err + errlen - 4, "...", 4);     // cut: say so
    return u.count ? -1 : 0;
}

config_t *config_section(config_t *self, const char *name, size_t index)
{
    for (zconfig_t *item = zconfig_child(self->root); item; item = zconfig_next(item)) {
        if (strcmp(zconfig_name(item), name) != 0 || index-- > 0)
            continue;
        config_t *view = calloc(1, sizeof *view);
        if (view) {
            view->root = item;
            view->view = true;
        }
        return view;
    }
    return NULL;
}
