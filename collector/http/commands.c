/*  commands — the collector-side end of the API's command channel. */
#include "commands.h"

#include "log.h"
#include "plan.h"

#include <string.h>

static json_t *s_error(int status, const char *message)
{
    return json_pack("{s:s, s:i}", "error", message, "status", status);
}

json_t *commands_handle(planner_t *planner, const char *request)
{
    json_error_t error;
    json_t *req = json_loads(request, 0, &error);
    if (!json_is_object(req)) {
        json_decref(req);
        return s_error(400, "a command is a JSON object");
    }
    const char *op = json_string_value(json_object_get(req, "op"));
    const char *actor = json_string_value(json_object_get(req, "actor"));
    json_t *id_value = json_object_get(req, "id");
    char err[PLAN_ERR_MAX] = "";     // a refused plan lists every problem
    json_t *reply = NULL;
    if (op && strcmp(op, "submit") == 0) {
        char *plan = json_dumps(json_object_get(req, "plan"), JSON_COMPACT);
        int64_t id = plan ? planner_submit(planner, plan, err, sizeof err) : -1;
        free(plan);
        reply = id >= 0 ? json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t) id)
                        : s_error(400, err[0] ? err : "no plan in the command");
        //  What submit could not check is said at once, not only in plan show.
        json_t *stored = id >= 0 ? planner_plan_json(planner, id) : NULL;
        const char *warning = json_string_value(json_object_get(stored, "message"));
        if (reply && warning && warning[0])
            json_object_set_new(reply, "warning", json_string(warning));
        json_decref(stored);
    }
    else if (op && json_is_integer(id_value)
             && (strcmp(op, "start") == 0 || strcmp(op, "pause") == 0 || strcmp(op, "abort") == 0)) {
        int64_t id = json_integer_value(id_value);
        //  An unknown plan is 404; any other refusal (wrong state) a conflict.
        json_t *plan = planner_plan_json(planner, id);
        bool known = plan != NULL;
        json_decref(plan);
        int rc = -1;
        if (!known)
            snprintf(err, sizeof err, "no plan %lld", (long long) id);
        else
            rc = strcmp(op, "start") == 0   ? planner_start(planner, id, err, sizeof err)
                 : strcmp(op, "pause") == 0 ? planner_pause(planner, id, err, sizeof err)
                                            : planner_abort(planner, id, err, sizeof err);
        reply = rc == 0 ? json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t) id)
                        : s_error(known ? 409 : 404, err);
    }
    else if (op && strcmp(op, "hmcs") == 0) {
        //  A read: nothing to audit.
        json_t *hmcs = planner_hmcs_json(planner);
        json_decref(req);
        return hmcs ? json_pack("{s:b, s:o}", "ok", 1, "hmcs", hmcs) : s_error(500, "out of memory");
    }
    else
        reply = s_error(400, "unknown command (use submit, start, pause, abort or hmcs)");
    //  The audit trail of who asked for what (the planner records it too).
    log_info("command %s (plan %lld) by %s: %s", op ? op : "?",
             (long long) (json_is_integer(id_value) ? json_integer_value(id_value) : -1),
             actor ? actor : "?", json_object_get(reply, "ok") ? "ok" : err);
    json_decref(req);
    return reply;
}

static int s_on_request(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    char *request = zstr_recv(reader);
    if (!request)
        return 0;
    json_t *reply = commands_handle(arg, request);
    char *text = json_dumps(reply, JSON_COMPACT);
    zstr_send(reader, text ? text : "{\"error\": \"out of memory\", \"status\": 500}");
    free(text);
    json_decref(reply);
    zstr_free(&request);
    return 0;
}

zsock_t *commands_bind(const char *endpoint, zloop_t *loop, planner_t *planner, char *err,
                       size_t errlen)
{
    zsock_t *sock = zsock_new(ZMQ_REP);
    if (!sock || zsock_bind(sock, "%s", endpoint) < 0) {
        snprintf(err, errlen, "cannot bind the command channel %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    zloop_reader(loop, sock, s_on_request, planner);
    return sock;
}
