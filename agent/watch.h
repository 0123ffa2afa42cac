/*  watch — turns successive facts into migration events.

    Keeps the last reported value of everything an event is about (serial,
    boot id, OS level, rootvg disks, alternate VGs) and persists it in a small
    JSON state file, so a change that happened while the agent was down (a
    move, a reboot into the migrated disk) is still reported at start.

    Events are JSON objects {kind, attrs{...}, message}; kinds:
      serial_changed {old, new, detected_by}
      booted         {boot_id, previous_boot_id}   (AIX, which has no boot id: the
                     boot times, a jump of more than 2 minutes being a boot)
      oslevel_changed {old, new}
      rootvg_changed  {old, new}     disk lists as "hdisk0 hdisk1"
      alt_vg_changed  {old, new}     "altinst_rootvg:hdisk1 old_rootvg:hdisk0" */
#ifndef FERRY_WATCH_H
#define FERRY_WATCH_H

#include <jansson.h>

typedef struct _watch_t watch_t;

//  Load the state file at path (borrowed; copied). A missing or unreadable
//  file starts empty (first run: nothing to compare, no events).
watch_t *watch_new(const char *path);

//  Free; NULLs *self_p; safe on NULL and twice.
void watch_destroy(watch_t **self_p);

//  Compare a facts document (borrowed) with the last reported values. Returns
//  a new JSON array of events (possibly empty; caller owns) and remembers the
//  new values, saving the state file when anything changed. detected_by
//  names what triggered the read ("start", "timer", "lpm-post", ...).
json_t *watch_facts(watch_t *self, const json_t *facts, const char *detected_by);

//  The light identity probe: only the serial (borrowed). Same contract.
json_t *watch_serial(watch_t *self, const char *serial, const char *detected_by);

//  Last reported serial, or NULL (borrowed).
const char *watch_last_serial(watch_t *self);

#endif
