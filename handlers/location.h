/* SPDX-License-Identifier: Apache-2.0 */
/*
 * location.h - /location-lookup
 * (docs/design/taskrouter-events.md#location-lookup): the entry of the
 * locations file (flex/locations.h) for a number or a location name.
 */
#ifndef FH_LOCATION_H
#define FH_LOCATION_H

#include "lib/err.h"
#include "lib/fcgi.h"

/* GET or POST /location-lookup.  Borrows ctx and req; resp owns what is
 * written to it.  200 with the entry, 400 "missing location, Called or
 * To", 404 "unknown location", 503 "location lookup unavailable". */
enum fh_err fh_handle_location_lookup(struct fh_ctx *ctx,
    const struct fh_req *req, struct fh_resp *resp) FH_MUST_CHECK;

#endif
