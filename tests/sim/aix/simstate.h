/*  simstate — the state directory of one simulated AIX partition.

    A partition is a directory DIR with DIR/state (small plain files, one per
    fact, see README.md), DIR/bin (the fake commands) and DIR/etc/niminfo.
    Every writer replaces a whole file (write a temporary, rename it), so a
    reader always sees either the old or the new content, never a mix.
    Read-modify-write sequences take DIR/state/.lock (flock) so concurrent
    simulators (ferry-simlpar, hmcsim, fake nimadm, fake reboot) do not lose
    each other's updates.

    Shared by ferry-fakeaix (reads), ferry-simlpar and later simulators
    (write). Functions return 0 / -1; on -1 errno is set and, where an errbuf
    is taken, it holds a readable message. */
#ifndef FERRY_SIMSTATE_H
#define FERRY_SIMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NAME_MAX 64               // disk, VG, PVID, state words
#define SIM_VALUE_MAX 256             // one-line values (systemid, partition, ...)
#define SIM_FILE_MAX (1024 * 1024)    // state files are small; refuse anything larger
#define SIM_PP_SIZE_MB_DEFAULT 64     // when state/pp_size_mb is absent

//  State file names (under DIR/state).
#define SIM_SYSTEMID "systemid"       // IBM,0221C48FV
#define SIM_MODEL "model"             // IBM,8408-E8E
#define SIM_PARTITION "partition"     // uname -L line: "3 Web Server", "-1 NULL"
#define SIM_UNAME_F "uname_f"         // optional override; derived when absent
#define SIM_HOSTNAME "hostname"
#define SIM_OSLEVEL "oslevel"         // oslevel -s: 7200-05-03-2148
#define SIM_DISKS "disks"             // name pvid vg state size_mb used_mb
#define SIM_PP_SIZE "pp_size_mb"      // optional, physical partition size of every VG
#define SIM_BOOTLIST "bootlist"       // bootlist -m normal -o lines, verbatim
#define SIM_LPARSTAT "lparstat"       // Label=value lines of lparstat -i
#define SIM_ADAPTERS "adapters"       // name status location description
#define SIM_RMC "rmc"                 // ctrmc status: active, inoperative
#define SIM_FILESETS "filesets"       // name level
#define SIM_BOOT_ID "boot_id"         // changes on every (simulated) boot
#define SIM_BOOT_TIME "boot_time"     // epoch seconds of the last boot

#define SIM_FAULT_DIR "fault"        // fault/CMD.out|.err|.exit|.sleep: injected answers

//  The commands ferry-fakeaix answers, NULL-terminated (DIR/bin symlinks).
extern const char *const sim_commands[];

//  One line of state/disks.
typedef struct {
    char name[SIM_NAME_MAX];      // hdisk0
    char pvid[SIM_NAME_MAX];      // 16 hex digits, or "none"
    char vg[SIM_NAME_MAX];        // rootvg, altinst_rootvg, old_rootvg, ...; "None" when free
    char state[SIM_NAME_MAX];     // lspv state column ("active"), "-" when absent (varied off, free)
    uint64_t size_mb;             // capacity, as getconf DISK_SIZE prints it
    uint64_t used_mb;             // space allocated to logical volumes on this disk
} sim_disk_t;

//  All disks, in lspv order.
typedef struct {
    sim_disk_t *items;            // owned, count entries
    size_t count;
} sim_disks_t;

//  One Label=value line of state/lparstat (also used for other key=value lists).
typedef struct {
    char *label;                  // owned; may contain spaces ("Entitled  Capacity")
    char *value;                  // owned
} sim_kv_t;

typedef struct {
    sim_kv_t *items;              // owned, count entries, in file order
    size_t count;
} sim_kvs_t;

//  DIR/state for a partition directory DIR, into buf. 0 / -1 (too long).
int sim_state_dir(const char *part_dir, char *buf, size_t len);

//  Whole file state_dir/name, NUL-terminated, malloc'd (caller frees).
//  NULL with errno (ENOENT when absent, EFBIG beyond SIM_FILE_MAX).
char *sim_read(const char *state_dir, const char *name);

