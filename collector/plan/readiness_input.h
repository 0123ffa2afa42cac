/*  readiness_input — the readiness rules' view of HMC inventory: the one
    place that knows both hmc_xml's types and readiness's, so neither the
    rules nor their tests depend on the HMC's wire format. */
#ifndef FERRY_READINESS_INPUT_H
#define FERRY_READINESS_INPUT_H

#include "hmc_xml.h"
#include "readiness.h"

//  Storage for what in->partition, in->source and in->target point at.
typedef struct {
    readiness_partition_t partition;  // from the hmc_partition_t
    readiness_system_t source;        // from the source hmc_system_t (unused when NULL)
    readiness_system_t target;        // from the target hmc_system_t (unused when NULL)
} readiness_hmc_view_t;

//  Fill view from one hop's HMC inventory and point in->partition, in->source
//  and in->target at it (source / target NULL stay NULL); in's other fields
//  are left as they are. Borrowed: part, source and target (the view's
//  strings point into them) and view must outlive every use of in.
void readiness_input_from_hmc(readiness_input_t *in, readiness_hmc_view_t *view,
                              const hmc_partition_t *part, const hmc_system_t *source,
                              const hmc_system_t *target);

#endif
