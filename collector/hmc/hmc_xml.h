/*  hmc_xml — pure parsers and builders for the XML of the HMC REST API (libxml2).

    Text in, structs out: no I/O, no logging, no global state besides libxml2's.
    Elements are matched by namespace URI + local name, never by prefix, and the
    kb / kxe / ksv attributes are ignored. Wherever objects are parsed, the text
    may be an Atom <feed> of entries, one Atom <entry>, or the bare object as
    root element (ManagedSystem, LogicalPartition, JobResponse, ...).

    Odd input never crashes: a missing or malformed field is left at its
    "unknown" value (empty string, -1, false) and counted in the diag, whose
    first warning is kept as text. Text that is not well-formed XML, carries a
    DTD, or whose root is not what was asked for is an error (-1 + diag.error).

    Strings copied into the fixed-size fields below are trimmed, have control
    characters replaced by '?' and are cut (on a UTF-8 boundary, with a warning)
    when longer than the field. Free-text messages (result, exception, HTTP
    error) have every run of whitespace, newlines included, folded to one space.

    Thread safety: the functions may run in several threads at once provided
    hmc_xml_init() (or libxml2's xmlInitParser) ran once in the main thread. */
#ifndef FERRY_HMC_XML_H
#define FERRY_HMC_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMC_NS_ATOM "http://www.w3.org/2005/Atom"
#define HMC_NS_WEB  "http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/"
#define HMC_NS_UOM  "http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/"

#define HMC_UUID_SIZE 40          // 36-char UUID + NUL, with room to spare
#define HMC_NAME_SIZE 128         // system / partition names (HMC limits: 63 / 47)
#define HMC_STATE_SIZE 48         // states, types, modes
#define HMC_JOB_ID_SIZE 32        // decimal job id
#define HMC_MAX_COMPAT_MODES 24   // supported processor compatibility modes kept

//  Parse diagnostics. Zero it before a call (or pass NULL when not wanted).
typedef struct {
    int warnings;                 // odd fields seen (missing, malformed, truncated)
    char warning[256];            // the first one, e.g. "ManagedSystem 'HV4': no State"
    char error[256];              // why the call returned -1
} hmc_xml_diag_t;

//  One managed system (CEC). Unknown numbers are -1.
typedef struct {
    char uuid[HMC_UUID_SIZE];             // Metadata/Atom/AtomID, else the entry's Atom id
    char name[HMC_NAME_SIZE];             // SystemName
    char state[HMC_STATE_SIZE];           // State: "operating", "power off", ...
    char serial[32];                      // MachineTypeModelAndSerialNumber/SerialNumber
    char machine_type[16];                // .../MachineType, e.g. "8246"
    char model[16];                       // .../Model, e.g. "L1C"
    // SystemMigrationInformation
    int max_active_migrations;            // MaximumActiveMigrations (0 is a real value: no LPM)
    int max_inactive_migrations;          // MaximumInactiveMigrations
    int active_migrations_in_progress;    // NumberOfActiveMigrationsInProgress
    int inactive_migrations_in_progress;  // NumberOfInactiveMigrationsInProgress
    int max_firmware_active_migrations;   // MaximumFirmwareActiveMigrations
    // AssociatedSystemCapabilities (false when absent)
    bool lpm_capable;                     // ActiveLogicalPartitionMobilityCapable
    bool inactive_lpm_capable;            // InactiveLogicalPartitionMobilityCapable
    // AssociatedSystemMemoryConfiguration, MB
    int64_t memory_installed_mb;          // InstalledSystemMemory
    int64_t memory_available_mb;          // CurrentAvailableSystemMemory
    int64_t memory_region_mb;             // MemoryRegionSize (must match for LPM)
    // AssociatedSystemProcessorConfiguration
    double proc_units_installed;          // InstalledSystemProcessorUnits
    double proc_units_available;          // CurrentAvailableSystemProcessorUnits
    size_t compat_mode_count;             // SupportedPartitionProcessorCompatibilityModes
    char compat_modes[HMC_MAX_COMPAT_MODES][HMC_STATE_SIZE];
} hmc_system_t;

