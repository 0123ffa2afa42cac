/*  hmc_inventory — `ferry-collector hmc-inventory`. See hmc_inventory.h. */
#include "hmc_inventory.h"

#include "hmc_client.h"
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PROG "ferry-collector hmc-inventory"
#define S_MAX_PASSWORD 1024

typedef struct {
    const char *url;
    const char *user;
    const char *password_file;
    const char *ca_file;
    bool insecure;
    bool json;
} s_opts_t;

static void s_usage(FILE *out)
{
    fprintf(out, "usage: ferry-collector hmc-inventory --url https://HOST[:PORT] --user USER\n"
                 "           --password-file FILE [--ca-file FILE | --insecure] [--json]\n"
                 "  List the managed systems and partitions of an HMC (REST API).\n"
                 "  --password-file  first line is the password; must be chmod 600\n"
                 "  --ca-file        PEM certificate of the HMC or of its CA (default: system CAs)\n"
                 "  --insecure       do not verify the HMC's certificate (test setups only)\n"
                 "  --json           print {\"systems\": [...], \"partitions\": [...]}\n");
}

static void s_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

//  0 with opts filled, 1 for --help, -1 (message printed) for bad options.
static int s_parse(int argc, char **argv, s_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            return 1;
        if (strcmp(arg, "--insecure") == 0) {
            opts->insecure = true;
            continue;
        }
        if (strcmp(arg, "--json") == 0) {
            opts->json = true;
            continue;
        }
        static const char *const names[] = {"--url", "--user", "--password-file", "--ca-file"};
        const char **slots[] = {&opts->url, &opts->user, &opts->password_file, &opts->ca_file};
        bool known = false;
        for (size_t k = 0; k < sizeof names / sizeof names[0] && !known; k++) {
            size_t len = strlen(names[k]);
            if (strncmp(arg, names[k], len) != 0 || (arg[len] != '\0' && arg[len] != '='))
                continue;
            known = true;
            const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
            if (!value) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "%s: %s needs a value\n", S_PROG, names[k]);
                    return -1;
                }
                value = argv[++i];
            }
            if (!value[0]) {
                fprintf(stderr, "%s: %s needs a non-empty value\n", S_PROG, names[k]);
                return -1;
            }
            *slots[k] = value;
        }
        if (!known) {
            fprintf(stderr, "%s: unknown argument '%s'\n", S_PROG, arg);
            return -1;
        }
    }
    if (!opts->url || !opts->user || !opts->password_file) {
        fprintf(stderr, "%s: --url, --user and --password-file are required\n", S_PROG);
        return -1;
    }
    if (opts->insecure && opts->ca_file) {
        fprintf(stderr, "%s: --ca-file and --insecure exclude each other\n", S_PROG);
        return -1;
    }
    if (opts->ca_file && access(opts->ca_file, R_OK) != 0) {
        fprintf(stderr, "%s: cannot read CA file %s: %s\n", S_PROG, opts->ca_file,
                strerror(errno));
        return -1;
    }
    return 0;
}

//  First line of a private file, malloc'd (caller wipes and frees). NULL + err.
static char *s_read_password(const char *path, char *err, size_t errlen)
{
    if (keys_check_private(path, err, errlen) != 0)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    //  Check the file actually opened, not the one stat() saw a moment before.
    struct stat st;
    char buf[S_MAX_PASSWORD + 2];
    size_t len = 0;
    char *password = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0
        || st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s changed while being read, or is not a private regular file",
                 path);
        goto done;
    }
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    buf[len] = '\0';
    size_t line = strcspn(buf, "\r\n");
    if (line > S_MAX_PASSWORD) {
        snprintf(err, errlen, "the password in %s is longer than %d bytes", path, S_MAX_PASSWORD);
        goto done;
    }
    buf[line] = '\0';
    if (line == 0) {
        snprintf(err, errlen, "%s holds no password on its first line", path);
        goto done;
    }
    password = strdup(buf);
    if (!password)
        snprintf(err, errlen, "out of memory");
done:
    s_wipe(buf, sizeof buf);
    close(fd);
    return password;
}

// ------------------------------------------------------------------ JSON

static json_t *s_str(const char *text)
{
    json_t *v = text && text[0] ? json_string(text) : NULL;
    return v ? v : json_null();
}

static json_t *s_int(long long value)
{
    return value < 0 ? json_null() : json_integer(value);
}

