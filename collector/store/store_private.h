/*  store_private — what the store's own modules (store.c, store_plan.c) and
    the store's unit tests share and nobody else may use: the raw connection.
    Everything outside collector/store/ goes through named functions. */
#ifndef FERRY_STORE_PRIVATE_H
#define FERRY_STORE_PRIVATE_H

#include "store.h"

#include <sqlite3.h>

//  The connection (borrowed, owned by the store); never share it with another thread.
sqlite3 *store_db(store_t *self);

#endif