//  One logical partition (or VIOS: same fields). Unknown numbers are -1.
typedef struct {
    char uuid[HMC_UUID_SIZE];             // PartitionUUID, else AtomID, else Atom id
    char name[HMC_NAME_SIZE];             // PartitionName
    int id;                               // PartitionID
    char state[HMC_STATE_SIZE];           // PartitionState: "running", "migrating running", ...
    char type[HMC_STATE_SIZE];            // PartitionType: "AIX/Linux", "OS400", "Virtual IO Server"
    char rmc_state[HMC_STATE_SIZE];       // ResourceMonitoringControlState: "active", ...
    char migration_state[HMC_STATE_SIZE]; // MigrationState: "Not_Migrating"; "" when the HMC omits it
    char system_uuid[HMC_UUID_SIZE];      // last path segment of AssociatedManagedSystem@href
    char proc_compat_mode[HMC_STATE_SIZE];// CurrentProcessorCompatibilityMode
    bool is_mgmt_partition;               // IsManagementPartition (false when absent)
    bool dedicated_procs;                 // PartitionProcessorConfiguration/CurrentHasDedicatedProcessors
    int64_t memory_mb;                    // PartitionMemoryConfiguration/CurrentMemory
    double proc_units;                    // current processing units; dedicated: CurrentProcessors
    int physical_io_slots;                // PartitionIOConfiguration/ProfileIOSlots/ProfileIOSlot count
} hmc_partition_t;

//  An owned name/value pair (job results, parsed job parameters).
typedef struct {
    char *name;                           // malloc'd
    char *value;                          // malloc'd, as sent (not trimmed)
} hmc_kv_t;

//  A borrowed name/value pair (job parameters given to a builder).
typedef struct {
    const char *name;
    const char *value;
} hmc_param_t;

typedef enum {
    HMC_JOB_UNKNOWN = 0,                  // absent or not a known status: a failure
    HMC_JOB_NOT_STARTED,
    HMC_JOB_RUNNING,
    HMC_JOB_COMPLETED_OK,
    HMC_JOB_COMPLETED_WITH_WARNINGS,
    HMC_JOB_COMPLETED_WITH_ERROR,
    HMC_JOB_FAILED_BEFORE_COMPLETION,
} hmc_job_state_t;

//  A JobResponse (answer to a submit, or to GET jobs/{id}).
//  Owns results, result_message and exception_message: hmc_job_status_clear().
typedef struct {
    char job_id[HMC_JOB_ID_SIZE];         // JobID, else the id at the end of the SELF link
    char status[HMC_STATE_SIZE];          // Status as sent
    hmc_job_state_t state;                // Status parsed (HMC_JOB_UNKNOWN when odd)
    char operation[64];                   // JobRequestInstance/RequestedOperation/OperationName
    char target_uuid[HMC_UUID_SIZE];      // TargetUuid ("" for console jobs)
    int64_t time_started_ms;              // TimeStarted, ms since the epoch; -1 when absent
    int64_t time_completed_ms;            // TimeCompleted; -1 when absent (0 while running)
    double progress;                      // Progress/LinearProgress, 0..1; -1 when absent
    char progress_text[128];              // last Progress/CompletedTasks message, "" when none
    hmc_kv_t *results;                    // Results/JobParameter, in order
    size_t result_count;
    char *result_message;                 // the "result" result (HSCL text), folded; NULL when none
    char *exception_message;              // ResponseException/Message, folded; NULL when none
} hmc_job_status_t;

//  An HttpErrorResponse body.
typedef struct {
    int http_status;                      // HTTPStatus, -1 when absent
    char request_uri[512];                // RequestURI
    char reason_code[256];                // ReasonCode
    char message[1024];                   // Message, folded
} hmc_http_error_t;

//  A JobRequest as parsed (for the simulator). Owns params: hmc_job_request_clear().
typedef struct {
    char operation[64];                   // RequestedOperation/OperationName
    char group[64];                       // RequestedOperation/GroupName
    hmc_kv_t *params;                     // JobParameters/JobParameter, in order
    size_t param_count;
} hmc_job_request_t;

//  Initialise libxml2 once, from the main thread, before any threads parse.
void hmc_xml_init(void);

// ----------------------------------------------------------------- parsers
//  text: borrowed, len bytes (need not be NUL-terminated). diag may be NULL.

//  Managed systems of a feed / entry / bare ManagedSystem. *systems_p is
//  malloc'd (caller frees; NULL when *count_p is 0). 0 / -1.
int hmc_parse_systems(const char *text, size_t len, hmc_system_t **systems_p,
                      size_t *count_p, hmc_xml_diag_t *diag);

