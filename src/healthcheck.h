/* healthcheck — `tabserve healthcheck`: GET /readyz on the local server and exit
 * 0 (ready) or 1, for Docker's HEALTHCHECK in an image with no shell and no curl. */
#ifndef TABSERVE_HEALTHCHECK_H
#define TABSERVE_HEALTHCHECK_H

int cmd_healthcheck(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
