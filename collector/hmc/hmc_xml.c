/*  hmc_xml — parsers and builders for the HMC REST API's XML. See hmc_xml.h.

    Documents are read with libxml2 without network access, without entity
    substitution and with a DTD refused outright (the HMC never sends one), so
    nothing in a document can make the parser fetch or expand anything. Only
    direct children along fixed paths are looked at: no recursion of ours. */
#include "hmc_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_MAX_DOC ((size_t) 256 << 20)   // larger than any real feed
#define S_MAX_TOKEN 8192
#define S_MAX_IDENT 64

// ------------------------------------------------------------------ diagnostics

static void s_warn(hmc_xml_diag_t *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void s_fail(hmc_xml_diag_t *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_warn(hmc_xml_diag_t *diag, const char *fmt, ...)
{
    if (!diag)
        return;
    if (diag->warnings++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->warning, sizeof diag->warning, fmt, ap);
        va_end(ap);
    }
}

static void s_fail(hmc_xml_diag_t *diag, const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->error, sizeof diag->error, fmt, ap);
    va_end(ap);
}

// ------------------------------------------------------------------ text

static bool s_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool s_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

//  Trim src and copy it into dst (size > 0), control characters as '?'. A
//  value too long is cut on a UTF-8 boundary; returns false then.
static bool s_copy_field(char *dst, size_t size, const char *src)
{
    while (*src && s_space((unsigned char) *src))
        src++;
    size_t len = strlen(src);
    while (len > 0 && s_space((unsigned char) src[len - 1]))
        len--;
    bool whole = true;
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char) src[len] & 0xC0) == 0x80)
            len--;
        whole = false;
    }
    for (size_t i = 0; i < len; i++)
        dst[i] = s_control((unsigned char) src[i]) ? '?' : src[i];
    dst[len] = '\0';
    return whole;
}

