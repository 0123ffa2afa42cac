/*  plan — an LPM plan file (JSON): what to move where, through which
    staging systems, how many at a time, and the outage budget.

    {
      "name": "wave 1 p8",                plan name, a label (names.h NAME_LABEL): blanks inside
      "hmc": "hmc1",                      an [hmc NAME] of the collector config
      "validate_only": false,             true: MigrateValidate every hop, move nothing
      "outage_budget_ms": 2000,           a hop whose measured outage is above fails
      "concurrency": {                    caps on hops running at once (0 = no cap)
        "per_system": 4,                  on any one source or target system
        "per_hmc": 8,                     on the HMC
        "per_vios_pair": 4                on one mover VIOS pair (moves naming "vios_pair")
      },
      "moves": [
        {"partition": "lpar01", "to": "P10-B"},
        {"partition": "lpar02", "to": "P10-B", "via": ["P10-A"],   two hops: staging first
         "vios_pair": "vios1a+vios1b",
         "source_msp": "10.1.1.5,10.1.1.6", "dest_msp": "10.2.1.5,10.2.1.6",
         "shared_proc_pool": "pool1"}
      ]
    }
    Checked strictly, and every problem is listed at once, each with its path
    ("moves[0].vai: unknown key (did you mean \"via\"?)"):
    - each object (the plan, concurrency, each move) has only the keys above;
    - partition, system (hmc, to, via) and pool names match the strict
      patterns of common/names.h, the plan name is a label;
    - a partition is moved once per plan, no staging system is the target or
      comes twice in a row, at most PLAN_MAX_HOPS - 1 staging systems;
    - given the HMC's inventory (plan_inventory_t): every partition and
      system is known to it, and no hop goes to the system the partition is
      on now. */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_NAME_MAX 64
#define PLAN_MAX_HOPS 4         // a route longer than this is a mistake, not a plan
#define PLAN_MAX_MOVES 10000
#define PLAN_ERR_MAX 8192       // err buffer for a plan's problems: ~100 listed, then "... and N more"

typedef struct {
    char partition[48];                        // LPAR name as the HMC knows it
    char hops[PLAN_MAX_HOPS][PLAN_NAME_MAX];   // target system of each hop, staging ones first
    size_t hop_count;                          // via + the final target
    char vios_pair[PLAN_NAME_MAX];             // mover VIOS pair label, "" = none given
    char source_msp[256];                      // SourceMSPIPaddr, "" = HMC chooses
    char dest_msp[256];                        // DestMSPIPaddr, "" = HMC chooses
    char shared_proc_pool[PLAN_NAME_MAX];      // SharedProcPoolName, "" = default pool
} plan_move_t;

typedef struct {
    char name[PLAN_NAME_MAX];     // plan name
    char hmc[PLAN_NAME_MAX];      // HMC name from the collector config
    bool validate_only;           // validate every hop, move nothing
    int64_t outage_budget_ms;     // largest acceptable outage per hop
    int per_system;               // concurrent hops per system, 0 = no cap
    int per_hmc;                  // concurrent hops per HMC, 0 = no cap
    int per_vios_pair;            // concurrent hops per VIOS pair, 0 = no cap
    plan_move_t *moves;           // owned array
    size_t move_count;            // entries in moves
} plan_t;

//  What plan_parse checks names against: the named HMC's latest inventory.
typedef struct {
    //  The managed system partition is on now: its name, "" when the
    //  partition is known but its system is not; NULL when the HMC does not
    //  know the partition.
    const char *(*partition_system)(void *arg, const char *partition);
    //  True when the HMC knows a managed system of that name.
    bool (*system_known)(void *arg, const char *system);
    void *arg;                        // passed to both
} plan_inventory_t;

//  Parse and check a plan document (borrowed). inv (borrowed, may be NULL:
//  no inventory checks) is asked only about names that pass their pattern.
//  Returns a new plan owned by the caller, or NULL with every problem found
//  listed in err (errlen bytes, caller's), structural and inventory ones
//  together, separated by "; " ("moves[3].to: 'P10 B' is not a valid system
//  name (...); ..."). A list longer than err is cut after a whole problem and
//  ends with "... and N more problems".
plan_t *plan_from_json(const json_t *doc, const plan_inventory_t *inv, char *err, size_t errlen);

//  Same from text (borrowed, len bytes: a file's contents or an HTTP body).
plan_t *plan_parse(const char *text, size_t len, const plan_inventory_t *inv, char *err,
                   size_t errlen);

//  Free; NULLs *self_p; safe on NULL and twice.
void plan_destroy(plan_t **self_p);

//  The plan as a normalised JSON document (new reference, caller owns).
json_t *plan_to_json(const plan_t *plan);

#endif
