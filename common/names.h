/*  names — strict patterns for names that reach command lines or file paths.
    Anything from the network or a file is checked here first. NAME_LABEL is
    the one kind for text that is only shown and stored (a plan name): it
    allows blanks and some punctuation, and must never be used for a name
    that reaches a command line, a job parameter or a path. */
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
    NAME_LABEL,       // label: [A-Za-z0-9 _.+,:()#@-], 1..63, single blanks inside, no leading dash, not . or ..; every system name is one
    NAME_KIND_COUNT
} name_kind_t;

//  True when text matches the strict pattern of kind. NULL is never valid.
bool name_valid(name_kind_t kind, const char *text);

//  Short name of a kind ("partition", "disk", ...) for messages.
const char *name_kind_name(name_kind_t kind);

//  What a name of kind may be, for messages ("letters, digits and _ . -,
//  1..63 characters, ..."); static text.
const char *name_kind_rule(name_kind_t kind);

#endif