//  First line of state_dir/name, surrounding blanks removed, into buf.
//  0 / -1 (absent, empty, or longer than len).
int sim_read_value(const char *state_dir, const char *name, char *buf, size_t len);

//  Atomically replace path with text: write path.tmp.PID, then rename.
int sim_write_path(const char *path, const char *text, char *errbuf, size_t errlen);

//  sim_write_path for state_dir/name.
int sim_write(const char *state_dir, const char *name, const char *text, char *errbuf,
              size_t errlen);

//  sim_write of a one-line value (a newline is appended).
int sim_write_value(const char *state_dir, const char *name, const char *value, char *errbuf,
                    size_t errlen);

//  Exclusive lock on state_dir/.lock for a read-modify-write. Returns the
//  lock's fd (pass it to sim_unlock) or -1 with a message.
int sim_lock(const char *state_dir, char *errbuf, size_t errlen);
void sim_unlock(int fd);

//  Parse / format state/disks. Blank lines and '#' comments are skipped; the
//  used_mb column may be omitted (0). Parse fails on a malformed line.
int sim_disks_parse(const char *text, sim_disks_t *disks, char *errbuf, size_t errlen);
int sim_disks_load(const char *state_dir, sim_disks_t *disks, char *errbuf, size_t errlen);
int sim_disks_save(const char *state_dir, const sim_disks_t *disks, char *errbuf, size_t errlen);
void sim_disks_free(sim_disks_t *disks);

//  Append a copy of disk. 0 / -1 (allocation).
int sim_disks_add(sim_disks_t *disks, const sim_disk_t *disk);

//  The disk called name, or NULL (borrowed from disks).
sim_disk_t *sim_disks_find(const sim_disks_t *disks, const char *name);

//  True when the disk belongs to a VG (its vg column is not None/none).
bool sim_disk_in_vg(const sim_disk_t *disk);

//  True when vg is varied on: one of its disks has a state column.
bool sim_vg_active(const sim_disks_t *disks, const char *vg);

//  Parse / format Label=value lines (split at the first '=').
int sim_kvs_parse(const char *text, sim_kvs_t *kvs);
int sim_kvs_load(const char *state_dir, const char *name, sim_kvs_t *kvs);
int sim_kvs_save(const char *state_dir, const char *name, const sim_kvs_t *kvs, char *errbuf,
                 size_t errlen);
//  Replace the value of label, or append label=value. 0 / -1 (allocation).
int sim_kvs_set(sim_kvs_t *kvs, const char *label, const char *value);
//  Value of label (borrowed) or NULL.
const char *sim_kvs_get(const sim_kvs_t *kvs, const char *label);
void sim_kvs_free(sim_kvs_t *kvs);

//  Split line (modified in place) into at most max blank-separated fields;
//  the last field keeps the rest of the line (trailing blanks removed).
//  Returns the number of fields.
size_t sim_split(char *line, char **fields, size_t max);

//  Next line of a mutable buffer: returns it NUL-terminated and advances
//  *cursor, or NULL at the end.
char *sim_next_line(char **cursor);

//  True for a machine serial ferry-simlpar accepts: 1-16 letters and digits.
bool sim_serial_valid(const char *serial);

//  Rewrite state/systemid as IBM, + prefix + serial; a NULL part keeps its
//  current value (a move changes only the serial). The serial must be 1-16
//  letters and digits, the prefix 2 characters. Does not lock: hold
//  sim_lock when other writers may run.
int sim_set_systemid(const char *state_dir, const char *prefix, const char *serial, char *errbuf,
                     size_t errlen);

//  A random version-4 UUID (36 characters) into buf: a new boot id.
void sim_uuid(char *buf, size_t len);

//  64-bit FNV-1a of text, for derived identifiers (uname -f, PVIDs).
uint64_t sim_hash(const char *text);

//  uname -f of a partition: unique per system id + partition number, so it
//  changes after a move like the real one. 16 upper-case hex digits into buf.
void sim_uname_f(const char *systemid, const char *partition, char *buf, size_t len);

//  Fileset level that belongs to an OS level: 7200-05-03-2148 -> 7.2.5.0.
//  0 / -1 when oslevel is not VVRR-TL-SP-BUILD.
int sim_fileset_level(const char *oslevel, char *buf, size_t len);

#endif
