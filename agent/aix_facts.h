/*  aix_facts — facts of an AIX partition from the allowed AIX commands
    (issue 3): each is spawned through command_run (no shell, LANG=C LC_ALL=C,
    timeout, bounded output) and parsed by aix_parse. The commands run are
    exactly: lsattr -El sys0 -a systemid|modelname, uname -L|-u|-M|-f,
    hostname, oslevel -s, lspv, lsvg, lsvg -o, lsvg rootvg,
    bootlist -m normal -o, lparstat -i, lsdev -Cc adapter, lssrc -s ctrmc,
    lslpp -Lc bos.alt_disk_install.rte, and getconf DISK_SIZE /dev/hdiskN once
    per disk listed by lspv; plus the file ETC_ROOT/etc/niminfo.

    A command that is missing, fails, times out or prints something
    unexpected leaves its fields absent and adds a warning naming it; the rest
    of the object is still produced.

    boot_id and boot_time are NOT set here: none of the allowed invocations
    gives them, so the caller adds them from its own source.

    JSON (absent = unknown):
      platform "aix", hostname, warnings [strings],
      system {systemid, serial, model, partition_system_id (uname -f)},
      partition {name, number, type, mode, entitled_capacity, online_vcpus,
                 online_memory_mb, shared_pool_id},
      os {name "AIX", level, version, tl, sp, build},
      disks [{name, pvid|null, vg|null, active, size_mb}],
      rootvg {disks [names], pp_size_mb, total_mb, used_mb, free_mb},
      alt_vgs [{name "altinst_rootvg"|"old_rootvg", disks [names], varied_on}],
      bootlist [devices], next_boot_vg,
      adapters {physical [names], virtual [names]},
      rmc "active"|"inoperative"|...,
      filesets {"bos.alt_disk_install.rte": "7.2.5.0" | null (not installed)},
      nim {master, name}. */
#ifndef FERRY_AIX_FACTS_H
#define FERRY_AIX_FACTS_H

#include <jansson.h>
#include <stddef.h>

#define AIX_FACTS_MAX_OUTPUT (1024 * 1024) // bytes kept per command stream; more is an error

//  Collect the facts. bin_dir: borrowed, absolute directory holding the
//  commands (tests, simulation), or NULL for the real AIX paths (/usr/bin,
//  /usr/sbin). etc_root: borrowed, directory under which etc/niminfo is read
//  ("/" in production). timeout_ms: limit per command. Returns a new reference
//  owned by the caller, or NULL when out of memory.
json_t *aix_facts_collect(const char *bin_dir, const char *etc_root, int timeout_ms);

//  After a move: only what a move can change, from lsattr -El sys0 (systemid,
//  modelname), uname -L|-u|-M|-f, lparstat -i, lsdev -Cc adapter and lssrc -s
//  ctrmc — 9 commands instead of ~18. The keys system, partition, adapters,
//  rmc and warnings as in aix_facts_collect (absent = unknown). New reference.
json_t *aix_facts_collect_moved(const char *bin_dir, int timeout_ms);

//  The light identity probe run every few seconds and on every LPM phase:
//  only `lsattr -El sys0 -a systemid`. Writes the 7-character serial into
//  serial (caller's buffer); -1 with the reason in warning when unknown.
int aix_facts_serial(const char *bin_dir, int timeout_ms, char *serial, size_t size,
                     char *warning, size_t warnlen);

#endif
