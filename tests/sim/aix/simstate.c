/*  simstate — read and atomically write a simulated partition's state. */
#include "simstate.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const sim_commands[] = {"lsattr", "uname", "hostname", "oslevel", "lspv", "lsvg",
                                    "bootlist", "lparstat", "lsdev", "lssrc", "lslpp", "getconf",
                                    NULL};

static void s_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

int sim_state_dir(const char *part_dir, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/state", part_dir);
    if (n < 0 || (size_t) n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static int s_path(const char *dir, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t) n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

//  Read all of fd into a malloc'd NUL-terminated buffer (at most SIM_FILE_MAX).
static char *s_read_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            if (cap >= SIM_FILE_MAX) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                break;
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t) n;
    }
    int saved = errno;
    free(buf);
    errno = saved ? saved : ENOMEM;
    return NULL;
}

char *sim_read(const char *state_dir, const char *name)
{
    char path[4096];
    if (s_path(state_dir, name, path, sizeof path) != 0)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = s_read_fd(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return text;
}

//  Remove leading and trailing blanks in place; returns the new start.
static char *s_trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char) text[len - 1]))
        text[--len] = '\0';
    return text;
}

int sim_read_value(const char *state_dir, const char *name, char *buf, size_t len)
{
    char *text = sim_read(state_dir, name);
    if (!text)
        return -1;
    char *cursor = text;
    char *line = sim_next_line(&cursor);
    char *value = line ? s_trim(line) : NULL;
    int rc = -1;
    if (!value || !*value)
        errno = ENODATA;
    else if (strlen(value) >= len)
        errno = ENAMETOOLONG;
    else {
        memcpy(buf, value, strlen(value) + 1);
        rc = 0;
    }
    free(text);
    return rc;
}

static int s_write_all(int fd, const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t) n;
    }
    return 0;
}

