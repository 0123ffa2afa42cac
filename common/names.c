/*  names — strict patterns for names that reach command lines or file paths.
    Hand-written character classes: ASCII only, no locale, no regex. */
#include "names.h"

#include <string.h>

static bool s_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool s_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool s_digit(char c) { return c >= '0' && c <= '9'; }
static bool s_alpha(char c) { return s_lower(c) || s_upper(c); }
static bool s_alnum(char c) { return s_alpha(c) || s_digit(c); }

//  [A-Za-z0-9_.-]
static bool s_word(char c) { return s_alnum(c) || c == '_' || c == '.' || c == '-'; }

static bool s_partition_char(char c) { return s_word(c) || c == ' '; }
static bool s_disk_char(char c) { return s_lower(c) || s_digit(c); }
static bool s_vg_char(char c) { return s_alnum(c) || c == '_' || c == '.'; }

//  Length in [1, max] and every byte in the class; NUL ends the scan.
static bool s_all(const char *text, size_t max, bool (*in_class)(char))
{
    size_t len = strnlen(text, max + 1);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!in_class(text[i]))
            return false;
    return true;
}

//  "." and ".." as path components, or ".." anywhere, could walk a path.
static bool s_dots_ok(const char *text)
{
    return strcmp(text, ".") != 0 && strstr(text, "..") == NULL;
}

static bool s_partition(const char *text)
{
    return text[0] != ' ' && text[0] != '-' && s_all(text, 47, s_partition_char)
           && s_dots_ok(text);
}

static bool s_system(const char *text)
{
    return text[0] != '-' && s_all(text, 63, s_word) && s_dots_ok(text);
}

static bool s_disk(const char *text)
{
    return s_lower(text[0]) && s_all(text, 31, s_disk_char);
}

static bool s_vg(const char *text)
{
    return s_alpha(text[0]) && s_all(text, 15, s_vg_char) && s_dots_ok(text);
}

static bool s_nim_object(const char *text)
{
    return text[0] != '-' && s_all(text, 39, s_word) && s_dots_ok(text);
}

//  RFC 1123 label: 1..63 of [A-Za-z0-9-], no hyphen at either end.
static bool s_label(const char *label, size_t len)
{
    if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_alnum(label[i]) && label[i] != '-')
            return false;
    return true;
}

static bool s_label_char(char c)
{
    return s_alnum(c) || (c != '\0' && strchr(" _.-+,:()#@", c) != NULL);
}

//  A label is read by people, in tables and logs: no blank at either end
//  or doubled (two plans that differ only there look the same). Every
//  system name is a label: plan names were system names once, and plans
//  stored then must still load.
static bool s_label_text(const char *text)
{
    size_t len = strnlen(text, 64);
    return text[0] != ' ' && text[0] != '-' && s_all(text, 63, s_label_char)
           && text[len - 1] != ' ' && strstr(text, "  ") == NULL && strcmp(text, ".") != 0
           && strcmp(text, "..") != 0;
}

static bool s_host(const char *text)
{
    size_t len = strnlen(text, 254);
    if (len == 0 || len > 253)
        return false;
    const char *label = text;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t label_len = dot ? (size_t) (dot - label) : strlen(label);
        if (!s_label(label, label_len))
            return false;
        if (!dot)
            return true;
        label = dot + 1;
    }
}

bool name_valid(name_kind_t kind, const char *text)
{
    if (!text)
        return false;
    switch (kind) {
    case NAME_PARTITION:
        return s_partition(text);
    case NAME_SYSTEM:
        return s_system(text);
    case NAME_DISK:
        return s_disk(text);
    case NAME_VG:
        return s_vg(text);
    case NAME_NIM_OBJECT:
        return s_nim_object(text);
    case NAME_HOST:
        return s_host(text);
    case NAME_LABEL:
        return s_label_text(text);
    default:
        return false;
    }
}

const char *name_kind_name(name_kind_t kind)
{
    switch (kind) {
    case NAME_PARTITION:
        return "partition";
    case NAME_SYSTEM:
        return "managed system";
    case NAME_DISK:
        return "disk";
    case NAME_VG:
        return "volume group";
    case NAME_NIM_OBJECT:
        return "NIM object";
    case NAME_HOST:
        return "host";
    case NAME_LABEL:
        return "label";
    default:
        return "unknown";
    }
}

const char *name_kind_rule(name_kind_t kind)
{
    switch (kind) {
    case NAME_PARTITION:
        return "letters, digits, blanks and _ . -, 1..47 characters, not starting with a blank"
               " or -, no ..";
    case NAME_SYSTEM:
        return "letters, digits and _ . -, 1..63 characters, not starting with -, no ..";
    case NAME_DISK:
        return "lower-case letters and digits, a letter first, 1..31 characters";
    case NAME_VG:
        return "letters, digits, _ and ., a letter first, 1..15 characters, no ..";
    case NAME_NIM_OBJECT:
        return "letters, digits and _ . -, 1..39 characters, not starting with -, no ..";
    case NAME_HOST:
        return "labels of letters, digits and - (not at either end, 1..63 characters each)"
               " joined by dots, 1..253 characters";
    case NAME_LABEL:
        return "letters, digits, single blanks inside and _ . - + , : ( ) # @, 1..63"
               " characters, not starting with -, not . or ..";
    default:
        return "no name of this kind is valid";
    }
}
