/*  fuzz_hmc_xml — libFuzzer target for every parser of collector/hmc/hmc_xml.h
    and a round-trip property of its builders.

    Every input goes, as is, to each parser (systems, partitions, logon
    response and request, job response and request, HTTP error); every
    string field must come back NUL-terminated inside its array, and every
    owned result is freed through the API. The input is also cut at its first
    NUL bytes into user / password / parameter value: whatever the builders
    accept must parse back, through our own parsers, to exactly the same text.

    clang -g -O1 -fsanitize=fuzzer,address,undefined -I collector/hmc \
        $(pkg-config --cflags libxml-2.0) tests/fuzz/fuzz_hmc_xml.c \
        collector/hmc/hmc_xml.c $(pkg-config --libs libxml-2.0)
    Seeds: the XML files of tests/fixtures/hmc. */
#include "hmc_xml.h"

#include <libxml/parser.h>

#include <stdlib.h>
#include <string.h>

#define S_TERMINATED(field) \
    do { if (!memchr((field), '\0', sizeof(field))) abort(); } while (0)

static void s_parsers(const char *text, size_t size)
{
    hmc_xml_diag_t diag = {0};
    hmc_system_t *systems = NULL;
    size_t count = 0;
    if (hmc_parse_systems(text, size, &systems, &count, &diag) == 0) {
        for (size_t i = 0; i < count; i++) {
            S_TERMINATED(systems[i].uuid);
            S_TERMINATED(systems[i].name);
            S_TERMINATED(systems[i].serial);
            if (systems[i].compat_mode_count > HMC_MAX_COMPAT_MODES)
                abort();
            for (size_t m = 0; m < systems[i].compat_mode_count; m++)
                S_TERMINATED(systems[i].compat_modes[m]);
        }
        if ((count == 0) != (systems == NULL))
            abort();
    }
    else if (systems || count)
        abort();
    free(systems);
    S_TERMINATED(diag.warning);
    S_TERMINATED(diag.error);

    hmc_partition_t *parts = NULL;
    if (hmc_parse_partitions(text, size, &parts, &count, NULL) == 0)
        for (size_t i = 0; i < count; i++) {
            S_TERMINATED(parts[i].name);
            S_TERMINATED(parts[i].system_uuid);
            if (parts[i].system_uuid[0] && !hmc_uuid_valid(parts[i].system_uuid))
                abort();
        }
    free(parts);

    char *token = hmc_parse_logon_response(text, size, NULL);
    if (token && (!token[0] || strpbrk(token, " \t\r\n")))
        abort();
    free(token);

    hmc_job_status_t job;
    if (hmc_parse_job_response(text, size, &job, NULL) == 0) {
        S_TERMINATED(job.job_id);
        if (job.job_id[0] && !hmc_job_id_valid(job.job_id))
            abort();
        char line[256];
        hmc_job_describe(&job, line, sizeof line);
        (void) hmc_kv_get(job.results, job.result_count, "result");
        hmc_job_status_clear(&job);
    }

    hmc_http_error_t err;
    if (hmc_parse_http_error(text, size, &err, NULL) == 0)
        S_TERMINATED(err.message);

    hmc_job_request_t req;
    if (hmc_parse_job_request(text, size, &req, NULL) == 0)
        hmc_job_request_clear(&req);

    char user[64], password[64];
    (void) hmc_parse_logon_request(text, size, user, sizeof user, password, sizeof password, NULL);
}

//  Builders: what they accept parses back to the same text.
static void s_builders(const char *a, const char *b)
{
    char err[256];
    char *xml = hmc_build_logon_request(a, b, err, sizeof err);
    if (xml) {
        char user[300], password[1100];
        if (hmc_parse_logon_request(xml, strlen(xml), user, sizeof user, password,
                                    sizeof password, NULL) != 0)
            abort();
        //  The user name is trimmed on the way back; the password is exact.
        if (strcmp(password, b) != 0)
            abort();
        free(xml);
    }
    const hmc_param_t params[2] = {{"Value", a}, {"Other", b}};
    xml = hmc_build_job_request("Migrate", "LogicalPartition", params, 2, err, sizeof err);
    if (xml) {
        hmc_job_request_t req;
        if (hmc_parse_job_request(xml, strlen(xml), &req, NULL) != 0 || req.param_count != 2
            || strcmp(req.params[0].value, a) != 0 || strcmp(req.params[1].value, b) != 0
            || strcmp(req.operation, "Migrate") != 0)
            abort();
        hmc_job_request_clear(&req);
        free(xml);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    hmc_xml_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    s_parsers(text, size);

    const char *a = text;
    const char *b = text + strlen(text);
    b = b < text + size ? b + 1 : b;
    s_builders(a, b);
    free(text);
    return 0;
}