//  New string: every run of whitespace / control characters folded to one
//  space, ends trimmed. NULL on allocation failure.
static char *s_fold(const char *src)
{
    char *out = malloc(strlen(src) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    bool gap = false;
    for (const unsigned char *p = (const unsigned char *) src; *p; p++) {
        if (s_space(*p) || s_control(*p)) {
            gap = n > 0;
            continue;
        }
        if (gap)
            out[n++] = ' ';
        gap = false;
        out[n++] = (char) *p;
    }
    out[n] = '\0';
    return out;
}

//  New copy of src with control characters other than tab / newline as '?'.
static char *s_dup_clean(const char *src)
{
    char *out = strdup(src);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if (s_control((unsigned char) *p) && *p != '\n' && *p != '\t')
            *p = '?';
    return out;
}

//  Whole text is an integer (after trimming): [+-]?[0-9]+ without overflow.
static bool s_parse_int64(const char *text, int64_t *out)
{
    while (s_space((unsigned char) *text))
        text++;
    bool neg = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    if (*text < '0' || *text > '9')
        return false;
    uint64_t value = 0;
    uint64_t limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    for (; *text >= '0' && *text <= '9'; text++) {
        unsigned digit = (unsigned) (*text - '0');
        if (value > (limit - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    while (s_space((unsigned char) *text))
        text++;
    if (*text)
        return false;
    *out = neg ? (value == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) value)
               : (int64_t) value;
    return true;
}

//  Whole text is a decimal: [+-]?[0-9]+(\.[0-9]*)? or [+-]?\.[0-9]+. No locale.
static bool s_parse_decimal(const char *text, double *out)
{
    while (s_space((unsigned char) *text))
        text++;
    bool neg = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    double value = 0;
    int digits = 0;
    for (; *text >= '0' && *text <= '9'; text++, digits++) {
        if (digits > 30)
            return false;       // no real figure has this many digits
        value = value * 10 + (*text - '0');
    }
    if (*text == '.') {
        text++;
        double scale = 0.1;
        for (int frac = 0; *text >= '0' && *text <= '9'; text++, digits++, frac++)
            if (frac < 17) {
                value += (*text - '0') * scale;
                scale /= 10;
            }
    }
    while (s_space((unsigned char) *text))
        text++;
    if (digits == 0 || *text)
        return false;
    *out = neg ? -value : value;
    return true;
}

static bool s_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool hmc_uuid_valid(const char *text)
{
    if (!text || strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !s_hex(text[i]))
            return false;
    }
    return true;
}

bool hmc_job_id_valid(const char *text)
{
    if (!text)
        return false;
    size_t len = strnlen(text, HMC_JOB_ID_SIZE);
    if (len == 0 || len >= HMC_JOB_ID_SIZE)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

// ------------------------------------------------------------------ tree access

static bool s_is(const xmlNode *node, const char *ns, const char *local)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href
           && strcmp((const char *) node->ns->href, ns) == 0
           && strcmp((const char *) node->name, local) == 0;
}

//  First child element of parent, or the first after `after`, named ns:local.
static xmlNode *s_child_after(const xmlNode *parent, const xmlNode *after, const char *ns,
                              const char *local)
{
    if (!parent)
        return NULL;
    for (xmlNode *c = after ? after->next : parent->children; c; c = c->next)
        if (s_is(c, ns, local))
            return c;
    return NULL;
}

static xmlNode *s_child(const xmlNode *parent, const char *ns, const char *local)
{
    return s_child_after(parent, NULL, ns, local);
}

static xmlNode *s_first_element(const xmlNode *parent)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

//  Follow "A/B/C" through direct children in namespace ns.
static xmlNode *s_path(const xmlNode *node, const char *ns, const char *path)
{
    char name[96];
    const char *p = path;
    while (node && *p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t) (slash - p) : strlen(p);
        if (n >= sizeof name)
            return NULL;
        memcpy(name, p, n);
        name[n] = '\0';
        node = s_child(node, ns, name);
        p += n + (slash ? 1 : 0);
    }
    return (xmlNode *) node;
}

//  Text content of node as a malloc'd string (caller frees), NULL when none.
static char *s_text(const xmlNode *node)
{
    if (!node)
        return NULL;
    xmlChar *content = xmlNodeGetContent(node);
    if (!content)
        return NULL;
    char *copy = strdup((const char *) content);
    xmlFree(content);
    return copy;
}

static const char *s_attr_text(const xmlNode *node, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    xmlChar *value = node ? xmlGetNoNsProp(node, BAD_CAST name) : NULL;
    if (value) {
        s_copy_field(buf, size, (const char *) value);
        xmlFree(value);
    }
    return buf;
}

// ------------------------------------------------------------------ documents

static void s_quiet(void *ctx, const char *msg, ...)
{
    (void) ctx;
    (void) msg;
}

//  Parse text into a document whose root element is returned in *root.
static xmlDoc *s_read(const char *text, size_t len, xmlNode **root, hmc_xml_diag_t *diag)
{
    *root = NULL;
    if (!text || len == 0) {
        s_fail(diag, "empty document");
        return NULL;
    }
    if (len > S_MAX_DOC || len > (size_t) INT_MAX) {
        s_fail(diag, "document of %zu bytes is too large", len);
        return NULL;
    }
    xmlResetLastError();
    //  Encoding errors bypass XML_PARSE_NOERROR and go to the generic error
    //  handler (stderr): silence it for this parse (the handler is per thread).
    xmlGenericErrorFunc saved = xmlGenericError;
    void *saved_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, s_quiet);
    xmlDoc *doc = xmlReadMemory(text, (int) len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetGenericErrorFunc(saved_ctx, saved);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        char msg[160] = "unknown error";
        if (e && e->message)
            s_copy_field(msg, sizeof msg, e->message);
        s_fail(diag, "not well-formed XML (line %d): %s", e ? e->line : 0, msg);
        return NULL;
    }
    if (doc->intSubset || doc->extSubset) {
        s_fail(diag, "document carries a DTD, which the HMC never sends: refused");
        xmlFreeDoc(doc);
        return NULL;
    }
    *root = xmlDocGetRootElement(doc);
    if (!*root) {
        s_fail(diag, "document has no root element");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

typedef struct {
    const xmlNode *entry;       // the Atom entry holding obj, NULL for a bare root
    const xmlNode *obj;         // the object element
} s_item_t;

static bool s_is_any(const xmlNode *node, const char *ns, const char *const *locals)
{
    for (; *locals; locals++)
        if (s_is(node, ns, *locals))
            return true;
    return false;
}

//  "{ns}name" of an element for messages.
static const char *s_describe(const xmlNode *node, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", node->ns && node->ns->href ? "{" : "",
             node->ns && node->ns->href ? (const char *) node->ns->href : "",
             node->ns && node->ns->href ? "}" : "");
    size_t used = strlen(buf);
    if (used < size)
        snprintf(buf + used, size - used, "%s", (const char *) node->name);
    return buf;
}

//  When entry holds an HttpErrorResponse, describe it in diag.error.
static bool s_error_entry(const xmlNode *content, hmc_xml_diag_t *diag)
{
    const xmlNode *obj = s_first_element(content);
    if (!s_is(obj, HMC_NS_WEB, "HttpErrorResponse"))
        return false;
    char msg[200] = "";
    char *text = s_text(s_child(obj, HMC_NS_WEB, "Message"));
    if (text) {
        char *folded = s_fold(text);
        if (folded)
            s_copy_field(msg, sizeof msg, folded);
        free(folded);
        free(text);
    }
    s_fail(diag, "the document is an HttpErrorResponse: %s", msg[0] ? msg : "(no message)");
    return true;
}

//  Objects named one of locals (namespace ns) in the document: the root
//  itself, the content of a root entry, or the content of each entry of a
//  root feed. Entries holding something else are skipped with a warning.
//  *items_p malloc'd (NULL when none). 0 / -1.
static int s_items(const xmlNode *root, const char *ns, const char *const *locals,
                   s_item_t **items_p, size_t *count_p, hmc_xml_diag_t *diag)
{
    *items_p = NULL;
    *count_p = 0;
    char what[200];
    if (s_is_any(root, ns, locals)) {
        s_item_t *items = calloc(1, sizeof *items);
        if (!items)
            goto nomem;
        items[0].obj = root;
        *items_p = items, *count_p = 1;
        return 0;
    }
    bool is_feed = s_is(root, HMC_NS_ATOM, "feed");
    if (!is_feed && !s_is(root, HMC_NS_ATOM, "entry")) {
        s_fail(diag, "expected an Atom feed or entry of %s, found %s", locals[0],
               s_describe(root, what, sizeof what));
        return -1;
    }
    size_t total = 0;
    if (is_feed)
        for (const xmlNode *e = s_child(root, HMC_NS_ATOM, "entry"); e;
             e = s_child_after(root, e, HMC_NS_ATOM, "entry"))
            total++;
    else
        total = 1;
    if (total == 0)
        return 0;
    s_item_t *items = calloc(total, sizeof *items);
    if (!items)
        goto nomem;
    size_t n = 0, index = 0;
    const xmlNode *entry = is_feed ? s_child(root, HMC_NS_ATOM, "entry") : root;
    for (; entry; entry = is_feed ? s_child_after(root, entry, HMC_NS_ATOM, "entry") : NULL) {
        index++;
        const xmlNode *content = s_child(entry, HMC_NS_ATOM, "content");
        const xmlNode *obj = s_first_element(content);
        if (s_is_any(obj, ns, locals)) {
            items[n].entry = entry;
            items[n].obj = obj;
            n++;
            continue;
        }
        if (!is_feed && content && s_error_entry(content, diag)) {
            free(items);
            return -1;
        }
        if (!is_feed) {
            s_fail(diag, "entry holds %s, not %s",
                   obj ? s_describe(obj, what, sizeof what) : "no content", locals[0]);
            free(items);
            return -1;
        }
        s_warn(diag, "feed entry %zu holds %s, not %s: skipped", index,
               obj ? s_describe(obj, what, sizeof what) : "no content", locals[0]);
    }
    if (n == 0) {
        free(items);
        items = NULL;
    }
    *items_p = items, *count_p = n;
    return 0;
nomem:
    s_fail(diag, "out of memory");
    return -1;
}

// ------------------------------------------------------------------ fields

//  Where fields are read from, and how the object is named in warnings.
typedef struct {
    const xmlNode *obj;
    const char *ns;
    char what[HMC_NAME_SIZE + 40];
    hmc_xml_diag_t *diag;
} s_ctx_t;

//  Text of the element at path, malloc'd; NULL (and a warning when required) when absent.
static char *s_get(s_ctx_t *ctx, const char *path, bool required)
{
    const xmlNode *node = s_path(ctx->obj, ctx->ns, path);
    char *text = s_text(node);
    if (!text && required)
        s_warn(ctx->diag, "%s: no %s", ctx->what, path);
    return text;
}

static void s_get_str(s_ctx_t *ctx, const char *path, char *dst, size_t size, bool required)
{
    dst[0] = '\0';
    char *text = s_get(ctx, path, required);
    if (!text)
        return;
    if (!s_copy_field(dst, size, text))
        s_warn(ctx->diag, "%s: %s longer than %zu bytes: cut", ctx->what, path, size - 1);
    if (!dst[0] && required)
        s_warn(ctx->diag, "%s: empty %s", ctx->what, path);
    free(text);
}

static void s_get_int64(s_ctx_t *ctx, const char *path, int64_t *out, bool required)
{
    *out = -1;
    char *text = s_get(ctx, path, required);
    if (!text)
        return;
    int64_t value;
    if (s_parse_int64(text, &value))
        *out = value;
    else {
        char shown[40];
        s_copy_field(shown, sizeof shown, text);
        s_warn(ctx->diag, "%s: %s is not an integer: '%s'", ctx->what, path, shown);
    }
    free(text);
}

static void s_get_int(s_ctx_t *ctx, const char *path, int *out, bool required)
{
    int64_t value;
    s_get_int64(ctx, path, &value, required);
    if (value < -1 || value > INT_MAX) {
        s_warn(ctx->diag, "%s: %s out of range", ctx->what, path);
        value = -1;
    }
    *out = (int) value;
}

static void s_get_double(s_ctx_t *ctx, const char *path, double *out, bool required)
{
    *out = -1;
    char *text = s_get(ctx, path, required);
    if (!text)
        return;
    double value;
    if (s_parse_decimal(text, &value))
        *out = value;
    else {
        char shown[40];
        s_copy_field(shown, sizeof shown, text);
        s_warn(ctx->diag, "%s: %s is not a number: '%s'", ctx->what, path, shown);
    }
    free(text);
}

//  true / false (any case); *present says whether a valid value was found.
static bool s_get_bool(s_ctx_t *ctx, const char *path, bool required, bool *present)
{
    if (present)
        *present = false;
    char *text = s_get(ctx, path, required);
    if (!text)
        return false;
    char value[16];
    s_copy_field(value, sizeof value, text);
    free(text);
    if (strcasecmp(value, "true") == 0 || strcasecmp(value, "false") == 0) {
        if (present)
            *present = true;
        return strcasecmp(value, "true") == 0;
    }
    s_warn(ctx->diag, "%s: %s is not true/false: '%s'", ctx->what, path, value);
    return false;
}

//  The object's UUID: first of the paths given (in ctx's namespace), else
//  Metadata/Atom/AtomID, else the entry's Atom id.
static void s_get_uuid(s_ctx_t *ctx, const s_item_t *item, const char *first_path, char *dst)
{
    dst[0] = '\0';
    char *text = first_path ? s_get(ctx, first_path, false) : NULL;
    if (!text)
        text = s_get(ctx, "Metadata/Atom/AtomID", false);
    if (!text && item->entry)
        text = s_text(s_child(item->entry, HMC_NS_ATOM, "id"));
    if (!text) {
        s_warn(ctx->diag, "%s: no UUID", ctx->what);
        return;
    }
    s_copy_field(dst, HMC_UUID_SIZE, text);
    free(text);
    if (!hmc_uuid_valid(dst)) {
        s_warn(ctx->diag, "%s: UUID '%s' is not 8-4-4-4-12 hex: dropped", ctx->what, dst);
        dst[0] = '\0';
    }
}

// ------------------------------------------------------------------ systems

static void s_system(const s_item_t *item, size_t index, hmc_system_t *sys, hmc_xml_diag_t *diag)
{
    memset(sys, 0, sizeof *sys);
    s_ctx_t ctx = {.obj = item->obj, .ns = HMC_NS_UOM, .diag = diag};
    snprintf(ctx.what, sizeof ctx.what, "ManagedSystem #%zu", index + 1);
    s_get_str(&ctx, "SystemName", sys->name, sizeof sys->name, true);
    if (sys->name[0])
        snprintf(ctx.what, sizeof ctx.what, "ManagedSystem '%s'", sys->name);
    s_get_uuid(&ctx, item, NULL, sys->uuid);
    s_get_str(&ctx, "State", sys->state, sizeof sys->state, true);
    s_get_str(&ctx, "MachineTypeModelAndSerialNumber/SerialNumber", sys->serial,
              sizeof sys->serial, true);
    s_get_str(&ctx, "MachineTypeModelAndSerialNumber/MachineType", sys->machine_type,
              sizeof sys->machine_type, true);
    s_get_str(&ctx, "MachineTypeModelAndSerialNumber/Model", sys->model, sizeof sys->model,
              true);

    s_get_int(&ctx, "SystemMigrationInformation/MaximumActiveMigrations",
              &sys->max_active_migrations, true);
    s_get_int(&ctx, "SystemMigrationInformation/MaximumInactiveMigrations",
              &sys->max_inactive_migrations, true);
    s_get_int(&ctx, "SystemMigrationInformation/NumberOfActiveMigrationsInProgress",
              &sys->active_migrations_in_progress, true);
    s_get_int(&ctx, "SystemMigrationInformation/NumberOfInactiveMigrationsInProgress",
              &sys->inactive_migrations_in_progress, true);
    s_get_int(&ctx, "SystemMigrationInformation/MaximumFirmwareActiveMigrations",
              &sys->max_firmware_active_migrations, false);

    sys->lpm_capable = s_get_bool(
        &ctx, "AssociatedSystemCapabilities/ActiveLogicalPartitionMobilityCapable", true, NULL);
    sys->inactive_lpm_capable = s_get_bool(
        &ctx, "AssociatedSystemCapabilities/InactiveLogicalPartitionMobilityCapable", false,
        NULL);

    s_get_int64(&ctx, "AssociatedSystemMemoryConfiguration/InstalledSystemMemory",
                &sys->memory_installed_mb, true);
    s_get_int64(&ctx, "AssociatedSystemMemoryConfiguration/CurrentAvailableSystemMemory",
                &sys->memory_available_mb, true);
    s_get_int64(&ctx, "AssociatedSystemMemoryConfiguration/MemoryRegionSize",
                &sys->memory_region_mb, false);

    s_get_double(&ctx, "AssociatedSystemProcessorConfiguration/InstalledSystemProcessorUnits",
                 &sys->proc_units_installed, true);
    s_get_double(&ctx,
                 "AssociatedSystemProcessorConfiguration/CurrentAvailableSystemProcessorUnits",
                 &sys->proc_units_available, true);

    const xmlNode *procs = s_child(item->obj, HMC_NS_UOM, "AssociatedSystemProcessorConfiguration");
    const char *mode_name = "SupportedPartitionProcessorCompatibilityModes";
    for (const xmlNode *m = s_child(procs, HMC_NS_UOM, mode_name); m;
         m = s_child_after(procs, m, HMC_NS_UOM, mode_name)) {
        if (sys->compat_mode_count == HMC_MAX_COMPAT_MODES) {
            s_warn(diag, "%s: more than %d compatibility modes: the rest ignored", ctx.what,
                   HMC_MAX_COMPAT_MODES);
            break;
        }
        char *text = s_text(m);
        if (!text)
            continue;
        char *slot = sys->compat_modes[sys->compat_mode_count];
        s_copy_field(slot, HMC_STATE_SIZE, text);
        free(text);
        if (slot[0])
            sys->compat_mode_count++;
    }
}

static const char *const s_system_locals[] = {"ManagedSystem", NULL};

//  Fills one element of a parsed list (a system or a partition).
typedef void (s_fill_fn)(const s_item_t *item, size_t index, void *out, hmc_xml_diag_t *diag);

//  The shared shape of the list parsers: the objects named by locals, each
//  filled by fill into a calloc'd array of elem_size elements.
static int s_parse_list(const char *text, size_t len, const char *const *locals, size_t elem_size,
                        s_fill_fn *fill, void **array_p, size_t *count_p, hmc_xml_diag_t *diag)
{
    *array_p = NULL;
    *count_p = 0;
    xmlNode *root;
    xmlDoc *doc = s_read(text, len, &root, diag);
    if (!doc)
        return -1;
    s_item_t *items = NULL;
    size_t count = 0;
    int rc = -1;
    if (s_items(root, HMC_NS_UOM, locals, &items, &count, diag) != 0)
        goto done;
    char *array = count ? calloc(count, elem_size) : NULL;
    if (count && !array) {
        s_fail(diag, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        fill(&items[i], i, array + i * elem_size, diag);
    *array_p = array, *count_p = count;
    rc = 0;
done:
    free(items);
    xmlFreeDoc(doc);
    return rc;
}

static void s_fill_system(const s_item_t *item, size_t index, void *out, hmc_xml_diag_t *diag)
{
    s_system(item, index, out, diag);
}

int hmc_parse_systems(const char *text, size_t len, hmc_system_t **systems_p, size_t *count_p,
                      hmc_xml_diag_t *diag)
{
    void *array = NULL;
    int rc = s_parse_list(text, len, s_system_locals, sizeof(hmc_system_t), s_fill_system, &array,
                          count_p, diag);
    *systems_p = array;
    return rc;
}

// ------------------------------------------------------------------ partitions

//  The UUID at the end of AssociatedManagedSystem@href.
static void s_href_uuid(s_ctx_t *ctx, const char *path, char *dst)
{
    dst[0] = '\0';
    const xmlNode *node = s_path(ctx->obj, ctx->ns, path);
    char href[512];
    s_attr_text(node, "href", href, sizeof href);
    if (!href[0]) {
        s_warn(ctx->diag, "%s: no %s link", ctx->what, path);
        return;
    }
    href[strcspn(href, "?#")] = '\0';
    size_t len = strlen(href);
    while (len > 0 && href[len - 1] == '/')
        href[--len] = '\0';
    const char *last = strrchr(href, '/');
    last = last ? last + 1 : href;
    s_copy_field(dst, HMC_UUID_SIZE, last);
    if (!hmc_uuid_valid(dst)) {
        s_warn(ctx->diag, "%s: %s link does not end with a UUID", ctx->what, path);
        dst[0] = '\0';
    }
}

static void s_partition(const s_item_t *item, size_t index, hmc_partition_t *part,
                        hmc_xml_diag_t *diag)
{
    memset(part, 0, sizeof *part);
    s_ctx_t ctx = {.obj = item->obj, .ns = HMC_NS_UOM, .diag = diag};
    snprintf(ctx.what, sizeof ctx.what, "%s #%zu", (const char *) item->obj->name, index + 1);
    s_get_str(&ctx, "PartitionName", part->name, sizeof part->name, true);
    if (part->name[0])
        snprintf(ctx.what, sizeof ctx.what, "%s '%s'", (const char *) item->obj->name,
                 part->name);
    s_get_uuid(&ctx, item, "PartitionUUID", part->uuid);
    s_get_int(&ctx, "PartitionID", &part->id, true);
    s_get_str(&ctx, "PartitionState", part->state, sizeof part->state, true);
    s_get_str(&ctx, "PartitionType", part->type, sizeof part->type, true);
    s_get_str(&ctx, "ResourceMonitoringControlState", part->rmc_state, sizeof part->rmc_state,
              true);
    s_get_str(&ctx, "MigrationState", part->migration_state, sizeof part->migration_state,
              false);
    s_href_uuid(&ctx, "AssociatedManagedSystem", part->system_uuid);
    s_get_str(&ctx, "CurrentProcessorCompatibilityMode", part->proc_compat_mode,
              sizeof part->proc_compat_mode, false);
    part->is_mgmt_partition = s_get_bool(&ctx, "IsManagementPartition", false, NULL);

    bool present;
    part->dedicated_procs = s_get_bool(
        &ctx, "PartitionProcessorConfiguration/CurrentHasDedicatedProcessors", false, &present);
    if (!present)
        part->dedicated_procs = s_get_bool(
            &ctx, "PartitionProcessorConfiguration/HasDedicatedProcessors", false, NULL);
    s_get_int64(&ctx, "PartitionMemoryConfiguration/CurrentMemory", &part->memory_mb, true);

    const char *shared =
        "PartitionProcessorConfiguration/CurrentSharedProcessorConfiguration/CurrentProcessingUnits";
    const char *dedicated =
        "PartitionProcessorConfiguration/CurrentDedicatedProcessorConfiguration/CurrentProcessors";
    const char *first = part->dedicated_procs ? dedicated : shared;
    const char *second = part->dedicated_procs ? shared : dedicated;
    const char *chosen = s_path(item->obj, HMC_NS_UOM, first) ? first
                         : s_path(item->obj, HMC_NS_UOM, second) ? second : first;
    s_get_double(&ctx, chosen, &part->proc_units, true);

    const xmlNode *io = s_child(item->obj, HMC_NS_UOM, "PartitionIOConfiguration");
    part->physical_io_slots = -1;
    if (io) {
        const xmlNode *slots = s_child(io, HMC_NS_UOM, "ProfileIOSlots");
        part->physical_io_slots = 0;
        for (const xmlNode *s = s_child(slots, HMC_NS_UOM, "ProfileIOSlot"); s;
             s = s_child_after(slots, s, HMC_NS_UOM, "ProfileIOSlot"))
            part->physical_io_slots++;
    }
}

static const char *const s_partition_locals[] = {"LogicalPartition", "VirtualIOServer", NULL};

static void s_fill_partition(const s_item_t *item, size_t index, void *out, hmc_xml_diag_t *diag)
{
    s_partition(item, index, out, diag);
}

int hmc_parse_partitions(const char *text, size_t len, hmc_partition_t **partitions_p,
                         size_t *count_p, hmc_xml_diag_t *diag)
{
    void *array = NULL;
    int rc = s_parse_list(text, len, s_partition_locals, sizeof(hmc_partition_t), s_fill_partition,
                          &array, count_p, diag);
    *partitions_p = array;
    return rc;
}

//  Parse text and find its first object named local in the web namespace
//  (a bare root, a root entry or the first matching entry of a feed). The
//  document, which holds *item, is the caller's to xmlFreeDoc. NULL with diag
//  set when the text is not XML, not such a document, or holds none.
static xmlDoc *s_read_web_object(const char *text, size_t len, const char *local, s_item_t *item,
                                 hmc_xml_diag_t *diag)
{
    xmlNode *root;
    xmlDoc *doc = s_read(text, len, &root, diag);
    if (!doc)
        return NULL;
    const char *const locals[] = {local, NULL};
    s_item_t *items = NULL;
    size_t count = 0;
    int rc = s_items(root, HMC_NS_WEB, locals, &items, &count, diag);
    if (rc == 0 && count == 0)
        s_fail(diag, "no %s", local);
    if (rc != 0 || count == 0) {
        free(items);
        xmlFreeDoc(doc);
        return NULL;
    }
    *item = items[0];
    free(items);
    return doc;
}

// ------------------------------------------------------------------ logon

char *hmc_parse_logon_response(const char *text, size_t len, hmc_xml_diag_t *diag)
{
    s_item_t item;
    xmlDoc *doc = s_read_web_object(text, len, "LogonResponse", &item, diag);
    if (!doc)
        return NULL;
    char *token = s_text(s_child(item.obj, HMC_NS_WEB, "X-API-Session"));
    if (!token) {
        s_fail(diag, "LogonResponse has no X-API-Session");
        goto done;
    }
    size_t n = 0;
    bool bad = false;
    for (size_t i = 0; token[i]; i++) {
        unsigned char c = (unsigned char) token[i];
        if (s_space(c))
            continue;
        if (s_control(c))
            bad = true;
        token[n++] = (char) c;
    }
    token[n] = '\0';
    if (bad || n == 0 || n > S_MAX_TOKEN) {
        s_fail(diag, "X-API-Session is %s", bad ? "not printable" : n ? "too long" : "empty");
        memset(token, 0, n);
        free(token);
        token = NULL;
    }
done:
    xmlFreeDoc(doc);
    return token;
}

int hmc_parse_logon_request(const char *text, size_t len, char *user, size_t user_size,
                            char *password, size_t password_size, hmc_xml_diag_t *diag)
{
    if (user_size)
        user[0] = '\0';
    if (password_size)
        password[0] = '\0';
    s_item_t item;
    xmlDoc *doc = s_read_web_object(text, len, "LogonRequest", &item, diag);
    if (!doc)
        return -1;
    int rc = -1;
    char *u = s_text(s_child(item.obj, HMC_NS_WEB, "UserID"));
    char *p = s_text(s_child(item.obj, HMC_NS_WEB, "Password"));
    if (!u || !p) {
        s_fail(diag, "LogonRequest without %s", !u ? "UserID" : "Password");
        goto done;
    }
    if (!s_copy_field(user, user_size, u) || strlen(p) >= password_size) {
        s_fail(diag, "LogonRequest: user or password too long");
        if (password_size)
            password[0] = '\0';
        goto done;
    }
    memcpy(password, p, strlen(p) + 1);
    rc = 0;
done:
    if (p) {
        memset(p, 0, strlen(p));
        free(p);
    }
    free(u);
    xmlFreeDoc(doc);
    return rc;
}

// ------------------------------------------------------------------ jobs

static const struct {
    hmc_job_state_t state;
    const char *name;
} s_job_states[] = {
    {HMC_JOB_NOT_STARTED, "NOT_STARTED"},
    {HMC_JOB_RUNNING, "RUNNING"},
    {HMC_JOB_COMPLETED_OK, "COMPLETED_OK"},
    {HMC_JOB_COMPLETED_WITH_WARNINGS, "COMPLETED_WITH_WARNINGS"},
    {HMC_JOB_COMPLETED_WITH_ERROR, "COMPLETED_WITH_ERROR"},
    {HMC_JOB_FAILED_BEFORE_COMPLETION, "FAILED_BEFORE_COMPLETION"},
};

hmc_job_state_t hmc_job_state_parse(const char *status)
{
    for (size_t i = 0; status && i < sizeof s_job_states / sizeof s_job_states[0]; i++)
        if (strcmp(status, s_job_states[i].name) == 0)
            return s_job_states[i].state;
    return HMC_JOB_UNKNOWN;
}

const char *hmc_job_state_name(hmc_job_state_t state)
{
    for (size_t i = 0; i < sizeof s_job_states / sizeof s_job_states[0]; i++)
        if (s_job_states[i].state == state)
            return s_job_states[i].name;
    return "UNKNOWN";
}

bool hmc_job_state_final(hmc_job_state_t state)
{
    return state != HMC_JOB_NOT_STARTED && state != HMC_JOB_RUNNING;
}

bool hmc_job_state_ok(hmc_job_state_t state)
{
    return state == HMC_JOB_COMPLETED_OK || state == HMC_JOB_COMPLETED_WITH_WARNINGS;
}

const char *hmc_kv_get(const hmc_kv_t *kvs, size_t count, const char *name)
{
    for (size_t i = 0; kvs && name && i < count; i++)
        if (kvs[i].name && strcmp(kvs[i].name, name) == 0)
            return kvs[i].value;
    return NULL;
}

static void s_kvs_free(hmc_kv_t *kvs, size_t count)
{
    for (size_t i = 0; kvs && i < count; i++) {
        free(kvs[i].name);
        free(kvs[i].value);
    }
    free(kvs);
}

void hmc_job_status_clear(hmc_job_status_t *job)
{
    if (!job)
        return;
    s_kvs_free(job->results, job->result_count);
    free(job->result_message);
    free(job->exception_message);
    memset(job, 0, sizeof *job);
}

void hmc_job_request_clear(hmc_job_request_t *request)
{
    if (!request)
        return;
    s_kvs_free(request->params, request->param_count);
    memset(request, 0, sizeof *request);
}

//  Every JobParameter {ParameterName, ParameterValue} under list. Names are
//  trimmed, values kept as sent (control characters but tab/newline as '?').
static int s_job_params(s_ctx_t *ctx, const xmlNode *list, hmc_kv_t **kvs_p, size_t *count_p)
{
    *kvs_p = NULL;
    *count_p = 0;
    size_t total = 0;
    for (const xmlNode *p = s_child(list, ctx->ns, "JobParameter"); p;
         p = s_child_after(list, p, ctx->ns, "JobParameter"))
        total++;
    if (total == 0)
        return 0;
    hmc_kv_t *kvs = calloc(total, sizeof *kvs);
    if (!kvs)
        return -1;
    size_t n = 0;
    for (const xmlNode *p = s_child(list, ctx->ns, "JobParameter"); p;
         p = s_child_after(list, p, ctx->ns, "JobParameter")) {
        char *name = s_text(s_child(p, ctx->ns, "ParameterName"));
        char *value = s_text(s_child(p, ctx->ns, "ParameterValue"));
        char clean[128] = "";
        if (name)
            s_copy_field(clean, sizeof clean, name);
        free(name);
        if (!clean[0]) {
            s_warn(ctx->diag, "%s: JobParameter without ParameterName: skipped", ctx->what);
            free(value);
            continue;
        }
        kvs[n].name = strdup(clean);
        kvs[n].value = s_dup_clean(value ? value : "");
        free(value);
        if (!kvs[n].name || !kvs[n].value) {
            s_kvs_free(kvs, n + 1);
            return -1;
        }
        n++;
    }
    if (n == 0) {
        free(kvs);
        kvs = NULL;
    }
    *kvs_p = kvs, *count_p = n;
    return 0;
}

//  The job id at the end of an Atom SELF link ".../jobs/ID".
static void s_self_job_id(const xmlNode *entry, char *dst, size_t size)
{
    dst[0] = '\0';
    for (const xmlNode *l = s_child(entry, HMC_NS_ATOM, "link"); l;
         l = s_child_after(entry, l, HMC_NS_ATOM, "link")) {
        char rel[32], href[512];
        s_attr_text(l, "rel", rel, sizeof rel);
        s_attr_text(l, "href", href, sizeof href);
        const char *jobs = strstr(href, "jobs/");
        if (strcasecmp(rel, "SELF") != 0 || !jobs)
            continue;
        char id[HMC_JOB_ID_SIZE];
        s_copy_field(id, sizeof id, jobs + 5);
        id[strcspn(id, "/?#")] = '\0';
        if (hmc_job_id_valid(id))
            snprintf(dst, size, "%s", id);
    }
}

//  *out = text folded to one line (malloc'd), NULL when text is NULL or
//  folds to nothing. -1 when out of memory.
static int s_fold_message(const char *text, char **out)
{
    *out = NULL;
    if (!text)
        return 0;
    char *folded = s_fold(text);
    if (!folded)
        return -1;
    if (folded[0])
        *out = folded;
    else
        free(folded);
    return 0;
}

int hmc_parse_job_response(const char *text, size_t len, hmc_job_status_t *job,
                           hmc_xml_diag_t *diag)
{
    memset(job, 0, sizeof *job);
    s_item_t item;
    xmlDoc *doc = s_read_web_object(text, len, "JobResponse", &item, diag);
    if (!doc)
        return -1;
    int rc = -1;
    s_ctx_t ctx = {.obj = item.obj, .ns = HMC_NS_WEB, .diag = diag};
    snprintf(ctx.what, sizeof ctx.what, "JobResponse");
    s_get_str(&ctx, "JobID", job->job_id, sizeof job->job_id, false);
    if (!job->job_id[0] && item.entry)
        s_self_job_id(item.entry, job->job_id, sizeof job->job_id);
    if (!hmc_job_id_valid(job->job_id)) {
        s_warn(diag, "JobResponse: no JobID%s", job->job_id[0] ? " (not a number)" : "");
        job->job_id[0] = '\0';
    }
    if (job->job_id[0])
        snprintf(ctx.what, sizeof ctx.what, "JobResponse %s", job->job_id);
    s_get_str(&ctx, "Status", job->status, sizeof job->status, true);
    job->state = hmc_job_state_parse(job->status);
    if (job->status[0] && job->state == HMC_JOB_UNKNOWN)
        s_warn(diag, "%s: unknown Status '%s'", ctx.what, job->status);
    s_get_str(&ctx, "JobRequestInstance/RequestedOperation/OperationName", job->operation,
              sizeof job->operation, false);
    s_get_str(&ctx, "TargetUuid", job->target_uuid, sizeof job->target_uuid, false);
    s_get_int64(&ctx, "TimeStarted", &job->time_started_ms, false);
    s_get_int64(&ctx, "TimeCompleted", &job->time_completed_ms, false);
    s_get_double(&ctx, "Progress/LinearProgress", &job->progress, false);

    const xmlNode *tasks = s_path(item.obj, HMC_NS_WEB, "Progress/CompletedTasks");
    for (const xmlNode *m = s_child(tasks, HMC_NS_WEB, "NLSMessage"); m;
         m = s_child_after(tasks, m, HMC_NS_WEB, "NLSMessage")) {
        char *t = s_text(s_child(m, HMC_NS_WEB, "UntranslatedMessage"));
        if (t)
            s_copy_field(job->progress_text, sizeof job->progress_text, t);
        free(t);
    }

    if (s_job_params(&ctx, s_child(item.obj, HMC_NS_WEB, "Results"), &job->results,
                     &job->result_count) != 0) {
        s_fail(diag, "out of memory");
        goto done;
    }
    char *exc = s_text(s_path(item.obj, HMC_NS_WEB, "ResponseException/Message"));
    int folded = s_fold_message(hmc_kv_get(job->results, job->result_count, "result"),
                                &job->result_message);
    if (folded == 0)
        folded = s_fold_message(exc, &job->exception_message);
    free(exc);
    if (folded != 0) {
        s_fail(diag, "out of memory");
        goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        hmc_job_status_clear(job);
    xmlFreeDoc(doc);
    return rc;
}

int hmc_parse_job_request(const char *text, size_t len, hmc_job_request_t *request,
                          hmc_xml_diag_t *diag)
{
    memset(request, 0, sizeof *request);
    s_item_t item;
    xmlDoc *doc = s_read_web_object(text, len, "JobRequest", &item, diag);
    if (!doc)
        return -1;
    int rc = -1;
    s_ctx_t ctx = {.obj = item.obj, .ns = HMC_NS_WEB, .diag = diag};
    snprintf(ctx.what, sizeof ctx.what, "JobRequest");
    s_get_str(&ctx, "RequestedOperation/OperationName", request->operation,
              sizeof request->operation, true);
    s_get_str(&ctx, "RequestedOperation/GroupName", request->group, sizeof request->group,
              true);
    if (s_job_params(&ctx, s_child(item.obj, HMC_NS_WEB, "JobParameters"),
                     &request->params, &request->param_count) != 0) {
        s_fail(diag, "out of memory");
        goto done;
    }
    rc = 0;
done:
    xmlFreeDoc(doc);
    return rc;
}

const char *hmc_job_describe(const hmc_job_status_t *job, char *buf, size_t size)
{
    if (!buf || size == 0)
        return "";
    const char *msg = job->exception_message ? job->exception_message : job->result_message;
    snprintf(buf, size, "%s job %s %s%s%s", job->operation[0] ? job->operation : "HMC",
             job->job_id[0] ? job->job_id : "(no id)",
             job->status[0] ? job->status : "without status", msg ? ": " : "", msg ? msg : "");
    return buf;
}

// ------------------------------------------------------------------ errors

int hmc_parse_http_error(const char *text, size_t len, hmc_http_error_t *error,
                         hmc_xml_diag_t *diag)
{
    memset(error, 0, sizeof *error);
    error->http_status = -1;
    s_item_t item;
    xmlDoc *doc = s_read_web_object(text, len, "HttpErrorResponse", &item, diag);
    if (!doc)
        return -1;
    int rc = -1;
    s_ctx_t ctx = {.obj = item.obj, .ns = HMC_NS_WEB, .diag = diag};
    snprintf(ctx.what, sizeof ctx.what, "HttpErrorResponse");
    s_get_int(&ctx, "HTTPStatus", &error->http_status, true);
    s_get_str(&ctx, "RequestURI", error->request_uri, sizeof error->request_uri, false);
    s_get_str(&ctx, "ReasonCode", error->reason_code, sizeof error->reason_code, false);
    char *msg = s_get(&ctx, "Message", true);
    if (msg) {
        char *folded = s_fold(msg);
        free(msg);
        if (!folded) {
            s_fail(diag, "out of memory");
            goto done;
        }
        if (!s_copy_field(error->message, sizeof error->message, folded))
            s_warn(diag, "HttpErrorResponse: Message cut to %zu bytes", sizeof error->message - 1);
        free(folded);
    }
    rc = 0;
done:
    xmlFreeDoc(doc);
    return rc;
}

// ------------------------------------------------------------------ builders

void hmc_xml_init(void)
{
    xmlInitParser();
}

//  Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
//  of characters XML 1.0 allows (not U+FFFE / U+FFFF), without control
//  characters (tab and newline allowed when lines). libxml2's xmlCheckUTF8
//  lets overlong forms through, which its own parser then refuses.
static bool s_text_ok(const char *text, bool lines)
{
    if (!text)
        return false;
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (s_control(c) && !(lines && (c == '\t' || c == '\n')))
                return false;
            p++;
            continue;
        }
        int more;
        unsigned char lo = 0x80, hi = 0xBF;     // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF)
            more = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        }
        else
            return false;
        if (p[1] < lo || p[1] > hi)
            return false;
        for (int i = 2; i <= more; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        if (c == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
            return false;                       // U+FFFE, U+FFFF
        p += more + 1;
    }
    return true;
}

static bool s_ident_ok(const char *text)
{
    size_t len = text ? strnlen(text, S_MAX_IDENT + 1) : 0;
    if (len == 0 || len > S_MAX_IDENT)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '_'))
            return false;
    }
    return true;
}

//  New document with root <name xmlns=web schemaVersion="V1_0"><Metadata><Atom/></Metadata>.
static xmlDoc *s_new_doc(const char *name, xmlNode **root_p, xmlNs **ns_p)
{
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *root = doc ? xmlNewNode(NULL, BAD_CAST name) : NULL;
    xmlNs *ns = root ? xmlNewNs(root, BAD_CAST HMC_NS_WEB, NULL) : NULL;
    if (!ns) {
        if (root)
            xmlFreeNode(root);
        if (doc)
            xmlFreeDoc(doc);
        return NULL;
    }
    xmlSetNs(root, ns);
    xmlDocSetRootElement(doc, root);
    xmlNode *meta = xmlNewChild(root, ns, BAD_CAST "Metadata", NULL);
    if (!xmlNewProp(root, BAD_CAST "schemaVersion", BAD_CAST "V1_0") || !meta
        || !xmlNewChild(meta, ns, BAD_CAST "Atom", NULL)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    *root_p = root, *ns_p = ns;
    return doc;
}

//  Serialise doc into a malloc'd string; the libxml2 buffer is wiped.
static char *s_dump(xmlDoc *doc)
{
    xmlChar *buf = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &buf, &size, "UTF-8", 1);
    if (!buf || size <= 0) {
        if (buf)
            xmlFree(buf);
        return NULL;
    }
    char *out = malloc((size_t) size + 1);
    if (out) {
        memcpy(out, buf, (size_t) size);
        out[size] = '\0';
    }
    memset(buf, 0, (size_t) size);
    xmlFree(buf);
    return out;
}

//  Overwrite the text held by node's children (a secret) before the tree is freed.
static void s_wipe(xmlNode *node)
{
    for (xmlNode *c = node ? node->children : NULL; c; c = c->next)
        if (c->content)
            memset(c->content, 0, strlen((const char *) c->content));
}

char *hmc_build_logon_request(const char *user, const char *password, char *err, size_t errlen)
{
    if (!user || !user[0] || !s_text_ok(user, false) || strlen(user) > 255) {
        snprintf(err, errlen, "HMC user name is empty, too long or holds control characters");
        return NULL;
    }
    if (!password || !password[0] || !s_text_ok(password, false) || strlen(password) > 1024) {
        snprintf(err, errlen, "HMC password is empty, too long, not UTF-8 or holds control characters");
        return NULL;
    }
    xmlNode *root;
    xmlNs *ns;
    xmlDoc *doc = s_new_doc("LogonRequest", &root, &ns);
    if (!doc)
        goto nomem;
    xmlNode *pw = NULL;
    char *out = NULL;
    if (xmlNewTextChild(root, ns, BAD_CAST "UserID", BAD_CAST user)
        && (pw = xmlNewTextChild(root, ns, BAD_CAST "Password", BAD_CAST password)) != NULL)
        out = s_dump(doc);
    s_wipe(pw);
    xmlFreeDoc(doc);
    if (!out)
        goto nomem;
    return out;
nomem:
    snprintf(err, errlen, "out of memory building the logon request");
    return NULL;
}

char *hmc_build_job_request(const char *operation, const char *group, const hmc_param_t *params,
                            size_t count, char *err, size_t errlen)
{
    if (!s_ident_ok(operation) || !s_ident_ok(group)) {
        snprintf(err, errlen, "job operation and group must be [A-Za-z0-9_]{1,64}");
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (!s_ident_ok(params[i].name)) {
            snprintf(err, errlen, "job parameter #%zu: name must be [A-Za-z0-9_]{1,64}", i + 1);
            return NULL;
        }
        if (!s_text_ok(params[i].value, true)) {
            snprintf(err, errlen, "job parameter %s: value is not UTF-8 text", params[i].name);
            return NULL;
        }
    }
    xmlNode *root;
    xmlNs *ns;
    xmlDoc *doc = s_new_doc("JobRequest", &root, &ns);
    if (!doc)
        goto nomem;
    xmlNode *op = xmlNewChild(root, ns, BAD_CAST "RequestedOperation", NULL);
    xmlNode *list = xmlNewChild(root, ns, BAD_CAST "JobParameters", NULL);
    bool ok = op && list && xmlNewProp(op, BAD_CAST "schemaVersion", BAD_CAST "V1_0")
              && xmlNewProp(list, BAD_CAST "schemaVersion", BAD_CAST "V1_0")
              && xmlNewChild(xmlNewChild(op, ns, BAD_CAST "Metadata", NULL), ns,
                             BAD_CAST "Atom", NULL)
              && xmlNewTextChild(op, ns, BAD_CAST "OperationName", BAD_CAST operation)
              && xmlNewTextChild(op, ns, BAD_CAST "GroupName", BAD_CAST group)
              && xmlNewChild(xmlNewChild(list, ns, BAD_CAST "Metadata", NULL), ns,
                             BAD_CAST "Atom", NULL);
    for (size_t i = 0; ok && i < count; i++) {
        xmlNode *p = xmlNewChild(list, ns, BAD_CAST "JobParameter", NULL);
        ok = p && xmlNewProp(p, BAD_CAST "schemaVersion", BAD_CAST "V1_0")
             && xmlNewChild(xmlNewChild(p, ns, BAD_CAST "Metadata", NULL), ns, BAD_CAST "Atom",
                            NULL)
             && xmlNewTextChild(p, ns, BAD_CAST "ParameterName", BAD_CAST params[i].name)
             && xmlNewTextChild(p, ns, BAD_CAST "ParameterValue", BAD_CAST params[i].value);
    }
    char *out = ok ? s_dump(doc) : NULL;
    xmlFreeDoc(doc);
    if (!out)
        goto nomem;
    return out;
nomem:
    snprintf(err, errlen, "out of memory building the job request");
    return NULL;
}
