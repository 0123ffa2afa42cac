/*  readiness_input — HMC inventory to readiness input: field by field, no
    copies of text (the strings point into the hmc_xml structs). */
#include "readiness_input.h"

#include <string.h>

//  Every mode the HMC parser keeps fits; none is dropped on the way.
_Static_assert(READINESS_MAX_COMPAT_MODES >= HMC_MAX_COMPAT_MODES,
               "readiness keeps fewer compatibility modes than hmc_xml parses");

static void s_partition(const hmc_partition_t *p, readiness_partition_t *out)
{
    *out = (readiness_partition_t){
        .name = p->name,
        .state = p->state,
        .type = p->type,
        .rmc_state = p->rmc_state,
        .migration_state = p->migration_state,
        .proc_compat_mode = p->proc_compat_mode,
        .is_mgmt_partition = p->is_mgmt_partition,
        .memory_mb = p->memory_mb,
        .proc_units = p->proc_units,
        .physical_io_slots = p->physical_io_slots,
    };
}

static void s_system(const hmc_system_t *s, readiness_system_t *out)
{
    *out = (readiness_system_t){
        .uuid = s->uuid,
        .name = s->name,
        .state = s->state,
        .serial = s->serial,
        .lpm_capable = s->lpm_capable,
        .max_active_migrations = s->max_active_migrations,
        .active_migrations_in_progress = s->active_migrations_in_progress,
        .memory_available_mb = s->memory_available_mb,
        .memory_region_mb = s->memory_region_mb,
        .proc_units_available = s->proc_units_available,
    };
    //  The count is the parser's; bounded again so a bad one cannot overrun.
    size_t count = s->compat_mode_count < HMC_MAX_COMPAT_MODES ? s->compat_mode_count
                                                                : HMC_MAX_COMPAT_MODES;
    for (size_t i = 0; i < count; i++)
        out->compat_modes[i] = s->compat_modes[i];
    out->compat_mode_count = count;
}

void readiness_input_from_hmc(readiness_input_t *in, readiness_hmc_view_t *view,
                              const hmc_partition_t *part, const hmc_system_t *source,
                              const hmc_system_t *target)
{
    memset(view, 0, sizeof *view);
    s_partition(part, &view->partition);
    in->partition = &view->partition;
    in->source = NULL;
    in->target = NULL;
    if (source) {
        s_system(source, &view->source);
        in->source = &view->source;
    }
    if (target) {
        s_system(target, &view->target);
        in->target = &view->target;
    }
}
