/* route.h -- the native API's route table: which handler a request goes
 * to, by method and query (route.c). */
#ifndef MKV_ROUTE_H
#define MKV_ROUTE_H

#include <microhttpd.h>

/* route_daemon -- for loop.c: a libmicrohttpd daemon in external epoll
 * mode on listen_fd (one per loop), routing through the table, at most
 * limit connections, closing clients idle for timeout_s. NULL on
 * failure. */
struct MHD_Daemon *route_daemon(int listen_fd, unsigned limit, unsigned timeout_s);

#endif
