/* Private to auth-service's routes: one handler per route of the table in routes.c, each in
 * the file of its concern (routes_signin.c, routes_pages.c, routes_api.c). A handler answers
 * exactly once, on the request's CivetWeb worker thread. */
#ifndef MIXTAPE_AUTH_ROUTE_HANDLERS_H
#define MIXTAPE_AUTH_ROUTE_HANDLERS_H

#include "request.h"

/* routes_signin.c */
void handle_login(struct request *r);
void handle_callback(struct request *r);
void handle_logout(struct request *r);

/* routes_pages.c */
void handle_landing(struct request *r);
void handle_mix_page(struct request *r);
void handle_art(struct request *r);

/* routes_api.c */
void handle_api_mix(struct request *r);
void handle_api_save(struct request *r);

#endif
