/*  notify — the local channel from DR hooks to the running agent. */
#include "notify.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;       // as given on the command line
    const char *phase;      // as reported in the lpm_phase event
} s_events[] = {
    [NOTIFY_NONE] = { "", "" },
    [NOTIFY_LPM_CHECK] = { "lpm-check", "check" },
    [NOTIFY_LPM_PRE] = { "lpm-pre", "pre" },
    [NOTIFY_LPM_POST] = { "lpm-post", "post" },
    [NOTIFY_LPM_POSTERROR] = { "lpm-posterror", "posterror" },
};

#define NOTIFY_EVENT_COUNT (sizeof s_events / sizeof s_events[0])

notify_event_t notify_parse(const char *text)
{
    if (!text)
        return NOTIFY_NONE;
    for (size_t i = 1; i < NOTIFY_EVENT_COUNT; i++)
        if (strcmp(text, s_events[i].name) == 0)
            return (notify_event_t) i;
    return NOTIFY_NONE;
}

const char *notify_phase(notify_event_t event)
{
    return (size_t) event < NOTIFY_EVENT_COUNT ? s_events[event].phase : "";
}

static void s_endpoint(char *out, size_t size, const char *dir)
{
    snprintf(out, size, "ipc://%s/%s", dir, NOTIFY_SOCKET_NAME);
}

zsock_t *notify_bind(const char *dir, char *err, size_t errlen)
{
    char endpoint[600], path[600];
    s_endpoint(endpoint, sizeof endpoint, dir);
    snprintf(path, sizeof path, "%s/%s", dir, NOTIFY_SOCKET_NAME);
    //  A socket file left by a killed agent would make bind fail.
    unlink(path);
    zsock_t *sock = zsock_new(ZMQ_REP);
    if (!sock || zsock_bind(sock, "%s", endpoint) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    if (chmod(path, 0600) != 0) {
        snprintf(err, errlen, "cannot restrict %s: %s", path, strerror(errno));
        zsock_destroy(&sock);
        return NULL;
    }
    zsock_set_linger(sock, 0);
    return sock;
}

notify_event_t notify_serve(zsock_t *sock)
{
    char *text = zstr_recv_nowait(sock);
    if (!text)
        return NOTIFY_NONE;
    notify_event_t event = notify_parse(text);
    zstr_send(sock, event == NOTIFY_NONE ? "error: unknown event" : "ok");
    zstr_free(&text);
    return event;
}

int notify_send(const char *dir, const char *event, int timeout_ms, char *err, size_t errlen)
{
    if (notify_parse(event) == NOTIFY_NONE) {
        snprintf(err, errlen, "unknown event '%s' (use lpm-check, lpm-pre, lpm-post or"
                 " lpm-posterror)", event);
        return -1;
    }
    char endpoint[600], path[600];
    s_endpoint(endpoint, sizeof endpoint, dir);
    snprintf(path, sizeof path, "%s/%s", dir, NOTIFY_SOCKET_NAME);
    //  zmq would wait for an ipc peer forever; a missing socket means no agent.
    if (access(path, F_OK) != 0) {
        snprintf(err, errlen, "no running ferry-agent: %s does not exist", path);
        return -1;
    }
    zsock_t *sock = zsock_new(ZMQ_REQ);
    int rc = -1;
    if (!sock || zsock_connect(sock, "%s", endpoint) < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    zsock_set_linger(sock, 0);
    zsock_set_sndtimeo(sock, timeout_ms);
    zsock_set_rcvtimeo(sock, timeout_ms);
    if (zstr_send(sock, event) != 0) {
        snprintf(err, errlen, "cannot send to the agent at %s", endpoint);
        goto done;
    }
    char *reply = zstr_recv(sock);
    if (!reply)
        snprintf(err, errlen, "the agent at %s did not answer within %d ms", endpoint, timeout_ms);
    else if (strcmp(reply, "ok") != 0)
        snprintf(err, errlen, "the agent refused '%s': %s", event, reply);
    else
        rc = 0;
    zstr_free(&reply);
done:
    zsock_destroy(&sock);
    return rc;
}