static int s_print_json(const hmc_system_t *systems, size_t system_count,
                        const hmc_partition_t *parts, size_t part_count)
{
    json_t *root = json_object();
    json_t *sys_list = json_array();
    json_t *part_list = json_array();
    int rc = -1;
    if (!root || !sys_list || !part_list)
        goto done;
    for (size_t i = 0; i < system_count; i++) {
        const hmc_system_t *s = &systems[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(sys_list, o) != 0)
            goto done;
        json_object_set_new(o, "uuid", s_str(s->uuid));
        json_object_set_new(o, "name", s_str(s->name));
        json_object_set_new(o, "state", s_str(s->state));
        json_object_set_new(o, "serial", s_str(s->serial));
        json_object_set_new(o, "machine_type", s_str(s->machine_type));
        json_object_set_new(o, "model", s_str(s->model));
        json_object_set_new(o, "max_active_migrations", s_int(s->max_active_migrations));
        json_object_set_new(o, "active_migrations_in_progress",
                            s_int(s->active_migrations_in_progress));
        json_object_set_new(o, "lpm_capable", json_boolean(s->lpm_capable));
    }
    for (size_t i = 0; i < part_count; i++) {
        const hmc_partition_t *p = &parts[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(part_list, o) != 0)
            goto done;
        json_object_set_new(o, "uuid", s_str(p->uuid));
        json_object_set_new(o, "name", s_str(p->name));
        json_object_set_new(o, "id", s_int(p->id));
        json_object_set_new(o, "state", s_str(p->state));
        json_object_set_new(o, "type", s_str(p->type));
        json_object_set_new(o, "rmc_state", s_str(p->rmc_state));
        json_object_set_new(o, "migration_state", s_str(p->migration_state));
        json_object_set_new(o, "system_uuid", s_str(p->system_uuid));
    }
    if (json_object_set(root, "systems", sys_list) != 0
        || json_object_set(root, "partitions", part_list) != 0)
        goto done;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        goto done;
    printf("%s\n", text);
    free(text);
    rc = 0;
done:
    json_decref(sys_list);
    json_decref(part_list);
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "%s: out of memory printing JSON\n", S_PROG);
    return rc;
}

// ------------------------------------------------------------------ tables

#define S_MAX_COLS 8

typedef struct {
    size_t cols;
    size_t rows;                       // including the header
    char (*cells)[S_MAX_COLS][HMC_NAME_SIZE];
} s_table_t;

static void s_print_table(const s_table_t *t)
{
    size_t width[S_MAX_COLS] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            size_t len = strlen(t->cells[r][c]);
            if (len > width[c])
                width[c] = len;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            bool last = c + 1 == t->cols;
            printf("%-*s%s", last ? 0 : (int) width[c], t->cells[r][c], last ? "\n" : "  ");
        }
    }
}

static void s_cell(s_table_t *t, size_t row, size_t col, const char *text)
{
    snprintf(t->cells[row][col], HMC_NAME_SIZE, "%s", text && text[0] ? text : "-");
}

static void s_cell_int(s_table_t *t, size_t row, size_t col, long long value)
{
    if (value < 0)
        s_cell(t, row, col, "-");
    else
        snprintf(t->cells[row][col], HMC_NAME_SIZE, "%lld", value);
}