//  Partitions of a feed / entry / bare LogicalPartition or VirtualIOServer.
//  *partitions_p is malloc'd (caller frees; NULL when *count_p is 0). 0 / -1.
int hmc_parse_partitions(const char *text, size_t len, hmc_partition_t **partitions_p,
                         size_t *count_p, hmc_xml_diag_t *diag);

//  LogonResponse -> the X-API-Session token with every whitespace character
//  removed. Returns a malloc'd string (caller wipes and frees), or NULL when
//  absent, empty, longer than 8 KiB or holding a control character.
char *hmc_parse_logon_response(const char *text, size_t len, hmc_xml_diag_t *diag);

//  JobResponse (entry or bare) -> *job, which is cleared first. 0 / -1 (then
//  *job holds nothing to free).
int hmc_parse_job_response(const char *text, size_t len, hmc_job_status_t *job,
                           hmc_xml_diag_t *diag);

//  Free what a job status owns and zero it. NULL-safe.
void hmc_job_status_clear(hmc_job_status_t *job);

//  HttpErrorResponse (entry or bare) -> *error. 0 / -1.
int hmc_parse_http_error(const char *text, size_t len, hmc_http_error_t *error,
                         hmc_xml_diag_t *diag);

//  JobRequest (entry or bare) -> *request, cleared first. 0 / -1.
int hmc_parse_job_request(const char *text, size_t len, hmc_job_request_t *request,
                          hmc_xml_diag_t *diag);

//  Free what a parsed job request owns and zero it. NULL-safe.
void hmc_job_request_clear(hmc_job_request_t *request);

//  LogonRequest -> user and password (exact text, not trimmed; the caller
//  wipes the password buffer). -1 when either is absent or does not fit.
int hmc_parse_logon_request(const char *text, size_t len, char *user, size_t user_size,
                            char *password, size_t password_size, hmc_xml_diag_t *diag);

// ----------------------------------------------------------------- builders
//  Builders return a malloc'd NUL-terminated UTF-8 document (caller frees),
//  or NULL with a message in err. Text is escaped by libxml2; text that is not
//  valid UTF-8 or holds a control character (other than tab / newline) is refused.

//  <LogonRequest xmlns=web schemaVersion="V1_0"><Metadata><Atom/></Metadata>
//  <UserID>user</UserID><Password>password</Password></LogonRequest>.
//  The result holds the password: wipe it (explicit_bzero) before free.
char *hmc_build_logon_request(const char *user, const char *password, char *err, size_t errlen);

//  <JobRequest xmlns=web schemaVersion="V1_0"> with RequestedOperation/
//  {OperationName, GroupName} and JobParameters/JobParameter/{ParameterName,
//  ParameterValue} for each of params[0..count). Parameter names must be
//  [A-Za-z0-9_]{1,64}; operation and group [A-Za-z0-9_]{1,64}. Values are not
//  judged here beyond encoding (hmc_client checks them before submitting).
char *hmc_build_job_request(const char *operation, const char *group,
                            const hmc_param_t *params, size_t count, char *err, size_t errlen);

// ----------------------------------------------------------------- helpers

//  True for a UUID as the HMC writes them: 8-4-4-4-12 hex digits (any case).
bool hmc_uuid_valid(const char *text);

//  True for a job id: 1..31 decimal digits.
bool hmc_job_id_valid(const char *text);

//  "COMPLETED_OK" -> HMC_JOB_COMPLETED_OK, anything unknown -> HMC_JOB_UNKNOWN.
hmc_job_state_t hmc_job_state_parse(const char *status);

//  Static name of a state ("UNKNOWN" for HMC_JOB_UNKNOWN).
const char *hmc_job_state_name(hmc_job_state_t state);

//  True when the job will not change any more (everything but NOT_STARTED and RUNNING).
bool hmc_job_state_final(hmc_job_state_t state);

//  True for COMPLETED_OK and COMPLETED_WITH_WARNINGS.
bool hmc_job_state_ok(hmc_job_state_t state);

//  The value of the first pair named name, or NULL. kvs borrowed; result borrowed from it.
const char *hmc_kv_get(const hmc_kv_t *kvs, size_t count, const char *name);

//  One readable line for a job: "Migrate job 1375391227297 COMPLETED_WITH_ERROR:
//  HSCL05DF The partition ...". The message is the exception, else the result
//  message, else nothing. Writes into buf (always terminated); returns buf.
const char *hmc_job_describe(const hmc_job_status_t *job, char *buf, size_t size);

#endif
