/*  agent_auth — the ZAP handler that admits agents by their CURVE public key.

    czmq's zauth re-reads the whole certificate directory on every handshake
    (its certificate store checks the directory each lookup), which costs
    ~11 ms per handshake with 1,000 certificates and ~190 ms with 10,000: a
    fleet reconnecting after a collector restart would never get in. This
    actor keeps the allowed keys in a hash table, loaded from the directory at
    start and again on demand (SIGHUP), and answers ZAP (RFC 27) requests
    with the Z85 key as the User-Id. Every refusal is logged with the key and
    the peer address. */
#ifndef FERRY_AGENT_AUTH_H
#define FERRY_AGENT_AUTH_H

#include <czmq.h>

//  Start the handler for the allowed-agents directory dir (borrowed; copied).
//  Must start before any CURVE server socket binds. NULL with a message in
//  err when the directory cannot be read.
zactor_t *agent_auth_new(const char *dir, char *err, size_t errlen);

//  Re-read the directory; keys removed from it are refused from now on.
//  Returns the number of keys allowed, -1 when the directory is unreadable
//  (the previous keys stay in force).
int agent_auth_reload(zactor_t *auth);

//  Stop the handler; NULLs *auth_p; safe on NULL and twice.
void agent_auth_destroy(zactor_t **auth_p);

#endif
