/*  linux_facts — the facts report (`ferry-agent facts --platform linux`)
    from /proc, /sys and /etc.

    On Power the identity and partition come from /proc/powerpc/lparcfg; on
    other machines from DMI. A system id and serial identify hardware: where
    neither says (a KVM guest on Power has an empty serial_number) both stay
    absent with a warning, never the machine-id. Every field is absent when
    its source is missing or does not say, and every unreadable or unusable
    source adds a line to "warnings": the report is always produced. */
#ifndef FERRY_LINUX_FACTS_H
#define FERRY_LINUX_FACTS_H

#include <jansson.h>
#include <stddef.h>

//  The facts JSON object of the contract (platform "linux"). Files are read
//  under proc_root (normally "/proc"), sys_root ("/sys") and etc_root ("/",
//  holding etc/os-release, or usr/lib/os-release).
//  Roots are borrowed. Returns a new reference owned by the caller, or NULL
//  on allocation failure.
json_t *linux_facts_collect(const char *proc_root, const char *sys_root, const char *etc_root);

//  The 7-character machine serial of a Power system id: "IBM," then a
//  two-character prefix (01, 02, 03, ...) then the serial, as on AIX
//  ("IBM,0221C48FV" -> "21C48FV"). Written to serial (size bytes). 0, or -1
//  when systemid does not have that shape.
int linux_facts_serial(const char *systemid, char *serial, size_t size);

//  The value of key in os-release text (KEY=value, value optionally in
//  single or double quotes with shell escapes). Written to value (size
//  bytes). 0, or -1 when absent, empty or too long.
int linux_facts_os_release(const char *text, const char *key, char *value, size_t size);

#endif