static int s_print_tables(const hmc_system_t *systems, size_t system_count,
                          const hmc_partition_t *parts, size_t part_count)
{
    s_table_t t = {.cols = 7, .rows = system_count + 1};
    t.cells = calloc(t.rows, sizeof *t.cells);
    if (!t.cells)
        goto nomem;
    const char *sys_head[] = {"SYSTEM", "STATE", "TYPE-MODEL", "SERIAL", "LPM", "MIGRATIONS",
                              "UUID"};
    for (size_t c = 0; c < t.cols; c++)
        s_cell(&t, 0, c, sys_head[c]);
    for (size_t i = 0; i < system_count; i++) {
        const hmc_system_t *s = &systems[i];
        size_t r = i + 1;
        char buf[HMC_NAME_SIZE];
        s_cell(&t, r, 0, s->name);
        s_cell(&t, r, 1, s->state);
        snprintf(buf, sizeof buf, "%s-%s", s->machine_type[0] ? s->machine_type : "?",
                 s->model[0] ? s->model : "?");
        s_cell(&t, r, 2, buf);
        s_cell(&t, r, 3, s->serial);
        s_cell(&t, r, 4, s->lpm_capable ? "yes" : "no");
        if (s->max_active_migrations < 0 || s->active_migrations_in_progress < 0)
            s_cell(&t, r, 5, "-");
        else {
            snprintf(buf, sizeof buf, "%d/%d", s->active_migrations_in_progress,
                     s->max_active_migrations);
            s_cell(&t, r, 5, buf);
        }
        s_cell(&t, r, 6, s->uuid);
    }
    s_print_table(&t);
    free(t.cells);

    t = (s_table_t) {.cols = 8, .rows = part_count + 1};
    t.cells = calloc(t.rows, sizeof *t.cells);
    if (!t.cells)
        goto nomem;
    const char *part_head[] = {"PARTITION", "ID", "STATE", "TYPE", "RMC", "MIGRATION",
                               "SYSTEM", "UUID"};
    for (size_t c = 0; c < t.cols; c++)
        s_cell(&t, 0, c, part_head[c]);
    for (size_t i = 0; i < part_count; i++) {
        const hmc_partition_t *p = &parts[i];
        size_t r = i + 1;
        s_cell(&t, r, 0, p->name);
        s_cell_int(&t, r, 1, p->id);
        s_cell(&t, r, 2, p->state);
        s_cell(&t, r, 3, p->type);
        s_cell(&t, r, 4, p->rmc_state);
        s_cell(&t, r, 5, p->migration_state);
        const char *system = p->system_uuid;
        for (size_t k = 0; k < system_count; k++)
            if (systems[k].name[0] && strcmp(systems[k].uuid, p->system_uuid) == 0)
                system = systems[k].name;
        s_cell(&t, r, 6, system);
        s_cell(&t, r, 7, p->uuid);
    }
    printf("\n");
    s_print_table(&t);
    free(t.cells);
    return 0;
nomem:
    fprintf(stderr, "%s: out of memory\n", S_PROG);
    return -1;
}

// ------------------------------------------------------------------ main

int hmc_inventory_main(int argc, char **argv)
{
    s_opts_t opts;
    int parsed = s_parse(argc, argv, &opts);
    if (parsed == 1) {
        s_usage(stdout);
        return 0;
    }
    if (parsed != 0) {
        s_usage(stderr);
        return 2;
    }
    char err[512];
    char *password = s_read_password(opts.password_file, err, sizeof err);
    if (!password) {
        fprintf(stderr, "%s: password file refused: %s\n", S_PROG, err);
        return 1;
    }
    if (opts.insecure)
        fprintf(stderr, "%s: WARNING: --insecure: the HMC's TLS certificate is NOT verified; "
                        "anyone on the path can read the password\n", S_PROG);
    hmc_options_t hopts = {.url = opts.url, .user = opts.user, .password = password,
                           .ca_file = opts.ca_file, .insecure = opts.insecure};
    hmc_session_t *session = hmc_session_new(&hopts, err, sizeof err);
    s_wipe(password, strlen(password));
    free(password);
    if (!session) {
        fprintf(stderr, "%s: %s\n", S_PROG, err);
        return 2;
    }
    int rc = 1;
    hmc_system_t *systems = NULL;
    hmc_partition_t *parts = NULL;
    size_t system_count = 0, part_count = 0;
    if (hmc_logon(session) != 0) {
        fprintf(stderr, "%s: %s\n", S_PROG, hmc_error(session));
        goto done;
    }
    if (hmc_list_systems(session, &systems, &system_count) != 0
        || hmc_list_partitions(session, NULL, &parts, &part_count) != 0) {
        fprintf(stderr, "%s: %s\n", S_PROG, hmc_error(session));
        hmc_logoff(session);
        goto done;
    }
    if (hmc_logoff(session) != 0)
        fprintf(stderr, "%s: warning: logoff: %s\n", S_PROG, hmc_error(session));
    int printed = opts.json ? s_print_json(systems, system_count, parts, part_count)
                            : s_print_tables(systems, system_count, parts, part_count);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output: %s\n", S_PROG, strerror(errno));
        printed = -1;
    }
    rc = printed == 0 ? 0 : 1;
done:
    free(systems);
    free(parts);
    hmc_session_destroy(&session);
    return rc;
}
