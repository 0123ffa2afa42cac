/*  hmc_client — one session with one HMC's REST API over HTTPS (libcurl).

    A session holds one libcurl easy handle (connections kept alive between
    requests) and, once logged on, one X-API-Session token. It is not
    thread-safe: one thread (the collector's HMC worker) drives it; separate
    sessions may run in separate threads.

    Behaviour every caller can rely on:
    - Logon: PUT /rest/api/web/Logon (LogonRequest); the token goes in the
      X-API-Session header of every later request. Logoff: DELETE the same URL.
    - A request (other than the logon itself) answered 401 makes the session
      log on again ONCE and retry the request ONCE. A second 401 is an error:
      there is never a loop (HMC accounts lock after repeated failures).
    - Port: the URL's, else opts.default_port (443). When the URL named no
      port and the connection itself is refused (CURLE_COULDNT_CONNECT) before
      any request succeeded, opts.fallback_port (12443, HMC V10 and earlier)
      is tried once and, when it answers, used for the rest of the session.
    - TLS: peer and host name are verified against opts.ca_file (or the
      system CAs) unless opts.insecure; TLS 1.2 at least; https only; no redirects.
    - Names (partition, system) and UUIDs are checked (names.h, hmc_uuid_valid)
      before they reach a URL or a job parameter; a search value is URL-encoded.
    - Every failure leaves ONE readable message in hmc_error(): the
      HttpErrorResponse Message of the HMC, a TLS / connection / time-out
      explanation, or the reason a value was refused. Secrets (password,
      token) never appear in messages or logs.

    Return convention: 0 on success, -1 on failure (message in hmc_error()). */
#ifndef FERRY_HMC_CLIENT_H
#define FERRY_HMC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "hmc_xml.h"

typedef struct _hmc_session_t hmc_session_t;

//  Zero-initialise, then fill; 0 / NULL means the default shown.
typedef struct {
    const char *url;           // "https://HOST[:PORT]" (a trailing "/" allowed, no path); required
    const char *user;          // HMC user; required
    const char *password;      // required; copied (the copy is wiped on destroy). Read it
                               // from a file checked with keys_check_private().
    const char *ca_file;       // PEM file of the CA or of the HMC's own certificate; NULL = system CAs
    bool insecure;             // skip peer and host verification (the caller warns about it)
    int timeout_ms;            // whole request; 0 = 120000
    int connect_timeout_ms;    // TCP + TLS connect; 0 = min(timeout, 15000)
    int default_port;          // port when the URL has none; 0 = 443
    int fallback_port;         // see above; 0 = 12443, -1 = no fallback
    size_t max_body;           // largest answer accepted; 0 = 64 MiB
} hmc_options_t;

//  The four LPM jobs of a LogicalPartition.
typedef enum {
    HMC_OP_MIGRATE_VALIDATE,   // "MigrateValidate" (migrlpar -o v)
    HMC_OP_MIGRATE,            // "Migrate"         (migrlpar -o m)
    HMC_OP_MIGRATE_RECOVER,    // "MigrateRecover"  (migrlpar -o r), takes Force=true
    HMC_OP_MIGRATE_ABORT,      // "MigrateAbort"    (migrlpar -o s)
} hmc_job_op_t;

//  New session; nothing is sent yet. opts and its strings are borrowed for
//  the call only (everything needed is copied). NULL + message in err when an
//  option is invalid (URL not https://HOST[:PORT], missing user/password, ...).
hmc_session_t *hmc_session_new(const hmc_options_t *opts, char *err, size_t errlen);

//  Free the session and NULL *self_p. Does NOT log off: call hmc_logoff()
//  first. Password and token copies are wiped. NULL-safe.
void hmc_session_destroy(hmc_session_t **self_p);

//  Last failure, one line (borrowed, valid until the next call on the session).
const char *hmc_error(hmc_session_t *self);

//  HTTP status of the last answer (after any retry), 0 when none arrived.
int hmc_http_status(hmc_session_t *self);

//  "https://HOST:PORT" in use (after a fallback, the fallback port). Borrowed.
const char *hmc_base_url(hmc_session_t *self);

//  True while the session holds a token.
bool hmc_logged_on(hmc_session_t *self);

//  Log on (again). Replaces any token held. A 401 is reported as wrong
//  credentials, with the HMC's message when it gave one.
int hmc_logon(hmc_session_t *self);

