/*  names — strict patterns for names that reach command lines or file paths.
    Anything from the network or a file is checked here first. */
#ifndef FERRY_NAMES_H
#define FERRY_NAMES_H

#include <stdbool.h>

typedef enum {
    NAME_PARTITION,   // LPAR name: letters, digits, space, _ . - ; 1..47 chars, no leading space/dash
    NAME_SYSTEM,      // managed system name: [A-Za-z0-9_.-], 1..63, no leading dash
    NAME_DISK,        // hdiskN / sdX / vdX style device: [a-z]+[0-9a-z]*, 1..31
    NAME_VG,          // volume group: [A-Za-z][A-Za-z0-9_.]*, 1..15
    NAME_NIM_OBJECT,  // SPOT, lpp_source, NIM client: [A-Za-z0-9_.-], 1..39, no leading dash
    NAME_HOST,        // host name: RFC 1123 labels, 1..253
    NAME_KIND_COUNT
} name_kind_t;

//  True when text matches the strict pattern of kind. NULL is never valid.
bool name_valid(name_kind_t kind, const char *text);

//  Short name of a kind ("partition", "disk", ...) for messages.
const char *name_kind_name(name_kind_t kind);

#endif