int sim_write_path(const char *path, const char *text, char *errbuf, size_t errlen)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long) getpid());
    if (n < 0 || (size_t) n >= sizeof tmp) {
        s_error(errbuf, errlen, "%s: path too long", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        s_error(errbuf, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (s_write_all(fd, text) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail: {
    int saved = errno;
    s_error(errbuf, errlen, "cannot write %s: %s", path, strerror(saved));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}
}

int sim_write(const char *state_dir, const char *name, const char *text, char *errbuf,
              size_t errlen)
{
    char path[4096];
    if (s_path(state_dir, name, path, sizeof path) != 0) {
        s_error(errbuf, errlen, "%s/%s: path too long", state_dir, name);
        return -1;
    }
    return sim_write_path(path, text, errbuf, errlen);
}

int sim_write_value(const char *state_dir, const char *name, const char *value, char *errbuf,
                    size_t errlen)
{
    size_t len = strlen(value);
    char *text = malloc(len + 2);
    if (!text) {
        s_error(errbuf, errlen, "out of memory");
        return -1;
    }
    memcpy(text, value, len);
    memcpy(text + len, "\n", 2);
    int rc = sim_write(state_dir, name, text, errbuf, errlen);
    free(text);
    return rc;
}

int sim_lock(const char *state_dir, char *errbuf, size_t errlen)
{
    char path[4096];
    if (s_path(state_dir, ".lock", path, sizeof path) != 0) {
        s_error(errbuf, errlen, "%s: path too long", state_dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        s_error(errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        s_error(errbuf, errlen, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void sim_unlock(int fd)
{
    if (fd >= 0)
        close(fd);  // closing releases the flock
}

char *sim_next_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *newline = strchr(line, '\n');
    if (newline) {
        *newline = '\0';
        *cursor = newline + 1;
    } else
        *cursor = line + strlen(line);
    return line;
}

size_t sim_split(char *line, char **fields, size_t max)
{
    size_t count = 0;
    char *p = line;
    while (count < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (count == max - 1) {
            fields[count++] = s_trim(p);
            break;
        }
        fields[count++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return count;
}

static bool s_skip_line(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == '\0' || *line == '#';
}

static int s_copy_word(char *dst, size_t len, const char *src)
{
    if (strlen(src) >= len)
        return -1;
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int s_parse_mb(const char *text, uint64_t *mb)
{
    if (!isdigit((unsigned char) *text))
        return -1;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *mb = value;
    return 0;
}

//  One disks line (already split) into disk.
static int s_disk_from_fields(char **f, size_t n, sim_disk_t *disk)
{
    memset(disk, 0, sizeof *disk);
    if (n < 5 || n > 6)
        return -1;
    if (s_copy_word(disk->name, sizeof disk->name, f[0]) != 0
        || s_copy_word(disk->pvid, sizeof disk->pvid, f[1]) != 0
        || s_copy_word(disk->vg, sizeof disk->vg, f[2]) != 0
        || s_copy_word(disk->state, sizeof disk->state, f[3]) != 0
        || s_parse_mb(f[4], &disk->size_mb) != 0)
        return -1;
    if (n == 6 && s_parse_mb(f[5], &disk->used_mb) != 0)
        return -1;
    return 0;
}

int sim_disks_add(sim_disks_t *disks, const sim_disk_t *disk)
{
    sim_disk_t *grown = realloc(disks->items, (disks->count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    disks->items = grown;
    disks->items[disks->count++] = *disk;
    return 0;
}

int sim_disks_parse(const char *text, sim_disks_t *disks, char *errbuf, size_t errlen)
{
    memset(disks, 0, sizeof *disks);
    char *copy = strdup(text);
    if (!copy) {
        s_error(errbuf, errlen, "out of memory");
        return -1;
    }
    char *cursor = copy, *line;
    int line_no = 0;
    while ((line = sim_next_line(&cursor))) {
        line_no++;
        if (s_skip_line(line))
            continue;
        char *f[7];
        size_t n = sim_split(line, f, 7);
        sim_disk_t disk;
        if (s_disk_from_fields(f, n, &disk) != 0) {
            s_error(errbuf, errlen,
                    "disks line %d: expected 'name pvid vg state size_mb [used_mb]'", line_no);
            goto fail;
        }
        if (sim_disks_add(disks, &disk) != 0) {
            s_error(errbuf, errlen, "out of memory");
            goto fail;
        }
    }
    free(copy);
    return 0;
fail:
    free(copy);
    sim_disks_free(disks);
    errno = EINVAL;
    return -1;
}

int sim_disks_load(const char *state_dir, sim_disks_t *disks, char *errbuf, size_t errlen)
{
    memset(disks, 0, sizeof *disks);
    char *text = sim_read(state_dir, SIM_DISKS);
    if (!text) {
        s_error(errbuf, errlen, "cannot read %s/%s: %s", state_dir, SIM_DISKS, strerror(errno));
        return -1;
    }
    int rc = sim_disks_parse(text, disks, errbuf, errlen);
    free(text);
    return rc;
}

int sim_disks_save(const char *state_dir, const sim_disks_t *disks, char *errbuf, size_t errlen)
{
    //  One line is at most 4 names + two 20-digit numbers and separators.
    size_t cap = disks->count * (4 * SIM_NAME_MAX + 48) + 1;
    char *text = malloc(cap);
    if (!text) {
        s_error(errbuf, errlen, "out of memory");
        return -1;
    }
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < disks->count; i++) {
        const sim_disk_t *d = &disks->items[i];
        int n = snprintf(text + len, cap - len, "%s %s %s %s %" PRIu64 " %" PRIu64 "\n", d->name,
                         d->pvid, d->vg, d->state, d->size_mb, d->used_mb);
        len += (size_t) n;
    }
    int rc = sim_write(state_dir, SIM_DISKS, text, errbuf, errlen);
    free(text);
    return rc;
}

void sim_disks_free(sim_disks_t *disks)
{
    free(disks->items);
    memset(disks, 0, sizeof *disks);
}

sim_disk_t *sim_disks_find(const sim_disks_t *disks, const char *name)
{
    for (size_t i = 0; i < disks->count; i++)
        if (strcmp(disks->items[i].name, name) == 0)
            return &disks->items[i];
    return NULL;
}

bool sim_disk_in_vg(const sim_disk_t *disk)
{
    return strcmp(disk->vg, "None") != 0 && strcmp(disk->vg, "none") != 0
           && strcmp(disk->vg, "-") != 0;
}

bool sim_vg_active(const sim_disks_t *disks, const char *vg)
{
    for (size_t i = 0; i < disks->count; i++) {
        const sim_disk_t *d = &disks->items[i];
        if (strcmp(d->vg, vg) == 0 && strcmp(d->state, "-") != 0)
            return true;
    }
    return false;
}

int sim_kvs_set(sim_kvs_t *kvs, const char *label, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    for (size_t i = 0; i < kvs->count; i++) {
        if (strcmp(kvs->items[i].label, label) == 0) {
            free(kvs->items[i].value);
            kvs->items[i].value = copy;
            return 0;
        }
    }
    char *label_copy = strdup(label);
    sim_kv_t *grown = label_copy ? realloc(kvs->items, (kvs->count + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        free(label_copy);
        return -1;
    }
    kvs->items = grown;
    kvs->items[kvs->count++] = (sim_kv_t) {.label = label_copy, .value = copy};
    return 0;
}

int sim_kvs_parse(const char *text, sim_kvs_t *kvs)
{
    memset(kvs, 0, sizeof *kvs);
    char *copy = strdup(text);
    if (!copy)
        return -1;
    char *cursor = copy, *line;
    while ((line = sim_next_line(&cursor))) {
        char *equals = strchr(line, '=');
        if (s_skip_line(line) || !equals)
            continue;
        *equals = '\0';
        //  Labels keep inner spaces (the double space of "Entitled  Capacity").
        if (sim_kvs_set(kvs, s_trim(line), s_trim(equals + 1)) != 0) {
            free(copy);
            sim_kvs_free(kvs);
            errno = ENOMEM;
            return -1;
        }
    }
    free(copy);
    return 0;
}

int sim_kvs_load(const char *state_dir, const char *name, sim_kvs_t *kvs)
{
    memset(kvs, 0, sizeof *kvs);
    char *text = sim_read(state_dir, name);
    if (!text)
        return -1;
    int rc = sim_kvs_parse(text, kvs);
    free(text);
    return rc;
}

int sim_kvs_save(const char *state_dir, const char *name, const sim_kvs_t *kvs, char *errbuf,
                 size_t errlen)
{
    size_t cap = 1;
    for (size_t i = 0; i < kvs->count; i++)
        cap += strlen(kvs->items[i].label) + strlen(kvs->items[i].value) + 2;
    char *text = malloc(cap);
    if (!text) {
        s_error(errbuf, errlen, "out of memory");
        return -1;
    }
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < kvs->count; i++)
        len += (size_t) snprintf(text + len, cap - len, "%s=%s\n", kvs->items[i].label,
                                 kvs->items[i].value);
    int rc = sim_write(state_dir, name, text, errbuf, errlen);
    free(text);
    return rc;
}

const char *sim_kvs_get(const sim_kvs_t *kvs, const char *label)
{
    for (size_t i = 0; i < kvs->count; i++)
        if (strcmp(kvs->items[i].label, label) == 0)
            return kvs->items[i].value;
    return NULL;
}

void sim_kvs_free(sim_kvs_t *kvs)
{
    for (size_t i = 0; i < kvs->count; i++) {
        free(kvs->items[i].label);
        free(kvs->items[i].value);
    }
    free(kvs->items);
    memset(kvs, 0, sizeof *kvs);
}

bool sim_serial_valid(const char *serial)
{
    size_t len = strlen(serial);
    if (len < 1 || len > 16)
        return false;
    for (const char *p = serial; *p; p++)
        if (!isalnum((unsigned char) *p))
            return false;
    return true;
}

int sim_set_systemid(const char *state_dir, const char *prefix, const char *serial, char *errbuf,
                     size_t errlen)
{
    char old[SIM_VALUE_MAX], value[SIM_VALUE_MAX * 2];
    if ((!prefix || !serial)
        && (sim_read_value(state_dir, SIM_SYSTEMID, old, sizeof old) != 0
            || strncmp(old, "IBM,", 4) != 0 || strlen(old) < 7)) {
        s_error(errbuf, errlen, "%s/%s: no IBM,NN<serial> system id to change", state_dir,
                SIM_SYSTEMID);
        errno = EINVAL;
        return -1;
    }
    if ((serial && !sim_serial_valid(serial)) || (prefix && strlen(prefix) != 2)) {
        s_error(errbuf, errlen, "bad system id part: the prefix has 2 characters, the serial "
                                "1-16 letters and digits");
        errno = EINVAL;
        return -1;
    }
    snprintf(value, sizeof value, "IBM,%.2s%s", prefix ? prefix : old + 4,
             serial ? serial : old + 6);
    return sim_write_value(state_dir, SIM_SYSTEMID, value, errbuf, errlen);
}

void sim_uuid(char *buf, size_t len)
{
    unsigned char b[16] = {0};
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b) {
        //  No entropy source: still unique enough for a simulated boot id.
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t seed[2] = {(uint64_t) now.tv_nsec ^ ((uint64_t) getpid() << 32),
                            (uint64_t) now.tv_sec};
        memcpy(b, seed, sizeof b);
    }
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
    snprintf(buf, len,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

uint64_t sim_hash(const char *text)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        hash ^= *p;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

void sim_uname_f(const char *systemid, const char *partition, char *buf, size_t len)
{
    //  Only the partition number counts: renaming a partition keeps uname -f.
    char key[2 * SIM_VALUE_MAX];
    long number = strtol(partition, NULL, 10);
    snprintf(key, sizeof key, "%s/%ld", systemid, number);
    snprintf(buf, len, "%016" PRIX64, sim_hash(key));
}

int sim_fileset_level(const char *oslevel, char *buf, size_t len)
{
    unsigned vr, tl, sp, build;
    char tail;
    if (sscanf(oslevel, "%4u-%2u-%2u-%4u%c", &vr, &tl, &sp, &build, &tail) != 4 || vr < 100)
        return -1;
    int n = snprintf(buf, len, "%u.%u.%u.0", vr / 1000, (vr / 100) % 10, tl);
    return n < 0 || (size_t) n >= len ? -1 : 0;
}