//  Log off and forget the token. Without a token, does nothing. A 401 (the
//  session had already expired) counts as success.
int hmc_logoff(hmc_session_t *self);

// ------------------------------------------------------------------ inventory
//  Arrays are malloc'd (caller frees; NULL when the count is 0). Parser
//  warnings are logged (log_warn), not errors.

//  GET /rest/api/uom/ManagedSystem.
int hmc_list_systems(hmc_session_t *self, hmc_system_t **systems_p, size_t *count_p);

//  GET /rest/api/uom/ManagedSystem/{uuid}.
int hmc_get_system(hmc_session_t *self, const char *uuid, hmc_system_t *system);

//  GET /rest/api/uom/ManagedSystem/search/(SystemName=='NAME') with NAME
//  URL-encoded; name must pass name_valid(NAME_SYSTEM). *found false on 204
//  (or when no entry carries exactly that name); *system filled when found.
int hmc_find_system(hmc_session_t *self, const char *name, hmc_system_t *system, bool *found);

//  GET /rest/api/uom/LogicalPartition, or with system_uuid
//  /rest/api/uom/ManagedSystem/{system_uuid}/LogicalPartition.
int hmc_list_partitions(hmc_session_t *self, const char *system_uuid,
                        hmc_partition_t **partitions_p, size_t *count_p);

//  GET /rest/api/uom/LogicalPartition/{uuid}.
int hmc_get_partition(hmc_session_t *self, const char *uuid, hmc_partition_t *partition);

//  GET /rest/api/uom/LogicalPartition/search/(PartitionName=='NAME'), NAME
//  URL-encoded (a partition name may hold spaces); name must pass
//  name_valid(NAME_PARTITION). *found as for hmc_find_system.
int hmc_find_partition(hmc_session_t *self, const char *name, hmc_partition_t *partition,
                       bool *found);

// ------------------------------------------------------------------ jobs

//  "MigrateValidate", "Migrate", "MigrateRecover", "MigrateAbort".
const char *hmc_job_op_name(hmc_job_op_t op);

//  Check one job parameter before it is sent. Known names get strict checks:
//    TargetManagedSystemName, SharedProcPoolName  name_valid(NAME_SYSTEM)
//    TargetProfileName                            name_valid(NAME_PARTITION)
//    TargetRemoteHMCIPAddress                     host name or IPv4/IPv6 address
//    TargetRemoteHMCUserID                        [A-Za-z0-9_.-]{1,32}
//    SourceMSPIPaddr, DestMSPIPaddr               comma-separated addresses
//    DestinationLparID, SharedProcPoolID, WaitTime, RedundantVIOS,
//    MultipathIOOverride, VLANBridgeOverride, Affinity   [0-9]{1,9}
//    VirtualFCMappings, VirtualSCSIMappings, VlanMappings [A-Za-z0-9_./,:-]{1,2048}
//    Force                                        true | false
//  Any other name: [A-Za-z][A-Za-z0-9_]{0,63} with value [A-Za-z0-9_.:/@+-]{1,256}
//  (no quote, comma, '=' or space: the HMC builds a migrlpar command from them).
//  0 / -1 with a message in err.
int hmc_job_param_check(const hmc_param_t *param, char *err, size_t errlen);

//  PUT /rest/api/uom/LogicalPartition/{partition_uuid}/do/{op} with a
//  JobRequest (group LogicalPartition) of params[0..count) (borrowed, each
//  checked with hmc_job_param_check). Writes the new job's id into job_id.
int hmc_job_submit(hmc_session_t *self, const char *partition_uuid, hmc_job_op_t op,
                   const hmc_param_t *params, size_t count, char *job_id, size_t job_id_size);

//  GET /rest/api/uom/jobs/{job_id} -> *status (cleared first; caller calls
//  hmc_job_status_clear). 0 means the HMC answered: look at status->state;
//  hmc_job_describe() gives the line to show when it failed.
int hmc_job_poll(hmc_session_t *self, const char *job_id, hmc_job_status_t *status);

//  DELETE /rest/api/uom/jobs/{job_id}. A job already gone (404) counts as deleted.
int hmc_job_delete(hmc_session_t *self, const char *job_id);

//  POST /rest/api/uom/jobs/{job_id}/cancel.
int hmc_job_cancel(hmc_session_t *self, const char *job_id);

#endif
