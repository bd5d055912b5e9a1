/* healthcheck — GET one path of a local tabserve and report the status code:
 * `tabserve healthcheck` uses it for Docker's HEALTHCHECK, in an image with no
 * shell and no curl. */
#ifndef TABSERVE_HEALTHCHECK_H
#define TABSERVE_HEALTHCHECK_H

/* Connects to addr (the forms --bind takes; a wildcard host means this host),
 * sends GET path and reads the status line within timeout_ms. Returns 0 with
 * *status (0 when no status line came), or -1 with err when it cannot connect. */
int healthcheck_get(const char *addr, const char *path, int timeout_ms, int *status, char *err);

#endif
