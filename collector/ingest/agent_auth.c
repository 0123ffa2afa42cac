/*  agent_auth — the ZAP handler that admits agents by their CURVE public key. */
#include "agent_auth.h"

#include "keys.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define AUTH_KEY_LEN 40             // Z85 of a 32-byte key

typedef struct {
    zsock_t *pipe;                  // to the owner
    zsock_t *handler;               // REP on the ZAP endpoint
    zhashx_t *allowed;              // Z85 key -> "" (set)
    char *dir;                      // allowed-agents directory
    struct timespec dir_mtime;      // the directory's mtime when the set was loaded
} self_t;

//  Load every public certificate in dir into a new set. NULL when the
//  directory cannot be read; unreadable files are skipped with a warning.
static zhashx_t *s_load(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("agent auth: cannot read %s: %s", dir, strerror(errno));
        return NULL;
    }
    zhashx_t *set = zhashx_new();
    struct dirent *entry;
    while ((entry = readdir(d))) {
        size_t len = strlen(entry->d_name);
        //  Skip dot files and secret halves: only public certificates count.
        if (entry->d_name[0] == '.' || (len > 7 && strcmp(entry->d_name + len - 7, "_secret") == 0))
            continue;
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        zcert_t *cert = keys_load_public(path, err, sizeof err);
        if (!cert) {
            log_warn("agent auth: skipped %s: %s", path, err);
            continue;
        }
        zhashx_update(set, zcert_public_txt(cert), (void *) "");
        zcert_destroy(&cert);
    }
    closedir(d);
    return set;
}

static int s_reload(self_t *self)
{
    struct stat st;
    if (stat(self->dir, &st) == 0)
        self->dir_mtime = st.st_mtim;
    zhashx_t *set = s_load(self->dir);
    if (!set)
        return -1;
    zhashx_destroy(&self->allowed);
    self->allowed = set;
    log_info("agent auth: %zu agent key(s) allowed from %s", zhashx_size(set), self->dir);
    return (int) zhashx_size(set);
}

//  A certificate copied into the directory since the last load is picked up
//  at the first handshake that needs it, without waiting for SIGHUP: one
//  stat per unknown key, and a reload only when the directory changed.
static bool s_allowed(self_t *self, const char *key)
{
    if (zhashx_lookup(self->allowed, key))
        return true;
    struct stat st;
    if (stat(self->dir, &st) != 0 || (st.st_mtim.tv_sec == self->dir_mtime.tv_sec
                                      && st.st_mtim.tv_nsec == self->dir_mtime.tv_nsec))
        return false;
    s_reload(self);
    return zhashx_lookup(self->allowed, key) != NULL;
}

//  Answer one ZAP request: version, request id, domain, address, identity,
//  mechanism, credentials.
static void s_handle_zap(self_t *self)
{
    zmsg_t *request = zmsg_recv(self->handler);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    char *request_id = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    char *identity = zmsg_popstr(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credentials = zmsg_pop(request);
    char key[AUTH_KEY_LEN + 1] = "";
    bool ok = false;
    if (mechanism && strcmp(mechanism, "CURVE") == 0 && credentials && zframe_size(credentials) == 32) {
        zmq_z85_encode(key, zframe_data(credentials), 32);
        ok = s_allowed(self, key);
    }
    if (!ok)
        log_warn("agent auth: refused %s key %s from %s: not in %s",
                 mechanism ? mechanism : "?", key[0] ? key : "(none)", address ? address : "?",
                 self->dir);
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, request_id ? request_id : "");
    zmsg_addstr(reply, ok ? "200" : "400");
    zmsg_addstr(reply, ok ? "OK" : "key not allowed");
    zmsg_addstr(reply, ok ? key : "");
    zmsg_addmem(reply, NULL, 0);  // no metadata
    zmsg_send(&reply, self->handler);
    zframe_destroy(&credentials);
    zstr_free(&version);
    zstr_free(&request_id);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&identity);
    zstr_free(&mechanism);
    zmsg_destroy(&request);
}

//  Returns false when the actor must end.
static bool s_handle_pipe(self_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command)
        return false;
    bool go_on = true;
    if (strcmp(command, "$TERM") == 0)
        go_on = false;
    else if (strcmp(command, "RELOAD") == 0)
        zsock_send(self->pipe, "i", s_reload(self));
    zstr_free(&command);
    return go_on;
}

static void s_actor(zsock_t *pipe, void *args)
{
    self_t self = { .pipe = pipe, .dir = args };
    //  zactor_new waits for this first signal; the start status follows it.
    zsock_signal(pipe, 0);
    self.handler = zsock_new(ZMQ_REP);
    if (!self.handler || zsock_bind(self.handler, ZAP_ENDPOINT) != 0 || s_reload(&self) < 0) {
        zsock_send(pipe, "i", -1);
        goto done;
    }
    zsock_send(pipe, "i", 0);
    zpoller_t *poller = zpoller_new(pipe, self.handler, NULL);
    for (;;) {
        void *which = zpoller_wait(poller, -1);
        if (which == self.handler)
            s_handle_zap(&self);
        else if (which != pipe || !s_handle_pipe(&self))
            break;
    }
    zpoller_destroy(&poller);
done:
    zsock_destroy(&self.handler);
    zhashx_destroy(&self.allowed);
    free(self.dir);
}

zactor_t *agent_auth_new(const char *dir, char *err, size_t errlen)
{
    //  The actor owns and frees the copy, however it ends.
    char *copy = strdup(dir);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    zactor_t *auth = zactor_new(s_actor, copy);
    int status = -1;
    if (auth)
        zsock_recv(auth, "i", &status);
    if (status != 0) {
        snprintf(err, errlen, "cannot start agent authentication on %s (unreadable directory,"
                 " or another ZAP handler already runs)", dir);
        zactor_destroy(&auth);
        return NULL;
    }
    return auth;
}

int agent_auth_reload(zactor_t *auth)
{
    zstr_send(auth, "RELOAD");
    int count = -1;
    zsock_recv(auth, "i", &count);
    return count;
}

void agent_auth_destroy(zactor_t **auth_p)
{
    zactor_destroy(auth_p);
}
