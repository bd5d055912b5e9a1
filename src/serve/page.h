/* page — api/page.html compiled into the binary and served on GET /: a page to
 * try the served model in a browser (a form from its input schema, the live
 * prediction, and its explanation as a bar chart), self-contained. */
#ifndef TABSERVE_PAGE_H
#define TABSERVE_PAGE_H

#include <stddef.h>

extern const char page_html[];
size_t page_html_len(void);

#endif
