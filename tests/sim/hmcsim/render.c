/*  render — the XML an HMC answers with, shaped like the recorded payloads in
    shared/fixtures/hmc: Atom feeds and entries whose content holds a
    prefixed root element (ManagedSystem:ManagedSystem, ...) in the uom or
    web namespace, children with kb/kxe attributes, Metadata/Atom blocks. */
#include "hmcsim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "simstate.h"

#define S_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
#define S_ATOM_ATTRS "xmlns=\"" HS_NS_ATOM "\" xmlns:ns2=\"http://a9.com/-/spec/opensearch/1.1/\"" \
    " xmlns:ns3=\"http://www.w3.org/1999/xhtml\""
#define S_K2 "xmlns:ns2=\"http://www.w3.org/XML/1998/namespace/k2\""
#define S_AUTHOR "<author>\n            <name>IBM Power Systems Management Console</name>\n" \
    "        </author>\n"
#define S_META_EMPTY "<Metadata>\n%*s    <Atom/>\n%*s</Metadata>\n"

//  ---------------------------------------------------------------------------
//  Buffer

static void s_grow(hs_buf_t *buf, size_t more)
{
    if (buf->failed || buf->len + more + 1 <= buf->cap)
        return;
    size_t cap = buf->cap ? buf->cap : 4096;
    while (cap < buf->len + more + 1)
        cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data) {
        buf->failed = true;
        return;
    }
    buf->data = data;
    buf->cap = cap;
}

void hs_buf_vprintf(hs_buf_t *buf, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int need = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (need < 0) {
        buf->failed = true;
        return;
    }
    s_grow(buf, (size_t) need);
    if (buf->failed)
        return;
    vsnprintf(buf->data + buf->len, (size_t) need + 1, fmt, ap);
    buf->len += (size_t) need;
}

void hs_buf_printf(hs_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hs_buf_vprintf(buf, fmt, ap);
    va_end(ap);
}

void hs_buf_xml(hs_buf_t *buf, const char *text)
{
    for (const char *p = text; *p; p++) {
        const char *entity = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                             : *p == '"' ? "&quot;" : *p == '\'' ? "&apos;" : NULL;
        if (entity)
            hs_buf_printf(buf, "%s", entity);
        else {
            s_grow(buf, 1);
            if (buf->failed)
                return;
            buf->data[buf->len++] = *p;
            buf->data[buf->len] = '\0';
        }
    }
}

char *hs_buf_take(hs_buf_t *buf, size_t *len)
{
    if (buf->failed) {
        hs_buf_free(buf);
        return NULL;
    }
    s_grow(buf, 0);
    if (buf->failed) {
        hs_buf_free(buf);
        return NULL;
    }
    char *data = buf->data;
    if (len)
        *len = buf->len;
    *buf = (hs_buf_t) { 0 };
    return data;
}

void hs_buf_free(hs_buf_t *buf)
{
    free(buf->data);
    *buf = (hs_buf_t) { 0 };
}

//  ---------------------------------------------------------------------------
//  Element helpers

//  <name kb="KB" kxe="false">escaped value</name> at an indent.
static void s_el(hs_buf_t *buf, int indent, const char *name, const char *kb, const char *value)
{
    hs_buf_printf(buf, "%*s<%s kb=\"%s\" kxe=\"false\">", indent, "", name, kb);
    hs_buf_xml(buf, value);
    hs_buf_printf(buf, "</%s>\n", name);
}

static void s_el_int(hs_buf_t *buf, int indent, const char *name, const char *kb, int64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, value);
    s_el(buf, indent, name, kb, text);
}

static void s_el_bool(hs_buf_t *buf, int indent, const char *name, const char *kb, bool value)
{
    s_el(buf, indent, name, kb, value ? "true" : "false");
}

static void s_el_units(hs_buf_t *buf, int indent, const char *name, const char *kb, int64_t value)
{
    char text[32];
    hs_units_str(value, text, sizeof text);
    s_el(buf, indent, name, kb, text);
}

