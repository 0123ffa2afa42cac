/*  command — run an external command without a shell: argv only, fixed
    environment (LANG=C LC_ALL=C PATH=/usr/bin:/bin:/usr/sbin:/sbin), a timeout,
    bounded output. */
#ifndef FERRY_COMMAND_H
#define FERRY_COMMAND_H

#include <stddef.h>
#include <stdbool.h>

typedef struct {
    int exit_code;      // exit status, or -1 when killed by a signal / not run
    int term_signal;    // signal that ended the child, 0 if none
    bool timed_out;     // killed because the timeout passed
    bool truncated;     // output exceeded max_output; the rest was discarded
    char *out;          // NUL-terminated stdout, malloc'd, owned by the result
    size_t out_len;     // bytes in out
    char *err;          // NUL-terminated stderr (bounded the same way), owned by the result
    size_t err_len;     // bytes in err
} command_result_t;

//  Run argv[0] (an absolute path: no PATH search) with argv, stdin from
//  /dev/null, for at most timeout_ms, keeping at most max_output bytes of each
//  of stdout and stderr. extra_env (NULL-terminated "K=V" list, may be NULL) is
//  added to the fixed environment. Returns 0 when the command ran (see result
//  for how it ended), -1 with a message in errbuf when it could not be started.
//  The result is owned by the caller: free with command_result_free().
int command_run(char *const argv[], char *const extra_env[], int timeout_ms, size_t max_output,
              command_result_t *result, char *errbuf, size_t errlen);

//  Free the buffers of result (the struct itself is the caller's, usually on
//  its stack, so there is no pointer to NULL) and reset it to the state
//  command_run starts from (exit_code -1, nothing else set): the analogue of
//  NULLing *self_p. Safe on NULL and twice.
void command_result_free(command_result_t *result);

#endif