//  Opening tag of a structured child with its empty Metadata block.
static void s_open(hs_buf_t *buf, int indent, const char *name, const char *attrs)
{
    hs_buf_printf(buf, "%*s<%s%s%s>\n", indent, "", name, *attrs ? " " : "", attrs);
    hs_buf_printf(buf, "%*s" S_META_EMPTY, indent + 4, "", indent + 4, "", indent + 4, "");
}

static void s_close(hs_buf_t *buf, int indent, const char *name)
{
    hs_buf_printf(buf, "%*s</%s>\n", indent, "", name);
}

static void s_href(hs_buf_t *buf, hs_sim_t *sim, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

//  base URL + path, escaped for an attribute.
static void s_href(hs_buf_t *buf, hs_sim_t *sim, const char *fmt, ...)
{
    char path[HS_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    hs_buf_xml(buf, sim->base_url);
    hs_buf_xml(buf, path);
}

static void s_now(char *buf, size_t len)
{
    hs_iso_time(clock_wall_ms(), buf, len);
}

//  Opening of an Atom entry: standalone documents declare the namespaces.
static void s_entry_open(hs_buf_t *buf, bool standalone, const char *id, const char *title,
                         int64_t published_ms)
{
    char when[40];
    hs_iso_time(published_ms, when, sizeof when);
    if (standalone)
        hs_buf_printf(buf, S_XML_DECL "<entry " S_ATOM_ATTRS ">\n");
    else
        hs_buf_printf(buf, "    <entry>\n");
    hs_buf_printf(buf, "        <id>%s</id>\n        <title>%s</title>\n"
                  "        <published>%s</published>\n", id, title, when);
}

static void s_entry_close(hs_buf_t *buf, const char *root)
{
    hs_buf_printf(buf, "</%s:%s>\n        </content>\n    </entry>\n", root, root);
}

static void s_feed_open(hs_buf_t *buf, hs_sim_t *sim, const char *self_path)
{
    char id[HS_UUID_MAX], now[40], console[HS_UUID_MAX];
    hs_uuid_from(self_path, false, id, sizeof id);
    hs_uuid_from("ManagementConsole", false, console, sizeof console);
    s_now(now, sizeof now);
    hs_buf_printf(buf, S_XML_DECL "<feed " S_ATOM_ATTRS ">\n    <id>%s</id>\n"
                  "    <updated>%s</updated>\n    <link rel=\"SELF\" href=\"", id, now);
    s_href(buf, sim, "%s", self_path);
    hs_buf_printf(buf, "\"/>\n    <link rel=\"MANAGEMENT_CONSOLE\" href=\"");
    s_href(buf, sim, "/rest/api/uom/ManagementConsole/%s", console);
    hs_buf_printf(buf, "\"/>\n    <generator>IBM Power Systems Management Console</generator>\n");
}

//  An etag that changes whenever the entry's state does.
static void s_etag(hs_buf_t *buf, const char *state)
{
    hs_buf_printf(buf, "        <etag:etag xmlns:etag=\"" HS_NS_UOM "\" xmlns=\"" HS_NS_UOM
                  "\">%d</etag:etag>\n", (int) (int32_t) sim_hash(state));
}

//  ---------------------------------------------------------------------------
//  ManagedSystem

static void s_system(hs_buf_t *buf, hs_sim_t *sim, hs_system_t *sys, bool standalone)
{
    char state[256];
    snprintf(state, sizeof state, "%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64, sys->uuid,
             sys->state, sys->active, sys->memory_avail_mb, sys->proc_avail);
    s_entry_open(buf, standalone, sys->uuid, "ManagedSystem", sys->created_ms);
    hs_buf_printf(buf, "        <link rel=\"SELF\" href=\"");
    s_href(buf, sim, "/rest/api/uom/ManagedSystem/%s", sys->uuid);
    hs_buf_printf(buf, "\"/>\n        " S_AUTHOR);
    s_etag(buf, state);
    hs_buf_printf(buf, "        <content type=\"application/vnd.ibm.powervm.uom+xml;"
                  " type=ManagedSystem\">\n            <ManagedSystem:ManagedSystem"
                  " xmlns:ManagedSystem=\"" HS_NS_UOM "\" xmlns=\"" HS_NS_UOM "\" " S_K2
                  " schemaVersion=\"V1_0\">\n");
    hs_buf_printf(buf, "    <Metadata>\n        <Atom>\n            <AtomID>%s</AtomID>\n"
                  "            <AtomCreated>%" PRId64 "</AtomCreated>\n        </Atom>\n"
                  "    </Metadata>\n", sys->uuid, sys->created_ms);

    hs_buf_printf(buf, "    <AssociatedLogicalPartitions kb=\"CUD\" kxe=\"false\">\n");
    for (size_t i = 0; i < sim->part_count; i++) {
        if (&sim->systems[sim->parts[i].system] != sys)
            continue;
        hs_buf_printf(buf, "        <link href=\"");
        s_href(buf, sim, "/rest/api/uom/ManagedSystem/%s/LogicalPartition/%s", sys->uuid,
               sim->parts[i].uuid);
        hs_buf_printf(buf, "\" rel=\"related\"/>\n");
    }
    hs_buf_printf(buf, "    </AssociatedLogicalPartitions>\n");

    s_open(buf, 4, "AssociatedSystemCapabilities", "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el_bool(buf, 8, "ActiveLogicalPartitionMobilityCapable", "ROO", sys->lpm_capable);
    s_el_bool(buf, 8, "InactiveLogicalPartitionMobilityCapable", "ROO", sys->lpm_capable);
    s_el_bool(buf, 8, "LogicalPartitionProcessorCompatibilityModeCapable", "ROO", true);
    s_el_bool(buf, 8, "VirtualFiberChannelCapable", "ROO", true);
    s_el_bool(buf, 8, "VirtualIOServerCapable", "ROO", true);
    s_close(buf, 4, "AssociatedSystemCapabilities");

    s_open(buf, 4, "AssociatedSystemMemoryConfiguration",
           "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el_int(buf, 8, "ConfigurableSystemMemory", "ROR", sys->memory_mb);
    s_el_int(buf, 8, "CurrentAvailableSystemMemory", "ROR", sys->memory_avail_mb);
    s_el_int(buf, 8, "CurrentLogicalMemoryBlockSize", "ROR", sys->region_mb);
    s_el_int(buf, 8, "InstalledSystemMemory", "ROR", sys->memory_mb);
    s_el_int(buf, 8, "MemoryRegionSize", "CUD", sys->region_mb);
    s_el_int(buf, 8, "PendingAvailableSystemMemory", "CUD", sys->memory_avail_mb);
    s_close(buf, 4, "AssociatedSystemMemoryConfiguration");

    s_open(buf, 4, "AssociatedSystemProcessorConfiguration",
           "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el_units(buf, 8, "ConfigurableSystemProcessorUnits", "ROR", sys->proc_units);
    s_el_units(buf, 8, "CurrentAvailableSystemProcessorUnits", "ROR", sys->proc_avail);
    s_el_units(buf, 8, "InstalledSystemProcessorUnits", "ROR", sys->proc_units);
    s_el(buf, 8, "MinimumProcessorUnitsPerVirtualProcessor", "ROR", "0.05");
    s_el_units(buf, 8, "PendingAvailableSystemProcessorUnits", "CUD", sys->proc_avail);
    for (const char *p = sys->compat_modes; *p;) {
        size_t len = strcspn(p, ",");
        char mode[HS_WORD_MAX];
        snprintf(mode, sizeof mode, "%.*s", (int) len, p);
        if (*mode)
            s_el(buf, 8, "SupportedPartitionProcessorCompatibilityModes", "ROR", mode);
        p += len;
        if (*p == ',')
            p++;
    }
    s_close(buf, 4, "AssociatedSystemProcessorConfiguration");

    hs_buf_printf(buf, "    <AssociatedVirtualIOServers kb=\"CUD\" kxe=\"false\"/>\n");
    s_el(buf, 4, "DetailedState", "ROR", "None");
    s_open(buf, 4, "MachineTypeModelAndSerialNumber",
           "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el(buf, 8, "MachineType", "CUR", sys->machine_type);
    s_el(buf, 8, "Model", "CUR", sys->model);
    s_el(buf, 8, "SerialNumber", "CUR", sys->serial);
    s_close(buf, 4, "MachineTypeModelAndSerialNumber");
    s_el_int(buf, 4, "MaximumPartitions", "CUD", 1000);
    s_el(buf, 4, "PrimaryIPAddress", "CUR", "127.0.0.1");
    s_el(buf, 4, "State", "ROR", sys->state);
    s_el(buf, 4, "SystemName", "CUR", sys->name);
    s_el_int(buf, 4, "SystemTime", "CUD", clock_wall_ms());
    s_open(buf, 4, "SystemMigrationInformation", "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el_int(buf, 8, "MaximumInactiveMigrations", "ROR", sys->max_inactive);
    s_el_int(buf, 8, "MaximumActiveMigrations", "ROR", sys->max_active);
    s_el_int(buf, 8, "NumberOfInactiveMigrationsInProgress", "ROR", 0);
    s_el_int(buf, 8, "NumberOfActiveMigrationsInProgress", "ROR", sys->active);
    s_el_int(buf, 8, "MaximumFirmwareActiveMigrations", "ROR", sys->max_active);
    s_close(buf, 4, "SystemMigrationInformation");
    s_entry_close(buf, "ManagedSystem");
}

void hs_render_system_feed(hs_buf_t *buf, hs_sim_t *sim, const char *self_path,
                           hs_system_t **systems, size_t count)
{
    s_feed_open(buf, sim, self_path);
    for (size_t i = 0; i < count; i++)
        s_system(buf, sim, systems[i], false);
    hs_buf_printf(buf, "</feed>\n");
}

void hs_render_system_entry(hs_buf_t *buf, hs_sim_t *sim, hs_system_t *sys)
{
    s_system(buf, sim, sys, true);
}

//  ---------------------------------------------------------------------------
//  LogicalPartition

static void s_physical_io(hs_buf_t *buf)
{
    const char *loc = "U78D3.001.WZS0G4N-P1-C3";
    s_open(buf, 12, "ProfileIOSlot", "schemaVersion=\"V1_2_0\"");
    s_open(buf, 16, "AssociatedIOSlot", "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_bool(buf, 20, "BusGroupingRequired", "CUD", false);
    s_el(buf, 20, "Description", "CUD", "PCIe2 4-Port (10GbE SFP+ & 1GbE RJ45) Adapter");
    s_el(buf, 20, "IOUnitPhysicalLocation", "ROR", "U78D3.001.WZS0G4N");
    s_el(buf, 20, "PCAdapterID", "ROR", "1056");
    hs_buf_printf(buf, "%*s<RelatedIOAdapter kb=\"CUD\" kxe=\"false\">\n", 20, "");
    s_open(buf, 24, "IOAdapter", "schemaVersion=\"V1_2_0\"");
    s_el(buf, 28, "AdapterID", "ROR", "553713681");
    s_el(buf, 28, "Description", "CUD", "PCIe2 4-Port (10GbE SFP+ & 1GbE RJ45) Adapter");
    s_el(buf, 28, "DeviceName", "ROR", "ent0");
    s_el(buf, 28, "DynamicReconfigurationConnectorName", "CUD", loc);
    s_el(buf, 28, "PhysicalLocation", "CUD", loc);
    s_close(buf, 24, "IOAdapter");
    hs_buf_printf(buf, "%*s</RelatedIOAdapter>\n", 20, "");
    s_el(buf, 20, "SlotDynamicReconfigurationConnectorIndex", "ROR", "553713681");
    s_el(buf, 20, "SlotDynamicReconfigurationConnectorName", "CUD", loc);
    s_close(buf, 16, "AssociatedIOSlot");
    s_el_bool(buf, 16, "IsRequired", "CUD", true);
    s_close(buf, 12, "ProfileIOSlot");
}

static void s_lpar(hs_buf_t *buf, hs_sim_t *sim, hs_partition_t *part, hs_system_t *via,
                   bool standalone)
{
    hs_system_t *sys = &sim->systems[part->system];
    bool rmc = strcmp(part->rmc, "active") == 0;
    char state[512], serial[HS_WORD_MAX + 8];
    snprintf(state, sizeof state, "%s|%s|%s|%s|%s|%s|%d", part->uuid, sys->uuid, part->state,
             part->rmc, part->migration, part->compat, part->physical_io);
    s_entry_open(buf, standalone, part->uuid, "LogicalPartition", part->created_ms);
    hs_buf_printf(buf, "        <link rel=\"SELF\" href=\"");
    if (via)
        s_href(buf, sim, "/rest/api/uom/ManagedSystem/%s/LogicalPartition/%s", via->uuid,
               part->uuid);
    else
        s_href(buf, sim, "/rest/api/uom/LogicalPartition/%s", part->uuid);
    hs_buf_printf(buf, "\"/>\n        " S_AUTHOR);
    s_etag(buf, state);
    hs_buf_printf(buf, "        <content type=\"application/vnd.ibm.powervm.uom+xml;"
                  " type=LogicalPartition\">\n            <LogicalPartition:LogicalPartition"
                  " xmlns:LogicalPartition=\"" HS_NS_UOM "\" xmlns=\"" HS_NS_UOM "\" " S_K2
                  " schemaVersion=\"V1_2_0\">\n");
    hs_buf_printf(buf, "    <Metadata>\n        <Atom>\n            <AtomID>%s</AtomID>\n"
                  "            <AtomCreated>%" PRId64 "</AtomCreated>\n        </Atom>\n"
                  "    </Metadata>\n", part->uuid, part->created_ms);
    s_el_bool(buf, 4, "AllowPerformanceDataCollection", "CUD", false);
    s_el_int(buf, 4, "AvailabilityPriority", "UOD", 127);
    s_el(buf, 4, "CurrentProcessorCompatibilityMode", "ROO", part->compat);
    s_el_bool(buf, 4, "IsOperationInProgress", "ROR", part->move != NULL);
    //  The logical serial follows the system, like uname -f on a moved partition.
    snprintf(serial, sizeof serial, "%.6s%02" PRId64, sys->serial, part->id % 100);
    s_el(buf, 4, "LogicalSerialNumber", "ROR", serial);
    s_el(buf, 4, "OperatingSystemVersion", "ROR", rmc ? "AIX 7.2" : "Unknown");
    s_open(buf, 4, "PartitionCapabilities", "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_bool(buf, 8, "DynamicLogicalPartitionIOCapable", "ROR", rmc);
    s_el_bool(buf, 8, "DynamicLogicalPartitionMemoryCapable", "ROR", rmc);
    s_el_bool(buf, 8, "DynamicLogicalPartitionProcessorCapable", "ROR", rmc);
    s_el_bool(buf, 8, "InternalAndExternalIntrusionDetectionCapable", "CUD", false);
    s_el_bool(buf, 8, "ResourceMonitoringControlOperatingSystemShutdownCapable", "CUD", rmc);
    s_close(buf, 4, "PartitionCapabilities");
    s_el_int(buf, 4, "PartitionID", "COD", part->id);

    s_open(buf, 4, "PartitionIOConfiguration", "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_int(buf, 8, "MaximumVirtualIOSlots", "CUD", 64);
    s_open(buf, 8, "ProfileIOSlots", "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    if (part->physical_io)
        s_physical_io(buf);
    s_close(buf, 8, "ProfileIOSlots");
    s_el_int(buf, 8, "CurrentMaximumVirtualIOSlots", "ROR", 64);
    s_close(buf, 4, "PartitionIOConfiguration");

    s_open(buf, 4, "PartitionMemoryConfiguration",
           "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_bool(buf, 8, "ActiveMemoryExpansionEnabled", "CUD", false);
    s_el_bool(buf, 8, "ActiveMemorySharingEnabled", "CUD", false);
    s_el_int(buf, 8, "DesiredMemory", "CUD", part->memory_mb);
    s_el_int(buf, 8, "MaximumMemory", "CUD", part->memory_mb);
    s_el_int(buf, 8, "MinimumMemory", "CUD", part->memory_mb < 1024 ? part->memory_mb : 1024);
    s_el_int(buf, 8, "CurrentMaximumMemory", "ROR", part->memory_mb);
    s_el_int(buf, 8, "CurrentMemory", "ROR", part->memory_mb);
    s_el_int(buf, 8, "CurrentMinimumMemory", "ROR",
             part->memory_mb < 1024 ? part->memory_mb : 1024);
    s_el_int(buf, 8, "RuntimeMemory", "ROR", part->memory_mb);
    s_el_bool(buf, 8, "SharedMemoryEnabled", "CUD", false);
    s_close(buf, 4, "PartitionMemoryConfiguration");

    s_el(buf, 4, "PartitionName", "CUR", part->name);

    s_open(buf, 4, "PartitionProcessorConfiguration",
           "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_bool(buf, 8, "HasDedicatedProcessors", "CUD", false);
    s_open(buf, 8, "SharedProcessorConfiguration",
           "kb=\"CUD\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_units(buf, 12, "DesiredProcessingUnits", "CUD", part->proc_units);
    s_el_int(buf, 12, "DesiredVirtualProcessors", "CUD", part->vcpus);
    s_el_units(buf, 12, "MaximumProcessingUnits", "CUD", part->proc_units);
    s_el_int(buf, 12, "MaximumVirtualProcessors", "CUD", part->vcpus);
    s_el_units(buf, 12, "MinimumProcessingUnits", "CUD", part->proc_units);
    s_el_int(buf, 12, "MinimumVirtualProcessors", "CUD", 1);
    s_el_int(buf, 12, "SharedProcessorPoolID", "CUD", 0);
    s_el_int(buf, 12, "UncappedWeight", "CUD", 128);
    s_close(buf, 8, "SharedProcessorConfiguration");
    s_el(buf, 8, "SharingMode", "CUD", "uncapped");
    s_el_bool(buf, 8, "CurrentHasDedicatedProcessors", "ROR", false);
    s_el(buf, 8, "CurrentSharingMode", "ROR", "uncapped");
    s_open(buf, 8, "CurrentSharedProcessorConfiguration",
           "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_2_0\"");
    s_el_int(buf, 12, "AllocatedVirtualProcessors", "ROR", part->vcpus);
    s_el_units(buf, 12, "CurrentProcessingUnits", "ROR", part->proc_units);
    s_el_int(buf, 12, "CurrentSharedProcessorPoolID", "ROR", 0);
    s_el_units(buf, 12, "RuntimeProcessingUnits", "ROR", part->proc_units);
    s_close(buf, 8, "CurrentSharedProcessorConfiguration");
    s_close(buf, 4, "PartitionProcessorConfiguration");

    s_el(buf, 4, "PartitionState", "ROO", part->state);
    s_el(buf, 4, "PartitionType", "COD", part->type);
    s_el(buf, 4, "PartitionUUID", "ROO", part->uuid);
    s_el(buf, 4, "PendingProcessorCompatibilityMode", "CUD", "default");
    s_el_int(buf, 4, "ProgressPartitionDataRemaining", "ROR", 0);
    s_el_int(buf, 4, "ProgressPartitionDataTotal", "ROR", 0);
    s_el(buf, 4, "ResourceMonitoringControlState", "ROR", part->rmc);
    hs_buf_printf(buf, "    <AssociatedManagedSystem kb=\"CUD\" kxe=\"false\" href=\"");
    s_href(buf, sim, "/rest/api/uom/ManagedSystem/%s", sys->uuid);
    hs_buf_printf(buf, "\" rel=\"related\"/>\n");
    s_el_bool(buf, 4, "IsServicePartition", "CUD", false);
    s_el(buf, 4, "ReferenceCode", "ROO", strcmp(part->state, "running") == 0 ? "" : "00000000");
    s_el_bool(buf, 4, "IsManagementPartition", "ROR", part->management);
    s_el_bool(buf, 4, "RemoteRestartCapable", "CUA", false);
    s_el_bool(buf, 4, "SimplifiedRemoteRestartCapable", "CUD", false);
    s_el_bool(buf, 4, "HasDedicatedProcessorsForMigration", "ROR", false);
    s_el_bool(buf, 4, "SuspendCapable", "CUD", false);
    s_el(buf, 4, "MigrationState", "ROR", part->migration);
    s_el(buf, 4, "RemoteRestartState", "ROR", "Invalid");
    s_el(buf, 4, "PowerManagementMode", "CUR", "None");
    s_entry_close(buf, "LogicalPartition");
}

void hs_render_lpar_feed(hs_buf_t *buf, hs_sim_t *sim, const char *self_path,
                         hs_partition_t **parts, size_t count, hs_system_t *via)
{
    s_feed_open(buf, sim, self_path);
    for (size_t i = 0; i < count; i++)
        s_lpar(buf, sim, parts[i], via, false);
    hs_buf_printf(buf, "</feed>\n");
}

void hs_render_lpar_entry(hs_buf_t *buf, hs_sim_t *sim, hs_partition_t *part, hs_system_t *via)
{
    s_lpar(buf, sim, part, via, true);
}

//  ---------------------------------------------------------------------------
//  Jobs

static void s_job_param(hs_buf_t *buf, int indent, const char *name, const char *value)
{
    s_open(buf, indent, "JobParameter", "schemaVersion=\"V1_0\"");
    s_el(buf, indent + 4, "ParameterName", "ROR", name);
    s_el(buf, indent + 4, "ParameterValue", "CUR", value);
    s_close(buf, indent, "JobParameter");
}

static void s_requested_op(hs_buf_t *buf, int indent, const char *op)
{
    s_open(buf, indent, "RequestedOperation", "kb=\"CUR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el(buf, indent + 4, "OperationName", "ROR", op);
    s_el(buf, indent + 4, "GroupName", "ROR", "LogicalPartition");
    s_close(buf, indent, "RequestedOperation");
}

static const char *s_progress(const hs_job_t *job)
{
    if (job->status > HS_JOB_RUNNING)
        return "1.0";
    switch (job->phase) {
    case HS_PHASE_CHECK: return "0.1";
    case HS_PHASE_COPY: return "0.4";
    case HS_PHASE_SWITCH: return "0.8";
    case HS_PHASE_POST: return "0.9";
    default: return "0.0";
    }
}

void hs_render_job(hs_buf_t *buf, hs_sim_t *sim, hs_job_t *job)
{
    hs_partition_t *part = &sim->parts[job->part];
    const char *op = hs_op_names[job->op];
    char id[HS_UUID_MAX];
    hs_uuid_from(job->id, false, id, sizeof id);
    s_entry_open(buf, true, id, "JobResponse", job->submitted_ms);
    hs_buf_printf(buf, "        <link rel=\"SELF\" href=\"");
    s_href(buf, sim, "/rest/api/uom/jobs/%s", job->id);
    hs_buf_printf(buf, "\"/>\n        " S_AUTHOR);
    hs_buf_printf(buf, "        <content type=\"application/vnd.ibm.powervm.web+xml;"
                  " type=JobResponse\">\n            <JobResponse:JobResponse"
                  " xmlns:JobResponse=\"" HS_NS_WEB "\" xmlns=\"" HS_NS_WEB "\" " S_K2
                  " schemaVersion=\"V1_0\">\n");
    hs_buf_printf(buf, "    " S_META_EMPTY, 4, "", 4, "");
    hs_buf_printf(buf, "    <RequestURL kb=\"ROR\" kxe=\"false\" href=\"LogicalPartition/%s/do/%s\""
                  " rel=\"via\" title=\"The URL to which the JobRequest was submitted.\"/>\n",
                  part->uuid, op);
    s_el(buf, 4, "TargetUuid", "ROR", part->uuid);
    s_el(buf, 4, "JobID", "ROR", job->id);
    s_el_int(buf, 4, "TimeStarted", "ROR", job->started_ms);
    s_el_int(buf, 4, "TimeCompleted", "ROR", job->completed_ms);
    s_el(buf, 4, "Status", "ROR", hs_status_name(job->status));
    if (job->exception) {
        s_open(buf, 4, "ResponseException", "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_0\"");
        s_el(buf, 8, "Message", "ROR", job->exception);
        s_close(buf, 4, "ResponseException");
    }
    s_open(buf, 4, "JobRequestInstance", "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_requested_op(buf, 8, op);
    s_open(buf, 8, "JobParameters", "kb=\"CUR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    for (size_t i = 0; i < job->param_count; i++)
        s_job_param(buf, 12, job->params[i].name, job->params[i].value);
    s_close(buf, 8, "JobParameters");
    s_close(buf, 4, "JobRequestInstance");
    s_open(buf, 4, "Progress", "kb=\"ROO\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_el(buf, 8, "LinearProgress", "ROR", s_progress(job));
    s_close(buf, 4, "Progress");
    s_open(buf, 4, "Results", "kb=\"ROR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    if (job->status == HS_JOB_COMPLETED_OK || job->status == HS_JOB_COMPLETED_WITH_ERROR) {
        s_job_param(buf, 8, "returnCode", job->status == HS_JOB_COMPLETED_OK ? "0" : "1");
        if (job->result)
            s_job_param(buf, 8, "result", job->result);
    }
    s_close(buf, 4, "Results");
    s_entry_close(buf, "JobResponse");
}

void hs_render_job_template(hs_buf_t *buf, hs_op_t op)
{
    char id[HS_UUID_MAX];
    hs_uuid_from(hs_op_names[op], false, id, sizeof id);
    s_entry_open(buf, true, id, "JobRequest", clock_wall_ms());
    hs_buf_printf(buf, "        " S_AUTHOR);
    hs_buf_printf(buf, "        <content type=\"application/vnd.ibm.powervm.web+xml;"
                  " type=JobRequest\">\n            <JobRequest:JobRequest"
                  " xmlns:JobRequest=\"" HS_NS_WEB "\" xmlns=\"" HS_NS_WEB "\" " S_K2
                  " schemaVersion=\"V1_0\">\n");
    hs_buf_printf(buf, "    " S_META_EMPTY, 4, "", 4, "");
    s_requested_op(buf, 4, hs_op_names[op]);
    s_open(buf, 4, "JobParameters", "kb=\"CUR\" kxe=\"false\" schemaVersion=\"V1_0\"");
    s_close(buf, 4, "JobParameters");
    s_entry_close(buf, "JobRequest");
}

//  ---------------------------------------------------------------------------
//  Errors and logon

void hs_render_error(hs_buf_t *buf, int status, const char *uri, const char *reason,
                     const char *message)
{
    char id[HS_UUID_MAX], seed[64];
    snprintf(seed, sizeof seed, "error/%" PRId64, clock_mono_us());
    hs_uuid_from(seed, false, id, sizeof id);
    s_entry_open(buf, true, id, "HttpErrorResponse", clock_wall_ms());
    hs_buf_printf(buf, "        " S_AUTHOR);
    hs_buf_printf(buf, "        <content type=\"application/vnd.ibm.powervm.web+xml;"
                  " type=HttpErrorResponse\">\n            <HttpErrorResponse:HttpErrorResponse"
                  " xmlns:HttpErrorResponse=\"" HS_NS_WEB "\" xmlns=\"" HS_NS_WEB "\" " S_K2
                  " schemaVersion=\"V1_2_0\">\n");
    hs_buf_printf(buf, "    " S_META_EMPTY, 4, "", 4, "");
    s_el_int(buf, 4, "HTTPStatus", "ROR", status);
    s_el(buf, 4, "RequestURI", "ROR", uri);
    s_el(buf, 4, "ReasonCode", "ROR", reason);
    hs_buf_printf(buf, "    <Message kb=\"ROO\" kxe=\"false\">");
    hs_buf_xml(buf, message);
    hs_buf_printf(buf, "</Message>\n    <RequestBody kb=\"ROO\" kxe=\"false\"/>\n");
    s_entry_close(buf, "HttpErrorResponse");
}

void hs_render_logon(hs_buf_t *buf, const char *token, bool pad)
{
    hs_buf_printf(buf, S_XML_DECL "<LogonResponse xmlns=\"" HS_NS_WEB "\" schemaVersion=\"V1_1_0\">\n"
                  "    <Metadata>\n        <Atom/>\n    </Metadata>\n"
                  "    <X-API-Session kb=\"ROR\" kxe=\"false\">%s%s%s</X-API-Session>\n"
                  "</LogonResponse>\n", pad ? "\n        " : "", token, pad ? "\n    " : "");
}
